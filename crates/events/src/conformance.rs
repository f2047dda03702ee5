//! The conformance suite of [`EventRepo`]: what every backend must do, run
//! against each of them (SQLite in `conformance_sqlite.rs`, PostgreSQL in
//! `citywatch-store-postgres`). Built only with the `conformance` feature,
//! which only tests enable.
//!
//! Each case takes a [`Backend`] holding a fresh, empty database and opens
//! as many handles to it as it needs (two handles are two connections, as
//! two nodes would have). [`event_repo_conformance!`](crate::event_repo_conformance)
//! makes one test per case.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use citywatch_audit::{AuditRepo, MakeRowAfter, PendingEntry, Record};
use citywatch_model::event::{AlertChange, EventFilter};
use citywatch_model::{Alert, AlertState, AuditRow, ChainHead, Event, EventType, Location, RepoError, Rule, RuleSpec, Severity, Source, SourceKind, Timestamp};
use serde_json::json;

use crate::repo::EventRepo;

/// One connection to the backend's database: its events repository and
/// its audit log, which a person's change commits with.
pub struct Handles {
    pub events: Arc<dyn EventRepo>,
    pub audit: Arc<dyn AuditRepo>,
}

/// A fresh, empty database of one backend.
pub trait Backend {
    fn connect(&self) -> Handles;
}

