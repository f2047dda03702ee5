//! The conformance suite of [`CameraRepo`]: what every backend must do, run
//! against each of them (SQLite in `conformance_sqlite.rs`, PostgreSQL in
//! `citywatch-store-postgres`). Built only with the `conformance` feature,
//! which only tests enable.
//!
//! Each case takes a [`Backend`] holding a fresh, empty database and opens
//! as many handles to it as it needs (two handles are two connections, as
//! a server and the CLI, or two nodes, would have).
//! [`camera_repo_conformance!`](crate::camera_repo_conformance) makes one
//! test per case.

use std::sync::Arc;

use citywatch_audit::{AuditRepo, MakeRow, PendingEntry, Record};
use citywatch_model::{AuditRow, CameraStatus, CameraUpdate, ChainHead, District, ImportOutcome, RepoError};
use serde_json::json;

use crate::repo::CameraRepo;

/// One connection to the backend's database: its camera repository and
/// its audit log, which a change commits with.
pub struct Handles {
    pub cameras: Arc<dyn CameraRepo>,
    pub audit: Arc<dyn AuditRepo>,
}

/// A fresh, empty database of one backend. Every handle it gives seals
/// credentials with the same key.
pub trait Backend {
    fn connect(&self) -> Handles;
}

/// One test per case of the suite, for the backend `$fresh` makes (an
/// expression evaluated anew for each test, giving a [`Backend`]).
#[macro_export]
macro_rules! camera_repo_conformance {
    ($fresh:expr) => {
        $crate::camera_repo_conformance!(@cases $fresh;
            an_empty_registry_has_no_cameras_districts_or_credentials,
            a_camera_reads_back_as_created_with_its_entry,
            a_taken_id_is_a_conflict_and_nothing_is_written,
            replace_keeps_credentials_of_an_unchanged_url_and_drops_a_moved_ones,
            replacing_or_deleting_a_missing_camera_is_not_found_and_writes_nothing,
            delete_takes_the_cameras_credentials_with_it,
            upsert_counts_created_and_updated_and_is_all_or_nothing,
            a_change_whose_audit_row_is_refused_is_not_made,
            status_is_recorded_without_an_entry,
            another_handles_change_moves_the_change_marker,
            districts_are_put_replaced_and_listed_by_name,
            two_writers_at_once_make_every_camera_and_one_chain,
            imports_beside_status_updates_all_finish,
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

fn update(v: serde_json::Value) -> CameraUpdate {
    CameraUpdate::from_json(v.as_object().expect("an object"), None).expect("a valid camera")
}

fn entry(action: &str, target: &str) -> MakeRow<'static> {
    Box::new(PendingEntry::new(Record::new("ana", action, target)).into_maker())
}

fn actions(h: &Handles) -> Vec<(String, String)> {
    h.audit.entries(0, usize::MAX).expect("read the log").into_iter().map(|e| (e.action, e.target)).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, t)| ((*a).to_owned(), (*t).to_owned())).collect()
}

/// A camera with every field set, in non-ASCII where text allows it.
fn full_camera() -> CameraUpdate {
    update(json!({
        "id": "cam-1", "name": "Knez Mihailova — ugao", "lat": 44.8176123456789, "lon": 20.4569876543211,
        "height_m": 6.5, "heading_deg": 271.25, "fov_deg": 92.5, "range_m": 80.0, "district": "Stari grad",
        "tags": ["ptz", "ćirilica-ћ", "lpr"], "main_url": "rtsp://admin:s3cret@10.0.0.5/main",
        "sub_url": "rtsp://10.0.0.5/sub", "status": "online"
    }))
}

