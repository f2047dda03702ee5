//! The ONNX Runtime backend (feature `ort`) against tract: NanoDet must
//! give the same detections on the same pictures whichever engine runs it.
//!
//! Needs `libonnxruntime.so`: `$ORT_DYLIB_PATH`, else in the model
//! directory (scripts/install-onnxruntime.sh; scripts/test.sh does this).
//! ONNX Runtime allows one library per process; nextest runs each test in
//! its own process.
#![cfg(feature = "ort")]

mod common;

use citywatch_analytics::backend::Backend;
use citywatch_analytics::{load_image, Detection, Detector, RgbImage};
use citywatch_sim::scene::Scene;

/// The engines' class scores differ by up to ~0.06 on some cells (see
/// `nanodet_class_scores_agree`), so a detection this close to the
/// threshold may be kept by one and dropped by the other, and the best
/// cell for an object may be a neighbour, giving a box a pixel or so off.
const SCORE_TOL: f32 = 0.06;
const MIN_IOU: f32 = 0.9;
/// Percent of plates whose read must be the same on both engines
/// (measured: 66 of 66).
const PLATE_AGREE: usize = 95;

fn ort() -> Backend {
    Backend::Ort { dylib: None }
}

fn pictures() -> Vec<(String, RgbImage)> {
    let mut out = Vec::new();
    for s in 0..4 {
        let scene = Scene::new(s, common::SEED, common::LOOP);
        for f in [0, 30, 75, 120] {
            out.push((format!("scene {s} frame {f}"), common::sim_frame(&scene, f).0));
        }
    }
    let astronaut = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/astronaut-320.jpg");
    out.push(("astronaut".into(), load_image(std::path::Path::new(astronaut)).unwrap()));
    out
}

fn same(a: &Detection, b: &Detection) -> bool {
    a.class == b.class && (a.score - b.score).abs() <= SCORE_TOL && a.bbox.iou(&b.bbox) >= MIN_IOU
}

/// Every detection of one engine has its twin in the other (same class,
/// score within 0.06, IoU at least 0.9), except ones within 0.06 of the
/// score threshold.
#[test]
fn nanodet_on_ort_matches_tract() {
    let dir = common::models();
    let tract = Detector::with_backend(&Backend::Tract, &dir, 1).unwrap();
    let ort = Detector::with_backend(&ort(), &dir, 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((tract.backend_name(), ort.backend_name()), ("tract", "ort"));
    let (mut compared, mut marginal) = (0, 0);
    for (name, img) in pictures() {
        let (a, b) = (tract.detect(&img).unwrap(), ort.detect(&img).unwrap());
        for (these, those, which) in [(&a, &b, "tract"), (&b, &a, "ort")] {
            for d in these.iter() {
                if those.iter().any(|o| same(d, o)) {
                    compared += 1;
                } else {
                    assert!(d.score < tract.score_threshold + SCORE_TOL, "{name}: {which} alone found {d:?}\ntract {a:?}\nort {b:?}");
                    marginal += 1;
                }
            }
        }
    }
    println!("{compared} detections matched, {marginal} marginal");
    assert!(compared >= 2 * 60, "enough detections to compare: {compared}");
    assert!(marginal <= 2, "{marginal} detections at the threshold");
}

/// The golden frame's boxes (tests/detect_sim.rs) on ort too.
#[test]
fn golden_frame_on_ort() {
    let dir = common::models();
    let ort = Detector::with_backend(&ort(), &dir, 2).unwrap_or_else(|e| panic!("{e}"));
    let (img, _) = common::sim_frame(&Scene::new(0, common::SEED, common::LOOP), 30);
    let mut got: Vec<[f32; 4]> = ort.detect(&img).unwrap().iter().map(|d| d.bbox.into()).collect();
    got.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let want =
        [[48.7, 294.0, 68.4, 353.1], [67.0, 288.0, 86.3, 318.4], [170.5, 298.0, 192.4, 355.2], [461.3, 225.0, 599.2, 269.9], [463.4, 299.1, 487.4, 355.7]];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.iter().zip(w).all(|(g, w)| (g - w).abs() <= 3.0), "{g:?} vs {w:?}");
    }
}

#[test]
fn missing_library_is_a_clear_error() {
    let dir = common::models();
    let b = Backend::Ort { dylib: Some("/nonexistent/libonnxruntime.so".into()) };
    let e = Detector::with_backend(&b, &dir, 1).err().expect("must not load").to_string();
    assert!(e.contains("/nonexistent/libonnxruntime.so"), "{e}");
}

