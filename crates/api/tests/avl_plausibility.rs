//! Implausible GPS fixes through the real OsmAnd route: a fix from 1900, a
//! jump across the world, a fix minutes ahead of the clock and a run no
//! officer on foot can make are kept in the trail, flagged with the reason,
//! and never become the unit's position; a true fix after them still does.

mod common;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use citywatch_model::Role;
use common::{start, TestServer, METRICS_TOKEN};
use serde_json::{json, Value};

async fn fix(s: &TestServer, device: &str, token: &str, lat: f64, lon: f64, time: &str, extra: &str) -> String {
    let q = format!("id={device}&lat={lat}&lon={lon}&timestamp={time}&token={token}{extra}");
    let (st, b) = common::status_json(s.client.get(s.url(&format!("/api/v1/avl/osmand?{q}"))).send().await.unwrap()).await;
    assert_eq!(st, 200, "{q}: {b}");
    b["result"].as_str().unwrap().to_owned()
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn position(s: &TestServer, token: &str, unit: &str) -> Value {
    let (_, units) = s.get(token, "/api/v1/units").await;
    units.as_array().unwrap().iter().find(|u| u["id"] == unit).unwrap()["position"].clone()
}

#[tokio::test]
async fn implausible_fixes_are_trailed_flagged_and_never_the_position() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    s.user("disp", &[(Role::Dispatcher, None, None)]);
    let (admin, disp) = (s.login("admin").await, s.login("disp").await);
    let mut tokens = std::collections::HashMap::new();
    for (id, kind) in [("car-1", "car"), ("foot-1", "foot"), ("bike-1", "motorbike")] {
        let (st, b) = s.send(&admin, "POST", "/api/v1/units", Some(json!({"id": id, "call_sign": id, "kind": kind}))).await;
        assert_eq!(st, 201, "{b}");
        let (st, b) = s.send(&admin, "POST", &format!("/api/v1/units/{id}/devices"), Some(json!({"device_id": format!("gps-{id}")}))).await;
        assert_eq!(st, 201, "{b}");
        tokens.insert(id, b["token"].as_str().unwrap().to_owned());
    }
    let now = Utc::now();
    let car = |lat, lon, t: DateTime<Utc>, extra: &'static str| {
        let (s, token) = (&s, tokens["car-1"].clone());
        async move { fix(s, "gps-car-1", &token, lat, lon, &rfc(t), extra).await }
    };

    assert_eq!(car(44.80, 20.46, now - Duration::seconds(120), "").await, "stored");
    // A device clock reset to 1900.
    assert_eq!(car(44.81, 20.47, DateTime::parse_from_rfc3339("1900-01-01T00:00:00Z").unwrap().into(), "").await, "stored_implausible");
    // Sydney a minute later, at a million knots.
    assert_eq!(car(-33.9, 151.2, now - Duration::seconds(60), "&speed=1000000").await, "stored_implausible");
    // Three minutes ahead of the clock: as the position it would hide every true fix for three minutes.
    assert_eq!(car(44.801, 20.46, now + Duration::minutes(3), "").await, "stored_implausible");
    assert_eq!(position(&s, &disp, "car-1").await["lat"].as_f64(), Some(44.80), "no implausible fix moved the unit");
    // The next true fix moves it: nothing froze it.
    assert_eq!(car(44.802, 20.46, now - Duration::seconds(30), "").await, "stored");
    assert_eq!(position(&s, &disp, "car-1").await["lat"].as_f64(), Some(44.802));

    // 2 km in a minute is a motorbike's pace, not an officer's on foot.
    for (unit, expected) in [("foot-1", "stored_implausible"), ("bike-1", "stored")] {
        let (device, token) = (format!("gps-{unit}"), &tokens[unit]);
        assert_eq!(fix(&s, &device, token, 44.80, 20.46, &rfc(now - Duration::seconds(90)), "").await, "stored");
        assert_eq!(fix(&s, &device, token, 44.818, 20.46, &rfc(now - Duration::seconds(30)), "").await, expected, "{unit}");
    }
    assert_eq!(position(&s, &disp, "foot-1").await["lat"].as_f64(), Some(44.80));

    // The trail keeps every fix in its window, the implausible ones with their reason.
    let q = format!(
        "start={}&end={}&purpose=review&case_ref=T-1",
        rfc(now - Duration::hours(1)).replace('+', "%2B"),
        rfc(now + Duration::hours(1)).replace('+', "%2B")
    );
    let (st, trail) = s.get(&disp, &format!("/api/v1/units/car-1/trail?{q}")).await;
    assert_eq!(st, 200, "{trail}");
    let flags: Vec<Value> = trail["points"].as_array().unwrap().iter().map(|p| p["implausible"].clone()).collect();
    assert_eq!(flags, [Value::Null, json!("too_fast"), Value::Null, json!("ahead_of_clock")], "{trail}");

    let text = s.client.get(s.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("citywatch_avl_positions_total{outcome=\"implausible\"} 4"), "{text}");
}
