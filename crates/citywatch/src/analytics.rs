//! Runs the analysis pipeline when `[analytics] enabled`: one feed per
//! analysed camera's sub-stream, read from the live hub the recorders
//! publish into, kept in step with the registry (cameras added, tagged,
//! disabled or deleted start or stop within seconds; the loop is
//! `citywatch_node::analytics_feeds`, which a recorder node runs). Its counters join
//! `/metrics`. With `[plates] enabled`, vehicles' plates are read too and
//! each track's voted read goes through the hotlists' `PlateReads`
//! (`plate_read`, `hotlist_hit` and the alerts the rules make of them).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context;
use citywatch_analytics::analysis::CameraRules;
use citywatch_analytics::pipeline::{CameraBudget, Pipeline, PipelineConfig, PlateSink, PlateStage};
use citywatch_analytics::plates::{PlateBudget, PlateReader, TrackPlate};
use citywatch_analytics::redact::{PersonBoxes, SnapshotRedactor};
use citywatch_analytics::{model_dir, Detector};
use citywatch_api::{AppState, Redactor, Snapshots};
use citywatch_events::Events;
use citywatch_hotlists::{PlateReads, ReadInput};
use citywatch_node::analytics_feeds::keep_feeds;
use citywatch_registry::Registry;
use citywatch_video::frame_source::FrameSource;

use crate::config::{Analytics, Plates};

/// Starts the pipeline and the task that feeds it; call on the runtime.
pub fn start(
    data: &Path,
    config: &Analytics,
    plates: &Plates,
    registry: Arc<Registry>,
    live: Arc<dyn FrameSource>,
    events: Arc<Events>,
    state: &AppState,
) -> anyhow::Result<()> {
    let rules: HashMap<String, CameraRules> = if config.rules_file.is_empty() {
        HashMap::new()
    } else {
        let path = data.join(&config.rules_file);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading analytics.rules_file {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("analytics.rules_file {}: not camera id → {{zones, lines, motion_mask}}", path.display()))?
    };
    let detector = if config.detect {
        let dir = model_dir(Some(PathBuf::from(&config.models_dir)).filter(|_| !config.models_dir.is_empty()).as_deref());
        // Each worker runs one detection on one core; the pool gives the parallelism.
        match dir.map_err(anyhow::Error::from).and_then(|d| Detector::new(&d, 1).map_err(anyhow::Error::from)) {
            Ok(d) => Some(Arc::new(d)),
            Err(e) => {
                tracing::warn!("analytics: no object detection, motion only: {e:#}");
                None
            }
        }
    } else {
        None
    };
    let snapshot_dir = data.join("analytics").join("snapshots");
    state.set_snapshots(Snapshots { dir: snapshot_dir.clone(), redactor: face_redactor(config, detector.clone()) });
    let pipeline_config = PipelineConfig { workers: config.workers, budget: CameraBudget { fps: config.fps, ..CameraBudget::default() }, snapshot_dir };
    let plate_stage = if plates.enabled { plate_stage(config, plates, detector.is_some(), state.plates().clone()) } else { None };
    let pipeline = Arc::new(Pipeline::start_with_plates(pipeline_config, detector, plate_stage, events));
    let p = pipeline.clone();
    state.add_metrics_source(Arc::new(move || p.metrics().prometheus_text()));
    let p = pipeline.clone();
    state.set_analytics_health(Arc::new(move || {
        p.metrics()
            .cameras
            .into_iter()
            .map(|c| citywatch_api::AnalyticsCamera { camera: c.camera, lag_ms: c.lag_ms, skipped: c.skipped, analysed: c.analysed })
            .collect()
    }));
    let tag = Some(config.tag.clone()).filter(|t| !t.is_empty());
    tokio::spawn(keep_feeds(pipeline, registry, live, tag, rules));
    Ok(())
}

/// The plate reader and where its reads go; `None` (with a warning) when
/// plates cannot be read, so the rest of analytics still runs.
fn plate_stage(config: &Analytics, plates: &Plates, detecting: bool, reads: Arc<PlateReads>) -> Option<PlateStage> {
    if !detecting {
        tracing::warn!("[plates] enabled but analytics has no object detection: plates are read in vehicles' boxes, so none are read");
        return None;
    }
    let dir = model_dir(Some(PathBuf::from(&config.models_dir)).filter(|_| !config.models_dir.is_empty()).as_deref());
    // One thread per read, like detection: the worker pool gives the parallelism.
    let reader = dir.map_err(anyhow::Error::from).and_then(|d| PlateReader::new(&d, 1).map_err(anyhow::Error::from)).and_then(|mut reader| {
        reader.layouts = plates.layouts()?;
        Ok(reader)
    });
    match reader {
        Ok(reader) => {
            let budget = PlateBudget {
                min_vehicle_width: plates.min_vehicle_width_px,
                max_reads_per_track: plates.reads_per_track,
                ocr_share: plates.ocr_share,
                ..PlateBudget::default()
            };
            let sink = HotlistSink { reads, runtime: tokio::runtime::Handle::current(), pending: Arc::new(AtomicUsize::new(0)) };
            tracing::info!(
                "analytics: reading plates of {} (vehicles at least {} px wide, {} reads a track at most)",
                reader.layouts.codes().join(", "),
                budget.min_vehicle_width,
                budget.max_reads_per_track
            );
            Some(PlateStage { reader: Arc::new(reader), budget, sink: Arc::new(sink) })
        }
        Err(e) => {
            tracing::warn!("analytics: no plate reading: {e:#}");
            None
        }
    }
}

