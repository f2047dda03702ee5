//! `citywatch audit verify` on a log nobody touched must say OK: thousands
//! of cameras at random full-precision coordinates, hundreds of spatial
//! searches of every kind (their 17-digit parameters go into the audit
//! details), a clean stop, a restart, more searches, another stop. A false
//! "altered" here is as bad as a missed tampering.

mod support;

use std::process::Command;

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support::Server;

const BIN: &str = env!("CARGO_BIN_EXE_citywatch");
const CAMERAS: usize = 3_000;

fn verify(data: &std::path::Path) -> (i32, String) {
    let out = Command::new(BIN).args(["audit", "verify", "--data"]).arg(data).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// A point in and around Belgrade with every digit a double can carry.
fn point(rng: &mut impl Rng) -> (f64, f64) {
    (44.70 + rng.gen::<f64>() * 0.2, 20.30 + rng.gen::<f64>() * 0.3)
}

fn searches(server: &Server, token: &str, rng: &mut impl Rng, count: usize) {
    for i in 0..count {
        let (lat, lon) = point(rng);
        let r = match i % 6 {
            0 => server.get(token, &format!("/api/v1/cameras?near={lat},{lon}&radius_m={}", rng.gen_range(50.0..2000.0f64))),
            1 => server.get(token, &format!("/api/v1/cameras?nearest={lat},{lon}&k={}", rng.gen_range(1..20))),
            2 => {
                let (lat2, lon2) = (lat + rng.gen::<f64>() * 0.01, lon + rng.gen::<f64>() * 0.01);
                server.get(token, &format!("/api/v1/cameras?bbox={lon},{lat},{lon2},{lat2}"))
            }
            3 => server.get(token, &format!("/api/v1/cameras?sees={lat},{lon}")),
            4 => {
                let d = rng.gen::<f64>() * 0.01;
                let polygon = json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]});
                server.client.post(format!("{}/api/v1/cameras/search", server.base())).bearer_auth(token).json(&polygon).send().unwrap()
            }
            _ => {
                let route = json!({"type": "LineString", "coordinates": [[lon, lat], [lon + rng.gen::<f64>() * 0.02, lat + rng.gen::<f64>() * 0.02]]});
                let within = rng.gen_range(10.0..100.0f64);
                server.client.post(format!("{}/api/v1/cameras/search?within_m={within}", server.base())).bearer_auth(token).json(&route).send().unwrap()
            }
        };
        assert!(r.status().is_success(), "search {i}: {}", r.status());
    }
}

#[test]
fn an_untouched_log_verifies_after_real_use_and_a_restart() {
    let seed: u64 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, "");
    let admin = server.login("admin");

    let features: Vec<Value> = (0..CAMERAS)
        .map(|i| {
            let (lat, lon) = point(&mut rng);
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                   "properties": {"id": format!("cam-{i:05}"), "name": format!("Camera {i}"),
                                  "heading_deg": rng.gen::<f64>() * 360.0, "fov_deg": 30.0 + rng.gen::<f64>() * 90.0,
                                  "range_m": 20.0 + rng.gen::<f64>() * 180.0}})
        })
        .collect();
    let import = server
        .client
        .post(format!("{}/api/v1/cameras/import", server.base()))
        .bearer_auth(&admin)
        .header("content-type", "application/geo+json")
        .body(json!({"type": "FeatureCollection", "features": features}).to_string())
        .send()
        .unwrap();
    let status = import.status();
    let report: Value = import.json().unwrap();
    assert!(status.is_success(), "import: {status} {report}");

    searches(&server, &admin, &mut rng, 300);
    server.stop();
    let (code, text) = verify(&data);
    assert_eq!(code, 0, "seed {seed}: an untouched log must verify:\n{text}");
    assert!(text.contains("audit log OK"), "{text}");

    server.restart();
    let admin = server.login("admin");
    searches(&server, &admin, &mut rng, 120);
    server.stop();
    let (code, text) = verify(&data);
    assert_eq!(code, 0, "seed {seed}: an untouched log must verify after a restart:\n{text}");
    let entries: i64 = text.split("audit log OK: ").nth(1).and_then(|t| t.split(' ').next()).and_then(|n| n.parse().ok()).unwrap();
    assert!(entries > 420, "every search is audited: {text}");
}
