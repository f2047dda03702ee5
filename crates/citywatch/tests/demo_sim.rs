//! `citywatch demo` with its in-process simulated cameras: the tagged
//! cameras record and play back as valid MP4, untagged ones are served
//! (for live view) but not recorded; units patrol; hotlist alerts come
//! from the simulator's ground truth without LPR cameras, and from plates
//! read in the video of the LPR cameras with them.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{ffprobe, free_port, wait_for, KillOnDrop, BIN};

const PASSWORD: &str = "demo-sim-test-password";

#[test]
fn demo_serves_every_camera_and_records_the_tagged_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (port, sim_port) = (free_port(), free_port());
    let _demo = KillOnDrop(demo_command(dir.path(), port, sim_port).stdout(Stdio::null()).spawn().unwrap());
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::new();
    let token = operator_token_when_up(&client, &base);
    let get = |path: &str| client.get(format!("{base}{path}")).bearer_auth(&token).send().unwrap();

    // The demo city points at the simulator; 16 of its 20 cameras record.
    let cam1: Value = get("/api/v1/cameras/cam-0001").json().unwrap();
    assert_eq!(cam1["main_url"], format!("rtsp://127.0.0.1:{sim_port}/cam-0001/main"), "{cam1}");
    assert!(cam1["tags"].as_array().unwrap().iter().any(|t| t == "recorded"), "{cam1}");
    let cam20: Value = get("/api/v1/cameras/cam-0020").json().unwrap();
    assert!(!cam20["tags"].as_array().unwrap().iter().any(|t| t == "recorded"), "{cam20}");
    let config = std::fs::read_to_string(dir.path().join("citywatch.toml")).unwrap();
    assert!(config.contains("record_tag = \"recorded\""), "{config}");
    // The map and the health wall say a camera this server does not record
    // is not recorded, rather than an "unknown" that reads as broken.
    assert_eq!(cam20["recorded"], false, "{cam20}");
    let wall: Value = get("/api/v1/health/overview").json().unwrap();
    let state_of =
        |wall: &Value, id: &str| wall["cameras"].as_array().unwrap_or_else(|| panic!("{wall}")).iter().find(|c| c["id"] == id).map(|c| c["state"].clone());
    assert_eq!(state_of(&wall, "cam-0020"), Some(Value::from("not_recorded")), "{wall}");
    assert_eq!(wall["totals"]["not_recorded"], 4, "{}", wall["totals"]);

    let spans = |id: &str| -> Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
        let now = chrono::Utc::now();
        let q = format!(
            "/api/v1/cameras/{id}/recordings?start={}&end={}",
            (now - chrono::Duration::minutes(10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            (now + chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let v: Value = get(&q).json().unwrap();
        v["spans"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|s| (s["start"].as_str().unwrap().parse().unwrap(), s["end"].as_str().unwrap().parse().unwrap()))
            .collect()
    };
    let span =
        wait_for("4 s recorded from cam-0001", Duration::from_secs(90), || spans("cam-0001").into_iter().find(|(s, e)| (*e - *s).num_milliseconds() >= 4_000));
    let cam1: Value = get("/api/v1/cameras/cam-0001").json().unwrap();
    assert_eq!(cam1["recorded"], true, "{cam1}");
    let wall: Value = get("/api/v1/health/overview").json().unwrap();
    assert_eq!(state_of(&wall, "cam-0001"), Some(Value::from("online")), "{wall}");

    // It plays back as a valid MP4 of the demo's main stream size.
    let range = format!(
        "start={}&end={}",
        span.0.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        (span.0 + chrono::Duration::seconds(3)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    let r = get(&format!("/api/v1/cameras/cam-0001/view.mp4?{range}&purpose=demo+test&case_ref=DEMO-1"));
    assert_eq!(r.status(), 200);
    let file = dir.path().join("cam-0001.mp4");
    std::fs::write(&file, r.bytes().unwrap()).unwrap();
    let info = ffprobe(file.to_str().unwrap(), &["-show_entries", "stream=codec_name,width,height"]);
    assert_eq!(info["streams"][0]["codec_name"], "h264", "{info}");
    assert_eq!((info["streams"][0]["width"].as_u64(), info["streams"][0]["height"].as_u64()), (Some(640), Some(360)), "{info}");
    let decode = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&file).args(["-f", "null", "-"]).output().unwrap();
    assert!(decode.status.success() && decode.stderr.is_empty(), "ffmpeg decode: {}", String::from_utf8_lossy(&decode.stderr));

    // An untagged camera is served (for live view) but was never recorded.
    let sub = ffprobe(format!("rtsp://127.0.0.1:{sim_port}/cam-0020/sub"), &["-rtsp_transport", "tcp", "-show_entries", "stream=codec_name,width,height"]);
    assert_eq!((sub["streams"][0]["codec_name"].as_str(), sub["streams"][0]["width"].as_u64()), (Some("h264"), Some(320)), "{sub}");
    assert!(spans("cam-0020").is_empty(), "cam-0020 is not tagged for recording");
}

#[test]
fn sim_command_serves_cameras_writes_truth_and_refuses_bad_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth");
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["sim", "--cameras", "3", "--listen", &format!("127.0.0.1:{port}"), "--main", "320x180", "--sub", "160x90", "--loop-secs", "2", "--scenes", "2"])
        .arg("--truth")
        .arg(&truth)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let _sim = KillOnDrop(child);
    let mut printed = String::new();
    while !printed.contains("Serving") {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0, "sim exited: {printed}");
        printed += &line;
    }
    assert!(printed.contains(&format!("rtsp://127.0.0.1:{port}/cam-NNNN/{{main,sub}}")) && printed.contains("cam-0003"), "{printed}");
    let scene: Value = serde_json::from_slice(&std::fs::read(truth.join("scene-1.json")).unwrap()).unwrap();
    assert_eq!((scene["width"].as_u64(), scene["frames"].as_array().map(Vec::len)), (Some(320), Some(30)));
    let cameras: Value = serde_json::from_slice(&std::fs::read(truth.join("cameras.json")).unwrap()).unwrap();
    assert_eq!(cameras.as_array().map(Vec::len), Some(3));
    let v = ffprobe(format!("rtsp://127.0.0.1:{port}/cam-0003/main"), &["-rtsp_transport", "tcp", "-show_entries", "stream=codec_name,width,height"]);
    assert_eq!((v["streams"][0]["codec_name"].as_str(), v["streams"][0]["width"].as_u64()), (Some("h264"), Some(320)), "{v}");

    let bad = Command::new(BIN).args(["sim", "--main", "1281x720", "--listen", "127.0.0.1:0"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("1281x720") && err.contains("even"), "{err}");
}

/// Metres between two (lat, lon) a few hundred metres apart (flat earth is enough).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let k = std::f64::consts::PI / 180.0 * 6_371_000.0;
    let (dy, dx) = ((b.0 - a.0) * k, (b.1 - a.1) * k * ((a.0 + b.0) / 2.0).to_radians().cos());
    dx.hypot(dy)
}

