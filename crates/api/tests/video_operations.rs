//! Legal holds (validation, scope, audit, and that retention honours them),
//! per-camera retention limits, camera health and `/metrics` (session or
//! scrape token), over real HTTP.

mod common;

use chrono::{Duration, Utc};
use citywatch_model::Role;
use citywatch_video::recorder::Stream;
use citywatch_video::retention::{enforce, FreeSpace, RetentionPolicy};
use common::{start, METRICS_TOKEN};
use serde_json::{json, Value};

fn hold_body(camera: &str) -> Value {
    json!({"camera_id": camera, "start": "2026-01-01T00:00:02Z", "end": "2026-01-01T00:00:03Z",
           "purpose": "hit and run", "case_ref": "CASE-77", "expires_at": (Utc::now() + Duration::days(7)).to_rfc3339()})
}

fn fields(body: &Value) -> Vec<String> {
    body["fields"].as_array().unwrap_or_else(|| panic!("no fields in {body}")).iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect()
}

struct NoFloor;
impl FreeSpace for NoFloor {
    fn free_bytes(&self, _: &std::path::Path) -> std::io::Result<u64> {
        Ok(u64::MAX)
    }
}

#[tokio::test]
async fn legal_holds_are_validated_scoped_audited_and_keep_recordings_from_retention() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("sup", &[(Role::Supervisor, Some(&["North"]), None)]);
    s.user("op", &[(Role::Operator, None, None)]);
    let (root, sup, op) = (s.login("root").await, s.login("sup").await, s.login("op").await);
    s.camera(&root, "n1", "North", None).await;
    s.camera(&root, "s1", "South", None).await;

    // Bad input: each problem named.
    let mut bad = hold_body("n1");
    bad["purpose"] = json!("  ");
    bad["case_ref"] = json!("");
    bad["expires_at"] = json!((Utc::now() - Duration::minutes(1)).to_rfc3339());
    bad["end"] = json!("2026-01-01T00:00:01Z");
    let (st, body) = s.send(&sup, "POST", "/api/v1/legal-holds", Some(bad)).await;
    assert_eq!(st, 422, "{body}");
    assert_eq!(fields(&body), ["end", "expires_at", "purpose", "case_ref"]);
    let mut no_expiry = hold_body("n1");
    no_expiry.as_object_mut().unwrap().remove("expires_at");
    let (st, body) = s.send(&sup, "POST", "/api/v1/legal-holds", Some(no_expiry)).await;
    assert_eq!(st, 400, "an expiry is required: {body}");
    assert!(body["error"].as_str().unwrap().contains("expires_at"), "{body}");
    let (st, _) = s.send(&sup, "POST", "/api/v1/legal-holds", Some(hold_body("s1"))).await;
    assert_eq!(st, 404, "a camera outside the grant does not exist");
    let (st, _) = s.send(&sup, "POST", "/api/v1/legal-holds", Some(hold_body("nope"))).await;
    assert_eq!(st, 404);
    let (st, _) = s.send(&op, "POST", "/api/v1/legal-holds", Some(hold_body("n1"))).await;
    assert_eq!(st, 403, "operators cannot place holds");
    assert!(common::blocking(|| s.repos.access.legal_holds()).unwrap().is_empty(), "nothing stored by refused requests");

    let (st, hold) = s.send(&sup, "POST", "/api/v1/legal-holds", Some(hold_body("n1"))).await;
    assert_eq!(st, 201, "{hold}");
    assert_eq!((hold["camera_id"].as_str(), hold["created_by"].as_str(), hold["active"].as_bool()), (Some("n1"), Some("sup"), Some(true)));
    assert_eq!(hold["start"], "2026-01-01T00:00:02Z");
    let entries = s.audit_entries();
    let created = entries.iter().find(|e| e.action == "legal_hold.create").expect("audited");
    assert_eq!((created.actor.as_str(), created.target.as_str()), ("sup", "n1"));
    assert_eq!((created.purpose.as_deref(), created.case_ref.as_deref()), (Some("hit and run"), Some("CASE-77")));
    let (st, list) = s.get(&sup, "/api/v1/legal-holds").await;
    assert_eq!(st, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Retention keeps the recording the hold covers (00:00:02–03 lies in
    // the first of two 4 s recordings) and deletes the other.
    s.record_synthetic("n1", "2026-01-01T00:00:00Z", 4);
    s.record_synthetic("n1", "2026-01-01T00:10:00Z", 4);
    let samples = citywatch_video::sample_dir::SampleDir::open(&s.dir.path().join("video")).unwrap();
    let policy = RetentionPolicy { max_age_days: Some(1), ..Default::default() };
    let report =
        common::blocking(|| enforce(&*s.repos.recordings, s.repos.access.active_legal_holds(Utc::now()).unwrap(), &samples, &policy, &NoFloor, Utc::now()))
            .unwrap();
    assert_eq!((report.held, report.by_age.recordings), (1, 1));
    let (st, rec) = s.get(&root, "/api/v1/cameras/n1/recordings?start=2026-01-01T00:00:00Z&end=2026-01-01T01:00:00Z").await;
    assert_eq!(st, 200);
    assert_eq!(rec["spans"], json!([{"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:04Z"}]), "{rec}");

    // Released: audited, gone, and retention may delete again.
    let path = format!("/api/v1/legal-holds/{}", hold["id"]);
    let (st, _) = s.send(&op, "DELETE", &path, None).await;
    assert_eq!(st, 403);
    let (st, _) = s.send(&sup, "DELETE", &path, None).await;
    assert_eq!(st, 204);
    let (st, _) = s.send(&sup, "DELETE", &path, None).await;
    assert_eq!(st, 404);
    assert!(s.audit_actions().iter().any(|(a, action, _)| a == "sup" && action == "legal_hold.release"));
    let report =
        common::blocking(|| enforce(&*s.repos.recordings, s.repos.access.active_legal_holds(Utc::now()).unwrap(), &samples, &policy, &NoFloor, Utc::now()))
            .unwrap();
    assert_eq!((report.held, report.by_age.recordings), (0, 1));
}

#[tokio::test]
async fn per_camera_retention_limits() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("op", &[(Role::Operator, None, None)]);
    let (root, op) = (s.login("root").await, s.login("op").await);
    s.camera(&root, "c1", "North", None).await;
    let (st, body) = s.send(&root, "PUT", "/api/v1/cameras/c1/retention", Some(json!({"max_age_days": 0, "max_bytes": -5}))).await;
    assert_eq!(st, 422);
    assert_eq!(fields(&body), ["max_age_days", "max_bytes"]);
    let (st, _) = s.send(&root, "PUT", "/api/v1/cameras/c1/retention", Some(json!({"max_age_days": 7, "colour": "red"}))).await;
    assert_eq!(st, 400, "unknown fields are refused");
    let (st, _) = s.send(&op, "PUT", "/api/v1/cameras/c1/retention", Some(json!({"max_age_days": 7, "max_bytes": null}))).await;
    assert_eq!(st, 403);
    let (st, body) = s.send(&root, "PUT", "/api/v1/cameras/c1/retention", Some(json!({"max_age_days": 7, "max_bytes": null}))).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(s.get(&op, "/api/v1/cameras/c1/retention").await.1, json!({"camera_id": "c1", "max_age_days": 7, "max_bytes": null}));
    assert_eq!(common::blocking(|| s.repos.recordings.retention_override("c1")).unwrap().unwrap().max_age_days, Some(7));
    assert!(s.audit_actions().iter().any(|(a, action, _)| a == "root" && action == "camera.retention"));
    s.send(&root, "PUT", "/api/v1/cameras/c1/retention", Some(json!({"max_age_days": null, "max_bytes": null}))).await;
    assert_eq!(common::blocking(|| s.repos.recordings.retention_override("c1")).unwrap(), None, "null restores the defaults");
    assert_eq!(s.get(&root, "/api/v1/cameras/zz/retention").await.0, 404);
}

