use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use citywatch_audit::{hash_password, GrantError, Granter, MakeRowAfter, PendingEntry, Record};
use citywatch_model::{ChainHead, Grant, GrantSpec, Role};
use serde_json::json;

use crate::data_dir::{cli_actor, DataDir};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a user with one role.
    ///
    /// Example: citywatch admin create-user --data ./data --username ana --role operator --districts "Stari Grad,Vračar"
    CreateUser {
        #[arg(long, env = "CITYWATCH_DATA")]
        data: PathBuf,
        #[arg(long)]
        username: String,
        /// The password; read from CITYWATCH_PASSWORD if not given.
        #[arg(long, env = "CITYWATCH_PASSWORD", hide_env_values = true)]
        password: String,
        #[command(flatten)]
        grant: GrantArgs,
    },
    /// Give an existing user another role.
    Grant {
        #[arg(long, env = "CITYWATCH_DATA")]
        data: PathBuf,
        #[arg(long)]
        username: String,
        #[command(flatten)]
        grant: GrantArgs,
    },
    /// Set a user's password (at least 12 characters, not only blanks) and
    /// end every session of the user; re-enables nothing else.
    SetPassword {
        #[arg(long, env = "CITYWATCH_DATA")]
        data: PathBuf,
        #[arg(long)]
        username: String,
        #[arg(long, env = "CITYWATCH_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Refuse a user's logins and end every session of it (a running
    /// server closes its open sockets within about a second).
    DisableUser {
        #[arg(long, env = "CITYWATCH_DATA")]
        data: PathBuf,
        #[arg(long)]
        username: String,
    },
    /// Let a disabled user log in again.
    EnableUser {
        #[arg(long, env = "CITYWATCH_DATA")]
        data: PathBuf,
        #[arg(long)]
        username: String,
    },
    /// List users and their grants.
    ListUsers {
        #[arg(long, env = "CITYWATCH_DATA")]
        data: PathBuf,
    },
}

#[derive(clap::Args)]
pub struct GrantArgs {
    /// admin, supervisor, operator, dispatcher, officer or auditor.
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// Comma-separated district names; all districts if omitted.
    #[arg(long, value_delimiter = ',')]
    districts: Option<Vec<String>>,
    /// When the grant ends (RFC 3339, e.g. 2027-01-31T00:00:00Z).
    #[arg(long)]
    expires: Option<DateTime<Utc>>,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}; expected one of {}", Role::ALL.map(|r| r.as_str()).join(", ")))
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::CreateUser { data, username, password, grant } => {
            let dir = DataDir::open(&data)?;
            check_districts(&dir, grant.districts.as_deref())?;
            let hash = hash_password(&password)?;
            // Through the separation of duties, as a grant added later is.
            citywatch_audit::check_grant(Granter::MachineOperator, &username, grant.role, &[])?;
            let spec = GrantSpec { role: grant.role, districts: grant.districts.clone(), expires_at: grant.expires };
            let record = |grants: &Vec<Grant>| Record::new(cli_actor(), "user.create", &username).detail(json!({"grants": grants}));
            let (_, row) =
                dir.repos.users.create_user(&username, &hash, &[spec], PendingEntry::after(record)).with_context(|| format!("creating user {username}"))?;
            dir.audit.appended(&row);
            println!("Created user {username} with role {}.", grant.role);
        }
        Command::Grant { data, username, grant } => {
            let dir = DataDir::open(&data)?;
            check_districts(&dir, grant.districts.as_deref())?;
            // The operator of the machine has no account, so only the separation of
            // admin and auditor can refuse here (see citywatch_audit's duties).
            let spec = GrantSpec { role: grant.role, districts: grant.districts.clone(), expires_at: grant.expires };
            let record = |g: &Grant| Record::new(cli_actor(), "grant.add", &username).detail(json!({"grant": g}));
            let entry: MakeRowAfter<'_, Grant> = Box::new(|g: &Grant, head: Option<&ChainHead>| PendingEntry::new(record(g)).row_on(head));
            let added = citywatch_audit::add_grant(&*dir.repos.users, Granter::MachineOperator, &username, &spec, Utc::now(), entry);
            let g = match added {
                Ok((g, row)) => {
                    dir.audit.appended(&row);
                    g
                }
                Err(GrantError::Repo(e)) => return Err(e).with_context(|| format!("granting {} to {username}", grant.role)),
                Err(GrantError::Refused(why)) => {
                    let record =
                        Record::new(cli_actor(), "grant.add", &username).result("denied").detail(json!({"role": grant.role, "reason": why.to_string()}));
                    dir.audit.record(record)?;
                    bail!("{} was not granted: {why}", grant.role);
                }
            };
            println!("Granted {} to {username} (grant {}).", grant.role, g.id);
        }
        Command::SetPassword { data, username, password } => {
            let dir = DataDir::open(&data)?;
            let record = |ended: &usize| Record::new(cli_actor(), "user.set_password", &username).detail(json!({"sessions_ended": ended}));
            let (ended, row) = dir.repos.users.set_password_hash(&username, &hash_password(&password)?, PendingEntry::after(record))?;
            dir.audit.appended(&row);
            println!("Password of {username} changed; {} ended.", sessions(ended));
        }
        Command::DisableUser { data, username } => {
            let dir = DataDir::open(&data)?;
            let record = |ended: &usize| Record::new(cli_actor(), "user.disable", &username).detail(json!({"sessions_ended": ended}));
            let (ended, row) = dir.repos.users.set_user_disabled(&username, true, PendingEntry::after(record))?;
            dir.audit.appended(&row);
            println!("Disabled {username}; {} ended. `citywatch admin enable-user` undoes it.", sessions(ended));
        }
        Command::EnableUser { data, username } => {
            let dir = DataDir::open(&data)?;
            let record = |_: &usize| Record::new(cli_actor(), "user.enable", &username);
            let (_, row) = dir.repos.users.set_user_disabled(&username, false, PendingEntry::after(record))?;
            dir.audit.appended(&row);
            println!("Enabled {username}.");
        }
        Command::ListUsers { data } => {
            let dir = DataDir::open(&data)?;
            for u in dir.repos.users.users()? {
                println!("{}{}", u.username, if u.disabled { " (disabled)" } else { "" });
                for g in dir.repos.users.grants_of(&u.username)? {
                    let districts = g.districts.map_or("all districts".into(), |d| d.join(", "));
                    let expiry = g.expires_at.map_or(String::new(), |t| format!(", until {t}"));
                    println!("  #{} {} in {districts}{expiry}", g.id, g.role);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn sessions(n: usize) -> String {
    match n {
        1 => "1 session".into(),
        n => format!("{n} sessions"),
    }
}

fn check_districts(dir: &DataDir, districts: Option<&[String]>) -> anyhow::Result<()> {
    let Some(list) = districts else { return Ok(()) };
    let known = dir.repos.cameras.districts()?;
    for d in list {
        if !known.iter().any(|k| &k.name == d) {
            let names: Vec<&str> = known.iter().map(|k| k.name.as_str()).collect();
            bail!("no district named {d:?}; known districts: {}", names.join(", "));
        }
    }
    Ok(())
}
