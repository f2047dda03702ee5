use std::ops::Deref;
use std::sync::Arc;

use citywatch_access::AccessRepo;
use citywatch_audit::{AuditLog, UserRepo};
use citywatch_registry::Registry;
use serde_json::Value;

use crate::login_throttle::LoginThrottle;
use crate::session_ends::SessionEnds;

/// What the console needs to draw its map.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConsoleSettings {
    /// A MapLibre style URL of the city's own tile server; `None` draws the
    /// offline base layer from `/api/v1/basemap`.
    pub style_url: Option<String>,
    /// [lon, lat]
    pub center: [f64; 2],
    pub zoom: f64,
}

/// Everything the API serves from, made by the binary (or a test).
pub struct AppParts {
    /// Users, grants and sessions (SQLite's `Store`, or PostgreSQL).
    pub users: Arc<dyn UserRepo>,
    pub registry: Arc<Registry>,
    /// Unmask grants and legal holds (SQLite's `Store`, or PostgreSQL).
    pub access: Arc<dyn AccessRepo>,
    pub audit: Arc<AuditLog>,
    pub console: ConsoleSettings,
    /// Streets etc. for the offline base layer (the demo city ships one).
    pub basemap: Option<Value>,
    pub session_ttl: chrono::Duration,
    /// The recording index (SQLite's `Store`, or PostgreSQL): totals and
    /// first recordings for the health wall and `/metrics`, and each
    /// camera's retention limits.
    pub recording_index: Arc<dyn citywatch_video::RecordingRepo>,
    /// What playback reads: the recording index and the sample files.
    pub recordings: Arc<dyn citywatch_video::recording_source::RecordingSource>,
    /// The local directory of sample files, whose disk the health wall
    /// reports (free space, time to full) to metrics readers.
    pub video_dir: std::path::PathBuf,
    /// Ingest and retention health, for `/cameras/{id}/health` and `/metrics`.
    pub health: Arc<citywatch_video::health::HealthRegistry>,
    /// A bearer token that may read `/metrics` without a session (for a
    /// Prometheus scraper); `None`: sessions only.
    pub metrics_token: Option<String>,
    /// Live frames of every camera stream, fed by the recorders, read by
    /// `/api/v1/live` viewers (directly, or blurred by `live_redacted`).
    pub live: Arc<dyn citywatch_video::frame_source::FrameSource>,
    /// Events, rules and alerts (ingest, bus, rules engine, publishers).
    pub events: Arc<citywatch_events::Events>,
    /// Units, AVL, incidents and recommendation, over the same store.
    pub dispatch: Arc<citywatch_dispatch::Dispatch>,
    /// Plate reads: storing them, hotlist hits, search and purge (the
    /// analytics pipeline records into the same service).
    pub plates: Arc<citywatch_hotlists::PlateReads>,
}

pub struct Inner {
    parts: AppParts,
    pub(crate) login_throttle: LoginThrottle,
    /// Wakes open WebSockets to check their session when sessions end.
    pub(crate) session_ends: SessionEnds,
    /// More `/metrics` text from parts the binary starts (analytics), so
    /// the API needs no dependency on them.
    pub(crate) metrics_sources: std::sync::Mutex<Vec<MetricsSource>>,
    /// Event snapshots and the face blurring applied when serving them (set
    /// by the binary when analytics runs).
    pub(crate) snapshots: std::sync::OnceLock<crate::snapshots::Snapshots>,
    /// Live video with faces blurred, for viewers without an unmask grant.
    pub(crate) blurred_live: Arc<crate::live_redacted::BlurredLive>,
    /// How often open live sockets re-check session and grants, in ms.
    pub(crate) live_recheck_ms: std::sync::atomic::AtomicU64,
    /// Row caps of camera and hotlist imports.
    pub(crate) import_limits: std::sync::Mutex<ImportLimitsFor>,
    /// Refusals (and audit page reads) repeated within a window, counted
    /// into one audit entry instead of one each.
    pub(crate) repeats: crate::repeats::Repeats,
    /// Each analysed camera's lag and skipped pictures, for the health
    /// wall (set by the binary when analytics runs).
    pub(crate) analytics_health: std::sync::OnceLock<crate::health_wall::AnalyticsSource>,
}

