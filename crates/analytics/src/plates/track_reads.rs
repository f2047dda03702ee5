//! Plate reads per vehicle track: which tracks get their plate read on a
//! picture, within one camera's budget, and the single voted read each
//! track gives.
//!
//! OCR is the costliest step after detection, so it is rationed: only
//! vehicles (car, motorcycle, bus, truck) whose box is wide enough to hold
//! a legible plate, each at most every `every_nth` pictures it is seen in
//! and at most `max_reads_per_track` times, the largest vehicles first, at
//! most `max_reads_per_picture` a picture, and all of it within a share of
//! the camera's analysis interval (a credit of milliseconds refilled per
//! picture, spent by each read's measured time). Reads that were due but
//! found no credit are *skipped* and counted: under load plate work is
//! shed, never detection and never a camera.
//!
//! A track's reads are voted ([`super::vote`]) and give one
//! [`TrackPlate`] — when the vote is confident, or else when the track
//! ends — never more than one per track. One vehicle can still make
//! several tracks: the detector may call it both car and truck (two
//! boxes, one over the other), or the tracker may lose it and start
//! again. So a vehicle box lying over a likelier vehicle's is not read,
//! and a plate the camera already gave within `repeat_window_s` is not
//! given again. Tracks follow boxes only: nothing here looks at who is in
//! a vehicle.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::detect::BBox;
use crate::frame::RgbImage;
use crate::plates::{vote, PlateRead, PlateReader, TrackRead};
use crate::track::TrackedObject;
use crate::zones::Rect;

/// The tracker's classes whose plates are read.
pub const VEHICLE_CLASSES: [&str; 4] = ["car", "motorcycle", "bus", "truck"];

/// How much plate reading one camera may do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlateBudget {
    /// Least vehicle box width, in pixels of the analysed picture, worth
    /// reading: a plate is about a fifth of a car's width, and the
    /// recogniser needs ~20 px of it.
    pub min_vehicle_width: f32,
    /// A track is read at most once every this many analysed pictures it
    /// is seen in (successive pictures of a car are nearly the same).
    pub every_nth: u32,
    pub max_reads_per_track: u32,
    pub max_reads_per_picture: usize,
    /// Share of the camera's analysis interval that plate OCR may take
    /// on average (the rest is detection's).
    pub ocr_share: f64,
    /// A vote with this many agreeing reads and at least `confident_share`
    /// of the votes is final before the track ends.
    pub confident_reads: u32,
    pub confident_share: f32,
    /// A plate given again by the camera within this many seconds is the
    /// same vehicle seen again (a lost and restarted track), not a new read.
    pub repeat_window_s: f64,
}

impl Default for PlateBudget {
    fn default() -> Self {
        PlateBudget {
            min_vehicle_width: 96.0,
            every_nth: 2,
            max_reads_per_track: 6,
            max_reads_per_picture: 2,
            ocr_share: 0.5,
            confident_reads: 3,
            confident_share: 0.75,
            repeat_window_s: 60.0,
        }
    }
}

/// One vehicle track's plate: the winner of its reads' vote.
#[derive(Debug, Clone)]
pub struct TrackPlate {
    pub track: u64,
    pub class: &'static str,
    /// Printed form when a plate format fits (`BG 123-AB`).
    pub text: String,
    pub country: Option<&'static str>,
    /// The winner's share of the votes times its reads' mean score (0..1).
    pub confidence: f32,
    /// Reads that agreed on `text`, and reads of the track in all.
    pub agreeing: u32,
    pub reads: u32,
    /// When the best read of `text` was taken.
    pub time: DateTime<Utc>,
    /// Vehicle and plate boxes of that read, fractions of the picture.
    pub vehicle_box: Rect,
    pub plate_box: Rect,
    /// The plate (with some margin) as seen on that read: the evidence.
    pub crop: RgbImage,
}

