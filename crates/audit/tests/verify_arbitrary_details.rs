//! Whatever JSON an audit entry's detail holds — any finite double
//! (subnormals, 17 significant digits, huge and tiny exponents), integers
//! beyond 2^53, any Unicode, deep nesting — an untouched log written through
//! the real store verifies, and the detail reads back as it was written.
//! Changing one byte of a stored detail is still caught.

use std::sync::Arc;

use citywatch_audit::{verify_log, AuditLog, Record};
use citywatch_store::Store;
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use serde_json::{json, Value};

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        // Any bit pattern: every exponent, both signs.
        any::<u64>().prop_map(f64::from_bits).prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(|f| json!(f)),
        // Subnormals, which a best-effort parser is most likely to round wrongly.
        (1u64..(1 << 52), any::<bool>()).prop_map(|(m, neg)| json!(if neg { -f64::from_bits(m) } else { f64::from_bits(m) })),
        // Coordinates as a GPS or a random generator writes them: 17 digits.
        (-90.0f64..90.0).prop_map(|f| json!(f)),
        (0.0f64..1.0).prop_map(|f| json!(f * 1e-300)),
        (0.0f64..1.0).prop_map(|f| json!(f * 1e300)),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        ((1u64 << 53)..u64::MAX).prop_map(Value::from),
    ]
}

fn detail() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        number(),
        number(),
        any::<String>().prop_map(Value::String),
        "[\\u{0}-\\u{1f}\"\\\\/\\u{7f}\\u{2028}\\u{2029}\\u{feff}\\u{200b}é漢🚓]{0,12}".prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn written_log(details: &[Value]) -> (tempfile::TempDir, Arc<Store>, SigningKey) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("citywatch.db")).unwrap());
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let log = AuditLog::new(store.clone(), key.clone());
    for (i, d) in details.iter().enumerate() {
        log.record(Record::new("auditor", "camera.search", format!("q{i}")).detail(d.clone())).unwrap();
    }
    log.checkpoint_now().unwrap();
    (dir, store, key)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_detail_verifies_and_reads_back_unchanged(details in prop::collection::vec(detail(), 1..6)) {
        let (_dir, store, key) = written_log(&details);
        let report = verify_log(&*store, &key.verifying_key()).unwrap();
        prop_assert!(report.is_ok(), "{:?}", report);
        prop_assert_eq!(report.unwrap().entries, details.len() as i64);
        let read: Vec<Value> = store.audit_entries(0, usize::MAX).unwrap().into_iter().map(|e| e.detail).collect();
        prop_assert_eq!(read, details);
    }

    #[test]
    fn a_changed_byte_in_a_stored_detail_is_caught(details in prop::collection::vec(detail(), 1..4), which in any::<prop::sample::Index>(), at in any::<prop::sample::Index>()) {
        let (dir, store, key) = written_log(&details);
        drop(store);
        let seq = which.index(details.len()) as i64 + 1;
        change_one_byte(&dir, seq, at);
        let store = Store::open(&dir.path().join("citywatch.db")).unwrap();
        let report = verify_log(&store, &key.verifying_key()).unwrap();
        let failure = report.expect_err("a changed detail must not verify");
        prop_assert_eq!(failure.seq, seq);
        prop_assert!(failure.reason.contains("altered"), "{}", failure.reason);
    }
}

/// Changes one byte of entry `seq`'s stored detail text directly in
/// SQLite, as someone with the database file would, keeping it UTF-8.
fn change_one_byte(dir: &tempfile::TempDir, seq: i64, at: prop::sample::Index) {
    let db = rusqlite::Connection::open(dir.path().join("citywatch.db")).unwrap();
    let detail: String = db.query_row("SELECT detail FROM audit_log WHERE seq = ?1", [seq], |r| r.get(0)).unwrap();
    let mut bytes = detail.into_bytes();
    let ascii: Vec<usize> = bytes.iter().enumerate().filter(|(_, b)| b.is_ascii()).map(|(i, _)| i).collect();
    if ascii.is_empty() {
        bytes.push(b' ');
    } else {
        let i = ascii[at.index(ascii.len())];
        bytes[i] = if bytes[i] == b'1' { b'2' } else { b'1' };
    }
    db.execute("UPDATE audit_log SET detail = ?1 WHERE seq = ?2", rusqlite::params![String::from_utf8(bytes).unwrap(), seq]).unwrap();
}
