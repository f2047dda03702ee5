//! The supervisor's oversight over HTTP: the day's sensitive reads in their
//! districts (who is refused and how, which reads a district's supervisor
//! sees, what each says, bad input), and who used an unmask grant.

mod common;

use chrono::{Duration, Utc};
use citywatch_model::Role;
use common::{start, TestServer};
use serde_json::{json, Value};

const READS: &str = "/api/v1/oversight/sensitive-reads";

/// Cameras "cam-n" in North and "cam-s" in South, each with 4 s recorded,
/// and units "unit-n" and "unit-s" homed there.
async fn fixtures(s: &TestServer) {
    s.user("root", &[(Role::Admin, None, None)]);
    let root = s.login("root").await;
    for (id, lat, district) in [("cam-n", 44.825, "North"), ("cam-s", 44.805, "South")] {
        let body = json!({"id": id, "lat": lat, "lon": 20.46, "fov_deg": 90, "range_m": 50, "district": district});
        let (st, b) = s.send(&root, "POST", "/api/v1/cameras", Some(body)).await;
        assert_eq!(st, 201, "camera {id}: {b}");
        s.record_synthetic(id, "2026-01-01T00:00:00Z", 4);
    }
    for (id, district) in [("unit-n", "North"), ("unit-s", "South")] {
        let body = json!({"id": id, "call_sign": id, "kind": "car", "district": district});
        let (st, b) = s.send(&root, "POST", "/api/v1/units", Some(body)).await;
        assert_eq!(st, 201, "unit {id}: {b}");
    }
}

async fn playback(s: &TestServer, token: &str, camera: &str, case_ref: &str) -> u16 {
    let path = format!("/api/v1/cameras/{camera}/view.mp4?start=2026-01-01T00:00:01Z&end=2026-01-01T00:00:03Z&purpose=checking+a+report&case_ref={case_ref}");
    let r = s.client.get(s.url(&path)).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    let _ = r.bytes().await;
    status
}

/// (actor, kind, target, case reference) of each read; a plate search's
/// target is its pattern as the server wrote it, left out here.
fn reads(body: &Value) -> Vec<(String, String, String, String)> {
    body["reads"]
        .as_array()
        .unwrap_or_else(|| panic!("no reads in {body}"))
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            let target = if r["kind"] == "plate_search" { String::new() } else { s("target") };
            (s("actor"), s("kind"), target, s("case_ref"))
        })
        .collect()
}

#[tokio::test]
async fn only_supervisors_read_the_days_sensitive_reads_and_are_told_so() {
    let s = start().await;
    for (name, role) in [("op", Role::Operator), ("aud", Role::Auditor), ("adm", Role::Admin), ("disp", Role::Dispatcher)] {
        s.user(name, &[(role, None, None)]);
        let token = s.login(name).await;
        let (st, b) = s.get(&token, READS).await;
        assert_eq!(st, 403, "{name}: {b}");
        let message = b["error"].as_str().unwrap_or_default();
        assert!(message.contains("needs the role supervisor"), "{name}: {message}");
        assert!(!message.contains('{') && !message.contains("Permission"), "{name}: debug text in {message}");
    }
    s.user("sup", &[(Role::Supervisor, Some(&["North"]), None)]);
    let sup = s.login("sup").await;
    let (st, b) = s.get(&sup, READS).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["reads"], json!([]));
    assert_eq!(b["districts"], json!(["North"]));
}

