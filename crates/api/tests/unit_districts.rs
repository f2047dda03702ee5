//! Units by home district, against a real server and SQLite: a unit homed
//! outside the caller's districts does not exist for them (404, missing
//! from lists and recommendations, cannot be assigned), and the dispatch
//! stream pushes a unit's new position to the subscribers of its district
//! only.

mod common;

use std::time::Duration;

use chrono::Utc;
use citywatch_model::Role;
use common::{start, TestServer};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Creates the unit (by an all-district admin) with a GPS device; answers the device token.
async fn unit(s: &TestServer, admin: &str, id: &str, district: Option<&str>, officers: &[&str]) -> String {
    let (st, b) =
        s.send(admin, "POST", "/api/v1/units", Some(json!({"id": id, "call_sign": id, "kind": "car", "district": district, "officers": officers}))).await;
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["district"], json!(district));
    let (st, b) = s.send(admin, "POST", &format!("/api/v1/units/{id}/devices"), Some(json!({"device_id": format!("gps-{id}")}))).await;
    assert_eq!(st, 201, "{b}");
    b["token"].as_str().unwrap().to_owned()
}

async fn fix(s: &TestServer, id: &str, token: &str, lat: f64) {
    let t = Utc::now().timestamp_millis() as f64 / 1000.0;
    let r = s.client.get(s.url(&format!("/api/v1/avl/osmand?id=gps-{id}&lat={lat}&lon=20.46&timestamp={t}&token={token}"))).send().await.unwrap();
    let (st, b) = common::status_json(r).await;
    assert_eq!((st, b["result"].as_str()), (200, Some("stored")), "{id}: {b}");
}

async fn subscribe(s: &TestServer, token: &str) -> Ws {
    let mut req = format!("{}/api/v1/dispatch/stream", s.base.replace("http://", "ws://")).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.expect("WebSocket handshake").0
}

/// The next JSON message, or `None` if none comes within `wait`.
async fn next_json(ws: &mut Ws, wait: Duration) -> Option<Value> {
    tokio::time::timeout(wait, async {
        loop {
            match ws.next().await.expect("the stream closed").expect("a WebSocket error") {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                _ => continue,
            }
        }
    })
    .await
    .ok()
}

