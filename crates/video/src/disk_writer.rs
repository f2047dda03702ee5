//! The per-disk I/O pool: every recorder of one sample directory hands its
//! closed GOPs here; a few writer threads append them to their files and,
//! once per commit interval, make a whole batch durable together — one
//! `fdatasync` per file touched, one `fsync` per new directory entry, then
//! one SQLite transaction for the index rows of every stream on the disk.
//!
//! At the commit the direct files' new blocks are copied into one batch
//! buffer and written with one `io_submit` (`aio_batch`): on a VM each
//! write dispatched on its own notifies the virtual device, and those exits
//! cost more than the rest of the writer.
//!
//! Why a pool and not a thread per stream: a thread per stream that syncs
//! and commits each GOP costs a journal commit and a database commit per
//! stream per second, and most of the recorder's CPU went there (system
//! time). Batching keeps the crash-safe order — bytes and directory entries
//! are durable before any row names them — and a crash loses at most the
//! last commit interval plus the GOP being held, as before.
//!
//! The recorders never wait on the disk: `submit` is non-blocking and a
//! disk that falls behind by more than `max_queued_bytes` costs whole GOPs
//! (reported to the recorder, which starts a new recording at its next key
//! frame), never unbounded memory. Files written direct (`append_file`)
//! also hold their GOPs until the commit, at most 1 MiB each, so memory
//! grows by about a commit interval of video per stream (what buffered
//! writes kept in the page cache instead). A write or sync error (a full disk)
//! marks the recording failed; the file is cut back to what its committed
//! row says and the recorder starts a new file at its next GOP.
//!
//! [`DiskWriter::inline`] runs the same steps synchronously, one GOP at a
//! time, for tools and tests that want each GOP on disk when `submit`
//! returns.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, TryRecvError};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use citywatch_model::recordings::RecordingRow;

use crate::recording_repo::RecordingRepo;

use crate::aio_batch::{self, Aio};
use crate::append_file::{AlignedBuf, AppendFile, StagedWrite};
use crate::recorder::{stored_params, RecordError};
use crate::sample_dir::{SampleDir, Writing};
use crate::VideoParams;

/// How often a writer thread takes the GOPs queued for it.
const DRAIN_EVERY: Duration = Duration::from_millis(100);

/// Buffer for one batch of direct writes at a commit: a commit interval of
/// about 8 streams at 2 Mbit/s, so 50 streams take 7 submissions, not 50.
/// Larger batches measured no better: the copy into a buffer that no
/// longer fits the CPU's cache costs what the fewer submissions save.
const BATCH_BYTES: usize = 2 << 20;

#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Writer threads for this disk (files are spread over them by name).
    pub threads: usize,
    /// How long a written GOP may wait for its sync and index commit.
    pub commit_interval: Duration,
    /// GOP bytes waiting for a writer before new GOPs are refused.
    pub max_queued_bytes: usize,
    /// Write sample files around the page cache (`O_DIRECT`) where the
    /// filesystem allows it; see `append_file`.
    pub direct_io: bool,
}

impl Default for WriterConfig {
    fn default() -> WriterConfig {
        WriterConfig { threads: 2, commit_interval: Duration::from_secs(2), max_queued_bytes: 64 << 20, direct_io: true }
    }
}

/// One sample file as the recorder and the writer share it.
pub struct RecordingFile {
    /// Relative to the sample directory.
    pub file: String,
    failed: AtomicBool,
    /// Keeps retention away until the last GOP of the file is committed.
    _writing: Writing,
}

impl RecordingFile {
    pub fn new(dir: &SampleDir, file: String) -> Arc<RecordingFile> {
        let writing = dir.begin_writing(&file);
        Arc::new(RecordingFile { file, failed: AtomicBool::new(false), _writing: writing })
    }

    /// A write or sync of this file failed: its later GOPs are dropped and
    /// the recorder must start a new file.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }
}

