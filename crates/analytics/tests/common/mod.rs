//! Shared by the model tests: where the models are, and simulator frames.
#![allow(dead_code)]

use std::path::PathBuf;

use citywatch_analytics::{rgb_from_i420, RgbImage};
use citywatch_sim::render::{frame_truth, Renderer};
use citywatch_sim::scene::Scene;
use citywatch_sim::truth::FrameTruth;

/// The models the tests run (`citywatch_test_support::models`); panics
/// where they are missing: a test without its model would check nothing.
pub fn models() -> PathBuf {
    citywatch_test_support::models("nanodet-g-416.onnx")
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