/// What one picture's plate work did.
#[derive(Debug, Default)]
pub struct PlateStep {
    /// Tracks whose plate is now decided.
    pub plates: Vec<TrackPlate>,
    /// OCR runs (plate detection in a vehicle box plus recognition).
    pub ocr_runs: u64,
    pub ocr_ms: u64,
    /// Reads due but not run for lack of budget.
    pub skipped: u64,
    /// Plates decided now but not given: the camera gave the same plate
    /// within the repeat window.
    pub repeats: u64,
    /// Reads that failed (the model refused the input); the track goes on.
    pub errors: Vec<String>,
}

struct Candidate {
    read: PlateRead,
    time: DateTime<Utc>,
    vehicle_box: Rect,
    plate_box: Rect,
    crop: RgbImage,
}

#[derive(Default)]
struct TrackState {
    class: &'static str,
    /// Pictures seen since the last read (or since the track started).
    since_read: u32,
    attempts: u32,
    candidates: Vec<Candidate>,
    /// Its plate was given; later reads and its end change nothing.
    decided: bool,
}

/// One camera's plate reading across pictures.
pub struct PlateTracks {
    budget: PlateBudget,
    /// Credit refilled per analysed picture, and its ceiling.
    refill_ms: f64,
    max_credit_ms: f64,
    credit_ms: f64,
    tracks: HashMap<u64, TrackState>,
    /// Plates given, with when (picture time), within the repeat window.
    given: HashMap<String, DateTime<Utc>>,
}

impl PlateTracks {
    /// For a camera analysed at `fps` pictures a second.
    pub fn new(budget: PlateBudget, fps: f64) -> PlateTracks {
        let refill_ms = 1000.0 / fps.max(0.01) * budget.ocr_share.max(0.0);
        // A few pictures' worth may be saved up, so a burst of cars after a quiet spell is read.
        let max_credit_ms = refill_ms * 5.0;
        PlateTracks { budget, refill_ms, max_credit_ms, credit_ms: max_credit_ms, tracks: HashMap::new(), given: HashMap::new() }
    }

    pub fn budget(&self) -> &PlateBudget {
        &self.budget
    }

    /// One analysed picture: `objects` are the tracker's confirmed tracks
    /// seen in it, `ended` the tracks that ended. Reads the plates due
    /// and returns every track plate decided now.
    pub fn update(&mut self, reader: &PlateReader, picture: &RgbImage, time: DateTime<Utc>, objects: &[TrackedObject], ended: &[u64]) -> PlateStep {
        let mut step = PlateStep::default();
        self.credit_ms = (self.credit_ms + self.refill_ms).min(self.max_credit_ms);
        let (w, h) = (picture.width() as f32, picture.height() as f32);
        let vehicles: Vec<&TrackedObject> = objects.iter().filter(|o| VEHICLE_CLASSES.contains(&o.class)).collect();
        // The detector's second opinion on a vehicle (a truck box over a car box): read only the likelier.
        let shadowed = |o: &TrackedObject| {
            vehicles.iter().any(|v| v.id != o.id && (v.score, std::cmp::Reverse(v.id)) > (o.score, std::cmp::Reverse(o.id)) && v.rect.iou(&o.rect) >= 0.6)
        };
        let mut due: Vec<(&TrackedObject, BBox)> = Vec::new();
        for &o in &vehicles {
            let t = self.tracks.entry(o.id).or_insert_with(|| TrackState { class: o.class, since_read: u32::MAX, ..TrackState::default() });
            t.since_read = t.since_read.saturating_add(1);
            let px = BBox { x0: o.rect.x0 * w, y0: o.rect.y0 * h, x1: o.rect.x1 * w, y1: o.rect.y1 * h };
            if !t.decided
                && t.attempts < self.budget.max_reads_per_track
                && t.since_read >= self.budget.every_nth
                && px.width() >= self.budget.min_vehicle_width
                && !shadowed(o)
            {
                due.push((o, px));
            }
        }
        // Largest first: the nearest vehicles have the most legible plates.
        due.sort_by(|a, b| b.1.area().total_cmp(&a.1.area()).then(a.0.id.cmp(&b.0.id)));
        for (i, (o, px)) in due.into_iter().enumerate() {
            if i >= self.budget.max_reads_per_picture || self.credit_ms <= 0.0 {
                step.skipped += 1;
                continue;
            }
            let started = Instant::now();
            let result = reader.read_vehicle(picture, px);
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            self.credit_ms -= ms;
            step.ocr_runs += 1;
            step.ocr_ms += ms.round() as u64;
            let t = self.tracks.get_mut(&o.id).expect("entered above");
            t.attempts += 1;
            t.since_read = 0;
            match result {
                Ok(reads) => {
                    if let Some(read) = reads.into_iter().next() {
                        let crop = plate_crop(picture, read.bbox);
                        let b = read.bbox;
                        let plate_box = Rect {
                            x0: (b.x0 / w).clamp(0.0, 1.0),
                            y0: (b.y0 / h).clamp(0.0, 1.0),
                            x1: (b.x1 / w).clamp(0.0, 1.0),
                            y1: (b.y1 / h).clamp(0.0, 1.0),
                        };
                        t.candidates.push(Candidate { read, time, vehicle_box: o.rect, plate_box, crop });
                        if let Some(plate) = decide(o.id, t, true, &self.budget) {
                            self.give(plate, &mut step);
                        }
                    }
                }
                Err(e) => step.errors.push(format!("track {}: {e}", o.id)),
            }
        }
        for id in ended {
            if let Some(mut t) = self.tracks.remove(id) {
                if let Some(plate) = decide(*id, &mut t, false, &self.budget) {
                    self.give(plate, &mut step);
                }
            }
        }
        step
    }