/// A closed GOP: its bytes and the recording's row as it will be once they
/// are stored (`id` and `params_id` are the writer's business).
pub struct GopWrite {
    pub target: Arc<RecordingFile>,
    /// The first GOP of the file: create it.
    pub create: bool,
    /// The GOP's frames, written as they are (no copy into one buffer).
    pub frames: Vec<Bytes>,
    pub row: RecordingRow,
    pub params: Arc<VideoParams>,
}

impl GopWrite {
    pub fn len(&self) -> usize {
        self.frames.iter().map(|f| f.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.iter().all(|f| f.is_empty())
    }
}

/// Counters for `/metrics` and the benchmark.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub gops_written: AtomicU64,
    pub gops_refused: AtomicU64,
    pub write_errors: AtomicU64,
    pub commits: AtomicU64,
}

enum Job {
    Gop(GopWrite),
    Flush(mpsc::Sender<()>),
}

/// A handle on one disk's writer; cheap to clone. The threads stop (after
/// committing what they hold) when the last handle is dropped.
#[derive(Clone)]
pub struct DiskWriter {
    inner: Arc<Inner>,
}

struct Inner {
    dir: Arc<SampleDir>,
    mode: Mode,
    queued: Arc<AtomicUsize>,
    max_queued: usize,
    stats: Arc<WriterStats>,
}

enum Mode {
    Inline(Mutex<Worker>),
    Pool { senders: Vec<mpsc::Sender<Job>>, threads: Mutex<Vec<std::thread::JoinHandle<()>>> },
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Mode::Pool { senders, threads } = &mut self.mode {
            senders.clear();
            for t in threads.get_mut().unwrap_or_else(|e| e.into_inner()).drain(..) {
                let _ = t.join();
            }
        }
    }
}

impl DiskWriter {
    /// Starts the writer threads for the disk holding `dir`.
    pub fn spawn(store: Arc<dyn RecordingRepo>, dir: Arc<SampleDir>, config: WriterConfig) -> DiskWriter {
        let queued = Arc::new(AtomicUsize::new(0));
        let stats = Arc::new(WriterStats::default());
        let mut senders = Vec::new();
        let mut threads = Vec::new();
        for n in 0..config.threads.max(1) {
            let (tx, rx) = mpsc::channel();
            let mut worker = Worker::new(store.clone(), dir.clone(), queued.clone(), stats.clone(), config.direct_io, true);
            let interval = config.commit_interval;
            let thread =
                std::thread::Builder::new().name(format!("disk-writer-{n}")).spawn(move || worker.run(rx, interval)).expect("starting a disk writer thread");
            senders.push(tx);
            threads.push(thread);
        }
        let mode = Mode::Pool { senders, threads: Mutex::new(threads) };
        DiskWriter { inner: Arc::new(Inner { dir, mode, queued, max_queued: config.max_queued_bytes, stats }) }
    }

    /// A writer that stores and commits each GOP before `submit` returns.
    pub fn inline(store: Arc<dyn RecordingRepo>, dir: Arc<SampleDir>) -> DiskWriter {
        let queued = Arc::new(AtomicUsize::new(0));
        let stats = Arc::new(WriterStats::default());
        let worker = Worker::new(store, dir.clone(), queued.clone(), stats.clone(), true, false);
        DiskWriter { inner: Arc::new(Inner { dir, mode: Mode::Inline(Mutex::new(worker)), queued, max_queued: usize::MAX, stats }) }
    }

    pub fn dir(&self) -> &Arc<SampleDir> {
        &self.inner.dir
    }

    pub fn stats(&self) -> &WriterStats {
        &self.inner.stats
    }

