//! The conformance suite of [`DispatchRepo`]: what every backend must do,
//! run against each of them (SQLite in `conformance_sqlite.rs`, PostgreSQL
//! in `citywatch-store-postgres`). Built only with the `conformance`
//! feature, which only tests enable.
//!
//! Each case takes a [`Backend`] holding a fresh, empty database and opens
//! as many handles to it as it needs (two handles are two connections, as
//! two nodes, or two dispatchers' requests, would have).
//! [`dispatch_repo_conformance!`](crate::dispatch_repo_conformance) makes
//! one test per case.

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use citywatch_audit::{AuditRepo, MakeRow, MakeRowAfter, PendingEntry, Record};
use citywatch_model::dispatch::{
    ImplausibleFix, IncidentChange, IncidentLocation, IncidentState, NewIncident, Position, PositionOutcome, Procedure, StepState, TimelineEntry, Unit,
    UnitKind, UnitSpec, UnitStatus,
};
use citywatch_model::{AuditRow, ChainHead, RepoError};
use serde_json::json;

use crate::repo::DispatchRepo;

/// One connection to the backend's database: its dispatch repository and
/// its audit log, which a change commits with.
pub struct Handles {
    pub dispatch: Arc<dyn DispatchRepo>,
    pub audit: Arc<dyn AuditRepo>,
}

/// A fresh, empty database of one backend.
pub trait Backend {
    fn connect(&self) -> Handles;
}

/// One test per case of the suite, for the backend `$fresh` makes (an
/// expression evaluated anew for each test, giving a [`Backend`]).
#[macro_export]
macro_rules! dispatch_repo_conformance {
    ($fresh:expr) => {
        $crate::dispatch_repo_conformance!(@cases $fresh;
            an_empty_repository_has_no_units_incidents_or_procedures,
            a_unit_reads_back_as_created_with_its_entry_and_a_taken_id_is_a_conflict,
            an_update_changes_the_record_not_the_status_or_position,
            changing_or_deleting_a_missing_unit_is_not_found_and_writes_nothing,
            devices_are_registered_rekeyed_and_never_taken_over,
            fixes_keep_the_newest_trail_everything_once_and_are_not_audited,
            an_incident_reads_back_with_its_checklist_and_created_entry,
            assignment_status_checklist_and_close_follow_the_incident,
            changes_the_state_no_longer_allows_are_refused_and_write_nothing,
            a_unit_on_an_open_incident_is_not_deleted_and_a_deleted_one_takes_its_trail,
            procedures_are_put_replaced_and_listed_by_type,
            a_change_whose_audit_row_is_refused_is_not_made,
            two_dispatchers_at_once_win_each_unit_once_and_make_one_chain,
        );
    };
    (@cases $fresh:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let backend = $fresh;
                $crate::conformance::$case(&backend);
            }
        )*
    };
}

fn entry(action: &str, target: &str) -> MakeRow<'static> {
    Box::new(PendingEntry::new(Record::new("ana", action, target)).into_maker())
}

fn entry_after<T>(action: &str, target: &str) -> MakeRowAfter<'static, T> {
    let pending = PendingEntry::new(Record::new("ana", action, target));
    Box::new(move |_: &T, head: Option<&ChainHead>| pending.row_on(head))
}

/// A maker whose row does not chain to the head it is given (a writer
/// holding an old head): the backend refuses it, and the change with it.
fn stale_entry(head: Option<&ChainHead>) -> AuditRow {
    assert!(head.is_some(), "the suite makes a first entry before it tries a stale one");
    PendingEntry::new(Record::new("ana", "stale", "x")).row_on(None)
}

/// [`stale_entry`] for a change whose maker is given what it did.
fn stale_after<T>() -> MakeRowAfter<'static, T> {
    Box::new(|_: &T, head: Option<&ChainHead>| stale_entry(head))
}

fn actions(h: &Handles) -> Vec<(String, String)> {
    h.audit.entries(0, usize::MAX).expect("read the log").into_iter().map(|e| (e.action, e.target)).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, t)| ((*a).to_owned(), (*t).to_owned())).collect()
}

