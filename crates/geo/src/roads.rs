//! A road network and shortest routes on it, built in: no routing server.
//!
//! Owns the graph made from GeoJSON LineStrings (every vertex a node;
//! vertices within [`SNAP_M`] of each other are one node, so streets that
//! cross at a shared vertex connect; `maxspeed` in km/h — a number or
//! "50", "30 mph" — else a speed by `highway`/`class`/`kind`; `oneway`
//! honoured), the snapping of an arbitrary point onto the nearest road,
//! and A* over travel time whose heuristic is the straight-line distance
//! at the network's top speed (never more than the true remaining time, so
//! the answer is the shortest). [`RoadNetwork::route_dijkstra`] is the
//! plain reference the tests and the benchmark compare A* with.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;

use serde_json::Value;

use crate::ellipsoid::{chord_m, distance_m, ecef, local_offset_m};
use crate::routing::{LatLon, Leg, RouteFuture, Router};

/// Vertices closer than this are the same node.
pub const SNAP_M: f64 = 1.0;
/// A point further than this from every road is not routed.
pub const MAX_SNAP_M: f64 = 1_000.0;
/// Side of the snapping grid's cells, metres.
const CELL_M: f64 = 100.0;
/// A segment whose bounding box covers more cells than this is checked on
/// every snap instead (a long rural road must not fill the grid).
const MAX_CELLS_PER_SEGMENT: i64 = 400;
/// How far below the chord the heuristic's distance is taken, metres.
const HEURISTIC_SLACK_M: f64 = 0.05;
/// Speed of a road with neither `maxspeed` nor a known class, km/h.
pub const DEFAULT_KMH: f64 = 40.0;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RoadError {
    #[error("road network: {0}")]
    Invalid(String),
    #[error("no road within {max_m:.0} m of the {what} ({lat:.6}, {lon:.6})")]
    NoRoadNear { what: &'static str, lat: f64, lon: f64, max_m: f64 },
    #[error("no road connects ({0:.6}, {1:.6}) to ({2:.6}, {3:.6}): they are on separate parts of the road network")]
    Unreachable(f64, f64, f64, f64),
}

#[derive(Debug, Clone, Copy)]
struct Edge {
    to: u32,
    /// Seconds at the road's speed.
    time_s: f64,
}

/// One straight piece of road, for snapping: from node `a` to node `b`
/// (`oneway`: only that way).
#[derive(Debug, Clone, Copy)]
struct Segment {
    a: u32,
    b: u32,
    kmh: f64,
    oneway: bool,
}

/// A route: its length, travel time and geometry (from the point on the
/// road nearest the origin to the one nearest the destination, every
/// vertex on a road).
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub distance_m: f64,
    pub duration_s: f64,
    pub geometry: Vec<LatLon>,
    /// Nodes taken off the queue: the search's work.
    pub settled: usize,
}

#[derive(Debug, Clone)]
pub struct RoadNetwork {
    nodes: Vec<LatLon>,
    /// The nodes in the local plane (metres east, north of `origin`), for snapping.
    plane_nodes: Vec<(f64, f64)>,
    /// The nodes in earth-centred coordinates, for the heuristic's chords.
    ecef_nodes: Vec<[f64; 3]>,
    /// Segments by the [`CELL_M`] cells of the local plane their bounding
    /// box covers, for snapping; segments too long for that are in `long`.
    cells: HashMap<(i64, i64), Vec<u32>>,
    long: Vec<u32>,
    adjacency: Vec<Vec<Edge>>,
    segments: Vec<Segment>,
    max_mps: f64,
    /// Origin of the local plane used for snapping.
    origin: LatLon,
}

/// Speed of a road from its properties, km/h.
fn road_kmh(props: Option<&Value>) -> f64 {
    let get = |k: &str| props.and_then(|p| p.get(k));
    let from_max = match get("maxspeed") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => {
            let s = s.trim();
            let (num, mph) = match s.strip_suffix("mph") {
                Some(n) => (n.trim(), true),
                None => (s.trim_end_matches("km/h").trim(), false),
            };
            num.parse::<f64>().ok().map(|v| if mph { v * 1.609_344 } else { v })
        }
        _ => None,
    };
    if let Some(v) = from_max.filter(|v| v.is_finite() && *v > 0.0 && *v < 300.0) {
        return v;
    }
    let class = ["highway", "class", "kind"].iter().find_map(|k| get(k).and_then(Value::as_str)).unwrap_or("");
    match class {
        "motorway" => 110.0,
        "trunk" => 80.0,
        "primary" | "major" => 50.0,
        "secondary" => 45.0,
        "tertiary" => 40.0,
        "residential" | "unclassified" | "minor" => 30.0,
        "service" | "living_street" => 15.0,
        _ => DEFAULT_KMH,
    }
}

