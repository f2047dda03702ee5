//! The conformance suite of [`AuditRepo`]: what every backend must do, run
//! against each of them (SQLite in `tests/conformance_sqlite.rs`,
//! PostgreSQL in `citywatch-store-postgres`). Built only with the
//! `conformance` feature, which only tests enable.
//!
//! Each case takes a [`Backend`] holding a fresh, empty database and opens
//! as many handles to it as it needs: two handles are two connections, as
//! two processes (a server and the CLI, or two nodes of a cluster) would
//! have. [`audit_repo_conformance!`](crate::audit_repo_conformance) makes
//! one test per case.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use citywatch_model::{AuditCheckpoint, AuditEncoding, AuditFilter, AuditRow, ChainHead, RepoError};
use ed25519_dalek::SigningKey;
use serde_json::json;

use crate::canonical::{stored_text_hash, GENESIS_HASH};
use crate::repo::AuditRepo;
use crate::{verify_log, AuditLog, Record};

/// A fresh, empty database of one backend.
pub trait Backend {
    /// A new handle (its own connection or pool) to the same database.
    fn connect(&self) -> Arc<dyn AuditRepo>;
}

/// One test per case of the suite, for the backend `$fresh` makes (an
/// expression evaluated anew for each test, giving a [`Backend`]).
#[macro_export]
macro_rules! audit_repo_conformance {
    ($fresh:expr) => {
        $crate::audit_repo_conformance!(@cases $fresh;
            an_empty_log_has_no_head_rows_or_checkpoints,
            rows_read_back_byte_for_byte_as_appended,
            rows_page_in_seq_order,
            a_row_that_does_not_follow_the_head_is_refused_and_nothing_written,
            a_row_without_an_encoding_is_refused,
            each_filter_selects_its_entries_within_the_head,
            actions_in_a_time_window_come_newest_first,
            unmask_grant_uses_are_counted_per_grant,
            checkpoints_are_kept_once_and_found_by_the_seq_they_cover,
            a_log_written_through_audit_log_verifies,
            two_writers_at_once_make_one_chain,
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

const T0: i64 = 1_796_000_000; // 2026-11-30, a fixed time for rows made here

fn at(offset_s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(T0 + offset_s, 123_456_000).single().expect("a valid time")
}

/// What a test row says; the row itself is made against the head.
#[derive(Clone)]
struct Spec {
    time: DateTime<Utc>,
    actor: &'static str,
    action: &'static str,
    target: String,
    case_ref: Option<&'static str>,
    result: &'static str,
    detail: serde_json::Value,
}

fn spec(offset_s: i64, actor: &'static str, action: &'static str, target: &str) -> Spec {
    Spec { time: at(offset_s), actor, action, target: target.to_owned(), case_ref: None, result: "ok", detail: json!({}) }
}

/// The row `spec` makes on `head`, hashed as the log hashes.
fn row_on(head: Option<&ChainHead>, s: &Spec) -> AuditRow {
    let mut row = AuditRow {
        seq: head.map_or(1, |h| h.seq + 1),
        time: AuditRow::time_text(s.time),
        actor: s.actor.into(),
        action: s.action.into(),
        target: s.target.clone(),
        purpose: s.case_ref.map(|_| "investigation".to_owned()),
        case_ref: s.case_ref.map(str::to_owned),
        result: s.result.into(),
        detail: crate::canonical_json(&s.detail),
        prev_hash: head.map_or_else(|| GENESIS_HASH.to_owned(), |h| h.hash.clone()),
        hash: String::new(),
        encoding: Some(AuditEncoding::StoredText),
    };
    row.hash = stored_text_hash(&row);
    row
}

fn append(repo: &dyn AuditRepo, s: &Spec) -> AuditRow {
    let s = s.clone();
    repo.append(Box::new(move |head| row_on(head, &s))).expect("append")
}

pub fn an_empty_log_has_no_head_rows_or_checkpoints(b: &dyn Backend) {
    let repo = b.connect();
    assert_eq!(repo.head().unwrap(), None);
    assert_eq!(repo.head_seq().unwrap(), 0);
    assert!(repo.rows(0, 100).unwrap().is_empty());
    assert!(repo.entries(0, 100).unwrap().is_empty());
    assert!(repo.checkpoints().unwrap().is_empty());
    assert_eq!(repo.last_checkpoint_seq().unwrap(), 0);
    assert_eq!(repo.last_checkpoint().unwrap(), None);
    assert_eq!(repo.checkpoint_covering(1).unwrap(), None);
    assert!(repo.unmask_grant_uses(at(-1)).unwrap().is_empty());
}

pub fn rows_read_back_byte_for_byte_as_appended(b: &dyn Backend) {
    let repo = b.connect();
    // Text a database might normalise: non-ASCII, escapes, a key order
    // that is not alphabetical, NUL-free control characters, big numbers.
    let mut odd = spec(1, "ana.đorđević", "camera.search", "Савски венац \"north\"");
    odd.detail = json!({"zeta": 1, "alpha": "tab\there", "n": 12345678901234567_i64, "f": 0.1, "emoji": "🚓", "nested": {"b": [1, null, true]}});
    odd.case_ref = Some("KU-2026/17");
    let first = append(&*repo, &odd);
    let second = append(&*repo, &spec(2, "bob", "video.playback", "cam-1"));
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(first.prev_hash, GENESIS_HASH);
    assert_eq!(second.prev_hash, first.hash);
    let read = b.connect().rows(0, 10).unwrap();
    assert_eq!(read, vec![first.clone(), second.clone()], "a second connection reads exactly what was appended");
    assert_eq!(repo.head().unwrap(), Some(ChainHead { seq: 2, hash: second.hash.clone() }));
    let entries = repo.entries(0, 10).unwrap();
    assert_eq!(entries[0].detail, odd.detail);
    assert_eq!(entries[0].time, odd.time);
    assert_eq!(entries[0].case_ref.as_deref(), Some("KU-2026/17"));
    assert_eq!(entries[1].hash, second.hash);
}

pub fn rows_page_in_seq_order(b: &dyn Backend) {
    let repo = b.connect();
    for i in 0..25 {
        append(&*repo, &spec(i, "ana", "camera.search", &format!("q{i}")));
    }
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = repo.rows(after, 7).unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 7);
        after = last.seq;
        seen.extend(page.iter().map(|r| r.seq));
    }
    assert_eq!(seen, (1..=25).collect::<Vec<_>>());
    assert_eq!(repo.entries(20, 100).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), vec![21, 22, 23, 24, 25]);
    assert_eq!(repo.entries(0, 3).unwrap().len(), 3);
}

