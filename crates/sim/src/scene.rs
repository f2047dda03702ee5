//! A synthetic street scene: a road with lanes, vehicles with licence plates
//! driving along them, pedestrians on the pavements, a slow change of light.
//!
//! Owns the scene's geometry and motion only, in "world" units (a 1920×1080
//! canvas whatever the output size); `render` turns it into pixels and
//! ground truth. Everything is a function of (scene index, seed, loop
//! length, frame index): no state, so any frame can be drawn or described
//! on its own, and frame `loop_frames` equals frame 0 (the loop is seamless).
//!
//! Vehicles are side views a COCO-trained detector takes for vehicles:
//! shaded body, cabin with dark glass, wheels with rims, lights, a ground
//! shadow. Their plates are oversized and carried low on the side, between
//! the wheels: at this scene's scale a true-to-life plate would be a few
//! pixels wide and unreadable, and the scene exists to exercise the reader.
//!
//! People are simple shapes — head, torso, arms, legs — never a face.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::font;
use crate::plates::{random_plate, Plate};
use crate::truth::ObjectClass;

pub const WORLD_W: f32 = 1920.0;
pub const WORLD_H: f32 = 1080.0;
/// Where the road is, in world rows.
pub const ROAD_TOP: f32 = 400.0;
pub const ROAD_BOTTOM: f32 = 960.0;
const LANES: usize = 4;
const LANE_H: f32 = (ROAD_BOTTOM - ROAD_TOP) / LANES as f32;
/// Perspective: farther (upper) lanes draw smaller.
const LANE_SCALE: [f32; LANES] = [0.72, 0.82, 0.92, 1.0];
/// Vehicles wait this far off-screen (longer than the longest vehicle).
const MARGIN: f32 = 820.0;
const TRACK: f32 = WORLD_W + 2.0 * MARGIN;
/// Plate capitals are at most this many world units tall on the nearest lane.
const PLATE_CAP: f32 = 22.0;
/// How many distinct scene designs there are; scene `i` uses design `i % 4`.
pub const DESIGNS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

const BLACK: Rgb = Rgb(12, 12, 12);
const WHITE: Rgb = Rgb(250, 250, 250);
const GLASS_TOP: Rgb = Rgb(105, 125, 145);
const GLASS: Rgb = Rgb(28, 36, 46);
const TYRE: Rgb = Rgb(22, 22, 24);
const RIM: Rgb = Rgb(178, 180, 186);
const ARCH: Rgb = Rgb(18, 18, 20);
const HEADLIGHT: Rgb = Rgb(245, 242, 220);
const TAIL_LIGHT: Rgb = Rgb(185, 22, 24);
const PLATE_BLUE: Rgb = Rgb(20, 60, 160);
const ASPHALT: Rgb = Rgb(92, 94, 98);

/// One thing to paint, in world units.
#[derive(Debug, Clone, PartialEq)]
pub enum Paint {
    Rect {
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
        color: Rgb,
    },
    /// A convex polygon, shaded from `top` at its highest point to
    /// `bottom` at its lowest.
    Poly {
        pts: Vec<(f32, f32)>,
        top: Rgb,
        bottom: Rgb,
    },
    Ellipse {
        cx: f32,
        cy: f32,
        rx: f32,
        ry: f32,
        color: Rgb,
    },
    /// Text in the plate typeface ([`crate::plate_font`]), capitals `cap`
    /// tall, top-left corner at (`x`, `y`).
    Label {
        x: f32,
        y: f32,
        cap: f32,
        text: String,
        color: Rgb,
    },
    /// Text in the OSD's bitmap font; `scale` world units per font pixel.
    Text {
        x: f32,
        y: f32,
        scale: f32,
        text: String,
        color: Rgb,
    },
}

impl Paint {
    fn rect(x0: f32, y0: f32, x1: f32, y1: f32, color: Rgb) -> Paint {
        Paint::Rect { x0, y0, x1, y1, color }
    }

    /// World-unit bounds: (x0, y0, x1, y1).
    pub fn bounds(&self) -> (f32, f32, f32, f32) {
        match self {
            Paint::Rect { x0, y0, x1, y1, .. } => (*x0, *y0, *x1, *y1),
            Paint::Poly { pts, .. } => pts.iter().fold((f32::MAX, f32::MAX, f32::MIN, f32::MIN), |b, &(x, y)| (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y))),
            Paint::Ellipse { cx, cy, rx, ry, .. } => (cx - rx, cy - ry, cx + rx, cy + ry),
            // Round letters overshoot the cap height a little; J and Q
            // reach below the baseline and J left of its origin.
            Paint::Label { x, y, cap, text, .. } => (x - 0.1 * cap, y - 0.05 * cap, x + crate::plate_font::text_width(text, *cap), y + 1.3 * cap),
            Paint::Text { x, y, scale, text, .. } => (*x, *y, x + font::text_width(text) as f32 * scale, y + font::GLYPH_H as f32 * scale),
        }
    }
}