/// Now, to the microsecond: what both backends keep.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn spec(id: &str, officers: &[&str], district: Option<&str>) -> UnitSpec {
    UnitSpec {
        id: id.into(),
        call_sign: format!("Patrola {id} — ћ"),
        kind: UnitKind::Car,
        officers: officers.iter().map(|o| (*o).to_owned()).collect(),
        capabilities: vec!["first_aid".into(), "k9".into()],
        district: district.map(str::to_owned),
    }
}

fn new_incident(kind: &str) -> NewIncident {
    NewIncident {
        kind: kind.into(),
        priority: 2,
        location: IncidentLocation { lat: 44.8176123456789, lon: 20.4569876543211, address: Some("Knez Mihailova 1, Beograd".into()) },
        alert_id: Some(42),
        created_by: "disp".into(),
    }
}

fn timeline(kind: &str, detail: serde_json::Value, time: DateTime<Utc>) -> TimelineEntry {
    TimelineEntry { time, actor: "disp".into(), kind: kind.into(), detail }
}

/// Creates an incident of `kind` (with the procedure given) and its entry.
fn create_incident(h: &Handles, kind: &str, procedure: Option<&Procedure>) -> i64 {
    let detail = json!({"source": "call"});
    h.dispatch.create_incident(&new_incident(kind), procedure, &detail, now(), entry_after("incident.create", kind)).expect("create an incident").0
}

fn create_unit(h: &Handles, id: &str) {
    h.dispatch.create_unit(&spec(id, &["ofc"], Some("Stari grad")), entry_after("unit.create", id)).expect("create a unit");
}

fn assign(h: &Handles, incident: i64, unit_id: &str) -> Result<AuditRow, RepoError> {
    h.dispatch.change_incident(
        incident,
        IncidentChange::Assign { unit_id },
        &timeline("assigned", json!({"unit": unit_id}), now()),
        entry("incident.assign", unit_id),
    )
}

fn fix(unit_id: &str, lat: f64, time: DateTime<Utc>) -> Position {
    Position { unit_id: unit_id.into(), lat, lon: 20.46, time, speed_mps: Some(8.5), bearing_deg: Some(271.25) }
}

pub fn an_empty_repository_has_no_units_incidents_or_procedures(b: &dyn Backend) {
    let h = b.connect();
    assert!(h.dispatch.units().unwrap().is_empty());
    assert_eq!(h.dispatch.unit("u1").unwrap(), None);
    assert_eq!(h.dispatch.unit_device("gps-1").unwrap(), None);
    assert_eq!(h.dispatch.incident(1).unwrap(), None);
    assert!(h.dispatch.incidents(None, None, 10).unwrap().is_empty());
    assert_eq!(h.dispatch.current_incident_of("u1").unwrap(), None);
    assert!(h.dispatch.procedures().unwrap().is_empty());
    assert_eq!(h.dispatch.procedure("fire").unwrap(), None);
    assert!(h.dispatch.unit_trail("u1", now() - Duration::hours(1), now(), 10).unwrap().is_empty());
}

pub fn a_unit_reads_back_as_created_with_its_entry_and_a_taken_id_is_a_conflict(b: &dyn Backend) {
    let h = b.connect();
    let s = spec("u2", &["ofc-1", "ofc-2"], Some("Stari grad"));
    let seen = std::cell::RefCell::new(None);
    let (unit, row) = h
        .dispatch
        .create_unit(
            &s,
            Box::new(|u: &Unit, head: Option<&ChainHead>| {
                *seen.borrow_mut() = Some(u.clone());
                PendingEntry::new(Record::new("ana", "unit.create", &u.id)).row_on(head)
            }),
        )
        .unwrap();
    assert_eq!((row.seq, row.action.as_str(), row.target.as_str()), (1, "unit.create", "u2"));
    assert_eq!(seen.borrow().as_ref(), Some(&unit), "the entry is made from the unit as stored");
    assert_eq!((unit.status, unit.position.as_ref()), (UnitStatus::Available, None));
    assert_eq!(
        (&unit.call_sign, &unit.officers, &unit.capabilities, unit.district.as_deref()),
        (&s.call_sign, &s.officers, &s.capabilities, Some("Stari grad"))
    );
    assert_eq!(h.dispatch.unit("u2").unwrap().as_ref(), Some(&unit));
    h.dispatch.create_unit(&spec("u1", &[], None), entry_after("unit.create", "u1")).unwrap();
    assert_eq!(h.dispatch.units().unwrap().iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["u1", "u2"], "by id");
    match h.dispatch.create_unit(&spec("u2", &[], None), entry_after("unit.create", "u2")) {
        Err(RepoError::Conflict(what)) => assert!(what.contains("u2"), "{what}"),
        other => panic!("a taken id is a conflict: {other:?}"),
    }
    assert_eq!(h.dispatch.unit("u2").unwrap(), Some(unit), "the first unit is untouched");
    assert_eq!(actions(&h), pairs(&[("unit.create", "u2"), ("unit.create", "u1")]), "no entry for the refused create");
    // A second connection sees the same.
    assert_eq!(b.connect().dispatch.units().unwrap().len(), 2);
}

