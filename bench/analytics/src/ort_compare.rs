//! NanoDet-g 416 detection time per frame, tract against ONNX Runtime
//! (feature `ort`), at each thread count, on the same simulator frames
//! (640×360) as citywatch-bench-analytics. Each frame is detected by both
//! engines back to back, alternating which goes first, so load from other
//! work on the machine falls on both alike. The time is the whole `detect`
//! call (letterbox, network, decoding, NMS).
//!
//! `--model centerface` times CenterFace instead (face finding for the
//! blur, the whole `faces` call at the 640×360 sub-stream size).
//!
//!   citywatch-bench-analytics-ort [--models DIR] [--ort-lib PATH] [--frames 40] [--threads 1,2] [--model nanodet|centerface]
//!
//! DIR defaults to $CITYWATCH_MODELS, else target/models in the workspace (where scripts/models.sh installs them);
//! PATH to $ORT_DYLIB_PATH, else DIR/libonnxruntime.so.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use citywatch_analytics::backend::Backend;
use citywatch_analytics::redact::FaceFinder;
use citywatch_analytics::{rgb_from_i420, Detector, RgbImage};
use citywatch_sim::render::Renderer;
use citywatch_sim::scene::Scene;

fn main() {
    let mut models =
        std::env::var_os("CITYWATCH_MODELS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/models"));
    let (mut lib, mut n, mut threads, mut model) = (None::<PathBuf>, 40usize, vec![1usize, 2], "nanodet".to_string());
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--models" => models = val().into(),
            "--ort-lib" => lib = Some(val().into()),
            "--frames" => n = val().parse().unwrap(),
            "--threads" => threads = val().split(',').map(|t| t.parse().unwrap()).collect(),
            "--model" => model = val(),
            other => panic!("unknown flag {other}: [--models DIR] [--ort-lib PATH] [--frames N] [--threads 1,2] [--model nanodet|centerface]"),
        }
    }
    let ort = Backend::Ort { dylib: lib };
    let what = match model.as_str() {
        "nanodet" => "detection: NanoDet-g 416",
        "centerface" => "faces: CenterFace 640x384",
        other => panic!("unknown model {other}: nanodet or centerface"),
    };
    println!("{what}, tract vs ort, {n} simulator frames 640x360, 3 untimed warm-up calls each; ort library {}", ort.ort_dylib(&models).unwrap().display());
    let scenes: Vec<Scene> = (0..4).map(|s| Scene::new(s, 2026, 150)).collect();
    let frames: Vec<RgbImage> = (0..n)
        .map(|i| {
            let f = Renderer::new(&scenes[i % 4], 640, 360).frame((i as u32 * 37) % 150);
            rgb_from_i420(f.width, f.height, &f.y, &f.u, &f.v).unwrap()
        })
        .collect();
    for &t in &threads {
        // Each engine as "how many things in this picture", so both models time the same way.
        let engines: [Engine; 2] = if model == "centerface" {
            let load = |b: &Backend| FaceFinder::with_backend(b, &models, 640, 360, t).unwrap_or_else(|e| panic!("{e}"));
            let (a, b) = (load(&Backend::Tract), load(&ort));
            [Box::new(move |f| a.faces(f).unwrap().len()), Box::new(move |f| b.faces(f).unwrap().len())]
        } else {
            let load = |b: &Backend| Detector::with_backend(b, &models, t).unwrap_or_else(|e| panic!("{e}"));
            let (a, b) = (load(&Backend::Tract), load(&ort));
            [Box::new(move |f| a.detect(f).unwrap().len()), Box::new(move |f| b.detect(f).unwrap().len())]
        };
        for run in &engines {
            for f in frames.iter().take(3) {
                run(f);
            }
        }
        let mut times = [Vec::new(), Vec::new()];
        let mut objects = [0, 0];
        for (i, f) in frames.iter().enumerate() {
            for k in [i % 2, 1 - i % 2] {
                let start = Instant::now();
                objects[k] += engines[k](f);
                times[k].push(start.elapsed());
            }
        }
        let stats: Vec<(f64, f64, f64)> = times.iter_mut().map(|v| stats(v)).collect();
        for (k, name) in ["tract", "ort  "].iter().enumerate() {
            let (mean, p50, p90) = stats[k];
            println!("threads {t}  {name}  mean {mean:6.1} ms   p50 {p50:6.1} ms   p90 {p90:6.1} ms   {:5.1} frames/s   ({} objects)", 1e3 / mean, objects[k]);
        }
        println!("threads {t}  ort speed-up (tract/ort): mean {:.2}x   p50 {:.2}x", stats[0].0 / stats[1].0, stats[0].1 / stats[1].1);
    }
}

/// One engine's model: the things it finds in a picture.
type Engine = Box<dyn Fn(&RgbImage) -> usize>;

/// Mean, p50 and p90 in milliseconds.
fn stats(v: &mut [Duration]) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p = |q: f64| ms(v[((v.len() - 1) as f64 * q).round() as usize]);
    (ms(v.iter().sum::<Duration>()) / v.len() as f64, p(0.5), p(0.9))
}
