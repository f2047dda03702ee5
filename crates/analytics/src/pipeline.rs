//! The analysis pipeline: many cameras' sub-stream frames in, events out,
//! on a pool of worker threads sized to the machine.
//!
//! Each camera has a queue of encoded frames and is scheduled on the pool
//! at most once at a time, so its frames are decoded in order by one
//! worker while other workers serve other cameras. A worker takes
//! everything queued for its camera, decodes all of it (H.264 needs every
//! frame for the ones after it), and analyses only the newest picture due
//! at the camera's rate; older due pictures are *skipped* and counted. The
//! camera then goes to the back of the line. Under CPU pressure every
//! camera's batches grow and more pictures are skipped, but every camera
//! keeps being analysed at its newest frame: frames are shed, not cameras.
//! When even decoding falls behind (more than the camera's backlog budget
//! queued), the queue is cut back to its newest key frame — or, without
//! one, emptied, with decoding resuming at the next key frame.
//!
//! Findings become events through the events service, each with a JPEG
//! snapshot of the picture saved under the snapshot directory and named in
//! the event's details (`"snapshot"`, relative to that directory).
//! Snapshots are stored as seen; blurring faces for viewers without an
//! unmask grant ([`crate::redact`]) happens when one is served.
//!
//! With a [`PlateStage`], each camera's vehicle tracks also have their
//! plates read within the camera's [`PlateBudget`]
//! ([`crate::plates::track_reads`]); each track's one voted plate has its
//! crop saved beside the snapshots and goes to the stage's [`PlateSink`]
//! (the binary sends it on to the hotlists). Plate work comes after
//! detection on the same picture and is what is shed first.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use chrono::Utc;
use citywatch_events::EventSink;
use citywatch_model::{NewEvent, Source};
use citywatch_video::Frame;
use serde::Serialize;

use crate::analysis::{CameraAnalysis, CameraRules, Outcome};
use crate::decode::{Picture, StreamDecoder, DEFAULT_ANALYSIS_FPS};
use crate::detect::Detector;
use crate::frame::RgbImage;
use crate::plates::{PlateBudget, PlateReader, PlateTracks, TrackPlate};

#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Worker threads; 0: one per available core.
    pub workers: usize,
    /// Each camera's budget unless its setup says otherwise.
    pub budget: CameraBudget,
    /// Where event snapshots go (`<camera>/<date>/<time>.jpg` below it).
    pub snapshot_dir: PathBuf,
}

impl PipelineConfig {
    pub fn new(snapshot_dir: PathBuf) -> PipelineConfig {
        PipelineConfig { workers: 0, budget: CameraBudget::default(), snapshot_dir }
    }
}

/// Where each vehicle track's plate goes. Called on an analysis worker:
/// it must hand the read on and return, never wait for storage.
pub trait PlateSink: Send + Sync {
    /// `crop` is the plate crop's JPEG, relative to the snapshot directory
    /// (`None` if it could not be saved).
    fn plate_read(&self, camera: &str, plate: &TrackPlate, crop: Option<&str>);
}

/// Plate reading in the pipeline: one reader shared by the workers (each
/// read runs on the worker analysing the camera), each camera's budget,
/// and where the reads go.
pub struct PlateStage {
    pub reader: Arc<PlateReader>,
    pub budget: PlateBudget,
    pub sink: Arc<dyn PlateSink>,
}

/// How much of the machine one camera may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraBudget {
    /// Pictures analysed per second at most.
    pub fps: f64,
    /// Encoded frames that may wait; past this the queue is cut back to
    /// its newest key frame.
    pub max_backlog: usize,
}

impl Default for CameraBudget {
    fn default() -> Self {
        // About 3 s of a 15 fps sub-stream.
        CameraBudget { fps: DEFAULT_ANALYSIS_FPS, max_backlog: 45 }
    }
}