pub fn an_empty_registry_has_no_cameras_districts_or_credentials(b: &dyn Backend) {
    let h = b.connect();
    assert!(h.cameras.cameras().unwrap().is_empty());
    assert_eq!(h.cameras.camera("cam-1").unwrap(), None);
    assert!(h.cameras.districts().unwrap().is_empty());
    assert!(h.cameras.all_camera_credentials().unwrap().is_empty());
    assert_eq!(h.cameras.camera_credentials("cam-1").unwrap(), (None, None));
    assert!(!h.cameras.set_camera_status("cam-1", CameraStatus::Online).unwrap(), "no such camera");
}

pub fn a_camera_reads_back_as_created_with_its_entry(b: &dyn Backend) {
    let h = b.connect();
    let u = full_camera();
    let row = h.cameras.create_camera(&u, entry("camera.create", "cam-1")).unwrap();
    assert_eq!((row.seq, row.action.as_str()), (1, "camera.create"));
    assert_eq!(h.cameras.camera("cam-1").unwrap().as_ref(), Some(&u.camera));
    assert_eq!(u.camera.main_url.as_deref(), Some("rtsp://10.0.0.5/main"), "the URL is stored without its credentials");
    assert_eq!(h.cameras.cameras().unwrap(), vec![u.camera.clone()]);
    assert_eq!(h.cameras.camera_credentials("cam-1").unwrap(), (Some("admin:s3cret".into()), None));
    assert_eq!(actions(&h), pairs(&[("camera.create", "cam-1")]));
    // A second connection sees the same, its credentials included (same key).
    let other = b.connect();
    assert_eq!(other.cameras.camera("cam-1").unwrap(), Some(u.camera));
    assert_eq!(other.cameras.all_camera_credentials().unwrap()["cam-1"], (Some("admin:s3cret".into()), None));
}

pub fn a_taken_id_is_a_conflict_and_nothing_is_written(b: &dyn Backend) {
    let h = b.connect();
    let first = update(json!({"id": "c1", "lat": 1.0, "lon": 2.0, "name": "first"}));
    h.cameras.create_camera(&first, entry("camera.create", "c1")).unwrap();
    let again = update(json!({"id": "c1", "lat": 3.0, "lon": 4.0, "name": "second", "main_url": "rtsp://u:p@h/m"}));
    match h.cameras.create_camera(&again, entry("camera.create", "c1")) {
        Err(RepoError::Conflict(what)) => assert!(what.contains("c1"), "{what}"),
        other => panic!("a taken id is a conflict: {other:?}"),
    }
    assert_eq!(h.cameras.camera("c1").unwrap(), Some(first.camera), "the first camera is untouched");
    assert_eq!(h.cameras.camera_credentials("c1").unwrap(), (None, None));
    assert_eq!(actions(&h), pairs(&[("camera.create", "c1")]), "no entry for the refused create");
}

pub fn replace_keeps_credentials_of_an_unchanged_url_and_drops_a_moved_ones(b: &dyn Backend) {
    let h = b.connect();
    let made = update(json!({"id": "c1", "lat": 1.0, "lon": 2.0, "main_url": "rtsp://a:1@h/main", "sub_url": "rtsp://b:2@h/sub"}));
    h.cameras.create_camera(&made, entry("camera.create", "c1")).unwrap();
    // The editor sends the main URL back unchanged (without credentials, as
    // it never sees them) and moves the sub stream to another host.
    let edited = update(json!({"id": "c1", "lat": 1.5, "lon": 2.5, "main_url": "rtsp://h/main", "sub_url": "rtsp://other/sub"}));
    h.cameras.replace_camera(&edited, entry("camera.update", "c1")).unwrap();
    assert_eq!(h.cameras.camera("c1").unwrap(), Some(edited.camera));
    assert_eq!(h.cameras.camera_credentials("c1").unwrap(), (Some("a:1".into()), None));
    // New credentials given with the same URL replace the stored ones.
    let new_creds = update(json!({"id": "c1", "lat": 1.5, "lon": 2.5, "main_url": "rtsp://c:3@h/main"}));
    h.cameras.replace_camera(&new_creds, entry("camera.update", "c1")).unwrap();
    assert_eq!(h.cameras.camera_credentials("c1").unwrap(), (Some("c:3".into()), None));
    assert_eq!(actions(&h), pairs(&[("camera.create", "c1"), ("camera.update", "c1"), ("camera.update", "c1")]));
}

