//! The audit log cannot be grown without bound by repeating a refused
//! request (repeats are counted into one entry, none lost at shutdown), and
//! an auditor paging to the end of the log gets there (a walk has a fixed
//! head, though its own page reads are audited).

mod common;

use std::time::Duration;

use citywatch_model::{AuditEntry, Role};
use common::*;
use serde_json::Value;

fn denied_to(s: &TestServer, user: &str) -> Vec<AuditEntry> {
    s.audit_entries().into_iter().filter(|e| e.actor == user && e.action == "access.denied").collect()
}

#[tokio::test]
async fn a_repeated_refusal_is_one_entry_with_a_count() {
    let s = start().await;
    s.state.set_repeat_window(Duration::from_secs(3600));
    s.user("ofc", &[(Role::Officer, None, None)]);
    let ofc = s.login("ofc").await;
    for _ in 0..50 {
        assert_eq!(s.get(&ofc, "/api/v1/audit").await.0, 403);
    }
    assert_eq!(denied_to(&s, "ofc").len(), 1, "the first refusal is written at once, the repeats are counted");
    common::blocking(|| s.state.flush_repeats()).unwrap();
    let entries = denied_to(&s, "ofc");
    assert_eq!(entries.len(), 2);
    let summary = &entries[1];
    assert_eq!((summary.target.as_str(), summary.result.as_str()), ("reading the audit log", "denied"));
    assert_eq!((summary.detail["repeated"].as_u64(), summary.detail["needs"].as_str()), (Some(49), Some("ReadAudit")), "{:?}", summary.detail);
    assert!(summary.detail["first_repeat_at"].is_string() && summary.detail["last_repeat_at"].is_string());
    // A different refusal is a burst of its own.
    assert_eq!(s.get(&ofc, "/api/v1/users").await.0, 403);
    assert_eq!(denied_to(&s, "ofc").len(), 3);
}

#[tokio::test]
async fn the_count_is_written_when_the_window_ends_and_at_shutdown() {
    let s = start().await;
    s.state.set_repeat_window(Duration::from_millis(200));
    s.user("ofc", &[(Role::Officer, None, None)]);
    let ofc = s.login("ofc").await;
    for _ in 0..3 {
        assert_eq!(s.get(&ofc, "/api/v1/audit").await.0, 403);
    }
    // Nobody asks again: the count is written when the window ends all the same.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let entries = denied_to(&s, "ofc");
    assert_eq!(entries.iter().map(|e| e.detail["repeated"].as_u64()).collect::<Vec<_>>(), [None, Some(2)]);

    // A server stopping with a burst still open writes its count.
    s.state.set_repeat_window(Duration::from_secs(3600));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(citywatch_api::serve(listener, s.state.clone(), async {
        let _ = stopped.await;
    }));
    {
        let client = reqwest::Client::new();
        for _ in 0..4 {
            let r = client.get(format!("{base}/api/v1/users")).bearer_auth(&ofc).send().await.unwrap();
            assert_eq!(r.status(), 403);
        }
    }
    assert_eq!(denied_to(&s, "ofc").len(), 3, "the first written, three repeats counted");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let last = denied_to(&s, "ofc").pop().unwrap();
    assert_eq!((last.target.as_str(), last.detail["repeated"].as_u64()), ("managing users", Some(3)), "{:?}", last.detail);
}

#[tokio::test]
async fn an_auditor_paging_to_the_end_gets_there() {
    let s = start().await;
    s.state.set_repeat_window(Duration::from_secs(3600));
    s.user("aud", &[(Role::Auditor, None, None)]);
    s.user("ofc", &[(Role::Officer, None, None)]);
    let aud = s.login("aud").await;
    for _ in 0..5 {
        s.login("ofc").await;
    }
    let (st, first) = s.get(&aud, "/api/v1/audit?limit=2").await;
    assert_eq!(st, 200, "{first}");
    let head = first["head_seq"].as_i64().unwrap();
    let mut seen: Vec<i64> = first["entries"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let mut next = first["next_after_seq"].clone();
    let mut pages = 1;
    while let Some(after) = next.as_i64() {
        pages += 1;
        assert!(pages < 50, "paging never reached the end: {seen:?}");
        let (st, page) = s.get(&aud, &format!("/api/v1/audit?limit=2&after_seq={after}&head_seq={head}")).await;
        assert_eq!(st, 200, "{page}");
        assert_eq!(page["head_seq"].as_i64(), Some(head));
        seen.extend(page["entries"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()));
        next = page["next_after_seq"].clone();
    }
    assert_eq!(next, Value::Null);
    assert_eq!(seen, (1..=head).collect::<Vec<_>>(), "every entry up to the head, once");
    // The walk's page reads are one entry (and a count once flushed).
    common::blocking(|| s.state.flush_repeats()).unwrap();
    let reads: Vec<AuditEntry> = s.audit_entries().into_iter().filter(|e| e.action == "audit.read").collect();
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert_eq!(reads[1].detail["repeated"].as_u64(), Some(pages - 1));
    // A head past the log's is refused.
    let (st, b) = s.get(&aud, &format!("/api/v1/audit?head_seq={}", head + 1000)).await;
    assert_eq!(st, 422, "{b}");
}
