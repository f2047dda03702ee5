//! Hotlists and plate reads end to end: CSV import with a bad row, a read
//! from the pipeline's Rust API raising a hotlist hit and an alert, plate
//! search with purpose and case reference, covert lists hidden from admins,
//! and the purge of reads that hit nothing.

mod common;

use chrono::{Duration, Utc};
use citywatch_hotlists::ReadInput;
use citywatch_model::{EventType, Role};
use common::{start, TestServer};
use serde_json::{json, Value};

fn read(camera: &str, plate: &str, ago: Duration) -> ReadInput {
    ReadInput { camera_id: camera.into(), time: Utc::now() - ago, plate: plate.into(), confidence: 0.93, location: None, track_id: Some(7), crop_ref: None }
}

async fn import(s: &TestServer, token: &str, list: &str, query: &str, csv: &str) -> (u16, Value) {
    s.post_raw(token, &format!("/api/v1/hotlists/{list}/import{query}"), "text/csv", csv.to_owned()).await
}

#[tokio::test]
async fn import_reports_bad_rows_and_a_listed_read_raises_a_hit_and_an_alert() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    s.user("sup", &[(Role::Supervisor, None, None)]);
    let admin = s.login("admin").await;
    s.camera(&admin, "cam-1", "North", None).await;

    let csv = "plate,reason,priority,expires_at\nBG 123-AB,stolen car,7,\nNS 99-X,bad row,12,\nZG 1234-CD,expired soon,4,2099-01-01T00:00:00Z\n";
    let (st, b) = import(&s, &admin, "stolen", "", csv).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!((b["rows"].as_u64(), b["added"].as_u64()), (Some(3), Some(2)), "{b}");
    let errors = b["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{b}");
    assert_eq!((errors[0]["line"].as_u64(), errors[0]["field"].as_str()), (Some(3), Some("priority")));
    let (st, entries) = s.get(&admin, "/api/v1/hotlists/stolen/entries").await;
    assert_eq!(st, 200);
    assert_eq!(entries.as_array().unwrap().len(), 2);
    // A file missing a required column is refused as a whole.
    let (st, b) = import(&s, &admin, "stolen", "", "plate,priority\nBG 1-A,1\n").await;
    assert_eq!(st, 400, "{b}");
    assert!(b["error"].as_str().unwrap().contains("reason"), "{b}");

    let spec = serde_json::from_value(json!({"name": "stolen seen", "event_types": ["hotlist_hit"], "min_hotlist_priority": 5})).unwrap();
    let rule = common::blocking(|| s.events.add_rule(spec, "sup", &s.state.audit)).unwrap();

    // The pipeline reads the plate with other spacing; the match is on letters and digits.
    let got = s.state.plates().record(read("cam-1", "BG 123 AB", Duration::zero())).await.unwrap();
    assert_eq!(got.event.event_type, EventType::PlateRead);
    assert_eq!(got.hits.len(), 1);
    let hit = &got.hits[0].event;
    assert_eq!(hit.event_type, EventType::HotlistHit);
    assert_eq!(hit.hotlist_priority(), Some(7));
    assert_eq!(hit.details["list"], "stolen");
    assert_eq!(hit.district.as_deref(), Some("North"));
    let alerts = common::blocking(|| s.events.alerts(None, None, None, 100)).unwrap();
    assert!(alerts.iter().any(|a| a.rule_id == rule.id && a.source.id == "cam-1"), "{alerts:?}");

    // A plate on no list is only a read.
    let other = s.state.plates().record(read("cam-1", "KG 555-ZZ", Duration::zero())).await.unwrap();
    assert!(other.hits.is_empty());
    // Deleting the entry stops the hits.
    let id = entries.as_array().unwrap().iter().find(|e| e["plate_key"] == "BG123AB").unwrap()["id"].as_i64().unwrap();
    let (st, _) = s.send(&admin, "DELETE", &format!("/api/v1/hotlists/stolen/entries/{id}"), None).await;
    assert_eq!(st, 204);
    assert!(s.state.plates().record(read("cam-1", "BG 123-AB", Duration::zero())).await.unwrap().hits.is_empty());
}

