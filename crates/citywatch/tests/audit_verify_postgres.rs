//! `citywatch audit verify --database postgres://…`: a cluster's log on
//! PostgreSQL verifies offline like a data directory's, and any change made
//! behind Citywatch's back is found at its seq.

use std::process::Command;
use std::sync::Arc;

use citywatch_audit::{AuditLog, Record};
use citywatch_store_postgres::test_database::TestDatabase;
use citywatch_store_postgres::PgStore;
use ed25519_dalek::SigningKey;

fn verify(db: &TestDatabase, key: &SigningKey) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_citywatch"))
        .args(["audit", "verify", "--database", db.url(), "--public-key", &hex::encode(key.verifying_key().to_bytes())])
        .env_remove("CITYWATCH_DATA")
        .output()
        .expect("run citywatch");
    (out.status.code().unwrap_or(-1), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn written_log(db: &TestDatabase, key: &SigningKey) {
    let log = AuditLog::new(Arc::new(PgStore::connect(db.url()).unwrap()), key.clone());
    for i in 0..70 {
        log.record(Record::new("ana", "video.playback", format!("cam-{i}")).purpose(Some("investigation".into()), Some("KU-7".into()))).unwrap();
    }
    log.checkpoint_now().unwrap();
}

#[test]
fn an_untouched_log_verifies_and_a_changed_entry_is_found_at_its_seq() {
    let db = TestDatabase::create();
    let key = SigningKey::from_bytes(&[11u8; 32]);
    written_log(&db, &key);
    let (code, out) = verify(&db, &key);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit log OK: 70 entries, 2 signed checkpoints (last at seq 70)"), "{out}");

    let mut client = db.client();
    let err = client.batch_execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").unwrap_err();
    assert!(format!("{err:?}").contains("append-only"), "the schema refuses a plain UPDATE: {err:?}");

    // The table's owner can drop the guard; the chain still tells.
    client.batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").unwrap();
    let (code, out) = verify(&db, &key);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("audit log broken at seq 3: entry content does not match its hash (altered)"), "{out}");
}

#[test]
fn entries_removed_from_the_end_are_found_by_the_signed_checkpoint() {
    let db = TestDatabase::create();
    let key = SigningKey::from_bytes(&[12u8; 32]);
    written_log(&db, &key);
    db.client().batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; DELETE FROM audit_log WHERE seq > 65").unwrap();
    let (code, out) = verify(&db, &key);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("broken at seq 70") && out.contains("entries were removed"), "{out}");
}

#[test]
fn a_server_that_does_not_answer_is_a_clear_error() {
    let key = SigningKey::from_bytes(&[13u8; 32]);
    let out = Command::new(env!("CARGO_BIN_EXE_citywatch"))
        .args(["audit", "verify", "--database", "postgres://postgres@127.0.0.1:1/none", "--public-key", &hex::encode(key.verifying_key().to_bytes())])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the database is unavailable") && stderr.contains("cannot connect to postgres://postgres@127.0.0.1:1/none"), "{stderr}");
}