    /// Gives a decided plate unless the camera gave it within the repeat window.
    fn give(&mut self, plate: TrackPlate, step: &mut PlateStep) {
        let window = chrono::Duration::milliseconds((self.budget.repeat_window_s * 1000.0) as i64);
        self.given.retain(|_, t| plate.time - *t < window);
        match self.given.get(&plate.text) {
            Some(_) => step.repeats += 1,
            None => {
                self.given.insert(plate.text.clone(), plate.time);
                step.plates.push(plate);
            }
        }
    }

    /// Ends every track (the camera stops): their plates, where read.
    pub fn finish(&mut self) -> Vec<TrackPlate> {
        let mut ids: Vec<u64> = self.tracks.keys().copied().collect();
        ids.sort_unstable();
        let mut step = PlateStep::default();
        for id in ids {
            let Some(mut t) = self.tracks.remove(&id) else { continue };
            if let Some(plate) = decide(id, &mut t, false, &self.budget) {
                self.give(plate, &mut step);
            }
        }
        step.plates
    }

    /// Tracks being followed (for tests and metrics).
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }
}

/// The track's plate if it is decided now: at its end (`early` false)
/// whenever anything was read, before it only when the vote is confident.
fn decide(track: u64, t: &mut TrackState, early: bool, budget: &PlateBudget) -> Option<TrackPlate> {
    if t.decided {
        return None;
    }
    let reads: Vec<TrackRead> = t.candidates.iter().map(|c| c.read.track_read()).collect();
    let (text, share) = vote(&reads)?;
    let winners: Vec<&Candidate> = t.candidates.iter().filter(|c| c.read.text == text).collect();
    let agreeing = winners.len() as u32;
    if early && !(agreeing >= budget.confident_reads && share >= budget.confident_share) {
        return None;
    }
    let mean = winners.iter().map(|c| c.read.score).sum::<f32>() / winners.len().max(1) as f32;
    let best = winners.iter().max_by(|a, b| a.read.score.total_cmp(&b.read.score))?;
    t.decided = true;
    let plate = TrackPlate {
        track,
        class: t.class,
        text,
        country: best.read.country,
        confidence: (share * mean).clamp(0.0, 1.0),
        agreeing,
        reads: t.candidates.len() as u32,
        time: best.time,
        vehicle_box: best.vehicle_box,
        plate_box: best.plate_box,
        crop: best.crop.clone(),
    };
    // The evidence is kept in the plate; the track needs none of it any more.
    t.candidates.clear();
    Some(plate)
}

