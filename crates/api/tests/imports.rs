//! Imports cost memory in proportion to what they keep, not to what was
//! sent: a file of bad rows is answered with the first problems and a
//! count, a file over the row cap is refused as a whole with nothing
//! stored, and the hotlist import takes no body larger than a hotlist.

mod common;

use citywatch_model::{ImportLimits, Role};
use common::*;

/// The tests that measure this process's peak memory run one at a time,
/// so that no other test's allocations count against them.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// Resets VmHWM to the current resident size (Linux ≥ 4.0).
fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

async fn admin(s: &TestServer) -> String {
    s.user("admin", &[(Role::Admin, None, None)]);
    s.login("admin").await
}

#[tokio::test]
async fn a_hotlist_file_of_bad_rows_gets_a_bounded_answer_in_bounded_memory() {
    let _one_at_a_time = HEAVY.lock().await;
    let s = start().await;
    let token = admin(&s).await;
    // ~14 MB: every row has four problems (plate, reason, priority, expires_at).
    let rows = 190_000;
    let mut csv = String::from("plate,reason,priority,expires_at\n");
    for i in 0..rows {
        csv.push_str(&format!("\"$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$\",,high,someday-soon-or-later-{i:08}\n"));
    }
    assert!(csv.len() > 13_000_000, "{}", csv.len());
    reset_peak_rss();
    let before = peak_rss();
    let r = s.client.post(s.url("/api/v1/hotlists/bad/import")).bearer_auth(&token).header("content-type", "text/csv").body(csv).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let growth = peak_rss().saturating_sub(before);
    eprintln!("a {} MB file of bad rows: answer {} bytes, peak memory grew by {} MB", 14, text.len(), growth / (1024 * 1024));
    assert!(text.len() < 64 * 1024, "the answer is {} bytes", text.len());
    let b: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(b["errors"].as_array().unwrap().len(), ImportLimits::DEFAULT_MAX_ERRORS, "{b}");
    assert_eq!(b["errors"][0]["line"], 2, "{b}");
    assert_eq!(b["error_count"], rows * 4, "{b}");
    assert_eq!(b["bad_rows"], rows, "{b}");
    assert_eq!((b["rows"].as_u64(), b["added"].as_u64()), (Some(rows as u64), Some(0)), "{b}");
    assert!(growth < 150 * 1024 * 1024, "peak memory grew by {} MB for a 14 MB file", growth / (1024 * 1024));
}

#[tokio::test]
async fn a_hotlist_file_over_the_row_cap_is_refused_and_nothing_stored() {
    let s = start().await;
    let token = admin(&s).await;
    s.state.set_import_limits(ImportLimits::default(), ImportLimits { max_rows: 100, max_errors: 10 });
    let csv = |n: usize| {
        let mut csv = String::from("plate,reason,priority\n");
        for i in 0..n {
            csv.push_str(&format!("BG {i:04}-AB,stolen,5\n"));
        }
        csv
    };
    let (st, b) = s.post_raw(&token, "/api/v1/hotlists/big/import", "text/csv", csv(101)).await;
    assert_eq!(st, 413, "{b}");
    assert!(b["error"].as_str().unwrap().contains("more than 100 rows"), "{b}");
    assert_eq!(s.get(&token, "/api/v1/hotlists/big/entries").await.0, 404, "the list was not even created");
    let (st, b) = s.post_raw(&token, "/api/v1/hotlists/big/import", "text/csv", csv(100)).await;
    assert_eq!((st, b["added"].as_u64()), (200, Some(100)), "{b}");
}

#[tokio::test]
async fn the_hotlist_import_takes_no_body_larger_than_a_hotlist() {
    let _one_at_a_time = HEAVY.lock().await;
    let s = start().await;
    let token = admin(&s).await;
    let body = "x".repeat(40 * 1024 * 1024);
    let (st, _) = s.post_raw(&token, "/api/v1/hotlists/huge/import", "text/csv", body).await;
    assert_eq!(st, 413);
}

fn camera_csv(n: usize) -> String {
    let mut csv = String::from("id,lat,lon,district\n");
    for i in 0..n {
        csv.push_str(&format!("cam-{i},44.825,20.46,North\n"));
    }
    csv
}

#[tokio::test]
async fn a_camera_file_over_the_row_cap_is_refused_and_nothing_stored() {
    let s = start().await;
    let token = admin(&s).await;
    s.state.set_import_limits(ImportLimits { max_rows: 50, max_errors: 10 }, ImportLimits::default());
    for atomic in ["?atomic=true", ""] {
        let (st, b) = s.post_raw(&token, &format!("/api/v1/cameras/import{atomic}"), "text/csv", camera_csv(51)).await;
        assert_eq!(st, 413, "{b}");
        assert!(b["error"].as_str().unwrap().contains("more than 50 rows"), "{b}");
        let features: Vec<_> = (0..51).map(|i| feature(&format!("g-{i}"), 44.825, 20.46, 0.0, 90.0, 50.0, "North")).collect();
        let doc = serde_json::json!({"type": "FeatureCollection", "features": features});
        let (st, b) = s.send(&token, "POST", &format!("/api/v1/cameras/import{atomic}"), Some(doc)).await;
        assert_eq!(st, 413, "{b}");
        assert!(ids(&s.get(&token, "/api/v1/cameras").await.1).is_empty(), "nothing stored");
    }
    let (st, b) = s.post_raw(&token, "/api/v1/cameras/import?atomic=true", "text/csv", camera_csv(50)).await;
    assert_eq!((st, b["created"].as_u64()), (200, Some(50)), "{b}");
}

#[tokio::test]
async fn camera_import_reports_the_first_problems_and_counts_them_all() {
    let s = start().await;
    let token = admin(&s).await;
    s.state.set_import_limits(ImportLimits { max_rows: 1_000, max_errors: 10 }, ImportLimits::default());
    // Rows 2..=401 are bad (latitude out of range); the duplicates of the
    // good ones are found by a later pass and still come in file order.
    let mut csv = String::from("id,lat,lon,district\ngood,44.825,20.46,North\n");
    for i in 0..400 {
        csv.push_str(&format!("bad-{i},95,20.46,North\n"));
    }
    csv.push_str("good,44.825,20.46,North\n");
    let (st, b) = s.post_raw(&token, "/api/v1/cameras/import?atomic=true", "text/csv", csv.clone()).await;
    assert_eq!(st, 422, "{b}");
    assert_eq!((b["error_count"].as_u64(), b["bad_rows"].as_u64()), (Some(401), Some(401)), "{b}");
    assert_eq!(b["errors"].as_array().unwrap().len(), 10, "{b}");
    assert_eq!(b["errors"][0]["line"], 3, "{b}");
    assert!(b["error"].as_str().unwrap().contains("401 bad rows"), "{b}");

    let features: Vec<_> = (0..30).map(|i| feature(&format!("g-{i}"), 95.0, 20.46, 0.0, 90.0, 50.0, "North")).collect();
    let doc = serde_json::json!({"type": "FeatureCollection", "features": features});
    let (st, b) = s.send(&token, "POST", "/api/v1/cameras/import", Some(doc)).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!((b["errors"].as_array().unwrap().len(), b["error_count"].as_u64(), b["rows"].as_u64()), (10, Some(30), Some(30)), "{b}");
}