/// An object as drawn in one frame: its paint (back to front) and, for
/// vehicles, the plate and its world rectangle.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub track_id: u32,
    pub class: ObjectClass,
    pub parts: Vec<Paint>,
    pub plate: Option<(Plate, (f32, f32, f32, f32))>,
    /// Row of the object's ground contact: nearer objects paint later.
    depth: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VehicleKind {
    Car,
    Bus,
    Truck,
    Motorcycle,
    Bicycle,
}

impl VehicleKind {
    /// Length and height at scale 1, world units.
    fn size(self) -> (f32, f32) {
        match self {
            VehicleKind::Car => (440.0, 150.0),
            VehicleKind::Bus => (760.0, 200.0),
            VehicleKind::Truck => (620.0, 190.0),
            VehicleKind::Motorcycle => (210.0, 110.0),
            VehicleKind::Bicycle => (180.0, 100.0),
        }
    }
}

#[derive(Debug, Clone)]
struct Vehicle {
    track_id: u32,
    /// Rider's track id (motorcycles and bicycles carry a person).
    rider_id: Option<u32>,
    kind: VehicleKind,
    lane: usize,
    /// Position along the lane's loop track at frame 0, world units.
    start: f32,
    /// Whole laps of the track per scene loop (≥ 1): keeps the loop seamless.
    laps: u32,
    color: Rgb,
    rider_color: Rgb,
    plate: Option<Plate>,
}

#[derive(Debug, Clone)]
struct Walker {
    track_id: u32,
    /// Ground row (feet) and size.
    feet_y: f32,
    scale: f32,
    /// Walks between `x0` and `x0 + span` and back once per loop.
    x0: f32,
    span: f32,
    phase: f32,
    clothes: Rgb,
    legs: Rgb,
    hair: Rgb,
}

#[derive(Debug, Clone)]
pub struct Scene {
    pub index: usize,
    pub loop_frames: u32,
    design: usize,
    vehicles: Vec<Vehicle>,
    walkers: Vec<Walker>,
    background: Vec<Paint>,
    /// Lighting: brightness goes from `base` down by `dip` and back over one loop.
    base: f32,
    dip: f32,
}

/// Common car colours (white, silver, black and grey dominate real traffic).
/// Eight entries: the count is part of the scene's random sequence.
const CAR_COLORS: [Rgb; 8] =
    [Rgb(180, 28, 32), Rgb(32, 62, 140), Rgb(232, 232, 228), Rgb(34, 34, 38), Rgb(168, 172, 178), Rgb(96, 98, 104), Rgb(24, 84, 56), Rgb(196, 178, 140)];
const CLOTHES: [Rgb; 6] = [Rgb(180, 40, 40), Rgb(40, 60, 140), Rgb(60, 120, 60), Rgb(200, 180, 60), Rgb(90, 90, 90), Rgb(140, 80, 150)];

