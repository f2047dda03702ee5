//! AVL validation and the incident/unit workflow against a real SQLite
//! database in a temporary directory.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{Duration, Utc};
use citywatch_audit::{AuditLog, Record};
use citywatch_dispatch::incidents::IncidentRequest;
use citywatch_dispatch::{AvlError, Dispatch, DispatchConfig, DispatchError, Fix};
use citywatch_model::dispatch::{IncidentState, PositionOutcome, Procedure, StepState, Unit, UnitKind, UnitSpec, UnitStatus};
use citywatch_model::Alert;
use serde_json::json;

/// The service on a fresh database, and that database's audit log (each
/// change commits with its entry there).
struct Service {
    _dir: tempfile::TempDir,
    d: Dispatch,
    log: AuditLog,
}

fn service() -> Service {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(citywatch_store::Store::open(&dir.path().join("citywatch.db")).unwrap());
    let log = AuditLog::new(store.clone(), ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]));
    Service { _dir: dir, d: Dispatch::new(store, DispatchConfig::default()), log }
}

fn rec(action: &str) -> Record {
    Record::new("disp", action, "test")
}

impl Service {
    fn create_unit(&self, spec: &UnitSpec) -> Result<Unit, DispatchError> {
        self.d.create_unit(spec, &self.log, |u| Record::new("admin", "unit.create", &u.id))
    }

    fn register_device(&self, unit_id: &str, device_id: &str, hash: &str) -> Result<(), DispatchError> {
        self.d.register_device(unit_id, device_id, hash, &self.log, rec("unit.device"))
    }

    fn create_incident(&self, req: &IncidentRequest, alert: Option<&Alert>) -> Result<citywatch_model::dispatch::Incident, DispatchError> {
        self.d.create_incident(req, alert, "disp", &self.log, |_, id| Record::new("disp", "incident.create", format!("incident {id}")))
    }

    fn report_status(&self, unit_id: &str, to: UnitStatus, actor: &str, as_dispatcher: bool) -> Result<Unit, DispatchError> {
        Ok(self.d.report_status(unit_id, to, actor, as_dispatcher, &self.log, rec("unit.status"))?.0)
    }

    /// Every audit entry's action, in order.
    fn actions(&self) -> Vec<String> {
        self.log.repo().entries(0, usize::MAX).unwrap().into_iter().map(|e| e.action).collect()
    }
}

fn car(id: &str, officers: &[&str]) -> UnitSpec {
    UnitSpec {
        id: id.into(),
        call_sign: format!("Car {id}"),
        kind: UnitKind::Car,
        officers: officers.iter().map(|s| s.to_string()).collect(),
        capabilities: vec![],
        district: None,
    }
}

