//! What the auditor's screen reads: the log filtered on the server (actor,
//! action, target, case reference, result, time range) with the walk's fixed
//! head kept, the chain's verification state with the signing key's
//! fingerprint, and exports of a filtered range with the checkpoint that
//! covers it. Only the audit-read permission reaches any of it; refusals
//! name the roles in a sentence.

mod common;

use std::time::Duration;

use chrono::Utc;
use citywatch_audit::Record;
use citywatch_model::Role;
use common::*;
use serde_json::Value;

fn record(s: &TestServer, actor: &str, action: &str, target: &str, case_ref: Option<&str>, result: &str) {
    let r = Record::new(actor, action, target).result(result).purpose(case_ref.map(|_| "investigation".to_owned()), case_ref.map(str::to_owned));
    common::blocking(|| s.state.audit.record(r)).unwrap();
}

fn seqs(body: &Value) -> Vec<i64> {
    body["entries"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

fn field<'a>(body: &'a Value, name: &str) -> Vec<&'a str> {
    body["entries"].as_array().unwrap().iter().map(|e| e[name].as_str().unwrap_or("")).collect()
}

async fn auditor(s: &TestServer) -> String {
    s.user("aud", &[(Role::Auditor, None, None)]);
    s.login("aud").await
}

#[tokio::test]
async fn the_log_is_filtered_on_the_server_by_each_column() {
    let s = start().await;
    let aud = auditor(&s).await;
    record(&s, "alice", "video.playback", "cam-1", Some("CASE-7"), "ok");
    record(&s, "bob", "video.playback", "cam-2", Some("CASE-8"), "ok");
    record(&s, "alice", "plate.search", "BG*", Some("CASE-7"), "ok");
    record(&s, "bob", "access.denied", "reading the audit log", None, "denied");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    record(&s, "alice", "video.playback", "cam-1", Some("CASE-9"), "ok");

    let (st, b) = s.get(&aud, "/api/v1/audit?case_ref=CASE-7").await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(field(&b, "case_ref"), ["CASE-7", "CASE-7"]);
    assert_eq!(field(&b, "action"), ["video.playback", "plate.search"]);

    let (_, b) = s.get(&aud, "/api/v1/audit?actor=alice").await;
    assert_eq!(field(&b, "target"), ["cam-1", "BG*", "cam-1"]);
    let (_, b) = s.get(&aud, "/api/v1/audit?action=video.playback&target=cam-1").await;
    assert_eq!(field(&b, "case_ref"), ["CASE-7", "CASE-9"]);
    let (_, b) = s.get(&aud, "/api/v1/audit?result=denied&actor=bob").await;
    assert_eq!(field(&b, "target"), ["reading the audit log"]);
    let from = between.to_rfc3339();
    let (st, b) = s.get(&aud, &format!("/api/v1/audit?actor=alice&from={}", urlencode(&from))).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(field(&b, "case_ref"), ["CASE-9"]);
    let (_, b) = s.get(&aud, &format!("/api/v1/audit?actor=alice&to={}", urlencode(&from))).await;
    assert_eq!(field(&b, "case_ref"), ["CASE-7", "CASE-7"]);

    // A filtered walk pages to a fixed head like an unfiltered one.
    let (_, first) = s.get(&aud, "/api/v1/audit?actor=alice&limit=2").await;
    assert_eq!(field(&first, "target"), ["cam-1", "BG*"]);
    let head = first["head_seq"].as_i64().unwrap();
    let after = first["next_after_seq"].as_i64().expect("a full page has a next page");
    record(&s, "alice", "video.playback", "cam-3", Some("CASE-10"), "ok");
    let (_, next) = s.get(&aud, &format!("/api/v1/audit?actor=alice&limit=2&after_seq={after}&head_seq={head}")).await;
    assert_eq!(field(&next, "target"), ["cam-1"], "the entry written after the walk began is past its head");
    assert_eq!(next["next_after_seq"], Value::Null);
    assert!(seqs(&next).iter().all(|s| *s <= head));

    // Bad filters are refused with a sentence naming the parameter.
    for (q, word, status) in [("result=maybe", "result", 422), ("from=yesterday", "from", 422), ("colour=red", "colour", 400), ("actor=", "actor", 422)] {
        let (st, b) = s.get(&aud, &format!("/api/v1/audit?{q}")).await;
        assert_eq!(st, status, "{q}: {b}");
        assert!(b["error"].as_str().unwrap().contains(word), "{q}: {b}");
    }
}

