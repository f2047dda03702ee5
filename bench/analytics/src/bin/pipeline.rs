//! Whole-pipeline cost on one core, per camera: every frame of a 15 fps
//! H.264 sub-stream decoded (H.264 needs them all), 5 pictures a second
//! converted and put through the motion gate, and object detection on 10 %
//! of those (a 10 % motion duty: the simulated street always moves, so
//! detection is run on every tenth analysed picture to stand for it). One
//! thread, so "per core".
//!
//!   pipeline [--models DIR] [--seconds 20] [--sizes 320x180,640x360]
//!
//! Prints, per sub-stream size: ms of CPU per camera-second for decode
//! only, decode + motion, and the whole; decoded frames per second; and
//! cameras one core keeps up with (1000 / ms per camera-second).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use citywatch_analytics::analysis::{CameraAnalysis, CameraRules};
use citywatch_analytics::decode::StreamDecoder;
use citywatch_analytics::Detector;
use citywatch_sim::encode::{encode_loop, EncodeParams};
use citywatch_video::{Codec, Frame, VideoParams};

const FPS: u32 = 15;
const LOOP: u32 = 150;

fn frames(width: u16, height: u16, seconds: u32) -> Vec<Frame> {
    let p = EncodeParams {
        scene: 1,
        seed: 2026,
        width,
        height,
        fps: FPS,
        bitrate_bps: if width > 400 { 300_000 } else { 80_000 },
        loop_frames: LOOP,
        key_interval_frames: FPS,
    };
    let l = encode_loop(p).expect("encoding the simulated scene");
    let avcc = l.avcc();
    let params = Arc::new(VideoParams { codec: Codec::H264, width, height, rfc6381_codec: "avc1.42c01f".into(), extra_data: avcc, pixel_aspect_ratio: None });
    (0..seconds * FPS)
        .map(|i| {
            let f = &l.frames[(i % LOOP) as usize];
            let mut data = Vec::new();
            for nal in &f.nals {
                data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                data.extend_from_slice(nal);
            }
            Frame { timestamp_90k: i64::from(i) * (90_000 / i64::from(FPS)), is_key: f.is_key, data: Bytes::from(data), params: params.clone() }
        })
        .collect()
}

/// CPU ms per camera-second of video.
fn run(frames: &[Frame], analyse: bool, detector: Option<&Detector>, detect_every: usize) -> f64 {
    let mut decoder = StreamDecoder::new(if analyse { 5.0 } else { 0.001 });
    let mut analysis = CameraAnalysis::new(&CameraRules::default());
    let mut n = 0usize;
    let t = Instant::now();
    for f in frames {
        if let Some(p) = decoder.decode(f).expect("decoding") {
            if analyse {
                let det = detector.filter(|_| n.is_multiple_of(detect_every));
                let _ = analysis.analyse(&p, det);
                n += 1;
            }
        }
    }
    let secs = frames.len() as f64 / f64::from(FPS);
    t.elapsed().as_secs_f64() * 1000.0 / secs
}

fn main() {
    let mut models =
        std::env::var_os("CITYWATCH_MODELS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/models"));
    let mut seconds = 20u32;
    let mut sizes = vec![(320u16, 180u16), (640, 360)];
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--models" => models = val().into(),
            "--seconds" => seconds = val().parse().expect("--seconds N"),
            "--sizes" => {
                sizes = val()
                    .split(',')
                    .map(|s| {
                        let (w, h) = s.split_once('x').expect("WxH");
                        (w.parse().unwrap(), h.parse().unwrap())
                    })
                    .collect()
            }
            _ => panic!("usage: pipeline [--models DIR] [--seconds 20] [--sizes 320x180,640x360]"),
        }
    }
    let detector = Detector::new(&models, 1).unwrap_or_else(|e| panic!("loading NanoDet from {}: {e}", models.display()));
    println!("one thread; {FPS} fps sub-stream, analysed at 5 fps, detection on 10% of analysed pictures; {seconds} s of video per size");
    println!("{:>9} | {:>12} {:>14} {:>12} | {:>12} | {:>14}", "size", "decode ms/s", "+motion ms/s", "whole ms/s", "frames/s/core", "cameras/core");
    for (w, h) in sizes {
        let frames = frames(w, h, seconds);
        // A warm-up pass, so first-use costs (allocations, caches) do not count.
        run(&frames[..(FPS * 2) as usize], true, Some(&detector), 10);
        let decode = run(&frames, false, None, 1);
        let motion = run(&frames, true, None, 1);
        let whole = run(&frames, true, Some(&detector), 10);
        let fps_core = f64::from(FPS) * 1000.0 / whole;
        println!("{:>9} | {decode:>12.1} {motion:>14.1} {whole:>12.1} | {fps_core:>12.0} | {:>14.1}", format!("{w}x{h}"), 1000.0 / whole);
    }
}
