//! Dispatch over HTTP against a real server and SQLite: units and devices,
//! positions in both OsmAnd/Traccar shapes, refused devices counted in
//! /metrics, incidents, recommendations by ETA, assignment, the officer's
//! terminal view, status workflow, checklists, flags and the EIDO export.

mod common;

use chrono::{Duration, Utc};
use citywatch_model::Role;
use common::{start, TestServer, METRICS_TOKEN};
use serde_json::{json, Value};

async fn metric(s: &TestServer, line_prefix: &str) -> f64 {
    let text = s.client.get(s.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(line_prefix)).unwrap_or_else(|| panic!("no {line_prefix} in metrics")).trim().parse().unwrap()
}

/// The next event on the bus matching `want` (others are skipped); the
/// timeout only keeps a broken publisher from hanging the test.
async fn next_event(
    bus: &mut citywatch_events::BusReceiver<std::sync::Arc<citywatch_model::Event>>,
    want: impl Fn(&citywatch_model::Event) -> bool,
) -> citywatch_model::Event {
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let e = bus.recv().await.expect("the bus is open");
            if want(&e) {
                return (*e).clone();
            }
        }
    })
    .await
    .expect("no matching event was published")
}

async fn osmand(s: &TestServer, query: &str) -> (u16, Value) {
    common::status_json(s.client.get(s.url(&format!("/api/v1/avl/osmand?{query}"))).send().await.unwrap()).await
}