fn is_oneway(props: Option<&Value>) -> bool {
    match props.and_then(|p| p.get("oneway")) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "yes" | "true" | "1"),
        _ => false,
    }
}

/// (time or cost, node): a min-heap entry.
#[derive(PartialEq)]
struct Queued(f64, u32);

impl Eq for Queued {}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then_with(|| other.1.cmp(&self.1))
    }
}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Where a point meets the road: segment, fraction along it from `a`, the
/// point itself.
#[derive(Debug, Clone, Copy)]
struct Snap {
    segment: usize,
    t: f64,
    at: LatLon,
    /// How far `at` is from the point, in the local plane.
    off_m: f64,
}

/// What a search starts from and ends at: (node, seconds to add).
struct Ends {
    sources: Vec<(u32, f64)>,
    targets: Vec<(u32, f64)>,
    /// Along one segment, without touching a node: (seconds).
    direct: Option<f64>,
}

impl RoadNetwork {
    /// Builds the network from a GeoJSON FeatureCollection (or one
    /// Feature, or a bare geometry) of LineStrings and MultiLineStrings;
    /// other geometries (district polygons, points) are skipped.
    pub fn from_geojson(v: &Value) -> Result<RoadNetwork, RoadError> {
        let mut lines: Vec<(Vec<LatLon>, Option<&Value>)> = Vec::new();
        let features: Vec<&Value> = match v.get("type").and_then(Value::as_str) {
            Some("FeatureCollection") => v
                .get("features")
                .and_then(Value::as_array)
                .ok_or_else(|| RoadError::Invalid("a FeatureCollection needs a features array".into()))?
                .iter()
                .collect(),
            Some(_) => vec![v],
            None => return Err(RoadError::Invalid("not GeoJSON: no \"type\"".into())),
        };
        for (i, f) in features.iter().enumerate() {
            let (geometry, props) = match f.get("type").and_then(Value::as_str) {
                Some("Feature") => (f.get("geometry").unwrap_or(&Value::Null), f.get("properties")),
                _ => (*f, None),
            };
            let parts: Vec<&Value> = match geometry.get("type").and_then(Value::as_str) {
                Some("LineString") => geometry.get("coordinates").into_iter().collect(),
                Some("MultiLineString") => geometry.get("coordinates").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default(),
                _ => continue,
            };
            for part in parts {
                let coords = part.as_array().ok_or_else(|| RoadError::Invalid(format!("feature {i}: coordinates must be an array")))?;
                let mut line = Vec::with_capacity(coords.len());
                for c in coords {
                    let (lon, lat) = match c.as_array().map(|p| (p.first().and_then(Value::as_f64), p.get(1).and_then(Value::as_f64))) {
                        Some((Some(lon), Some(lat))) if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) => (lon, lat),
                        _ => return Err(RoadError::Invalid(format!("feature {i}: {c} is not a [lon, lat] position"))),
                    };
                    line.push(LatLon { lat, lon });
                }
                lines.push((line, props));
            }
        }
        let lines: Vec<(Vec<LatLon>, f64, bool)> = lines.into_iter().map(|(l, p)| (l, road_kmh(p), is_oneway(p))).collect();
        Self::from_lines(&lines)
    }

    /// Builds the network from polylines, each with its speed (km/h) and
    /// whether it is one-way (in the order of its points).
    pub fn from_lines(lines: &[(Vec<LatLon>, f64, bool)]) -> Result<RoadNetwork, RoadError> {
        let first = lines.iter().find_map(|l| l.0.first()).ok_or_else(|| RoadError::Invalid("no LineString roads".into()))?;
        let origin = *first;
        let mut net = RoadNetwork {
            nodes: Vec::new(),
            plane_nodes: Vec::new(),
            ecef_nodes: Vec::new(),
            cells: HashMap::new(),
            long: Vec::new(),
            adjacency: Vec::new(),
            segments: Vec::new(),
            max_mps: 0.0,
            origin,
        };
        // Cells of SNAP_M in the local plane; a vertex looks in its cell and the eight around.
        let mut cells: HashMap<(i64, i64), Vec<u32>> = HashMap::new();
        for (line, kmh, oneway) in lines {
            if !(kmh.is_finite() && *kmh > 0.0) {
                return Err(RoadError::Invalid(format!("a road's speed must be positive, got {kmh} km/h")));
            }
            let mut prev: Option<u32> = None;
            for p in line {
                let (x, y) = net.plane(*p);
                let cell = ((x / SNAP_M).floor() as i64, (y / SNAP_M).floor() as i64);
                let mut found = None;
                'look: for dx in -1..=1 {
                    for dy in -1..=1 {
                        for &n in cells.get(&(cell.0 + dx, cell.1 + dy)).map(Vec::as_slice).unwrap_or_default() {
                            let (nx, ny) = net.plane_nodes[n as usize];
                            if (nx - x).hypot(ny - y) <= SNAP_M {
                                found = Some(n);
                                break 'look;
                            }
                        }
                    }
                }
                let node = found.unwrap_or_else(|| {
                    let n = net.nodes.len() as u32;
                    net.nodes.push(*p);
                    net.plane_nodes.push((x, y));
                    net.ecef_nodes.push(ecef(p.lat, p.lon));
                    net.adjacency.push(Vec::new());
                    cells.entry(cell).or_default().push(n);
                    n
                });
                if let Some(a) = prev.filter(|a| *a != node) {
                    net.add_segment(a, node, *kmh, *oneway);
                }
                prev = Some(node);
            }
        }
        if net.segments.is_empty() {
            return Err(RoadError::Invalid("no road has two distinct points".into()));
        }
        for (i, seg) in net.segments.iter().enumerate() {
            let ((ax, ay), (bx, by)) = (net.plane_nodes[seg.a as usize], net.plane_nodes[seg.b as usize]);
            let (x0, x1) = ((ax.min(bx) / CELL_M).floor() as i64, (ax.max(bx) / CELL_M).floor() as i64);
            let (y0, y1) = ((ay.min(by) / CELL_M).floor() as i64, (ay.max(by) / CELL_M).floor() as i64);
            if (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_CELLS_PER_SEGMENT {
                net.long.push(i as u32);
                continue;
            }
            for x in x0..=x1 {
                for y in y0..=y1 {
                    net.cells.entry((x, y)).or_default().push(i as u32);
                }
            }
        }
        Ok(net)
    }

    fn add_segment(&mut self, a: u32, b: u32, kmh: f64, oneway: bool) {
        let (pa, pb) = (self.nodes[a as usize], self.nodes[b as usize]);
        let length_m = distance_m(pa.lat, pa.lon, pb.lat, pb.lon);
        let mps = kmh / 3.6;
        self.max_mps = self.max_mps.max(mps);
        let time_s = length_m / mps;
        self.adjacency[a as usize].push(Edge { to: b, time_s });
        if !oneway {
            self.adjacency[b as usize].push(Edge { to: a, time_s });
        }
        self.segments.push(Segment { a, b, kmh, oneway });
    }

    /// Local plane metres (east, north) around the network's origin.
    fn plane(&self, p: LatLon) -> (f64, f64) {
        local_offset_m(self.origin.lat, self.origin.lon, p.lat, p.lon)
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The fastest speed on the network, m/s (the heuristic's).
    pub fn max_speed_mps(&self) -> f64 {
        self.max_mps
    }

    /// Whether `p` lies on a road: within `tolerance_m` of some segment.
    pub fn on_road(&self, p: LatLon, tolerance_m: f64) -> bool {
        self.snap(p, "point").is_ok_and(|s| s.off_m <= tolerance_m)
    }

    /// The nearest point on any road: the cells around `p` ring by ring,
    /// until no unvisited cell can hold anything nearer than the best found.
    fn snap(&self, p: LatLon, what: &'static str) -> Result<Snap, RoadError> {
        let (px, py) = self.plane(p);
        let mut best: Option<(f64, Snap)> = None;
        let consider = |i: u32, best: &mut Option<(f64, Snap)>| {
            let s = &self.segments[i as usize];
            let ((ax, ay), (bx, by)) = (self.plane_nodes[s.a as usize], self.plane_nodes[s.b as usize]);
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = dx * dx + dy * dy;
            let t = if len2 > 0.0 { (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
            let d = (ax + t * dx - px).hypot(ay + t * dy - py);
            // Ties go to the lower segment, whatever order the cells were visited in.
            if best.as_ref().is_none_or(|(bd, b)| d < *bd || (d == *bd && (i as usize) < b.segment)) {
                let (a, b) = (self.nodes[s.a as usize], self.nodes[s.b as usize]);
                let at = LatLon { lat: a.lat + t * (b.lat - a.lat), lon: a.lon + t * (b.lon - a.lon) };
                *best = Some((d, Snap { segment: i as usize, t, at, off_m: d }));
            }
        };
        for &i in &self.long {
            consider(i, &mut best);
        }
        let (cx, cy) = ((px / CELL_M).floor() as i64, (py / CELL_M).floor() as i64);
        let rings = (MAX_SNAP_M / CELL_M).ceil() as i64 + 1;
        for r in 0..=rings {
            for x in cx - r..=cx + r {
                for y in cy - r..=cy + r {
                    if (x - cx).abs() != r && (y - cy).abs() != r {
                        continue;
                    }
                    for &i in self.cells.get(&(x, y)).map(Vec::as_slice).unwrap_or_default() {
                        consider(i, &mut best);
                    }
                }
            }
            // Every cell within r of p's cell is seen, and together they hold
            // every segment passing nearer than r × CELL_M.
            if best.as_ref().is_some_and(|(d, _)| *d <= r as f64 * CELL_M) {
                break;
            }
        }
        match best {
            Some((d, s)) if d <= MAX_SNAP_M => Ok(s),
            _ => Err(RoadError::NoRoadNear { what, lat: p.lat, lon: p.lon, max_m: MAX_SNAP_M }),
        }
    }

    fn segment_time(&self, s: &Segment) -> f64 {
        let (a, b) = (self.nodes[s.a as usize], self.nodes[s.b as usize]);
        distance_m(a.lat, a.lon, b.lat, b.lon) / (s.kmh / 3.6)
    }

    fn ends(&self, from: &Snap, to: &Snap) -> Ends {
        let (sf, st) = (&self.segments[from.segment], &self.segments[to.segment]);
        let (tf, tt) = (self.segment_time(sf), self.segment_time(st));
        // From the origin's point: forward to b always, back to a unless one-way.
        let mut sources = vec![(sf.b, (1.0 - from.t) * tf)];
        if !sf.oneway {
            sources.push((sf.a, from.t * tf));
        }
        // To the destination's point: from a always, from b unless one-way.
        let mut targets = vec![(st.a, to.t * tt)];
        if !st.oneway {
            targets.push((st.b, (1.0 - to.t) * tt));
        }
        let direct = (from.segment == to.segment && (!sf.oneway || to.t >= from.t)).then(|| (to.t - from.t).abs() * tf);
        Ends { sources, targets, direct }
    }

    /// The fastest route by A*.
    pub fn route(&self, from: LatLon, to: LatLon) -> Result<Route, RoadError> {
        self.search(from, to, true)
    }

    /// The fastest route by plain Dijkstra (no heuristic): the reference.
    pub fn route_dijkstra(&self, from: LatLon, to: LatLon) -> Result<Route, RoadError> {
        self.search(from, to, false)
    }

    fn search(&self, from: LatLon, to: LatLon, a_star: bool) -> Result<Route, RoadError> {
        let (sf, st) = (self.snap(from, "origin")?, self.snap(to, "destination")?);
        let ends = self.ends(&sf, &st);
        let n = self.nodes.len();
        // The node a target node's extra time leads to the goal: a virtual node `n`.
        let goal = n as u32;
        let mut extra = vec![f64::INFINITY; n];
        for &(t, e) in &ends.targets {
            extra[t as usize] = extra[t as usize].min(e);
        }
        // A chord through the earth is never longer than the road, and no
        // road is faster than the fastest: the estimate never exceeds the
        // true time (the slack covers the fast distance formula's rounding).
        // A chord is three differences and a square root, where a geodesic
        // would cost more than the search saves.
        let inv_speed = if a_star { 1.0 / self.max_mps } else { 0.0 };
        let target = ecef(st.at.lat, st.at.lon);
        let h = |v: u32| -> f64 {
            if inv_speed == 0.0 || v == goal {
                return 0.0;
            }
            (chord_m(self.ecef_nodes[v as usize], target) * (1.0 - 1e-9) - HEURISTIC_SLACK_M).max(0.0) * inv_speed
        };
        let mut best = vec![f64::INFINITY; n + 1];
        let mut parent = vec![u32::MAX; n + 1];
        let mut heap = BinaryHeap::new();
        for &(s, c) in &ends.sources {
            if c < best[s as usize] {
                best[s as usize] = c;
                heap.push(Queued(c + h(s), s));
            }
        }
        let mut settled = 0;
        let mut done = vec![false; n + 1];
        while let Some(Queued(_, v)) = heap.pop() {
            if done[v as usize] {
                continue;
            }
            done[v as usize] = true;
            settled += 1;
            if v == goal {
                break;
            }
            let g = best[v as usize];
            let mut relax = |w: u32, cost: f64, heap: &mut BinaryHeap<Queued>| {
                if cost < best[w as usize] {
                    best[w as usize] = cost;
                    parent[w as usize] = v;
                    heap.push(Queued(cost + h(w), w));
                }
            };
            for e in &self.adjacency[v as usize] {
                relax(e.to, g + e.time_s, &mut heap);
            }
            if extra[v as usize].is_finite() {
                relax(goal, g + extra[v as usize], &mut heap);
            }
        }
        let via_graph = best[goal as usize];
        if let Some(direct) = ends.direct.filter(|d| *d <= via_graph) {
            let distance_m = distance_m(sf.at.lat, sf.at.lon, st.at.lat, st.at.lon);
            return Ok(Route { distance_m, duration_s: direct, geometry: vec![sf.at, st.at], settled });
        }
        if !via_graph.is_finite() {
            return Err(RoadError::Unreachable(from.lat, from.lon, to.lat, to.lon));
        }
        let mut path = Vec::new();
        let mut v = parent[goal as usize];
        while v != u32::MAX {
            path.push(v);
            v = parent[v as usize];
        }
        path.reverse();
        let mut geometry = Vec::with_capacity(path.len() + 2);
        geometry.push(sf.at);
        geometry.extend(path.iter().map(|&v| self.nodes[v as usize]));
        geometry.push(st.at);
        geometry.dedup();
        let distance_m = geometry.windows(2).map(|w| distance_m(w[0].lat, w[0].lon, w[1].lat, w[1].lon)).sum();
        Ok(Route { distance_m, duration_s: via_graph, geometry, settled })
    }
}

/// The network as a [`Router`]: driving times on the roads.
#[derive(Debug, Clone)]
pub struct RoadRouter(pub std::sync::Arc<RoadNetwork>);

impl Router for RoadRouter {
    fn name(&self) -> &'static str {
        "road network"
    }

    fn legs<'a>(&'a self, origins: &'a [LatLon], destination: LatLon) -> RouteFuture<'a> {
        // A search is a few milliseconds on a city: no worker thread needed.
        let legs =
            origins.iter().map(|o| self.0.route(*o, destination).ok().map(|r| Leg { distance_m: r.distance_m, duration_s: Some(r.duration_s) })).collect();
        Box::pin(std::future::ready(Ok(legs))) as std::pin::Pin<Box<dyn Future<Output = _> + Send + 'a>>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::json;

    /// A jittered grid, `n` × `n` nodes `step` degrees apart, with random
    /// speeds, a few one-way streets and a few missing blocks.
    fn random_grid(rng: &mut StdRng, n: usize, step: f64) -> Vec<(Vec<LatLon>, f64, bool)> {
        let at = |i: usize, j: usize, jitter: &[(f64, f64)]| {
            let (a, b) = jitter[i * n + j];
            LatLon { lat: 44.8 + i as f64 * step + a, lon: 20.4 + j as f64 * step + b }
        };
        let jitter: Vec<(f64, f64)> = (0..n * n).map(|_| (rng.gen_range(-0.3..0.3) * step, rng.gen_range(-0.3..0.3) * step)).collect();
        let mut lines = Vec::new();
        for i in 0..n {
            for j in 0..n {
                for (di, dj) in [(0, 1), (1, 0)] {
                    let (i2, j2) = (i + di, j + dj);
                    if i2 >= n || j2 >= n || rng.gen_bool(0.15) {
                        continue;
                    }
                    let kmh = [20.0, 30.0, 50.0, 70.0][rng.gen_range(0..4)];
                    lines.push((vec![at(i, j, &jitter), at(i2, j2, &jitter)], kmh, rng.gen_bool(0.1)));
                }
            }
        }
        lines
    }

    #[test]
    fn a_star_finds_what_dijkstra_finds_on_random_graphs() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut compared = 0;
        for _ in 0..40 {
            let n = rng.gen_range(3..14);
            let net = RoadNetwork::from_lines(&random_grid(&mut rng, n, 0.002)).unwrap();
            for _ in 0..10 {
                let p = |rng: &mut StdRng| LatLon { lat: 44.8 + rng.gen_range(0.0..n as f64 * 0.002), lon: 20.4 + rng.gen_range(0.0..n as f64 * 0.002) };
                let (a, b) = (p(&mut rng), p(&mut rng));
                match (net.route(a, b), net.route_dijkstra(a, b)) {
                    (Ok(x), Ok(y)) => {
                        assert!((x.duration_s - y.duration_s).abs() <= 1e-6 * y.duration_s.max(1.0), "A* {} s, Dijkstra {} s", x.duration_s, y.duration_s);
                        assert!(x.settled <= y.settled + 1, "A* settled {} nodes, Dijkstra {}", x.settled, y.settled);
                        compared += 1;
                    }
                    (Err(RoadError::Unreachable(..)), Err(RoadError::Unreachable(..))) => {}
                    (x, y) => panic!("A* and Dijkstra disagree: {x:?} vs {y:?}"),
                }
            }
        }
        assert!(compared > 300, "only {compared} routes compared");
    }

    #[test]
    fn a_route_follows_the_roads() {
        let mut rng = StdRng::seed_from_u64(11);
        let net = RoadNetwork::from_lines(&random_grid(&mut rng, 12, 0.002)).unwrap();
        let mut checked = 0;
        for _ in 0..50 {
            let p = |rng: &mut StdRng| LatLon { lat: 44.8 + rng.gen_range(0.0..0.024), lon: 20.4 + rng.gen_range(0.0..0.024) };
            let Ok(r) = net.route(p(&mut rng), p(&mut rng)) else { continue };
            for v in &r.geometry {
                assert!(net.on_road(*v, 0.01), "vertex {v:?} is off the roads");
            }
            // Each leg runs along one road: its midpoint is on a road too.
            for w in r.geometry.windows(2) {
                let mid = LatLon { lat: (w[0].lat + w[1].lat) / 2.0, lon: (w[0].lon + w[1].lon) / 2.0 };
                assert!(net.on_road(mid, 0.05), "the leg {w:?} leaves the roads");
            }
            let length: f64 = r.geometry.windows(2).map(|w| distance_m(w[0].lat, w[0].lon, w[1].lat, w[1].lon)).sum();
            assert!((length - r.distance_m).abs() < 1e-6);
            checked += 1;
        }
        assert!(checked > 30);
    }

    #[test]
    fn routes_take_the_faster_road_and_honour_one_way_streets() {
        // A square: west side slow (10 km/h), east side fast (100 km/h);
        // from the south-west corner to the north-west corner the fast way round wins.
        let (sw, se, ne, nw) =
            (LatLon { lat: 44.80, lon: 20.40 }, LatLon { lat: 44.80, lon: 20.41 }, LatLon { lat: 44.81, lon: 20.41 }, LatLon { lat: 44.81, lon: 20.40 });
        let net = RoadNetwork::from_lines(&[(vec![sw, nw], 10.0, false), (vec![sw, se, ne, nw], 100.0, false)]).unwrap();
        let r = net.route(sw, nw).unwrap();
        assert_eq!(r.geometry, vec![sw, se, ne, nw]);
        // The same square with the fast road one-way the other way round.
        let net = RoadNetwork::from_lines(&[(vec![sw, nw], 10.0, false), (vec![nw, ne, se, sw], 100.0, true)]).unwrap();
        assert_eq!(net.route(sw, nw).unwrap().geometry, vec![sw, nw]);
        assert_eq!(net.route(nw, sw).unwrap().geometry, vec![nw, ne, se, sw]);
    }

    #[test]
    fn snapping_finds_the_nearest_road_as_brute_force_does() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut lines = random_grid(&mut rng, 20, 0.003);
        // One long road, kept out of the grid's cells.
        lines.push((vec![LatLon { lat: 44.70, lon: 20.30 }, LatLon { lat: 44.90, lon: 20.50 }], 90.0, false));
        let net = RoadNetwork::from_lines(&lines).unwrap();
        assert_eq!(net.long.len(), 1);
        for _ in 0..500 {
            let p = LatLon { lat: 44.79 + rng.gen_range(0.0..0.08), lon: 20.39 + rng.gen_range(0.0..0.08) };
            let (px, py) = net.plane(p);
            let brute = net
                .segments
                .iter()
                .map(|s| {
                    let ((ax, ay), (bx, by)) = (net.plane_nodes[s.a as usize], net.plane_nodes[s.b as usize]);
                    let (dx, dy) = (bx - ax, by - ay);
                    let t = (((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                    (ax + t * dx - px).hypot(ay + t * dy - py)
                })
                .fold(f64::INFINITY, f64::min);
            match net.snap(p, "point") {
                Ok(snap) => assert!((snap.off_m - brute).abs() < 1e-9, "snapped {} m away, the nearest road is {brute} m", snap.off_m),
                Err(_) => assert!(brute > MAX_SNAP_M, "no road found, yet one is {brute} m away"),
            }
        }
    }

    #[test]
    fn an_unreachable_destination_is_a_clear_error() {
        let island = |lat: f64| (vec![LatLon { lat, lon: 20.40 }, LatLon { lat, lon: 20.41 }], 50.0, false);
        let net = RoadNetwork::from_lines(&[island(44.80), island(44.805)]).unwrap();
        let err = net.route(LatLon { lat: 44.80, lon: 20.401 }, LatLon { lat: 44.805, lon: 20.409 }).unwrap_err();
        assert!(matches!(err, RoadError::Unreachable(..)), "{err:?}");
        assert!(err.to_string().contains("separate parts of the road network"), "{err}");
        let far = net.route(LatLon { lat: 44.80, lon: 20.401 }, LatLon { lat: 45.5, lon: 20.4 }).unwrap_err();
        assert!(far.to_string().contains("no road within 1000 m of the destination"), "{far}");
    }

    #[test]
    fn geojson_roads_snap_shared_vertices_and_read_speeds() {
        let roads = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"maxspeed": "30 mph"}, "geometry": {"type": "LineString", "coordinates": [[20.40, 44.80], [20.41, 44.80]]}},
            // Starts a few centimetres off the first road's end: the same node.
            {"type": "Feature", "properties": {"highway": "residential"}, "geometry": {"type": "LineString", "coordinates": [[20.4100001, 44.8000001], [20.41, 44.81]]}},
            {"type": "Feature", "properties": {"kind": "district"}, "geometry": {"type": "Polygon", "coordinates": [[[20.0, 44.0], [20.1, 44.0], [20.1, 44.1], [20.0, 44.0]]]}},
        ]});
        let net = RoadNetwork::from_geojson(&roads).unwrap();
        assert_eq!((net.node_count(), net.segment_count()), (3, 2));
        assert!((net.max_speed_mps() - 30.0 * 1.609_344 / 3.6).abs() < 1e-9);
        assert!(net.route(LatLon { lat: 44.80, lon: 20.40 }, LatLon { lat: 44.81, lon: 20.41 }).is_ok());
        for bad in [
            json!({"features": []}),
            json!({"type": "FeatureCollection", "features": []}),
            json!({"type": "LineString", "coordinates": [[200.0, 44.0], [20.0, 44.0]]}),
        ] {
            assert!(matches!(RoadNetwork::from_geojson(&bad), Err(RoadError::Invalid(_))), "{bad}");
        }
    }
}