pub fn replacing_or_deleting_a_missing_camera_is_not_found_and_writes_nothing(b: &dyn Backend) {
    let h = b.connect();
    let ghost = update(json!({"id": "ghost", "lat": 1.0, "lon": 2.0}));
    assert!(matches!(h.cameras.replace_camera(&ghost, entry("camera.update", "ghost")), Err(RepoError::NotFound(_))));
    assert!(matches!(h.cameras.delete_camera("ghost", entry("camera.delete", "ghost")), Err(RepoError::NotFound(_))));
    assert!(h.cameras.cameras().unwrap().is_empty(), "a replace never creates");
    assert!(actions(&h).is_empty(), "no entries for refused writes");
}

pub fn delete_takes_the_cameras_credentials_with_it(b: &dyn Backend) {
    let h = b.connect();
    for id in ["c1", "c2"] {
        h.cameras.create_camera(&update(json!({"id": id, "lat": 1.0, "lon": 2.0, "main_url": "rtsp://u:p@h/m"})), entry("camera.create", id)).unwrap();
    }
    h.cameras.delete_camera("c1", entry("camera.delete", "c1")).unwrap();
    assert_eq!(h.cameras.camera("c1").unwrap(), None);
    assert_eq!(h.cameras.camera_credentials("c1").unwrap(), (None, None));
    let all = h.cameras.all_camera_credentials().unwrap();
    assert_eq!(all.keys().collect::<Vec<_>>(), vec!["c2"]);
    // The id is free again: a new camera under it has no old credentials.
    h.cameras.create_camera(&update(json!({"id": "c1", "lat": 1.0, "lon": 2.0, "main_url": "rtsp://h/m"})), entry("camera.create", "c1")).unwrap();
    assert_eq!(h.cameras.camera_credentials("c1").unwrap(), (None, None));
    assert_eq!(actions(&h).len(), 4);
}

pub fn upsert_counts_created_and_updated_and_is_all_or_nothing(b: &dyn Backend) {
    let h = b.connect();
    let a = update(json!({"id": "a", "lat": 1.0, "lon": 1.0}));
    let b2 = update(json!({"id": "b", "lat": 2.0, "lon": 2.0, "sub_url": "rtsp://v:q@h/sub"}));
    let seen = std::cell::Cell::new(None);
    let (outcome, row) = h
        .cameras
        .upsert_cameras(
            std::slice::from_ref(&a),
            Box::new(|o: &ImportOutcome, head: Option<&ChainHead>| {
                seen.set(Some(*o));
                PendingEntry::new(Record::new("ana", "camera.import", "file-1")).row_on(head)
            }),
        )
        .unwrap();
    assert_eq!((outcome, seen.get()), (ImportOutcome { created: 1, updated: 0 }, Some(outcome)), "the entry is made knowing the outcome");
    assert_eq!(row.target, "file-1");
    let (outcome, _) = h
        .cameras
        .upsert_cameras(
            &[a.clone(), b2.clone()],
            Box::new(|_: &ImportOutcome, head: Option<&ChainHead>| PendingEntry::new(Record::new("ana", "camera.import", "file-2")).row_on(head)),
        )
        .unwrap();
    assert_eq!(outcome, ImportOutcome { created: 1, updated: 1 });
    assert_eq!(h.cameras.cameras().unwrap(), vec![a.camera.clone(), b2.camera.clone()], "by id");
    assert_eq!(h.cameras.camera_credentials("b").unwrap(), (None, Some("v:q".into())));
    // A row the database refuses (a latitude past the pole got past
    // validation) undoes the whole batch and its entry.
    let mut bad = update(json!({"id": "z", "lat": 1.0, "lon": 1.0}));
    bad.camera.lat = 91.0;
    let c = update(json!({"id": "c", "lat": 3.0, "lon": 3.0}));
    let refused = h.cameras.upsert_cameras(
        &[c, bad],
        Box::new(|_: &ImportOutcome, head: Option<&ChainHead>| PendingEntry::new(Record::new("ana", "camera.import", "file-3")).row_on(head)),
    );
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(h.cameras.cameras().unwrap().len(), 2, "nothing of the refused batch is kept");
    assert_eq!(actions(&h), pairs(&[("camera.import", "file-1"), ("camera.import", "file-2")]));
}