impl Scene {
    /// Scene `index` of a simulation seeded with `seed`, looping every
    /// `loop_frames` frames.
    pub fn new(index: usize, seed: u64, loop_frames: u32) -> Scene {
        let loop_frames = loop_frames.max(1);
        let design = index % DESIGNS;
        let mut rng = StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut next_id = 1u32;
        let mut id = || {
            let i = next_id;
            next_id += 1;
            i
        };
        let (base, dip) = match design {
            2 => (0.78, 0.3), // dusk
            _ => (1.0, 0.22),
        };

        let mut vehicles = Vec::new();
        for lane in 0..LANES {
            let count = match design {
                1 => rng.gen_range(2..=3),
                3 => rng.gen_range(1..=2),
                _ => rng.gen_range(1..=3),
            };
            let laps = rng.gen_range(1..=2);
            let offset = rng.gen_range(0.0..TRACK);
            for k in 0..count {
                let kind = match (design, lane, rng.gen_range(0..10)) {
                    (3, 3, _) => VehicleKind::Bicycle,
                    (1, 2..=3, 0..=3) => VehicleKind::Bus,
                    (1, _, 4..=5) => VehicleKind::Truck,
                    (_, 3, 0) => VehicleKind::Bus,
                    (_, 2, 0) => VehicleKind::Truck,
                    (_, _, 9) => VehicleKind::Motorcycle,
                    _ => VehicleKind::Car,
                };
                let color = match kind {
                    VehicleKind::Bus => [Rgb(190, 30, 30), Rgb(30, 90, 170), Rgb(230, 230, 225)][rng.gen_range(0..3)],
                    _ => CAR_COLORS[rng.gen_range(0..CAR_COLORS.len())],
                };
                let has_plate = kind != VehicleKind::Bicycle;
                let rides = matches!(kind, VehicleKind::Motorcycle | VehicleKind::Bicycle);
                vehicles.push(Vehicle {
                    track_id: id(),
                    rider_id: rides.then(&mut id),
                    kind,
                    lane,
                    // Evenly spaced along the track: a lane's vehicles share a
                    // speed, so they never run into each other.
                    start: (offset + k as f32 * TRACK / count as f32) % TRACK,
                    laps,
                    color,
                    rider_color: CLOTHES[rng.gen_range(0..CLOTHES.len())],
                    plate: has_plate.then(|| random_plate(&mut rng)),
                });
            }
        }

        let mut walkers = Vec::new();
        let walkers_n = if design == 3 { 7 } else { 4 };
        for _ in 0..walkers_n {
            let near = rng.gen_bool(0.5);
            let (feet_y, scale) = if near { (1066.0, 1.0) } else { (396.0, 0.68) };
            walkers.push(Walker {
                track_id: id(),
                feet_y: feet_y - rng.gen_range(0.0..8.0),
                scale,
                x0: rng.gen_range(40.0..WORLD_W - 500.0),
                span: rng.gen_range(160.0..420.0),
                phase: rng.gen_range(0.0..1.0),
                clothes: CLOTHES[rng.gen_range(0..CLOTHES.len())],
                legs: [Rgb(40, 40, 60), Rgb(70, 60, 50), Rgb(30, 30, 30)][rng.gen_range(0..3)],
                hair: [Rgb(60, 40, 25), Rgb(30, 25, 20), Rgb(150, 120, 80), Rgb(120, 120, 120)][rng.gen_range(0..4)],
            });
        }
        let background = background(design, &mut rng);
        Scene { index, loop_frames, design, vehicles, walkers, background, base, dip }
    }

    /// The static part: sky, buildings, pavements, road and its markings.
    pub fn background(&self) -> &[Paint] {
        &self.background
    }

    /// 1.0 = full daylight. Periodic over the loop, so the loop is seamless.
    pub fn brightness(&self, frame: u32) -> f32 {
        let t = (frame % self.loop_frames) as f32 / self.loop_frames as f32;
        self.base - self.dip * (1.0 - (2.0 * std::f32::consts::PI * t).cos()) / 2.0
    }

    /// The on-screen display's text: scene and loop frame index.
    pub fn osd(&self, frame: u32) -> String {
        format!("S{} {:04}", self.index, frame % self.loop_frames)
    }

    pub fn design(&self) -> usize {
        self.design
    }

    /// The moving objects of `frame`, back to front.
    pub fn objects(&self, frame: u32) -> Vec<Drawn> {
        let t = (frame % self.loop_frames) as f32 / self.loop_frames as f32;
        // Whole strides per loop (about one every 7 frames), so legs loop too.
        let strides = (self.loop_frames / 7).max(1) as f32;
        let stride_at = |phase: f32| (2.0 * std::f32::consts::PI * (strides * t + phase)).sin();
        let mut out = Vec::new();
        for v in &self.vehicles {
            let (len, _) = v.kind.size();
            let scale = LANE_SCALE[v.lane];
            let len = len * scale;
            let s = (v.start + v.laps as f32 * TRACK * t) % TRACK;
            // Lanes 0–1 drive right to left, 2–3 left to right.
            let forward = v.lane >= 2;
            let x = if forward { s - MARGIN } else { WORLD_W + MARGIN - s - len };
            if x > WORLD_W || x + len < 0.0 {
                continue;
            }
            let ground = ROAD_TOP + (v.lane + 1) as f32 * LANE_H - 14.0;
            out.extend(vehicle(v, x, ground, scale, forward, stride_at(0.0)));
        }
        for w in &self.walkers {
            // Triangle wave: out along the pavement and back once per loop.
            let p = (t + w.phase) % 1.0;
            let along = if p < 0.5 { p * 2.0 } else { 2.0 - p * 2.0 };
            let x = w.x0 + w.span * along;
            let stride = stride_at(w.phase);
            out.push(person(w.track_id, x, w.feet_y, w.scale, stride, w.clothes, w.legs, w.hair));
        }
        out.sort_by(|a, b| a.depth.total_cmp(&b.depth));
        out
    }
}