fn unit_ids(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unit_outside_the_grant_does_not_exist_for_the_caller() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("north-admin", &[(Role::Admin, Some(&["North"]), None)]);
    s.user("north-disp", &[(Role::Dispatcher, Some(&["North"]), None)]);
    s.user("all-disp", &[(Role::Dispatcher, None, None)]);
    let (root, north_admin, north, all) = (s.login("root").await, s.login("north-admin").await, s.login("north-disp").await, s.login("all-disp").await);
    // The test server's districts: North is lat 44.82..44.83, South 44.80..44.81.
    // The incident is at North's southern edge; the South car and the homeless
    // car are nearer to it than the North car (a home district is not where
    // the unit is now).
    let places = [("n-car", Some("North"), 44.835), ("s-car", Some("South"), 44.8095), ("free-car", None, 44.8206)];
    for (id, district, lat) in places {
        let token = unit(&s, &root, id, district, &[]).await;
        fix(&s, id, &token, lat).await;
    }

    assert_eq!(unit_ids(&s.get(&north, "/api/v1/units").await.1), ["n-car"]);
    assert_eq!(unit_ids(&s.get(&all, "/api/v1/units").await.1), ["free-car", "n-car", "s-car"], "an all-district grant sees every unit, homeless ones too");
    for other in ["s-car", "free-car"] {
        let trail = format!("/api/v1/units/{other}/trail?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z&purpose=test&case_ref=T-1");
        assert_eq!(s.get(&north, &trail).await.0, 404, "{other}");
        assert_eq!(s.send(&north, "POST", &format!("/api/v1/units/{other}/status"), Some(json!({"status": "out_of_service"}))).await.0, 404, "{other}");
        assert_eq!(
            s.send(&north_admin, "PUT", &format!("/api/v1/units/{other}"), Some(json!({"call_sign": "mine now", "kind": "car", "district": "North"}))).await.0,
            404,
            "{other}"
        );
        assert_eq!(s.send(&north_admin, "DELETE", &format!("/api/v1/units/{other}"), None).await.0, 404, "{other}");
        assert_eq!(s.send(&north_admin, "POST", &format!("/api/v1/units/{other}/devices"), Some(json!({"device_id": "stolen"}))).await.0, 404, "{other}");
    }

    // A scoped admin homes units in their own districts only, and in real ones.
    let (st, b) = s.send(&north_admin, "POST", "/api/v1/units", Some(json!({"id": "x1", "call_sign": "X1", "kind": "car", "district": "South"}))).await;
    assert_eq!(st, 403, "{b}");
    let (st, b) = s.send(&north_admin, "POST", "/api/v1/units", Some(json!({"id": "x2", "call_sign": "X2", "kind": "car"}))).await;
    assert_eq!(st, 403, "no home district is for all-district admins: {b}");
    let (st, b) = s.send(&north_admin, "POST", "/api/v1/units", Some(json!({"id": "x3", "call_sign": "X3", "kind": "car", "district": "Atlantis"}))).await;
    assert_eq!((st, b["fields"][0]["field"].as_str()), (422, Some("district")), "{b}");
    let (st, b) = s.send(&north_admin, "PUT", "/api/v1/units/n-car", Some(json!({"call_sign": "N1", "kind": "car", "district": "South"}))).await;
    assert_eq!(st, 403, "moving a unit out of one's districts: {b}");
    assert_eq!(s.get(&all, "/api/v1/units").await.1.as_array().unwrap().len(), 3, "nothing was created");

    let (st, inc) = s.send(&north, "POST", "/api/v1/incidents", Some(json!({"type": "fire", "priority": 2, "lat": 44.8205, "lon": 20.46}))).await;
    assert_eq!(st, 201, "{inc}");
    let id = inc["id"].as_i64().unwrap();
    let recommended =
        |v: &Value| -> Vec<String> { v["recommendations"].as_array().unwrap().iter().map(|r| r["unit_id"].as_str().unwrap().to_owned()).collect() };
    let (st, b) = s.get(&all, &format!("/api/v1/incidents/{id}/recommendations")).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(recommended(&b), ["free-car", "s-car", "n-car"], "city-wide, by distance");
    let (_, b) = s.get(&north, &format!("/api/v1/incidents/{id}/recommendations")).await;
    assert_eq!(recommended(&b), ["n-car"], "North's dispatcher is offered North's unit only, though others are nearer");

    let (st, b) = s.send(&north, "POST", &format!("/api/v1/incidents/{id}/assign"), Some(json!({"unit_id": "s-car"}))).await;
    assert_eq!(st, 404, "{b}");
    let (_, b) = s.get(&all, "/api/v1/units").await;
    assert!(b.as_array().unwrap().iter().all(|u| u["status"] == "available"), "a refused assignment changes nothing: {b}");
    let (st, b) = s.send(&north, "POST", &format!("/api/v1/incidents/{id}/assign"), Some(json!({"unit_id": "n-car"}))).await;
    assert_eq!(st, 200, "{b}");

    // The admin moves the South car to North: now North sees it.
    let (st, b) = s.send(&root, "PUT", "/api/v1/units/s-car", Some(json!({"call_sign": "S", "kind": "car", "district": "North"}))).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(unit_ids(&s.get(&north, "/api/v1/units").await.1), ["n-car", "s-car"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscriber_gets_its_districts_unit_positions_and_never_anothers() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("north-disp", &[(Role::Dispatcher, Some(&["North"]), None)]);
    // An officer scoped to North who crews the South unit follows that unit.
    s.user("crew", &[(Role::Officer, Some(&["North"]), None)]);
    s.user("all-disp", &[(Role::Dispatcher, None, None)]);
    let (root, north, crew, all) = (s.login("root").await, s.login("north-disp").await, s.login("crew").await, s.login("all-disp").await);
    let a_token = unit(&s, &root, "unit-a", Some("North"), &[]).await;
    let b_token = unit(&s, &root, "unit-b", Some("South"), &["crew"]).await;

    let mut ws = subscribe(&s, &north).await;
    let first = next_json(&mut ws, Duration::from_secs(10)).await.expect("the snapshot");
    assert_eq!((first["kind"].as_str(), unit_ids(&first["units"])), (Some("snapshot"), vec!["unit-a".to_owned()]));
    let mut crew_ws = subscribe(&s, &crew).await;
    let first = next_json(&mut crew_ws, Duration::from_secs(10)).await.expect("the snapshot");
    assert_eq!(unit_ids(&first["units"]), ["unit-b"], "an officer follows the units they crew");

    // B moves first: the stream is in commit order, so had B's fix been sent
    // to North's dispatcher it would arrive before A's.
    fix(&s, "unit-b", &b_token, 44.805).await;
    let sent = tokio::time::Instant::now();
    fix(&s, "unit-a", &a_token, 44.8251).await;
    let left = Duration::from_secs(1).saturating_sub(sent.elapsed());
    let m = next_json(&mut ws, left).await.expect("unit A's position within 1 s of its fix");
    assert_eq!((m["kind"].as_str(), m["unit"]["id"].as_str()), (Some("unit"), Some("unit-a")), "{m}");
    assert_eq!(m["unit"]["position"]["lat"], 44.8251);
    assert_eq!(m["unit"]["district"], "North");
    // A status change is pushed too; B's never is.
    let (st, _) = s.send(&all, "POST", "/api/v1/units/unit-b/status", Some(json!({"status": "out_of_service"}))).await;
    assert_eq!(st, 200);
    let (st, _) = s.send(&all, "POST", "/api/v1/units/unit-a/status", Some(json!({"status": "out_of_service"}))).await;
    assert_eq!(st, 200);
    let m = next_json(&mut ws, Duration::from_secs(5)).await.expect("unit A's status");
    assert_eq!((m["unit"]["id"].as_str(), m["unit"]["status"].as_str()), (Some("unit-a"), Some("out_of_service")), "{m}");
    assert_eq!(next_json(&mut ws, Duration::from_millis(300)).await, None, "nothing about unit B");

    let m = next_json(&mut crew_ws, Duration::from_secs(5)).await.expect("unit B's position for its crew");
    assert_eq!((m["unit"]["id"].as_str(), m["unit"]["position"]["lat"].as_f64()), (Some("unit-b"), Some(44.805)), "{m}");
    let m = next_json(&mut crew_ws, Duration::from_secs(5)).await.expect("unit B's status for its crew");
    assert_eq!(m["unit"]["status"], "out_of_service", "{m}");

    // Moving B into North shows it to North's dispatcher; deleting it removes it.
    let (st, _) = s.send(&root, "PUT", "/api/v1/units/unit-b", Some(json!({"call_sign": "B", "kind": "car", "district": "North", "officers": ["crew"]}))).await;
    assert_eq!(st, 200);
    let m = next_json(&mut ws, Duration::from_secs(5)).await.expect("unit B arriving in North");
    assert_eq!((m["kind"].as_str(), m["unit"]["id"].as_str()), (Some("unit"), Some("unit-b")), "{m}");
    assert_eq!(s.send(&root, "DELETE", "/api/v1/units/unit-b", None).await.0, 204);
    let m = next_json(&mut ws, Duration::from_secs(5)).await.expect("unit B removed");
    assert_eq!((m["kind"].as_str(), m["unit_id"].as_str()), (Some("removed"), Some("unit-b")), "{m}");

    // Officers without a unit see nothing; users without a dispatch role may not subscribe.
    s.user("viewer", &[(Role::Auditor, None, None)]);
    let viewer = s.login("viewer").await;
    let mut req = format!("{}/api/v1/dispatch/stream", s.base.replace("http://", "ws://")).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {viewer}").parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err(), "an auditor may not follow units");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unit_is_routed_to_its_incident_along_the_demo_citys_streets() {
    let roads = citywatch_geo::roads::RoadNetwork::from_geojson(&citywatch_sim::demo_roads()).unwrap();
    let s = common::start_with(citywatch_dispatch::DispatchConfig::default().with_roads(roads.clone())).await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("north-disp", &[(Role::Dispatcher, Some(&["North"]), None)]);
    s.user("crew", &[(Role::Officer, Some(&["South"]), None)]);
    s.user("other", &[(Role::Officer, None, None)]);
    let (root, north, crew, other) = (s.login("root").await, s.login("north-disp").await, s.login("crew").await, s.login("other").await);
    let token = unit(&s, &root, "n-car", Some("North"), &["crew"]).await;
    fix(&s, "n-car", &token, 44.8215).await;
    let (st, inc) = s.send(&north, "POST", "/api/v1/incidents", Some(json!({"type": "fire", "priority": 2, "lat": 44.8275, "lon": 20.452}))).await;
    assert_eq!(st, 201, "{inc}");
    let id = inc["id"].as_i64().unwrap();
    let (_, recs) = s.get(&north, &format!("/api/v1/incidents/{id}/recommendations")).await;
    assert_eq!(recs["recommendations"][0]["router"], "road network", "{recs}");

    let path = format!("/api/v1/incidents/{id}/route?unit_id=n-car");
    let (st, route) = s.get(&north, &path).await;
    assert_eq!(st, 200, "{route}");
    assert_eq!((route["geometry"]["type"].as_str(), route["properties"]["router"].as_str()), (Some("LineString"), Some("road network")), "{route}");
    let coords: Vec<citywatch_geo::routing::LatLon> = route["geometry"]["coordinates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| citywatch_geo::routing::LatLon { lat: c[1].as_f64().unwrap(), lon: c[0].as_f64().unwrap() })
        .collect();
    assert!(coords.len() > 2, "a grid route turns corners: {route}");
    for c in &coords {
        assert!(roads.on_road(*c, 0.01), "{c:?} is off the streets");
    }
    let straight = citywatch_geo::ellipsoid::distance_m(44.8215, 20.46, 44.8275, 20.452);
    let along = route["properties"]["distance_m"].as_f64().unwrap();
    assert!(along > straight * 0.9, "the road distance {along} m against {straight} m straight");
    // The crew sees it once the unit is on the incident; another officer never.
    assert_eq!(s.get(&crew, &path).await.0, 404, "not yet assigned");
    assert_eq!(s.send(&north, "POST", &format!("/api/v1/incidents/{id}/assign"), Some(json!({"unit_id": "n-car"}))).await.0, 200);
    assert_eq!(s.get(&crew, &path).await.0, 200);
    assert_eq!(s.get(&other, &path).await.0, 404);
    let (st, b) = s.get(&north, &format!("/api/v1/incidents/{id}/route")).await;
    assert_eq!((st, b["fields"][0]["field"].as_str()), (422, Some("unit_id")), "{b}");
}
