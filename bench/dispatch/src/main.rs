//! Recommendation benchmark: ranking the available units of a fleet by ETA
//! for random incident locations, the pruned ranking beside the brute force
//! (every geodesic, full sort) in the same run, on the same fleets and
//! points. Both must return the same answer; the run checks it. Then the
//! built-in road router: A* beside plain Dijkstra on a synthetic street grid
//! (jittered, mixed speeds, some blocks missing), same routes, same answers
//! checked, with the ratio of their times and of the nodes they settle.
//!
//!   citywatch-bench-dispatch [--units 2000] [--queries 2000] [--k 10] [--spread-km 15]
//!                            [--grid 100] [--routes 500] [--roads-only]

use std::time::{Duration, Instant};

use citywatch_dispatch::recommend::{rank, rank_brute_force, Speeds};
use citywatch_geo::routing::LatLon;
use citywatch_model::dispatch::{Position, Unit, UnitKind, UnitStatus};
use rand::{Rng, SeedableRng};

struct Args {
    units: usize,
    queries: usize,
    k: usize,
    spread_km: f64,
    /// Road grid side, nodes (100: 10,000 nodes).
    grid: usize,
    routes: usize,
    roads_only: bool,
}

fn args() -> Args {
    let mut a = Args { units: 2000, queries: 2000, k: 10, spread_km: 15.0, grid: 100, routes: 500, roads_only: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--units" => a.units = val().parse().unwrap(),
            "--queries" => a.queries = val().parse().unwrap(),
            "--k" => a.k = val().parse().unwrap(),
            "--spread-km" => a.spread_km = val().parse().unwrap(),
            "--grid" => a.grid = val().parse().unwrap(),
            "--routes" => a.routes = val().parse().unwrap(),
            "--roads-only" => a.roads_only = true,
            "--help" | "-h" => {
                println!("citywatch-bench-dispatch [--units N] [--queries Q] [--k K] [--spread-km KM] [--grid SIDE] [--routes R] [--roads-only]");
                std::process::exit(0);
            }
            other => panic!("unknown flag {other}; see --help"),
        }
    }
    a
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let (p50, p99, max) = (percentile(&times, 0.5), percentile(&times, 0.99), *times.last().unwrap());
    println!("{name:<12} p50 {:>9.1} µs   p99 {:>9.1} µs   max {:>9.1} µs", p50.as_secs_f64() * 1e6, p99.as_secs_f64() * 1e6, max.as_secs_f64() * 1e6);
    (p50, p99)
}

fn main() {
    let a = args();
    if !a.roads_only {
        recommendation(&a);
    }
    roads(&a);
}

