use std::path::PathBuf;
use std::process::ExitCode;

use citywatch_audit::{read_public_key, verify_log, VERIFYING_KEY_FILE};

use crate::data_dir::DataDir;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check the audit log's hash chain and signed checkpoints, offline.
    ///
    /// Exits 0 if intact; 3 and names the first bad seq if anything was
    /// altered, removed or reordered.
    Verify {
        #[arg(long, env = "CITYWATCH_DATA")]
        data: PathBuf,
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
        Command::Verify { data, public_key } => {
            let store = DataDir::open_existing_store(&data)?;
            let key_source = public_key.unwrap_or_else(|| data.join(VERIFYING_KEY_FILE).display().to_string());
            let key = read_public_key(&key_source)?;
            match verify_log(&store, &key)? {
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
