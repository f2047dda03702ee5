//! The pruned ranking against brute force on random fleets (seeded, so a
//! failure reproduces), and the OSRM client against a local server that
//! speaks OSRM's JSON.

use std::sync::Arc;

use chrono::Utc;
use citywatch_dispatch::recommend::{rank, rank_brute_force, Speeds};
use citywatch_dispatch::{Dispatch, DispatchConfig};
use citywatch_geo::routing::{LatLon, Router};
use citywatch_model::dispatch::{IncidentLocation, NewIncident, Position, Unit, UnitKind, UnitSpec, UnitStatus};
use rand::{Rng, SeedableRng};

const CAPS: [&str; 4] = ["k9", "medic", "traffic", "negotiator"];

fn fleet(rng: &mut impl Rng, n: usize, spread_deg: f64) -> Vec<Unit> {
    (0..n)
        .map(|i| {
            let kind = [UnitKind::Car, UnitKind::Foot, UnitKind::Motorbike][rng.gen_range(0..3)];
            let status = if rng.gen_bool(0.7) { UnitStatus::Available } else { UnitStatus::ALL[rng.gen_range(0..5)] };
            let caps = CAPS.iter().filter(|_| rng.gen_bool(0.3)).map(|c| c.to_string()).collect();
            let position = rng.gen_bool(0.95).then(|| Position {
                unit_id: format!("u{i}"),
                lat: 44.8 + rng.gen_range(-spread_deg..spread_deg),
                lon: 20.45 + rng.gen_range(-spread_deg..spread_deg),
                time: Utc::now(),
                speed_mps: None,
                bearing_deg: None,
            });
            Unit { id: format!("u{i}"), call_sign: format!("Unit {i}"), kind, officers: vec![], capabilities: caps, status, position, district: None }
        })
        .collect()
}

#[test]
fn pruned_ranking_equals_brute_force_on_random_fleets() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_d15a);
    let speeds = Speeds::default();
    let mut compared = 0;
    for case in 0..300 {
        // City-sized and country-sized spreads, and a fleet with many units
        // at one spot (ties broken by id).
        let spread = [0.005, 0.1, 3.0][case % 3];
        let n = rng.gen_range(0..400);
        let mut units = fleet(&mut rng, n, spread);
        if case % 10 == 0 {
            for u in units.iter_mut().take(20) {
                if let Some(p) = u.position.as_mut() {
                    (p.lat, p.lon) = (44.8, 20.45);
                }
            }
        }
        let to = LatLon { lat: 44.8 + rng.gen_range(-spread..spread), lon: 20.45 + rng.gen_range(-spread..spread) };
        let required: Vec<String> = CAPS.iter().filter(|_| rng.gen_bool(0.15)).map(|c| c.to_string()).collect();
        let k = [1, 5, 10, 50, 1000][case % 5];
        let fast = rank(&units, to, &required, &speeds, k);
        let slow = rank_brute_force(&units, to, &required, &speeds, k);
        assert_eq!(fast, slow, "case {case}: spread {spread}, k {k}, required {required:?}");
        compared += fast.len();
        // What the ranking promises, checked directly.
        for r in &fast {
            let u = units.iter().find(|u| u.id == r.unit_id).unwrap();
            assert_eq!(u.status, UnitStatus::Available);
            assert!(required.iter().all(|c| u.capabilities.contains(c)));
            assert!((r.eta_s - r.distance_m / speeds.mps(u.kind)).abs() < 1e-9);
        }
        assert!(fast.windows(2).all(|w| w[0].eta_s <= w[1].eta_s), "case {case}: not ordered by ETA");
    }
    assert!(compared > 2000, "the cases compared only {compared} recommendations");
}

#[test]
fn a_slow_unit_close_by_can_lose_to_a_fast_one_further_away() {
    let unit = |id: &str, kind, lat: f64| Unit {
        id: id.into(),
        call_sign: id.into(),
        kind,
        officers: vec![],
        capabilities: vec![],
        status: UnitStatus::Available,
        position: Some(Position { unit_id: id.into(), lat, lon: 20.45, time: Utc::now(), speed_mps: None, bearing_deg: None }),
        district: None,
    };
    // 500 m on foot (6 min) against 2 km by car (3 min).
    let units = vec![unit("walker", UnitKind::Foot, 44.8045), unit("car", UnitKind::Car, 44.818)];
    let r = rank(&units, LatLon { lat: 44.8, lon: 20.45 }, &[], &Speeds::default(), 2);
    assert_eq!(r.iter().map(|r| r.unit_id.as_str()).collect::<Vec<_>>(), ["car", "walker"]);
    assert!(r[0].reason.contains("car car 2.0 km away by straight line; ETA about 3 min at 40 km/h; available"), "{}", r[0].reason);
}