fn query(pairs: &[(&str, String)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

#[test]
fn avl_fixes_are_validated_counted_and_ordered() {
    let s = service();
    let d = &s.d;
    s.create_unit(&car("u1", &[])).unwrap();
    s.register_device("u1", "gps-1", "hash-of-token").unwrap();
    let now = Utc::now();
    let skew = d.config.max_future_skew;
    let t = |secs_ago: i64| (now - Duration::seconds(secs_ago)).timestamp().to_string();

    let fix = Fix::from_query(
        &query(&[
            ("id", "gps-1".into()),
            ("lat", "44.81".into()),
            ("lon", "20.46".into()),
            ("timestamp", t(60)),
            ("speed", "10".into()),
            ("bearing", "90".into()),
        ]),
        now,
        skew,
    )
    .unwrap();
    assert!((fix.speed_mps.unwrap() - 5.144).abs() < 0.01, "OsmAnd speed is in knots");
    assert_eq!(d.ingest(&fix, "hash-of-token", now).unwrap().0, PositionOutcome::Current);
    assert_eq!(d.ingest(&fix, "hash-of-token", now).unwrap().0, PositionOutcome::Duplicate);
    // A late fix goes to the trail but does not move the unit back.
    let late = Fix { lat: 44.70, time: now - Duration::seconds(120), ..fix.clone() };
    assert_eq!(d.ingest(&late, "hash-of-token", now).unwrap().0, PositionOutcome::OutOfOrder);
    assert_eq!(d.unit("u1").unwrap().position.unwrap().lat, 44.81);
    assert_eq!(d.repo().unit_trail("u1", now - Duration::hours(1), now, 10).unwrap().len(), 2);

    // The Traccar Client JSON body, ISO time, speed already in m/s.
    let body = json!({"device_id": "gps-1", "location": {"timestamp": (now - Duration::seconds(30)).to_rfc3339(), "coords": {"latitude": 44.82, "longitude": 20.47, "speed": 3.5, "heading": 180}}});
    let fix2 = Fix::from_json(&body, now, skew).unwrap();
    assert_eq!((fix2.speed_mps, fix2.bearing_deg), (Some(3.5), Some(180.0)));
    assert_eq!(d.ingest(&fix2, "hash-of-token", now).unwrap().0, PositionOutcome::Current);
    assert_eq!(d.unit("u1").unwrap().position.unwrap().lat, 44.82);

    // Refusals, each counted under its reason.
    assert!(matches!(d.ingest(&Fix { device_id: "gps-x".into(), ..fix.clone() }, "hash-of-token", now), Err(AvlError::UnknownDevice(_))));
    assert!(matches!(d.ingest(&fix, "wrong", now), Err(AvlError::BadToken(_))));
    let bad = Fix::from_query(&query(&[("id", "gps-1".into()), ("lat", "91".into()), ("lon", "east".into())]), now, skew).unwrap_err();
    let reason = |f: &str| bad.iter().find(|e| e.field == f).map(|e| e.reason.clone()).unwrap_or_else(|| panic!("no error for {f}: {bad:?}"));
    assert!(reason("lat").contains("91 is out of range"), "{bad:?}");
    assert_eq!(reason("lon"), "must be a number, got \"east\"");
    assert_eq!(bad.len(), 2, "{bad:?}");
    let future = Fix::from_query(
        &query(&[("id", "gps-1".into()), ("lat", "1".into()), ("lon", "1".into()), ("timestamp", (now + Duration::minutes(6)).timestamp().to_string())]),
        now,
        skew,
    )
    .unwrap_err();
    assert_eq!(future[0].field, "timestamp");
    assert!(future[0].reason.contains("ahead of the server clock"));
    // Four minutes ahead is within the allowed skew.
    assert!(Fix::from_query(
        &query(&[("id", "gps-1".into()), ("lat", "1".into()), ("lon", "1".into()), ("timestamp", (now + Duration::minutes(4)).timestamp().to_string())]),
        now,
        skew
    )
    .is_ok());
    let missing = Fix::from_json(&json!({"device_id": "gps-1"}), now, skew).unwrap_err();
    assert_eq!(missing[0].field, "location");
    d.count_refused(&AvlError::Invalid(bad));

    let c = &d.avl;
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    assert_eq!((n(&c.accepted), n(&c.duplicates), n(&c.out_of_order)), (2, 1, 1));
    assert_eq!((n(&c.unknown_device), n(&c.bad_token), n(&c.invalid)), (1, 1, 1));
    assert!(c.metrics_text().contains("citywatch_avl_refused_total{reason=\"bad_token\"} 1"));

    // A device cannot be taken over by another unit.
    s.create_unit(&car("u2", &[])).unwrap();
    assert!(matches!(s.register_device("u2", "gps-1", "h"), Err(DispatchError::Conflict(_))));
}

#[test]
fn unit_status_follows_the_workflow_and_the_timeline_records_it() {
    let s = service();
    let d = &s.d;
    s.create_unit(&car("u1", &["ofc"])).unwrap();
    s.create_unit(&car("u2", &[])).unwrap();
    let procedure = Procedure { incident_type: "burglary".into(), steps: vec!["secure the scene".into(), "call forensics".into()] };
    d.put_procedure(&procedure, &s.log, rec("procedure.put")).unwrap();
    let req =
        IncidentRequest { kind: "burglary".into(), priority: 2, lat: Some(44.81), lon: Some(20.46), address: Some("Main St 1".into()), source: "call".into() };
    let inc = s.create_incident(&req, None).unwrap();
    assert_eq!(inc.checklist.len(), 2);

    // Only assignment dispatches; an officer reports only for their own unit.
    assert!(matches!(s.report_status("u1", UnitStatus::Dispatched, "disp", true), Err(DispatchError::Conflict(_))));
    assert!(matches!(s.report_status("u1", UnitStatus::EnRoute, "disp", true), Err(DispatchError::Conflict(_))), "available -> en_route is not a transition");
    d.assign(inc.id, "u1", "disp", &s.log, rec("incident.assign")).unwrap();
    assert!(matches!(d.assign(inc.id, "u1", "disp", &s.log, rec("incident.assign")), Err(DispatchError::Conflict(_))), "a dispatched unit is not available");
    assert!(matches!(s.report_status("u1", UnitStatus::EnRoute, "someone-else", false), Err(DispatchError::Forbidden(_))));
    assert_eq!(s.report_status("u1", UnitStatus::EnRoute, "ofc", false).unwrap().status, UnitStatus::EnRoute);
    assert_eq!(s.report_status("u1", UnitStatus::OnScene, "ofc", false).unwrap().status, UnitStatus::OnScene);
    assert!(matches!(s.report_status("u1", UnitStatus::EnRoute, "ofc", false), Err(DispatchError::Conflict(_))));
    let (unit, current) = d.assignment_of("ofc").unwrap().unwrap();
    assert_eq!((unit.id.as_str(), current.id), ("u1", inc.id));

    d.add_note(inc.id, "caller says two people left by car", "disp", &s.log, rec("incident.note")).unwrap();
    d.check_step(inc.id, 1, StepState::Done, "disp", &s.log, rec("incident.checklist")).unwrap();
    assert!(matches!(d.check_step(inc.id, 3, StepState::Done, "disp", &s.log, rec("incident.checklist")), Err(DispatchError::NotFound(_))));
    d.assign(inc.id, "u2", "disp", &s.log, rec("incident.assign")).unwrap();
    let closed = d.close(inc.id, Some("suspects gone"), "disp", &s.log, |flagged, _| rec("incident.close").detail(json!({"flagged": flagged}))).unwrap();
    assert_eq!(closed.state, IncidentState::Closed);
    assert!(closed.flagged, "step 2 was never done");
    assert_eq!(closed.checklist[1].state, StepState::Skipped);
    let kinds: Vec<&str> = closed.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "assigned", "status", "status", "note", "checklist", "assigned", "closed"]);
    assert_eq!(closed.timeline[2].detail["to"], "en_route");
    for u in ["u1", "u2"] {
        assert_eq!(d.unit(u).unwrap().status, UnitStatus::Available, "closing releases {u}");
    }
    assert!(d.assignment_of("ofc").unwrap().is_none());
    assert!(matches!(d.add_note(inc.id, "late", "disp", &s.log, rec("incident.note")), Err(DispatchError::Conflict(_))));
    assert_eq!(d.incidents(None, Some(true), 10).unwrap().len(), 1);

    // A unit that goes back to available leaves its incident.
    let inc2 = s.create_incident(&IncidentRequest { source: "map".into(), address: None, ..req }, None).unwrap();
    d.assign(inc2.id, "u1", "disp", &s.log, rec("incident.assign")).unwrap();
    s.report_status("u1", UnitStatus::Available, "disp", true).unwrap();
    let inc2 = d.incident(inc2.id).unwrap();
    assert!(inc2.units[0].released_at.is_some());
    assert!(matches!(d.delete_unit("missing", &s.log, rec("unit.delete")), Err(DispatchError::NotFound(_))));
    // Each change made has its entry, committed with it; no refused one has any.
    let expected = [
        "unit.create",
        "unit.create",
        "procedure.put",
        "incident.create",
        "incident.assign",
        "unit.status",
        "unit.status",
        "incident.note",
        "incident.checklist",
        "incident.assign",
        "incident.close",
        "incident.create",
        "incident.assign",
        "unit.status",
    ];
    assert_eq!(s.actions(), expected);
}

