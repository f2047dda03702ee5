//! Rules, correlation and the alert lifecycle against a real SQLite
//! database, through the public service as the API uses it.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use citywatch_audit::AuditLog;
use citywatch_events::{AlertUpdateKind, Events, EventsConfig, EventsError};
use citywatch_model::{AlertAction, AlertState, CameraUpdate, EventType, Location, NewEvent, RuleSpec, Source, SourceKind};
use citywatch_registry::Registry;
use citywatch_store::{EventFilter, Store};
use serde_json::json;

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    events: Arc<Events>,
    audit: Arc<AuditLog>,
}

fn camera(id: &str, lat: f64, district: &str) -> CameraUpdate {
    let obj = json!({"id": id, "lat": lat, "lon": 20.46, "district": district});
    CameraUpdate::from_json(obj.as_object().unwrap(), None).unwrap()
}

fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("citywatch.db");
    let store = Arc::new(Store::open(&path).unwrap());
    // c1 and c2 are 111 m apart in North; c3 is in South.
    store.create_camera(&camera("c1", 44.825, "North")).unwrap();
    store.create_camera(&camera("c2", 44.826, "North")).unwrap();
    store.create_camera(&camera("c3", 44.805, "South")).unwrap();
    let registry = Arc::new(Registry::load(store.clone()).unwrap());
    let audit = Arc::new(AuditLog::new(store.clone(), citywatch_audit::load_or_create_signing_key(dir.path()).unwrap()));
    let events = Events::start(store, registry, EventsConfig::default()).unwrap();
    Fixture { _dir: dir, path, events, audit }
}

fn rule(v: serde_json::Value) -> RuleSpec {
    serde_json::from_value(v).unwrap()
}

fn at(min: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap() + Duration::minutes(min)
}

