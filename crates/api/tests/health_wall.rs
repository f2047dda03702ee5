//! The health wall's read, `GET /api/v1/health/overview`, over real HTTP:
//! what each caller sees (their districts' cameras only; disk figures only
//! with read_metrics over all districts), each camera's state, gaps,
//! dropped frames and analytics figures, and the event rates.

mod common;

use std::sync::Arc;

use chrono::{Duration, SecondsFormat, Utc};
use citywatch_model::{CameraStatus, EventType, NewEvent, Role, Source};
use citywatch_video::recorder::Stream;
use common::{start, TestServer};
use serde_json::{json, Value};

fn ids(wall: &Value) -> Vec<&str> {
    wall["cameras"].as_array().unwrap_or_else(|| panic!("no cameras in {wall}")).iter().map(|c| c["id"].as_str().unwrap()).collect()
}

fn row<'a>(wall: &'a Value, id: &str) -> &'a Value {
    wall["cameras"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id} not on the wall: {wall}"))
}

async fn event_on(s: &TestServer, camera: &str) {
    let e = NewEvent { event_type: EventType::Motion, time: Utc::now(), source: Source::camera(camera), location: None, details: json!({}) };
    s.events.raise(e).await.unwrap();
}

#[tokio::test]
async fn the_wall_shows_each_caller_their_cameras_states_gaps_and_rates() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("op-north", &[(Role::Operator, Some(&["North"]), None)]);
    s.user("sup-north", &[(Role::Supervisor, Some(&["North"]), None)]);
    s.user("aud", &[(Role::Auditor, None, None)]);
    let root = s.login("root").await;
    for (id, district) in [("n-rec", "North"), ("n-never", "North"), ("n-off", "North"), ("n-plain", "North"), ("s-rec", "South")] {
        s.camera(&root, id, district, Some(&format!("rtsp://127.0.0.1:9/{id}"))).await;
    }
    // Recorded and seen: online, with 20 s recorded ten minutes ago (so one
    // gap since, and none before its first recording).
    for id in ["n-rec", "n-never", "n-off", "s-rec"] {
        s.health.stream(id, Stream::Main);
    }
    common::blocking(|| s.state.registry.set_status("n-rec", CameraStatus::Online)).unwrap();
    common::blocking(|| s.state.registry.set_status("n-off", CameraStatus::Offline)).unwrap();
    let ten_min_ago = (Utc::now() - Duration::minutes(10)).to_rfc3339_opts(SecondsFormat::Secs, true);
    s.record_synthetic("n-rec", &ten_min_ago, 20);
    s.state.set_analytics_health(Arc::new(|| vec![citywatch_api::AnalyticsCamera { camera: "n-rec".into(), lag_ms: 250, skipped: 7, analysed: 90 }]));
    event_on(&s, "n-rec").await;
    event_on(&s, "s-rec").await;

    // A district-limited operator: North's cameras only, offline first, no disk.
    let op = s.login("op-north").await;
    let (st, wall) = s.get(&op, "/api/v1/health/overview").await;
    assert_eq!(st, 200, "{wall}");
    let mut seen = ids(&wall);
    assert_eq!(seen[0], "n-off", "offline first: {wall}");
    seen.sort();
    assert_eq!(seen, ["n-never", "n-off", "n-plain", "n-rec"], "only the caller's districts");
    assert_eq!(row(&wall, "n-rec")["state"], "online");
    assert_eq!(row(&wall, "n-never")["state"], "unknown", "recorded here but never connected");
    assert_eq!(row(&wall, "n-never")["last_seen"], Value::Null);
    assert_eq!(row(&wall, "n-off")["state"], "offline");
    assert_eq!(row(&wall, "n-plain")["state"], "not_recorded", "this server does not connect to it");
    assert_eq!(row(&wall, "n-plain")["streams"], json!([]));
    assert_eq!(row(&wall, "n-rec")["streams"][0]["stream"], "main");
    assert_eq!(row(&wall, "n-rec")["dropped_frames"], 0);
    let totals = &wall["totals"];
    assert_eq!((totals["cameras"].as_u64(), totals["online"].as_u64(), totals["offline"].as_u64()), (Some(4), Some(1), Some(1)), "{totals}");
    assert_eq!((totals["unknown"].as_u64(), totals["not_recorded"].as_u64(), totals["disabled"].as_u64()), (Some(1), Some(1), Some(0)), "{totals}");
    // Gaps from the index: none before the first recording, one after it.
    let gaps = &row(&wall, "n-rec")["gaps"];
    assert_eq!(gaps["count"], 1, "{gaps}");
    let secs = gaps["seconds"].as_i64().unwrap();
    assert!((560..=600).contains(&secs), "about 9 min 40 s: {gaps}");
    assert_eq!(row(&wall, "n-never")["gaps"]["count"], 0, "nothing recorded: no gaps to count");
    assert_eq!(row(&wall, "n-plain")["gaps"], Value::Null);
    // Analytics figures per camera and in total.
    assert_eq!(row(&wall, "n-rec")["analytics"], json!({"lag_ms": 250, "skipped": 7, "analysed": 90}));
    assert_eq!(wall["analytics"]["max_lag_ms"], 250);
    // Rates in the caller's districts only.
    assert_eq!(wall["rates"]["events_5m"], 1, "{}", wall["rates"]);
    assert_eq!(wall["rates"]["events_1h"], 1);
    assert_eq!(wall["disk"], Value::Null, "an operator does not read metrics");

    // Disk figures need read_metrics over all districts (as /metrics does).
    let sup = s.login("sup-north").await;
    let (st, wall) = s.get(&sup, "/api/v1/health/overview").await;
    assert_eq!(st, 200, "{wall}");
    assert_eq!(wall["disk"], Value::Null, "a district supervisor gets no system-wide disk figures");
    let (st, wall) = s.get(&root, "/api/v1/health/overview").await;
    assert_eq!(st, 200, "{wall}");
    assert_eq!(ids(&wall).len(), 5);
    assert_eq!(wall["rates"]["events_5m"], 2);
    let disk = &wall["disk"];
    assert!(disk["recorded_bytes"].as_i64().unwrap() > 0, "{disk}");
    assert!(disk["free_bytes"].as_u64().unwrap() > 0, "{disk}");
    assert!(disk["write_bytes_per_s"].is_number(), "{disk}");

    // The map learns which cameras are recorded here at all.
    let (_, list) = s.get(&op, "/api/v1/cameras").await;
    let recorded = |id: &str| list.as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()["recorded"].clone();
    assert_eq!((recorded("n-rec"), recorded("n-plain")), (json!(true), json!(false)));
    assert_eq!(s.get(&op, "/api/v1/cameras/n-plain").await.1["recorded"], false);

    // Refused: a sentence naming the roles needed.
    let aud = s.login("aud").await;
    let (st, body) = s.get(&aud, "/api/v1/health/overview").await;
    assert_eq!(st, 403, "{body}");
    let msg = body["error"].as_str().unwrap();
    assert!(msg.contains("reading the health of cameras needs the role") && msg.contains("operator") && !msg.contains('{'), "{msg}");
    let r = s.client.get(s.url("/api/v1/health/overview")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_disabled_camera_is_listed_last_and_not_counted_as_offline() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    let root = s.login("root").await;
    s.camera(&root, "a1", "North", Some("rtsp://127.0.0.1:9/a1")).await;
    s.camera(&root, "b1", "North", Some("rtsp://127.0.0.1:9/b1")).await;
    s.health.stream("a1", Stream::Main);
    common::blocking(|| s.state.registry.set_status("a1", CameraStatus::Offline)).unwrap();
    let (st, b) = s.send(&root, "PUT", "/api/v1/cameras/b1", Some(json!({"lat": 44.825, "lon": 20.46, "district": "North", "status": "disabled"}))).await;
    assert_eq!(st, 200, "{b}");
    let (_, wall) = s.get(&root, "/api/v1/health/overview").await;
    assert_eq!(ids(&wall), ["a1", "b1"]);
    assert_eq!(row(&wall, "b1")["state"], "disabled");
    assert_eq!((wall["totals"]["offline"].as_u64(), wall["totals"]["disabled"].as_u64()), (Some(1), Some(1)));
}
