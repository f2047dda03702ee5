//! Retention: which recordings to delete, and deleting them crash-safely.
//!
//! Three limits, applied oldest first: a camera's recordings older than its
//! maximum age; a camera's oldest recordings beyond its maximum bytes; and,
//! for the whole video directory's filesystem, the oldest recordings of any
//! camera while free space is below the floor. Limits come from the
//! configuration, per camera overridden from the store.
//!
//! Never deleted: a recording overlapping an active legal hold on its camera
//! (held bytes do not count against the camera's quota), and a recording a
//! recorder is still writing (`SampleDir::is_being_written`). When a limit
//! cannot be met without the recording being written, retention asks its
//! recorder to close it at the next key frame (`SampleDir::request_close`;
//! the recording run goes on in a new file) and deletes it on a later run,
//! so a disk smaller than a recording's full length still never fills.
//!
//! Deletion order: the index rows go and the files are queued in the garbage
//! table in one transaction, then the files are unlinked and forgotten. A
//! crash in between leaves queued files that the next run (or start-up
//! recovery) deletes; the index never names a deleted file.
//!
//! This module decides and deletes; it does not schedule itself or audit
//! (the binary runs it periodically and records each purge).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use citywatch_model::recordings::{RecordingSummary, RetentionOverride};
use citywatch_model::{LegalHold, RepoError};

use crate::recording_repo::RecordingRepo;

use crate::sample_dir::SampleDir;

const DAY_90K: i64 = 24 * 3600 * 90_000;
/// Recordings read from the index at a time.
const PAGE: usize = 500;
/// Recordings deleted per transaction.
const BATCH: usize = 100;
/// Free-space rounds per run: deleting frees blocks, not always exactly the
/// recordings' byte counts, so the floor is re-read after each round.
const FLOOR_ROUNDS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("retention: {0}")]
    Index(#[from] RepoError),
    #[error("retention: reading free space of {path}: {source}")]
    FreeSpace { path: String, source: io::Error },
}

/// The configured defaults. `None` / 0: no such limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub max_age_days: Option<i64>,
    pub max_bytes_per_camera: Option<i64>,
    pub min_free_bytes: u64,
}

impl RetentionPolicy {
    /// (max age in 90 kHz units, max bytes) for a camera.
    fn limits(&self, o: Option<&RetentionOverride>) -> (Option<i64>, Option<i64>) {
        let age = o.and_then(|o| o.max_age_days).or(self.max_age_days).filter(|d| *d > 0);
        let bytes = o.and_then(|o| o.max_bytes).or(self.max_bytes_per_camera).filter(|b| *b > 0);
        (age.map(|d| d.saturating_mul(DAY_90K)), bytes)
    }
}

/// Where free space is read from; tests inject their own.
pub trait FreeSpace: Send + Sync {
    /// Bytes available to the server in the filesystem holding `dir`.
    fn free_bytes(&self, dir: &Path) -> io::Result<u64>;
}

/// The real reading: `fstatvfs(2)` of the directory, blocks available to
/// unprivileged users.
pub struct Statvfs;

impl FreeSpace for Statvfs {
    fn free_bytes(&self, dir: &Path) -> io::Result<u64> {
        crate::free_space::available_bytes(&std::fs::File::open(dir)?)
    }
}

/// Recordings and bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub recordings: u64,
    pub bytes: u64,
}

impl Deleted {
    fn add(&mut self, r: &RecordingSummary) {
        self.recordings += 1;
        self.bytes += r.bytes.max(0) as u64;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Age,
    Bytes,
    FreeSpace,
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    pub by_age: Deleted,
    pub by_bytes: Deleted,
    pub by_free_space: Deleted,
    pub per_camera: BTreeMap<String, Deleted>,
    /// Recordings a limit would have deleted but a legal hold kept.
    pub held: usize,
    /// Files queued for deletion earlier (a crash, a failed unlink) and now gone.
    pub garbage_finished: usize,
    /// Files whose unlink failed; they stay queued for the next run.
    pub unlink_failures: Vec<String>,
    /// Free space after the run (when a floor is configured).
    pub free_bytes: Option<u64>,
    /// Free space is still below the floor and nothing more may be deleted.
    pub floor_unmet: bool,
    /// Recordings in progress that recorders were newly asked to close
    /// early so that a later run can delete them.
    pub close_requests: usize,
}

impl RetentionReport {
    pub fn deleted(&self) -> Deleted {
        Deleted {
            recordings: self.by_age.recordings + self.by_bytes.recordings + self.by_free_space.recordings,
            bytes: self.by_age.bytes + self.by_bytes.bytes + self.by_free_space.bytes,
        }
    }
}

/// Totals since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct RetentionTotals {
    pub runs: AtomicU64,
    pub failed_runs: AtomicU64,
    pub deleted_recordings: AtomicU64,
    pub deleted_bytes: AtomicU64,
    /// Recordings the last run kept only because of a legal hold.
    pub held: AtomicU64,
    /// Free space seen by the last run; -1 before any.
    pub free_bytes: AtomicI64,
}