/// `citywatch demo` on its own data directory and ports, two cameras per
/// district; each test adds what it needs.
fn demo_command(dir: &std::path::Path, port: u16, sim_port: u16) -> Command {
    let mut c = Command::new(BIN);
    c.args(["demo", "--data", dir.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")]).args([
        "--sim-listen",
        &format!("127.0.0.1:{sim_port}"),
        "--cameras-per-district",
        "2",
        "--admin-password",
        PASSWORD,
    ]);
    c
}

fn start_demo(dir: &std::path::Path, port: u16, sim_port: u16) -> KillOnDrop {
    KillOnDrop(
        demo_command(dir, port, sim_port)
            // The cameras are not needed here: units and hotlist hits come from the simulation's model and ground truth.
            .arg("--no-sim")
            .args(["--unit-fix-every-secs", "0.5", "--hotlist-every-secs", "1", "--lpr-cameras", "0"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn demo_units_patrol_and_a_hotlisted_plate_raises_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    let (port, sim_port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let login = |user: &str| -> String {
        let v: Value =
            client.post(format!("{base}/api/v1/auth/login")).json(&serde_json::json!({"username": user, "password": PASSWORD})).send().unwrap().json().unwrap();
        v["token"].as_str().unwrap_or_else(|| panic!("login {user}: {v}")).to_owned()
    };
    let get = |token: &str, path: &str| -> Value {
        let r = client.get(format!("{base}{path}")).bearer_auth(token).send().unwrap();
        let status = r.status();
        let text = r.text().unwrap();
        assert!(status.is_success(), "GET {path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    };
    let demo = start_demo(dir.path(), port, sim_port);
    wait_for("the demo server", Duration::from_secs(60), || client.get(format!("{base}/health")).send().ok().filter(|r| r.status().is_success()));
    let operator = login("operator");
    // The demo's officers and dispatcher can log in.
    login("officer01");
    login("dispatcher");

    // Twelve units of the three kinds, crewed by the demo officers, each reporting positions.
    let demo_units = |v: Value| -> Vec<Value> { v.as_array().unwrap().iter().filter(|u| u["id"].as_str().unwrap().starts_with("demo-")).cloned().collect() };
    let first = wait_for("every demo unit to report a position", Duration::from_secs(30), || {
        let units = demo_units(get(&operator, "/api/v1/units"));
        (units.len() == 12 && units.iter().all(|u| u["position"].is_object())).then_some(units)
    });
    let kinds: std::collections::BTreeSet<&str> = first.iter().map(|u| u["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["car", "foot", "motorbike"].into_iter().collect(), "{first:?}");
    assert!(first.iter().all(|u| u["officers"].as_array().unwrap().len() == 1 && u["status"] == "available"), "{first:?}");
    assert!(first.iter().any(|u| u["officers"][0] == "officer01"), "{first:?}");

    // They move, no faster than their kind's speed (the default speeds: car 40, motorbike 45, foot 5 km/h).
    let pos = |u: &Value| (u["position"]["lat"].as_f64().unwrap(), u["position"]["lon"].as_f64().unwrap());
    let time = |u: &Value| u["position"]["time"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let later = wait_for("every demo unit to move", Duration::from_secs(30), || {
        let units = demo_units(get(&operator, "/api/v1/units"));
        let moved = |u: &Value| first.iter().find(|f| f["id"] == u["id"]).is_some_and(|f| metres(pos(f), pos(u)) > 0.1);
        (units.len() == 12 && units.iter().all(moved)).then_some(units)
    });
    for u in &later {
        let f = first.iter().find(|f| f["id"] == u["id"]).unwrap();
        let kmh = match u["kind"].as_str().unwrap() {
            "car" => 40.0,
            "motorbike" => 45.0,
            _ => 5.0,
        };
        let secs = (time(u) - time(f)).num_milliseconds() as f64 / 1000.0;
        let d = metres(pos(f), pos(u));
        assert!(secs > 0.0 && d <= kmh / 3.6 * secs * 1.1 + 2.0, "{}: {d:.1} m in {secs} s at {kmh} km/h", u["id"]);
        assert!(u["position"]["speed_mps"].as_f64().unwrap() <= kmh / 3.6 + 0.01, "{u}");
    }

    // A hotlisted plate seen by a simulated camera becomes an alert of the demo rule.
    let alert = wait_for("a hotlist alert", Duration::from_secs(60), || {
        let v = get(&operator, "/api/v1/alerts");
        v["alerts"].as_array().unwrap().iter().find(|a| a["event_type"] == "hotlist_hit").cloned()
    });
    assert!(alert["rule_name"].as_str().unwrap().starts_with("Demo: hotlisted vehicle"), "{alert}");
    assert_eq!(alert["source"]["kind"], "camera", "{alert}");
    let camera = alert["source"]["id"].as_str().unwrap();
    let cam: Value = get(&operator, &format!("/api/v1/cameras/{camera}"));
    assert_eq!((alert["location"]["lat"].as_f64(), alert["location"]["lon"].as_f64()), (cam["lat"].as_f64(), cam["lon"].as_f64()), "{alert} at {cam}");
    // Its events say where they come from, and a plate read goes with each hit.
    let events = get(&operator, &format!("/api/v1/events?source={camera}&type=plate_read,hotlist_hit&purpose=demo+test&case_ref=DEMO-2"));
    let events = events["events"].as_array().unwrap();
    let hit = events.iter().find(|e| e["type"] == "hotlist_hit").unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(hit["details"]["source"], "simulator ground truth", "{hit}");
    assert!(hit["details"]["priority"].as_u64().unwrap() >= 5, "{hit}");
    let plate = hit["details"]["plate"].as_str().unwrap();
    assert!(
        events.iter().any(|e| e["type"] == "plate_read" && e["details"]["plate"] == plate && e["details"]["source"] == "simulator ground truth"),
        "{events:?}"
    );

    // The dispatcher makes an incident of the alert and sends the farthest car: it drives there.
    let dispatcher = login("dispatcher");
    let post = |token: &str, path: &str, body: Value| -> Value {
        let r = client.post(format!("{base}{path}")).bearer_auth(token).json(&body).send().unwrap();
        let status = r.status();
        let v: Value = r.json().unwrap();
        assert!(status.is_success(), "POST {path}: {status} {v}");
        v
    };
    let incident =
        post(&dispatcher, "/api/v1/incidents", serde_json::json!({"type": "stolen_vehicle", "priority": 2, "alert_id": alert["id"], "source": "alert"}));
    let place = (incident["location"]["lat"].as_f64().unwrap(), incident["location"]["lon"].as_f64().unwrap());
    let units = demo_units(get(&operator, "/api/v1/units"));
    let car = units.iter().filter(|u| u["kind"] == "car").max_by(|a, b| metres(pos(a), place).total_cmp(&metres(pos(b), place))).unwrap();
    let (car_id, start_m) = (car["id"].as_str().unwrap().to_owned(), metres(pos(car), place));
    assert!(start_m > 1_000.0, "the farthest car is {start_m} m away");
    post(&dispatcher, &format!("/api/v1/incidents/{}/assign", incident["id"]), serde_json::json!({"unit_id": car_id}));
    wait_for("the assigned car to come 100 m closer", Duration::from_secs(60), || {
        let u = demo_units(get(&operator, "/api/v1/units")).into_iter().find(|u| u["id"] == car_id.as_str()).unwrap();
        assert_eq!(u["status"], "dispatched", "{u}");
        (metres(pos(&u), place) < start_m - 100.0).then_some(())
    });

    // Started again on the same directory, the demo makes no second fleet or rule.
    drop(demo);
    let _demo = start_demo(dir.path(), port, sim_port);
    wait_for("the demo server again", Duration::from_secs(60), || client.get(format!("{base}/health")).send().ok().filter(|r| r.status().is_success()));
    let admin = login("admin");
    let rules = get(&admin, "/api/v1/rules");
    let demo_rules = rules.as_array().unwrap().iter().filter(|r| r["name"].as_str().unwrap().starts_with("Demo: hotlisted vehicle")).count();
    assert_eq!(demo_rules, 1, "{rules}");
    let operator = login("operator");
    assert_eq!(demo_units(get(&operator, "/api/v1/units")).len(), 12);
    // The re-keyed devices still feed the same units.
    let before = demo_units(get(&operator, "/api/v1/units"));
    wait_for("the units to move after the restart", Duration::from_secs(30), || {
        let now = demo_units(get(&operator, "/api/v1/units"));
        now.iter().all(|u| before.iter().find(|b| b["id"] == u["id"]).is_some_and(|b| time(b) < time(u))).then_some(())
    });
}

#[test]
fn with_the_models_a_demo_lpr_camera_reads_a_hotlisted_plate_from_its_video() {
    let models = citywatch_test_support::models("nanodet-g-416.onnx");
    let dir = tempfile::tempdir().unwrap();
    let (port, sim_port) = (free_port(), free_port());
    let _demo = KillOnDrop(
        demo_command(dir.path(), port, sim_port)
            .args(["--unit-fix-every-secs", "0", "--hotlist-every-secs", "5", "--lpr-cameras", "1"])
            .env("CITYWATCH_MODELS", &models)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let token = operator_token_when_up(&client, &base);
    let get = |path: &str| -> Value {
        let r = client.get(format!("{base}{path}")).bearer_auth(&token).send().unwrap();
        let status = r.status();
        let text = r.text().unwrap();
        assert!(status.is_success(), "GET {path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    };

    // One LPR camera: tagged, its sub-stream the 640×360 main stream.
    let cameras = get("/api/v1/cameras");
    let lpr: Vec<&Value> = cameras
        .as_array()
        .unwrap_or_else(|| cameras["cameras"].as_array().unwrap())
        .iter()
        .filter(|c| c["tags"].as_array().unwrap().iter().any(|t| t == "lpr"))
        .collect();
    assert_eq!(lpr.len(), 1, "{cameras}");
    let camera = lpr[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(lpr[0]["sub_url"], lpr[0]["main_url"], "{}", lpr[0]);

    // An alert of the demo rule whose hit is a read of the video: no ground-truth label, a track, a crop, a read event.
    let alert = wait_for("a hotlist alert from a plate read in the video", Duration::from_secs(100), || {
        let v = get("/api/v1/alerts");
        v["alerts"].as_array().unwrap().iter().find(|a| a["event_type"] == "hotlist_hit").cloned()
    });
    assert!(alert["rule_name"].as_str().unwrap().starts_with("Demo: hotlisted vehicle"), "{alert}");
    assert_eq!(alert["source"]["id"], camera.as_str(), "{alert}");
    let events = get(&format!("/api/v1/events?source={camera}&type=plate_read,hotlist_hit&purpose=demo+test&case_ref=DEMO-3"));
    let events = events["events"].as_array().unwrap();
    let hit = events.iter().find(|e| e["type"] == "hotlist_hit").unwrap_or_else(|| panic!("{events:?}"));
    let d = &hit["details"];
    assert!(d.get("source").is_none(), "a read of the video has no ground-truth label: {hit}");
    assert_eq!(d["list"], "demo", "{hit}");
    assert!(d["track_id"].as_i64().is_some() && d["crop_ref"].as_str().is_some_and(|c| c.starts_with(&camera)), "{hit}");
    let confidence = d["confidence"].as_f64().unwrap();
    assert!(confidence > 0.0 && confidence <= 1.0, "{hit}");
    let read = events.iter().find(|e| e["id"] == d["read_event_id"]).unwrap_or_else(|| panic!("the read of {hit} in {events:?}"));
    assert_eq!((&read["type"], &read["details"]["plate"]), (&serde_json::json!("plate_read"), &d["plate"]), "{read}");
    // The plate is one the simulator really shows on that camera (the read is exact).
    let sim = citywatch_sim::SimConfig::demo(20);
    let n: u32 = camera.strip_prefix("cam-").unwrap().parse().unwrap();
    let shown: Vec<String> = citywatch_sim::sightings::sightings(&sim).into_iter().filter(|s| s.scene == sim.camera(n).scene).map(|s| s.plate).collect();
    assert!(shown.iter().any(|p| d["plate"] == p.as_str()), "{hit} is not among {shown:?}");
}

/// Waits for the demo server to answer `/health`, then logs in as the
/// demo's operator and returns the session token.
fn operator_token_when_up(client: &reqwest::blocking::Client, base: &str) -> String {
    wait_for("the demo server", Duration::from_secs(60), || client.get(format!("{base}/health")).send().ok().filter(|r| r.status().is_success()));
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "operator", "password": PASSWORD}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    login["token"].as_str().unwrap_or_else(|| panic!("{login}")).to_owned()
}
