//! Zones and lines drawn on a camera's picture, and the rules that turn
//! tracked objects moving through them into events: a track entering or
//! leaving a zone (a polygon), a track crossing a line (optionally in one
//! direction only).
//!
//! Coordinates are normalised to the picture (0..1, y down), so rules
//! survive a change of resolution. A track's position is its box's
//! bottom centre — where a person or a vehicle touches the ground — which
//! is what a zone painted on the road means.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::track::TrackedObject;

/// A point in normalised picture coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// An axis-aligned box in normalised picture coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Rect {
    pub fn area(&self) -> f32 {
        (self.x1 - self.x0).max(0.0) * (self.y1 - self.y0).max(0.0)
    }

    pub fn iou(&self, o: &Rect) -> f32 {
        let inter = Rect { x0: self.x0.max(o.x0), y0: self.y0.max(o.y0), x1: self.x1.min(o.x1), y1: self.y1.min(o.y1) }.area();
        let union = self.area() + o.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }

    pub fn intersects(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    /// Where the object stands: the bottom centre.
    pub fn ground_point(&self) -> Point {
        Point { x: (self.x0 + self.x1) / 2.0, y: self.y1 }
    }
}

/// A simple polygon (at least 3 points) in normalised coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Point>", into = "Vec<Point>")]
pub struct Polygon {
    points: Vec<Point>,
}

impl Polygon {
    pub fn new(points: Vec<Point>) -> Result<Polygon, String> {
        if points.len() < 3 {
            return Err(format!("a polygon needs at least 3 points, got {}", points.len()));
        }
        if let Some(p) = points.iter().find(|p| !(0.0..=1.0).contains(&p.x) || !(0.0..=1.0).contains(&p.y)) {
            return Err(format!("point ({}, {}) is outside the picture; coordinates are fractions 0..1", p.x, p.y));
        }
        Ok(Polygon { points })
    }

    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Even-odd rule.
    pub fn contains(&self, p: Point) -> bool {
        let mut inside = false;
        let n = self.points.len();
        for i in 0..n {
            let (a, b) = (self.points[i], self.points[(i + n - 1) % n]);
            if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
                inside = !inside;
            }
        }
        inside
    }
}

impl TryFrom<Vec<Point>> for Polygon {
    type Error = String;
    fn try_from(points: Vec<Point>) -> Result<Self, String> {
        Polygon::new(points)
    }
}

impl From<Polygon> for Vec<Point> {
    fn from(p: Polygon) -> Self {
        p.points
    }
}

/// Which way across a line counts, as seen walking from `a` to `b` on the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Crossing {
    #[default]
    Both,
    LeftToRight,
    RightToLeft,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub name: String,
    pub area: Polygon,
    /// Object classes the zone cares about; empty: all.
    #[serde(default)]
    pub classes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub name: String,
    pub a: Point,
    pub b: Point,
    #[serde(default)]
    pub direction: Crossing,
    #[serde(default)]
    pub classes: Vec<String>,
}