#[tokio::test]
async fn verify_reports_the_chain_checkpoint_and_key_fingerprint_and_is_audited() {
    let s = start().await;
    let aud = auditor(&s).await;
    for i in 0..70 {
        record(&s, "alice", "camera.search", &format!("q{i}"), None, "ok");
    }
    let (st, b) = s.get(&aud, "/api/v1/audit/verify").await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["verified"], true, "{b}");
    assert!(b["entries"].as_i64().unwrap() >= 70, "{b}");
    assert!(b["checkpoints"].as_i64().unwrap() >= 1, "{b}");
    let cp = &b["last_checkpoint"];
    assert!(cp["seq"].as_i64().unwrap() >= 64 && cp["time"].is_string() && cp["hash"].is_string(), "{b}");
    let public_key = s.state.audit.public_key_hex();
    assert_eq!(b["public_key"], public_key.as_str());
    let fingerprint = b["public_key_sha256"].as_str().unwrap();
    assert_eq!(fingerprint.len(), 64, "{b}");
    assert_ne!(fingerprint, public_key);
    let audited = s.audit_entries();
    assert!(audited.iter().any(|e| e.actor == "aud" && e.action == "audit.verify" && e.detail["verified"] == true), "verifying is audited");
}

#[tokio::test]
async fn exports_carry_the_filtered_range_and_the_checkpoint_that_covers_it() {
    let s = start().await;
    let aud = auditor(&s).await;
    record(&s, "alice", "video.playback", "cam-1", Some("CASE-7"), "ok");
    record(&s, "bob", "video.playback", "cam-2", Some("CASE-8"), "ok");
    record(&s, "alice", "plate.search", "BG*", Some("CASE-7"), "ok");

    let (st, b) = s.get(&aud, "/api/v1/audit/export?format=json&case_ref=CASE-7").await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(field(&b, "target"), ["cam-1", "BG*"]);
    let last = *seqs(&b).last().unwrap();
    let cp = &b["checkpoint"];
    assert!(cp["seq"].as_i64().unwrap() >= last, "the checkpoint covers the last exported entry: {b}");
    assert!(cp["signature"].as_str().unwrap().len() == 128 && cp["hash"].is_string(), "{b}");
    assert_eq!(cp["public_key"], s.state.audit.public_key_hex().as_str());
    assert_eq!(b["filters"]["case_ref"], "CASE-7");

    let r = s.client.get(s.url("/api/v1/audit/export?format=csv&case_ref=CASE-7")).bearer_auth(&aud).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "seq,time,actor,action,target,purpose,case_ref,result,detail,hash", "{text}");
    assert_eq!(lines.iter().filter(|l| l.contains("CASE-7")).count(), 2, "{text}");
    assert!(!text.contains("CASE-8"), "{text}");
    let trailer = lines.last().unwrap();
    assert!(trailer.starts_with("# checkpoint seq=") && trailer.contains("signature=") && trailer.contains("public_key_sha256="), "{text}");

    let (st, b) = s.get(&aud, "/api/v1/audit/export?format=xml").await;
    assert_eq!(st, 422, "{b}");
    assert!(b["error"].as_str().unwrap().contains("csv or json"), "{b}");
    let exports: Vec<_> = s.audit_entries().into_iter().filter(|e| e.action == "audit.export").collect();
    assert_eq!(exports.len(), 2, "each export is audited");
    assert_eq!((exports[0].detail["format"].as_str(), exports[0].detail["entries"].as_i64()), (Some("json"), Some(2)));
}

#[tokio::test]
async fn only_the_audit_reader_reaches_it_and_refusals_name_roles_in_a_sentence() {
    let s = start().await;
    s.user("op", &[(Role::Operator, None, None)]);
    let op = s.login("op").await;
    for path in ["/api/v1/audit?case_ref=X", "/api/v1/audit/verify", "/api/v1/audit/export?format=json"] {
        let (st, b) = s.get(&op, path).await;
        assert_eq!(st, 403, "{path}: {b}");
        assert_eq!(b["error"], "reading the audit log needs the role auditor; you are an operator", "{path}");
    }
    let aud = auditor(&s).await;
    let (st, b) = s.get(&aud, "/api/v1/cameras").await;
    assert_eq!(st, 403);
    assert_eq!(b["error"], "reading cameras needs the role admin, supervisor, operator, dispatcher or officer; you are an auditor");
    s.user("nobody", &[]);
    let nobody = s.login("nobody").await;
    let (_, b) = s.get(&nobody, "/api/v1/audit").await;
    assert_eq!(b["error"], "reading the audit log needs the role auditor; you hold no role");
    s.user("two", &[(Role::Operator, None, None), (Role::Dispatcher, None, None)]);
    let two = s.login("two").await;
    let (_, b) = s.get(&two, "/api/v1/audit").await;
    assert_eq!(b["error"], "reading the audit log needs the role auditor; you are an operator and a dispatcher");
}

#[tokio::test]
async fn me_lists_the_permissions_the_console_builds_its_views_from() {
    let s = start().await;
    let aud = auditor(&s).await;
    let (_, b) = s.get(&aud, "/api/v1/me").await;
    let perms: Vec<&str> = b["permissions"].as_array().expect("permissions").iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(perms, ["read_audit", "read_unmask_grants"]);
    s.user("op", &[(Role::Operator, None, None)]);
    let op = s.login("op").await;
    let (_, b) = s.get(&op, "/api/v1/me").await;
    let perms: Vec<&str> = b["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(perms.contains(&"read_cameras") && perms.contains(&"play_recordings") && !perms.contains(&"read_audit"), "{perms:?}");
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}