pub fn an_update_changes_the_record_not_the_status_or_position(b: &dyn Backend) {
    let h = b.connect();
    create_unit(&h, "u1");
    let t = now();
    assert_eq!(h.dispatch.add_position("gps-1", &fix("u1", 44.8, t), t, Box::new(|_: Option<&Position>| None)).unwrap(), PositionOutcome::Current);
    let incident = create_incident(&h, "fire", None);
    assign(&h, incident, "u1").unwrap();
    let changed = UnitSpec { kind: UnitKind::Motorbike, district: None, officers: vec![], capabilities: vec![], ..spec("u1", &[], None) };
    let (unit, row) = h.dispatch.update_unit(&changed, entry_after("unit.update", "u1")).unwrap();
    assert_eq!((unit.kind, unit.district.as_deref(), unit.officers.len()), (UnitKind::Motorbike, None, 0));
    assert_eq!(unit.status, UnitStatus::Dispatched, "status is the workflow's");
    assert_eq!(unit.position.map(|p| (p.lat, p.time)), Some((44.8, t)), "and so is the position");
    assert_eq!(row.action, "unit.update");
    assert_eq!(h.dispatch.current_incident_of("u1").unwrap(), Some(incident));
}

pub fn changing_or_deleting_a_missing_unit_is_not_found_and_writes_nothing(b: &dyn Backend) {
    let h = b.connect();
    assert!(matches!(h.dispatch.update_unit(&spec("ghost", &[], None), entry_after("unit.update", "ghost")), Err(RepoError::NotFound(_))));
    assert!(matches!(h.dispatch.delete_unit("ghost", entry("unit.delete", "ghost")), Err(RepoError::NotFound(_))));
    let report = h.dispatch.report_unit_status(
        "ghost",
        UnitStatus::Available,
        UnitStatus::OutOfService,
        &timeline("status", json!({}), now()),
        entry("unit.status", "ghost"),
    );
    assert!(matches!(report, Err(RepoError::NotFound(_))), "{report:?}");
    assert!(matches!(h.dispatch.register_device("gps-1", "ghost", "hash", now(), entry("unit.device", "ghost")), Err(RepoError::NotFound(_))));
    assert!(h.dispatch.units().unwrap().is_empty(), "an update never creates");
    assert_eq!(h.dispatch.unit_device("gps-1").unwrap(), None);
    assert!(actions(&h).is_empty(), "no entries for refused writes");
}

pub fn devices_are_registered_rekeyed_and_never_taken_over(b: &dyn Backend) {
    let h = b.connect();
    create_unit(&h, "u1");
    create_unit(&h, "u2");
    h.dispatch.register_device("gps-1", "u1", "hash-1", now(), entry("unit.device", "u1")).unwrap();
    assert_eq!(h.dispatch.unit_device("gps-1").unwrap(), Some(("u1".into(), "hash-1".into())));
    h.dispatch.register_device("gps-1", "u1", "hash-2", now(), entry("unit.device", "u1")).unwrap();
    assert_eq!(h.dispatch.unit_device("gps-1").unwrap(), Some(("u1".into(), "hash-2".into())), "a new token replaces the old");
    match h.dispatch.register_device("gps-1", "u2", "hash-3", now(), entry("unit.device", "u2")) {
        Err(RepoError::Conflict(what)) => assert!(what.contains("gps-1") && what.contains("u1"), "{what}"),
        other => panic!("another unit's device is a conflict: {other:?}"),
    }
    assert_eq!(h.dispatch.unit_device("gps-1").unwrap(), Some(("u1".into(), "hash-2".into())));
    let devices = actions(&h).into_iter().filter(|(a, _)| a == "unit.device").count();
    assert_eq!(devices, 2, "no entry for the refused registration");
}