/// The plate box grown by half its height on every side (what an
/// operator needs to judge the read), clipped to the picture.
fn plate_crop(img: &RgbImage, b: BBox) -> RgbImage {
    let m = b.height() * 0.5;
    let x0 = (b.x0 - m).max(0.0) as u32;
    let y0 = (b.y0 - m).max(0.0) as u32;
    let x1 = ((b.x1 + m).ceil().max(0.0) as u32).min(img.width());
    let y1 = ((b.y1 + m).ceil().max(0.0) as u32).min(img.height());
    image::imageops::crop_imm(img, x0, y0, x1.saturating_sub(x0).max(1), y1.saturating_sub(y0).max(1)).to_image()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, score: f32) -> Candidate {
        let bbox = BBox { x0: 10.0, y0: 10.0, x1: 50.0, y1: 20.0 };
        let vehicle_box = Rect { x0: 0.0, y0: 0.0, x1: 0.5, y1: 0.5 };
        let plate_box = Rect { x0: 0.1, y0: 0.1, x1: 0.5, y1: 0.2 };
        Candidate {
            read: PlateRead { text: text.into(), country: Some("RS"), score, bbox, raw: text.into(), char_confidence: Vec::new() },
            time: Utc::now(),
            vehicle_box,
            plate_box,
            crop: RgbImage::new(4, 4),
        }
    }

    #[test]
    fn a_confident_vote_decides_early_and_only_once() {
        let budget = PlateBudget::default();
        let mut t = TrackState { class: "car", ..TrackState::default() };
        t.candidates.push(read("BG 123-AB", 0.9));
        t.candidates.push(read("BG 123-AB", 0.8));
        // Two agreeing reads are not yet confident (three are needed).
        assert!(decide(7, &mut t, true, &budget).is_none());
        t.candidates.push(read("BG 123-AB", 0.85));
        let p = decide(7, &mut t, true, &budget).expect("confident");
        assert_eq!((p.text.as_str(), p.agreeing, p.reads, p.track), ("BG 123-AB", 3, 3, 7));
        assert!((p.confidence - 0.85).abs() < 1e-4, "{}", p.confidence);
        assert_eq!(p.plate_box, Rect { x0: 0.1, y0: 0.1, x1: 0.5, y1: 0.2 });
        // Its end gives nothing more.
        assert!(decide(7, &mut t, false, &budget).is_none());
    }

    fn object(id: u64, class: &'static str, x0: f32, width: f32) -> TrackedObject {
        TrackedObject { id, class, score: 0.9, rect: Rect { x0, y0: 0.4, x1: x0 + width, y1: 0.7 }, hits: 2, new: false }
    }

    /// Which reads run is decided by classes, sizes, counts and the time
    /// credit; a plain grey picture makes every read quick and empty.
    #[test]
    fn reads_are_rationed_by_class_size_picture_track_and_time() {
        let reader = PlateReader::new(&crate::model::test_models(crate::plates::locate::DET_FILE), 1).unwrap();
        let picture = RgbImage::from_pixel(640, 360, image::Rgb([128, 128, 128]));
        let objects = [
            object(1, "car", 0.0, 0.3),
            object(2, "bus", 0.3, 0.35),
            object(3, "truck", 0.66, 0.2),
            // Not vehicles, or too narrow to hold a legible plate (0.1 × 640 = 64 px).
            object(4, "person", 0.1, 0.3),
            object(5, "bicycle", 0.1, 0.3),
            object(6, "car", 0.9, 0.1),
        ];
        let unlimited = PlateBudget { ocr_share: 1e6, ..PlateBudget::default() };
        let mut tracks = PlateTracks::new(unlimited, 5.0);
        // Three vehicles due, two a picture: the largest (bus, car) first.
        let step = tracks.update(&reader, &picture, Utc::now(), &objects, &[]);
        assert_eq!((step.ocr_runs, step.skipped, step.plates.len()), (2, 1, 0), "{step:?}");
        // Next picture: the bus and car wait (every 2nd picture); the truck's turn.
        let step = tracks.update(&reader, &picture, Utc::now(), &objects, &[]);
        assert_eq!((step.ocr_runs, step.skipped), (1, 0), "{step:?}");
        // Then bus and car again, up to six tries each, then nothing.
        let mut runs = 3;
        for _ in 0..20 {
            runs += tracks.update(&reader, &picture, Utc::now(), &objects, &[]).ocr_runs;
        }
        assert_eq!(runs, 3 * 6);
        // Nothing was read: the ended tracks give no plate, and are forgotten.
        assert!(tracks.update(&reader, &picture, Utc::now(), &[], &[1, 2, 3, 6]).plates.is_empty());
        assert_eq!(tracks.len(), 0);

        // A camera with almost no time for plates: the saved-up credit pays
        // for one read, whose cost leaves it in debt; the rest are skipped.
        let mut tracks = PlateTracks::new(PlateBudget { ocr_share: 1e-9, ..PlateBudget::default() }, 5.0);
        let mut step = PlateStep::default();
        for _ in 0..6 {
            let s = tracks.update(&reader, &picture, Utc::now(), &objects, &[]);
            step.ocr_runs += s.ocr_runs;
            step.skipped += s.skipped;
        }
        assert_eq!(step.ocr_runs, 1, "{step:?}");
        assert!(step.skipped >= 5, "{step:?}");
    }

    #[test]
    fn a_split_vote_waits_for_the_end_and_says_how_sure_it_is() {
        let budget = PlateBudget::default();
        let mut t = TrackState { class: "bus", ..TrackState::default() };
        for (text, s) in [("BG 123-AB", 0.9), ("BG 128-AB", 0.6), ("BG 123-AB", 0.9), ("BG 123-AB", 0.9), ("BG 128-AB", 0.6)] {
            t.candidates.push(read(text, s));
        }
        // 2.7 of 3.9 votes: below the confident share.
        assert!(decide(1, &mut t, true, &budget).is_none());
        let p = decide(1, &mut t, false, &budget).unwrap();
        assert_eq!((p.text.as_str(), p.class, p.agreeing, p.reads), ("BG 123-AB", "bus", 3, 5));
        assert!((p.confidence - 0.9 * 2.7 / 3.9).abs() < 1e-4, "{}", p.confidence);
        let mut nothing = TrackState::default();
        assert!(decide(2, &mut nothing, false, &budget).is_none());
    }

    #[test]
    fn the_same_plate_again_within_the_window_is_the_same_vehicle() {
        let mut tracks = PlateTracks::new(PlateBudget::default(), 5.0);
        let plate = |track: u64, text: &str, s: i64| {
            let mut t = TrackState { class: "car", ..TrackState::default() };
            let mut c = read(text, 0.9);
            c.time = DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
            t.candidates.push(c);
            decide(track, &mut t, false, &PlateBudget::default()).unwrap()
        };
        let mut step = PlateStep::default();
        tracks.give(plate(1, "BG 123-AB", 0), &mut step);
        // The car called a truck too, or its track lost and started again.
        tracks.give(plate(2, "BG 123-AB", 20), &mut step);
        tracks.give(plate(3, "NS 456-CD", 30), &mut step);
        // Back after the window: a new sighting.
        tracks.give(plate(4, "BG 123-AB", 61), &mut step);
        assert_eq!(step.plates.iter().map(|p| p.track).collect::<Vec<_>>(), [1, 3, 4]);
        assert_eq!(step.repeats, 1);
    }
}
