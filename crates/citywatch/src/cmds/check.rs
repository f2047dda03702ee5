//! `citywatch check --data DIR`: checks every recording against its sample
//! file (exists, at least as long as the index says) and its frame index
//! (decodes, sums to the row's frames, bytes and duration). Prints each
//! problem; exits 1 if there is any. Reads only; safe beside a running
//! server.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use citywatch_video::check::check_all;
use citywatch_video::sample_dir::SampleDir;

use crate::data_dir::DataDir;

#[derive(clap::Args)]
pub struct Args {
    /// Data directory of the server.
    #[arg(long, env = "CITYWATCH_DATA")]
    pub data: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = DataDir::open_existing_index(&args.data)?;
    let video = args.data.join("video");
    anyhow::ensure!(video.is_dir() || store.recording_files()?.is_empty(), "{} is missing but the index names recordings", video.display());
    let dir = SampleDir::open(&video).with_context(|| format!("opening {}", video.display()))?;
    let report = check_all(&*store, &dir).context("reading the recording index")?;
    for d in &report.damaged {
        println!("PROBLEM {d}");
    }
    if !report.orphan_files.is_empty() {
        println!(
            "note: {} sample files without an index row (a crash before their first commit); the server removes them at its next start",
            report.orphan_files.len()
        );
    }
    if report.pending_deletions > 0 {
        println!("note: {} deletions queued; the server finishes them", report.pending_deletions);
    }
    println!("{} recordings, {} bytes checked: {} damaged", report.recordings, report.bytes, report.damaged.len());
    Ok(if report.damaged.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