pub fn fixes_keep_the_newest_trail_everything_once_and_are_not_audited(b: &dyn Backend) {
    let h = b.connect();
    create_unit(&h, "u1");
    let entries = actions(&h).len();
    let t0 = now() - Duration::minutes(10);
    let at = |s: i64| t0 + Duration::seconds(s) + Duration::microseconds(123_456);
    let none = || -> crate::CheckFix<'static> { Box::new(|_: Option<&Position>| None) };
    assert_eq!(h.dispatch.add_position("gps-1", &fix("u1", 44.0, at(10)), t0, none()).unwrap(), PositionOutcome::Current);
    assert_eq!(h.dispatch.add_position("gps-1", &fix("u1", 44.5, at(10)), t0, none()).unwrap(), PositionOutcome::Duplicate);
    assert_eq!(h.dispatch.add_position("gps-1", &fix("u1", 44.1, at(5)), t0, none()).unwrap(), PositionOutcome::OutOfOrder);
    // Another device of the unit at the same time is not a duplicate.
    assert_eq!(h.dispatch.add_position("terminal:ofc", &fix("u1", 44.2, at(5)), t0, none()).unwrap(), PositionOutcome::OutOfOrder);
    let unit = h.dispatch.unit("u1").unwrap().unwrap();
    assert_eq!(unit.position, Some(fix("u1", 44.0, at(10))), "the newest fix, to the microsecond");
    // The check sees the current position; what it refuses is trailed, flagged, never the position.
    let seen = std::cell::Cell::new(None);
    let jump = h.dispatch.add_position(
        "gps-1",
        &fix("u1", 10.0, at(20)),
        t0,
        Box::new(|current: Option<&Position>| {
            seen.set(current.map(|c| c.lat));
            Some(ImplausibleFix::TooFast)
        }),
    );
    assert_eq!(jump.unwrap(), PositionOutcome::Implausible(ImplausibleFix::TooFast));
    assert_eq!(seen.get(), Some(44.0));
    assert_eq!(h.dispatch.unit("u1").unwrap().unwrap().position.map(|p| p.lat), Some(44.0));
    assert_eq!(h.dispatch.add_position("gps-1", &fix("u1", 44.3, at(30)), t0, none()).unwrap(), PositionOutcome::Current);
    let trail = h.dispatch.unit_trail("u1", t0, t0 + Duration::minutes(1), 100).unwrap();
    let got: Vec<(f64, Option<ImplausibleFix>)> = trail.iter().map(|p| (p.position.lat, p.implausible)).collect();
    assert_eq!(&got[2..], [(44.0, None), (10.0, Some(ImplausibleFix::TooFast)), (44.3, None)], "oldest first");
    assert_eq!(trail[0].position.time, at(5));
    assert_eq!(trail.len(), 5);
    // [start, end): a fix at `end` is left out, one at `start` kept; the limit applies.
    assert_eq!(h.dispatch.unit_trail("u1", at(10), at(30), 100).unwrap().iter().map(|p| p.position.lat).collect::<Vec<_>>(), [44.0, 10.0]);
    assert_eq!(h.dispatch.unit_trail("u1", t0, at(60), 2).unwrap().len(), 2);
    assert!(h.dispatch.unit_trail("u2", t0, at(60), 10).unwrap().is_empty());
    assert_eq!(actions(&h).len(), entries, "a terminal's fixes are observations, not a person's changes");
}