pub fn a_row_that_does_not_follow_the_head_is_refused_and_nothing_written(b: &dyn Backend) {
    let repo = b.connect();
    let first = append(&*repo, &spec(1, "ana", "camera.search", "q"));
    // A writer that chains to a head it read earlier (seq 1 again): a fork.
    let s = spec(2, "bob", "camera.search", "fork");
    let stale = repo.append(Box::new(move |_| row_on(None, &s)));
    assert!(matches!(stale, Err(RepoError::Stale(_))), "{stale:?}");
    // A row that skips a seq, or names another prev_hash, is no better.
    let s = spec(3, "bob", "camera.search", "gap");
    let gap = repo.append(Box::new(move |head| AuditRow { seq: head.unwrap().seq + 2, ..row_on(head, &s) }));
    assert!(matches!(gap, Err(RepoError::Stale(_))), "{gap:?}");
    let s = spec(4, "bob", "camera.search", "prev");
    let prev = repo.append(Box::new(move |head| AuditRow { prev_hash: "f".repeat(64), ..row_on(head, &s) }));
    assert!(matches!(prev, Err(RepoError::Stale(_))), "{prev:?}");
    assert_eq!(repo.rows(0, 10).unwrap(), vec![first.clone()], "nothing of the refused rows was written");
    assert_eq!(repo.head().unwrap().map(|h| h.seq), Some(1));
    let next = append(&*repo, &spec(5, "bob", "camera.search", "fine"));
    assert_eq!((next.seq, next.prev_hash), (2, first.hash), "the log goes on after a refusal");
}

pub fn a_row_without_an_encoding_is_refused(b: &dyn Backend) {
    let repo = b.connect();
    let s = spec(1, "ana", "camera.search", "q");
    let refused = repo.append(Box::new(move |head| AuditRow { encoding: None, ..row_on(head, &s) }));
    assert!(refused.is_err());
    assert_eq!(repo.head_seq().unwrap(), 0);
}