    /// Hands a GOP to the disk. Never blocks on the pool; an inline writer
    /// returns the GOP's own write or commit error.
    pub fn submit(&self, gop: GopWrite) -> Result<(), RecordError> {
        match &self.inner.mode {
            Mode::Inline(worker) => {
                let mut w = worker.lock().unwrap_or_else(|e| e.into_inner());
                let path = gop.target.file.clone();
                w.write(gop).map_err(|source| RecordError::Io { path: path.clone(), source })?;
                w.commit()
            }
            Mode::Pool { senders, .. } => {
                let len = gop.len();
                if self.inner.queued.fetch_add(len, Ordering::AcqRel) + len > self.inner.max_queued {
                    self.inner.queued.fetch_sub(len, Ordering::AcqRel);
                    self.inner.stats.gops_refused.fetch_add(1, Ordering::Relaxed);
                    return Err(RecordError::DiskBehind { frames: 0 });
                }
                let sender = &senders[shard(&gop.target.file, senders.len())];
                sender.send(Job::Gop(gop)).map_err(|_| RecordError::WriterStopped)
            }
        }
    }

    /// Waits until every GOP submitted so far is written, synced and
    /// committed (or has failed).
    pub fn flush(&self) {
        if let Mode::Pool { senders, .. } = &self.inner.mode {
            let waits: Vec<_> = senders
                .iter()
                .filter_map(|s| {
                    let (tx, rx) = mpsc::channel();
                    s.send(Job::Flush(tx)).ok().map(|()| rx)
                })
                .collect();
            for rx in waits {
                let _ = rx.recv();
            }
        }
    }
}

fn shard(file: &str, n: usize) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    file.hash(&mut h);
    (h.finish() % n as u64) as usize
}

/// A file a worker has open.
struct OpenFile {
    handle: AppendFile,
    /// Weak once committed, so that a recorder letting go of a file
    /// releases it to retention at once.
    target: Weak<RecordingFile>,
    /// 0 until the first row is committed.
    id: i64,
    /// Bytes the committed row names.
    committed_len: u64,
    /// The newest row, written but not yet committed, and the file it names
    /// (held until committed: retention keeps away meanwhile).
    pending: Option<(RecordingRow, Arc<RecordingFile>)>,
    /// The file is new: its directory entry needs an fsync before commit.
    new_entry: bool,
}

struct Worker {
    store: Arc<dyn RecordingRepo>,
    dir: Arc<SampleDir>,
    queued: Arc<AtomicUsize>,
    stats: Arc<WriterStats>,
    files: HashMap<String, OpenFile>,
    params_ids: Vec<(Arc<VideoParams>, i64)>,
    direct: bool,
    /// Where GOPs are copied for direct writes one file at a time.
    scratch: AlignedBuf,
    /// Where a commit's direct writes are copied to go out together
    /// (`aio_batch`); `None` for an inline writer or without Linux AIO.
    batched: Option<(Aio, AlignedBuf)>,
}

impl Worker {
    fn new(store: Arc<dyn RecordingRepo>, dir: Arc<SampleDir>, queued: Arc<AtomicUsize>, stats: Arc<WriterStats>, direct: bool, batch_writes: bool) -> Worker {
        let batched = if batch_writes && direct { Aio::new().map(|aio| (aio, AlignedBuf::with_len(BATCH_BYTES))) } else { None };
        Worker { store, dir, queued, stats, files: HashMap::new(), params_ids: Vec::new(), direct, scratch: AlignedBuf::new(), batched }
    }

    /// Takes queued jobs every [`DRAIN_EVERY`] rather than blocking on the
    /// queue: a sender then never has to wake this thread (a futex call and
    /// a context switch per GOP per stream), and the writes of many streams
    /// go out together. A GOP waits at most that long before its `writev`.
    fn run(&mut self, rx: mpsc::Receiver<Job>, interval: Duration) {
        let mut deadline: Option<Instant> = None;
        loop {
            loop {
                match rx.try_recv() {
                    Ok(Job::Gop(gop)) => {
                        let (len, path) = (gop.len(), gop.target.file.clone());
                        if let Err(e) = self.write(gop) {
                            tracing::error!("recording {path}: {e}; the recorder starts a new file at its next key frame");
                        }
                        self.queued.fetch_sub(len, Ordering::AcqRel);
                        deadline.get_or_insert_with(|| Instant::now() + interval);
                    }
                    Ok(Job::Flush(done)) => {
                        self.commit_logged();
                        deadline = None;
                        let _ = done.send(());
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.commit_logged();
                        return;
                    }
                }
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| d <= now) {
                self.commit_logged();
                deadline = None;
            }
            let until_commit = deadline.map_or(DRAIN_EVERY, |d| d.saturating_duration_since(now));
            std::thread::sleep(DRAIN_EVERY.min(until_commit));
        }
    }