impl RetentionTotals {
    pub fn add(&self, r: &RetentionReport) {
        let d = r.deleted();
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.deleted_recordings.fetch_add(d.recordings, Ordering::Relaxed);
        self.deleted_bytes.fetch_add(d.bytes, Ordering::Relaxed);
        self.held.store(r.held as u64, Ordering::Relaxed);
        if let Some(f) = r.free_bytes {
            self.free_bytes.store(i64::try_from(f).unwrap_or(i64::MAX), Ordering::Relaxed);
        }
    }
}

struct Run<'a> {
    store: &'a dyn RecordingRepo,
    dir: &'a SampleDir,
    holds: Vec<LegalHold>,
    report: RetentionReport,
    /// Ids already counted in `report.held`.
    held_ids: BTreeSet<i64>,
    pending: Vec<(RecordingSummary, Reason)>,
    /// Files a limit would have deleted but a recorder is still writing.
    skipped_writing: BTreeSet<String>,
}

/// Runs the policy once at `now`, keeping whatever `holds` (the legal
/// holds active at `now`, read by the caller from the access repository)
/// cover.
pub fn enforce(
    store: &dyn RecordingRepo,
    holds: Vec<LegalHold>,
    dir: &SampleDir,
    policy: &RetentionPolicy,
    free: &dyn FreeSpace,
    now: DateTime<Utc>,
) -> Result<RetentionReport, RetentionError> {
    let now_90k = now.timestamp_micros() * 9 / 100;
    let mut run =
        Run { store, dir, holds, report: RetentionReport::default(), held_ids: BTreeSet::new(), pending: Vec::new(), skipped_writing: BTreeSet::new() };
    run.finish_garbage()?;

    let overrides: HashMap<String, RetentionOverride> = store.retention_overrides()?.into_iter().map(|o| (o.camera_id.clone(), o)).collect();
    let mut camera_bytes: BTreeMap<String, i64> = BTreeMap::new();
    for t in store.recording_totals()? {
        *camera_bytes.entry(t.camera_id).or_default() += t.bytes;
    }
    for (camera, total) in camera_bytes {
        let (max_age, max_bytes) = policy.limits(overrides.get(&camera));
        run.per_camera(&camera, total, max_age.map(|a| now_90k - a), max_bytes)?;
    }

    if policy.min_free_bytes > 0 {
        run.free_space_floor(policy.min_free_bytes, free)?;
    }
    Ok(run.report)
}