fn background(design: usize, rng: &mut StdRng) -> Vec<Paint> {
    let mut p = Vec::new();
    let sky = if design == 2 { Rgb(70, 80, 120) } else { Rgb(150, 190, 225) };
    p.push(Paint::rect(0.0, 0.0, WORLD_W, ROAD_TOP, sky));
    // A row of buildings with windows.
    let mut x = 0.0;
    while x < WORLD_W {
        let w = rng.gen_range(180.0..340.0);
        let top = rng.gen_range(40.0..200.0);
        let shade = rng.gen_range(110..190u8);
        let wall = match design {
            1 => Rgb(shade, shade - 20, shade - 40),
            2 => Rgb(shade / 2 + 20, shade / 2 + 15, shade / 2 + 30),
            _ => Rgb(shade, shade, shade - 10),
        };
        p.push(Paint::rect(x, top, x + w, 360.0, wall));
        let mut wy = top + 24.0;
        while wy + 40.0 < 340.0 {
            let mut wx = x + 20.0;
            while wx + 30.0 < x + w - 10.0 {
                let lit = design == 2 && rng.gen_bool(0.4);
                p.push(Paint::rect(wx, wy, wx + 30.0, wy + 40.0, if lit { Rgb(240, 210, 120) } else { Rgb(60, 75, 95) }));
                wx += 50.0;
            }
            wy += 64.0;
        }
        x += w + rng.gen_range(0.0..30.0);
    }
    // Pavements and kerbs.
    p.push(Paint::rect(0.0, 360.0, WORLD_W, ROAD_TOP, Rgb(170, 165, 155)));
    p.push(Paint::rect(0.0, ROAD_BOTTOM, WORLD_W, WORLD_H, Rgb(170, 165, 155)));
    p.push(Paint::rect(0.0, ROAD_TOP - 6.0, WORLD_W, ROAD_TOP, Rgb(120, 120, 115)));
    p.push(Paint::rect(0.0, ROAD_BOTTOM, WORLD_W, ROAD_BOTTOM + 6.0, Rgb(120, 120, 115)));
    p.push(Paint::rect(0.0, ROAD_TOP, WORLD_W, ROAD_BOTTOM, ASPHALT));
    // Lane markings: a double line between the directions, dashes between lanes.
    let mid = ROAD_TOP + 2.0 * LANE_H;
    p.push(Paint::rect(0.0, mid - 9.0, WORLD_W, mid - 4.0, WHITE));
    p.push(Paint::rect(0.0, mid + 4.0, WORLD_W, mid + 9.0, WHITE));
    for lane_edge in [ROAD_TOP + LANE_H, ROAD_TOP + 3.0 * LANE_H] {
        let mut x = 20.0;
        while x < WORLD_W {
            p.push(Paint::rect(x, lane_edge - 3.0, x + 90.0, lane_edge + 3.0, WHITE));
            x += 180.0;
        }
    }
    p
}

/// `c` scaled by `f` (below 1 darker, above 1 lighter), clamped.
fn darker(c: Rgb, f: f32) -> Rgb {
    let m = |v: u8| (v as f32 * f).round().clamp(0.0, 255.0) as u8;
    Rgb(m(c.0), m(c.1), m(c.2))
}

/// `c` moved towards white by `t` (0..=1): the sky's sheen on upper surfaces.
fn sheen(c: Rgb, t: f32) -> Rgb {
    let m = |v: u8| (v as f32 + (255.0 - v as f32) * t).round() as u8;
    Rgb(m(c.0), m(c.1), m(c.2))
}

/// A vehicle's own coordinates: `u` along it from its back (0) to its
/// front (1), `v` up from the ground (0) to its top (1); mirrored for
/// vehicles facing left.
struct Body {
    x: f32,
    ground: f32,
    len: f32,
    h: f32,
    forward: bool,
}

impl Body {
    fn at(&self, u: f32, v: f32) -> (f32, f32) {
        let u = if self.forward { u } else { 1.0 - u };
        (self.x + u * self.len, self.ground - v * self.h)
    }

    fn shaded(&self, pts: &[(f32, f32)], top: Rgb, bottom: Rgb) -> Paint {
        Paint::Poly { pts: pts.iter().map(|&(u, v)| self.at(u, v)).collect(), top, bottom }
    }

    fn flat(&self, pts: &[(f32, f32)], c: Rgb) -> Paint {
        self.shaded(pts, c, c)
    }

