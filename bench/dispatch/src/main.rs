//! Recommendation benchmark: ranking the available units of a fleet by ETA
//! for random incident locations, the pruned ranking beside the brute force
//! (every geodesic, full sort) in the same run, on the same fleets and
//! points. Both must return the same answer; the run checks it.
//!
//!   citywatch-bench-dispatch [--units 2000] [--queries 2000] [--k 10] [--spread-km 15]

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
}

fn args() -> Args {
    let mut a = Args { units: 2000, queries: 2000, k: 10, spread_km: 15.0 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--units" => a.units = val().parse().unwrap(),
            "--queries" => a.queries = val().parse().unwrap(),
            "--k" => a.k = val().parse().unwrap(),
            "--spread-km" => a.spread_km = val().parse().unwrap(),
            "--help" | "-h" => {
                println!("citywatch-bench-dispatch [--units N] [--queries Q] [--k K] [--spread-km KM]");
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
    println!("recommendation: {} units ({} available), {} queries, k = {}, city ±{} km", a.units, units.iter().filter(|u| u.status == UnitStatus::Available).count(), a.queries, a.k, a.spread_km);
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
    println!("speed-up     p50 {:.1}x   p99 {:.1}x   (same answers for all {} queries)", s50.as_secs_f64() / f50.as_secs_f64(), s99.as_secs_f64() / f99.as_secs_f64(), a.queries);
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
        store.create_unit(&UnitSpec { id: u.id.clone(), call_sign: u.call_sign.clone(), kind: u.kind, officers: vec![], capabilities: u.capabilities.clone() }).unwrap();
        store.add_position("bench", u.position.as_ref().unwrap(), chrono::Utc::now()).unwrap();
        store.set_unit_status(&u.id, u.status).unwrap();
    }
    let d = citywatch_dispatch::Dispatch::new(store.clone(), citywatch_dispatch::DispatchConfig::default());
    let n = queries.len().min(500);
    let ids: Vec<i64> = queries[..n]
        .iter()
        .map(|(to, _)| {
            let new = NewIncident { kind: "bench".into(), priority: 3, location: IncidentLocation { lat: to.lat, lon: to.lon, address: None }, alert_id: None, created_by: "bench".into() };
            store.create_incident(&new, None, &serde_json::json!({}), chrono::Utc::now()).unwrap()
        })
        .collect();
    let mut times = Vec::new();
    for (id, (_, req)) in ids.iter().zip(queries) {
        let t = Instant::now();
        let (_, recs) = d.recommend_straight(*id, req, k).unwrap();
        times.push(t.elapsed());
        assert!(!recs.is_empty());
    }
    println!("with SQLite read of all units and the incident ({n} queries):");
    let (_, p99) = report("store+rank", times);
    println!("goal         p99 < 5 ms including the read: {}", if p99 < Duration::from_millis(5) { "met" } else { "NOT met" });
}
