//! The conformance suite of [`PlateRepo`]: what every backend must do, run
//! against each of them (SQLite in `conformance_sqlite.rs`, PostgreSQL in
//! `citywatch-store-postgres`). Built only with the `conformance` feature,
//! which only tests enable.
//!
//! Each case takes a [`Backend`] holding a fresh, empty database and opens
//! as many handles to it as it needs (two handles are two connections).
//! [`plate_repo_conformance!`](crate::plate_repo_conformance) makes one
//! test per case.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use citywatch_audit::{AuditRepo, MakeRowAfter, PendingEntry, Record};
use citywatch_events::EventRepo;
use citywatch_model::event::AlertChange;
use citywatch_model::plates::{NewHotlistEntry, NewPlateRead, PlatePurge, PlateReadFilter};
use citywatch_model::{Alert, AlertState, Event, EventType, RepoError, Severity, Source};
use serde_json::json;

use crate::repo::PlateRepo;

/// One connection to the backend's database: the hotlists' repository,
/// the events' (a purge deletes `plate_read` events) and the audit log.
pub struct Handles {
    pub plates: Arc<dyn PlateRepo>,
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
macro_rules! plate_repo_conformance {
    ($fresh:expr) => {
        $crate::plate_repo_conformance!(@cases $fresh;
            an_empty_database_has_no_lists_entries_or_reads,
            an_import_adds_and_replaces_entries_with_its_entry,
            an_import_is_all_or_nothing,
            active_entries_are_unexpired_highest_priority_first,
            deleting_an_entry_returns_it_with_its_entry_and_a_missing_one_is_not_found,
            reads_are_searched_by_pattern_time_and_district_newest_first,
            a_purge_deletes_old_misses_and_their_free_events_with_one_entry,
            two_importers_at_once_keep_every_entry_and_one_chain,
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

fn at(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap() + Duration::seconds(s)
}

fn entry(plate: &str, priority: u8, expires_at: Option<DateTime<Utc>>) -> NewHotlistEntry {
    NewHotlistEntry {
        plate: plate.to_owned(),
        plate_key: crate::plate_key(plate),
        source: "court order 12/26".into(),
        reason: format!("stolen {plate}"),
        priority,
        expires_at,
    }
}

fn record<T>(action: &str, target: &str) -> MakeRowAfter<'static, T> {
    let pending = PendingEntry::new(Record::new("sup", action, target));
    Box::new(move |_: &T, head| pending.row_on(head))
}

fn import(h: &Handles, list: &str, covert: bool, entries: &[NewHotlistEntry], now: DateTime<Utc>) -> (usize, usize) {
    h.plates.import_hotlist(list, covert, entries, "sup", now, record("hotlist.import", list)).expect("import").0
}

fn read(plate: &str, camera: &str, time: DateTime<Utc>, district: Option<&str>, hit: bool, event_id: Option<i64>) -> NewPlateRead {
    NewPlateRead {
        time,
        camera_id: camera.to_owned(),
        district: district.map(str::to_owned),
        plate: plate.to_owned(),
        plate_key: crate::plate_key(plate),
        confidence: 0.873_5,
        lat: Some(44.815_1),
        lon: None,
        track_id: Some(17),
        crop_ref: Some("snapshots/c1/42.jpg".into()),
        event_id,
        hit,
    }
}

fn log_len(h: &Handles) -> usize {
    h.audit.entries(0, usize::MAX).expect("read the log").len()
}

pub fn an_empty_database_has_no_lists_entries_or_reads(b: &dyn Backend) {
    let h = b.connect();
    assert!(h.plates.hotlists().unwrap().is_empty());
    assert_eq!(h.plates.hotlist("stolen").unwrap(), None);
    assert!(h.plates.hotlist_entries("stolen").unwrap().is_empty());
    assert_eq!(h.plates.hotlist_entry(1).unwrap(), None);
    assert!(h.plates.active_hotlist_entries("BG123AB", at(0)).unwrap().is_empty());
    assert!(h.plates.plate_reads(&PlateReadFilter { pattern: "*".into(), limit: 10, ..Default::default() }).unwrap().is_empty());
}

pub fn an_import_adds_and_replaces_entries_with_its_entry(b: &dyn Backend) {
    let h = b.connect();
    let made = |counts: &(usize, usize), head: Option<&citywatch_model::ChainHead>| {
        PendingEntry::new(Record::new("sup", "hotlist.import", "stolen").detail(json!({"added": counts.0, "replaced": counts.1}))).row_on(head)
    };
    let first = [entry("BG 123-AB", 7, None), entry("NS 555-XY", 3, Some(at(3600)))];
    let ((added, replaced), row) = h.plates.import_hotlist("stolen", true, &first, "sup", at(0), Box::new(made)).unwrap();
    assert_eq!((added, replaced), (2, 0));
    assert_eq!(row.detail, r#"{"added":2,"replaced":0}"#, "the entry is made from the counts");
    let list = h.plates.hotlist("stolen").unwrap().expect("the list was created");
    assert_eq!((list.covert, list.created_by.as_str(), list.created_at, list.entries), (true, "sup", at(0), 2));
    let entries = h.plates.hotlist_entries("stolen").unwrap();
    assert_eq!(entries.len(), 2);
    let e = &entries[0];
    assert_eq!(
        (e.list.as_str(), e.covert, e.plate.as_str(), e.plate_key.as_str(), e.source.as_str(), e.reason.as_str(), e.priority, e.expires_at),
        ("stolen", true, "BG 123-AB", "BG123AB", "court order 12/26", "stolen BG 123-AB", 7, None)
    );
    assert_eq!((e.created_by.as_str(), e.created_at), ("sup", at(0)));
    assert_eq!(entries[1].expires_at, Some(at(3600)));
    assert_eq!(h.plates.hotlist_entry(e.id).unwrap().as_ref(), Some(e));

    // A second import: one plate replaced, one new, one plate twice (its
    // second row replaces the first); the list keeps its covert flag.
    let second = [entry("BG123AB", 9, None), entry("KG 1-A", 1, None), entry("KG 1-A", 2, None)];
    assert_eq!(import(&h, "stolen", false, &second, at(60)), (1, 2));
    assert!(h.plates.hotlist("stolen").unwrap().unwrap().covert, "an existing list keeps its own covert flag");
    let keys: Vec<(String, u8)> = h.plates.hotlist_entries("stolen").unwrap().into_iter().map(|e| (e.plate_key, e.priority)).collect();
    assert_eq!(keys, [("NS555XY".to_owned(), 3), ("BG123AB".to_owned(), 9), ("KG1A".to_owned(), 2)], "by id: replaced entries are new rows");
    import(&h, "amber", false, &[entry("BG 123-AB", 5, None)], at(90));
    let names: Vec<(String, u64)> = h.plates.hotlists().unwrap().into_iter().map(|l| (l.name, l.entries)).collect();
    assert_eq!(names, [("amber".to_owned(), 1), ("stolen".to_owned(), 3)]);
    assert_eq!(log_len(&h), 3, "one entry per import");
}

pub fn an_import_is_all_or_nothing(b: &dyn Backend) {
    let h = b.connect();
    // A priority above 10 is refused by the table's check, after the good rows.
    let bad = [entry("BG 123-AB", 7, None), entry("NS 555-XY", 11, None)];
    let err = h.plates.import_hotlist("stolen", false, &bad, "sup", at(0), record("hotlist.import", "stolen")).unwrap_err();
    assert!(!matches!(err, RepoError::NotFound(_) | RepoError::Unavailable(_)), "{err:?}");
    assert_eq!(h.plates.hotlist("stolen").unwrap(), None, "not even the list");
    assert!(h.plates.active_hotlist_entries("BG123AB", at(0)).unwrap().is_empty());
    assert_eq!(log_len(&h), 0);
}

pub fn active_entries_are_unexpired_highest_priority_first(b: &dyn Backend) {
    let h = b.connect();
    import(&h, "stolen", false, &[entry("BG 123-AB", 4, None), entry("KG 1-A", 9, None)], at(0));
    import(&h, "amber", true, &[entry("BG 123-AB", 8, Some(at(100)))], at(0));
    import(&h, "old", false, &[entry("BG 123-AB", 10, Some(at(50)))], at(0));
    let active = |now| h.plates.active_hotlist_entries("BG123AB", now).unwrap().into_iter().map(|e| (e.list, e.covert)).collect::<Vec<_>>();
    assert_eq!(active(at(10)), [("old".to_owned(), false), ("amber".to_owned(), true), ("stolen".to_owned(), false)], "highest priority first");
    assert_eq!(active(at(50)), [("amber".to_owned(), true), ("stolen".to_owned(), false)], "an entry is expired at its expiry");
    assert_eq!(active(at(500)), [("stolen".to_owned(), false)]);
}

pub fn deleting_an_entry_returns_it_with_its_entry_and_a_missing_one_is_not_found(b: &dyn Backend) {
    let h = b.connect();
    import(&h, "stolen", false, &[entry("BG 123-AB", 4, None), entry("KG 1-A", 9, None)], at(0));
    let first = h.plates.hotlist_entries("stolen").unwrap().remove(0);
    let made = |e: &citywatch_model::plates::HotlistEntry, head: Option<&citywatch_model::ChainHead>| {
        PendingEntry::new(Record::new("sup", "hotlist.delete_entry", &e.list).detail(json!({"plate": e.plate}))).row_on(head)
    };
    let (deleted, row) = h.plates.delete_hotlist_entry(first.id, Box::new(made)).unwrap();
    assert_eq!(deleted, first, "returned as it was");
    assert_eq!((row.target.as_str(), row.detail.as_str()), ("stolen", r#"{"plate":"BG 123-AB"}"#));
    assert_eq!(h.plates.hotlist_entry(first.id).unwrap(), None);
    assert_eq!(h.plates.hotlist("stolen").unwrap().unwrap().entries, 1);
    let err = h.plates.delete_hotlist_entry(first.id, record("hotlist.delete_entry", "stolen")).unwrap_err();
    assert!(matches!(err, RepoError::NotFound(_)), "{err:?}");
    assert_eq!(log_len(&h), 2, "the import and the one deletion");
}

pub fn reads_are_searched_by_pattern_time_and_district_newest_first(b: &dyn Backend) {
    let h = b.connect();
    let mut ids = Vec::new();
    for (i, (plate, district)) in
        [("BG 123-AB", Some("North")), ("BG 124-AB", Some("South")), ("NS 123-AB", None), ("BG 123-AB", Some("North"))].iter().enumerate()
    {
        ids.push(h.plates.add_plate_read(&read(plate, "c1", at(i as i64 * 10), *district, false, Some(100 + i as i64))).unwrap());
    }
    assert!(ids.windows(2).all(|w| w[1] > w[0]));
    let search = |pattern: &str, f: PlateReadFilter| {
        h.plates.plate_reads(&PlateReadFilter { pattern: pattern.into(), limit: f.limit.max(1), ..f }).unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let all = PlateReadFilter { limit: 100, ..Default::default() };
    assert_eq!(search("BG123AB", all.clone()), [ids[3], ids[0]], "exact key, newest first");
    assert_eq!(search("BG12*", all.clone()), [ids[3], ids[1], ids[0]]);
    assert_eq!(search("*123AB", all.clone()), [ids[3], ids[2], ids[0]]);
    assert_eq!(search("*", PlateReadFilter { start: Some(at(10)), end: Some(at(30)), ..all.clone() }), [ids[2], ids[1]], "start inclusive, end exclusive");
    assert_eq!(search("*", PlateReadFilter { districts: Some(vec!["North".into()]), ..all.clone() }), [ids[3], ids[0]]);
    assert!(search("*", PlateReadFilter { districts: Some(Vec::new()), ..all.clone() }).is_empty());
    assert_eq!(search("*", PlateReadFilter { limit: 2, ..Default::default() }), [ids[3], ids[2]]);
    let stored = h.plates.plate_reads(&PlateReadFilter { pattern: "NS123AB".into(), limit: 1, ..Default::default() }).unwrap().remove(0);
    assert_eq!(stored.read, read("NS 123-AB", "c1", at(20), None, false, Some(102)), "every field reads back, the confidence exactly");
}

/// A `plate_read` event, as the read raised it; returns its id.
fn plate_event(h: &Handles, plate: &str, time: DateTime<Utc>) -> i64 {
    let mut events = vec![Event {
        id: 0,
        event_type: EventType::PlateRead,
        time,
        source: Source::camera("c1"),
        district: None,
        location: None,
        details: json!({"plate": plate}),
        received_at: time,
    }];
    h.events.insert_events(&mut events).expect("insert the read's event");
    events[0].id
}

pub fn a_purge_deletes_old_misses_and_their_free_events_with_one_entry(b: &dyn Backend) {
    let h = b.connect();
    let old = at(0);
    let recent = at(86_400 * 8);
    let (old_miss, old_held, old_hit, new_miss) =
        (plate_event(&h, "KG111AA", old), plate_event(&h, "KG333CC", old), plate_event(&h, "BG123AB", old), plate_event(&h, "KG222BB", recent));
    for (plate, time, hit, event) in
        [("KG 111-AA", old, false, old_miss), ("KG 333-CC", old, false, old_held), ("BG 123-AB", old, true, old_hit), ("KG 222-BB", recent, false, new_miss)]
    {
        h.plates.add_plate_read(&read(plate, "c1", time, None, hit, Some(event))).unwrap();
    }
    // An alert holds one old miss's event: the read goes, its event stays.
    let alert = Alert {
        id: 0,
        rule_id: 1,
        rule_name: "any plate".into(),
        state: AlertState::New,
        severity: Severity::Minor,
        event_type: EventType::PlateRead,
        source: Source::camera("c1"),
        district: None,
        location: None,
        first_event_at: old,
        last_event_at: old,
        event_count: 1,
        created_at: old,
        acknowledged_by: None,
        acknowledged_at: None,
        closed_by: None,
        closed_at: None,
    };
    h.events.apply_alert_changes(&[AlertChange::Open { alert: Box::new(alert), event_ids: vec![old_held] }]).unwrap();

    let made = |p: &PlatePurge, head: Option<&citywatch_model::ChainHead>| {
        PendingEntry::new(Record::new("citywatch", "plate_read.purge", "plate_reads").detail(json!({"reads": p.reads, "events": p.events}))).row_on(head)
    };
    let cutoff = at(86_400 * 7);
    let (purged, row) = h.plates.purge_plate_reads(cutoff, Box::new(made)).unwrap();
    assert_eq!(purged, PlatePurge { reads: 2, events: 1 });
    assert_eq!(row.expect("an entry for a purge that deleted").detail, r#"{"events":1,"reads":2}"#);
    let left: Vec<String> = h
        .plates
        .plate_reads(&PlateReadFilter { pattern: "*".into(), limit: 10, ..Default::default() })
        .unwrap()
        .into_iter()
        .map(|r| r.read.plate_key)
        .collect();
    assert_eq!(left, ["KG222BB", "BG123AB"], "the hit and the recent miss stay");
    assert_eq!(h.events.event(old_miss).unwrap(), None, "a free event goes with its read");
    assert!(h.events.event(old_held).unwrap().is_some(), "an alert's event stays");
    assert!(h.events.event(old_hit).unwrap().is_some() && h.events.event(new_miss).unwrap().is_some());

    let (again, row) = h.plates.purge_plate_reads(cutoff, record("plate_read.purge", "plate_reads")).unwrap();
    assert_eq!((again, row.is_none()), (PlatePurge::default(), true), "nothing left to purge: no entry");
    assert_eq!(log_len(&h), 1);
}

pub fn two_importers_at_once_keep_every_entry_and_one_chain(b: &dyn Backend) {
    std::thread::scope(|s| {
        for who in ["a", "b"] {
            let h = b.connect();
            s.spawn(move || {
                for i in 0..15 {
                    let plates = [entry(&format!("{who}{i}X"), 5, None), entry("SHARED1", 5, None)];
                    h.plates.import_hotlist("stolen", false, &plates, who, at(i), record("hotlist.import", who)).expect("an import beside another");
                }
            });
        }
    });
    let h = b.connect();
    let keys = h.plates.hotlist_entries("stolen").unwrap();
    assert_eq!(keys.len(), 31, "every plate of both, the shared one once");
    let rows = h.audit.rows(0, usize::MAX).unwrap();
    assert_eq!(rows.len(), 30);
    assert!(rows.windows(2).all(|w| w[1].prev_hash == w[0].hash && w[1].seq == w[0].seq + 1), "one chain, no fork");
}
