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
         INSERT INTO audit_log SELECT 30, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash, encoding FROM b;
         INSERT INTO audit_log SELECT 31, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash, encoding FROM a;",
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
    let rows = store.audit_rows(0, usize::MAX).unwrap();
    drop(store);
    let conn = Connection::open(dir.path().join("citywatch.db")).unwrap();
    let mut prev = rows[3].hash.clone();
    for mut row in rows.into_iter().skip(4) {
        row.prev_hash = prev.clone();
        row.hash = rehash(&row);
        conn.execute("UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE seq = ?3", rusqlite::params![row.prev_hash, row.hash, row.seq]).unwrap();
        prev = row.hash;
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
fn rehash(row: &citywatch_model::AuditRow) -> String {
    citywatch_audit::stored_text_hash(row)
}

/// A log as versions before the stored-text encoding wrote it: the detail
/// stored as serde_json printed it, the hash over its canonical re-encoding,
/// no `encoding` column value (the migration's default, 1). Its details hold
/// the 17-digit coordinates that used to read back as a neighbouring double.
fn old_format_log(dir: &Path, entries: i64) {
    let store = Store::open(&dir.join("citywatch.db")).unwrap();
    drop(store);
    load_or_create_signing_key(dir).unwrap();
    let conn = Connection::open(dir.join("citywatch.db")).unwrap();
    let mut prev = citywatch_audit::GENESIS_HASH.to_owned();
    for seq in 1..=entries {
        let time = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00.123456Z").unwrap().with_timezone(&chrono::Utc);
        let detail = serde_json::json!({"lat": 44.770596987110956, "lon": 20.39897477215127 + seq as f64 * 1e-9, "radius_m": 800.0, "results": 21});
        let mut e = citywatch_model::AuditEntry {
            seq,
            time,
            actor: "admin".into(),
            action: "camera.search".into(),
            target: "near".into(),
            purpose: None,
            case_ref: None,
            result: "ok".into(),
            detail,
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        e.hash = citywatch_audit::entry_hash(&e);
        conn.execute(
            "INSERT INTO audit_log (seq, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash)
             VALUES (?1, '2026-11-30T10:00:00.123456Z', ?2, ?3, ?4, NULL, NULL, ?5, ?6, ?7, ?8)",
            rusqlite::params![e.seq, e.actor, e.action, e.target, e.result, e.detail.to_string(), e.prev_hash, e.hash],
        )
        .unwrap();
        prev = e.hash;
    }
}

#[test]
fn a_log_written_by_an_earlier_version_still_verifies_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    old_format_log(dir.path(), 20);
    // The current version appends to it in the new encoding.
    let store = Arc::new(Store::open(&dir.path().join("citywatch.db")).unwrap());
    let log = AuditLog::new(store, load_or_create_signing_key(dir.path()).unwrap());
    for i in 0..5 {
        log.record(Record::new("admin", "camera.search", "near").detail(serde_json::json!({"lat": 44.770596987110956 + i as f64 * 1e-12}))).unwrap();
    }
    log.checkpoint_now().unwrap();
    let (code, text) = verify(dir.path());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("25 entries") && text.contains("entries 1..20 were written by an earlier version"), "{text}");
}

#[test]
fn an_altered_old_format_entry_is_still_caught() {
    let dir = tempfile::tempdir().unwrap();
    old_format_log(dir.path(), 20);
    sql(dir.path(), "UPDATE audit_log SET detail = replace(detail, '\"results\":21', '\"results\":20') WHERE seq = 7;");
    let (code, text) = verify(dir.path());
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("seq 7") && text.contains("altered"), "{text}");
}

#[test]
fn a_new_entry_relabelled_as_old_format_is_caught() {
    let dir = data_dir_with_log();
    sql(dir.path(), "UPDATE audit_log SET encoding = 1 WHERE seq = 40;");
    let (code, text) = verify(dir.path());
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("seq 40") && text.contains("altered"), "{text}");
}