/// Counters of one camera, as `/metrics` shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CameraMetrics {
    pub camera: String,
    /// Pictures that went through motion (and detection when it moved).
    pub analysed: u64,
    /// Pictures due for analysis that a newer one replaced, plus frames
    /// dropped from a backlog or while waiting for a key frame.
    pub skipped: u64,
    pub decoded: u64,
    pub detections_run: u64,
    pub decode_errors: u64,
    pub events: u64,
    /// Events the events service refused (busy or closed).
    pub events_refused: u64,
    /// From a frame's arrival to the end of its analysis, last analysed picture.
    pub lag_ms: u64,
    /// Plate OCR runs (plate detection in a vehicle box and recognition).
    pub plate_ocr_runs: u64,
    pub plate_ocr_ms: u64,
    /// Plate reads due but not run for lack of the camera's budget.
    pub plate_reads_skipped: u64,
    /// Vehicle tracks' voted plates handed on (one per track at most).
    pub plate_reads: u64,
}

/// Every camera's counters; what the API's `/metrics` renders.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PipelineMetrics {
    pub workers: usize,
    pub cameras: Vec<CameraMetrics>,
}

/// A metric family: name, kind, help, and its value per camera.
type Series = (&'static str, &'static str, &'static str, fn(&CameraMetrics) -> u64);

impl PipelineMetrics {
    /// Prometheus text format.
    pub fn prometheus_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP citywatch_analytics_workers Analysis worker threads.\n# TYPE citywatch_analytics_workers gauge\ncitywatch_analytics_workers {}",
            self.workers
        );
        let series: [Series; 12] = [
            ("analysed_frames_total", "counter", "Pictures analysed (motion, and detection when something moved).", |c| c.analysed),
            ("skipped_frames_total", "counter", "Frames not analysed because the camera's newer frames were (load shedding).", |c| c.skipped),
            ("decoded_frames_total", "counter", "Sub-stream frames decoded.", |c| c.decoded),
            ("detections_total", "counter", "Object detection runs.", |c| c.detections_run),
            ("decode_errors_total", "counter", "Frames the decoder refused (it resumes at the next key frame).", |c| c.decode_errors),
            ("events_total", "counter", "Events raised by analytics.", |c| c.events),
            ("events_refused_total", "counter", "Events the events service refused.", |c| c.events_refused),
            ("lag_ms", "gauge", "From a frame's arrival to the end of its analysis, latest picture.", |c| c.lag_ms),
            ("plate_ocr_runs_total", "counter", "Plate OCR runs (plate detection in a vehicle box, then recognition).", |c| c.plate_ocr_runs),
            ("plate_ocr_ms_total", "counter", "Milliseconds spent in plate OCR.", |c| c.plate_ocr_ms),
            ("plate_reads_skipped_total", "counter", "Plate reads due but skipped for lack of the camera's budget (load shedding).", |c| c.plate_reads_skipped),
            ("plate_reads_total", "counter", "Vehicle tracks' voted plate reads handed on (one per track at most).", |c| c.plate_reads),
        ];
        for (name, kind, help, get) in series {
            let _ = writeln!(out, "# HELP citywatch_analytics_{name} {help}\n# TYPE citywatch_analytics_{name} {kind}");
            for c in &self.cameras {
                let _ = writeln!(out, "citywatch_analytics_{name}{{camera=\"{}\"}} {}", c.camera.replace(['\\', '"', '\n'], "_"), get(c));
            }
        }
        out
    }
}

#[derive(Default)]
struct Counters {
    analysed: AtomicU64,
    skipped: AtomicU64,
    decoded: AtomicU64,
    detections_run: AtomicU64,
    decode_errors: AtomicU64,
    events: AtomicU64,
    events_refused: AtomicU64,
    lag_ms: AtomicU64,
    plate_ocr_runs: AtomicU64,
    plate_ocr_ms: AtomicU64,
    plate_reads_skipped: AtomicU64,
    plate_reads: AtomicU64,
}

struct Queue {
    frames: VecDeque<(Frame, Instant)>,
    /// The stream restarted or frames were dropped: the decoder must reset.
    reset: bool,
    /// Dropping until a key frame (the backlog had none to keep).
    awaiting_key: bool,
    /// A worker has this camera (running or in the ready line).
    scheduled: bool,
    closed: bool,
}

struct CameraState {
    decoder: StreamDecoder,
    analysis: CameraAnalysis,
    snapshots: u64,
    /// With a plate stage: the camera's vehicle tracks' plate reads.
    plates: Option<PlateTracks>,
}