/// A* against Dijkstra on a `side` × `side` grid of streets 100 m apart.
fn roads(a: &Args) {
    use citywatch_geo::roads::RoadNetwork;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let side = a.grid;
    let step_lat = 100.0 / 111_132.0;
    let step_lon = 100.0 / (111_320.0 * 44.8f64.to_radians().cos());
    let jitter: Vec<(f64, f64)> = (0..side * side).map(|_| (rng.gen_range(-0.2..0.2), rng.gen_range(-0.2..0.2))).collect();
    let at = |i: usize, j: usize| {
        let (a, b) = jitter[i * side + j];
        LatLon { lat: 44.75 + (i as f64 + a) * step_lat, lon: 20.40 + (j as f64 + b) * step_lon }
    };
    let mut lines = Vec::new();
    for i in 0..side {
        for j in 0..side {
            for (di, dj) in [(0, 1), (1, 0)] {
                let (i2, j2) = (i + di, j + dj);
                if i2 >= side || j2 >= side || rng.gen_bool(0.05) {
                    continue;
                }
                // Every 10th street a 60 km/h artery, the rest 30 or 40.
                let kmh = if (di == 0 && i % 10 == 0) || (dj == 0 && j % 10 == 0) { 60.0 } else { [30.0, 40.0][rng.gen_range(0..2)] };
                lines.push((vec![at(i, j), at(i2, j2)], kmh, false));
            }
        }
    }
    let t = Instant::now();
    let net = RoadNetwork::from_lines(&lines).unwrap();
    println!("road grid {side}×{side}: {} nodes, {} segments, built in {:.1} ms", net.node_count(), net.segment_count(), t.elapsed().as_secs_f64() * 1e3);
    let span = |rng: &mut rand::rngs::StdRng| LatLon {
        lat: 44.75 + rng.gen_range(0.0..side as f64 - 1.0) * step_lat,
        lon: 20.40 + rng.gen_range(0.0..side as f64 - 1.0) * step_lon,
    };
    let pairs: Vec<(LatLon, LatLon)> = (0..a.routes).map(|_| (span(&mut rng), span(&mut rng))).collect();
    let (mut t_astar, mut t_dijkstra) = (Vec::new(), Vec::new());
    let (mut s_astar, mut s_dijkstra) = (0usize, 0usize);
    let mut routed = 0;
    for (from, to) in &pairs {
        let t = Instant::now();
        let x = net.route(*from, *to);
        t_astar.push(t.elapsed());
        let t = Instant::now();
        let y = net.route_dijkstra(*from, *to);
        t_dijkstra.push(t.elapsed());
        match (x, y) {
            (Ok(x), Ok(y)) => {
                assert!((x.duration_s - y.duration_s).abs() <= 1e-6 * y.duration_s.max(1.0), "A* {} s vs Dijkstra {} s", x.duration_s, y.duration_s);
                s_astar += x.settled;
                s_dijkstra += y.settled;
                routed += 1;
            }
            (Err(_), Err(_)) => {}
            (x, y) => panic!("A* and Dijkstra disagree: {x:?} vs {y:?}"),
        }
    }
    println!("{routed} of {} random routes found by both with the same time (checked):", pairs.len());
    let (a50, _) = report("A*", t_astar.clone());
    let (d50, _) = report("Dijkstra", t_dijkstra.clone());
    let total = |v: &[Duration]| v.iter().sum::<Duration>().as_secs_f64();
    println!(
        "ratio        Dijkstra/A* time: p50 {:.2}×, total {:.2}×; nodes settled {:.2}× ({:.0} vs {:.0} per route)",
        d50.as_secs_f64() / a50.as_secs_f64(),
        total(&t_dijkstra) / total(&t_astar),
        s_dijkstra as f64 / s_astar.max(1) as f64,
        s_astar as f64 / routed.max(1) as f64,
        s_dijkstra as f64 / routed.max(1) as f64
    );
}

