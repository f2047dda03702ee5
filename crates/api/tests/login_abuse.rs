//! Login under attack, over real HTTP: oversized bodies and names never
//! reach the audit log, a burst of refused logins is one counted entry, and
//! throttling is per user *and* client address, so an attacker elsewhere
//! cannot lock an account out.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use citywatch_model::Role;
use common::{start, TestServer, PASSWORD};
use serde_json::{json, Value};

/// A client whose connections come from `ip` (any 127.0.0.0/8 address is
/// this machine), so one test can play several client addresses.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(ip.parse::<IpAddr>().unwrap()).build().unwrap()
}

async fn login(s: &TestServer, client: &reqwest::Client, username: &str, password: &str) -> reqwest::Response {
    client.post(s.url("/api/v1/auth/login")).json(&json!({"username": username, "password": password})).send().await.unwrap()
}

/// Bytes the log holds for the login entries (actor, target, detail).
fn login_entry_bytes(s: &TestServer) -> usize {
    s.audit_entries().iter().filter(|e| e.action == "auth.login").map(|e| e.actor.len() + e.target.len() + e.detail.to_string().len()).sum()
}

/// Login attempts the log accounts for: one per individual entry, or the
/// count a summary entry carries.
fn counted_login_denials(s: &TestServer) -> (usize, u64) {
    let entries: Vec<_> = s.audit_entries().into_iter().filter(|e| e.action == "auth.login" && e.result == "denied").collect();
    let attempts = entries.iter().map(|e| e.detail.get("attempts").and_then(Value::as_u64).unwrap_or(1)).sum();
    (entries.len(), attempts)
}

#[tokio::test]
async fn huge_login_bodies_and_names_leave_the_audit_log_small() {
    let s = start().await;
    let before = login_entry_bytes(&s);
    // Just under the 2 MiB that axum allows by default.
    let huge = "a".repeat(2_000_000);
    for _ in 0..20 {
        // The server may answer 413 and close before reading the body, so
        // the client may see the connection end instead.
        if let Ok(r) = s.client.post(s.url("/api/v1/auth/login")).json(&json!({"username": huge, "password": "wrong-password"})).send().await {
            assert!(matches!(r.status().as_u16(), 400 | 413 | 429), "{}", r.status());
        }
    }
    // Just under the body limit, still far over the name limit.
    let long = "b".repeat(7 * 1024);
    let r = login(&s, &s.client, &long, "wrong-password").await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("username"), "{body}");
    let r = login(&s, &s.client, "ana\u{0}\u{200b}", "wrong-password").await;
    assert_eq!(r.status(), 400, "control and invisible characters are no user name");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let grown = login_entry_bytes(&s) - before;
    assert!(grown < 4096, "22 oversized logins added {grown} bytes of audit log");
}

#[tokio::test]
async fn a_burst_of_bad_logins_is_counted_in_few_entries() {
    let s = start().await;
    s.user("ana", &[(Role::Operator, None, None)]);
    let mut statuses = Vec::new();
    for _ in 0..50 {
        statuses.push(login(&s, &s.client, "ana", "wrong-password").await.status().as_u16());
    }
    assert!(statuses.iter().all(|st| *st == 401 || *st == 429), "{statuses:?}");
    assert!(statuses.contains(&429), "a burst is throttled: {statuses:?}");
    // The refusals are written as one summary once the burst is over.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (entries, attempts) = counted_login_denials(&s);
        if attempts == 50 {
            assert!(entries <= 10, "50 bad logins took {entries} audit entries");
            break;
        }
        assert!(attempts < 50, "counted {attempts} of 50 attempts");
        assert!(Instant::now() < deadline, "after 15 s the log accounts for {attempts} of 50 bad logins in {entries} entries");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let summary = s.audit_entries().into_iter().find(|e| e.detail.get("attempts").is_some()).unwrap();
    assert_eq!(summary.actor, "ana");
    assert_eq!(summary.detail["peer"], "127.0.0.1");
}

#[tokio::test]
async fn failures_from_one_address_do_not_lock_the_account_elsewhere() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    let attacker = client_from("127.0.0.2");
    for n in 0..5 {
        let r = login(&s, &attacker, "admin", "wrong-password").await;
        assert_eq!(r.status(), 401, "failure {n}");
    }
    // The attacker's address now waits, even with the right password...
    let r = login(&s, &attacker, "admin", PASSWORD).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "the first wait is short: {wait} s");
    // ...while the admin at another address logs in at once.
    let admin = client_from("127.0.0.3");
    let r = login(&s, &admin, "admin", PASSWORD).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // The attacker's waits grow with each failure.
    tokio::time::sleep(Duration::from_millis(wait * 1000 + 100)).await;
    assert_eq!(login(&s, &attacker, "admin", "wrong-password").await.status(), 401);
    let r = login(&s, &attacker, "admin", "wrong-password").await;
    assert_eq!(r.status(), 429);
    let longer: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(longer >= 2 && longer > wait - 1, "the wait grew: {wait} s, then {longer} s");
}

#[tokio::test]
async fn one_address_spraying_names_is_rate_limited_before_passwords_are_checked() {
    let s = start().await;
    let started = Instant::now();
    let mut refused = 0;
    for n in 0..80 {
        let r = login(&s, &s.client, &format!("user{n}"), "wrong-password").await;
        if r.status() == 429 {
            assert!(r.headers().get("retry-after").is_some());
            refused += 1;
        }
    }
    assert!(refused >= 30, "only {refused} of 80 sprayed logins were refused in {:?}", started.elapsed());
    // Another address is not affected.
    let other = client_from("127.0.0.4");
    assert_eq!(login(&s, &other, "user1", "wrong-password").await.status(), 401);
}