/// One test per case of the suite, for the backend `$fresh` makes (an
/// expression evaluated anew for each test, giving a [`Backend`]).
#[macro_export]
macro_rules! event_repo_conformance {
    ($fresh:expr) => {
        $crate::event_repo_conformance!(@cases $fresh;
            an_empty_database_has_no_events_rules_or_alerts,
            events_read_back_as_inserted_with_increasing_ids,
            events_are_filtered_by_type_source_time_and_district_and_paged,
            counts_since_a_time_are_by_district,
            rules_are_added_replaced_and_deleted_each_with_its_entry,
            a_missing_rule_is_not_found_and_nothing_is_written,
            a_rule_whose_audit_row_is_refused_is_not_made,
            alert_changes_open_and_join_alerts_in_one_batch,
            open_alerts_of_a_rule_are_the_recent_unclosed_ones,
            alerts_are_listed_by_state_and_district_newest_first,
            a_transition_records_who_and_when_with_its_entry,
            a_transition_from_a_state_the_alert_left_is_stale_and_writes_nothing,
            two_operators_acknowledging_at_once_one_wins_one_entry,
            two_writers_inserting_at_once_store_every_event_once,
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

/// 2026-11-23 12:00 UTC plus `s` seconds and `us` microseconds: times the
/// backends keep exactly (microseconds).
fn at(s: i64, us: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap() + Duration::seconds(s) + Duration::microseconds(us)
}

fn event(t: EventType, camera: &str, time: Timestamp, district: Option<&str>) -> Event {
    Event {
        id: 0,
        event_type: t,
        time,
        source: Source::camera(camera),
        district: district.map(str::to_owned),
        location: Some(Location { lat: 44.815_123_4, lon: 20.460_987_6 }),
        details: json!({"zone": "gate", "nested": {"n": 1.5, "list": [1, "two", null]}, "ünï": "çödé"}),
        received_at: time + Duration::milliseconds(3),
    }
}

fn spec(name: &str) -> RuleSpec {
    serde_json::from_value(json!({"name": name, "event_types": ["motion"], "districts": ["North"], "severity": "severe"})).expect("a valid rule")
}

fn entry<T>(action: &str, target: &str) -> MakeRowAfter<'static, T> {
    let pending = PendingEntry::new(Record::new("ana", action, target));
    Box::new(move |_: &T, head: Option<&ChainHead>| pending.row_on(head))
}

fn actions(h: &Handles) -> Vec<(String, String)> {
    h.audit.entries(0, usize::MAX).expect("read the log").into_iter().map(|e| (e.action, e.target)).collect()
}

fn all_events(h: &Handles) -> Vec<Event> {
    h.events.events(&EventFilter { limit: 10_000, ..Default::default() }).expect("list events")
}

/// Inserts the events and returns them with their ids.
fn insert(h: &Handles, mut events: Vec<Event>) -> Vec<Event> {
    h.events.insert_events(&mut events).expect("insert events");
    events
}

/// A new alert of rule 1 on `e`, as the rules engine opens one.
fn opening(e: &Event, rule_id: i64) -> Alert {
    Alert {
        id: 0,
        rule_id,
        rule_name: format!("rule {rule_id}"),
        state: AlertState::New,
        severity: Severity::Severe,
        event_type: e.event_type,
        source: e.source.clone(),
        district: e.district.clone(),
        location: e.location,
        first_event_at: e.time,
        last_event_at: e.time,
        event_count: 1,
        created_at: e.received_at,
        acknowledged_by: None,
        acknowledged_at: None,
        closed_by: None,
        closed_at: None,
    }
}

/// Opens one alert of `rule_id` on `e` and returns it as stored.
fn open(h: &Handles, e: &Event, rule_id: i64) -> Alert {
    let applied = h.events.apply_alert_changes(&[AlertChange::Open { alert: Box::new(opening(e, rule_id)), event_ids: vec![e.id] }]).expect("open an alert");
    applied.into_iter().next().expect("the opened alert").0
}

pub fn an_empty_database_has_no_events_rules_or_alerts(b: &dyn Backend) {
    let h = b.connect();
    assert!(all_events(&h).is_empty());
    assert_eq!(h.events.event(1).unwrap(), None);
    assert!(h.events.rules().unwrap().is_empty());
    assert_eq!(h.events.alert(1).unwrap(), None);
    assert!(h.events.alerts(None, None, None, 100).unwrap().is_empty());
    assert!(h.events.alert_event_ids(1).unwrap().is_empty());
    assert_eq!(h.events.count_events_since(None, at(-3600, 0)).unwrap(), 0);
    assert_eq!(h.events.count_alerts_since(None, at(-3600, 0)).unwrap(), 0);
}

pub fn events_read_back_as_inserted_with_increasing_ids(b: &dyn Backend) {
    let h = b.connect();
    let mut lone = event(EventType::CameraOffline, "c2", at(1, 1), None);
    lone.location = None;
    lone.details = json!({});
    let stored = insert(&h, vec![event(EventType::Motion, "c1", at(0, 123_456), Some("North")), lone]);
    assert!(stored[0].id > 0 && stored[1].id > stored[0].id, "ids increase in the order given: {} then {}", stored[0].id, stored[1].id);
    for e in &stored {
        assert_eq!(h.events.event(e.id).unwrap().as_ref(), Some(e), "every field, the details and the microseconds read back as written");
    }
    let listed = all_events(&h);
    assert_eq!(listed, stored.iter().rev().cloned().collect::<Vec<_>>(), "newest first");
    let more = insert(&h, vec![event(EventType::Zone, "c1", at(2, 0), None)]);
    assert!(more[0].id > stored[1].id, "a later batch gets later ids");
    insert(&h, Vec::new());
    assert_eq!(all_events(&h).len(), 3, "an empty batch stores nothing");
}

pub fn events_are_filtered_by_type_source_time_and_district_and_paged(b: &dyn Backend) {
    let h = b.connect();
    let mut batch = Vec::new();
    for i in 0..30 {
        let t = if i % 3 == 0 { EventType::Motion } else { EventType::Zone };
        let district = if i % 2 == 0 { Some("North") } else { Some("South") };
        batch.push(event(t, &format!("c{}", i % 5), at(i, 0), district));
    }
    let mut operator = event(EventType::UnitPosition, "unit-7", at(100, 0), None);
    operator.source = Source { kind: SourceKind::Unit, id: "unit-7".into() };
    batch.push(operator);
    insert(&h, batch);
    let list = |f: EventFilter| h.events.events(&EventFilter { limit: 1000, ..f }).unwrap();

    let motion = list(EventFilter { types: vec![EventType::Motion], ..Default::default() });
    assert_eq!(motion.len(), 10);
    assert!(motion.iter().all(|e| e.event_type == EventType::Motion));
    let two_types = list(EventFilter { types: vec![EventType::Motion, EventType::UnitPosition], ..Default::default() });
    assert_eq!(two_types.len(), 11);
    let units = list(EventFilter { source_kind: Some(SourceKind::Unit), ..Default::default() });
    assert_eq!(units.iter().map(|e| e.source.id.as_str()).collect::<Vec<_>>(), ["unit-7"]);
    let c1 = list(EventFilter { source_id: Some("c1".into()), ..Default::default() });
    assert_eq!(c1.len(), 6);
    let window = list(EventFilter { from: Some(at(10, 0)), to: Some(at(20, 0)), ..Default::default() });
    assert_eq!(window.len(), 10, "from is inclusive, to exclusive");
    assert!(window.iter().all(|e| e.time >= at(10, 0) && e.time < at(20, 0)));
    let north = list(EventFilter { districts: Some(vec!["North".into()]), ..Default::default() });
    assert_eq!(north.len(), 15, "the event without a district is in none");
    let nowhere = list(EventFilter { districts: Some(Vec::new()), ..Default::default() });
    assert!(nowhere.is_empty(), "no districts: no events");

    let page1 = h.events.events(&EventFilter { limit: 12, ..Default::default() }).unwrap();
    let page2 = h.events.events(&EventFilter { limit: 100, before_id: Some(page1.last().unwrap().id), ..Default::default() }).unwrap();
    assert_eq!(page1.len(), 12);
    assert_eq!(page2.len(), 19);
    let ids: Vec<i64> = page1.iter().chain(&page2).map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "pages are newest first and do not overlap");
}

pub fn counts_since_a_time_are_by_district(b: &dyn Backend) {
    let h = b.connect();
    let stored = insert(
        &h,
        vec![
            event(EventType::Motion, "c1", at(0, 0), Some("North")),
            event(EventType::Motion, "c1", at(60, 0), Some("North")),
            event(EventType::Motion, "c2", at(60, 0), Some("South")),
            event(EventType::Motion, "c3", at(120, 0), None),
        ],
    );
    assert_eq!(h.events.count_events_since(None, at(60, 0)).unwrap(), 3, "since is inclusive");
    assert_eq!(h.events.count_events_since(Some(&["North".to_owned()]), at(0, 0)).unwrap(), 2);
    assert_eq!(h.events.count_events_since(Some(&[]), at(0, 0)).unwrap(), 0);
    open(&h, &stored[0], 1);
    open(&h, &stored[2], 1);
    // Alerts count by when they were opened (created_at: received_at here).
    assert_eq!(h.events.count_alerts_since(None, at(0, 0)).unwrap(), 2);
    assert_eq!(h.events.count_alerts_since(Some(&["South".to_owned()]), at(0, 0)).unwrap(), 1);
    assert_eq!(h.events.count_alerts_since(None, at(61, 0)).unwrap(), 0);
}

pub fn rules_are_added_replaced_and_deleted_each_with_its_entry(b: &dyn Backend) {
    let h = b.connect();
    let made = |rule: &Rule, head: Option<&ChainHead>| PendingEntry::new(Record::new("sup", "rule.create", format!("rule:{}", rule.id))).row_on(head);
    let (first, row) = h.events.add_rule(&spec("north motion"), "sup", at(0, 7), Box::new(made)).unwrap();
    assert_eq!(row.target, format!("rule:{}", first.id), "the entry is made from the rule as stored, with its id");
    assert_eq!((first.created_by.as_str(), first.updated_at, &first.spec), ("sup", at(0, 7), &spec("north motion")));
    let (second, _) = h.events.add_rule(&spec("second"), "ana", at(1, 0), entry("rule.create", "second")).unwrap();
    assert!(second.id > first.id);
    assert_eq!(h.events.rules().unwrap(), vec![first.clone(), second.clone()], "by id, as returned");

    let mut changed = spec("renamed");
    changed.enabled = false;
    let (replaced, _) = h.events.replace_rule(first.id, &changed, at(5, 0), entry("rule.replace", "first")).unwrap();
    assert_eq!((replaced.id, &replaced.spec, replaced.updated_at, replaced.created_by.as_str()), (first.id, &changed, at(5, 0), "sup"));
    let (deleted, _) = h.events.delete_rule(second.id, entry("rule.delete", "second")).unwrap();
    assert_eq!(deleted, second, "delete returns the rule as it was");
    assert_eq!(h.events.rules().unwrap(), vec![replaced]);
    let targets: Vec<String> = actions(&h).into_iter().map(|(a, t)| format!("{a} {t}")).collect();
    assert_eq!(targets, [format!("rule.create rule:{}", first.id), "rule.create second".into(), "rule.replace first".into(), "rule.delete second".into()]);
}

pub fn a_missing_rule_is_not_found_and_nothing_is_written(b: &dyn Backend) {
    let h = b.connect();
    assert!(matches!(h.events.replace_rule(42, &spec("x"), at(0, 0), entry("rule.replace", "42")), Err(RepoError::NotFound(_))));
    assert!(matches!(h.events.delete_rule(42, entry("rule.delete", "42")), Err(RepoError::NotFound(_))));
    assert!(h.events.rules().unwrap().is_empty());
    assert!(actions(&h).is_empty(), "a refused change has no entry");
}

pub fn a_rule_whose_audit_row_is_refused_is_not_made(b: &dyn Backend) {
    let h = b.connect();
    h.events.add_rule(&spec("kept"), "sup", at(0, 0), entry("rule.create", "kept")).unwrap();
    // A row that does not chain to the head (a stale maker) is refused…
    let stale = |_: &Rule, head: Option<&ChainHead>| -> AuditRow {
        let mut row = PendingEntry::new(Record::new("sup", "rule.create", "lost")).row_on(head);
        row.prev_hash = "0".repeat(64);
        row
    };
    let err = h.events.add_rule(&spec("lost"), "sup", at(1, 0), Box::new(stale)).unwrap_err();
    assert!(matches!(err, RepoError::Stale(_)), "{err:?}");
    // …and the rule with it.
    assert_eq!(h.events.rules().unwrap().iter().map(|r| r.spec.name.as_str()).collect::<Vec<_>>(), ["kept"]);
    assert_eq!(actions(&h).len(), 1);
}

pub fn alert_changes_open_and_join_alerts_in_one_batch(b: &dyn Backend) {
    let h = b.connect();
    let e = insert(
        &h,
        vec![
            event(EventType::Motion, "c1", at(0, 0), Some("North")),
            event(EventType::Motion, "c1", at(10, 0), Some("North")),
            event(EventType::Motion, "c2", at(5, 0), Some("South")),
            event(EventType::Motion, "c1", at(30, 0), Some("North")),
        ],
    );
    let mut first = opening(&e[0], 1);
    first.event_count = 2;
    first.last_event_at = e[1].time;
    let applied = h
        .events
        .apply_alert_changes(&[
            AlertChange::Open { alert: Box::new(first), event_ids: vec![e[0].id, e[1].id] },
            AlertChange::Open { alert: Box::new(opening(&e[2], 2)), event_ids: vec![e[2].id] },
        ])
        .unwrap();
    assert_eq!(applied.len(), 2);
    let (a, b2) = (&applied[0], &applied[1]);
    assert!(a.1 && b2.1, "both opened by this batch");
    assert!(a.0.id > 0 && b2.0.id > a.0.id);
    assert_eq!((a.0.event_count, a.0.first_event_at, a.0.last_event_at, a.0.state), (2, e[0].time, e[1].time, AlertState::New));
    assert_eq!(h.events.alert(a.0.id).unwrap().as_ref(), Some(&a.0), "returned as stored");
    assert_eq!(h.events.alert_event_ids(a.0.id).unwrap(), vec![e[0].id, e[1].id]);

    // A later batch: a late event joins (its time is earlier than the
    // alert's last: last_event_at stays), then a newer one; one update each.
    let joined = h
        .events
        .apply_alert_changes(&[
            AlertChange::Join { alert_id: a.0.id, event_id: e[3].id, time: e[3].time },
            AlertChange::Join { alert_id: b2.0.id, event_id: e[0].id, time: at(-5, 0) },
            AlertChange::Join { alert_id: a.0.id, event_id: e[2].id, time: e[2].time },
        ])
        .unwrap();
    assert_eq!(
        joined.iter().map(|(al, opened)| (al.id, *opened)).collect::<Vec<_>>(),
        [(a.0.id, false), (b2.0.id, false)],
        "each touched alert once, in order"
    );
    assert_eq!((joined[0].0.event_count, joined[0].0.last_event_at), (4, e[3].time), "the newest time is kept");
    assert_eq!((joined[1].0.event_count, joined[1].0.last_event_at), (2, e[2].time), "an older event does not move last_event_at back");
    assert_eq!(h.events.alert_event_ids(a.0.id).unwrap(), vec![e[0].id, e[1].id, e[2].id, e[3].id], "oldest first");
    // The same event again is listed once.
    h.events.apply_alert_changes(&[AlertChange::Join { alert_id: a.0.id, event_id: e[3].id, time: e[3].time }]).unwrap();
    assert_eq!(h.events.alert_event_ids(a.0.id).unwrap().len(), 4);
}

pub fn open_alerts_of_a_rule_are_the_recent_unclosed_ones(b: &dyn Backend) {
    let h = b.connect();
    let e = insert(
        &h,
        vec![
            event(EventType::Motion, "c1", at(0, 0), None),
            event(EventType::Motion, "c1", at(100, 0), None),
            event(EventType::Motion, "c1", at(200, 0), None),
            event(EventType::Motion, "c1", at(300, 0), None),
        ],
    );
    let old = open(&h, &e[0], 1);
    let acked = open(&h, &e[1], 1);
    let closed = open(&h, &e[2], 1);
    let other_rule = open(&h, &e[3], 2);
    h.events.transition_alert(acked.id, AlertState::New, AlertState::Acknowledged, "op", at(150, 0), entry("alert.acknowledge", "a")).unwrap();
    h.events.transition_alert(closed.id, AlertState::New, AlertState::FalseAlarm, "op", at(250, 0), entry("alert.false_alarm", "c")).unwrap();
    let open_ids = |since| h.events.open_alerts_of_rule(1, since).unwrap().iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(open_ids(at(0, 0)), [old.id, acked.id], "new and acknowledged, by id; not closed, not another rule's");
    assert_eq!(open_ids(at(100, 0)), [acked.id], "since is inclusive of the last event's time");
    assert_eq!(h.events.open_alerts_of_rule(2, at(0, 0)).unwrap(), vec![other_rule]);
}

pub fn alerts_are_listed_by_state_and_district_newest_first(b: &dyn Backend) {
    let h = b.connect();
    let mut ids = Vec::new();
    for i in 0..9 {
        let district = ["North", "South", "East"][i % 3];
        let e = insert(&h, vec![event(EventType::Motion, "c1", at(i as i64, 0), Some(district))]);
        ids.push(open(&h, &e[0], 1).id);
    }
    h.events.transition_alert(ids[0], AlertState::New, AlertState::Acknowledged, "op", at(20, 0), entry("alert.acknowledge", "0")).unwrap();
    let list =
        |state, districts: Option<&[String]>, before, limit| h.events.alerts(state, districts, before, limit).unwrap().iter().map(|a| a.id).collect::<Vec<_>>();
    let newest_first: Vec<i64> = ids.iter().rev().copied().collect();
    assert_eq!(list(None, None, None, 100), newest_first);
    assert_eq!(list(None, None, None, 4), newest_first[..4]);
    assert_eq!(list(None, None, Some(ids[4]), 100), [ids[3], ids[2], ids[1], ids[0]]);
    assert_eq!(list(Some(AlertState::Acknowledged), None, None, 100), [ids[0]]);
    assert_eq!(list(Some(AlertState::New), Some(&["North".to_owned()]), None, 100), [ids[6], ids[3]]);
    assert_eq!(list(None, Some(&["South".to_owned(), "East".to_owned()]), None, 100).len(), 6);
    assert!(list(None, Some(&[]), None, 100).is_empty());
}

pub fn a_transition_records_who_and_when_with_its_entry(b: &dyn Backend) {
    let h = b.connect();
    let e = insert(&h, vec![event(EventType::Motion, "c1", at(0, 0), None)]);
    let alert = open(&h, &e[0], 1);
    let made = |a: &Alert, head: Option<&ChainHead>| {
        PendingEntry::new(Record::new("op1", "alert.acknowledge", format!("alert:{}", a.id)).detail(json!({"to": a.state}))).row_on(head)
    };
    let (acked, row) = h.events.transition_alert(alert.id, AlertState::New, AlertState::Acknowledged, "op1", at(60, 5), Box::new(made)).unwrap();
    assert_eq!((acked.state, acked.acknowledged_by.as_deref(), acked.acknowledged_at), (AlertState::Acknowledged, Some("op1"), Some(at(60, 5))));
    assert_eq!(row.detail, r#"{"to":"acknowledged"}"#, "the entry is made from the alert as it now is");
    let (resolved, _) =
        h.events.transition_alert(alert.id, AlertState::Acknowledged, AlertState::Resolved, "op2", at(120, 0), entry("alert.resolve", "a")).unwrap();
    assert_eq!((resolved.closed_by.as_deref(), resolved.closed_at, resolved.acknowledged_by.as_deref()), (Some("op2"), Some(at(120, 0)), Some("op1")));
    assert_eq!(h.events.alert(alert.id).unwrap(), Some(resolved));
    assert_eq!(actions(&h).len(), 2);
}

pub fn a_transition_from_a_state_the_alert_left_is_stale_and_writes_nothing(b: &dyn Backend) {
    let h = b.connect();
    let e = insert(&h, vec![event(EventType::Motion, "c1", at(0, 0), None)]);
    let alert = open(&h, &e[0], 1);
    let err = h.events.transition_alert(alert.id, AlertState::Acknowledged, AlertState::Resolved, "op", at(1, 0), entry("alert.resolve", "a")).unwrap_err();
    assert!(matches!(err, RepoError::Stale(_)), "{err:?}");
    let err =
        h.events.transition_alert(alert.id + 100, AlertState::New, AlertState::Acknowledged, "op", at(1, 0), entry("alert.acknowledge", "x")).unwrap_err();
    assert!(matches!(err, RepoError::NotFound(_)), "{err:?}");
    assert_eq!(h.events.alert(alert.id).unwrap(), Some(alert), "unchanged");
    assert!(actions(&h).is_empty(), "no entry for a step not taken");
}

pub fn two_operators_acknowledging_at_once_one_wins_one_entry(b: &dyn Backend) {
    let setup = b.connect();
    let mut alerts = Vec::new();
    for i in 0..20 {
        let e = insert(&setup, vec![event(EventType::Motion, "c1", at(i, 0), None)]);
        alerts.push(open(&setup, &e[0], 1).id);
    }
    let alerts = Arc::new(alerts);
    let outcomes: Vec<(usize, usize)> = std::thread::scope(|s| {
        let workers: Vec<_> = ["op1", "op2"]
            .into_iter()
            .map(|who| {
                let h = b.connect();
                let alerts = alerts.clone();
                s.spawn(move || {
                    let (mut won, mut lost) = (0, 0);
                    for id in alerts.iter() {
                        match h.events.transition_alert(
                            *id,
                            AlertState::New,
                            AlertState::Acknowledged,
                            who,
                            at(100, 0),
                            entry("alert.acknowledge", &id.to_string()),
                        ) {
                            Ok(_) => won += 1,
                            Err(RepoError::Stale(_)) => lost += 1,
                            Err(e) => panic!("{who}: {e}"),
                        }
                    }
                    (won, lost)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a worker")).collect()
    });
    let won: usize = outcomes.iter().map(|o| o.0).sum();
    let lost: usize = outcomes.iter().map(|o| o.1).sum();
    assert_eq!((won, lost), (20, 20), "each alert acknowledged once, the other attempt refused");
    let rows = setup.audit.rows(0, usize::MAX).unwrap();
    assert_eq!(rows.len(), 20, "one entry per step taken");
    assert!(rows.windows(2).all(|w| w[1].prev_hash == w[0].hash && w[1].seq == w[0].seq + 1), "one chain, no fork");
    for id in alerts.iter() {
        let a = setup.events.alert(*id).unwrap().unwrap();
        assert_eq!(a.state, AlertState::Acknowledged);
        assert!(matches!(a.acknowledged_by.as_deref(), Some("op1" | "op2")));
    }
}

pub fn two_writers_inserting_at_once_store_every_event_once(b: &dyn Backend) {
    let per_writer = 200;
    let written: Vec<Vec<i64>> = std::thread::scope(|s| {
        let writers: Vec<_> = ["c1", "c2"]
            .into_iter()
            .map(|camera| {
                let h = b.connect();
                s.spawn(move || {
                    let mut ids = Vec::new();
                    for batch in 0..10 {
                        let events = (0..per_writer / 10).map(|i| event(EventType::Motion, camera, at(batch * 100 + i, 0), None)).collect();
                        ids.extend(insert(&h, events).iter().map(|e| e.id));
                    }
                    ids
                })
            })
            .collect();
        writers.into_iter().map(|w| w.join().expect("a writer")).collect()
    });
    let mut ids: Vec<i64> = written.concat();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2 * per_writer as usize, "no id given twice");
    let stored = all_events(&b.connect());
    assert_eq!(stored.len(), 2 * per_writer as usize);
    let mut stored_ids: Vec<i64> = stored.iter().map(|e| e.id).collect();
    stored_ids.sort_unstable();
    assert_eq!(stored_ids, ids, "every id returned is the stored event's");
}