fn recommendation(a: &Args) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    // A city around (44.8, 20.45): spread_km either way.
    let dlat = a.spread_km / 111.0;
    let dlon = a.spread_km / (111.0 * 44.8f64.to_radians().cos());
    let caps = ["k9", "medic", "traffic"];
    let units: Vec<Unit> = (0..a.units)
        .map(|i| Unit {
            id: format!("unit-{i:05}"),
            call_sign: format!("Unit {i}"),
            kind: [UnitKind::Car, UnitKind::Car, UnitKind::Motorbike, UnitKind::Foot][rng.gen_range(0..4)],
            officers: vec![],
            capabilities: caps.iter().filter(|_| rng.gen_bool(0.2)).map(|c| c.to_string()).collect(),
            // Most of a fleet is busy or out at any time; 60 % available.
            status: if rng.gen_bool(0.6) { UnitStatus::Available } else { UnitStatus::OnScene },
            position: Some(Position {
                unit_id: format!("unit-{i:05}"),
                lat: 44.8 + rng.gen_range(-dlat..dlat),
                lon: 20.45 + rng.gen_range(-dlon..dlon),
                time: chrono::Utc::now(),
                speed_mps: None,
                bearing_deg: None,
            }),
            district: None,
        })
        .collect();
    let speeds = Speeds::default();
    let queries: Vec<(LatLon, Vec<String>)> = (0..a.queries)
        .map(|q| {
            let to = LatLon { lat: 44.8 + rng.gen_range(-dlat..dlat), lon: 20.45 + rng.gen_range(-dlon..dlon) };
            // One query in five asks for a capability.
            let required = if q % 5 == 0 { vec![caps[q % 3].to_string()] } else { vec![] };
            (to, required)
        })
        .collect();
    println!(
        "recommendation: {} units ({} available), {} queries, k = {}, city ±{} km",
        a.units,
        units.iter().filter(|u| u.status == UnitStatus::Available).count(),
        a.queries,
        a.k,
        a.spread_km
    );
    // Warm up both (page in, branch predictors), then interleave so both
    // see the same machine state.
    for (to, req) in queries.iter().take(50) {
        assert_eq!(rank(&units, *to, req, &speeds, a.k), rank_brute_force(&units, *to, req, &speeds, a.k));
    }
    let (mut fast, mut slow) = (Vec::new(), Vec::new());
    for (to, req) in &queries {
        let t = Instant::now();
        let r1 = rank(&units, *to, req, &speeds, a.k);
        fast.push(t.elapsed());
        let t = Instant::now();
        let r2 = rank_brute_force(&units, *to, req, &speeds, a.k);
        slow.push(t.elapsed());
        assert_eq!(r1, r2, "pruned and brute-force rankings differ at {to:?}");
    }
    let (f50, f99) = report("pruned", fast);
    let (s50, s99) = report("brute force", slow);
    println!(
        "speed-up     p50 {:.1}x   p99 {:.1}x   (same answers for all {} queries)",
        s50.as_secs_f64() / f50.as_secs_f64(),
        s99.as_secs_f64() / f99.as_secs_f64(),
        a.queries
    );
    println!("goal         p99 < 5 ms: {}", if f99 < Duration::from_millis(5) { "met" } else { "NOT met" });
    through_the_store(&units, &queries, a.k);
}

/// What the API's recommendation costs: the units read from SQLite (with
/// positions) and ranked, for incidents at the same points.
fn through_the_store(units: &[Unit], queries: &[(LatLon, Vec<String>)], k: usize) {
    use citywatch_model::dispatch::{IncidentLocation, NewIncident, UnitSpec};
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(citywatch_store::Store::open(&dir.path().join("bench.db")).unwrap());
    for u in units {
        store
            .create_unit(&UnitSpec {
                id: u.id.clone(),
                call_sign: u.call_sign.clone(),
                kind: u.kind,
                officers: vec![],
                capabilities: u.capabilities.clone(),
                district: None,
            })
            .unwrap();
        store.add_position("bench", u.position.as_ref().unwrap(), chrono::Utc::now()).unwrap();
        store.set_unit_status(&u.id, u.status).unwrap();
    }
    let d = citywatch_dispatch::Dispatch::new(store.clone(), citywatch_dispatch::DispatchConfig::default());
    let n = queries.len().min(500);
    let ids: Vec<i64> = queries[..n]
        .iter()
        .map(|(to, _)| {
            let new = NewIncident {
                kind: "bench".into(),
                priority: 3,
                location: IncidentLocation { lat: to.lat, lon: to.lon, address: None },
                alert_id: None,
                created_by: "bench".into(),
            };
            store.create_incident(&new, None, &serde_json::json!({}), chrono::Utc::now()).unwrap()
        })
        .collect();
    let mut times = Vec::new();
    for (id, (_, req)) in ids.iter().zip(queries) {
        let t = Instant::now();
        let (_, recs) = d.recommend_straight(*id, req, k, |_| true).unwrap();
        times.push(t.elapsed());
        assert!(!recs.is_empty());
    }
    println!("with SQLite read of all units and the incident ({n} queries):");
    let (_, p99) = report("store+rank", times);
    println!("goal         p99 < 5 ms including the read: {}", if p99 < Duration::from_millis(5) { "met" } else { "NOT met" });
}