pub fn a_change_whose_audit_row_is_refused_is_not_made(b: &dyn Backend) {
    let h = b.connect();
    h.cameras.create_camera(&update(json!({"id": "c1", "lat": 1.0, "lon": 2.0})), entry("camera.create", "c1")).unwrap();
    // A maker that does not chain to the head it is given (a writer holding
    // an old head) is refused by the backend, and the change with it.
    let stale = |head: Option<&ChainHead>| -> AuditRow {
        let mut row = PendingEntry::new(Record::new("ana", "camera.create", "c2")).row_on(None);
        assert!(head.is_some());
        row.seq = 1;
        row
    };
    let refused = h.cameras.create_camera(&update(json!({"id": "c2", "lat": 1.0, "lon": 2.0, "main_url": "rtsp://u:p@h/m"})), Box::new(stale));
    assert!(matches!(refused, Err(RepoError::Stale(_) | RepoError::Conflict(_))), "{refused:?}");
    assert_eq!(h.cameras.camera("c2").unwrap(), None, "the change is not made without its entry");
    assert_eq!(h.cameras.camera_credentials("c2").unwrap(), (None, None));
    let refused = h.cameras.delete_camera("c1", Box::new(|_| PendingEntry::new(Record::new("ana", "camera.delete", "c1")).row_on(None)));
    assert!(refused.is_err());
    assert!(h.cameras.camera("c1").unwrap().is_some(), "not deleted without its entry");
    let district = District { name: "A".into(), geometry: json!({"type": "Point", "coordinates": [1.0, 2.0]}) };
    assert!(h.cameras.put_district(&district, Box::new(|_| PendingEntry::new(Record::new("ana", "district.put", "A")).row_on(None))).is_err());
    assert!(h.cameras.districts().unwrap().is_empty(), "no district without its entry");
    assert_eq!(actions(&h), pairs(&[("camera.create", "c1")]));
}

pub fn status_is_recorded_without_an_entry(b: &dyn Backend) {
    let h = b.connect();
    h.cameras.create_camera(&update(json!({"id": "c1", "lat": 1.0, "lon": 2.0})), entry("camera.create", "c1")).unwrap();
    assert!(h.cameras.set_camera_status("c1", CameraStatus::Offline).unwrap());
    assert_eq!(h.cameras.camera("c1").unwrap().map(|c| c.status), Some(CameraStatus::Offline));
    assert_eq!(actions(&h).len(), 1, "a recorder's observation is not a person's change");
}

pub fn another_handles_change_moves_the_change_marker(b: &dyn Backend) {
    let (mine, theirs) = (b.connect(), b.connect());
    let before = mine.cameras.change_marker().unwrap();
    assert_eq!(mine.cameras.change_marker().unwrap(), before, "steady while nothing is written");
    theirs.cameras.create_camera(&update(json!({"id": "c1", "lat": 1.0, "lon": 2.0})), entry("camera.create", "c1")).unwrap();
    let after_create = mine.cameras.change_marker().unwrap();
    assert_ne!(after_create, before, "another connection's create is seen");
    theirs.cameras.delete_camera("c1", entry("camera.delete", "c1")).unwrap();
    assert_ne!(mine.cameras.change_marker().unwrap(), after_create, "and its delete");
}