/// The raw class scores (the outputs we threshold) on a picture-like
/// input. They differ by more than summation order: with ORT's graph
/// optimisations off and with tract unoptimised the gaps are the same
/// (measured: class scores up to 0.059 apart, the GFL bin logits up to
/// 2.4), so the two engines read some operator of this TF.js-converted
/// graph differently. The detections still agree (test above).
#[test]
fn nanodet_class_scores_agree() {
    use citywatch_analytics::backend::Net;
    use tract_onnx::prelude::*;
    let dir = common::models();
    let shape = [1, 3, 416, 416];
    let (img, _) = common::sim_frame(&Scene::new(1, common::SEED, common::LOOP), 120);
    // Nearest-neighbour into the top-left 416×234, roughly normalised: enough to light up the heads.
    let mut t = tract_ndarray::Array4::<f32>::zeros((1, 3, 416, 416));
    for y in 0..234 {
        for x in 0..416 {
            let p = img.get_pixel(x * 640 / 416, y * 360 / 234).0;
            for c in 0..3 {
                t[[0, c, y as usize, x as usize]] = (f32::from(p[2 - c]) - 115.0) / 57.5;
            }
        }
    }
    let input: Tensor = t.into();
    let file = citywatch_analytics::detect::MODEL_FILE;
    let a = Net::load(&Backend::Tract, &dir, file, &shape, 1).unwrap().run(input.clone()).unwrap();
    let b = Net::load(&ort(), &dir, file, &shape, 1).unwrap_or_else(|e| panic!("{e}")).run(input).unwrap();
    assert_eq!(a.len(), b.len());
    let (mut worst, mut over, mut n) = (0f32, 0, 0);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.shape(), y.shape());
        if x.shape()[2] != 80 {
            continue;
        }
        for (p, q) in x.as_slice::<f32>().unwrap().iter().zip(y.as_slice::<f32>().unwrap()) {
            let d = (p - q).abs();
            worst = worst.max(d);
            over += usize::from(d > 0.01);
            n += 1;
        }
    }
    println!("{n} class scores, max |tract - ort| {worst}, {over} over 0.01");
    assert_eq!(n, (52 * 52 + 26 * 26 + 13 * 13) * 80);
    assert!(worst < 0.1 && over * 200 < n, "max {worst}, {over} of {n} over 0.01");
}

/// PP-OCRv4 (plate finding and reading) on both engines over the
/// simulator's visible plates: the reads must agree, on the true plate box
/// and when the plate is first found inside the true vehicle box.
#[test]
fn plates_on_ort_read_like_tract() {
    use citywatch_analytics::plates::PlateReader;
    use citywatch_analytics::BBox;
    let dir = common::models();
    let tract = PlateReader::with_backend(&Backend::Tract, &dir, 1).unwrap();
    let ort = PlateReader::with_backend(&ort(), &dir, 1).unwrap_or_else(|e| panic!("{e}"));
    let bbox = |b: citywatch_sim::truth::PixelBox| BBox { x0: b.x as f32, y0: b.y as f32, x1: b.right() as f32, y1: b.bottom() as f32 };
    let (mut plates, mut read, mut same_box, mut same_vehicle) = (0, 0, 0, 0);
    for s in 0..4 {
        let scene = Scene::new(s, common::SEED, common::LOOP);
        for f in (0..common::LOOP).step_by(25) {
            let (img, truth) = common::sim_frame(&scene, f);
            for o in &truth.objects {
                let Some(p) = &o.plate else { continue };
                plates += 1;
                let text = |r: Option<citywatch_analytics::plates::PlateRead>| r.map(|r| r.text);
                let (a, b) = (text(tract.read_box(&img, bbox(p.bbox)).unwrap()), text(ort.read_box(&img, bbox(p.bbox)).unwrap()));
                read += usize::from(a.is_some());
                same_box += usize::from(a == b);
                let texts = |v: Vec<citywatch_analytics::plates::PlateRead>| v.into_iter().map(|r| r.text).collect::<Vec<_>>();
                same_vehicle += usize::from(texts(tract.read_vehicle(&img, bbox(o.bbox)).unwrap()) == texts(ort.read_vehicle(&img, bbox(o.bbox)).unwrap()));
            }
        }
    }
    println!("{plates} plates, {read} read by tract; same read on the plate box {same_box}, inside the vehicle box {same_vehicle}");
    assert!(plates >= 20 && read >= plates / 2, "enough plates to compare: {plates}, {read} read");
    assert!(same_box * 100 >= plates * PLATE_AGREE && same_vehicle * 100 >= plates * PLATE_AGREE, "{same_box} / {same_vehicle} of {plates}");
}