impl Run<'_> {
    /// Completes deletions queued before (after a crash or a failed unlink).
    fn finish_garbage(&mut self) -> Result<(), RetentionError> {
        for file in self.store.garbage_files()? {
            if self.unlink(&file)? {
                self.report.garbage_finished += 1;
            }
        }
        Ok(())
    }

    /// Whether `r` must be kept whatever the limits say; counts holds.
    fn protected(&mut self, r: &RecordingSummary) -> bool {
        if self.dir.is_being_written(&r.file) {
            self.skipped_writing.insert(r.file.clone());
            return true;
        }
        if self.holds.iter().any(|h| h.covers(&r.camera_id, r.start_90k, r.end_90k())) {
            if self.held_ids.insert(r.id) {
                self.report.held += 1;
            }
            return true;
        }
        false
    }

    fn held_only(&self, r: &RecordingSummary) -> bool {
        self.holds.iter().any(|h| h.covers(&r.camera_id, r.start_90k, r.end_90k()))
    }

    /// Age and bytes limits of one camera.
    fn per_camera(&mut self, camera: &str, total_bytes: i64, cutoff_90k: Option<i64>, max_bytes: Option<i64>) -> Result<(), RetentionError> {
        let Some(oldest) = self.store.oldest_recordings(Some(camera), None, 1)?.into_iter().next() else { return Ok(()) };
        let too_old = cutoff_90k.is_some_and(|c| oldest.end_90k() <= c);
        let too_big = max_bytes.is_some_and(|m| total_bytes > m);
        if !too_old && !too_big {
            return Ok(());
        }
        // Held recordings do not count against the quota: a hold on old
        // footage must not push out the camera's recent recordings.
        let mut excess = match max_bytes {
            Some(max) if too_big => {
                let held: i64 = self.holds.iter().any(|h| h.camera_id == camera).then(|| self.held_bytes(camera)).transpose()?.unwrap_or(0);
                total_bytes - held - max
            }
            _ => 0,
        };
        let mut after = None;
        self.skipped_writing.clear();
        'pages: loop {
            let page = self.store.oldest_recordings(Some(camera), after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some((last.start_90k, last.id));
            for r in page {
                let old = cutoff_90k.is_some_and(|c| r.end_90k() <= c);
                let reason = if old {
                    Reason::Age
                } else if excess > 0 {
                    Reason::Bytes
                } else if cutoff_90k.is_some_and(|c| r.start_90k <= c) {
                    continue; // straddles the cutoff; later ones may still end before it
                } else {
                    break 'pages;
                };
                if self.protected(&r) {
                    continue;
                }
                excess -= r.bytes;
                self.delete(r, reason)?;
            }
        }
        if excess > 0 {
            self.request_closes();
        }
        self.flush()
    }

    /// Asks recorders to close the files this phase could not delete.
    fn request_closes(&mut self) {
        for file in std::mem::take(&mut self.skipped_writing) {
            if !self.dir.close_requested(&file) && self.dir.request_close(&file) {
                self.report.close_requests += 1;
            }
        }
    }

    fn held_bytes(&self, camera: &str) -> Result<i64, RetentionError> {
        let mut held = 0;
        let mut after = None;
        loop {
            let page = self.store.oldest_recordings(Some(camera), after, PAGE)?;
            let Some(last) = page.last() else { return Ok(held) };
            after = Some((last.start_90k, last.id));
            held += page.iter().filter(|r| self.held_only(r)).map(|r| r.bytes).sum::<i64>();
        }
    }

    /// Deletes the oldest recordings of any camera while free space is below `floor`.
    fn free_space_floor(&mut self, floor: u64, free: &dyn FreeSpace) -> Result<(), RetentionError> {
        let root = self.dir.root().to_owned();
        let read = |f: &dyn FreeSpace| f.free_bytes(&root).map_err(|source| RetentionError::FreeSpace { path: root.display().to_string(), source });
        let mut after = None;
        self.skipped_writing.clear();
        for _ in 0..FLOOR_ROUNDS {
            let now_free = read(free)?;
            self.report.free_bytes = Some(now_free);
            if now_free >= floor {
                return Ok(());
            }
            let mut need = (floor - now_free) as i64;
            let mut exhausted = true;
            'pages: loop {
                let page = self.store.oldest_recordings(None, after, PAGE)?;
                let Some(last) = page.last() else { break };
                after = Some((last.start_90k, last.id));
                for r in page {
                    if self.protected(&r) {
                        continue;
                    }
                    need -= r.bytes;
                    self.delete(r, Reason::FreeSpace)?;
                    if need <= 0 {
                        exhausted = false;
                        break 'pages;
                    }
                }
            }
            self.flush()?;
            if exhausted {
                self.request_closes();
                let now_free = read(free)?;
                self.report.free_bytes = Some(now_free);
                self.report.floor_unmet = now_free < floor;
                return Ok(());
            }
        }
        let now_free = read(free)?;
        self.report.free_bytes = Some(now_free);
        self.report.floor_unmet = now_free < floor;
        Ok(())
    }

    fn delete(&mut self, r: RecordingSummary, reason: Reason) -> Result<(), RetentionError> {
        self.pending.push((r, reason));
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Index rows out and files queued (one transaction), then unlinked.
    fn flush(&mut self) -> Result<(), RetentionError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        let ids: Vec<i64> = batch.iter().map(|(r, _)| r.id).collect();
        let files = self.store.delete_recordings(&ids)?;
        for (r, reason) in &batch {
            // A row deleted meanwhile by someone else is not counted.
            if !files.contains(&r.file) {
                continue;
            }
            match reason {
                Reason::Age => self.report.by_age.add(r),
                Reason::Bytes => self.report.by_bytes.add(r),
                Reason::FreeSpace => self.report.by_free_space.add(r),
            }
            self.report.per_camera.entry(r.camera_id.clone()).or_default().add(r);
        }
        for file in files {
            self.unlink(&file)?;
        }
        Ok(())
    }

    /// Unlinks a queued file and forgets it; `false` if the unlink failed
    /// (it stays queued).
    fn unlink(&mut self, file: &str) -> Result<bool, RetentionError> {
        match std::fs::remove_file(self.dir.path(file)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file, "retention: cannot delete sample file: {e}; will retry");
                self.report.unlink_failures.push(file.to_owned());
                return Ok(false);
            }
        }
        self.store.forget_garbage(file)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_and_zero_means_unlimited() {
        let p = RetentionPolicy { max_age_days: Some(30), max_bytes_per_camera: Some(1000), min_free_bytes: 0 };
        assert_eq!(p.limits(None), (Some(30 * DAY_90K), Some(1000)));
        let o = RetentionOverride { camera_id: "c".into(), max_age_days: Some(2), max_bytes: None };
        assert_eq!(p.limits(Some(&o)), (Some(2 * DAY_90K), Some(1000)));
        let unlimited = RetentionPolicy { max_age_days: Some(0), max_bytes_per_camera: None, min_free_bytes: 0 };
        assert_eq!(unlimited.limits(None), (None, None));
    }

    #[test]
    fn statvfs_reads_something() {
        let free = Statvfs.free_bytes(Path::new("/")).unwrap();
        assert!(free > 0);
        assert!(Statvfs.free_bytes(Path::new("/no/such/dir")).is_err());
    }
}
