//! Analytics benchmark: NanoDet-g 416 detection time per frame with tract,
//! at 1 and 2 threads, on simulator frames at the sub-stream size
//! (640×360, letterboxed to 416×416). The time covers the whole call:
//! resize and normalisation, the network, decoding and NMS.
//!
//! Then plate OCR per plate with the plate reader: recognition alone on
//! the simulator's true plate boxes, and finding + reading inside the true
//! vehicle boxes (PP-OCRv4 det + rec), same frames, 1 thread.
//!
//!   citywatch-bench-analytics [--models DIR] [--frames 40] [--threads 1,2]
//!
//! DIR defaults to $CITYWATCH_MODELS, else target/models in the workspace (scripts/models.sh installs them there).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use citywatch_analytics::plates::PlateReader;
use citywatch_analytics::{rgb_from_i420, BBox, Detector, RgbImage};
use citywatch_sim::render::{frame_truth, Renderer};
use citywatch_sim::scene::Scene;

struct Args {
    models: PathBuf,
    frames: usize,
    threads: Vec<usize>,
}

fn args() -> Args {
    let default_models =
        std::env::var_os("CITYWATCH_MODELS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/models"));
    let mut a = Args { models: default_models, frames: 40, threads: vec![1, 2] };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--models" => a.models = val().into(),
            "--frames" => a.frames = val().parse().unwrap(),
            "--threads" => a.threads = val().split(',').map(|t| t.parse().unwrap()).collect(),
            "--help" | "-h" => {
                println!("citywatch-bench-analytics [--models DIR] [--frames N] [--threads 1,2]");
                std::process::exit(0);
            }
            other => panic!("unknown flag {other}; see --help"),
        }
    }
    a
}

/// A frame with its true plate boxes and the boxes of the vehicles carrying them.
struct Frame {
    image: RgbImage,
    plates: Vec<(BBox, BBox)>,
}

fn bbox(b: citywatch_sim::truth::PixelBox) -> BBox {
    BBox { x0: b.x as f32, y0: b.y as f32, x1: b.right() as f32, y1: b.bottom() as f32 }
}

/// Frames spread over the four scene designs of the demo simulator.
fn frames(n: usize) -> Vec<Frame> {
    let scenes: Vec<Scene> = (0..4).map(|s| Scene::new(s, 2026, 150)).collect();
    (0..n)
        .map(|i| {
            let scene = &scenes[i % 4];
            let index = (i as u32 * 37) % 150;
            let f = Renderer::new(scene, 640, 360).frame(index);
            let truth = frame_truth(scene, index, 640, 360);
            let plates = truth.objects.iter().filter_map(|o| o.plate.as_ref().map(|p| (bbox(p.bbox), bbox(o.bbox)))).collect();
            Frame { image: rgb_from_i420(f.width, f.height, &f.y, &f.u, &f.v).unwrap(), plates }
        })
        .collect()
}

fn report(label: &str, mut times: Vec<Duration>, note: &str) {
    if times.is_empty() {
        println!("{label}: nothing timed");
        return;
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!("{label}   mean {:6.1} ms   p50 {:6.1} ms   p90 {:6.1} ms   max {:6.1} ms   {note}", ms(mean), ms(p(0.5)), ms(p(0.9)), ms(times[times.len() - 1]));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let a = args();
    let frames = frames(a.frames);
    println!("detection: NanoDet-g 416 (tract), {} simulator frames 640x360, 3 untimed warm-up calls", frames.len());
    for &threads in &a.threads {
        let detector = Detector::new(&a.models, threads).unwrap_or_else(|e| panic!("{e}"));
        for f in frames.iter().take(3) {
            detector.detect(&f.image).unwrap();
        }
        let mut times = Vec::with_capacity(frames.len());
        let mut objects = 0;
        for f in &frames {
            let t = Instant::now();
            objects += detector.detect(&f.image).unwrap().len();
            times.push(t.elapsed());
        }
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        report(&format!("threads {threads}"), times, &format!("{:5.1} frames/s   ({objects} objects)", 1e3 / ms(mean)));
    }

    let reader = PlateReader::new(&a.models, 1).unwrap_or_else(|e| panic!("{e}"));
    let all: Vec<(&RgbImage, BBox, BBox)> = frames.iter().flat_map(|f| f.plates.iter().map(move |(p, v)| (&f.image, *p, *v))).collect();
    println!("plates: {} visible plates in those frames (truth boxes), 1 thread", all.len());
    let (mut rec, mut both) = (Vec::new(), Vec::new());
    let (mut read, mut found) = (0, 0);
    for (img, plate, vehicle) in &all {
        let t = Instant::now();
        read += usize::from(reader.read_box(img, *plate).unwrap().is_some());
        rec.push(t.elapsed());
        let t = Instant::now();
        found += usize::from(!reader.read_vehicle(img, *vehicle).unwrap().is_empty());
        both.push(t.elapsed());
    }
    report("recognise (true plate box)   ", rec, &format!("per plate ({read} gave a read)"));
    report("find + read (true vehicle box)", both, &format!("per vehicle ({found} gave a read)"));
}