    /// An axis-aligned box from `u0`..`u1`, `v0`..`v1`.
    fn panel(&self, u0: f32, v0: f32, u1: f32, v1: f32, c: Rgb) -> Paint {
        self.flat(&[(u0, v0), (u1, v0), (u1, v1), (u0, v1)], c)
    }

    /// The contact shadow under the whole vehicle.
    fn shadow(&self) -> Paint {
        let (cx, _) = self.at(0.5, 0.0);
        Paint::Ellipse { cx, cy: self.ground - 0.01 * self.h, rx: 0.49 * self.len, ry: 0.035 * self.h, color: Rgb(42, 43, 47) }
    }

    /// A wheel of radius `r` (world units) standing on the ground at `u`:
    /// the dark wheel arch above it (if `arch`), tyre, rim and hub.
    fn wheel(&self, parts: &mut Vec<Paint>, u: f32, r: f32, arch: bool, rim: Rgb) {
        let (cx, cy) = self.at(u, 0.0);
        let cy = cy - r;
        if arch {
            let big = 1.14 * r;
            let pts = (0..=10).map(|k| std::f32::consts::PI * k as f32 / 10.0).map(|a| (cx + big * a.cos(), cy - big * a.sin())).collect();
            parts.push(Paint::Poly { pts, top: ARCH, bottom: ARCH });
        }
        parts.push(Paint::Ellipse { cx, cy, rx: r, ry: r, color: TYRE });
        parts.push(Paint::Ellipse { cx, cy, rx: 0.62 * r, ry: 0.62 * r, color: rim });
        parts.push(Paint::Ellipse { cx, cy, rx: 0.42 * r, ry: 0.42 * r, color: darker(rim, 0.72) });
        parts.push(Paint::Ellipse { cx, cy, rx: 0.16 * r, ry: 0.16 * r, color: darker(rim, 0.5) });
    }
}

/// Plate layout: capitals `cap` tall, text `tw` wide; returns the plate's
/// width and height. A blue band with no lettering stands at the left, as
/// on Serbian and EU plates.
fn plate_size(tw: f32, cap: f32) -> (f32, f32) {
    (tw + cap * PLATE_SIDE, cap * PLATE_HEIGHT)
}
/// Band, padding and border around the text, in capital heights.
const PLATE_BAND: f32 = 0.55;
const PLATE_PAD: f32 = 0.3;
const PLATE_SIDE: f32 = PLATE_BAND + 2.0 * PLATE_PAD;
const PLATE_HEIGHT: f32 = 1.75;
/// Height of the text's box in capital heights, descenders included.
const PLATE_TEXT: f32 = 1.27;

/// The largest capital height, at most `cap`, whose plate fits in `room` world units.
fn plate_cap(text: &str, cap: f32, room: f32) -> f32 {
    let per_cap = crate::plate_font::text_width(text, 1.0) + PLATE_SIDE;
    cap.min(room / per_cap)
}

/// A plate's paint, top-left corner at (`x0`, `y0`).
fn plate_paint(text: &str, x0: f32, y0: f32, cap: f32) -> (Vec<Paint>, (f32, f32, f32, f32)) {
    let tw = crate::plate_font::text_width(text, cap);
    let (pw, ph) = plate_size(tw, cap);
    let border = (0.12 * cap).max(2.5);
    let band = PLATE_BAND * cap;
    let parts = vec![
        Paint::rect(x0, y0, x0 + pw, y0 + ph, BLACK),
        Paint::rect(x0 + border, y0 + border, x0 + pw - border, y0 + ph - border, WHITE),
        Paint::rect(x0 + border, y0 + border, x0 + border + band, y0 + ph - border, PLATE_BLUE),
        Paint::Label { x: x0 + border + band + PLATE_PAD * cap - border, y: y0 + (ph - PLATE_TEXT * cap) / 2.0, cap, text: text.to_owned(), color: BLACK },
    ];
    (parts, (x0, y0, x0 + pw, y0 + ph))
}

