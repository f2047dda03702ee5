//! `POST /api/v1/me/position`: the officer's terminal reports the browser's
//! geolocation for a unit the officer crews, over HTTP against a real server
//! and SQLite. The fix gets a GPS device's checks (fields named, future
//! times refused, duplicates ignored, late fixes kept in the trail only),
//! moves the unit, and is published on the bus as `unit_position`.

mod common;

use chrono::{Duration, Utc};
use citywatch_model::{EventType, Role};
use common::{start, METRICS_TOKEN};
use serde_json::{json, Value};

fn fields(b: &Value) -> Vec<String> {
    b["fields"].as_array().map(|f| f.iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect()).unwrap_or_default()
}

#[tokio::test]
async fn an_officer_reports_the_position_of_the_unit_they_crew() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    s.user("ofc", &[(Role::Officer, None, None)]);
    s.user("other", &[(Role::Officer, None, None)]);
    s.user("disp", &[(Role::Dispatcher, None, None)]);
    let (admin, ofc, other, disp) = (s.login("admin").await, s.login("ofc").await, s.login("other").await, s.login("disp").await);
    for (id, officers) in [("car-1", json!(["ofc"])), ("car-2", json!(["other"]))] {
        let (st, b) = s.send(&admin, "POST", "/api/v1/units", Some(json!({"id": id, "call_sign": id, "kind": "car", "officers": officers}))).await;
        assert_eq!(st, 201, "{b}");
    }
    let mut bus = s.events.subscribe();

    // The officer's only unit is implied; milliseconds since the epoch, as browsers give them.
    let t0 = Utc::now() - Duration::seconds(30);
    let (st, b) = s
        .send(&ofc, "POST", "/api/v1/me/position", Some(json!({"lat": 44.81, "lon": 20.46, "speed": 3.5, "bearing": 90, "timestamp": t0.timestamp_millis()})))
        .await;
    assert_eq!((st, b["result"].as_str(), b["unit_id"].as_str()), (200, Some("stored"), Some("car-1")), "{b}");
    let (_, units) = s.get(&disp, "/api/v1/units").await;
    let car1 = units.as_array().unwrap().iter().find(|u| u["id"] == "car-1").unwrap().clone();
    assert_eq!(
        (car1["position"]["lat"].as_f64(), car1["position"]["lon"].as_f64(), car1["position"]["speed_mps"].as_f64()),
        (Some(44.81), Some(20.46), Some(3.5)),
        "{car1}"
    );
    let published = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let e = bus.recv().await.expect("the bus is open");
            if e.event_type == EventType::UnitPosition && e.source.id == "car-1" {
                return e;
            }
        }
    })
    .await
    .expect("the position was published");
    assert_eq!(published.details["device_id"], "terminal:ofc");

    // The same fix again is ignored; an older one goes to the trail only.
    let (st, b) = s.send(&ofc, "POST", "/api/v1/me/position", Some(json!({"lat": 44.81, "lon": 20.46, "timestamp": t0.timestamp_millis()}))).await;
    assert_eq!((st, b["result"].as_str()), (200, Some("duplicate")), "{b}");
    let older = (t0 - Duration::seconds(60)).to_rfc3339();
    let (st, b) = s.send(&ofc, "POST", "/api/v1/me/position", Some(json!({"lat": 44.0, "lon": 20.0, "timestamp": older}))).await;
    assert_eq!((st, b["result"].as_str()), (200, Some("stored_out_of_order")), "{b}");
    let (_, units) = s.get(&disp, "/api/v1/units").await;
    assert_eq!(
        units.as_array().unwrap().iter().find(|u| u["id"] == "car-1").unwrap()["position"]["lat"].as_f64(),
        Some(44.81),
        "a late fix does not move the unit"
    );

    // Bad values are named; a clock far ahead is refused; unknown fields too.
    let (st, b) = s.send(&ofc, "POST", "/api/v1/me/position", Some(json!({"lat": 91, "lon": "east", "altitude": 3}))).await;
    assert_eq!(st, 422, "{b}");
    let named = fields(&b);
    for f in ["lat", "lon", "altitude"] {
        assert!(named.iter().any(|n| n == f), "{f} not named: {b}");
    }
    let ahead = (Utc::now() + Duration::hours(1)).timestamp_millis();
    let (st, b) = s.send(&ofc, "POST", "/api/v1/me/position", Some(json!({"lat": 44.8, "lon": 20.4, "timestamp": ahead}))).await;
    assert_eq!((st, fields(&b)), (422, vec!["timestamp".to_owned()]), "{b}");
    let (st, b) = s.send(&ofc, "POST", "/api/v1/me/position", Some(json!({"lon": 20.4}))).await;
    assert_eq!((st, fields(&b)), (422, vec!["lat".to_owned()]), "{b}");
    let text = s.client.get(s.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("citywatch_avl_refused_total{reason=\"invalid\"} 3"), "refusals are counted with the devices': {text}");

    // Only for a unit one crews: another's unit, or none at all, is refused and audited.
    let (st, b) = s.send(&ofc, "POST", "/api/v1/me/position", Some(json!({"unit_id": "car-2", "lat": 44.8, "lon": 20.4}))).await;
    assert_eq!(st, 403, "{b}");
    assert!(b["error"].as_str().unwrap().contains("not an officer of unit car-2"), "{b}");
    let (st, b) = s.send(&disp, "POST", "/api/v1/me/position", Some(json!({"lat": 44.8, "lon": 20.4}))).await;
    assert_eq!(st, 403, "a dispatcher crewing no unit: {b}");
    let (st, _) = s.send(&other, "POST", "/api/v1/me/position", Some(json!({"unit_id": "car-2", "lat": 44.8, "lon": 20.4}))).await;
    assert_eq!(st, 200);
    assert!(s.audit_actions().iter().any(|(actor, action, _)| actor == "ofc" && action == "access.denied"), "the refusal is audited");
    let (st, _) = s.send(&admin, "POST", "/api/v1/me/position", Some(json!({"lat": 44.8, "lon": 20.4}))).await;
    assert_eq!(st, 403, "admins report no positions");
}