pub fn districts_are_put_replaced_and_listed_by_name(b: &dyn Backend) {
    let h = b.connect();
    let square = |d: f64| json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [d, 0.0], [d, d], [0.0, d], [0.0, 0.0]]]});
    for (name, size) in [("Zvezdara", 1.0), ("Novi Beograd", 2.0)] {
        h.cameras.put_district(&District { name: name.into(), geometry: square(size) }, entry("district.put", name)).unwrap();
    }
    h.cameras.put_district(&District { name: "Zvezdara".into(), geometry: square(3.0) }, entry("district.put", "Zvezdara")).unwrap();
    let got = h.cameras.districts().unwrap();
    assert_eq!(got, vec![District { name: "Novi Beograd".into(), geometry: square(2.0) }, District { name: "Zvezdara".into(), geometry: square(3.0) }]);
    assert_eq!(actions(&h).len(), 3);
}

pub fn two_writers_at_once_make_every_camera_and_one_chain(b: &dyn Backend) {
    const EACH: usize = 40;
    let writers: Vec<_> = ["ana", "bob"]
        .into_iter()
        .map(|who| {
            let h = b.connect();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    let id = format!("{who}-{i}");
                    let u = update(json!({"id": id, "lat": 1.0, "lon": 2.0, "main_url": format!("rtsp://{who}:{i}@h/m")}));
                    h.cameras
                        .create_camera(&u, Box::new(PendingEntry::new(Record::new(who, "camera.create", &id)).into_maker()))
                        .expect("create under contention");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("a writer panicked");
    }
    let h = b.connect();
    assert_eq!(h.cameras.cameras().unwrap().len(), 2 * EACH);
    assert_eq!(h.cameras.all_camera_credentials().unwrap().len(), 2 * EACH);
    let rows = h.audit.rows(0, usize::MAX).unwrap();
    assert_eq!(rows.len(), 2 * EACH, "one entry per camera");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.seq, i as i64 + 1);
        if i > 0 {
            assert_eq!(row.prev_hash, rows[i - 1].hash, "seq {} chains to the row before it", row.seq);
        }
    }
}

/// A recorder's status updates (one camera at a time) running beside
/// imports (many cameras in one transaction, in the other order) must
/// both finish: no deadlock between the two, whatever the interleaving.
pub fn imports_beside_status_updates_all_finish(b: &dyn Backend) {
    const CAMERAS: usize = 30;
    let setup = b.connect();
    let all: Vec<CameraUpdate> = (0..CAMERAS).map(|i| update(json!({"id": format!("c{i:02}"), "lat": 1.0, "lon": 2.0}))).collect();
    setup
        .cameras
        .upsert_cameras(&all, Box::new(|_: &ImportOutcome, head: Option<&ChainHead>| PendingEntry::new(Record::new("ana", "camera.import", "f")).row_on(head)))
        .unwrap();
    let importer = {
        let h = b.connect();
        let all = all.clone();
        std::thread::spawn(move || {
            for round in 0..10 {
                let target = format!("file-{round}");
                h.cameras
                    .upsert_cameras(
                        &all,
                        Box::new(move |_: &ImportOutcome, head: Option<&ChainHead>| {
                            PendingEntry::new(Record::new("ana", "camera.import", &target)).row_on(head)
                        }),
                    )
                    .expect("an import beside status updates");
            }
        })
    };
    let recorder = {
        let h = b.connect();
        std::thread::spawn(move || {
            for round in 0..10 {
                for i in (0..CAMERAS).rev() {
                    let status = if round % 2 == 0 { CameraStatus::Online } else { CameraStatus::Offline };
                    h.cameras.set_camera_status(&format!("c{i:02}"), status).expect("a status update beside an import");
                }
            }
        })
    };
    importer.join().expect("the importer panicked");
    recorder.join().expect("the recorder panicked");
    assert_eq!(setup.cameras.cameras().unwrap().len(), CAMERAS);
    assert_eq!(setup.audit.rows(0, usize::MAX).unwrap().len(), 11, "the first import and ten more");
}
