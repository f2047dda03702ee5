//! Every byte of a recording served by `view.mp4` is covered by a
//! `video.playback` audit entry carrying the purpose and case reference,
//! whatever `Range` header asks for it; a `Range` the server does not
//! understand gets a clear 4xx and no video.

mod common;

use citywatch_model::Role;
use common::{start, TestServer};
use serde_json::json;

const VIEW: &str = "/api/v1/cameras/n1/view.mp4?start=2026-01-01T00:00:01Z&end=2026-01-01T00:00:03Z&purpose=hit+and+run&case_ref=CASE-7";

/// The `video.playback` entries written so far, as (purpose, case_ref, bytes served).
fn playbacks(s: &TestServer) -> Vec<(Option<String>, Option<String>, String)> {
    s.audit_entries()
        .into_iter()
        .filter(|e| e.action == "video.playback" && e.actor == "sup" && e.result == "ok")
        .map(|e| (e.purpose, e.case_ref, e.detail["bytes"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

async fn fetch(s: &TestServer, token: &str, range: Option<&str>) -> (u16, Option<String>, Vec<u8>) {
    let mut req = s.client.get(s.url(VIEW)).bearer_auth(token);
    if let Some(r) = range {
        req = req.header("range", r);
    }
    let r = req.send().await.unwrap();
    let content_range = r.headers().get("content-range").map(|v| v.to_str().unwrap().to_owned());
    (r.status().as_u16(), content_range, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn every_range_served_is_audited_with_purpose_and_case_ref() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    // A supervisor sees faces: the recording itself, with byte ranges.
    s.user("sup", &[(Role::Supervisor, None, None)]);
    let (root, sup) = (s.login("root").await, s.login("sup").await);
    let (st, b) = s.send(&root, "POST", "/api/v1/cameras", Some(json!({"id": "n1", "lat": 44.825, "lon": 20.46, "district": "North"}))).await;
    assert_eq!(st, 201, "{b}");
    s.record_synthetic("n1", "2026-01-01T00:00:00Z", 4);

    let (st, _, whole) = fetch(&s, &sup, None).await;
    assert_eq!(st, 200);
    let total = whole.len();
    assert!(total > 1000, "a real file: {total} bytes");
    assert_eq!(playbacks(&s).len(), 1);

    // Each of these once served a playable file without an entry.
    let last = total - 1;
    for (range, first) in [("bytes=-999999999", 0), ("bytes= 0-", 0), ("bytes=00-", 0), ("bytes=100-", 100), ("bytes=-500", total - 500), ("bytes=10-19", 10)] {
        let before = playbacks(&s).len();
        let (st, content_range, body) = fetch(&s, &sup, Some(range)).await;
        assert_eq!(st, 206, "{range}");
        let end = if range == "bytes=10-19" { 19 } else { last };
        assert_eq!(content_range.as_deref(), Some(format!("bytes {first}-{end}/{total}").as_str()), "{range}");
        assert_eq!(body, whole[first..=end], "{range}");
        let entries = playbacks(&s);
        assert_eq!(entries.len(), before + 1, "{range}: one more video.playback entry");
        assert_eq!(
            entries[before],
            (Some("hit and run".into()), Some("CASE-7".into()), format!("{first}-{end}/{total}")),
            "{range}: the entry names exactly the bytes served"
        );
    }
    assert_eq!(playbacks(&s)[0].2, format!("0-{}/{total}", total - 1), "the whole file's entry says so");

    // Not understood: a clear 400, no video, nothing to audit.
    let before = playbacks(&s).len();
    for range in ["bytes=abc", "bytes=+5-", "bytes=20-10", "bytes=0-1,5-6", "items=0-", "bytes=-", "bytes=0x10-"] {
        let (st, _, body) = fetch(&s, &sup, Some(range)).await;
        assert_eq!(st, 400, "{range}");
        let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{range}: a JSON error, not video"));
        assert!(error["error"].as_str().unwrap().contains("Range"), "{range}: {error}");
    }
    // Past the end: 416 saying how long the file is, no video.
    for range in [format!("bytes={total}-"), "bytes=-0".to_owned()] {
        let (st, content_range, body) = fetch(&s, &sup, Some(&range)).await;
        assert_eq!((st, content_range), (416, Some(format!("bytes */{total}"))), "{range}");
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok(), "{range}: a JSON error, not video");
    }
    assert_eq!(playbacks(&s).len(), before, "nothing served, nothing recorded as served");
}
