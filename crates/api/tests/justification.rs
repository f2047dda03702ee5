//! Purpose and case reference, wherever they are asked for, are readable text
//! of at most 500 characters: no NUL, no control or invisible (format)
//! characters. They are refused with a message naming the field before
//! anything is read, stored or recorded; any script's letters pass.

mod common;

use chrono::{Duration, Utc};
use citywatch_model::Role;
use common::{start, TestServer};
use serde_json::{json, Value};

const NUL: &str = "theft\u{0}at night";
const ZERO_WIDTH: &str = "KT\u{200B}12/2026";
const CYRILLIC: &str = "Предмет 12/2026";
const LATIN: &str = "Šabac, krađa bicikla";

fn too_long() -> String {
    "č".repeat(501)
}

async fn get(s: &TestServer, token: &str, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    common::status_json(s.client.get(s.url(path)).bearer_auth(token).query(query).send().await.unwrap()).await
}

fn audited(s: &TestServer, action: &str) -> Vec<(Option<String>, Option<String>)> {
    s.audit_entries().into_iter().filter(|e| e.action == action).map(|e| (e.purpose, e.case_ref)).collect()
}

fn assert_refused(st: u16, body: &Value, field: &str, what: &str) {
    assert_eq!(st, 400, "{what}: {body}");
    let msg = body["error"].as_str().unwrap();
    assert!(msg.contains(field), "{what}: names the field: {msg}");
}

#[tokio::test]
async fn query_parameters_are_checked_on_every_route_that_asks_for_them() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("sup", &[(Role::Supervisor, None, None)]);
    let (root, sup) = (s.login("root").await, s.login("sup").await);
    let (st, b) = s.send(&root, "POST", "/api/v1/cameras", Some(json!({"id": "n1", "lat": 44.825, "lon": 20.46, "district": "North"}))).await;
    assert_eq!(st, 201, "{b}");
    let (st, b) = s.send(&root, "POST", "/api/v1/units", Some(json!({"id": "car-1", "call_sign": "C1", "kind": "car"}))).await;
    assert_eq!(st, 201, "{b}");
    let (start_t, end_t) = ("2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z");
    let long = too_long();
    let bad: [(&str, &str, &str); 4] =
        [("purpose", NUL, "NUL"), ("purpose", ZERO_WIDTH, "U+200B"), ("case_ref", &long, "501 characters"), ("case_ref", "a\u{1b}[2J", "U+001B")];

    for (field, value, shown) in bad {
        let (purpose, case_ref) = if field == "purpose" { (value, "C-1") } else { ("review", value) };
        let why = [("purpose", purpose), ("case_ref", case_ref)];
        let routes: [(&str, Vec<(&str, &str)>); 4] = [
            ("/api/v1/plates/search", vec![("plate", "BG 12*")]),
            ("/api/v1/events", vec![("type", "plate_read")]),
            ("/api/v1/units/car-1/trail", vec![("start", start_t), ("end", end_t)]),
            ("/api/v1/cameras/n1/view.mp4", vec![("start", start_t), ("end", end_t)]),
        ];
        for (path, mut query) in routes {
            query.extend(why);
            let (st, body) = get(&s, &sup, path, &query).await;
            assert_refused(st, &body, field, &format!("{path} with {shown}"));
            if shown != "NUL" {
                assert!(body["error"].as_str().unwrap().contains(shown), "{path}: says what is wrong: {body}");
            }
        }
    }
    for action in ["plate.search", "event.search", "unit.trail", "video.playback"] {
        assert!(audited(&s, action).is_empty(), "{action}: refused before anything was recorded");
    }

    // Text in any script, up to 500 characters, passes and is recorded trimmed.
    let fine = "ž".repeat(500);
    let (st, body) = get(&s, &sup, "/api/v1/plates/search", &[("plate", "BG 12*"), ("purpose", &format!(" {LATIN} ")), ("case_ref", CYRILLIC)]).await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = get(&s, &sup, "/api/v1/units/car-1/trail", &[("start", start_t), ("end", end_t), ("purpose", &fine), ("case_ref", CYRILLIC)]).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(audited(&s, "plate.search"), vec![(Some(LATIN.to_owned()), Some(CYRILLIC.to_owned()))]);
    assert_eq!(audited(&s, "unit.trail"), vec![(Some(fine), Some(CYRILLIC.to_owned()))]);
}

fn fields(body: &Value) -> Vec<String> {
    body["fields"].as_array().unwrap_or_else(|| panic!("no fields in {body}")).iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn legal_holds_and_unmask_grants_store_only_readable_text() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("sup", &[(Role::Supervisor, None, None)]);
    s.user("op", &[(Role::Operator, None, None)]);
    let (root, sup) = (s.login("root").await, s.login("sup").await);
    let (st, b) = s.send(&root, "POST", "/api/v1/cameras", Some(json!({"id": "n1", "lat": 44.825, "lon": 20.46, "district": "North"}))).await;
    assert_eq!(st, 201, "{b}");
    let hold = |purpose: &str, case_ref: &str| {
        json!({"camera_id": "n1", "start": "2026-01-01T00:00:02Z", "end": "2026-01-01T00:00:03Z",
               "purpose": purpose, "case_ref": case_ref, "expires_at": (Utc::now() + Duration::days(7)).to_rfc3339()})
    };
    let grant = |purpose: &str, case_ref: &str| json!({"grantee": "op", "camera_ids": ["n1"], "expires_at": (Utc::now() + Duration::hours(1)).to_rfc3339(), "purpose": purpose, "case_ref": case_ref});
    // About a megabyte, as in the review: refused, not stored in the audit log.
    let huge = "x".repeat(1_000_000);
    for (purpose, case_ref, bad) in
        [(NUL, "C-1", "purpose"), ("review", ZERO_WIDTH, "case_ref"), (huge.as_str(), "C-1", "purpose"), ("review", &too_long(), "case_ref")]
    {
        let (st, body) = s.send(&sup, "POST", "/api/v1/legal-holds", Some(hold(purpose, case_ref))).await;
        assert_eq!(st, 422, "{body}");
        assert_eq!(fields(&body), [bad], "{body}");
        let (st, body) = s.send(&sup, "POST", "/api/v1/unmask-grants", Some(grant(purpose, case_ref))).await;
        assert_eq!(st, 422, "{body}");
        assert_eq!(fields(&body), [bad], "{body}");
    }
    assert!(common::blocking(|| s.repos.access.legal_holds()).unwrap().is_empty());
    assert!(common::blocking(|| s.repos.access.unmask_grants()).unwrap().is_empty());
    assert!(audited(&s, "legal_hold.create").is_empty() && audited(&s, "unmask_grant.create").is_empty());

    let (st, body) = s.send(&sup, "POST", "/api/v1/legal-holds", Some(hold(LATIN, CYRILLIC))).await;
    assert_eq!(st, 201, "{body}");
    assert_eq!((body["purpose"].as_str(), body["case_ref"].as_str()), (Some(LATIN), Some(CYRILLIC)));
    let (st, body) = s.send(&sup, "POST", "/api/v1/unmask-grants", Some(grant(&format!("{CYRILLIC}\t"), LATIN))).await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(audited(&s, "unmask_grant.create"), vec![(Some(CYRILLIC.to_owned()), Some(LATIN.to_owned()))]);
}