struct Camera {
    id: String,
    budget: CameraBudget,
    queue: Mutex<Queue>,
    state: Mutex<CameraState>,
    counters: Counters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Shared {
    ready: Mutex<VecDeque<Arc<Camera>>>,
    wake: Condvar,
    stop: AtomicBool,
    cameras: Mutex<HashMap<String, Arc<Camera>>>,
    detector: Option<Arc<Detector>>,
    plates: Option<PlateStage>,
    events: Arc<dyn EventSink>,
    snapshot_dir: PathBuf,
    workers: usize,
}

/// The running pipeline; dropping it stops the workers.
pub struct Pipeline {
    shared: Arc<Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
    budget: CameraBudget,
}

/// Where one camera's frames go in.
#[derive(Clone)]
pub struct CameraFeed {
    camera: Arc<Camera>,
    shared: Arc<Shared>,
}

impl Pipeline {
    /// Starts the workers. Without a detector the pipeline does motion only.
    pub fn start(config: PipelineConfig, detector: Option<Arc<Detector>>, events: Arc<dyn EventSink>) -> Pipeline {
        Pipeline::start_with_plates(config, detector, None, events)
    }

    /// [`start`](Self::start), also reading vehicles' plates when given a
    /// stage (plates need tracks, so a detector too).
    pub fn start_with_plates(config: PipelineConfig, detector: Option<Arc<Detector>>, plates: Option<PlateStage>, events: Arc<dyn EventSink>) -> Pipeline {
        let workers = if config.workers == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { config.workers };
        let shared = Arc::new(Shared {
            ready: Mutex::default(),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            cameras: Mutex::default(),
            detector,
            plates,
            events,
            snapshot_dir: config.snapshot_dir,
            workers,
        });
        let threads = (0..workers)
            .map(|i| {
                let shared = shared.clone();
                std::thread::Builder::new().name(format!("analytics-{i}")).spawn(move || work(&shared)).expect("spawning an analytics worker")
            })
            .collect();
        Pipeline { shared, threads, budget: config.budget }
    }

    /// Adds a camera (or replaces its rules and budget, restarting its analysis).
    pub fn add_camera(&self, camera: &str, rules: &CameraRules, budget: Option<CameraBudget>) -> CameraFeed {
        let budget = budget.unwrap_or(self.budget);
        let cam = Arc::new(Camera {
            id: camera.to_owned(),
            budget,
            queue: Mutex::new(Queue { frames: VecDeque::new(), reset: false, awaiting_key: false, scheduled: false, closed: false }),
            state: Mutex::new(CameraState {
                decoder: StreamDecoder::new(budget.fps),
                analysis: CameraAnalysis::new(rules),
                snapshots: 0,
                plates: self.shared.plates.as_ref().map(|p| PlateTracks::new(p.budget, budget.fps)),
            }),
            counters: Counters::default(),
        });
        if let Some(old) = lock(&self.shared.cameras).insert(camera.to_owned(), cam.clone()) {
            lock(&old.queue).closed = true;
            self.finish_plates(old);
        }
        CameraFeed { camera: cam, shared: self.shared.clone() }
    }

    /// Stops analysing a camera; frames already queued are dropped.
    pub fn remove_camera(&self, camera: &str) {
        if let Some(old) = lock(&self.shared.cameras).remove(camera) {
            {
                let mut q = lock(&old.queue);
                q.closed = true;
                q.frames.clear();
            }
            self.finish_plates(old);
        }
    }

