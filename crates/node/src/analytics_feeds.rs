//! Keeps one analytics feed per analysed camera in step with the registry:
//! cameras added, tagged, disabled or deleted start or stop their feed
//! within seconds. A feed reads the camera's sub-stream from a
//! `FrameSource` (the recorders' live hub) into the pipeline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use citywatch_analytics::analysis::CameraRules;
use citywatch_analytics::pipeline::{follow_live, Pipeline};
use citywatch_model::CameraStatus;
use citywatch_registry::Registry;
use citywatch_video::frame_source::FrameSource;

/// Runs forever (abort the task to stop it): every 5 s adds a feed for each
/// enabled camera with a sub-stream (and `tag`, when set) and removes those
/// of cameras that are gone, disabled or untagged. Each feed reads the
/// camera's sub-stream from `live` with the camera's zones and lines from
/// `rules` (none configured: motion and objects only).
pub async fn keep_feeds(
    pipeline: Arc<Pipeline>,
    registry: Arc<Registry>,
    live: Arc<dyn FrameSource>,
    tag: Option<String>,
    rules: HashMap<String, CameraRules>,
) {
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
