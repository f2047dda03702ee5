//! A synthetic street scene: a road with lanes, vehicles with licence plates
//! driving along them, pedestrians on the pavements, a slow change of light.
//!
//! Owns the scene's geometry and motion only, in "world" units (a 1920×1080
//! canvas whatever the output size); `render` turns it into pixels and
//! ground truth. Everything is a function of (scene index, seed, loop
//! length, frame index): no state, so any frame can be drawn or described
//! on its own, and frame `loop_frames` equals frame 0 (the loop is seamless).
//!
//! People are simple coloured blocks — head, torso, legs — never a face.

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
/// Plate characters are this many world units per font pixel, at scale 1.
const PLATE_FONT: f32 = 4.0;
/// How many distinct scene designs there are; scene `i` uses design `i % 4`.
pub const DESIGNS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

const BLACK: Rgb = Rgb(12, 12, 12);
const WHITE: Rgb = Rgb(250, 250, 250);
const GLASS: Rgb = Rgb(45, 58, 70);
const TYRE: Rgb = Rgb(22, 22, 24);
const ASPHALT: Rgb = Rgb(92, 94, 98);

/// One thing to paint, in world units.
#[derive(Debug, Clone, PartialEq)]
pub enum Paint {
    Rect { x0: f32, y0: f32, x1: f32, y1: f32, color: Rgb },
    /// Text in the built-in font; `scale` world units per font pixel.
    Text { x: f32, y: f32, scale: f32, text: String, color: Rgb },
}

impl Paint {
    fn rect(x0: f32, y0: f32, x1: f32, y1: f32, color: Rgb) -> Paint {
        Paint::Rect { x0, y0, x1, y1, color }
    }