/// The row caps of each import (`[import]` in citywatch.toml).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ImportLimitsFor {
    pub cameras: citywatch_model::ImportLimits,
    pub hotlists: citywatch_model::ImportLimits,
}

/// Gives Prometheus text for `/metrics`.
pub type MetricsSource = Arc<dyn Fn() -> String + Send + Sync>;

impl Deref for Inner {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.parts
    }
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(parts: AppParts) -> AppState {
        let blurred_live = Arc::new(crate::live_redacted::BlurredLive::new(parts.live.clone()));
        AppState(Arc::new(Inner {
            parts,
            login_throttle: LoginThrottle::default(),
            session_ends: SessionEnds::default(),
            metrics_sources: Default::default(),
            snapshots: Default::default(),
            blurred_live,
            live_recheck_ms: (crate::live::RECHECK.as_millis() as u64).into(),
            import_limits: Default::default(),
            repeats: Default::default(),
            analytics_health: Default::default(),
        }))
    }

    /// Where event snapshots are and how faces in them are blurred for
    /// callers without an unmask grant; set once (later calls are ignored).
    pub fn set_snapshots(&self, snapshots: crate::snapshots::Snapshots) {
        let _ = self.snapshots.set(snapshots);
    }

    /// How live video is blurred for viewers without an unmask grant; set
    /// once (later calls are ignored). Until then, and without a face
    /// model, those viewers are refused live video.
    pub fn set_live_redaction(&self, redaction: crate::live_redacted::LiveRedaction) {
        self.blurred_live.configure(redaction);
    }

    /// How often sockets opened from now on re-check session and grants
    /// (default 30 s): the longest a revoked or expired grant keeps
    /// showing live video.
    pub fn set_live_recheck(&self, every: std::time::Duration) {
        self.live_recheck_ms.store(every.as_millis().max(1) as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many rows a camera import and a hotlist import may hold, and how
    /// many row problems each reports in full (defaults: 200,000 and 100).
    pub fn set_import_limits(&self, cameras: citywatch_model::ImportLimits, hotlists: citywatch_model::ImportLimits) {
        *self.import_limits.lock().unwrap_or_else(|p| p.into_inner()) = ImportLimitsFor { cameras, hotlists };
    }

    /// How long repeats of a refused request (same user, action, target and
    /// reason) are counted into one audit entry (default 60 s).
    pub fn set_repeat_window(&self, window: std::time::Duration) {
        self.repeats.set_window(window);
    }

    /// Writes the counts of repeated refusals still being counted (done by
    /// `serve` at shutdown). Blocking.
    pub fn flush_repeats(&self) -> Result<(), citywatch_audit::AuditError> {
        self.repeats.flush_all(&self.audit)
    }

    pub(crate) fn import_limits(&self) -> ImportLimitsFor {
        *self.import_limits.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn live_recheck(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.live_recheck_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Camera streams whose faces are being blurred for live viewers now.
    pub fn blurred_live_streams(&self) -> usize {
        self.blurred_live.streams()
    }

    /// Where plate reads are recorded, through the same service the routes
    /// search.
    pub fn plates(&self) -> &Arc<citywatch_hotlists::PlateReads> {
        &self.plates
    }

    pub(crate) fn snapshots(&self) -> Option<&crate::snapshots::Snapshots> {
        self.snapshots.get()
    }

    /// Adds text to every `/metrics` answer (e.g. the analytics pipeline's counters).
    pub fn add_metrics_source(&self, source: MetricsSource) {
        self.metrics_sources.lock().unwrap_or_else(|p| p.into_inner()).push(source);
    }

    /// Where the health wall reads analytics' lag and skipped pictures per
    /// camera; set once (later calls are ignored).
    pub fn set_analytics_health(&self, source: crate::health_wall::AnalyticsSource) {
        let _ = self.analytics_health.set(source);
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