/// The pipeline's workers share one detector: concurrent runs on ort each
/// get a session and the same answer as a run alone.
#[test]
fn shared_ort_detector_runs_concurrently() {
    let dir = common::models();
    let ort = Detector::with_backend(&ort(), &dir, 1).unwrap_or_else(|e| panic!("{e}"));
    let frames: Vec<RgbImage> = (0..4).map(|s| common::sim_frame(&Scene::new(s, common::SEED, common::LOOP), 30).0).collect();
    let alone: Vec<Vec<Detection>> = frames.iter().map(|f| ort.detect(f).unwrap()).collect();
    assert!(alone.iter().map(Vec::len).sum::<usize>() >= 8, "{alone:?}");
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                s.spawn({
                    let (ort, frames) = (&ort, &frames);
                    move || (0..3).map(|k| ort.detect(&frames[(w + k) % 4]).unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        for (w, h) in workers.into_iter().enumerate() {
            for (k, got) in h.join().unwrap().into_iter().enumerate() {
                assert_eq!(got, alone[(w + k) % 4], "worker {w} run {k}");
            }
        }
    });
}

/// Every box of one engine has a twin in the other's (IoU at least 0.9).
fn same_faces(what: &str, a: &[citywatch_analytics::zones::Rect], b: &[citywatch_analytics::zones::Rect]) {
    assert_eq!(a.len(), b.len(), "{what}: tract {a:?}\nort {b:?}");
    for r in a {
        assert!(b.iter().any(|o| o.iou(r) >= 0.9), "{what}: tract {a:?}\nort {b:?}");
    }
}

/// CenterFace (whole pictures, at the sub-stream size and another) and
/// BlazeFace (person crops) find the same faces on both engines: the
/// astronaut's portrait, and the portrait pasted twice into a 640×360
/// street picture.
#[test]
fn face_finders_on_ort_match_tract() {
    use citywatch_analytics::blazeface::BlazeFace;
    use citywatch_analytics::redact::FaceFinder;
    use citywatch_analytics::zones::Rect;
    let dir = common::models();
    let astronaut = load_image(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/astronaut-320.jpg"))).unwrap();
    let (mut street, _) = common::sim_frame(&Scene::new(2, common::SEED, common::LOOP), 75);
    let small = image::imageops::resize(&astronaut, 120, 120, image::imageops::FilterType::Triangle);
    image::imageops::replace(&mut street, &small, 40, 200);
    image::imageops::replace(&mut street, &small, 480, 120);
    let persons = [
        Rect { x0: 40.0 / 640.0, y0: 200.0 / 360.0, x1: 160.0 / 640.0, y1: 320.0 / 360.0 },
        Rect { x0: 480.0 / 640.0, y0: 120.0 / 360.0, x1: 600.0 / 640.0, y1: 240.0 / 360.0 },
    ];
    let mut found = 0;
    for (w, h) in [(640, 360), (320, 320)] {
        let tract = FaceFinder::with_backend(&Backend::Tract, &dir, w, h, 1).unwrap();
        let ort = FaceFinder::with_backend(&ort(), &dir, w, h, 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((tract.backend_name(), ort.backend_name()), ("tract", "ort"));
        for (name, img) in [("astronaut", &astronaut), ("street", &street)] {
            let (a, b) = (tract.faces(img).unwrap(), ort.faces(img).unwrap());
            same_faces(&format!("centerface {w}x{h} {name}"), &a, &b);
            println!("centerface {w}x{h} {name}: {} faces on both", a.len());
            found += a.len();
        }
    }
    // At least the portrait at both sizes (1 + 1) and the street's two
    // pasted faces at both sizes (2 + 2): boxes were compared, not just absences.
    assert!(found >= 6, "{found} faces found by CenterFace");
    let tract = BlazeFace::with_backend(&Backend::Tract, &dir, 1).unwrap();
    let ort = BlazeFace::with_backend(&ort(), &dir, 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ort.backend_name(), "ort");
    let (a, b) = (tract.faces(&astronaut).unwrap(), ort.faces(&astronaut).unwrap());
    same_faces("blazeface astronaut", &a, &b);
    assert_eq!(a.len(), 1);
    let (a, b) = (tract.faces_in_persons(&street, &persons).unwrap(), ort.faces_in_persons(&street, &persons).unwrap());
    same_faces("blazeface street persons", &a, &b);
    assert_eq!(a.len(), 2);
}