pub fn each_filter_selects_its_entries_within_the_head(b: &dyn Backend) {
    let repo = b.connect();
    let mut with_case = spec(10, "ana", "video.playback", "cam-1");
    with_case.case_ref = Some("KU-1");
    let mut denied = spec(20, "bob", "access.denied", "cam-2");
    denied.result = "denied";
    for s in [spec(0, "ana", "camera.search", "q1"), with_case, denied, spec(30, "ana", "video.live", "cam-2"), spec(40, "cleo", "camera.search", "q2")] {
        append(&*repo, &s);
    }
    let seqs =
        |f: AuditFilter, after: i64, head: i64, limit: usize| repo.entries_matching(&f, after, head, limit).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>();
    let some = |v: &str| Some(v.to_owned());
    assert_eq!(seqs(AuditFilter::default(), 0, 5, 100), vec![1, 2, 3, 4, 5]);
    assert_eq!(seqs(AuditFilter { actor: some("ana"), ..Default::default() }, 0, 5, 100), vec![1, 2, 4]);
    assert_eq!(seqs(AuditFilter { action: some("camera.search"), ..Default::default() }, 0, 5, 100), vec![1, 5]);
    assert_eq!(seqs(AuditFilter { target: some("cam-2"), ..Default::default() }, 0, 5, 100), vec![3, 4]);
    assert_eq!(seqs(AuditFilter { case_ref: some("KU-1"), ..Default::default() }, 0, 5, 100), vec![2]);
    assert_eq!(seqs(AuditFilter { result: some("denied"), ..Default::default() }, 0, 5, 100), vec![3]);
    // `from` inclusive, `to` exclusive, to the microsecond.
    assert_eq!(seqs(AuditFilter { from: Some(at(10)), to: Some(at(30)), ..Default::default() }, 0, 5, 100), vec![2, 3]);
    assert_eq!(seqs(AuditFilter { from: Some(at(10) + Duration::microseconds(1)), ..Default::default() }, 0, 5, 100), vec![3, 4, 5]);
    assert_eq!(seqs(AuditFilter { actor: some("ana"), from: Some(at(5)), ..Default::default() }, 0, 5, 100), vec![2, 4]);
    // The head bounds what a paged walk sees; after_seq and limit page it.
    assert_eq!(seqs(AuditFilter::default(), 0, 3, 100), vec![1, 2, 3]);
    assert_eq!(seqs(AuditFilter::default(), 1, 5, 2), vec![2, 3]);
    assert_eq!(seqs(AuditFilter { actor: some("nobody"), ..Default::default() }, 0, 5, 100), Vec::<i64>::new());
}

pub fn actions_in_a_time_window_come_newest_first(b: &dyn Backend) {
    let repo = b.connect();
    for (i, action) in ["video.live", "camera.search", "video.playback", "video.live", "plate.search"].iter().enumerate() {
        append(&*repo, &spec(i as i64 * 60, "ana", action, "x"));
    }
    let seqs = |actions: &[&str], from, to, limit| repo.entries_with_actions(actions, from, to, limit).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&["video.live", "video.playback"], at(0), at(300), 100), vec![4, 3, 1]);
    assert_eq!(seqs(&["video.live", "video.playback"], at(60), at(180), 100), vec![3], "from inclusive, to exclusive");
    assert_eq!(seqs(&["video.live", "video.playback", "plate.search"], at(0), at(300), 2), vec![5, 4]);
    assert_eq!(seqs(&[], at(0), at(300), 100), Vec::<i64>::new());
}

pub fn unmask_grant_uses_are_counted_per_grant(b: &dyn Backend) {
    let repo = b.connect();
    let use_of = |offset, action: &'static str, detail| Spec { detail, ..spec(offset, "ana", action, "cam-1") };
    for s in [
        use_of(0, "video.live", json!({"unmask_grant": 7})),
        use_of(10, "video.playback", json!({"unmask_grant": 7, "from": "x"})),
        use_of(20, "event.snapshot", json!({"unmask_grant": 9})),
        // Not a view, or not naming a grant by number: not counted.
        use_of(30, "camera.search", json!({"unmask_grant": 7})),
        use_of(40, "video.live", json!({"unmask_grant": "7"})),
        use_of(50, "video.live", json!({"unmask_grant": 7.5})),
        use_of(60, "video.live", json!({"other": 7})),
        use_of(70, "video.live", json!({"note": "\"unmask_grant\": 7 in a string"})),
    ] {
        append(&*repo, &s);
    }
    let uses = repo.unmask_grant_uses(at(0)).unwrap();
    assert_eq!(uses.len(), 2, "{uses:?}");
    assert_eq!((uses[&7].count, uses[&7].last_used), (2, at(10)));
    assert_eq!((uses[&9].count, uses[&9].last_used), (1, at(20)));
    let later: HashMap<_, _> = repo.unmask_grant_uses(at(5)).unwrap();
    assert_eq!(later[&7].count, 1, "since is inclusive of later uses only");
}