#[tokio::test]
async fn camera_health_and_metrics() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("sup-north", &[(Role::Supervisor, Some(&["North"]), None)]);
    s.user("op", &[(Role::Operator, None, None)]);
    let root = s.login("root").await;
    s.camera(&root, "c1", "North", None).await;
    s.camera(&root, "c2", "North", None).await;
    s.health.stream("c1", Stream::Main);
    s.record_synthetic("c2", "2026-01-01T00:00:00Z", 2);

    let (st, h) = s.get(&root, "/api/v1/cameras/c1/health").await;
    assert_eq!(st, 200, "{h}");
    assert_eq!(h["recording"], true);
    assert_eq!(h["streams"][0]["stream"], "main");
    assert_eq!(h["streams"][0]["state"], "connecting");
    assert_eq!(h["streams"][0]["frames"], 0);
    assert_eq!(h["streams"][0]["last_frame_at"], Value::Null);
    let (st, h) = s.get(&root, "/api/v1/cameras/c2/health").await;
    assert_eq!(st, 200);
    assert_eq!(h["recording"], false, "{h}");
    let bytes = common::blocking(|| s.repos.recordings.recording_totals()).unwrap()[0].bytes;
    assert_eq!(h["recorded"]["main"]["bytes"], bytes);
    assert_eq!(s.get(&root, "/api/v1/cameras/none/health").await.0, 404);

    // The scrape token, a session over all districts, and refusals.
    let scrape = |token: &str| s.client.get(s.url("/metrics")).bearer_auth(token).send();
    let r = scrape(METRICS_TOKEN).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();
    for line in [
        "# TYPE citywatch_stream_frames_total counter",
        "citywatch_stream_up{camera=\"c1\",stream=\"main\"} 0",
        "citywatch_stream_state{camera=\"c1\",stream=\"main\",state=\"connecting\"} 1",
        "citywatch_stream_reconnects_total{camera=\"c1\",stream=\"main\"} 0",
        "citywatch_stream_dropped_frames_total{camera=\"c1\",stream=\"main\"} 0",
        &format!("citywatch_recording_bytes{{camera=\"c2\",stream=\"main\"}} {bytes}"),
        "citywatch_recordings{camera=\"c2\",stream=\"main\"} 1",
        "citywatch_retention_deleted_recordings_total 0",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    // Every sample line is `name{labels} value` with a numeric value.
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let v = l.rsplit(' ').next().unwrap();
        assert!(v.parse::<f64>().is_ok(), "bad sample {l:?}");
    }
    assert_eq!(scrape(&format!("{METRICS_TOKEN}x")).await.unwrap().status(), 401);
    assert_eq!(s.client.get(s.url("/metrics")).send().await.unwrap().status(), 401);
    assert_eq!(scrape(&root).await.unwrap().status(), 200, "an admin session reads the metrics");
    assert_eq!(scrape(&s.login("sup-north").await).await.unwrap().status(), 403, "a district-scoped grant does not reach system metrics");
    assert_eq!(scrape(&s.login("op").await).await.unwrap().status(), 403);
}