pub fn an_incident_reads_back_with_its_checklist_and_created_entry(b: &dyn Backend) {
    let h = b.connect();
    let procedure = Procedure { incident_type: "burglary".into(), steps: vec!["osigurati mesto — ћ".into(), "call forensics".into()] };
    let t = now();
    let detail = json!({"source": "call", "procedure_steps": 2, "lat": 44.8176123456789});
    let (id, row) = h
        .dispatch
        .create_incident(
            &new_incident("burglary"),
            Some(&procedure),
            &detail,
            t,
            Box::new(|id: &i64, head: Option<&ChainHead>| PendingEntry::new(Record::new("ana", "incident.create", format!("incident {id}"))).row_on(head)),
        )
        .unwrap();
    assert_eq!(row.target, format!("incident {id}"), "the entry names the incident's id");
    let incident = h.dispatch.incident(id).unwrap().expect("the incident");
    let n = new_incident("burglary");
    assert_eq!((incident.id, &incident.kind, incident.priority, &incident.location), (id, &n.kind, 2, &n.location));
    assert_eq!((incident.state, incident.alert_id, incident.created_by.as_str(), incident.created_at), (IncidentState::Open, Some(42), "disp", t));
    assert_eq!((incident.closed_at, incident.flagged, incident.units.len()), (None, false, 0));
    let steps: Vec<(u32, &str, StepState)> = incident.checklist.iter().map(|s| (s.step, s.text.as_str(), s.state)).collect();
    assert_eq!(steps, [(1, "osigurati mesto — ћ", StepState::Pending), (2, "call forensics", StepState::Pending)]);
    assert_eq!(incident.timeline, [TimelineEntry { time: t, actor: "disp".into(), kind: "created".into(), detail }]);
    // Listing: newest first, by state and flag, at most the limit.
    let second = create_incident(&h, "fire", None);
    assert!(h.dispatch.incident(second).unwrap().unwrap().checklist.is_empty(), "no procedure, no checklist");
    assert_eq!(h.dispatch.incidents(None, None, 10).unwrap().iter().map(|i| i.id).collect::<Vec<_>>(), [second, id]);
    assert_eq!(h.dispatch.incidents(None, None, 1).unwrap().len(), 1);
    assert_eq!(h.dispatch.incidents(Some(IncidentState::Open), Some(false), 10).unwrap().len(), 2);
    assert!(h.dispatch.incidents(Some(IncidentState::Closed), None, 10).unwrap().is_empty());
    assert!(h.dispatch.incidents(None, Some(true), 10).unwrap().is_empty());
}

pub fn assignment_status_checklist_and_close_follow_the_incident(b: &dyn Backend) {
    let h = b.connect();
    let procedure = Procedure { incident_type: "burglary".into(), steps: vec!["secure the scene".into(), "call forensics".into()] };
    let id = create_incident(&h, "burglary", Some(&procedure));
    create_unit(&h, "u1");
    create_unit(&h, "u2");
    let t = now();
    assign(&h, id, "u1").unwrap();
    assert_eq!(h.dispatch.unit("u1").unwrap().unwrap().status, UnitStatus::Dispatched);
    assert_eq!(h.dispatch.current_incident_of("u1").unwrap(), Some(id));
    let en_route = timeline("status", json!({"unit": "u1", "to": "en_route"}), t);
    let (on, row) = h.dispatch.report_unit_status("u1", UnitStatus::Dispatched, UnitStatus::EnRoute, &en_route, entry("unit.status", "u1")).unwrap();
    assert_eq!((on, row.action.as_str()), (Some(id), "unit.status"), "the report names the incident the unit is on");
    let step = timeline("checklist", json!({"step": 1}), t);
    h.dispatch.change_incident(id, IncidentChange::Checklist { step: 1, state: StepState::Done }, &step, entry("incident.checklist", "1")).unwrap();
    h.dispatch.change_incident(id, IncidentChange::Note, &timeline("note", json!({"text": "два човека"}), t), entry("incident.note", "1")).unwrap();
    assign(&h, id, "u2").unwrap();
    // u2 goes back to available before the close: released from the incident.
    let back = timeline("status", json!({"unit": "u2", "to": "available"}), t);
    h.dispatch.report_unit_status("u2", UnitStatus::Dispatched, UnitStatus::Available, &back, entry("unit.status", "u2")).unwrap();
    assert_eq!(h.dispatch.current_incident_of("u2").unwrap(), None);
    let incident = h.dispatch.incident(id).unwrap().unwrap();
    let released: Vec<(&str, bool)> = incident.units.iter().map(|a| (a.unit_id.as_str(), a.released_at.is_some())).collect();
    assert_eq!(released, [("u1", false), ("u2", true)], "in assignment order");
    assert_eq!((incident.checklist[0].state, incident.checklist[0].by.as_deref(), incident.checklist[0].at), (StepState::Done, Some("disp"), Some(t)));
    h.dispatch.change_incident(id, IncidentChange::Close { flagged: true }, &timeline("closed", json!({}), t), entry("incident.close", "1")).unwrap();
    let closed = h.dispatch.incident(id).unwrap().unwrap();
    assert_eq!((closed.state, closed.flagged, closed.closed_at), (IncidentState::Closed, true, Some(t)));
    assert_eq!(closed.checklist.iter().map(|s| s.state).collect::<Vec<_>>(), [StepState::Done, StepState::Skipped], "pending steps are skipped");
    assert!(closed.units.iter().all(|a| a.released_at.is_some()), "closing releases every unit");
    let kinds: Vec<&str> = closed.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "assigned", "status", "checklist", "note", "assigned", "status", "closed"]);
    assert_eq!(closed.timeline[4].detail, json!({"text": "два човека"}));
    assert_eq!(h.dispatch.unit("u1").unwrap().unwrap().status, UnitStatus::Available);
    assert_eq!(h.dispatch.current_incident_of("u1").unwrap(), None);
    assert_eq!(h.dispatch.incidents(Some(IncidentState::Closed), Some(true), 10).unwrap().len(), 1);
    // A report off any incident leaves no timeline anywhere.
    let off = timeline("status", json!({}), t);
    assert_eq!(h.dispatch.report_unit_status("u1", UnitStatus::Available, UnitStatus::OutOfService, &off, entry("unit.status", "u1")).unwrap().0, None);
    assert_eq!(h.dispatch.incident(id).unwrap().unwrap().timeline.len(), 8);
    assert_eq!(actions(&h).len(), 11, "every change with its entry");
}

