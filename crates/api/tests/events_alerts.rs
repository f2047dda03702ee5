//! Events, rules and alerts over HTTP against a real server: raise an event,
//! watch the alert arrive on a console's WebSocket and in the list, take it
//! through its lifecycle, export it as CAP; bad bodies and wrong steps get
//! clear 4xx answers; plate-bearing events need a purpose; events only the
//! server raises (plate reads, hotlist hits, camera status, unit positions,
//! incident changes) are refused.

mod common;

use std::time::Duration;

use citywatch_model::{EventType, NewEvent, Role, Source};
use common::{start, TestServer, METRICS_TOKEN};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn console(s: &TestServer, token: &str) -> Ws {
    let mut req = format!("{}/api/v1/alerts/stream", s.base.replace("http://", "ws://")).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.expect("WebSocket handshake").0
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("no message on the alert stream").unwrap().unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

async fn setup() -> (TestServer, String, String) {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    s.user("op", &[(Role::Operator, Some(&["North"]), None)]);
    let admin = s.login("admin").await;
    let op = s.login("op").await;
    for (id, lat, district) in [("n1", 44.825, "North"), ("s1", 44.805, "South")] {
        let (st, b) = s.send(&admin, "POST", "/api/v1/cameras", Some(json!({"id": id, "lat": lat, "lon": 20.46, "district": district}))).await;
        assert_eq!(st, 201, "{b}");
    }
    (s, admin, op)
}

#[tokio::test(flavor = "multi_thread")]
async fn event_to_alert_to_resolution_with_a_console_watching() {
    let (s, admin, op) = setup().await;
    let (st, rule) = s
        .send(
            &admin,
            "POST",
            "/api/v1/rules",
            Some(json!({"name": "Someone in the yard", "event_types": ["zone"], "severity": "severe", "correlation_radius_m": 250})),
        )
        .await;
    assert_eq!(st, 201, "{rule}");
    let mut ws = console(&s, &op).await;

    // South is outside the operator's grant: raised by the admin, never shown to the operator.
    let south = json!({"type": "zone", "source": {"kind": "camera", "id": "s1"}, "details": {"zone": "yard"}});
    assert_eq!(s.send(&admin, "POST", "/api/v1/events", Some(south)).await.0, 201);
    let north = json!({"type": "zone", "time": "2026-11-27T08:00:00Z", "source": {"kind": "camera", "id": "n1"}, "details": {"zone": "yard"}});
    let (st, event) = s.send(&op, "POST", "/api/v1/events", Some(north)).await;
    assert_eq!(st, 201, "{event}");
    assert_eq!((event["district"].as_str(), event["location"]["lat"].as_f64()), (Some("North"), Some(44.825)));

    let pushed = next_json(&mut ws).await;
    assert_eq!(pushed["kind"], "new");
    assert_eq!(pushed["alert"]["source"]["id"], "n1", "the console hears only its districts: {pushed}");
    let id = pushed["alert"]["id"].as_i64().unwrap();
    assert_eq!((pushed["alert"]["state"].as_str(), pushed["alert"]["severity"].as_str()), (Some("new"), Some("severe")));

    let (st, list) = s.get(&op, "/api/v1/alerts?state=new").await;
    assert_eq!(st, 200);
    let ids: Vec<i64> = list["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![id], "one alert in the operator's districts");
    assert_eq!(s.get(&op, &format!("/api/v1/alerts/{id}")).await.1["event_ids"], json!([event["id"]]));

    // Wrong step: 409 naming the state.
    let (st, b) = s.send(&op, "POST", &format!("/api/v1/alerts/{id}/resolve"), None).await;
    assert_eq!(st, 409, "{b}");
    assert!(b["error"].as_str().unwrap().contains("acknowledge it first"), "{b}");

    let (st, acked) = s.send(&op, "POST", &format!("/api/v1/alerts/{id}/acknowledge"), None).await;
    assert_eq!(st, 200, "{acked}");
    assert_eq!((acked["state"].as_str(), acked["acknowledged_by"].as_str()), (Some("acknowledged"), Some("op")));
    let pushed = next_json(&mut ws).await;
    assert_eq!((pushed["kind"].as_str(), pushed["alert"]["state"].as_str()), (Some("state"), Some("acknowledged")));

    let (st, done) = s.send(&op, "POST", &format!("/api/v1/alerts/{id}/resolve"), None).await;
    assert_eq!(st, 200, "{done}");
    assert_eq!((done["state"].as_str(), done["closed_by"].as_str()), (Some("resolved"), Some("op")));
    assert!(done["closed_at"].is_string());
    assert_eq!(s.send(&op, "POST", &format!("/api/v1/alerts/{id}/false-alarm"), None).await.0, 409);
    assert_eq!(next_json(&mut ws).await["alert"]["state"], "resolved");

    let actions: Vec<(String, String, String)> = s.audit_actions();
    for (action, result) in [
        ("alert.acknowledge", "ok"),
        ("alert.resolve", "ok"),
        ("alert.resolve", "refused"),
        ("alert.false_alarm", "refused"),
        ("rule.create", "ok"),
        ("event.raise", "ok"),
        ("alert.stream", "ok"),
    ] {
        assert!(actions.iter().any(|(_, a, r)| a == action && r == result), "no audit entry {action} {result} in {actions:?}");
    }
    let metrics = s.client.get(s.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    for line in ["citywatch_events_stored_total 2", "citywatch_alerts_opened_total 2", "citywatch_mqtt_dropped_total 0"] {
        assert!(metrics.lines().any(|l| l == line), "no {line:?} in /metrics");
    }
    // The South alert exists, but not for the operator.
    let south_alert = common::blocking(|| s.events.alerts(None, None, None, 10)).unwrap().into_iter().find(|a| a.source.id == "s1").unwrap();
    assert_eq!(s.get(&op, &format!("/api/v1/alerts/{}", south_alert.id)).await.0, 404);
    assert_eq!(s.send(&op, "POST", &format!("/api/v1/alerts/{}/acknowledge", south_alert.id), None).await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn cap_export_is_valid_cap_1_2() {
    let (s, admin, op) = setup().await;
    s.send(
        &admin,
        "POST",
        "/api/v1/rules",
        Some(json!({"name": "Tamper <gate> & fence", "event_types": ["camera_tamper"], "correlation_radius_m": 500, "severity": "extreme"})),
    )
    .await;
    s.send(&op, "POST", "/api/v1/events", Some(json!({"type": "camera_tamper", "source": {"kind": "camera", "id": "n1"}}))).await;
    let id = s.get(&op, "/api/v1/alerts").await.1["alerts"][0]["id"].as_i64().unwrap();
    let r = s.client.get(s.url(&format!("/api/v1/alerts/{id}/cap.xml"))).bearer_auth(&op).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/cap+xml"));
    let xml = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("CAP is not well-formed XML ({e}):\n{xml}"));
    let root = doc.root_element();
    assert_eq!((root.tag_name().name(), root.tag_name().namespace()), ("alert", Some("urn:oasis:names:tc:emergency:cap:1.2")));
    let text = |parent: roxmltree::Node, name: &str| -> String {
        parent.children().find(|n| n.has_tag_name(name)).and_then(|n| n.text()).unwrap_or_else(|| panic!("no <{name}> in:\n{xml}")).to_owned()
    };
    assert_eq!(text(root, "identifier"), format!("citywatch-alert-{id}"));
    assert!(text(root, "sender").starts_with("citywatch@"));
    let sent = text(root, "sent");
    assert!(sent.ends_with("-00:00") && chrono::DateTime::parse_from_rfc3339(&sent).is_ok(), "CAP time with -00:00: {sent}");
    assert_eq!((text(root, "status"), text(root, "msgType"), text(root, "scope")), ("Actual".into(), "Alert".into(), "Restricted".into()));
    let info = root.children().find(|n| n.has_tag_name("info")).expect("<info>");
    assert_eq!(text(info, "category"), "Security");
    assert_eq!(text(info, "event"), "Tamper <gate> & fence", "escaped and read back");
    assert_eq!((text(info, "urgency"), text(info, "severity"), text(info, "certainty")), ("Immediate".into(), "Extreme".into(), "Observed".into()));
    let area = info.children().find(|n| n.has_tag_name("area")).expect("<area>");
    assert!(text(area, "areaDesc").contains("n1"));
    let circle = text(area, "circle");
    let (point, radius) = circle.split_once(' ').unwrap();
    let (lat, lon) = point.split_once(',').unwrap();
    assert_eq!((lat.parse::<f64>().unwrap(), lon.parse::<f64>().unwrap(), radius.parse::<f64>().unwrap()), (44.825, 20.46, 0.5));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bodies_are_422_naming_the_field() {
    let (s, admin, op) = setup().await;
    let cases = [
        (json!({"source": {"kind": "camera", "id": "n1"}}), "type"),
        (json!({"type": "explosion", "source": {"kind": "camera", "id": "n1"}}), "type"),
        (json!({"type": "motion"}), "source"),
        (json!({"type": "motion", "source": {"kind": "satellite"}}), "source.kind"),
        (json!({"type": "motion", "source": {"kind": "camera"}}), "source.id"),
        (json!({"type": "motion", "source": {"kind": "camera", "id": "n1"}, "time": "yesterday"}), "time"),
        (json!({"type": "motion", "source": {"kind": "camera", "id": "n1"}, "time": "2099-01-01T00:00:00Z"}), "time"),
        (json!({"type": "motion", "source": {"kind": "camera", "id": "n1"}, "location": {"lat": 95, "lon": 0}}), "location.lat"),
        (json!({"type": "motion", "source": {"kind": "camera", "id": "n1"}, "details": "car"}), "details"),
        (json!({"type": "motion", "source": {"kind": "camera", "id": "n1"}, "colour": "red"}), "colour"),
    ];
    for (body, field) in cases {
        let (st, b) = s.send(&op, "POST", "/api/v1/events", Some(body.clone())).await;
        assert_eq!(st, 422, "{body} -> {b}");
        assert!(b["fields"].as_array().unwrap().iter().any(|f| f["field"] == field), "{body}: expected field {field} in {b}");
    }
    let (st, b) = s.post_raw(&op, "/api/v1/events", "application/json", "{not json").await;
    assert_eq!(st, 400, "{b}");
    // A camera outside the grant does not exist for the caller.
    assert_eq!(s.send(&op, "POST", "/api/v1/events", Some(json!({"type": "motion", "source": {"kind": "camera", "id": "s1"}}))).await.0, 404);

    for (body, field) in [
        (json!({"name": "x", "event_types": []}), "event_types"),
        (json!({"name": "x", "event_types": ["motion"], "schedule": {"days": [8], "start_hour": 1, "end_hour": 2}}), "schedule.days"),
        (json!({"name": "x", "event_types": ["motion"], "frequency": 3}), "frequency"),
        (json!({"event_types": ["motion"]}), "name"),
    ] {
        let (st, b) = s.send(&admin, "POST", "/api/v1/rules", Some(body.clone())).await;
        assert_eq!(st, 422, "{body} -> {b}");
        assert!(b["fields"].as_array().unwrap().iter().any(|f| f["field"] == field), "{body}: expected field {field} in {b}");
    }
    let (st, b) = s.get(&op, "/api/v1/alerts?state=open").await;
    assert_eq!((st, b["fields"][0]["field"].as_str()), (422, Some("state")));
    let (st, b) = s.get(&op, "/api/v1/events?limit=0&from=noon").await;
    assert_eq!(st, 422);
    assert_eq!(b["fields"].as_array().unwrap().len(), 2, "{b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plate_events_need_a_purpose_and_are_audited() {
    let (s, _admin, op) = setup().await;
    // Plate reads come from the pipeline (the API refuses them).
    let read = NewEvent {
        event_type: EventType::PlateRead,
        time: chrono::Utc::now(),
        source: Source::camera("n1"),
        location: None,
        details: json!({"plate": "BG777ZZ"}),
    };
    s.events.raise(read).await.unwrap();
    s.send(&op, "POST", "/api/v1/events", Some(json!({"type": "motion", "source": {"kind": "camera", "id": "n1"}}))).await;

    let (st, b) = s.get(&op, "/api/v1/events").await;
    assert_eq!(st, 200);
    let types: Vec<&str> = b["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["motion"], "plate reads are left out without a purpose");
    assert_eq!(b["omitted_types"], json!(["plate_read", "hotlist_hit"]));

    let (st, b) = s.get(&op, "/api/v1/events?type=plate_read").await;
    assert_eq!(st, 422);
    let fields: Vec<&str> = b["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["purpose", "case_ref"]);

    let (st, b) = s.get(&op, "/api/v1/events?type=plate_read&purpose=stolen+car&case_ref=C-42").await;
    assert_eq!(st, 200);
    assert_eq!(b["events"][0]["details"]["plate"], "BG777ZZ");
    let entry = s.audit_entries().into_iter().find(|e| e.action == "event.search").expect("plate search audited");
    assert_eq!((entry.actor.as_str(), entry.purpose.as_deref(), entry.case_ref.as_deref()), ("op", Some("stolen car"), Some("C-42")));

    // Paging: newest first, next_before_id continues.
    for _ in 0..5 {
        assert_eq!(s.send(&op, "POST", "/api/v1/events", Some(json!({"type": "zone", "source": {"kind": "camera", "id": "n1"}}))).await.0, 201);
    }
    let (_, b) = s.get(&op, "/api/v1/events?type=zone&limit=3").await;
    let page1: Vec<i64> = b["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    let next = b["next_before_id"].as_i64().unwrap();
    let (_, b) = s.get(&op, &format!("/api/v1/events?type=zone&limit=3&before_id={next}")).await;
    let page2: Vec<i64> = b["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(page1.len() + page2.len(), 5);
    assert!(page1.iter().chain(&page2).collect::<Vec<_>>().windows(2).all(|w| w[0] > w[1]), "{page1:?} {page2:?}");
    assert!(b["next_before_id"].is_null());

    // A user source is the caller, whatever id the body claims.
    let (st, e) = s.send(&op, "POST", "/api/v1/events", Some(json!({"type": "object", "source": {"kind": "user", "id": "someone-else"}}))).await;
    assert_eq!((st, &e["source"]), (201, &json!({"kind": "user", "id": "op"})));
}

/// A hotlist hit raised by hand became a severe alert: the types only the
/// server's own parts raise are refused, for every role, and nothing is
/// stored or alerted.
#[tokio::test(flavor = "multi_thread")]
async fn events_only_the_server_raises_are_refused_from_the_api() {
    let (s, admin, op) = setup().await;
    let (st, b) = s.send(&admin, "POST", "/api/v1/rules", Some(json!({"name": "Anything", "event_types": ["hotlist_hit", "plate_read", "camera_offline", "camera_online", "unit_position", "incident_change"], "severity": "severe"}))).await;
    assert_eq!(st, 201, "{b}");
    for (who, token) in [("op", &op), ("admin", &admin)] {
        for body in [
            json!({"type": "hotlist_hit", "source": {"kind": "camera", "id": "n1"}, "details": {"plate": "BG123AB", "priority": 9}}),
            json!({"type": "plate_read", "source": {"kind": "camera", "id": "n1"}, "details": {"plate": "BG123AB"}}),
            json!({"type": "camera_offline", "source": {"kind": "camera", "id": "n1"}}),
            json!({"type": "camera_online", "source": {"kind": "camera", "id": "n1"}}),
            json!({"type": "unit_position", "source": {"kind": "unit", "id": "car-1"}, "location": {"lat": 44.82, "lon": 20.46}}),
            json!({"type": "incident_change", "source": {"kind": "user"}}),
        ] {
            let (st, b) = s.send(token, "POST", "/api/v1/events", Some(body.clone())).await;
            assert_eq!(st, 422, "{who}: {body} -> {b}");
            assert_eq!(b["fields"][0]["field"], "type", "{b}");
            assert!(b["fields"][0]["reason"].as_str().unwrap().contains("only the server"), "{who}: a clear reason: {b}");
        }
    }
    let stored = common::blocking(|| s.events.events(&citywatch_store::EventFilter { limit: 1000, ..Default::default() })).unwrap();
    assert!(stored.is_empty(), "nothing stored: {stored:?}");
    assert!(common::blocking(|| s.events.alerts(None, None, None, 10)).unwrap().is_empty(), "no alert");
    // What integrations and people report is still taken.
    for t in ["motion", "object", "zone", "line_crossing", "camera_tamper"] {
        let (st, b) = s.send(&op, "POST", "/api/v1/events", Some(json!({"type": t, "source": {"kind": "camera", "id": "n1"}}))).await;
        assert_eq!(st, 201, "{t}: {b}");
    }
}