/// What happened, for an event's details.
#[derive(Debug, Clone, PartialEq)]
pub enum ZoneEvent {
    Entered { zone: String, track: u64, class: &'static str },
    Left { zone: String, track: u64, class: &'static str },
    Crossed { line: String, track: u64, class: &'static str, direction: Crossing },
}

/// One camera's zones and lines and where each track was last seen.
#[derive(Debug, Clone, Default)]
pub struct ZoneRules {
    zones: Vec<Zone>,
    lines: Vec<Line>,
    /// Track id → (last position, zones it is in).
    seen: HashMap<u64, (Point, HashSet<usize>)>,
}

fn wants(classes: &[String], class: &str) -> bool {
    classes.is_empty() || classes.iter().any(|c| c == class)
}

/// Which side of the line a→b the point is: > 0 right (y down), < 0 left.
fn side(a: Point, b: Point, p: Point) -> f32 {
    (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
}

impl ZoneRules {
    pub fn new(zones: Vec<Zone>, lines: Vec<Line>) -> ZoneRules {
        ZoneRules { zones, lines, seen: HashMap::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty() && self.lines.is_empty()
    }

    /// Moves every track to its new position; `ended` tracks are forgotten.
    /// A track's first position only sets where it starts: being inside a
    /// zone when first seen is an entry, but no line was crossed.
    pub fn update(&mut self, tracks: &[TrackedObject], ended: &[u64]) -> Vec<ZoneEvent> {
        let mut out = Vec::new();
        for t in tracks {
            let now = t.rect.ground_point();
            let inside: HashSet<usize> =
                self.zones.iter().enumerate().filter(|(_, z)| wants(&z.classes, t.class) && z.area.contains(now)).map(|(i, _)| i).collect();
            let (before, was_inside) = match self.seen.remove(&t.id) {
                Some((p, z)) => (Some(p), z),
                None => (None, HashSet::new()),
            };
            let mut entered: Vec<usize> = inside.difference(&was_inside).copied().collect();
            entered.sort_unstable();
            let mut left: Vec<usize> = was_inside.difference(&inside).copied().collect();
            left.sort_unstable();
            out.extend(entered.into_iter().map(|i| ZoneEvent::Entered { zone: self.zones[i].name.clone(), track: t.id, class: t.class }));
            out.extend(left.into_iter().map(|i| ZoneEvent::Left { zone: self.zones[i].name.clone(), track: t.id, class: t.class }));
            if let Some(before) = before {
                for l in self.lines.iter().filter(|l| wants(&l.classes, t.class)) {
                    if let Some(direction) = crossed(l, before, now) {
                        if l.direction == Crossing::Both || l.direction == direction {
                            out.push(ZoneEvent::Crossed { line: l.name.clone(), track: t.id, class: t.class, direction });
                        }
                    }
                }
            }
            self.seen.insert(t.id, (now, inside));
        }
        for id in ended {
            self.seen.remove(id);
        }
        out
    }
}

/// Whether the step p→q crosses the segment of `line`, and which way.
fn crossed(line: &Line, p: Point, q: Point) -> Option<Crossing> {
    let (sp, sq) = (side(line.a, line.b, p), side(line.a, line.b, q));
    // Touching the line is not crossing it; the step must end on the other side.
    if sp == 0.0 || sq == 0.0 || (sp > 0.0) == (sq > 0.0) {
        return None;
    }
    // The step's line must also separate the segment's ends.
    let (sa, sb) = (side(p, q, line.a), side(p, q, line.b));
    if (sa > 0.0) == (sb > 0.0) && sa != 0.0 && sb != 0.0 {
        return None;
    }
    Some(if sp < 0.0 { Crossing::LeftToRight } else { Crossing::RightToLeft })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(id: u64, class: &'static str, x: f32, y: f32) -> TrackedObject {
        // A 0.1×0.2 box standing at (x, y).
        TrackedObject { id, class, score: 0.9, rect: Rect { x0: x - 0.05, y0: y - 0.2, x1: x + 0.05, y1: y }, hits: 3, new: false }
    }

    fn square(x0: f32, y0: f32, x1: f32, y1: f32) -> Polygon {
        Polygon::new(vec![Point { x: x0, y: y0 }, Point { x: x1, y: y0 }, Point { x: x1, y: y1 }, Point { x: x0, y: y1 }]).unwrap()
    }

    #[test]
    fn polygons_are_checked_and_contain_points() {
        assert!(Polygon::new(vec![Point { x: 0.0, y: 0.0 }, Point { x: 1.0, y: 0.0 }]).unwrap_err().contains("at least 3"));
        assert!(Polygon::new(vec![Point { x: 0.0, y: 0.0 }, Point { x: 1.5, y: 0.0 }, Point { x: 0.0, y: 1.0 }]).unwrap_err().contains("outside the picture"));
        // An L shape: the notch is outside.
        let l = Polygon::new([(0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)].map(|(x, y)| Point { x, y }).to_vec()).unwrap();
        assert!(l.contains(Point { x: 0.25, y: 0.25 }));
        assert!(l.contains(Point { x: 0.75, y: 0.75 }));
        assert!(!l.contains(Point { x: 0.75, y: 0.25 }));
        let json: Polygon = serde_json::from_str(r#"[{"x":0.1,"y":0.1},{"x":0.9,"y":0.1},{"x":0.5,"y":0.9}]"#).unwrap();
        assert!(json.contains(Point { x: 0.5, y: 0.4 }));
        assert!(serde_json::from_str::<Polygon>(r#"[{"x":0.1,"y":0.1}]"#).is_err());
    }

    #[test]
    fn entering_and_leaving_a_zone_per_class() {
        let zone = Zone { name: "bus lane".into(), area: square(0.4, 0.5, 0.6, 1.0), classes: vec!["car".into()] };
        let mut rules = ZoneRules::new(vec![zone], vec![]);
        assert!(rules.update(&[obj(1, "car", 0.2, 0.8), obj(2, "person", 0.2, 0.8)], &[]).is_empty());
        let ev = rules.update(&[obj(1, "car", 0.5, 0.8), obj(2, "person", 0.5, 0.8)], &[]);
        assert_eq!(ev, [ZoneEvent::Entered { zone: "bus lane".into(), track: 1, class: "car" }]);
        assert!(rules.update(&[obj(1, "car", 0.55, 0.8)], &[]).is_empty(), "staying inside is no event");
        assert_eq!(rules.update(&[obj(1, "car", 0.8, 0.8)], &[]), [ZoneEvent::Left { zone: "bus lane".into(), track: 1, class: "car" }]);
        // A track first seen inside has entered.
        assert_eq!(rules.update(&[obj(3, "car", 0.5, 0.9)], &[]).len(), 1);
        // An ended track is forgotten: its id seen again inside is a new entry.
        rules.update(&[], &[3]);
        assert_eq!(rules.update(&[obj(3, "car", 0.5, 0.9)], &[]).len(), 1);
    }

    #[test]
    fn line_crossing_respects_direction_and_the_segment() {
        // A stop line from left to right across the middle; walking a→b, "right" is down the picture.
        let line = |direction| Line { name: "stop line".into(), a: Point { x: 0.2, y: 0.5 }, b: Point { x: 0.8, y: 0.5 }, direction, classes: vec![] };
        let mut down_only = ZoneRules::new(vec![], vec![line(Crossing::LeftToRight)]);
        let mut both = ZoneRules::new(vec![], vec![line(Crossing::Both)]);
        for r in [&mut down_only, &mut both] {
            assert!(r.update(&[obj(1, "car", 0.5, 0.4)], &[]).is_empty(), "first sight crosses nothing");
        }
        let down = [obj(1, "car", 0.5, 0.6)];
        assert_eq!(down_only.update(&down, &[]), [ZoneEvent::Crossed { line: "stop line".into(), track: 1, class: "car", direction: Crossing::LeftToRight }]);
        assert_eq!(both.update(&down, &[]).len(), 1);
        let up = [obj(1, "car", 0.5, 0.4)];
        assert!(down_only.update(&up, &[]).is_empty(), "the other way does not count");
        assert_eq!(both.update(&up, &[]), [ZoneEvent::Crossed { line: "stop line".into(), track: 1, class: "car", direction: Crossing::RightToLeft }]);
        // Passing beside the segment's end is no crossing.
        both.update(&[obj(2, "car", 0.9, 0.4)], &[]);
        assert!(both.update(&[obj(2, "car", 0.9, 0.6)], &[]).is_empty());
    }

    #[test]
    fn iou_of_boxes() {
        let a = Rect { x0: 0.0, y0: 0.0, x1: 0.2, y1: 0.2 };
        let b = Rect { x0: 0.1, y0: 0.0, x1: 0.3, y1: 0.2 };
        assert!((a.iou(&b) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(a.iou(&Rect { x0: 0.5, y0: 0.5, x1: 0.6, y1: 0.6 }), 0.0);
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
    }
}
