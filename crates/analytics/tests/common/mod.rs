//! Shared by the model tests: where the models are, and simulator frames.
#![allow(dead_code)]

use std::path::PathBuf;

use citywatch_analytics::{rgb_from_i420, RgbImage};
use citywatch_sim::render::{frame_truth, Renderer};
use citywatch_sim::scene::Scene;
use citywatch_sim::truth::FrameTruth;

/// `$CITYWATCH_MODELS`, else the workspace's `target/models`
/// (where scripts/models.sh installs them).
/// Panics where neither holds the models: a test without its model would
/// check nothing.
pub fn models() -> Option<PathBuf> {
    let dir = std::env::var_os("CITYWATCH_MODELS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/models"));
    if dir.join("nanodet-g-416.onnx").is_file() {
        Some(dir)
    } else {
        panic!("no models in {} (set CITYWATCH_MODELS or run `citywatch models install`) (the tests need the models)", dir.display())
    }
}

/// The demo simulator's seed and loop (SimConfig::default()), at the sub-stream size.
pub const SEED: u64 = 2026;
pub const LOOP: u32 = 150;
pub const W: usize = 640;
pub const H: usize = 360;

pub fn sim_frame(scene: &Scene, index: u32) -> (RgbImage, FrameTruth) {
    let img = Renderer::new(scene, W, H).frame(index);
    let rgb = rgb_from_i420(img.width, img.height, &img.y, &img.u, &img.v).unwrap();
    (rgb, frame_truth(scene, index, W, H))
}