pub fn checkpoints_are_kept_once_and_found_by_the_seq_they_cover(b: &dyn Backend) {
    let repo = b.connect();
    let checkpoint = |seq: i64, sig: &str| AuditCheckpoint { seq, hash: format!("{seq:064x}"), time: at(seq), signature: sig.repeat(128) };
    repo.append_checkpoint(&checkpoint(64, "a")).unwrap();
    repo.append_checkpoint(&checkpoint(128, "b")).unwrap();
    repo.append_checkpoint(&checkpoint(64, "c")).unwrap();
    let all = repo.checkpoints().unwrap();
    assert_eq!(all, vec![checkpoint(64, "a"), checkpoint(128, "b")], "the first checkpoint at a seq is kept");
    assert_eq!(repo.last_checkpoint_seq().unwrap(), 128);
    assert_eq!(repo.last_checkpoint().unwrap(), Some(checkpoint(128, "b")));
    assert_eq!(repo.checkpoint_covering(1).unwrap(), Some(checkpoint(64, "a")));
    assert_eq!(repo.checkpoint_covering(64).unwrap(), Some(checkpoint(64, "a")));
    assert_eq!(repo.checkpoint_covering(65).unwrap(), Some(checkpoint(128, "b")));
    assert_eq!(repo.checkpoint_covering(129).unwrap(), None);
}

pub fn a_log_written_through_audit_log_verifies(b: &dyn Backend) {
    let key = SigningKey::from_bytes(&[3u8; 32]);
    let log = AuditLog::new(b.connect(), key.clone());
    for i in 0..70 {
        log.record(Record::new("ana", "camera.search", format!("q{i}")).detail(json!({"i": i, "text": "ćirilica ћирилица"}))).unwrap();
    }
    log.checkpoint_now().unwrap();
    let report = verify_log(&*b.connect(), &key.verifying_key()).unwrap().expect("an untouched log verifies");
    assert_eq!((report.entries, report.checkpoints, report.last_checkpoint_seq), (70, 2, 70));
    let wrong = SigningKey::from_bytes(&[4u8; 32]).verifying_key();
    assert_eq!(verify_log(&*b.connect(), &wrong).unwrap().unwrap_err().seq, 64, "another key's checkpoints do not verify");
}

/// Two writers on two connections append at the same time: every entry is
/// kept, seqs run 1..n without a gap, each entry chains to the one before
/// (no fork), and the log verifies.
pub fn two_writers_at_once_make_one_chain(b: &dyn Backend) {
    const EACH: usize = 150;
    let key = SigningKey::from_bytes(&[5u8; 32]);
    let writers: Vec<_> = ["ana", "bob"]
        .into_iter()
        .map(|who| {
            let log = AuditLog::new(b.connect(), key.clone());
            std::thread::spawn(move || {
                for i in 0..EACH {
                    log.record(Record::new(who, "camera.search", format!("{who}-{i}"))).expect("append under contention");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("a writer panicked");
    }
    let repo = b.connect();
    let rows = repo.rows(0, usize::MAX).unwrap();
    assert_eq!(rows.len(), 2 * EACH);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.seq, i as i64 + 1);
        let prev = if i == 0 { GENESIS_HASH } else { &rows[i - 1].hash };
        assert_eq!(row.prev_hash, prev, "seq {} chains to the row before it", row.seq);
    }
    for who in ["ana", "bob"] {
        let mine: Vec<_> = rows.iter().filter(|r| r.actor == who).map(|r| r.target.clone()).collect();
        assert_eq!(mine, (0..EACH).map(|i| format!("{who}-{i}")).collect::<Vec<_>>(), "{who}'s entries in the order written");
    }
    assert!(verify_log(&*repo, &key.verifying_key()).unwrap().is_ok());
}
