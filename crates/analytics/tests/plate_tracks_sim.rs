//! Plate reads per vehicle track over simulator frames: the vehicle boxes
//! come from the simulator's ground truth (real rendered frames, real
//! PP-OCRv4 models; only the detector and tracker are left out, which the
//! end-to-end test in the binary covers), fed to [`PlateTracks`] as the
//! tracker would at 5 pictures a second. Each track must give at most one
//! plate, and the car whose whole plate is in sight longest must give its
//! true plate.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use citywatch_analytics::plates::{PlateBudget, PlateReader, PlateTracks, TrackPlate};
use citywatch_analytics::track::TrackedObject;
use citywatch_analytics::zones::Rect;
use citywatch_sim::render::{frame_truth, Renderer};
use citywatch_sim::scene::Scene;
use citywatch_sim::truth::ObjectClass;
use citywatch_sim::SimConfig;

fn class(c: ObjectClass) -> Option<&'static str> {
    match c {
        ObjectClass::Car => Some("car"),
        ObjectClass::Bus => Some("bus"),
        ObjectClass::Truck => Some("truck"),
        ObjectClass::Motorcycle => Some("motorcycle"),
        ObjectClass::Person | ObjectClass::Bicycle => None,
    }
}

/// What one scene's loop gave.
struct SceneRun {
    plates: Vec<TrackPlate>,
    /// Per track, its true plate and the pictures it is wholly in sight in.
    truth: BTreeMap<u64, (String, u32)>,
    ocr_runs: u64,
    ocr_ms: u64,
}

/// Runs one scene's loop through `PlateTracks` at `w`×`h`, every third
/// frame (5 fps of the simulator's 15).
fn run_scene(reader: &PlateReader, scene_index: usize, w: usize, h: usize) -> SceneRun {
    let config = SimConfig::default();
    let scene = Scene::new(scene_index, config.seed, config.loop_frames());
    // Unlimited time: which reads run must not depend on this machine's speed.
    let budget = PlateBudget { ocr_share: 1e6, ..PlateBudget::default() };
    let mut tracks = PlateTracks::new(budget, 5.0);
    let (mut plates, mut truth, mut runs, mut ms) = (Vec::new(), BTreeMap::new(), 0, 0);
    let mut before: BTreeSet<u64> = BTreeSet::new();
    // A vehicle that leaves and comes back (the loop wraps) is a new track
    // to a tracker: its appearance number goes into the id.
    let mut appearance: BTreeMap<u32, u64> = BTreeMap::new();
    let mut seen_before: BTreeSet<u32> = BTreeSet::new();
    for f in (0..config.loop_frames()).step_by(3) {
        let img = Renderer::new(&scene, w, h).frame(f);
        let rgb = citywatch_analytics::rgb_from_i420(img.width, img.height, &img.y, &img.u, &img.v).unwrap();
        let frame = frame_truth(&scene, f, w, h);
        let mut objects = Vec::new();
        let seen_now: BTreeSet<u32> = frame.objects.iter().map(|o| o.track_id).collect();
        for o in &frame.objects {
            let Some(class) = class(o.class) else { continue };
            if !seen_before.contains(&o.track_id) {
                *appearance.entry(o.track_id).or_default() += 1;
            }
            let id = u64::from(o.track_id) * 1000 + appearance[&o.track_id];
            let b = o.bbox;
            let rect = Rect { x0: b.x as f32 / w as f32, y0: b.y as f32 / h as f32, x1: b.right() as f32 / w as f32, y1: b.bottom() as f32 / h as f32 };
            objects.push(TrackedObject { id, class, score: 1.0, rect, hits: 2, new: false });
            if let Some(p) = &o.plate {
                truth.entry(id).or_insert_with(|| (p.text.clone(), 0)).1 += 1;
            }
        }
        let now: BTreeSet<u64> = objects.iter().map(|o| o.id).collect();
        // The tracker ends a track once it is gone; here at once.
        let ended: Vec<u64> = before.difference(&now).copied().collect();
        let step = tracks.update(reader, &rgb, Utc::now(), &objects, &ended);
        assert!(step.errors.is_empty(), "{:?}", step.errors);
        assert_eq!(step.skipped, 0, "unlimited time and at most two vehicles due a picture");
        runs += step.ocr_runs;
        ms += step.ocr_ms;
        plates.extend(step.plates);
        before = now;
        seen_before = seen_now;
    }
    plates.extend(tracks.finish());
    SceneRun { plates, truth, ocr_runs: runs, ocr_ms: ms }
}

#[test]
fn each_vehicle_track_gives_one_voted_plate_and_the_longest_seen_car_its_true_one() {
    let dir = common::models();
    let reader = sim_reader(&dir);
    // 1280×720: the simulator's main stream (its 640×360 sub-stream reads about half as well, see plates_sim.rs).
    let SceneRun { plates, truth, ocr_runs: runs, ocr_ms: ms } = run_scene(&reader, 0, 1280, 720);
    let mut per_track: BTreeMap<u64, &TrackPlate> = BTreeMap::new();
    let mut exact = 0;
    for p in &plates {
        assert!(per_track.insert(p.track, p).is_none(), "track {} gave two plates", p.track);
        assert!(p.agreeing >= 1 && p.agreeing <= p.reads && p.reads <= PlateBudget::default().max_reads_per_track, "{p:?}");
        assert!(p.confidence > 0.0 && p.confidence <= 1.0, "{p:?}");
        assert!(p.crop.width() > p.crop.height() && p.crop.height() >= 8, "a plate-shaped crop: {}x{}", p.crop.width(), p.crop.height());
        let r = p.plate_box;
        let v = p.vehicle_box;
        assert!(r.x0 >= v.x0 - 0.01 && r.x1 <= v.x1 + 0.01 && r.y0 >= v.y0 - 0.01 && r.y1 <= v.y1 + 0.01, "the plate lies in its vehicle: {p:?}");
        let t = truth.get(&p.track).map(|t| t.0.as_str()).unwrap_or("(no visible plate)");
        exact += usize::from(p.text == t);
        println!("track {:>6} {:<10} voted {:<12} ({} of {} reads, confidence {:.2}), truth {t}", p.track, p.class, p.text, p.agreeing, p.reads, p.confidence);
    }
    println!("{} tracks with a plate given, {exact} exact; {runs} OCR runs, {:.1} ms each", plates.len(), ms as f64 / runs.max(1) as f64);
    assert!(runs <= (truth.len().max(per_track.len()) as u64 + 20) * u64::from(PlateBudget::default().max_reads_per_track), "reads are bounded per track");
    // The car in sight longest (lowest track id on a tie).
    let (track, (want, seen)) =
        truth.iter().max_by(|a, b| a.1 .1.cmp(&b.1 .1).then(b.0.cmp(a.0))).unwrap_or_else(|| panic!("no whole plate in sight in scene 0"));
    println!("car in sight longest: track {track}, {want}, whole plate in {seen} pictures");
    let got = per_track.get(track).unwrap_or_else(|| panic!("track {track} ({want}) gave no plate"));
    assert_eq!(&got.text, want, "{got:?}");
}

/// The plate reader configured as the demo is: the layouts of the regions
/// whose plates the simulated traffic carries. (With every region, reads
/// such as `NS612K0` fit the general US rule as read and are not
/// corrected toward Serbia's layout.)
fn sim_reader(dir: &std::path::Path) -> PlateReader {
    let mut reader = PlateReader::new(dir, 1).unwrap();
    reader.layouts = citywatch_analytics::plates::Layouts::for_regions(&citywatch_sim::plates::REGIONS).unwrap();
    reader
}
