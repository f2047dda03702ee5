//! Camera credentials are sealed in the database under a key kept in a file
//! of its own: the database alone gives no password away, a wrong or missing
//! key is an error that says so, and rows from before sealing are sealed.

use std::path::Path;

use citywatch_model::CameraUpdate;
use citywatch_store::{CredentialKey, Store, StoreError};
use serde_json::json;

fn update(v: serde_json::Value) -> CameraUpdate {
    CameraUpdate::from_json(v.as_object().unwrap(), None).unwrap()
}

/// Every credentials value as stored, read past the store.
fn raw_rows(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT credentials FROM camera_credential ORDER BY camera_id, stream").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

fn keyed_store(db: &Path, key: &Path) -> Store {
    let store = Store::open(db).unwrap();
    let key = if key.exists() { CredentialKey::load(key).unwrap() } else { CredentialKey::create(key).unwrap() };
    store.use_credential_key(key).unwrap();
    store
}

#[test]
fn the_database_holds_no_plain_credentials_after_create_replace_and_import() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, key) = (tmp.path().join("citywatch.db"), tmp.path().join("credentials.key"));
    let store = keyed_store(&db, &key);
    store.create_camera(&update(json!({"id": "c1", "lat": 44.8, "lon": 20.4, "main_url": "rtsp://admin:create-pw@10.0.0.1/main"}))).unwrap();
    store
        .replace_camera(&update(
            json!({"id": "c1", "lat": 44.8, "lon": 20.4, "main_url": "rtsp://admin:replace-pw@10.0.0.1/main", "sub_url": "rtsp://view:sub-pw@10.0.0.1/sub"}),
        ))
        .unwrap();
    store.upsert_cameras(&[update(json!({"id": "c2", "lat": 44.8, "lon": 20.4, "main_url": "rtsp://admin:import-pw@10.0.0.2/main"}))]).unwrap();
    let rows = raw_rows(&db);
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert!(row.starts_with("sealed:v1:") && !row.contains("pw") && !row.contains("admin"), "{row}");
    }
    let mut bytes = std::fs::read(&db).unwrap();
    bytes.extend(std::fs::read(tmp.path().join("citywatch.db-wal")).unwrap_or_default());
    for pw in ["create-pw", "replace-pw", "sub-pw", "import-pw"] {
        assert!(!bytes.windows(pw.len()).any(|w| w == pw.as_bytes()), "{pw} in the database or its WAL");
    }
    // The recorder still gets them.
    assert_eq!(store.camera_credentials("c1").unwrap(), (Some("admin:replace-pw".into()), Some("view:sub-pw".into())));
    drop(store);
    let again = keyed_store(&db, &key);
    assert_eq!(again.all_camera_credentials().unwrap()["c2"], (Some("admin:import-pw".into()), None));
}

#[test]
fn a_wrong_or_missing_key_is_an_error_that_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, key) = (tmp.path().join("citywatch.db"), tmp.path().join("credentials.key"));
    let store = keyed_store(&db, &key);
    store.create_camera(&update(json!({"id": "c1", "lat": 44.8, "lon": 20.4, "main_url": "rtsp://u:p@h/main"}))).unwrap();
    drop(store);

    let other = tmp.path().join("other.key");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.sealed_credential_count().unwrap(), 1);
    match store.use_credential_key(CredentialKey::create(&other).unwrap()) {
        Err(StoreError::Credentials(e)) => {
            let msg = e.to_string();
            assert!(msg.contains("c1") && msg.contains("do not open") && msg.contains("other.key"), "{msg}");
        }
        other => panic!("a wrong key is refused: {other:?}"),
    }
    // Without a key: an error, not the sealed text handed out as a password.
    match store.camera_credentials("c1") {
        Err(StoreError::Credentials(e)) => assert!(e.to_string().contains("no credential key"), "{e}"),
        other => panic!("{other:?}"),
    }
    match store.create_camera(&update(json!({"id": "c2", "lat": 44.8, "lon": 20.4, "main_url": "rtsp://u:p@h/main"}))) {
        Err(StoreError::Credentials(e)) => assert!(e.to_string().contains("cannot be stored"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(store.get_camera("c2").unwrap().is_none(), "nothing half-written");
}

#[test]
fn plain_credentials_of_an_older_release_are_sealed_and_keep_working() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, key) = (tmp.path().join("citywatch.db"), tmp.path().join("credentials.key"));
    {
        let store = Store::open(&db).unwrap();
        store.create_camera(&update(json!({"id": "old", "lat": 44.8, "lon": 20.4, "main_url": "rtsp://h/main", "sub_url": "rtsp://h/sub"}))).unwrap();
    }
    // As an older release wrote them.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("INSERT INTO camera_credential (camera_id, stream, credentials) VALUES ('old', 'main', 'admin:plain-pw'), ('old', 'sub', 'v:q')", []).unwrap();
    drop(conn);

    let store = Store::open(&db).unwrap();
    assert_eq!(store.sealed_credential_count().unwrap(), 0);
    assert_eq!(store.use_credential_key(CredentialKey::create(&key).unwrap()).unwrap(), 2, "both rows sealed");
    assert!(raw_rows(&db).iter().all(|r| r.starts_with("sealed:v1:") && !r.contains("plain-pw")), "{:?}", raw_rows(&db));
    assert_eq!(store.camera_credentials("old").unwrap(), (Some("admin:plain-pw".into()), Some("v:q".into())));
    assert_eq!(store.use_credential_key(CredentialKey::load(&key).unwrap()).unwrap(), 0, "sealed once");
}