#[tokio::test]
async fn expired_entries_raise_no_hit() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    let admin = s.login("admin").await;
    s.camera(&admin, "cam-1", "North", None).await;
    let entry = citywatch_store::NewHotlistEntry {
        plate: "BG 777-XY".into(),
        plate_key: "BG777XY".into(),
        source: "test".into(),
        reason: "expired".into(),
        priority: 9,
        expires_at: Some(Utc::now() - Duration::minutes(1)),
    };
    let record = |_: &_| citywatch_audit::Record::new("admin", "hotlist.import", "old");
    common::blocking(|| {
        s.repos.plates.import_hotlist("old", false, &[entry], "admin", Utc::now() - Duration::days(1), citywatch_audit::PendingEntry::after(record))
    })
    .unwrap();
    assert!(s.state.plates().record(read("cam-1", "BG 777-XY", Duration::zero())).await.unwrap().hits.is_empty());
    let (_, entries) = s.get(&admin, "/api/v1/hotlists/old/entries").await;
    assert_eq!(entries[0]["active"], false);
}

#[tokio::test]
async fn plate_search_needs_purpose_and_case_ref_and_is_audited() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    s.user("op", &[(Role::Operator, None, None)]);
    s.user("op-south", &[(Role::Operator, Some(&["South"]), None)]);
    let admin = s.login("admin").await;
    s.camera(&admin, "cam-1", "North", None).await;
    for plate in ["BG 123-AB", "BG 124-CD", "NS 123-AB"] {
        s.state.plates().record(read("cam-1", plate, Duration::minutes(5))).await.unwrap();
    }
    let op = s.login("op").await;
    let (st, b) = s.get(&op, "/api/v1/plates/search?plate=BG+12*").await;
    assert_eq!(st, 400, "{b}");
    assert!(b["error"].as_str().unwrap().contains("purpose"), "{b}");
    let (st, _) = s.get(&op, "/api/v1/plates/search?plate=BG+12*&purpose=theft").await;
    assert_eq!(st, 400);
    let before = s.audit_actions().iter().filter(|a| a.1 == "plate.search").count();
    let (st, b) = s.get(&op, "/api/v1/plates/search?plate=BG+12*&purpose=theft&case_ref=C-42").await;
    assert_eq!(st, 200, "{b}");
    let mut plates: Vec<&str> = b["reads"].as_array().unwrap().iter().map(|r| r["plate"].as_str().unwrap()).collect();
    plates.sort();
    assert_eq!(plates, ["BG 123-AB", "BG 124-CD"]);
    let entries = s.audit_entries();
    let searches: Vec<_> = entries.iter().filter(|e| e.action == "plate.search").collect();
    assert_eq!(searches.len(), before + 1);
    let last = searches.last().unwrap();
    assert_eq!((last.actor.as_str(), last.purpose.as_deref(), last.case_ref.as_deref()), ("op", Some("theft"), Some("C-42")));
    // Reads of cameras outside the caller's districts are not found.
    let south = s.login("op-south").await;
    let (st, b) = s.get(&south, "/api/v1/plates/search?plate=BG123AB&purpose=theft&case_ref=C-42").await;
    assert_eq!(st, 200);
    assert_eq!(b["reads"].as_array().unwrap().len(), 0, "{b}");
    // Nothing but wildcards is not a plate search.
    let (st, b) = s.get(&op, "/api/v1/plates/search?plate=*&purpose=theft&case_ref=C-42").await;
    assert_eq!(st, 422, "{b}");
    assert_eq!(b["fields"][0]["field"], "plate");
}

