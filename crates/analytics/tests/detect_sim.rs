//! NanoDet against the simulator's ground truth: precision and recall for
//! cars at IoU 0.5 over frames of every scene design, and a golden frame.

mod common;

use citywatch_analytics::{BBox, Detection, Detector, ObjectClass};
use citywatch_sim::scene::Scene;
use citywatch_sim::truth::{ObjectClass as TruthClass, ObjectTruth};

fn truth_box(o: &ObjectTruth) -> BBox {
    let b = o.bbox;
    BBox { x0: b.x as f32, y0: b.y as f32, x1: b.right() as f32, y1: b.bottom() as f32 }
}

#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    frames: u32,
    truth: u32,
    tp: u32,
    fp: u32,
    fn_: u32,
}

impl Tally {
    fn precision(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }
    fn recall(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
    }
    fn add(&mut self, o: Tally) {
        self.frames += o.frames;
        self.truth += o.truth;
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

/// Objects of `class` that are whole and unhidden must be found; a
/// detection on a cut-off or hidden one counts neither way; any other
/// detection of that class is false.
fn score(class: ObjectClass, found: &[Detection], truth: &[ObjectTruth]) -> Tally {
    let want = match class {
        ObjectClass::Car => TruthClass::Car,
        ObjectClass::Person => TruthClass::Person,
        _ => unreachable!("only cars and people are scored"),
    };
    let cars: Vec<&ObjectTruth> = truth.iter().filter(|o| o.class == want).collect();
    let mut used = vec![false; cars.len()];
    let mut t = Tally { frames: 1, truth: cars.iter().filter(|c| !c.truncated && !c.occluded).count() as u32, ..Tally::default() };
    let mut dets: Vec<&Detection> = found.iter().filter(|d| d.class == class).collect();
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    for d in dets {
        let best = cars.iter().enumerate().filter(|(i, _)| !used[*i]).map(|(i, c)| (i, d.bbox.iou(&truth_box(c)))).max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, iou)) if iou >= 0.5 => {
                used[i] = true;
                if !cars[i].truncated && !cars[i].occluded {
                    t.tp += 1;
                }
            }
            _ => t.fp += 1,
        }
    }
    t.fn_ = t.truth - t.tp;
    t
}

/// Floors a little under what was measured (people 0.98 / 0.58 over 171,
/// cars 0.94 / 0.99 over 74), so that a regression in the detector or in
/// the simulator's drawing fails.
const PERSON_PRECISION: f64 = 0.9;
const PERSON_RECALL: f64 = 0.45;
const CAR_PRECISION: f64 = 0.85;
const CAR_RECALL: f64 = 0.9;

fn row(label: &str, t: &Tally) {
    println!("{label:<12}  {:>6}  {:>5}  {:>3}  {:>3}  {:>3}  {:>9.2}  {:>6.2}", t.frames, t.truth, t.tp, t.fp, t.fn_, t.precision(), t.recall());
}

/// Every 15th frame of each of the four scene designs at the sub-stream
/// size, scored for cars and for people.
///
/// Measured (NanoDet-g 416, threshold 0.35): people P 0.98 / R 0.58 (far
/// pavement people, ~37 px tall, are missed); cars P 0.94 / R 0.99. The
/// false cars are mostly the cut-off ends of other vehicles at the frame's
/// edge (a bus or motorcycle nose taken for a car). Before the simulator
/// drew shaped, shaded vehicles with wheels and glass, cars were flat
/// rectangles and recall was 0.
#[test]
fn simulated_scenes_precision_and_recall() {
    let dir = common::models();
    let detector = Detector::new(&dir, 1).unwrap();
    let (mut cars, mut people) = (Tally::default(), Tally::default());
    println!("{:<12}  frames  truth   TP   FP   FN  precision  recall", "scene/class");
    for s in 0..4 {
        let scene = Scene::new(s, common::SEED, common::LOOP);
        let (mut c, mut p) = (Tally::default(), Tally::default());
        for f in (0..common::LOOP).step_by(15) {
            let (img, truth) = common::sim_frame(&scene, f);
            let found = detector.detect(&img).unwrap();
            c.add(score(ObjectClass::Car, &found, &truth.objects));
            p.add(score(ObjectClass::Person, &found, &truth.objects));
        }
        row(&format!("{s} car"), &c);
        row(&format!("{s} person"), &p);
        cars.add(c);
        people.add(p);
    }
    row("all car", &cars);
    row("all person", &people);
    assert!(cars.truth >= 40 && people.truth >= 40, "enough objects to measure: {cars:?} {people:?}");
    assert!(people.precision() >= PERSON_PRECISION && people.recall() >= PERSON_RECALL, "people: {people:?}");
    assert!(cars.precision() >= CAR_PRECISION && cars.recall() >= CAR_RECALL, "cars: {cars:?}");
}

/// Scene 0, frame 30 (three people on the near pavement, a car, a
/// motorcycle with its rider, a far pedestrian): the boxes NanoDet gave when
/// this test was written, to within 3 px, and the truth boxes to within
/// 8 px. It finds the car and the three near people; it misses the far
/// pedestrian (10×37 px), the motorcycle and its rider, and takes the
/// motorcycle's front fork and lamp for a person (score 0.37).
#[test]
fn golden_frame() {
    let dir = common::models();
    let detector = Detector::new(&dir, 1).unwrap();
    let scene = Scene::new(0, common::SEED, common::LOOP);
    let (img, truth) = common::sim_frame(&scene, 30);
    let found = detector.detect(&img).unwrap();
    let boxes = |class: ObjectClass| {
        let mut b: Vec<[f32; 4]> = found.iter().filter(|d| d.class == class).map(|d| d.bbox.into()).collect();
        b.sort_by(|a, b| a[0].total_cmp(&b[0]));
        b
    };
    // The motorcycle's front, which has no person's truth box, is second.
    let people = [[48.7, 294.0, 68.4, 353.1], [67.0, 288.0, 86.3, 318.4], [170.5, 298.0, 192.4, 355.2], [463.4, 299.1, 487.4, 355.7]];
    let cars = [[461.3, 225.0, 599.2, 269.9]];
    for (got, want, truth_class, mistaken) in
        [(boxes(ObjectClass::Person), &people[..], TruthClass::Person, Some(1)), (boxes(ObjectClass::Car), &cars[..], TruthClass::Car, None)]
    {
        assert_eq!(got.len(), want.len(), "{found:?}");
        for (i, (got, want)) in got.iter().zip(want).enumerate() {
            assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 3.0), "{got:?} vs {want:?}");
            if mistaken == Some(i) {
                continue;
            }
            let t = truth
                .objects
                .iter()
                .filter(|o| o.class == truth_class)
                .map(truth_box)
                .find(|t| t.iou(&BBox::from(*got)) > 0.5)
                .expect("matches a true object of its class");
            let t: [f32; 4] = t.into();
            assert!(got.iter().zip(t).all(|(g, w)| (g - w).abs() <= 8.0), "{got:?} vs truth {t:?}");
        }
    }
    assert!(found.iter().all(|d| matches!(d.class, ObjectClass::Person | ObjectClass::Car)), "nothing but the people and the car: {found:?}");
}