    /// A camera's analysis stops: the plates its live tracks were read
    /// with are still handed on. On a thread of its own, because a worker
    /// may be in the middle of the camera's last batch.
    fn finish_plates(&self, camera: Arc<Camera>) {
        let shared = self.shared.clone();
        if shared.plates.is_none() {
            return;
        }
        let id = camera.id.clone();
        let spawned = std::thread::Builder::new().name("analytics-plates-end".into()).spawn(move || {
            let Some(stage) = &shared.plates else { return };
            // Held throughout, so whoever sees the tracks gone sees their plates handed on.
            let mut state = lock(&camera.state);
            for plate in state.plates.as_mut().map(PlateTracks::finish).unwrap_or_default() {
                hand_on(&shared, stage, &camera, plate);
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("analytics: camera {id}: its tracks' last plate reads are lost: {e}");
        }
    }

    pub fn metrics(&self) -> PipelineMetrics {
        let mut cameras: Vec<CameraMetrics> = lock(&self.shared.cameras).values().map(|c| c.metrics()).collect();
        cameras.sort_by(|a, b| a.camera.cmp(&b.camera));
        PipelineMetrics { workers: self.shared.workers, cameras }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Camera {
    fn metrics(&self) -> CameraMetrics {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CameraMetrics {
            camera: self.id.clone(),
            analysed: get(&c.analysed),
            skipped: get(&c.skipped),
            decoded: get(&c.decoded),
            detections_run: get(&c.detections_run),
            decode_errors: get(&c.decode_errors),
            events: get(&c.events),
            events_refused: get(&c.events_refused),
            lag_ms: get(&c.lag_ms),
            plate_ocr_runs: get(&c.plate_ocr_runs),
            plate_ocr_ms: get(&c.plate_ocr_ms),
            plate_reads_skipped: get(&c.plate_reads_skipped),
            plate_reads: get(&c.plate_reads),
        }
    }
}

impl CameraFeed {
    pub fn camera(&self) -> &str {
        &self.camera.id
    }

    /// Queues a frame that arrived at `arrived`. Never blocks on analysis.
    pub fn push(&self, frame: Frame, arrived: Instant) {
        let mut q = lock(&self.camera.queue);
        if q.closed {
            return;
        }
        if q.awaiting_key {
            if !frame.is_key {
                self.camera.counters.skipped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            q.awaiting_key = false;
        }
        q.frames.push_back((frame, arrived));
        if q.frames.len() > self.camera.budget.max_backlog.max(1) {
            let (dropped, awaiting_key) = cut_backlog(&mut q.frames);
            q.awaiting_key = awaiting_key;
            q.reset = true;
            self.camera.counters.skipped.fetch_add(dropped as u64, Ordering::Relaxed);
        }
        self.schedule(q);
    }

    /// The stream restarted (a new camera session) or frames were lost:
    /// decoding resumes at the next key frame.
    pub fn restart(&self) {
        let mut q = lock(&self.camera.queue);
        let n = q.frames.len() as u64;
        q.frames.clear();
        q.reset = true;
        self.camera.counters.skipped.fetch_add(n, Ordering::Relaxed);
    }

    pub fn metrics(&self) -> CameraMetrics {
        self.camera.metrics()
    }

    fn schedule(&self, mut q: MutexGuard<'_, Queue>) {
        if !q.scheduled && !q.frames.is_empty() {
            q.scheduled = true;
            drop(q);
            lock(&self.shared.ready).push_back(self.camera.clone());
            self.shared.wake.notify_one();
        }
    }
}

/// Decoding is behind: keeps the frames from the newest key frame on, or
/// none (then decoding waits for the next key frame: `true`). Returns how
/// many were dropped.
fn cut_backlog(frames: &mut VecDeque<(Frame, Instant)>) -> (usize, bool) {
    match frames.iter().rposition(|(f, _)| f.is_key) {
        Some(k) if k > 0 => {
            frames.drain(..k);
            (k, false)
        }
        // No key frame, or a GOP longer than the backlog: nothing decodable to keep.
        _ => {
            let n = frames.len();
            frames.clear();
            (n, true)
        }
    }
}

fn work(shared: &Shared) {
    loop {
        let camera = {
            let mut ready = lock(&shared.ready);
            loop {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                if let Some(c) = ready.pop_front() {
                    break c;
                }
                ready = shared.wake.wait(ready).unwrap_or_else(|p| p.into_inner());
            }
        };
        let (batch, reset) = {
            let mut q = lock(&camera.queue);
            (std::mem::take(&mut q.frames), std::mem::take(&mut q.reset))
        };
        run_batch(shared, &camera, batch, reset);
        // Back of the line if more came meanwhile; else unscheduled.
        let mut q = lock(&camera.queue);
        if q.frames.is_empty() || q.closed {
            q.scheduled = false;
        } else {
            drop(q);
            lock(&shared.ready).push_back(camera.clone());
            shared.wake.notify_one();
        }
    }
}

fn run_batch(shared: &Shared, camera: &Camera, batch: VecDeque<(Frame, Instant)>, reset: bool) {
    let mut state = lock(&camera.state);
    let state = &mut *state;
    if reset {
        state.decoder.reset();
    }
    let before = state.decoder.stats();
    let mut newest: Option<(Picture, Instant)> = None;
    for (frame, arrived) in &batch {
        match state.decoder.decode(frame) {
            Ok(Some(p)) => {
                if newest.replace((p, *arrived)).is_some() {
                    camera.counters.skipped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("analytics: camera {}: {e}", camera.id),
        }
    }
    let after = state.decoder.stats();
    let c = &camera.counters;
    c.decoded.fetch_add(after.decoded - before.decoded, Ordering::Relaxed);
    c.decode_errors.fetch_add(after.errors - before.errors, Ordering::Relaxed);
    c.skipped.fetch_add(after.waiting_for_key - before.waiting_for_key, Ordering::Relaxed);
    let Some((picture, arrived)) = newest else { return };
    let (outcome, error) = state.analysis.analyse(&picture, shared.detector.as_deref());
    if let Some(e) = error {
        tracing::warn!("analytics: camera {}: detection failed: {e}", camera.id);
    }
    c.analysed.fetch_add(1, Ordering::Relaxed);
    if outcome.detected {
        c.detections_run.fetch_add(1, Ordering::Relaxed);
        if let (Some(stage), Some(tracks)) = (&shared.plates, state.plates.as_mut()) {
            read_plates(shared, stage, camera, tracks, &picture.rgb, arrived, &outcome);
        }
    }
    if !outcome.findings.is_empty() {
        raise(shared, camera, state, &picture, arrived, outcome);
    }
    c.lag_ms.store(arrived.elapsed().as_millis() as u64, Ordering::Relaxed);
}

/// Reads the plates due on this picture and hands on the tracks' plates
/// decided now, each with its crop saved.
fn read_plates(shared: &Shared, stage: &PlateStage, camera: &Camera, tracks: &mut PlateTracks, rgb: &RgbImage, arrived: Instant, outcome: &Outcome) {
    let time = picture_time(arrived);
    let step = tracks.update(&stage.reader, rgb, time, &outcome.tracks, &outcome.ended);
    let c = &camera.counters;
    c.plate_ocr_runs.fetch_add(step.ocr_runs, Ordering::Relaxed);
    c.plate_ocr_ms.fetch_add(step.ocr_ms, Ordering::Relaxed);
    c.plate_reads_skipped.fetch_add(step.skipped, Ordering::Relaxed);
    for e in &step.errors {
        tracing::warn!("analytics: camera {}: reading a plate: {e}", camera.id);
    }
    for plate in step.plates {
        hand_on(shared, stage, camera, plate);
    }
}

/// Saves a track's plate crop and hands the plate to the sink.
fn hand_on(shared: &Shared, stage: &PlateStage, camera: &Camera, plate: TrackPlate) {
    let name = format!("plate-t{}", plate.track);
    let crop = match save_jpeg(&shared.snapshot_dir, &camera.id, plate.time, &name, &plate.crop) {
        Ok(rel) => Some(rel),
        Err(e) => {
            tracing::warn!("analytics: camera {}: saving a plate crop: {e}", camera.id);
            None
        }
    };
    stage.sink.plate_read(&camera.id, &plate, crop.as_deref());
    camera.counters.plate_reads.fetch_add(1, Ordering::Relaxed);
}

/// When the picture was taken, as near as the pipeline knows: its frame's arrival.
fn picture_time(arrived: Instant) -> chrono::DateTime<Utc> {
    Utc::now() - chrono::Duration::from_std(arrived.elapsed()).unwrap_or_default()
}

/// Saves the snapshot and raises one event per finding.
fn raise(shared: &Shared, camera: &Camera, state: &mut CameraState, picture: &Picture, arrived: Instant, outcome: Outcome) {
    let time = picture_time(arrived);
    state.snapshots += 1;
    let snapshot = match save_jpeg(&shared.snapshot_dir, &camera.id, time, &state.snapshots.to_string(), &picture.rgb) {
        Ok(rel) => Some(rel),
        Err(e) => {
            tracing::warn!("analytics: camera {}: saving a snapshot: {e}", camera.id);
            None
        }
    };
    // Every person detected in the picture, so that faces too small for
    // CenterFace are looked for in their heads when the snapshot is shown
    // blurred (redact::SnapshotRedactor). Boxes of people, not of faces.
    // Written, even empty, whenever detection ran: without the key the
    // redactor has to run the detector itself.
    let persons: Vec<serde_json::Value> = outcome.persons.iter().take(crate::redact::MAX_PERSONS).map(crate::analysis::rect_json).collect();
    for f in outcome.findings {
        let mut details = f.details;
        if let (Some(obj), Some(s)) = (details.as_object_mut(), &snapshot) {
            obj.insert("snapshot".into(), s.clone().into());
            if outcome.detected {
                obj.insert("persons".into(), persons.clone().into());
            }
        }
        let e = NewEvent { event_type: f.event_type, time, source: Source::camera(camera.id.clone()), location: None, details };
        match shared.events.raise_detached(e) {
            Ok(()) => camera.counters.events.fetch_add(1, Ordering::Relaxed),
            Err(err) => {
                tracing::warn!("analytics: camera {}: raising an event: {err}", camera.id);
                camera.counters.events_refused.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// Writes a picture as JPEG (`<camera>/<date>/<time>-<name>.jpg`);
/// returns its path relative to `dir`.
/// The folder below the snapshot directory that holds `camera`'s
/// snapshots and plate crops, and nothing else: the API serves an event
/// only a file in its camera's folder.
pub fn snapshot_folder(camera: &str) -> String {
    // Camera ids are checked ids (no separators), but never trust a path part.
    camera.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

fn save_jpeg(dir: &Path, camera: &str, time: chrono::DateTime<Utc>, name: &str, img: &RgbImage) -> std::io::Result<String> {
    let rel = format!("{}/{}/{}-{name}.jpg", snapshot_folder(camera), time.format("%Y-%m-%d"), time.format("%H%M%S%.3f"));
    let path = dir.join(&rel);
    std::fs::create_dir_all(path.parent().expect("has a parent"))?;
    let tmp = path.with_extension("jpg.tmp");
    let file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    image::codecs::jpeg::JpegEncoder::new_with_quality(file, 80).encode_image(img).map_err(std::io::Error::other)?;
    std::fs::rename(&tmp, &path)?;
    Ok(rel)
}

/// Feeds a camera's sub-stream from the frame source (the live hub) into
/// the pipeline until the source goes away.
pub async fn follow_live(hub: Arc<dyn citywatch_video::frame_source::FrameSource>, feed: CameraFeed) {
    use citywatch_video::live::LiveEvent;
    use citywatch_video::recorder::Stream;
    let mut sub = hub.subscribe(feed.camera(), Stream::Sub);
    while let Some(e) = sub.next().await {
        match e {
            LiveEvent::Frame(f) => feed.push(f.frame, f.arrived),
            LiveEvent::Gap { .. } | LiveEvent::Online | LiveEvent::Offline => feed.restart(),
        }
        if lock(&feed.camera.queue).closed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tests::sim_frames;
    use citywatch_events::Events;
    use citywatch_model::EventType;
    use citywatch_store::{EventFilter, Store};
    use std::time::Duration;

    fn events() -> (tempfile::TempDir, Arc<Events>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("citywatch.db")).unwrap());
        let registry = Arc::new(citywatch_registry::Registry::load(store.clone()).unwrap());
        let events = Events::start(store, registry, citywatch_events::EventsConfig::default()).unwrap();
        (dir, events)
    }

    fn idle(feed: &CameraFeed) -> bool {
        let q = lock(&feed.camera.queue);
        !q.scheduled && q.frames.is_empty()
    }

    async fn wait_for(mut done: impl FnMut() -> bool) {
        for _ in 0..600 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn simulated_cameras_are_analysed_and_motion_raises_events_with_snapshots() {
        let (dir, events) = events();
        let frames = sim_frames(320, 180, 45);
        let pipeline = Pipeline::start(PipelineConfig { workers: 2, ..PipelineConfig::new(dir.path().join("snapshots")) }, None, events.clone());
        let feeds: Vec<CameraFeed> = ["cam-a", "cam-b", "cam-c"].iter().map(|c| pipeline.add_camera(c, &CameraRules::default(), None)).collect();
        // Frame by frame, each camera idle before the next: nothing is shed.
        for f in &frames {
            for feed in &feeds {
                feed.push(f.clone(), Instant::now());
            }
            wait_for(|| feeds.iter().all(idle)).await;
        }
        let m = pipeline.metrics();
        assert_eq!(m.workers, 2);
        for c in &m.cameras {
            // 3 s at 15 fps, analysed at 5 fps: 15 pictures.
            assert_eq!((c.decoded, c.analysed, c.skipped, c.decode_errors), (45, 15, 0, 0), "{c:?}");
            assert!(c.events >= 1, "{c:?}");
        }
        // The simulated street moves from the second picture on: one motion
        // event per camera (motion starts once), naming a JPEG snapshot.
        let motion = || events.events(&EventFilter { types: vec![EventType::Motion], limit: 100, ..EventFilter::default() }).unwrap();
        wait_for(|| motion().len() >= 3).await;
        let stored = motion();
        assert_eq!(stored.len(), 3);
        for e in &stored {
            let rel = e.details["snapshot"].as_str().expect("a snapshot");
            let img = image::open(dir.path().join("snapshots").join(rel)).unwrap();
            assert_eq!((img.width(), img.height()), (320, 180));
            assert!(e.details["fraction"].as_f64().unwrap() > 0.0);
            // No detector ran on it: no `persons`, so the blur looks for persons itself.
            assert!(e.details.get("persons").is_none(), "{}", e.details);
        }
        let text = m.prometheus_text();
        assert!(text.contains("citywatch_analytics_analysed_frames_total{camera=\"cam-b\"}"), "{text}");
    }

    /// Keeps what the pipeline hands on.
    #[derive(Default)]
    struct Collected(Mutex<Vec<(String, TrackPlate, Option<String>)>>);

    impl PlateSink for Collected {
        fn plate_read(&self, camera: &str, plate: &TrackPlate, crop: Option<&str>) {
            lock(&self.0).push((camera.to_owned(), plate.clone(), crop.map(str::to_owned)));
        }
    }

    /// A simulated street at 1280×720 through NanoDet, the tracker and the
    /// plate reader: each vehicle track's plate is handed on once, with its
    /// crop saved, and tracks still alive when the camera is removed are
    /// handed on then.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn vehicle_tracks_plates_are_handed_on_once_with_their_crops() {
        let (dir, events) = events();
        let models = crate::model::test_models(crate::detect::MODEL_FILE);
        let detector = Arc::new(Detector::new(&models, 1).unwrap());
        let sink = Arc::new(Collected::default());
        // Unlimited time, so which reads run does not depend on this machine's speed.
        let budget = PlateBudget { ocr_share: 1e6, ..PlateBudget::default() };
        let mut reader = PlateReader::new(&models, 1).unwrap();
        reader.layouts = crate::plates::Layouts::for_regions(&citywatch_sim::plates::REGIONS).unwrap();
        let stage = PlateStage { reader: Arc::new(reader), budget, sink: sink.clone() };
        let snapshots = dir.path().join("snapshots");
        let pipeline =
            Pipeline::start_with_plates(PipelineConfig { workers: 1, ..PipelineConfig::new(snapshots.clone()) }, Some(detector), Some(stage), events.clone());
        let feed = pipeline.add_camera("cam-a", &CameraRules::default(), None);
        for f in &sim_frames(1280, 720, 90) {
            feed.push(f.clone(), Instant::now());
            wait_for(|| idle(&feed)).await;
        }
        pipeline.remove_camera("cam-a");
        wait_for(|| lock(&feed.camera.state).plates.as_ref().is_some_and(PlateTracks::is_empty)).await;
        let got = lock(&sink.0).clone();
        let m_after = feed.metrics();
        println!("{m_after:?}");
        assert_eq!(got.len() as u64, m_after.plate_reads);
        for (camera, p, crop) in &got {
            println!("track {} {} {:?} ({} of {} reads, {:.2})", p.track, p.class, p.text, p.agreeing, p.reads, p.confidence);
            assert_eq!(camera, "cam-a");
            assert!(["car", "motorcycle", "bus", "truck"].contains(&p.class), "{p:?}");
            let img = image::open(snapshots.join(crop.as_ref().expect("a crop"))).unwrap();
            assert_eq!((img.width(), img.height()), p.crop.dimensions());
        }
        let mut tracks: Vec<u64> = got.iter().map(|(_, p, _)| p.track).collect();
        tracks.sort_unstable();
        tracks.dedup();
        assert_eq!(tracks.len(), got.len(), "one plate per track: {tracks:?}");
        // Within the repeat window, one plate per vehicle however many tracks it made.
        let mut texts: Vec<&str> = got.iter().map(|(_, p, _)| p.text.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), got.len(), "{texts:?}");
        assert!(m_after.plate_ocr_runs >= got.len() as u64, "{m_after:?}");
        // Scene 0 of seed 7 shows two cars with whole plates in these 6 s: at least one is read as printed.
        let scene = citywatch_sim::scene::Scene::new(0, 7, 90);
        let shown: std::collections::BTreeSet<String> =
            (0..90).flat_map(|f| citywatch_sim::render::frame_truth(&scene, f, 1280, 720).objects).filter_map(|o| o.plate.map(|p| p.text)).collect();
        assert!(got.iter().any(|(_, p, _)| shown.contains(&p.text)), "{shown:?}");
        // A new person's event lists every person in its snapshot, its own box among them (for the blur's BlazeFace).
        let objects = events.events(&EventFilter { types: vec![EventType::Object], limit: 1000, ..EventFilter::default() }).unwrap();
        let people: Vec<_> = objects.iter().filter(|e| e.details["class"] == "person").collect();
        assert!(!people.is_empty(), "the scene has pedestrians");
        for e in people {
            let persons = e.details["persons"].as_array().unwrap_or_else(|| panic!("{}", e.details));
            assert!(persons.contains(&e.details["box"]), "{}", e.details);
        }
        // Every event of a picture detection ran on carries `persons`, so its blur trusts them.
        assert!(objects.iter().all(|e| e.details["persons"].is_array()), "an event without persons");
    }

    #[test]
    fn a_backlog_is_cut_to_its_newest_key_frame_or_emptied() {
        let frames = sim_frames(160, 96, 35);
        let mut q: VecDeque<(Frame, Instant)> = frames[1..35].iter().map(|f| (f.clone(), Instant::now())).collect();
        // Key frames at 15 and 30: keep 30..35.
        assert_eq!(cut_backlog(&mut q), (29, false));
        assert_eq!(q.iter().map(|(f, _)| f.timestamp_90k / 6000).collect::<Vec<_>>(), [30, 31, 32, 33, 34]);
        // Only the key frame at the front: nothing decodable to drop to.
        let mut q: VecDeque<(Frame, Instant)> = frames[15..30].iter().map(|f| (f.clone(), Instant::now())).collect();
        assert_eq!(cut_backlog(&mut q), (15, true));
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn a_stalled_camera_sheds_frames_and_resumes_at_a_key_frame() {
        let (dir, events) = events();
        let frames = sim_frames(160, 96, 60);
        let pipeline = Pipeline::start(PipelineConfig { workers: 1, ..PipelineConfig::new(dir.path().into()) }, None, events);
        let feed = pipeline.add_camera("cam-a", &CameraRules::default(), Some(CameraBudget { fps: 5.0, max_backlog: 20 }));
        // Hold the camera so its worker stalls, as under heavy load.
        let guard = lock(&feed.camera.state);
        for f in &frames {
            feed.push(f.clone(), Instant::now());
        }
        assert!(lock(&feed.camera.queue).frames.len() <= 20);
        drop(guard);
        wait_for(|| {
            let m = feed.metrics();
            m.decoded + m.skipped >= 60 && m.analysed > 0
        })
        .await;
        let m = feed.metrics();
        assert!(m.skipped >= 30, "{m:?}");
        assert!(m.decoded >= 1 && m.decode_errors == 0, "{m:?}");
    }
}
