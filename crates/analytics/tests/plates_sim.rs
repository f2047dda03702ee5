//! Plate recognition against the simulator's ground truth: every vehicle
//! whose whole plate is visible, over frames of every scene design, read
//! inside its (ground-truth) vehicle box; the reads of each track are voted
//! into one plate and compared with the plate on the car. Printed as a
//! table per scene and asserted above the floor measured when written.

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use citywatch_analytics::plates::{vote, PlateReader, TrackRead};
use citywatch_analytics::BBox;
use citywatch_sim::scene::Scene;
use citywatch_sim::truth::PixelBox;

/// Measured on the 1280×720 main stream: 26 of 26 tracks and 163 of 163
/// reads exact, with PP-OCRv4 det finding the plate in the vehicle box and
/// with the true plate box alike. Before the simulator drew plates in an
/// anti-aliased typeface it used a blocky 5×7 bitmap font, and PP-OCRv4
/// confused its D/O, J/I, V/U, 0/8, A/B: 22 of 28 tracks (0.786). The floor
/// is the goal, which allows one miss in 26. On the 640×360
/// sub-stream (capitals 6–7 px tall) 26 of 26 tracks, 159 of 163 reads.
const TRACK_EXACT_FLOOR: f64 = 0.95;
const SUB_TRACK_EXACT_FLOOR: f64 = 0.9;

fn bbox(b: PixelBox) -> BBox {
    BBox { x0: b.x as f32, y0: b.y as f32, x1: b.right() as f32, y1: b.bottom() as f32 }
}

#[derive(Default)]
struct Tally {
    reads: usize,
    read_exact: usize,
    tracks: usize,
    track_exact: usize,
}

fn run(reader: &PlateReader, w: usize, h: usize, use_truth_box: bool) -> (Tally, f64) {
    let mut all = Tally::default();
    let (mut ms, mut calls) = (0.0, 0usize);
    println!("{w}x{h}, plate found by {}", if use_truth_box { "the ground-truth plate box" } else { "PP-OCRv4 det in the vehicle box" });
    println!("scene  tracks  exact  reads  read-exact  misses (truth -> voted)");
    for s in 0..4 {
        let scene = Scene::new(s, common::SEED, common::LOOP);
        let mut per_track: BTreeMap<u32, (String, Vec<TrackRead>)> = BTreeMap::new();
        let mut t = Tally::default();
        for f in (0..common::LOOP).step_by(10) {
            let img = citywatch_sim::render::Renderer::new(&scene, w, h).frame(f);
            let rgb = citywatch_analytics::rgb_from_i420(img.width, img.height, &img.y, &img.u, &img.v).unwrap();
            let truth = citywatch_sim::render::frame_truth(&scene, f, w, h);
            for o in truth.objects.iter().filter(|o| o.plate.is_some()) {
                let plate = o.plate.as_ref().unwrap();
                let started = Instant::now();
                let read = if use_truth_box {
                    reader.read_box(&rgb, bbox(plate.bbox)).unwrap()
                } else {
                    reader.read_vehicle(&rgb, bbox(o.bbox)).unwrap().into_iter().next()
                };
                ms += started.elapsed().as_secs_f64() * 1000.0;
                calls += 1;
                let entry = per_track.entry(o.track_id).or_insert_with(|| (plate.text.clone(), Vec::new()));
                t.reads += 1;
                if let Some(r) = read {
                    t.read_exact += usize::from(r.text == plate.text);
                    entry.1.push(r.track_read());
                }
            }
        }
        let mut misses = Vec::new();
        for (truth, reads) in per_track.values() {
            t.tracks += 1;
            let voted = vote(reads).map(|v| v.0).unwrap_or_default();
            if &voted == truth {
                t.track_exact += 1;
            } else {
                misses.push(format!("{truth} -> {voted:?}"));
            }
        }
        println!("{s:>5}  {:>6}  {:>5}  {:>5}  {:>10}  {}", t.tracks, t.track_exact, t.reads, t.read_exact, misses.join(", "));
        all.reads += t.reads;
        all.read_exact += t.read_exact;
        all.tracks += t.tracks;
        all.track_exact += t.track_exact;
    }
    let per_track = all.track_exact as f64 / all.tracks.max(1) as f64;
    println!(
        "  all  {:>6}  {:>5}  {:>5}  {:>10}  per track {:.3}, per read {:.3}, {:.1} ms per vehicle (debug test build, models opt-level 3)",
        all.tracks,
        all.track_exact,
        all.reads,
        all.read_exact,
        per_track,
        all.read_exact as f64 / all.reads.max(1) as f64,
        ms / calls.max(1) as f64
    );
    (all, per_track)
}

#[test]
fn simulated_plates_exact_match_per_track() {
    let dir = common::models();
    let reader = sim_reader(&dir);
    let (main, per_track) = run(&reader, 1280, 720, false);
    run(&reader, 1280, 720, true);
    let (sub, sub_per_track) = run(&reader, 640, 360, false);
    assert!(main.tracks >= 10 && sub.tracks >= 10, "enough plates to measure");
    assert!(per_track >= TRACK_EXACT_FLOOR, "{per_track}");
    assert!(sub_per_track >= SUB_TRACK_EXACT_FLOOR, "sub-stream: {sub_per_track}");
}

/// A close-up of a plate has no vehicle box: `read_picture` then searches
/// the whole picture (as `citywatch analyze` does with a still). Each
/// close-up is the plate with its own width of car around it on each side.
#[test]
fn a_plate_close_up_without_a_vehicle_box_is_read_from_the_whole_picture() {
    let dir = common::models();
    let reader = sim_reader(&dir);
    let (w, h) = (1280, 720);
    let (mut tried, mut exact, mut misses) = (0, 0, Vec::new());
    for s in 0..4 {
        let scene = Scene::new(s, common::SEED, common::LOOP);
        for f in (0..common::LOOP).step_by(50) {
            let img = citywatch_sim::render::Renderer::new(&scene, w, h).frame(f);
            let rgb = citywatch_analytics::rgb_from_i420(img.width, img.height, &img.y, &img.u, &img.v).unwrap();
            for o in citywatch_sim::render::frame_truth(&scene, f, w, h).objects.iter().filter_map(|o| o.plate.as_ref()) {
                let b = o.bbox;
                let x0 = b.x.saturating_sub(b.w);
                let y0 = b.y.saturating_sub(b.w / 2);
                let (x1, y1) = ((b.right() + b.w).min(w as u32), (b.bottom() + b.w / 2).min(h as u32));
                let close_up = image::imageops::crop_imm(&rgb, x0, y0, x1 - x0, y1 - y0).to_image();
                let read = reader.read_picture(&close_up, &[]).unwrap();
                tried += 1;
                if read.first().is_some_and(|r| r.text == o.text) {
                    exact += 1;
                } else {
                    misses.push(format!("{} -> {:?}", o.text, read.iter().map(|r| &r.text).collect::<Vec<_>>()));
                }
            }
        }
    }
    println!("close-ups: {exact} of {tried} read exactly; misses: {}", misses.join(", "));
    assert!(tried >= 10, "enough plates to measure: {tried}");
    assert!(exact as f64 >= 0.9 * tried as f64, "{exact} of {tried}");
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