pub fn changes_the_state_no_longer_allows_are_refused_and_write_nothing(b: &dyn Backend) {
    let h = b.connect();
    let procedure = Procedure { incident_type: "fire".into(), steps: vec!["call the fire brigade".into()] };
    let id = create_incident(&h, "fire", Some(&procedure));
    create_unit(&h, "u1");
    let before = actions(&h).len();
    let note = |i| h.dispatch.change_incident(i, IncidentChange::Note, &timeline("note", json!({}), now()), entry("incident.note", "x"));
    assert!(matches!(note(id + 1000), Err(RepoError::NotFound(_))), "no such incident");
    assert!(matches!(assign(&h, id, "ghost"), Err(RepoError::NotFound(_))), "no such unit");
    let step = h.dispatch.change_incident(
        id,
        IncidentChange::Checklist { step: 9, state: StepState::Done },
        &timeline("checklist", json!({}), now()),
        entry("x", "x"),
    );
    assert!(matches!(step, Err(RepoError::NotFound(_))), "no such step: {step:?}");
    assign(&h, id, "u1").unwrap();
    // A unit already dispatched is not available: the second assignment is refused.
    let other = create_incident(&h, "fire", None);
    match assign(&h, other, "u1") {
        Err(RepoError::Stale(why)) => assert!(why.contains("u1") && why.contains("dispatched"), "{why}"),
        refused => panic!("a busy unit is not assigned again: {refused:?}"),
    }
    // A report judged on a status the unit no longer has is stale.
    let report = h.dispatch.report_unit_status("u1", UnitStatus::Available, UnitStatus::OutOfService, &timeline("status", json!({}), now()), entry("x", "x"));
    assert!(matches!(report, Err(RepoError::Stale(_))), "{report:?}");
    let middle = actions(&h).len();
    h.dispatch.change_incident(id, IncidentChange::Close { flagged: false }, &timeline("closed", json!({}), now()), entry("incident.close", "x")).unwrap();
    match note(id) {
        Err(RepoError::Stale(why)) => assert!(why.contains("closed"), "{why}"),
        refused => panic!("a closed incident takes no more changes: {refused:?}"),
    }
    let again = h.dispatch.change_incident(id, IncidentChange::Close { flagged: true }, &timeline("closed", json!({}), now()), entry("x", "x"));
    assert!(matches!(again, Err(RepoError::Stale(_))), "{again:?}");
    let incident = h.dispatch.incident(id).unwrap().unwrap();
    assert_eq!(incident.timeline.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["created", "assigned", "closed"]);
    assert!(!incident.flagged, "the refused second close changed nothing");
    assert!(h.dispatch.incident(other).unwrap().unwrap().units.is_empty());
    assert_eq!((middle, actions(&h).len()), (before + 2, before + 3), "entries only for the assignment, the second incident and the close");
}