#[tokio::test]
async fn a_covert_list_is_invisible_to_admins() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    s.user("sup", &[(Role::Supervisor, None, None)]);
    let (admin, sup) = (s.login("admin").await, s.login("sup").await);
    let csv = "plate,reason,priority\nBG 321-ZZ,surveillance,8\n";
    let (st, _) = import(&s, &admin, "quiet", "?covert=true", csv).await;
    assert_eq!(st, 403, "an admin cannot create a covert list");
    let (st, b) = import(&s, &sup, "quiet", "?covert=true", csv).await;
    assert_eq!(st, 200, "{b}");
    let (_, lists) = s.get(&sup, "/api/v1/hotlists").await;
    assert_eq!(lists[0]["covert"], true);
    let (st, lists) = s.get(&admin, "/api/v1/hotlists").await;
    assert_eq!(st, 200);
    assert!(lists.as_array().unwrap().is_empty(), "{lists}");
    let (st, _) = s.get(&admin, "/api/v1/hotlists/quiet/entries").await;
    assert_eq!(st, 404);
    let (st, _) = import(&s, &admin, "quiet", "", csv).await;
    assert_eq!(st, 404, "an admin cannot add to a covert list");
    let (_, entries) = s.get(&sup, "/api/v1/hotlists/quiet/entries").await;
    let id = entries[0]["id"].as_i64().unwrap();
    let (st, _) = s.send(&admin, "DELETE", &format!("/api/v1/hotlists/quiet/entries/{id}"), None).await;
    assert_eq!(st, 404);
    // A hit on it still reaches the rules, without the list's name or reason.
    s.camera(&admin, "cam-1", "North", None).await;
    let got = s.state.plates().record(read("cam-1", "BG321ZZ", Duration::zero())).await.unwrap();
    assert_eq!(got.hits.len(), 1);
    assert_eq!(got.hits[0].event.details["covert"], true);
    assert!(got.hits[0].event.details.get("list").is_none() && got.hits[0].event.details.get("reason").is_none());
}

#[tokio::test]
async fn purge_removes_only_old_reads_that_hit_nothing_and_audits_counts() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    let admin = s.login("admin").await;
    s.camera(&admin, "cam-1", "North", None).await;
    let (st, _) = import(&s, &admin, "stolen", "", "plate,reason,priority\nBG 123-AB,stolen,5\n").await;
    assert_eq!(st, 200);
    let plates = s.state.plates();
    let old_miss = plates.record(read("cam-1", "KG 111-AA", Duration::days(8))).await.unwrap();
    let old_hit = plates.record(read("cam-1", "BG 123-AB", Duration::days(8))).await.unwrap();
    let new_miss = plates.record(read("cam-1", "KG 222-BB", Duration::days(6))).await.unwrap();
    assert_eq!(old_hit.hits.len(), 1);

    let purged = common::blocking(|| plates.purge_audited(&s.state.audit, Duration::days(7), Utc::now())).unwrap();
    assert_eq!((purged.reads, purged.events), (1, 1));
    let all = common::blocking(|| plates.search(&citywatch_store::PlateReadFilter { pattern: "*".into(), limit: 100, ..Default::default() })).unwrap();
    let mut left: Vec<i64> = all.iter().map(|r| r.id).collect();
    left.sort();
    assert_eq!(left, [old_hit.read_id, new_miss.read_id]);
    assert!(!all.iter().any(|r| r.id == old_miss.read_id));
    // The purged read's event went with it; the hit's did not.
    let events = common::blocking(|| s.events.events(&citywatch_store::EventFilter { limit: 100, ..Default::default() })).unwrap();
    assert!(!events.iter().any(|e| e.id == old_miss.event.id));
    assert!(events.iter().any(|e| e.id == old_hit.event.id));
    let entries = s.audit_entries();
    let purge = entries.iter().find(|e| e.action == "plate_read.purge").expect("the purge is audited");
    assert_eq!((purge.detail["reads"].as_u64(), purge.detail["events"].as_u64()), (Some(1), Some(1)));
    // Nothing left to purge: no entry.
    assert_eq!(common::blocking(|| plates.purge_audited(&s.state.audit, Duration::days(7), Utc::now())).unwrap().reads, 0);
    assert_eq!(s.audit_entries().iter().filter(|e| e.action == "plate_read.purge").count(), 1);
}
