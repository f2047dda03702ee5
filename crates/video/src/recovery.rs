//! Start-up repair of the sample-file store after a crash (the read-only
//! consistency check behind `citywatch check` is `check.rs`).
//!
//! After a crash a sample file may hold bytes of a GOP whose index row was
//! never committed (cut them off), a new file may exist with no row yet
//! (delete it), and deletions may be half done (finish them).

use std::fs::OpenOptions;

use crate::recording_repo::RecordingRepo;

use crate::sample_dir::SampleDir;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Files queued for deletion before the crash, now deleted.
    pub garbage_deleted: usize,
    /// Files with uncommitted bytes at their end, cut back to the index.
    pub truncated: Vec<String>,
    /// Files no index row names (a recording whose first GOP never committed).
    pub orphans_deleted: Vec<String>,
    /// Index rows whose file is missing or shorter than the index says:
    /// played back as gaps, reported by `citywatch check`.
    pub damaged: Vec<String>,
}

/// Repairs the store. Must run before any recorder starts.
pub fn recover(store: &dyn RecordingRepo, dir: &SampleDir) -> Result<RecoveryReport, Box<dyn std::error::Error + Send + Sync>> {
    let mut report = RecoveryReport::default();
    for file in store.garbage_files()? {
        match std::fs::remove_file(dir.path(&file)) {
            Ok(()) => report.garbage_deleted += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("deleting {file}: {e}").into()),
        }
        store.forget_garbage(&file)?;
    }
    let indexed: std::collections::HashMap<String, i64> = store.recording_files()?.into_iter().collect();
    for file in dir.list()? {
        if !indexed.contains_key(&file) {
            std::fs::remove_file(dir.path(&file))?;
            report.orphans_deleted.push(file);
        }
    }
    for (file, bytes) in &indexed {
        let path = dir.path(file);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > *bytes as u64 => {
                let f = OpenOptions::new().write(true).open(&path)?;
                f.set_len(*bytes as u64)?;
                f.sync_all()?;
                report.truncated.push(file.clone());
            }
            Ok(m) if m.len() < *bytes as u64 => report.damaged.push(file.clone()),
            Ok(_) => {}
            Err(_) => report.damaged.push(file.clone()),
        }
    }
    report.truncated.sort();
    report.damaged.sort();
    Ok(report)
}
