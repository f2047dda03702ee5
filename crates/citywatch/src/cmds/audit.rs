use std::path::PathBuf;
use std::process::ExitCode;

use citywatch_audit::{read_public_key, verify_log, AuditRepo, VERIFYING_KEY_FILE};

use crate::data_dir::DataDir;

/// The log `audit verify` reads: the PostgreSQL database named, else the
/// data directory's (its `[database] url`, or its SQLite database).
fn log_to_verify(data: Option<&std::path::Path>, database: Option<&str>) -> anyhow::Result<Box<dyn AuditRepo>> {
    match (database, data) {
        (Some(url), _) if citywatch_store_postgres::is_postgres_url(url) => Ok(Box::new(citywatch_store_postgres::PgStore::connect(url)?)),
        (Some(other), _) => anyhow::bail!("--database takes a postgres:// address, not {other:?}; a data directory's database is found with --data"),
        (None, Some(data)) => Ok(match DataDir::configured_postgres(data)? {
            Some(pg) => Box::new(pg),
            None => Box::new(DataDir::open_existing_store(data)?),
        }),
        (None, None) => anyhow::bail!("give --data (a data directory) or --database (a postgres:// address)"),
    }
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check the audit log's hash chain and signed checkpoints, offline.
    ///
    /// Exits 0 if intact; 3 and names the first bad seq if anything was
    /// altered, removed or reordered.
    Verify {
        /// The data directory whose database holds the log (and whose key
        /// copy is used when --public-key is not given).
        #[arg(long, env = "CITYWATCH_DATA", required_unless_present = "database")]
        data: Option<PathBuf>,
        /// A PostgreSQL database holding the log instead
        /// (`postgres://user@host:port/database`): a cluster's.
        #[arg(long, env = "CITYWATCH_DATABASE")]
        database: Option<String>,
        /// The checkpoint public key (64 hex digits, or a file holding them).
        /// Defaults to the copy in the data directory; pass a copy kept
        /// elsewhere to rule out a replaced key.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Print the public key that verifies checkpoints (keep a copy off the machine).
    PublicKey {
        #[arg(long, env = "CITYWATCH_DATA")]
        data: PathBuf,
    },
    /// Sign a checkpoint at the current end of the log now.
    Checkpoint {
        #[arg(long, env = "CITYWATCH_DATA")]
        data: PathBuf,
    },
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Verify { data, database, public_key } => {
            let repo = log_to_verify(data.as_deref(), database.as_deref())?;
            let key_source = match (public_key, &data) {
                (Some(key), _) => key,
                (None, Some(data)) => data.join(VERIFYING_KEY_FILE).display().to_string(),
                (None, None) => anyhow::bail!("give the checkpoint public key with --public-key (or --data for the copy in a data directory)"),
            };
            let key = read_public_key(&key_source)?;
            match verify_log(&*repo, &key)? {
                Ok(report) => {
                    println!(
                        "audit log OK: {} entries, {} signed checkpoints (last at seq {})",
                        report.entries, report.checkpoints, report.last_checkpoint_seq
                    );
                    if report.re_encoded_entries > 0 {
                        println!(
                            "note: entries 1..{} were written by an earlier version, which hashed their detail re-encoded as canonical JSON; they were checked that way (later entries are checked on their stored text)",
                            report.re_encoded_entries
                        );
                    }
                    if report.last_checkpoint_seq < report.entries {
                        println!(
                            "note: entries {}..{} are after the last checkpoint; they are chained but not yet signed",
                            report.last_checkpoint_seq + 1,
                            report.entries
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(failure) => {
                    eprintln!("{failure}");
                    Ok(ExitCode::from(3))
                }
            }
        }
        Command::PublicKey { data } => {
            let dir = DataDir::open(&data)?;
            println!("{}", dir.audit.public_key_hex());
            Ok(ExitCode::SUCCESS)
        }
        Command::Checkpoint { data } => {
            let dir = DataDir::open(&data)?;
            match dir.audit.checkpoint_now()? {
                Some(c) => println!("signed checkpoint at seq {}", c.seq),
                None => println!("nothing to sign: the log is empty or already checkpointed at its end"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
