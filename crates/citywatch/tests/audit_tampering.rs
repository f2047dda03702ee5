//! `citywatch audit verify` on a log altered directly in SQLite: every kind
//! of tampering is caught and the first bad seq is named.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use citywatch_audit::{load_or_create_signing_key, AuditLog, Record};
use citywatch_store::Store;
use rusqlite::Connection;

const BIN: &str = env!("CARGO_BIN_EXE_citywatch");

/// A data directory whose log has 100 entries and checkpoints at 64 and 100.
fn data_dir_with_log() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("citywatch.db")).unwrap());
    let log = AuditLog::new(store, load_or_create_signing_key(dir.path()).unwrap());
    for i in 1..=100 {
        log.record(Record::new(format!("user{}", i % 7), "camera.search", format!("query {i}")).detail(serde_json::json!({"i": i}))).unwrap();
    }
    log.checkpoint_now().unwrap();
    dir
}

fn verify(dir: &Path) -> (i32, String) {
    let out = Command::new(BIN).args(["audit", "verify", "--data"]).arg(dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap(), text)
}

fn sql(dir: &Path, statements: &str) {
    Connection::open(dir.join("citywatch.db")).unwrap().execute_batch(statements).unwrap();
}

#[test]
fn an_intact_log_verifies() {
    let dir = data_dir_with_log();
    let (code, text) = verify(dir.path());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("100 entries, 2 signed checkpoints"), "{text}");
}

#[test]
fn an_altered_entry_is_named() {
    let dir = data_dir_with_log();
    sql(dir.path(), "UPDATE audit_log SET target = 'nothing to see' WHERE seq = 10;");
    let (code, text) = verify(dir.path());
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("seq 10") && text.contains("altered"), "{text}");
}

#[test]
fn a_deleted_entry_is_named() {
    let dir = data_dir_with_log();
    sql(dir.path(), "DELETE FROM audit_log WHERE seq = 20;");
    let (code, text) = verify(dir.path());
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("seq 20") && text.contains("missing"), "{text}");
}

#[test]
fn reordered_entries_are_named() {
    let dir = data_dir_with_log();
    // Swap the contents of rows 30 and 31, keeping their seq numbers.
    sql(
        dir.path(),
        "CREATE TEMP TABLE a AS SELECT * FROM audit_log WHERE seq = 30;
         CREATE TEMP TABLE b AS SELECT * FROM audit_log WHERE seq = 31;
         DELETE FROM audit_log WHERE seq IN (30, 31);
         INSERT INTO audit_log SELECT 30, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash FROM b;
         INSERT INTO audit_log SELECT 31, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash FROM a;",
    );
    let (code, text) = verify(dir.path());
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("seq 30"), "{text}");
}

#[test]
fn a_rewritten_chain_is_caught_by_the_signed_checkpoints() {
    let dir = data_dir_with_log();
    // Someone without the signing key rewrites entry 5 and rehashes the rest
    // of the chain so that it is consistent again.
    let conn = Connection::open(dir.path().join("citywatch.db")).unwrap();
    conn.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = 5", []).unwrap();
    drop(conn);
    let store = Store::open(&dir.path().join("citywatch.db")).unwrap();
    let entries = store.audit_entries(0, usize::MAX).unwrap();
    drop(store);
    let conn = Connection::open(dir.path().join("citywatch.db")).unwrap();
    let mut prev = entries[3].hash.clone();
    for mut e in entries.into_iter().skip(4) {
        e.prev_hash = prev.clone();
        e.hash = rehash(&e);
        conn.execute("UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE seq = ?3", rusqlite::params![e.prev_hash, e.hash, e.seq]).unwrap();
        prev = e.hash;
    }
    drop(conn);
    let (code, text) = verify(dir.path());
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("seq 64") && text.contains("checkpoint"), "{text}");
}

#[test]
fn removing_the_end_of_the_log_is_caught() {
    let dir = data_dir_with_log();
    sql(dir.path(), "DELETE FROM audit_log WHERE seq > 90;");
    let (code, text) = verify(dir.path());
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("seq 100") && text.contains("removed"), "{text}");
}

#[test]
fn a_forged_checkpoint_is_caught() {
    let dir = data_dir_with_log();
    sql(dir.path(), "UPDATE audit_checkpoint SET signature = substr(signature, 3) || '00' WHERE seq = 64;");
    let (code, text) = verify(dir.path());
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("seq 64") && text.contains("signature"), "{text}");
}

/// The attacker knows the (public) encoding but not the signing key.
fn rehash(e: &citywatch_model::AuditEntry) -> String {
    citywatch_audit::entry_hash(e)
}