/// A vehicle (and its rider, if any) with its left end at `x`, wheels on
/// row `ground`.
fn vehicle(v: &Vehicle, x: f32, ground: f32, s: f32, forward: bool, pedal: f32) -> Vec<Drawn> {
    let (len, h) = v.kind.size();
    let (len, h) = (len * s, h * s);
    let b = Body { x, ground, len, h, forward };
    let c = v.color;
    let mut parts = vec![b.shadow()];
    // Where the plate may go: (u of its centre, room along the body, v of its bottom).
    let plate_at: (f32, f32, f32);
    let class;
    match v.kind {
        VehicleKind::Car => {
            class = ObjectClass::Car;
            let r = 0.19 * h;
            parts.push(b.shaded(
                &[(0.0, 0.17), (0.0, 0.46), (0.035, 0.55), (0.27, 0.6), (0.72, 0.61), (0.95, 0.53), (1.0, 0.44), (1.0, 0.2), (0.975, 0.12), (0.025, 0.12)],
                sheen(c, 0.25),
                darker(c, 0.55),
            ));
            parts.push(b.shaded(&[(0.21, 0.58), (0.34, 0.97), (0.37, 1.0), (0.61, 1.0), (0.645, 0.97), (0.79, 0.6)], sheen(c, 0.3), c));
            parts.push(b.shaded(&[(0.235, 0.62), (0.35, 0.93), (0.605, 0.93), (0.745, 0.62)], GLASS_TOP, GLASS));
            parts.push(b.flat(&[(0.475, 0.62), (0.48, 0.93), (0.5, 0.93), (0.495, 0.62)], darker(c, 0.6)));
            for u in [0.27, 0.488, 0.722] {
                parts.push(b.panel(u, 0.2, u + 0.004, 0.59, darker(c, 0.45)));
            }
            for u in [0.4, 0.62] {
                parts.push(b.panel(u, 0.5, u + 0.04, 0.525, darker(c, 0.6)));
            }
            parts.push(b.panel(0.03, 0.12, 0.97, 0.16, Rgb(30, 30, 33)));
            parts.push(b.flat(&[(0.76, 0.6), (0.79, 0.6), (0.79, 0.67), (0.765, 0.68)], darker(c, 0.8)));
            parts.push(b.flat(&[(0.955, 0.42), (0.998, 0.42), (0.99, 0.49), (0.955, 0.5)], HEADLIGHT));
            parts.push(b.flat(&[(0.002, 0.38), (0.03, 0.38), (0.034, 0.5), (0.004, 0.47)], TAIL_LIGHT));
            for u in [0.17, 0.83] {
                b.wheel(&mut parts, u, r, true, RIM);
            }
            let gap = 0.66 - 2.0 * 1.14 * r / len;
            plate_at = (0.5, gap * len - 6.0 * s, 0.13);
        }
        VehicleKind::Bus => {
            class = ObjectClass::Bus;
            let r = 0.17 * h;
            parts.push(b.shaded(
                &[(0.0, 0.1), (0.0, 0.95), (0.012, 1.0), (0.988, 1.0), (1.0, 0.95), (1.0, 0.1), (0.99, 0.05), (0.01, 0.05)],
                sheen(c, 0.2),
                darker(c, 0.6),
            ));
            parts.push(b.panel(0.0, 0.97, 1.0, 1.0, darker(c, 0.8)));
            parts.push(b.shaded(&[(0.02, 0.58), (0.88, 0.58), (0.88, 0.9), (0.02, 0.9)], GLASS_TOP, GLASS));
            let mut u = 0.14;
            while u < 0.86 {
                parts.push(b.panel(u, 0.58, u + 0.012, 0.9, darker(c, 0.8)));
                u += 0.145;
            }
            parts.push(b.shaded(&[(0.9, 0.1), (0.97, 0.1), (0.97, 0.92), (0.9, 0.92)], GLASS_TOP, GLASS));
            parts.push(b.panel(0.932, 0.1, 0.938, 0.92, darker(c, 0.5)));
            parts.push(b.panel(0.0, 0.05, 1.0, 0.1, Rgb(35, 35, 38)));
            parts.push(b.panel(0.985, 0.16, 1.0, 0.24, HEADLIGHT));
            parts.push(b.panel(0.0, 0.16, 0.012, 0.3, TAIL_LIGHT));
            for u in [0.14, 0.78] {
                b.wheel(&mut parts, u, r, true, Rgb(150, 152, 158));
            }
            plate_at = (0.46, (0.64 - 2.0 * 1.14 * r / len) * len - 10.0 * s, 0.1);
        }
        VehicleKind::Truck => {
            class = ObjectClass::Truck;
            // A lorry: box body and a tall, flat-fronted cab as high as the
            // box, so the cab alone does not pass for a car.
            let r = 0.16 * h;
            parts.push(b.panel(0.0, 0.12, 1.0, 0.24, Rgb(40, 40, 44)));
            parts.push(b.shaded(&[(0.0, 0.22), (0.0, 1.0), (0.7, 1.0), (0.7, 0.22)], Rgb(238, 238, 234), Rgb(168, 168, 164)));
            let mut u = 0.1;
            while u < 0.69 {
                parts.push(b.panel(u, 0.24, u + 0.005, 0.98, Rgb(190, 190, 186)));
                u += 0.1;
            }
            parts.push(b.shaded(&[(0.715, 0.14), (0.715, 0.97), (0.965, 0.97), (1.0, 0.9), (1.0, 0.14)], sheen(c, 0.25), darker(c, 0.6)));
            parts.push(b.shaded(&[(0.83, 0.56), (0.83, 0.88), (0.96, 0.88), (0.985, 0.82), (0.985, 0.56)], GLASS_TOP, GLASS));
            parts.push(b.panel(0.82, 0.2, 0.824, 0.9, darker(c, 0.45)));
            parts.push(b.panel(0.74, 0.2, 0.8, 0.27, Rgb(45, 45, 48)));
            parts.push(b.panel(0.97, 0.14, 1.0, 0.26, Rgb(45, 45, 48)));
            parts.push(b.panel(0.985, 0.3, 1.0, 0.4, HEADLIGHT));
            parts.push(b.panel(0.0, 0.26, 0.01, 0.38, TAIL_LIGHT));
            for u in [0.1, 0.22, 0.86] {
                b.wheel(&mut parts, u, r, false, Rgb(150, 152, 158));
            }
            let (lo, hi) = (0.22 + 1.1 * r / len, 0.86 - 1.1 * r / len);
            plate_at = ((lo + hi) / 2.0 - 0.05, (hi - lo - 0.1) * len, 0.27);
        }
        VehicleKind::Motorcycle => {
            class = ObjectClass::Motorcycle;
            let r = 0.3 * h;
            for u in [0.17, 0.83] {
                b.wheel(&mut parts, u, r, false, Rgb(120, 122, 128));
            }
            parts.push(b.flat(&[(0.8, 0.32), (0.84, 0.3), (0.77, 0.9), (0.74, 0.9)], Rgb(150, 152, 158)));
            parts.push(b.panel(0.38, 0.22, 0.62, 0.5, Rgb(60, 62, 66)));
            parts.push(b.flat(&[(0.12, 0.3), (0.5, 0.22), (0.5, 0.27), (0.12, 0.36)], Rgb(190, 192, 198)));
            parts.push(b.shaded(&[(0.48, 0.5), (0.52, 0.8), (0.74, 0.82), (0.76, 0.55)], sheen(c, 0.3), darker(c, 0.6)));
            parts.push(b.shaded(&[(0.2, 0.6), (0.26, 0.7), (0.52, 0.68), (0.5, 0.58)], Rgb(50, 50, 54), Rgb(25, 25, 28)));
            parts.push(b.flat(&[(0.82, 0.72), (0.9, 0.72), (0.9, 0.84), (0.82, 0.84)], HEADLIGHT));
            plate_at = (0.32, 0.64 * len, 0.6);
        }
        VehicleKind::Bicycle => {
            class = ObjectClass::Bicycle;
            let r = 0.34 * h;
            for u in [0.18, 0.82] {
                let (cx, cy) = b.at(u, 0.0);
                let cy = cy - r;
                parts.push(Paint::Ellipse { cx, cy, rx: r, ry: r, color: Rgb(40, 40, 44) });
                parts.push(Paint::Ellipse { cx, cy, rx: 0.86 * r, ry: 0.86 * r, color: ASPHALT });
                parts.push(Paint::Ellipse { cx, cy, rx: 0.12 * r, ry: 0.12 * r, color: Rgb(160, 160, 165) });
            }
            let tube = 0.025;
            for (a, bb) in [
                ((0.18, 0.34), (0.45, 0.34)),
                ((0.45, 0.34), (0.75, 0.66)),
                ((0.36, 0.7), (0.75, 0.66)),
                ((0.18, 0.34), (0.36, 0.7)),
                ((0.45, 0.34), (0.34, 0.76)),
                ((0.82, 0.34), (0.74, 0.86)),
            ] {
                parts.push(b.flat(&[(a.0 - tube, a.1), (a.0 + tube, a.1), (bb.0 + tube, bb.1), (bb.0 - tube, bb.1)], c));
            }
            parts.push(b.panel(0.3, 0.76, 0.4, 0.8, Rgb(30, 30, 30)));
            plate_at = (0.5, 0.0, 0.0);
        }
    }
    let depth = ground;
    let mut plate = None;
    if let Some(p) = &v.plate {
        let (u, room, v_bottom) = plate_at;
        let scale = if v.kind == VehicleKind::Motorcycle { 0.75 * s } else { s };
        let cap = plate_cap(&p.text, PLATE_CAP * scale, room);
        let (pw, ph) = plate_size(crate::plate_font::text_width(&p.text, cap), cap);
        let (cx, bottom) = b.at(u, v_bottom);
        let (paint, rect) = plate_paint(&p.text, cx - pw / 2.0, bottom - ph, cap);
        parts.extend(paint);
        plate = Some((p.clone(), rect));
    }
    let mut out = vec![Drawn { track_id: v.track_id, class, parts, plate, depth }];
    if let Some(rider) = v.rider_id {
        // Seated: the rider's feet are level with the axles.
        let stride = if v.kind == VehicleKind::Bicycle { pedal } else { 0.0 };
        let seat_x = b.at(0.4, 0.0).0;
        out.push(person(rider, seat_x, ground - 0.45 * h, 0.8 * s, stride, v.rider_color, Rgb(40, 40, 50), Rgb(50, 40, 30)));
        // Painted before the vehicle, which hides the legs and never the plate.
        if let Some(p) = out.last_mut() {
            p.depth = depth - 0.5;
        }
    }
    out
}