pub fn a_unit_on_an_open_incident_is_not_deleted_and_a_deleted_one_takes_its_trail(b: &dyn Backend) {
    let h = b.connect();
    create_unit(&h, "u1");
    let t = now();
    h.dispatch.register_device("gps-1", "u1", "hash", t, entry("unit.device", "u1")).unwrap();
    h.dispatch.add_position("gps-1", &fix("u1", 44.8, t), t, Box::new(|_: Option<&Position>| None)).unwrap();
    let id = create_incident(&h, "fire", None);
    assign(&h, id, "u1").unwrap();
    match h.dispatch.delete_unit("u1", entry("unit.delete", "u1")) {
        Err(RepoError::Stale(why)) => assert!(why.contains(&format!("incident {id}")), "{why}"),
        refused => panic!("a unit on an incident is not deleted: {refused:?}"),
    }
    assert!(h.dispatch.unit("u1").unwrap().is_some());
    h.dispatch.change_incident(id, IncidentChange::Close { flagged: false }, &timeline("closed", json!({}), t), entry("incident.close", "x")).unwrap();
    h.dispatch.delete_unit("u1", entry("unit.delete", "u1")).unwrap();
    assert_eq!(h.dispatch.unit("u1").unwrap(), None);
    assert_eq!(h.dispatch.unit_device("gps-1").unwrap(), None, "its devices go with it");
    assert!(h.dispatch.unit_trail("u1", t - Duration::hours(1), t + Duration::hours(1), 10).unwrap().is_empty(), "and its trail");
    assert_eq!(h.dispatch.incident(id).unwrap().unwrap().units.len(), 1, "the incident keeps its record of the unit");
    assert_eq!(actions(&h).iter().filter(|(a, _)| a == "unit.delete").count(), 1);
}

pub fn procedures_are_put_replaced_and_listed_by_type(b: &dyn Backend) {
    let h = b.connect();
    for (kind, steps) in [("traffic", vec!["close the road"]), ("burglary", vec!["secure the scene", "call forensics"])] {
        let p = Procedure { incident_type: kind.into(), steps: steps.into_iter().map(str::to_owned).collect() };
        h.dispatch.put_procedure(&p, entry("procedure.put", kind)).unwrap();
    }
    let old = h.dispatch.procedure("burglary").unwrap().unwrap();
    let id = create_incident(&h, "burglary", Some(&old));
    let replaced = Procedure { incident_type: "burglary".into(), steps: vec!["only this — ћ".into()] };
    h.dispatch.put_procedure(&replaced, entry("procedure.put", "burglary")).unwrap();
    assert_eq!(h.dispatch.procedure("burglary").unwrap(), Some(replaced));
    assert_eq!(h.dispatch.procedures().unwrap().iter().map(|p| p.incident_type.as_str()).collect::<Vec<_>>(), ["burglary", "traffic"]);
    assert_eq!(h.dispatch.incident(id).unwrap().unwrap().checklist.len(), 2, "an incident keeps its own copy");
    assert_eq!(actions(&h).iter().filter(|(a, _)| a == "procedure.put").count(), 3);
}

pub fn a_change_whose_audit_row_is_refused_is_not_made(b: &dyn Backend) {
    let h = b.connect();
    create_unit(&h, "u1");
    let id = create_incident(&h, "fire", None);
    let t = now();
    let refused = h.dispatch.create_unit(&spec("u2", &[], None), stale_after());
    assert!(matches!(refused, Err(RepoError::Stale(_) | RepoError::Conflict(_))), "{refused:?}");
    assert_eq!(h.dispatch.unit("u2").unwrap(), None, "not created without its entry");
    assert!(h.dispatch.update_unit(&spec("u1", &[], None), stale_after()).is_err());
    assert_eq!(h.dispatch.unit("u1").unwrap().unwrap().officers, ["ofc"], "not changed without its entry");
    assert!(h.dispatch.delete_unit("u1", Box::new(stale_entry)).is_err());
    assert!(h.dispatch.register_device("gps-1", "u1", "hash", t, Box::new(stale_entry)).is_err());
    assert_eq!(h.dispatch.unit_device("gps-1").unwrap(), None);
    assert!(h.dispatch.create_incident(&new_incident("fire"), None, &json!({}), t, stale_after()).is_err());
    assert_eq!(h.dispatch.incidents(None, None, 10).unwrap().len(), 1, "no incident without its entry");
    assert!(h.dispatch.change_incident(id, IncidentChange::Assign { unit_id: "u1" }, &timeline("assigned", json!({}), t), Box::new(stale_entry)).is_err());
    assert_eq!(h.dispatch.unit("u1").unwrap().unwrap().status, UnitStatus::Available, "not dispatched without its entry");
    assert_eq!(h.dispatch.incident(id).unwrap().unwrap().timeline.len(), 1, "nor on the timeline");
    let report = h.dispatch.report_unit_status("u1", UnitStatus::Available, UnitStatus::OutOfService, &timeline("status", json!({}), t), Box::new(stale_entry));
    assert!(report.is_err());
    assert_eq!(h.dispatch.unit("u1").unwrap().unwrap().status, UnitStatus::Available);
    assert!(h.dispatch.put_procedure(&Procedure { incident_type: "fire".into(), steps: vec!["x".into()] }, Box::new(stale_entry)).is_err());
    assert!(h.dispatch.procedures().unwrap().is_empty());
    assert_eq!(actions(&h), pairs(&[("unit.create", "u1"), ("incident.create", "fire")]));
}