#[tokio::test]
async fn a_districts_supervisor_sees_the_reads_on_their_districts_only() {
    let s = start().await;
    fixtures(&s).await;
    s.user("boss", &[(Role::Supervisor, None, None)]);
    s.user("op-n", &[(Role::Operator, Some(&["North"]), None)]);
    s.user("op-s", &[(Role::Operator, Some(&["South"]), None)]);
    s.user("sup-n", &[(Role::Supervisor, Some(&["North"]), None)]);
    let boss = s.login("boss").await;
    // Playbacks on both districts' cameras (a supervisor sees faces, so
    // the recording itself is served).
    assert_eq!(playback(&s, &boss, "cam-n", "KU-N-1").await, 200);
    assert_eq!(playback(&s, &boss, "cam-s", "KU-S-1").await, 200);
    // Trail reads of both districts' units.
    for (unit, case_ref) in [("unit-n", "KU-N-2"), ("unit-s", "KU-S-2")] {
        let path = format!("/api/v1/units/{unit}/trail?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z&purpose=route+check&case_ref={case_ref}");
        let (st, b) = s.get(&boss, &path).await;
        assert_eq!(st, 200, "{b}");
    }
    // Plate searches by an operator of each district.
    for (op, case_ref) in [("op-n", "KU-N-3"), ("op-s", "KU-S-3")] {
        let token = s.login(op).await;
        let (st, b) = s.get(&token, &format!("/api/v1/plates/search?plate=BG+12*&purpose=stolen+car&case_ref={case_ref}")).await;
        assert_eq!(st, 200, "{b}");
    }
    let sup = s.login("sup-n").await;
    let (st, b) = s.get(&sup, READS).await;
    assert_eq!(st, 200, "{b}");
    let mut got = reads(&b);
    got.sort();
    let mut want = vec![
        ("boss".to_owned(), "playback".to_owned(), "cam-n".to_owned(), "KU-N-1".to_owned()),
        ("boss".to_owned(), "trail".to_owned(), "unit-n".to_owned(), "KU-N-2".to_owned()),
        ("op-n".to_owned(), "plate_search".to_owned(), String::new(), "KU-N-3".to_owned()),
    ];
    want.sort();
    assert_eq!(got, want, "{b}");
    assert!(b["reads"].as_array().unwrap().iter().all(|r| !r["case_ref"].as_str().unwrap().starts_with("KU-S")), "a South read leaked: {b}");
    let playback = b["reads"].as_array().unwrap().iter().find(|r| r["kind"] == "playback").unwrap();
    assert_eq!(playback["purpose"], "checking a report");
    assert_eq!(playback["camera_id"], "cam-n");
    assert_eq!(playback["faces"], "shown");
    assert_eq!(playback["result"], "ok");
    // Newest first.
    let seqs: Vec<i64> = b["reads"].as_array().unwrap().iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");

    // The all-district supervisor sees all six.
    let (_, all) = s.get(&boss, READS).await;
    assert_eq!(reads(&all).len(), 6, "{all}");

    // Another day holds none of them.
    let (st, b) = s.get(&sup, &format!("{READS}?date={}", (Utc::now() - Duration::days(2)).format("%Y-%m-%d"))).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["reads"], json!([]));

    // Reading the list is audited.
    assert!(s.audit_actions().iter().any(|(actor, action, _)| actor == "sup-n" && action == "oversight.sensitive_reads"));
}

#[tokio::test]
async fn a_bad_day_is_refused_by_name() {
    let s = start().await;
    s.user("sup", &[(Role::Supervisor, None, None)]);
    let sup = s.login("sup").await;
    for (query, field) in [("date=7.12.2026", "date"), ("date=2026-13-01", "date"), ("tz_offset_min=10000", "tz_offset_min")] {
        let (st, b) = s.get(&sup, &format!("{READS}?{query}")).await;
        assert_eq!(st, 422, "{query}: {b}");
        assert_eq!(b["fields"][0]["field"], field, "{query}: {b}");
    }
    let (st, b) = s.get(&sup, &format!("{READS}?day=2026-12-07")).await;
    assert_eq!(st, 400, "{b}");
    assert!(b["error"].as_str().unwrap().contains("unknown query parameter day"), "{b}");
}

#[tokio::test]
async fn an_unmask_grant_lists_how_often_and_when_it_was_used() {
    let s = start().await;
    fixtures(&s).await;
    s.user("sup", &[(Role::Supervisor, None, None)]);
    s.user("op", &[(Role::Operator, None, None)]);
    let sup = s.login("sup").await;
    let body = json!({"grantee": "op", "camera_ids": ["cam-n"], "expires_at": (Utc::now() + Duration::hours(2)).to_rfc3339(), "purpose": "identify a suspect", "case_ref": "KU-77"});
    let (st, grant) = s.send(&sup, "POST", "/api/v1/unmask-grants", Some(body)).await;
    assert_eq!(st, 201, "{grant}");
    let (_, list) = s.get(&sup, "/api/v1/unmask-grants").await;
    assert_eq!(list[0]["uses"], 0, "{list}");
    assert_eq!(list[0]["last_used"], Value::Null, "{list}");

    let op = s.login("op").await;
    assert_eq!(playback(&s, &op, "cam-n", "KU-77").await, 200);
    assert_eq!(playback(&s, &op, "cam-n", "KU-77").await, 200);
    let (st, list) = s.get(&sup, "/api/v1/unmask-grants").await;
    assert_eq!(st, 200, "{list}");
    assert_eq!(list[0]["id"], grant["id"]);
    assert_eq!(list[0]["uses"], 2, "{list}");
    assert!(list[0]["last_used"].as_str().is_some(), "{list}");

    // The day's reads show both as unmasked playbacks under the grant.
    let (_, day) = s.get(&sup, READS).await;
    let under: Vec<&Value> = day["reads"].as_array().unwrap().iter().filter(|r| r["actor"] == "op").collect();
    assert_eq!(under.len(), 2, "{day}");
    assert!(under.iter().all(|r| r["unmask_grant"] == grant["id"] && r["faces"] == "shown"), "{day}");
}