fn event(t: EventType, cam: &str, time: chrono::DateTime<Utc>, details: serde_json::Value) -> NewEvent {
    NewEvent { event_type: t, time, source: Source::camera(cam), location: None, details }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_matching_event_opens_an_alert_and_near_ones_join_it() {
    let f = start();
    let r = f
        .events
        .add_rule(
            rule(json!({"name": "motion north", "event_types": ["motion"], "districts": ["North"],
        "correlation_window_s": 120, "correlation_radius_m": 200})),
            "sup",
            &f.audit,
        )
        .unwrap();
    let mut alerts = f.events.subscribe_alerts();

    let e1 = f.events.raise(event(EventType::Motion, "c1", at(0), json!({}))).await.unwrap();
    assert_eq!(e1.district.as_deref(), Some("North"), "district comes from the camera");
    assert_eq!(e1.location, Some(Location { lat: 44.825, lon: 20.46 }), "position comes from the camera");
    let first = alerts.recv().await.unwrap();
    assert_eq!(first.kind, AlertUpdateKind::New);
    assert_eq!((first.alert.rule_id, first.alert.state, first.alert.event_count), (r.id, AlertState::New, 1));

    // 111 m away, a minute later: the same alert.
    f.events.raise(event(EventType::Motion, "c2", at(1), json!({}))).await.unwrap();
    let joined = alerts.recv().await.unwrap();
    assert_eq!((joined.kind, joined.alert.id, joined.alert.event_count), (AlertUpdateKind::Updated, first.alert.id, 2));
    assert_eq!(joined.alert.last_event_at, at(1));

    // Past the window (last event + 120 s): a new alert.
    f.events.raise(event(EventType::Motion, "c1", at(4), json!({}))).await.unwrap();
    let later = alerts.recv().await.unwrap();
    assert_eq!(later.kind, AlertUpdateKind::New);
    assert_ne!(later.alert.id, first.alert.id);

    // Other district, other type: nothing.
    f.events.raise(event(EventType::Motion, "c3", at(4), json!({}))).await.unwrap();
    f.events.raise(event(EventType::Object, "c1", at(4), json!({}))).await.unwrap();
    assert_eq!(f.events.alerts(None, None, None, 100).unwrap().len(), 2);
    assert_eq!(f.events.alert_event_ids(first.alert.id).unwrap(), vec![e1.id, e1.id + 1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_in_one_batch_correlates_into_one_alert() {
    let f = start();
    f.events
        .add_rule(rule(json!({"name": "burst", "event_types": ["line_crossing"], "correlation_window_s": 60, "correlation_radius_m": 50})), "sup", &f.audit)
        .unwrap();
    // Raised together, these land in one or a few group commits.
    let raises = (0..200).map(|i| {
        let ev = f.events.clone();
        tokio::spawn(async move { ev.raise(event(EventType::LineCrossing, "c1", at(0) + Duration::milliseconds(i), json!({}))).await.unwrap() })
    });
    for h in raises.collect::<Vec<_>>() {
        h.await.unwrap();
    }
    let alerts = f.events.alerts(None, None, None, 100).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].event_count, 200);
    assert_eq!(f.events.alert_event_ids(alerts[0].id).unwrap().len(), 200);
    assert!(f.events.metrics().batches.load(std::sync::atomic::Ordering::Relaxed) < 200, "events were grouped into fewer commits");
}

#[tokio::test(flavor = "multi_thread")]
async fn hotlist_priority_schedule_and_camera_lists_filter() {
    let f = start();
    f.events
        .add_rule(rule(json!({"name": "high hits", "event_types": ["hotlist_hit"], "min_hotlist_priority": 7, "cameras": ["c1"]})), "sup", &f.audit)
        .unwrap();
    // 2026-11-23 is a Monday; armed on Mondays 13:00-14:00 only.
    f.events
        .add_rule(
            rule(json!({"name": "tamper at lunch", "event_types": ["camera_tamper"], "schedule": {"days": [1], "start_hour": 13, "end_hour": 14}})),
            "sup",
            &f.audit,
        )
        .unwrap();
    f.events.raise(event(EventType::HotlistHit, "c1", at(0), json!({"plate": "BG123AA", "priority": 5}))).await.unwrap();
    f.events.raise(event(EventType::HotlistHit, "c2", at(0), json!({"plate": "BG123AA", "priority": 9}))).await.unwrap();
    f.events.raise(event(EventType::CameraTamper, "c1", at(0), json!({}))).await.unwrap();
    assert!(f.events.alerts(None, None, None, 10).unwrap().is_empty(), "low priority, other camera, outside the schedule");
    f.events.raise(event(EventType::HotlistHit, "c1", at(0), json!({"plate": "BG123AA", "priority": 8}))).await.unwrap();
    f.events.raise(event(EventType::CameraTamper, "c1", at(70), json!({}))).await.unwrap();
    let names: Vec<String> = f.events.alerts(None, None, None, 10).unwrap().into_iter().map(|a| a.rule_name).collect();
    assert_eq!(names, vec!["tamper at lunch", "high hits"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_records_who_and_when_and_refuses_wrong_steps() {
    let f = start();
    f.events.add_rule(rule(json!({"name": "any", "event_types": ["zone"]})), "sup", &f.audit).unwrap();
    f.events.raise(event(EventType::Zone, "c1", at(0), json!({"zone": "gate"}))).await.unwrap();
    let id = f.events.alerts(Some(AlertState::New), None, None, 10).unwrap()[0].id;

    let err = f.events.handle_alert(id, AlertAction::Resolve, "op1", &f.audit).unwrap_err();
    assert!(matches!(&err, EventsError::Conflict(m) if m.contains("acknowledge it first")), "{err}");
    let acked = f.events.handle_alert(id, AlertAction::Acknowledge, "op1", &f.audit).unwrap();
    assert_eq!((acked.state, acked.acknowledged_by.as_deref()), (AlertState::Acknowledged, Some("op1")));
    assert!(acked.acknowledged_at.is_some());
    assert!(matches!(f.events.handle_alert(id, AlertAction::Acknowledge, "op2", &f.audit), Err(EventsError::Conflict(_))));
    let closed = f.events.handle_alert(id, AlertAction::FalseAlarm, "op2", &f.audit).unwrap();
    assert_eq!((closed.state, closed.closed_by.as_deref()), (AlertState::FalseAlarm, Some("op2")));
    assert!(matches!(f.events.handle_alert(id, AlertAction::Resolve, "op2", &f.audit), Err(EventsError::Conflict(m)) if m.contains("already false_alarm")));
    assert!(matches!(f.events.handle_alert(9999, AlertAction::Acknowledge, "op2", &f.audit), Err(EventsError::NotFound(_))));
    // The two steps taken are in the log with who took them, from which
    // state to which; the refused attempts are not (the API records those).
    let steps: Vec<(String, String, serde_json::Value)> =
        f.audit.repo().entries(0, 100).unwrap().into_iter().filter(|e| e.action.starts_with("alert.")).map(|e| (e.actor, e.action, e.detail)).collect();
    assert_eq!(
        steps,
        [
            ("op1".to_owned(), "alert.acknowledge".to_owned(), json!({"from": "new", "to": "acknowledged", "rule": "any"})),
            ("op2".to_owned(), "alert.false_alarm".to_owned(), json!({"from": "acknowledged", "to": "false_alarm", "rule": "any"})),
        ]
    );

    // A closed alert gathers nothing more: the next event opens a new one.
    f.events.raise(event(EventType::Zone, "c1", at(0), json!({"zone": "gate"}))).await.unwrap();
    assert_eq!(f.events.alerts(Some(AlertState::New), None, None, 10).unwrap().len(), 1);

    // What was recorded survives a restart.
    let store = Store::open(&f.path).unwrap();
    let a = store.alert(id).unwrap().unwrap();
    assert_eq!((a.state, a.acknowledged_by.as_deref(), a.closed_by.as_deref()), (AlertState::FalseAlarm, Some("op1"), Some("op2")));
}

#[tokio::test(flavor = "multi_thread")]
async fn events_are_durable_filtered_and_paged() {
    let f = start();
    for i in 0..30 {
        let cam = if i % 3 == 0 { "c3" } else { "c1" };
        f.events.raise(event(if i % 2 == 0 { EventType::Motion } else { EventType::Object }, cam, at(i), json!({"n": i}))).await.unwrap();
    }
    let bad = NewEvent {
        event_type: EventType::HotlistHit,
        time: Utc::now() + Duration::hours(1),
        source: Source { kind: SourceKind::Camera, id: "bad id!".into() },
        location: Some(Location { lat: 91.0, lon: 0.0 }),
        details: json!([]),
    };
    let Err(EventsError::Invalid(fields)) = f.events.raise(bad).await else { panic!("bad event accepted") };
    let names: Vec<&str> = fields.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(names, vec!["source.id", "location.lat", "details", "details.priority", "time"]);

    // Another connection (as after a restart) sees every event.
    let store = Store::open(&f.path).unwrap();
    let all = store.events(&EventFilter { limit: 100, ..Default::default() }).unwrap();
    assert_eq!(all.len(), 30);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let motion_c1 = store.events(&EventFilter { types: vec![EventType::Motion], source_id: Some("c1".into()), limit: 100, ..Default::default() }).unwrap();
    assert!(motion_c1.iter().all(|e| e.event_type == EventType::Motion && e.source.id == "c1"));
    assert_eq!(motion_c1.len(), 10);
    let window = store.events(&EventFilter { from: Some(at(10)), to: Some(at(20)), limit: 100, ..Default::default() }).unwrap();
    assert_eq!(window.len(), 10);
    let south = store.events(&EventFilter { districts: Some(vec!["South".into()]), limit: 100, ..Default::default() }).unwrap();
    assert_eq!(south.len(), 10);
    let page1 = store.events(&EventFilter { limit: 12, ..Default::default() }).unwrap();
    let page2 = store.events(&EventFilter { limit: 100, before_id: Some(page1.last().unwrap().id), ..Default::default() }).unwrap();
    assert_eq!(page1.len() + page2.len(), 30);
    assert_eq!(page2[0].id, page1.last().unwrap().id - 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_are_validated_and_survive_restart() {
    let f = start();
    let err = f.events.add_rule(rule(json!({"name": "", "event_types": [], "min_hotlist_priority": 11})), "sup", &f.audit).unwrap_err();
    let EventsError::Invalid(fields) = err else { panic!() };
    let names: Vec<&str> = fields.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(names, vec!["name", "event_types", "min_hotlist_priority", "min_hotlist_priority"]);
    let r = f.events.add_rule(rule(json!({"name": "x", "event_types": ["motion"]})), "sup", &f.audit).unwrap();
    let changed = f.events.replace_rule(r.id, rule(json!({"name": "y", "event_types": ["zone"], "enabled": false})), "sup", &f.audit).unwrap();
    assert_eq!((changed.spec.name.as_str(), changed.spec.enabled), ("y", false));
    assert_eq!(Store::open(&f.path).unwrap().rules().unwrap()[0].spec.name, "y");
    f.events.delete_rule(r.id, "sup", &f.audit).unwrap();
    assert!(f.events.rules().is_empty());
    assert!(matches!(f.events.delete_rule(r.id, "sup", &f.audit), Err(EventsError::NotFound(_))));
    // Each change committed with its entry, the refused ones with none.
    let entries: Vec<(String, String, String)> = f.audit.repo().entries(0, 100).unwrap().into_iter().map(|e| (e.actor, e.action, e.target)).collect();
    let target = format!("rule:{}", r.id);
    assert_eq!(
        entries,
        [("sup", "rule.create", &target), ("sup", "rule.replace", &target), ("sup", "rule.delete", &target)].map(|(a, b, c)| (
            a.to_owned(),
            b.to_owned(),
            c.clone()
        ))
    );
}