/// Two dispatchers (two connections) at once: each tries to send every
/// unit to their own incident and notes each try on an incident they
/// share. Each unit goes to exactly one incident, the other is told it is
/// busy; every note reaches the shared timeline; the audit log is one
/// unbroken chain with one entry per change made.
pub fn two_dispatchers_at_once_win_each_unit_once_and_make_one_chain(b: &dyn Backend) {
    const UNITS: usize = 20;
    let setup = b.connect();
    let units: Vec<String> = (0..UNITS).map(|i| format!("u{i:02}")).collect();
    for u in &units {
        create_unit(&setup, u);
    }
    let shared = create_incident(&setup, "shared", None);
    let writers: Vec<_> = ["ana", "bob"]
        .into_iter()
        .map(|who| {
            let h = b.connect();
            let units = units.clone();
            std::thread::spawn(move || {
                let own = create_incident(&h, who, None);
                let mut won = Vec::new();
                for u in &units {
                    let assigned = h.dispatch.change_incident(
                        own,
                        IncidentChange::Assign { unit_id: u },
                        &timeline("assigned", json!({"unit": u}), now()),
                        Box::new(PendingEntry::new(Record::new(who, "incident.assign", u)).into_maker()),
                    );
                    match assigned {
                        Ok(_) => won.push(u.clone()),
                        Err(RepoError::Stale(_)) => {}
                        Err(e) => panic!("{who} assigning {u}: {e}"),
                    }
                    let note = timeline("note", json!({"by": who, "unit": u}), now());
                    h.dispatch
                        .change_incident(shared, IncidentChange::Note, &note, Box::new(PendingEntry::new(Record::new(who, "incident.note", u)).into_maker()))
                        .unwrap_or_else(|e| panic!("{who} noting {u}: {e}"));
                }
                (own, won)
            })
        })
        .collect();
    let results: Vec<(i64, Vec<String>)> = writers.into_iter().map(|w| w.join().expect("a dispatcher panicked")).collect();
    let h = b.connect();
    let mut won: Vec<&String> = results.iter().flat_map(|(_, w)| w).collect();
    won.sort();
    assert_eq!(won, units.iter().collect::<Vec<_>>(), "every unit won exactly once");
    for (own, mine) in &results {
        let incident = h.dispatch.incident(*own).unwrap().unwrap();
        assert_eq!(incident.units.iter().map(|a| &a.unit_id).collect::<Vec<_>>(), mine.iter().collect::<Vec<_>>(), "incident {own} holds what it won");
        for u in mine {
            assert_eq!(h.dispatch.current_incident_of(u).unwrap(), Some(*own));
        }
    }
    assert_eq!(h.dispatch.incident(shared).unwrap().unwrap().timeline.len(), 1 + 2 * UNITS, "no note lost");
    let rows = h.audit.rows(0, usize::MAX).unwrap();
    assert_eq!(rows.len(), UNITS + 1 + 2 + UNITS + 2 * UNITS, "units, incidents, assignments won, notes");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.seq, i as i64 + 1);
        if i > 0 {
            assert_eq!(row.prev_hash, rows[i - 1].hash, "seq {} chains to the row before it", row.seq);
        }
    }
}
