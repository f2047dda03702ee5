//! End to end from pixels: a simulated camera (RTSP from `citywatch-sim`)
//! whose street has a car with a plate on a hotlist, recorded and analysed
//! by `citywatch serve` with `[analytics]` and `[plates]` enabled — NanoDet
//! finds the car, the tracker follows it, PP-OCRv4 reads its plate on a few
//! pictures, the vote gives one read — and a `hotlist_hit` event for that
//! plate lands in the store, with the plate crop served only with a purpose
//! and case reference. The simulator's ground truth is used only to choose
//! which plate to put on the hotlist; the server sees nothing but video.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use citywatch_sim::sightings::demo_hotlist;
use citywatch_sim::{EncodeCache, SimConfig, SimServer, Simulator, StreamConfig};
use serde_json::{json, Value};
use support::{wait_for, Server};

fn models() -> PathBuf {
    let dir = std::env::var_os("CITYWATCH_MODELS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/models"));
    assert!(
        dir.join("nanodet-g-416.onnx").is_file(),
        "no models in {} (set CITYWATCH_MODELS or run `citywatch models install`): this test needs them",
        dir.display()
    );
    dir
}

/// Hotlist hits stored for `camera`, oldest first, read beside the running server.
fn hits(server: &Server, camera: &str) -> Vec<(i64, Value)> {
    let db = rusqlite::Connection::open_with_flags(server.data.join("citywatch.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut stmt = db.prepare("SELECT id, details FROM event WHERE type = 'hotlist_hit' AND source_id = ?1 ORDER BY id").unwrap();
    stmt.query_map([camera], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|r| {
            let (id, details) = r.unwrap();
            (id, serde_json::from_str(&details).unwrap())
        })
        .collect()
}

#[test]
fn a_hotlisted_car_on_a_simulated_camera_raises_a_hotlist_hit_from_pixels() {
    let models = models();
    // One camera showing scene 0; its sub-stream (what analytics reads) at
    // 1280×720, as many current cameras offer: plates are about 60 px wide
    // there, a 640×360 sub-stream halves that.
    let stream = StreamConfig { width: 1280, height: 720, bitrate_kbps: 2000 };
    let config = SimConfig { cameras: 1, scenes: 1, main: stream, sub: stream, ..SimConfig::default() };
    let listed = demo_hotlist(&config).into_iter().next().expect("scene 0 shows a plate for the hotlist");
    let plate = listed.sighting.plate.clone();
    let sim = Arc::new(Simulator::prepare(config, &EncodeCache::default()).expect("encoding the scene"));
    let sim_server = SimServer::spawn(sim, SocketAddr::from(([127, 0, 0, 1], 0))).expect("serving the simulated camera");

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server_config = format!(
        "[video]\nrecord = true\n\n[analytics]\nenabled = true\nmodels_dir = {models:?}\nworkers = 2\n\n[plates]\nenabled = true\n",
        models = models.to_str().unwrap()
    );
    let server = Server::start(&data, &server_config);
    let admin = server.login("admin");
    server.post(&admin, "/api/v1/users", json!({"username": "op", "password": support::PASSWORD, "grants": [{"role": "operator"}]}));
    let op = server.login("op");
    let camera = "cam-0001";
    let rtsp = |s: &str| format!("rtsp://{}/{camera}/{s}", sim_server.addr);
    server.post(
        &admin,
        "/api/v1/cameras",
        json!({"id": camera, "name": "Simulated street", "lat": 44.81, "lon": 20.46, "main_url": rtsp("main"), "sub_url": rtsp("sub")}),
    );
    let csv = format!("plate,reason,priority\n{plate},stolen vehicle,8\n");
    let r = server
        .client
        .post(format!("{}/api/v1/hotlists/stolen/import", server.base()))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "importing the hotlist: {} {}", r.status(), r.text().unwrap_or_default());

    // The car crosses the picture once per 10 s loop; reading is slow in a debug build on a busy machine.
    let found = wait_for(&format!("a hotlist_hit for {plate} from the analysed video"), Duration::from_secs(240), || {
        hits(&server, camera).into_iter().find(|(_, d)| d["plate"] == plate.as_str())
    });
    let (event_id, details) = found;
    println!("hotlist_hit {event_id}: {details}");
    assert_eq!(details["list"], "stolen");
    assert_eq!(details["priority"], 8);
    assert_eq!(details["class"], "car", "{details}");
    let confidence = details["confidence"].as_f64().unwrap();
    assert!(confidence > 0.0 && confidence <= 1.0, "{details}");
    let [x0, y0, x1, y1] = [0, 1, 2, 3].map(|i| details["box"][i].as_f64().unwrap_or(-1.0));
    assert!((0.0..=1.0).contains(&x0) && x0 < x1 && x1 <= 1.0 && (0.0..=1.0).contains(&y0) && y0 < y1 && y1 <= 1.0, "{details}");

    // The read itself is stored for plate search, naming its crop.
    let crop = details["snapshot"].as_str().unwrap_or_else(|| panic!("a plate crop: {details}")).to_owned();
    assert_eq!(details["crop_ref"], crop.as_str());
    let jpeg = std::fs::read(data.join("analytics/snapshots").join(&crop)).expect("the crop is stored");
    assert_eq!(&jpeg[..2], &[0xff, 0xd8], "a JPEG");
    // Served as a plate-bearing snapshot: refused without purpose and case reference, shown (audited) with them.
    let path = format!("/api/v1/events/{event_id}/snapshot.jpg");
    assert_eq!(server.get(&op, &path).status(), 400);
    let shown = server.get(&op, &format!("{path}?purpose=hotlist%20check&case_ref=TEST-1"));
    assert!(shown.status().is_success(), "{}", shown.status());
    assert_eq!(&shown.bytes().unwrap()[..2], &[0xff, 0xd8], "a JPEG");
    // And the read is in the plate history, a hit, naming the same crop.
    let found = server.get_json(&op, &format!("/api/v1/plates/search?plate={}&purpose=hotlist%20check&case_ref=TEST-1", plate.replace(' ', "+")));
    let read = found["reads"].as_array().unwrap().iter().find(|r| r["event_id"] == details["read_event_id"]).unwrap_or_else(|| panic!("{found}"));
    assert_eq!((&read["hotlist_hit"], &read["crop_ref"], &read["camera_id"]), (&json!(true), &json!(crop), &json!(camera)), "{read}");

    let metrics = server.get(&admin, "/metrics").text().unwrap();
    for l in metrics.lines().filter(|l| l.starts_with("citywatch_analytics_") && l.contains(camera)) {
        println!("{l}");
    }
    let line = metrics
        .lines()
        .find(|l| l.starts_with(&format!("citywatch_analytics_plate_reads_total{{camera=\"{camera}\"}}")))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(line.split(' ').nth(1).unwrap().parse::<u64>().unwrap() >= 1, "{line}");
}