#[test]
fn an_incident_from_an_alert_takes_its_location_and_link() {
    use citywatch_model::{AlertState, EventType, Location, Severity, Source};
    let s = service();
    let now = Utc::now();
    let alert = Alert {
        id: 42,
        rule_id: 1,
        rule_name: "hotlist".into(),
        state: AlertState::New,
        severity: Severity::Severe,
        event_type: EventType::PlateRead,
        source: Source::camera("cam-1"),
        district: None,
        location: Some(Location { lat: 44.815, lon: 20.455 }),
        first_event_at: now,
        last_event_at: now,
        event_count: 1,
        created_at: now,
        acknowledged_by: None,
        acknowledged_at: None,
        closed_by: None,
        closed_at: None,
    };
    let req = IncidentRequest { kind: "stolen_vehicle".into(), priority: 1, source: "alert".into(), ..Default::default() };
    let inc = s.create_incident(&req, Some(&alert)).unwrap();
    assert_eq!((inc.location.lat, inc.location.lon, inc.alert_id), (44.815, 20.455, Some(42)));
    let err = s.create_incident(&IncidentRequest { source: "call".into(), ..req.clone() }, None).unwrap_err();
    assert!(matches!(&err, DispatchError::Invalid(f) if f[0].field == "lat"), "{err}");
    let err = s.create_incident(&IncidentRequest { priority: 0, lat: Some(1.0), lon: Some(1.0), ..req }, None).unwrap_err();
    assert!(matches!(&err, DispatchError::Invalid(f) if f[0].field == "priority"), "{err}");
}