    /// World-unit bounds: (x0, y0, x1, y1).
    pub fn bounds(&self) -> (f32, f32, f32, f32) {
        match self {
            Paint::Rect { x0, y0, x1, y1, .. } => (*x0, *y0, *x1, *y1),
            Paint::Text { x, y, scale, text, .. } => {
                (*x, *y, x + font::text_width(text) as f32 * scale, y + font::GLYPH_H as f32 * scale)
            }
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
            VehicleKind::Car => (380.0, 140.0),
            VehicleKind::Bus => (760.0, 200.0),
            VehicleKind::Truck => (620.0, 190.0),
            VehicleKind::Motorcycle => (190.0, 80.0),
            VehicleKind::Bicycle => (170.0, 70.0),
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

const CAR_COLORS: [Rgb; 8] = [
    Rgb(200, 30, 35), Rgb(30, 70, 160), Rgb(235, 235, 230), Rgb(40, 40, 45),
    Rgb(150, 155, 160), Rgb(20, 110, 60), Rgb(230, 170, 30), Rgb(120, 60, 30),
];
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

fn darker(c: Rgb, f: f32) -> Rgb {
    Rgb((c.0 as f32 * f) as u8, (c.1 as f32 * f) as u8, (c.2 as f32 * f) as u8)
}

/// A vehicle (and its rider, if any) with its left end at `x`, wheels on
/// row `ground`.
fn vehicle(v: &Vehicle, x: f32, ground: f32, s: f32, forward: bool, pedal: f32) -> Vec<Drawn> {
    let (len, h) = v.kind.size();
    let (len, h) = (len * s, h * s);
    let r = |x0: f32, y0: f32, x1: f32, y1: f32, c: Rgb| Paint::rect(x + x0 * len, ground - y0 * h, x + x1 * len, ground - y1 * h, c);
    // Mirror horizontal fractions for vehicles facing left.
    let m = |a: f32, b: f32| if forward { (a, b) } else { (1.0 - b, 1.0 - a) };
    let mut parts = Vec::new();
    let mut plate_scale = PLATE_FONT * s;
    let mut plate_bottom = ground - 0.25 * h;
    let class;
    match v.kind {
        VehicleKind::Car => {
            class = ObjectClass::Car;
            parts.push(r(0.0, 0.68, 1.0, 0.18, v.color));
            let (a, b) = m(0.18, 0.78);
            parts.push(r(a, 1.0, b, 0.68, darker(v.color, 0.85)));
            let (a, b) = m(0.22, 0.74);
            parts.push(r(a, 0.94, b, 0.72, GLASS));
            for (a, b) in [m(0.1, 0.28), m(0.7, 0.88)] {
                parts.push(r(a, 0.28, b, 0.0, TYRE));
            }
        }
        VehicleKind::Bus => {
            class = ObjectClass::Bus;
            parts.push(r(0.0, 1.0, 1.0, 0.14, v.color));
            parts.push(r(0.03, 0.9, 0.97, 0.58, GLASS));
            let mut f = 0.15;
            while f < 0.95 {
                parts.push(r(f, 0.9, f + 0.015, 0.58, v.color));
                f += 0.16;
            }
            for (a, b) in [m(0.08, 0.2), m(0.72, 0.84)] {
                parts.push(r(a, 0.22, b, 0.0, TYRE));
            }
        }
        VehicleKind::Truck => {
            class = ObjectClass::Truck;
            let (a, b) = m(0.0, 0.72);
            parts.push(r(a, 1.0, b, 0.16, Rgb(215, 215, 210)));
            let (a, b) = m(0.74, 1.0);
            parts.push(r(a, 0.8, b, 0.16, v.color));
            let (a, b) = m(0.8, 0.97);
            parts.push(r(a, 0.74, b, 0.5, GLASS));
            for (a, b) in [m(0.08, 0.18), m(0.2, 0.3), m(0.78, 0.9)] {
                parts.push(r(a, 0.25, b, 0.0, TYRE));
            }
        }
        VehicleKind::Motorcycle | VehicleKind::Bicycle => {
            let bike = v.kind == VehicleKind::Bicycle;
            class = if bike { ObjectClass::Bicycle } else { ObjectClass::Motorcycle };
            let wheel = if bike { Rgb(50, 50, 55) } else { TYRE };
            for (a, b) in [m(0.0, 0.32), m(0.68, 1.0)] {
                parts.push(r(a, 0.75, b, 0.0, wheel));
            }
            if bike {
                parts.push(r(0.2, 0.6, 0.8, 0.48, v.color));
            } else {
                parts.push(r(0.15, 0.95, 0.85, 0.42, v.color));
            }
            plate_scale = 2.5 * s;
            plate_bottom = ground - 0.3 * h;
        }
    }
    let depth = ground;
    let mut plate = None;
    if let Some(p) = &v.plate {
        let tw = font::text_width(&p.text) as f32 * plate_scale;
        let th = font::GLYPH_H as f32 * plate_scale;
        let pad = 1.5 * plate_scale;
        let (pw, ph) = (tw + 2.0 * pad, th + 2.0 * pad);
        // Motorcycles carry the plate at their back, cars and buses centred.
        let cx = match (v.kind, forward) {
            (VehicleKind::Motorcycle, true) => x + pw / 2.0 + 0.02 * len,
            (VehicleKind::Motorcycle, false) => x + len - pw / 2.0 - 0.02 * len,
            _ => x + len / 2.0,
        };
        let (px0, py0) = (cx - pw / 2.0, plate_bottom - ph);
        let border = (plate_scale * 0.6).max(1.0);
        parts.push(Paint::rect(px0, py0, px0 + pw, py0 + ph, BLACK));
        parts.push(Paint::rect(px0 + border, py0 + border, px0 + pw - border, py0 + ph - border, WHITE));
        parts.push(Paint::Text { x: px0 + pad, y: py0 + pad, scale: plate_scale, text: p.text.clone(), color: BLACK });
        plate = Some((p.clone(), (px0, py0, px0 + pw, py0 + ph)));
    }
    let mut out = vec![Drawn { track_id: v.track_id, class, parts, plate, depth }];
    if let Some(rider) = v.rider_id {
        // Seated: the rider's feet are level with the axles.
        let stride = if v.kind == VehicleKind::Bicycle { pedal } else { 0.0 };
        let seat_x = x + len * 0.5;
        out.push(person(rider, seat_x, ground - 0.45 * h, 0.8 * s, stride, v.rider_color, Rgb(40, 40, 50), Rgb(50, 40, 30)));
        // Painted before the vehicle, which hides the legs and never the plate.
        if let Some(p) = out.last_mut() {
            p.depth = depth - 0.5;
        }
    }
    out
}

/// A standing or walking person centred on `x`, feet on `feet_y`: blocks
/// for head, torso and legs. No face is ever drawn.
#[allow(clippy::too_many_arguments)]
fn person(track_id: u32, x: f32, feet_y: f32, s: f32, stride: f32, clothes: Rgb, legs: Rgb, hair: Rgb) -> Drawn {
    let (head, torso, leg_h, width) = (30.0 * s, 62.0 * s, 70.0 * s, 46.0 * s);
    let top = feet_y - leg_h - torso - head;
    let spread = 7.0 * s * stride;
    let leg_w = 14.0 * s;
    let parts = vec![
        Paint::rect(x - leg_w - 2.0 * s + spread, feet_y - leg_h, x - 2.0 * s + spread, feet_y, legs),
        Paint::rect(x + 2.0 * s - spread, feet_y - leg_h, x + leg_w + 2.0 * s - spread, feet_y, legs),
        Paint::rect(x - width / 2.0, feet_y - leg_h - torso, x + width / 2.0, feet_y - leg_h + 4.0 * s, clothes),
        Paint::rect(x - head / 2.0, top, x + head / 2.0, top + head, hair),
    ];
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
