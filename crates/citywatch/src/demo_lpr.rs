//! The demo's LPR cameras: a few recorded cameras whose plates are read
//! from the video by the analytics pipeline, chosen so that the plates on
//! the demo hotlist pass in front of them, and the analytics settings
//! (for this run only, the configuration file is left as it is) that read
//! them.
//!
//! The demo's sub-streams are 320×180, too small to read a plate, so an
//! LPR camera's sub-stream is its 640×360 main stream.

use std::path::PathBuf;

use anyhow::Context;
use citywatch_audit::Record;
use citywatch_model::CameraUpdate;
use citywatch_sim::sightings::demo_hotlist;
use citywatch_sim::{SimConfig, RECORDED_TAG};
use serde_json::json;

use crate::data_dir::DataDir;

/// Tag of the LPR cameras, and the tag analytics is limited to.
pub const TAG: &str = "lpr";

/// The models plate reading needs (detection, then the plate's text).
const MODELS: [&str; 3] = ["nanodet-g-416.onnx", "ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx"];

/// Makes `wanted` recorded cameras LPR cameras (and earlier ones that are no
/// longer wanted ordinary again) and turns on analytics with plates for
/// them. Returns their numbers; none when `wanted` is 0 or the models are
/// missing (then the hotlist hits come from the simulator's ground truth).
pub fn setup(dir: &mut DataDir, sim: &SimConfig, wanted: usize, fps: f64) -> anyhow::Result<Vec<u32>> {
    let models = if wanted == 0 { None } else { models(dir) };
    if wanted > 0 && models.is_none() {
        tracing::warn!(
            "demo: no plate models (set CITYWATCH_MODELS or [analytics] models_dir, or run `citywatch models install`): \
             hotlist hits come from the simulator's ground truth, not from reading the video"
        );
    }
    let chosen = if models.is_some() { choose(dir, sim, wanted)? } else { Vec::new() };
    retag(dir, &chosen)?;
    if chosen.is_empty() {
        return Ok(chosen);
    }
    let a = &mut dir.config.analytics;
    a.enabled = true;
    a.tag = TAG.into();
    a.fps = fps;
    // One worker per LPR camera, at most two: the demo must stay usable on a 2-core laptop.
    a.workers = chosen.len().min(2);
    a.detect = true;
    dir.config.plates.enabled = true;
    let ids: Vec<String> = chosen.iter().map(|&n| citywatch_sim::camera_id(n)).collect();
    tracing::info!("demo: plates read from the video of {} at {fps} pictures a second", ids.join(", "));
    println!("LPR cameras (plates read from the video): {}.", ids.join(", "));
    Ok(chosen)
}

/// The models' directory when every plate model is there.
fn models(dir: &DataDir) -> Option<PathBuf> {
    let configured = &dir.config.analytics.models_dir;
    let d = citywatch_analytics::model_dir(Some(PathBuf::from(configured)).filter(|_| !configured.is_empty()).as_deref()).ok()?;
    MODELS.iter().all(|m| d.join(m).is_file()).then_some(d)
}

/// Recorded cameras (analytics reads the recorders' frames) showing a
/// scene with a hotlisted plate, one scene each first, lowest ids first.
fn choose(dir: &DataDir, sim: &SimConfig, wanted: usize) -> anyhow::Result<Vec<u32>> {
    let scenes: Vec<usize> = demo_hotlist(sim).iter().map(|e| e.sighting.scene).collect();
    let mut recorded: Vec<u32> = dir
        .repos
        .cameras
        .cameras()?
        .iter()
        .filter(|c| c.tags.iter().any(|t| t == RECORDED_TAG))
        .filter_map(|c| c.id.strip_prefix("cam-")?.parse::<u32>().ok())
        .filter(|&n| n <= sim.cameras && scenes.contains(&sim.camera(n).scene))
        .collect();
    recorded.sort_unstable();
    let mut chosen: Vec<u32> = Vec::new();
    for &n in &recorded {
        if chosen.len() < wanted && !chosen.iter().any(|&c| sim.camera(c).scene == sim.camera(n).scene) {
            chosen.push(n);
        }
    }
    for &n in &recorded {
        if chosen.len() < wanted && !chosen.contains(&n) {
            chosen.push(n);
        }
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// Gives the chosen cameras the tag and their main stream as sub-stream,
/// and undoes both on cameras that were LPR cameras in an earlier run.
fn retag(dir: &DataDir, chosen: &[u32]) -> anyhow::Result<()> {
    let chosen_ids: Vec<String> = chosen.iter().map(|&n| citywatch_sim::camera_id(n)).collect();
    let mut updates = Vec::new();
    let store = dir.sqlite("the demo")?;
    for mut c in dir.repos.cameras.cameras()? {
        let is_lpr = c.tags.iter().any(|t| t == TAG);
        let want = chosen_ids.contains(&c.id);
        if is_lpr == want {
            continue;
        }
        if want {
            c.tags.push(TAG.into());
            c.sub_url = c.main_url.clone();
        } else {
            c.tags.retain(|t| t != TAG);
            c.sub_url = c.main_url.as_deref().and_then(|u| u.strip_suffix("/main")).map(|u| format!("{u}/sub"));
        }
        updates.push(CameraUpdate { camera: c, main_credentials: None, sub_credentials: None });
    }
    if updates.is_empty() {
        return Ok(());
    }
    store.upsert_cameras(&updates).context("marking the demo's LPR cameras")?;
    let ids: Vec<&str> = updates.iter().map(|u| u.camera.id.as_str()).collect();
    dir.audit.record(Record::new("citywatch-demo", "camera.update", "demo LPR cameras").detail(json!({"cameras": ids, "lpr": chosen_ids})))?;
    Ok(())
}