/// A standing or walking person centred on `x`, feet on `feet_y`: head,
/// torso, swinging arms and legs. No face is ever drawn.
#[allow(clippy::too_many_arguments)]
fn person(track_id: u32, x: f32, feet_y: f32, s: f32, stride: f32, clothes: Rgb, legs: Rgb, hair: Rgb) -> Drawn {
    let (head, torso, leg_h) = (30.0 * s, 62.0 * s, 70.0 * s);
    let hip = feet_y - leg_h;
    let shoulder = hip - torso;
    let top = shoulder - head;
    let spread = 9.0 * s * stride;
    let quad = |x0: f32, y0: f32, x1: f32, y1: f32, w0: f32, w1: f32| vec![(x0 - w0 / 2.0, y0), (x0 + w0 / 2.0, y0), (x1 + w1 / 2.0, y1), (x1 - w1 / 2.0, y1)];
    let mut parts = Vec::new();
    for (side, swing) in [(-1.0, spread), (1.0, -spread)] {
        let hx = x + side * 6.5 * s;
        parts.push(Paint::Poly { pts: quad(hx, hip - 4.0 * s, hx + swing, feet_y, 14.0 * s, 11.0 * s), top: legs, bottom: darker(legs, 0.6) });
    }
    parts.push(Paint::Poly {
        pts: vec![
            (x - 21.0 * s, shoulder + 6.0 * s),
            (x - 15.0 * s, shoulder),
            (x + 15.0 * s, shoulder),
            (x + 21.0 * s, shoulder + 6.0 * s),
            (x + 17.0 * s, hip + 4.0 * s),
            (x - 17.0 * s, hip + 4.0 * s),
        ],
        top: sheen(clothes, 0.15),
        bottom: darker(clothes, 0.7),
    });
    for (side, swing) in [(-1.0, -spread), (1.0, spread)] {
        let sx = x + side * 19.0 * s;
        parts.push(Paint::Poly {
            pts: quad(sx, shoulder + 5.0 * s, sx + side * 2.0 * s + swing, hip + 2.0 * s, 9.0 * s, 8.0 * s),
            top: darker(clothes, 0.85),
            bottom: darker(clothes, 0.6),
        });
    }
    parts.push(Paint::Ellipse { cx: x, cy: top + head / 2.0, rx: 11.5 * s, ry: head / 2.0, color: hair });
    Drawn { track_id, class: ObjectClass::Person, parts, plate: None, depth: feet_y }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenes_are_deterministic_and_loop_seamlessly() {
        let a = Scene::new(1, 42, 150);
        let b = Scene::new(1, 42, 150);
        for f in [0, 17, 149] {
            let pa: Vec<_> = a.objects(f).into_iter().map(|d| (d.track_id, d.parts)).collect();
            let pb: Vec<_> = b.objects(f).into_iter().map(|d| (d.track_id, d.parts)).collect();
            assert_eq!(pa, pb);
        }
        let first: Vec<_> = a.objects(0).into_iter().map(|d| d.parts).collect();
        let again: Vec<_> = a.objects(150).into_iter().map(|d| d.parts).collect();
        assert_eq!(first, again, "frame loop_frames is frame 0");
        assert!((a.brightness(0) - a.brightness(150)).abs() < 1e-6);
        assert!(a.brightness(75) < a.brightness(0) - 0.1, "the light dims mid-loop");
        assert_ne!(Scene::new(2, 42, 150).background(), a.background(), "scenes differ");
    }
}