/// Reads waiting for the store at most; past it a read is dropped (and
/// logged) rather than letting a stalled store pile them up in memory.
const MAX_PENDING_READS: usize = 256;

/// Hands each track's plate to [`PlateReads::record`] on the runtime, so
/// the analysis worker never waits for the store.
struct HotlistSink {
    reads: Arc<PlateReads>,
    runtime: tokio::runtime::Handle,
    pending: Arc<AtomicUsize>,
}

impl PlateSink for HotlistSink {
    fn plate_read(&self, camera: &str, plate: &TrackPlate, crop: Option<&str>) {
        if self.pending.fetch_add(1, Ordering::SeqCst) >= MAX_PENDING_READS {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!("analytics: camera {camera}: plate read {} dropped, {MAX_PENDING_READS} reads already wait for the store", plate.text);
            return;
        }
        let (input, details) = read_input(camera, plate, crop);
        let (reads, pending, camera) = (self.reads.clone(), self.pending.clone(), camera.to_owned());
        self.runtime.spawn(async move {
            if let Err(e) = reads.record_with(input, details).await {
                tracing::warn!("analytics: camera {camera}: recording a plate read: {e}");
            }
            pending.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// A track's plate as the hotlists take it, and the details its events
/// carry beside the read: boxes, vehicle class, and the crop as the
/// event's `snapshot` (so the API serves it as a plate-bearing snapshot,
/// with purpose and case_ref, audited).
fn read_input(camera: &str, plate: &TrackPlate, crop: Option<&str>) -> (ReadInput, serde_json::Map<String, serde_json::Value>) {
    let r3 = |v: f32| (f64::from(v) * 1000.0).round() / 1000.0;
    let rect = |r: &citywatch_analytics::zones::Rect| serde_json::json!([r3(r.x0), r3(r.y0), r3(r.x1), r3(r.y1)]);
    let input = ReadInput {
        camera_id: camera.to_owned(),
        time: plate.time,
        plate: plate.text.clone(),
        confidence: plate.confidence.clamp(0.0, 1.0),
        location: None,
        track_id: i64::try_from(plate.track).ok(),
        crop_ref: crop.map(str::to_owned),
    };
    let mut details = serde_json::Map::new();
    details.insert("class".into(), plate.class.into());
    details.insert("box".into(), rect(&plate.vehicle_box));
    details.insert("plate_box".into(), rect(&plate.plate_box));
    details.insert("reads".into(), plate.reads.into());
    details.insert("agreeing_reads".into(), plate.agreeing.into());
    if let Some(c) = plate.country {
        details.insert("country".into(), c.into());
    }
    if let Some(c) = crop {
        details.insert("snapshot".into(), c.into());
    }
    (input, details)
}

/// Blurs faces in snapshots served to callers without an unmask grant
/// (CenterFace, and BlazeFace on the event's person boxes, or on the
/// persons NanoDet finds where no detector ran on the picture: the
/// pipeline's `detector` when it has one, else one loaded here). Without
/// the face models, snapshots are refused to them instead (the API's
/// rule), never shown unblurred.
fn face_redactor(config: &Analytics, detector: Option<Arc<Detector>>) -> Option<Redactor> {
    let dir = model_dir(Some(PathBuf::from(&config.models_dir)).filter(|_| !config.models_dir.is_empty()).as_deref());
    // Snapshots are sub-stream pictures; other sizes are stretched to this.
    // One thread per model, like the pipeline: the blur runs on the blocking pool.
    let load = |d: PathBuf| match detector {
        Some(shared) => SnapshotRedactor::sharing(shared, &d, 640, 360, 1),
        None => SnapshotRedactor::new(&d, 640, 360, 1),
    };
    match dir.map_err(anyhow::Error::from).and_then(|d| load(d).map_err(anyhow::Error::from)) {
        Ok(redactor) => Some(Arc::new(move |jpeg: &[u8], persons: &PersonBoxes| redactor.blur_jpeg(jpeg, persons).map_err(|e| e.to_string()))),
        Err(e) => {
            tracing::warn!("analytics: no face blurring ({e:#}); snapshots are shown only to holders of an unmask grant");
            None
        }
    }
}
