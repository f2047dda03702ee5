//! Runs the analysis pipeline when `[analytics] enabled`: one feed per
//! analysed camera's sub-stream, read from the live hub the recorders
//! publish into, kept in step with the registry (cameras added, tagged,
//! disabled or deleted start or stop within seconds). Its counters join
//! `/metrics`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use citywatch_analytics::analysis::CameraRules;
use citywatch_analytics::pipeline::{follow_live, CameraBudget, Pipeline, PipelineConfig};
use citywatch_analytics::redact::FaceFinder;
use citywatch_analytics::{model_dir, Detector};
use citywatch_api::{AppState, Redactor, Snapshots};
use citywatch_events::Events;
use citywatch_model::CameraStatus;
use citywatch_registry::Registry;
use citywatch_video::live::LiveHub;

use crate::config::Analytics;

/// Starts the pipeline and the task that feeds it; call on the runtime.
pub fn start(data: &Path, config: &Analytics, registry: Arc<Registry>, live: Arc<LiveHub>, events: Arc<Events>, state: &AppState) -> anyhow::Result<()> {
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
    state.set_snapshots(Snapshots { dir: snapshot_dir.clone(), redactor: face_redactor(config) });
    let pipeline_config = PipelineConfig {
        workers: config.workers,
        budget: CameraBudget { fps: config.fps, ..CameraBudget::default() },
        snapshot_dir,
    };
    let pipeline = Arc::new(Pipeline::start(pipeline_config, detector, events));
    let p = pipeline.clone();
    state.add_metrics_source(Arc::new(move || p.metrics().prometheus_text()));
    let tag = Some(config.tag.clone()).filter(|t| !t.is_empty());
    tokio::spawn(keep_feeds(pipeline, registry, live, tag, rules));
    Ok(())
}

/// Blurs faces in snapshots served to callers without an unmask grant.
/// Without CenterFace, snapshots are refused to them instead (the API's
/// rule), never shown unblurred.
fn face_redactor(config: &Analytics) -> Option<Redactor> {
    let dir = model_dir(Some(PathBuf::from(&config.models_dir)).filter(|_| !config.models_dir.is_empty()).as_deref());
    // Snapshots are sub-stream pictures; other sizes are stretched to this.
    match dir.map_err(anyhow::Error::from).and_then(|d| FaceFinder::new(&d, 640, 360, 1).map_err(anyhow::Error::from)) {
        Ok(finder) => Some(Arc::new(move |jpeg: &[u8]| finder.blur_jpeg(jpeg).map_err(|e| e.to_string()))),
        Err(e) => {
            tracing::warn!("analytics: no face blurring ({e:#}); snapshots are shown only to holders of an unmask grant");
            None
        }
    }
}

async fn keep_feeds(pipeline: Arc<Pipeline>, registry: Arc<Registry>, live: Arc<LiveHub>, tag: Option<String>, rules: HashMap<String, CameraRules>) {
    let mut running: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let none = CameraRules::default();
    loop {
        let snapshot = registry.snapshot();
        let wanted: Vec<String> = snapshot
            .cameras
            .values()
            .filter(|c| c.status != CameraStatus::Disabled && c.sub_url.is_some() && tag.as_ref().is_none_or(|t| c.tags.contains(t)))
            .map(|c| c.id.clone())
            .collect();
        for id in &wanted {
            if !running.contains_key(id) {
                let feed = pipeline.add_camera(id, rules.get(id).unwrap_or(&none), None);
                running.insert(id.clone(), tokio::spawn(follow_live(live.clone(), feed)));
            }
        }
        running.retain(|id, task| {
            let keep = wanted.contains(id);
            if !keep {
                task.abort();
                pipeline.remove_camera(id);
            }
            keep
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