    /// Appends a GOP to its file (not yet durable; `commit` makes it so).
    fn write(&mut self, gop: GopWrite) -> std::io::Result<()> {
        if gop.target.failed() {
            return Ok(());
        }
        let key = gop.target.file.clone();
        if gop.create {
            let handle = self.dir.create_unsynced(&key, self.direct).inspect_err(|_| self.fail(&gop.target))?;
            let open = OpenFile { handle, target: Arc::downgrade(&gop.target), id: 0, committed_len: 0, pending: None, new_entry: true };
            self.files.insert(key.clone(), open);
        }
        let Some(open) = self.files.get_mut(&key) else {
            // The file's first GOP was refused or failed: nothing to add to.
            self.fail(&gop.target);
            return Ok(());
        };
        if let Err(e) = open.handle.append(&gop.frames, &mut self.scratch) {
            self.abandon(&key);
            return Err(e);
        }
        let mut row = gop.row;
        row.id = open.id;
        row.params_id = match self.params_ids.iter().find(|(p, _)| **p == *gop.params) {
            Some((_, id)) => *id,
            None => {
                let id = self.store.video_params_id(&stored_params(&gop.params)).map_err(std::io::Error::other)?;
                self.params_ids.push((gop.params.clone(), id));
                id
            }
        };
        open.pending = Some((row, gop.target));
        self.stats.gops_written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn fail(&self, target: &RecordingFile) {
        target.failed.store(true, Ordering::Release);
        self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A write or sync failed: the GOPs not yet committed are lost. The file
    /// goes back to what its committed row names (or away, if none does) so
    /// the space comes back, and the recorder is told to start afresh.
    fn abandon(&mut self, key: &str) {
        let Some(open) = self.files.remove(key) else { return };
        if let Some(target) = open.target.upgrade() {
            self.fail(&target);
        }
        if open.id == 0 {
            drop(open.handle);
            let _ = std::fs::remove_file(self.dir.path(key));
        } else {
            let _ = open.handle.cut_back(open.committed_len);
        }
    }

    fn commit_logged(&mut self) {
        if let Err(e) = self.commit() {
            tracing::error!("committing recordings: {e}; retrying at the next interval");
        }
    }

    /// Makes every pending GOP durable and then indexes it, in one batch.
    fn commit(&mut self) -> Result<(), RecordError> {
        let pending: Vec<String> = self.files.iter().filter(|(_, o)| o.pending.is_some()).map(|(k, _)| k.clone()).collect();
        let mut failed = self.write_out(&pending);
        let mut dirs: HashSet<PathBuf> = HashSet::new();
        for key in &pending {
            let Some(open) = self.files.get_mut(key).filter(|_| !failed.iter().any(|(k, _)| k == key)) else { continue };
            if let Err(e) = open.handle.sync_data() {
                failed.push((key.clone(), e));
                continue;
            }
            if open.new_entry {
                if let Some(parent) = self.dir.path(key).parent() {
                    dirs.insert(parent.to_owned());
                }
            }
        }
        for (key, e) in failed {
            tracing::error!("recording {key}: {e}; its uncommitted GOPs are lost and the recorder starts a new file at its next key frame");
            self.abandon(&key);
        }
        for d in &dirs {
            File::open(d).and_then(|f| f.sync_all()).map_err(|source| RecordError::Io { path: d.display().to_string(), source })?;
        }
        let mut keys = Vec::new();
        let mut rows = Vec::new();
        for (key, open) in &self.files {
            if let Some((row, _)) = &open.pending {
                keys.push(key.clone());
                rows.push(row.clone());
            }
        }
        if !rows.is_empty() {
            let ids = self.store.put_recordings(&rows)?;
            self.stats.commits.fetch_add(1, Ordering::Relaxed);
            for ((key, id), row) in keys.iter().zip(ids).zip(rows) {
                if let Some(open) = self.files.get_mut(key) {
                    open.id = id;
                    open.committed_len = row.bytes as u64;
                    open.pending = None;
                    open.new_entry = false;
                }
            }
        }
        // A file whose recorder has let go and whose GOPs are all committed
        // is finished: close it (and let retention at it).
        let finished: Vec<String> = self.files.iter().filter(|(_, o)| o.pending.is_none() && o.target.strong_count() == 0).map(|(k, _)| k.clone()).collect();
        for key in finished {
            if let Some(open) = self.files.remove(&key) {
                close(&key, open);
            }
        }
        Ok(())
    }

    /// Writes out what each of `keys`' files holds (see
    /// [`AppendFile::write_out`]), the direct writes of many files submitted
    /// together where it can; the files that failed, with their errors.
    fn write_out(&mut self, keys: &[String]) -> Vec<(String, std::io::Error)> {
        let mut failed = Vec::new();
        let mut staged: Vec<(String, StagedWrite)> = Vec::new();
        let mut at = 0;
        for key in keys {
            let Some(open) = self.files.get_mut(key) else { continue };
            let batch_room = self.batched.as_ref().map_or(0, |(_, batch)| batch.len());
            match open.handle.write_out_len() {
                Some(len) if len <= batch_room => {
                    let (aio, batch) = self.batched.as_mut().expect("a batch buffer has room");
                    if at + len > batch.len() || staged.len() == aio_batch::MAX_WRITES {
                        submit_batch(aio, &mut self.files, batch, &staged, &mut failed);
                        staged.clear();
                        at = 0;
                    }
                    let open = self.files.get_mut(key).expect("looked up above");
                    let w = open.handle.stage_write(batch, at).expect("write_out_len said there is something to write");
                    at += w.len;
                    staged.push((key.clone(), w));
                }
                // Nothing new, a buffered file, or more than a batch holds: on its own.
                _ => {
                    if let Err(e) = open.handle.write_out(&mut self.scratch) {
                        failed.push((key.clone(), e));
                    }
                }
            }
        }
        if let Some((aio, batch)) = self.batched.as_mut() {
            submit_batch(aio, &mut self.files, batch, &staged, &mut failed);
        }
        failed
    }
}

/// Writes the staged bytes of many files in one submission and moves each
/// file on (or records its error).
fn submit_batch(
    aio: &mut Aio,
    files: &mut HashMap<String, OpenFile>,
    batch: &AlignedBuf,
    staged: &[(String, StagedWrite)],
    failed: &mut Vec<(String, std::io::Error)>,
) {
    if staged.is_empty() {
        return;
    }
    let results = {
        let writes: Vec<aio_batch::Write<'_>> = staged
            .iter()
            .map(|(key, w)| aio_batch::Write { file: files[key].handle.file(), buf: AppendFile::staged_bytes(batch, w), offset: w.offset })
            .collect();
        aio.write_all(&writes)
    };
    for ((key, w), result) in staged.iter().zip(results) {
        let open = files.get_mut(key).expect("staged files stay open until the commit ends");
        if let Err(e) = open.handle.staged_written(batch, w, result) {
            failed.push((key.clone(), e));
        }
    }
}

impl Drop for Worker {
    /// The writer stops (the server stops, or an inline writer's recorder
    /// is done): its files are complete as far as they are committed.
    fn drop(&mut self) {
        for (key, open) in self.files.drain() {
            close(&key, open);
        }
    }
}

/// Closes a file no GOP will be added to (dropping a direct write's padding).
fn close(key: &str, open: OpenFile) {
    if let Err(e) = open.handle.finish() {
        tracing::warn!("closing {key}: {e}; recovery trims it at the next start");
    }
}