/// A server that answers like OSRM: the distance is the longitude
/// difference × 100 km, the duration a tenth of it; origins west of 0 have
/// no route.
async fn fake_osrm() -> (String, tokio::task::JoinHandle<()>) {
    use axum::extract::Path;
    use axum::routing::get;
    async fn route(Path((_profile, coords)): Path<(String, String)>) -> (axum::http::StatusCode, String) {
        let pts: Vec<(f64, f64)> = coords
            .split(';')
            .map(|p| {
                let (lon, lat) = p.split_once(',').unwrap();
                (lon.parse().unwrap(), lat.parse().unwrap())
            })
            .collect();
        if pts[0].0 < 0.0 {
            return (axum::http::StatusCode::BAD_REQUEST, r#"{"code":"NoRoute","message":"Impossible route between points"}"#.into());
        }
        let d = (pts[1].0 - pts[0].0).abs() * 100_000.0;
        (
            axum::http::StatusCode::OK,
            format!(r#"{{"code":"Ok","routes":[{{"geometry":"","legs":[],"distance":{d},"duration":{},"weight":1}}],"waypoints":[]}}"#, d / 10.0),
        )
    }
    let app = axum::Router::new().route("/route/v1/{profile}/{coords}", get(route));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    (base, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

#[tokio::test]
async fn the_osrm_client_reads_routes_and_reranks() {
    let (base, server) = fake_osrm().await;
    let osrm = citywatch_dispatch::osrm::Osrm::new(&base, std::time::Duration::from_secs(5)).unwrap();
    let to = LatLon { lat: 44.8, lon: 20.5 };
    let legs = osrm.legs(&[LatLon { lat: 44.8, lon: 20.4 }, LatLon { lat: 44.8, lon: -1.0 }], to).await.unwrap();
    let first = legs[0].unwrap();
    assert!((first.distance_m - 10_000.0).abs() < 1.0 && (first.duration_s.unwrap() - 1000.0).abs() < 0.1, "{first:?}");
    assert_eq!(legs[1], None, "NoRoute is no route, not an error");

    // Through the service: the road router re-ranks straight-line candidates.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(citywatch_store::Store::open(&dir.path().join("db")).unwrap());
    let config = DispatchConfig { router: Arc::new(osrm), ..DispatchConfig::default() };
    let d = Dispatch::new(store.clone(), config);
    let log = citywatch_audit::AuditLog::new(store.clone(), ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]));
    for (id, lon) in [("near", 20.49), ("far", 20.6)] {
        let spec = UnitSpec { id: id.into(), call_sign: id.into(), kind: UnitKind::Car, officers: vec![], capabilities: vec![], district: None };
        d.create_unit(&spec, &log, |u| citywatch_audit::Record::new("admin", "unit.create", &u.id)).unwrap();
        store.add_position("dev", &Position { unit_id: id.into(), lat: 44.8, lon, time: Utc::now(), speed_mps: None, bearing_deg: None }, Utc::now()).unwrap();
    }
    let new = NewIncident {
        kind: "test".into(),
        priority: 2,
        location: IncidentLocation { lat: to.lat, lon: to.lon, address: None },
        alert_id: None,
        created_by: "d".into(),
    };
    let id = store.create_incident(&new, None, &serde_json::json!({}), Utc::now()).unwrap();
    let (to, recs) = d.recommend_straight(id, &[], 5, |_| true).unwrap();
    let recs = d.refine(to, recs, &[], 5).await;
    assert_eq!(recs.iter().map(|r| (r.unit_id.as_str(), r.router)).collect::<Vec<_>>(), [("near", "osrm"), ("far", "osrm")]);
    assert!((recs[0].eta_s - 100.0).abs() < 0.1, "OSRM's driving time is the ETA: {:?}", recs[0]);

    // A router nobody answers at leaves the straight-line ranking in place.
    server.abort();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let dead = citywatch_dispatch::osrm::Osrm::new(&format!("http://{closed}"), std::time::Duration::from_secs(5)).unwrap();
    let d = Dispatch::new(store, DispatchConfig { router: Arc::new(dead), ..DispatchConfig::default() });
    let (to, recs) = d.recommend_straight(id, &[], 5, |_| true).unwrap();
    let recs = d.refine(to, recs, &[], 5).await;
    assert_eq!(recs.iter().map(|r| (r.unit_id.as_str(), r.router)).collect::<Vec<_>>(), [("near", "straight line"), ("far", "straight line")]);
}