#[tokio::test]
async fn from_gps_fix_to_assignment_to_eido() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    s.user("disp", &[(Role::Dispatcher, None, None)]);
    s.user("sup", &[(Role::Supervisor, None, None)]);
    s.user("ofc", &[(Role::Officer, None, None)]);
    s.user("ofc2", &[(Role::Officer, None, None)]);
    let (admin, disp, sup, ofc, ofc2) = (s.login("admin").await, s.login("disp").await, s.login("sup").await, s.login("ofc").await, s.login("ofc2").await);

    // Units and their devices; the token is shown once.
    for (id, kind, caps, officers) in
        [("car-1", "car", json!(["medic"]), json!(["ofc"])), ("car-2", "car", json!([]), json!([])), ("foot-1", "foot", json!(["medic"]), json!([]))]
    {
        let (st, b) = s
            .send(
                &admin,
                "POST",
                "/api/v1/units",
                Some(json!({"id": id, "call_sign": id.to_uppercase(), "kind": kind, "capabilities": caps, "officers": officers})),
            )
            .await;
        assert_eq!(st, 201, "{b}");
    }
    let (st, b) = s.send(&admin, "POST", "/api/v1/units", Some(json!({"id": "x", "call_sign": "X", "kind": "tank"}))).await;
    assert_eq!((st, b["fields"][0]["field"].as_str()), (422, Some("kind")), "{b}");
    assert_eq!(s.send(&disp, "POST", "/api/v1/units", Some(json!({"id": "y", "call_sign": "Y", "kind": "car"}))).await.0, 403);
    let mut tokens = std::collections::HashMap::new();
    for unit in ["car-1", "car-2", "foot-1"] {
        let (st, b) = s.send(&admin, "POST", &format!("/api/v1/units/{unit}/devices"), Some(json!({"device_id": format!("gps-{unit}")}))).await;
        assert_eq!(st, 201, "{b}");
        tokens.insert(unit, b["token"].as_str().unwrap().to_owned());
    }
    assert!(!s.audit_entries().iter().any(|e| e.detail.to_string().contains(&tokens["car-1"])), "the token must not be in the audit log");

    // Positions. Incident at (44.800, 20.460): car-1 about 2.2 km north, car-2 about 1.1 km
    // north (both cars, so car-2 first), foot-1 300 m away but on foot (3.6 min vs car-2's 1.7).
    let mut bus = s.events.subscribe();
    let now = Utc::now();
    let t = (now - Duration::seconds(20)).timestamp();
    let (st, b) = osmand(&s, &format!("id=gps-car-1&lat=44.820&lon=20.460&timestamp={t}&speed=20&bearing=180&token={}", tokens["car-1"])).await;
    assert_eq!((st, b["result"].as_str()), (200, Some("stored")), "{b}");
    // Published for consoles that follow units live.
    let e = next_event(&mut bus, |e| e.event_type == citywatch_model::EventType::UnitPosition).await;
    assert_eq!((e.source.id.as_str(), e.location.map(|l| l.lat)), ("car-1", Some(44.82)));
    let r = s
        .client
        .post(s.url(&format!("/api/v1/avl/osmand?id=gps-car-2&lat=44.810&lon=20.460&timestamp={t}")))
        .bearer_auth(&tokens["car-2"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "POST with the token as a bearer header");
    let traccar = json!({"device_id": "gps-foot-1", "location": {"timestamp": (now - Duration::seconds(5)).to_rfc3339(), "coords": {"latitude": 44.8027, "longitude": 20.460, "speed": 1.2, "heading": 10}}});
    let r = s.client.post(s.url("/api/v1/avl/osmand")).bearer_auth(&tokens["foot-1"]).json(&traccar).send().await.unwrap();
    let (st, b) = common::status_json(r).await;
    assert_eq!((st, b["result"].as_str()), (200, Some("stored")), "Traccar JSON: {b}");
    // The same fix again is a duplicate; an older one is kept but does not move the unit.
    let (st, b) = osmand(&s, &format!("id=gps-car-1&lat=44.820&lon=20.460&timestamp={t}&token={}", tokens["car-1"])).await;
    assert_eq!((st, b["result"].as_str()), (200, Some("duplicate")));
    let (st, b) = osmand(&s, &format!("id=gps-car-1&lat=44.700&lon=20.460&timestamp={}&token={}", t - 600, tokens["car-1"])).await;
    assert_eq!((st, b["result"].as_str()), (200, Some("stored_out_of_order")));

    // Refusals: each answered and counted.
    let before_bad = metric(&s, "citywatch_avl_refused_total{reason=\"bad_token\"}").await;
    assert_eq!(osmand(&s, "id=gps-car-1&lat=44.8&lon=20.4&token=not-the-token").await.0, 401);
    assert_eq!(osmand(&s, &format!("id=gps-car-1&lat=44.8&lon=20.4&token={}", tokens["car-2"])).await.0, 401, "another device's token");
    assert_eq!(osmand(&s, &format!("id=gps-nobody&lat=44.8&lon=20.4&token={}", tokens["car-1"])).await.0, 401);
    let (st, b) = osmand(&s, "id=gps-car-1&lat=44.8&lon=20.4").await;
    assert_eq!(st, 401);
    assert!(b["error"].as_str().unwrap().contains("device token"), "{b}");
    let r = s.client.get(s.url("/api/v1/avl/osmand?id=gps-car-1&lat=44.8&lon=20.4")).bearer_auth(&disp).send().await.unwrap();
    assert_eq!(r.status(), 401, "a user's session is not a device token");
    let (st, b) = osmand(&s, &format!("id=gps-car-1&lat=95&lon=20.4&token={}", tokens["car-1"])).await;
    assert_eq!((st, b["fields"][0]["field"].as_str()), (400, Some("lat")), "{b}");
    assert!(b["error"].as_str().unwrap().contains("out of range"), "{b}");
    let (st, b) = osmand(&s, &format!("id=gps-car-1&lat=44.8&lon=20.4&timestamp={}&token={}", (now + Duration::hours(1)).timestamp(), tokens["car-1"])).await;
    assert_eq!((st, b["fields"][0]["field"].as_str()), (400, Some("timestamp")), "{b}");
    // Wrong token, another device's token, and the session token.
    assert_eq!(metric(&s, "citywatch_avl_refused_total{reason=\"bad_token\"}").await - before_bad, 3.0);
    assert_eq!(metric(&s, "citywatch_avl_refused_total{reason=\"unknown_device\"}").await, 1.0);
    assert_eq!(metric(&s, "citywatch_avl_refused_total{reason=\"no_token\"}").await, 1.0);
    assert_eq!(metric(&s, "citywatch_avl_refused_total{reason=\"invalid\"}").await, 2.0);
    assert_eq!(metric(&s, "citywatch_avl_positions_total{outcome=\"duplicate\"}").await, 1.0);
    assert_eq!(metric(&s, "citywatch_avl_positions_total{outcome=\"out_of_order\"}").await, 1.0);

    let (_, units) = s.get(&disp, "/api/v1/units").await;
    let car1 = units.as_array().unwrap().iter().find(|u| u["id"] == "car-1").unwrap();
    assert_eq!(car1["position"]["lat"], 44.82, "the late fix did not move it: {car1}");
    assert!((car1["position"]["speed_mps"].as_f64().unwrap() - 10.29).abs() < 0.01, "20 knots");

    // The trail needs a purpose and is audited.
    let range = format!("start={}&end={}", (now - Duration::hours(1)).to_rfc3339(), (now + Duration::minutes(1)).to_rfc3339()).replace('+', "%2B");
    assert_eq!(s.get(&disp, &format!("/api/v1/units/car-1/trail?{range}")).await.0, 400);
    let (st, trail) = s.get(&disp, &format!("/api/v1/units/car-1/trail?{range}&purpose=review&case_ref=C-1")).await;
    assert_eq!(st, 200, "{trail}");
    assert_eq!(trail["points"].as_array().unwrap().iter().map(|p| p["lat"].as_f64().unwrap()).collect::<Vec<_>>(), [44.7, 44.82]);

    // A procedure, then an incident from a call.
    assert_eq!(s.send(&sup, "PUT", "/api/v1/procedures/assault", Some(json!({"steps": ["send medic", "secure witnesses"]}))).await.0, 200);
    let (st, inc) =
        s.send(&disp, "POST", "/api/v1/incidents", Some(json!({"type": "assault", "priority": 1, "lat": 44.800, "lon": 20.460, "address": "Trg 1"}))).await;
    assert_eq!(st, 201, "{inc}");
    let id = inc["id"].as_i64().unwrap();
    assert_eq!(inc["checklist"].as_array().unwrap().len(), 2);
    let (st, b) = s.send(&disp, "POST", "/api/v1/incidents", Some(json!({"type": "assault", "priority": 7, "lat": 44.8}))).await;
    assert_eq!(st, 422, "{b}");
    let (st, b) = s.send(&disp, "POST", "/api/v1/incidents", Some(json!({"type": "assault", "priority": 2, "alert_id": 999999}))).await;
    assert_eq!(st, 404, "{b}");

    // Recommendations by ETA, with reasons; a capability filter.
    let (st, rec) = s.get(&disp, &format!("/api/v1/incidents/{id}/recommendations")).await;
    assert_eq!(st, 200, "{rec}");
    let order: Vec<&str> = rec["recommendations"].as_array().unwrap().iter().map(|r| r["unit_id"].as_str().unwrap()).collect();
    assert_eq!(order, ["car-2", "car-1", "foot-1"], "{rec}");
    let etas: Vec<f64> = rec["recommendations"].as_array().unwrap().iter().map(|r| r["eta_s"].as_f64().unwrap()).collect();
    assert!(etas.windows(2).all(|w| w[0] <= w[1]), "{etas:?}");
    assert!(rec["recommendations"][0]["reason"].as_str().unwrap().contains("km/h"), "{rec}");
    let (_, rec) = s.get(&disp, &format!("/api/v1/incidents/{id}/recommendations?capabilities=medic")).await;
    let order: Vec<&str> = rec["recommendations"].as_array().unwrap().iter().map(|r| r["unit_id"].as_str().unwrap()).collect();
    assert_eq!(order, ["car-1", "foot-1"]);

    // Assign car-1: the officer's terminal sees it at once.
    let (_, me) = s.get(&ofc, "/api/v1/me/assignment").await;
    assert_eq!(me["assignment"], Value::Null);
    let (st, b) = s.send(&disp, "POST", &format!("/api/v1/incidents/{id}/assign"), Some(json!({"unit_id": "car-1"}))).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(s.send(&disp, "POST", &format!("/api/v1/incidents/{id}/assign"), Some(json!({"unit_id": "car-1"}))).await.0, 409);
    let e = next_event(&mut bus, |e| e.event_type == citywatch_model::EventType::IncidentChange && e.details["change"] == "assigned").await;
    assert_eq!((e.details["incident_id"].as_i64(), e.details["detail"]["unit"].as_str(), e.source.id.as_str()), (Some(id), Some("car-1"), "disp"));
    let (_, me) = s.get(&ofc, "/api/v1/me/assignment").await;
    assert_eq!((me["assignment"]["incident"]["id"].as_i64(), me["assignment"]["unit"]["status"].as_str()), (Some(id), Some("dispatched")), "{me}");
    let (_, rec) = s.get(&disp, &format!("/api/v1/incidents/{id}/recommendations")).await;
    assert!(!rec["recommendations"].as_array().unwrap().iter().any(|r| r["unit_id"] == "car-1"), "a dispatched unit is not recommended");

    // Status: the unit's own officer, in order; another officer may not.
    assert_eq!(s.send(&ofc2, "POST", "/api/v1/units/car-1/status", Some(json!({"status": "en_route"}))).await.0, 403);
    assert_eq!(s.send(&ofc, "POST", "/api/v1/units/car-1/status", Some(json!({"status": "en_route"}))).await.0, 200);
    assert_eq!(s.send(&ofc, "POST", "/api/v1/units/car-1/status", Some(json!({"status": "dispatched"}))).await.0, 409);
    assert_eq!(s.send(&ofc, "POST", "/api/v1/units/car-1/status", Some(json!({"status": "on_scene"}))).await.0, 200);
    assert_eq!(s.send(&ofc, "POST", "/api/v1/units/car-1/status", Some(json!({"status": "en_route"}))).await.0, 409);
    assert_eq!(s.send(&ofc, "POST", "/api/v1/units/car-1/status", Some(json!({"status": "parked"}))).await.0, 422);

    // Notes, one step done, close: the skipped step flags it.
    assert_eq!(s.send(&disp, "POST", &format!("/api/v1/incidents/{id}/notes"), Some(json!({"text": "victim conscious"}))).await.0, 200);
    assert_eq!(s.send(&disp, "POST", &format!("/api/v1/incidents/{id}/checklist/1"), Some(json!({"state": "done"}))).await.0, 200);
    assert_eq!(s.send(&disp, "POST", &format!("/api/v1/incidents/{id}/checklist/9"), Some(json!({"state": "done"}))).await.0, 404);

    // EIDO while open.
    let (st, eido) = s.get(&disp, &format!("/api/v1/incidents/{id}/eido.json")).await;
    assert_eq!(st, 200, "{eido}");
    assert_eq!(eido["incidentComponent"]["incidentTrackingIdentifier"], format!("urn:citywatch:incident:{id}"));
    assert_eq!(eido["incidentComponent"]["incidentTypeCommonRegistryText"], "assault");
    assert_eq!(eido["incidentComponent"]["incidentCommonPriorityNumber"], 1);
    assert_eq!(eido["locationComponent"][0]["locationByValue"]["coordinates"], json!([20.46, 44.8]));
    assert_eq!(eido["locationComponent"][0]["civicAddressText"], "Trg 1");
    assert_eq!(eido["notesComponent"][0]["noteText"], "victim conscious");
    assert_eq!(eido["emergencyResourceComponent"][0]["resourceIdentifier"], "car-1");
    assert_eq!(eido["emergencyResourceComponent"][0]["resourceStatusCommonRegistryText"], "on_scene");
    assert!(eido["lastUpdateTimeStamp"].is_string());

    let (st, closed) = s.send(&disp, "POST", &format!("/api/v1/incidents/{id}/close"), Some(json!({"note": "handed to ambulance"}))).await;
    assert_eq!(st, 200, "{closed}");
    assert_eq!((closed["state"].as_str(), closed["flagged"].as_bool()), (Some("closed"), Some(true)));
    let kinds: Vec<&str> = closed["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["created", "assigned", "status", "status", "note", "checklist", "closed"]);
    let (_, flagged) = s.get(&sup, "/api/v1/incidents?flagged=true").await;
    assert_eq!(flagged.as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect::<Vec<_>>(), [id]);
    assert_eq!(s.get(&ofc, "/api/v1/me/assignment").await.1["assignment"], Value::Null);
    assert_eq!(s.get(&ofc, "/api/v1/incidents").await.0, 403, "officers see only their own assignment");

    // Recommendations shown and assignments are in the audit log.
    let actions: Vec<String> = s.audit_actions().into_iter().filter(|(a, _, _)| a == "disp").map(|(_, action, _)| action).collect();
    for want in [
        "incident.create",
        "incident.recommendations",
        "incident.assign",
        "incident.note",
        "incident.checklist",
        "incident.close",
        "incident.export",
        "unit.trail",
    ] {
        assert!(actions.iter().any(|a| a == want), "{want} not audited: {actions:?}");
    }
}

#[tokio::test]
async fn an_incident_from_an_alert_takes_its_place() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    s.user("disp", &[(Role::Dispatcher, None, None)]);
    s.user("north-disp", &[(Role::Dispatcher, Some(&["North"]), None)]);
    let admin = s.login("admin").await;
    let disp = s.login("disp").await;
    let north = s.login("north-disp").await;
    let cam = json!({"id": "cam-s", "lat": 44.805, "lon": 20.465, "district": "South"});
    assert_eq!(s.send(&admin, "POST", "/api/v1/cameras", Some(cam)).await.0, 201);
    let spec = serde_json::from_value(json!({"name": "tamper", "event_types": ["camera_tamper"]})).unwrap();
    common::blocking(|| s.events.add_rule(spec, "admin", &s.state.audit)).unwrap();
    let e = citywatch_model::NewEvent {
        event_type: citywatch_model::EventType::CameraTamper,
        time: Utc::now(),
        source: citywatch_model::Source::camera("cam-s"),
        location: None,
        details: json!({}),
    };
    s.events.raise(e).await.unwrap();
    let alert = common::blocking(|| s.events.alerts(None, None, None, 10)).unwrap().remove(0);
    let alert_loc = alert.location.expect("the camera's location");
    let (st, inc) = s.send(&disp, "POST", "/api/v1/incidents", Some(json!({"type": "vandalism", "priority": 3, "alert_id": alert.id}))).await;
    assert_eq!(st, 201, "{inc}");
    assert_eq!(
        (inc["location"]["lat"].as_f64(), inc["location"]["lon"].as_f64(), inc["alert_id"].as_i64()),
        (Some(alert_loc.lat), Some(alert_loc.lon), Some(alert.id))
    );
    assert_eq!(inc["timeline"][0]["detail"]["source"], "alert");
    // An alert outside the caller's districts does not exist for them.
    let (st, _) = s.send(&north, "POST", "/api/v1/incidents", Some(json!({"type": "vandalism", "priority": 3, "alert_id": alert.id}))).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn a_dispatcher_sees_and_works_only_the_incidents_in_their_districts() {
    let s = start().await;
    s.user("all", &[(Role::Dispatcher, None, None)]);
    s.user("north", &[(Role::Dispatcher, Some(&["North"]), None)]);
    let (all, north) = (s.login("all").await, s.login("north").await);
    // The test server's districts: North is lat 44.82..44.83, South 44.80..44.81.
    let mut ids = std::collections::HashMap::new();
    for (name, lat) in [("north", 44.825), ("south", 44.805), ("nowhere", 44.9)] {
        let (st, b) = s.send(&all, "POST", "/api/v1/incidents", Some(json!({"type": "fire", "priority": 2, "lat": lat, "lon": 20.46}))).await;
        assert_eq!(st, 201, "{b}");
        ids.insert(name, b["id"].as_i64().unwrap());
    }
    let listed = |v: &Value| -> Vec<i64> { v.as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect() };
    let (st, b) = s.get(&all, "/api/v1/incidents?state=open").await;
    assert_eq!(st, 200);
    assert_eq!(listed(&b).len(), 3, "a city-wide dispatcher sees every incident: {b}");
    let (st, b) = s.get(&north, "/api/v1/incidents?state=open").await;
    assert_eq!(st, 200);
    assert_eq!(listed(&b), vec![ids["north"]], "North's dispatcher sees only North's incident: {b}");

    for other in ["south", "nowhere"] {
        let id = ids[other];
        assert_eq!(s.get(&north, &format!("/api/v1/incidents/{id}")).await.0, 404, "{other}");
        assert_eq!(s.send(&north, "POST", &format!("/api/v1/incidents/{id}/notes"), Some(json!({"text": "not mine"}))).await.0, 404, "{other}");
        assert_eq!(s.send(&north, "POST", &format!("/api/v1/incidents/{id}/close"), None).await.0, 404, "{other}");
    }
    assert_eq!(s.send(&north, "POST", &format!("/api/v1/incidents/{}/notes", ids["north"]), Some(json!({"text": "on it"}))).await.0, 200);
    let (st, b) = s.send(&north, "POST", "/api/v1/incidents", Some(json!({"type": "fire", "priority": 2, "lat": 44.805, "lon": 20.46}))).await;
    assert_eq!(st, 403, "creating one in South: {b}");
    assert!(b["error"].as_str().unwrap().contains("outside your districts"), "{b}");
    // Nothing changed for the others.
    let (_, b) = s.get(&all, &format!("/api/v1/incidents/{}", ids["south"])).await;
    assert_eq!(b["state"], "open");
    assert!(b["timeline"].as_array().unwrap().iter().all(|t| t["kind"] != "note"), "{b}");
}
