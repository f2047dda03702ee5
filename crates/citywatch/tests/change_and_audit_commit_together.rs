//! A camera change and its audit entry commit in one transaction: the
//! server crashed after writing the change and before its entry keeps
//! neither, never a change the audit log cannot account for.
//! `CITYWATCH_CRASH_AT` (debug builds only) aborts the server at that point.

mod support;

use std::process::Command;

use serde_json::json;
use support::Server;

/// A request made with an admin token.
type Attempt = dyn Fn(&Server, &str) -> reqwest::Result<reqwest::blocking::Response>;

const CRASH: (&str, &str) = ("CITYWATCH_CRASH_AT", "between-change-and-audit");

/// Cameras by id, and audit entries as (action, target), read from the database.
fn stored(server: &Server) -> (Vec<String>, Vec<(String, String)>) {
    let db = rusqlite::Connection::open_with_flags(server.data.join("citywatch.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let cameras = db.prepare("SELECT id FROM camera ORDER BY id").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let entries = db
        .prepare("SELECT action, target FROM audit_log WHERE action LIKE 'camera.%' ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (cameras, entries)
}

fn entry(action: &str, target: &str) -> (String, String) {
    (action.to_owned(), target.to_owned())
}

#[test]
fn a_crash_between_a_change_and_its_entry_keeps_neither() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("data"), "");
    let admin = server.login("admin");
    server.post(&admin, "/api/v1/cameras", json!({"id": "kept", "lat": 44.81, "lon": 20.46}));
    server.kill9();

    // Create, then delete, each with the server dying mid-transaction.
    let attempts: [(&str, Box<Attempt>); 2] = [
        (
            "create",
            Box::new(|s, token| {
                s.client.post(format!("{}/api/v1/cameras", s.base())).bearer_auth(token).json(&json!({"id": "lost", "lat": 44.8, "lon": 20.4})).send()
            }),
        ),
        ("delete", Box::new(|s, token| s.client.delete(format!("{}/api/v1/cameras/kept", s.base())).bearer_auth(token).send())),
    ];
    for (what, attempt) in attempts {
        server.restart_with_env(&[CRASH]);
        let token = server.login("admin");
        let answer = attempt(&server, &token);
        assert!(answer.is_err() || answer.as_ref().is_ok_and(|r| r.status().is_server_error()), "the {what} was answered: {answer:?}");
        let status = server.wait_for_exit();
        assert!(!status.success(), "the server crashed at the crash point during the {what} ({status})");
        let (cameras, entries) = stored(&server);
        assert_eq!(cameras, ["kept"], "after the crashed {what}: neither the change...");
        assert_eq!(entries, [entry("camera.create", "kept")], "...nor its entry");
    }

    // Without the crash both commit, and the log still verifies.
    server.restart();
    let admin = server.login("admin");
    server.post(&admin, "/api/v1/cameras", json!({"id": "lost", "lat": 44.8, "lon": 20.4}));
    assert_eq!(server.client.delete(format!("{}/api/v1/cameras/kept", server.base())).bearer_auth(&admin).send().unwrap().status(), 204);
    let (cameras, entries) = stored(&server);
    assert_eq!(cameras, ["lost"]);
    assert_eq!(entries, [entry("camera.create", "kept"), entry("camera.create", "lost"), entry("camera.delete", "kept")]);
    server.stop();
    let out = Command::new(support::BIN).args(["audit", "verify", "--data", server.data.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// The same for a rule: the events service commits a rule and its entry together.
#[test]
fn a_crash_between_a_rule_and_its_entry_keeps_neither() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("data"), "");
    server.kill9();
    server.restart_with_env(&[CRASH]);
    let admin = server.login("admin");
    let answer =
        server.client.post(format!("{}/api/v1/rules", server.base())).bearer_auth(&admin).json(&json!({"name": "lost", "event_types": ["motion"]})).send();
    assert!(answer.is_err() || answer.as_ref().is_ok_and(|r| r.status().is_server_error()), "the rule was answered: {answer:?}");
    assert!(!server.wait_for_exit().success(), "the server crashed at the crash point");
    let rules_and_entries = |server: &Server| -> (i64, i64) {
        let db = rusqlite::Connection::open_with_flags(server.data.join("citywatch.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let rules = db.query_row("SELECT count(*) FROM rule", [], |r| r.get(0)).unwrap();
        let entries = db.query_row("SELECT count(*) FROM audit_log WHERE action = 'rule.create'", [], |r| r.get(0)).unwrap();
        (rules, entries)
    };
    assert_eq!(rules_and_entries(&server), (0, 0), "neither the rule nor its entry");

    server.restart();
    let admin = server.login("admin");
    server.post(&admin, "/api/v1/rules", json!({"name": "kept", "event_types": ["motion"]}));
    assert_eq!(rules_and_entries(&server), (1, 1), "without the crash, both");
    server.stop();
}

/// The same for dispatch: a unit created with the server dying
/// mid-transaction leaves neither the unit nor its entry.
#[test]
fn a_crash_between_a_dispatch_change_and_its_entry_keeps_neither() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("data"), "");
    server.login("admin");
    server.kill9();
    let unit = json!({"id": "u1", "call_sign": "Alpha 1", "kind": "car"});
    let units_and_entries = |server: &Server| {
        let db = rusqlite::Connection::open_with_flags(server.data.join("citywatch.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let units: i64 = db.query_row("SELECT count(*) FROM unit", [], |r| r.get(0)).unwrap();
        let entries: i64 = db.query_row("SELECT count(*) FROM audit_log WHERE action LIKE 'unit.%'", [], |r| r.get(0)).unwrap();
        (units, entries)
    };

    server.restart_with_env(&[CRASH]);
    let token = server.login("admin");
    let answer = server.client.post(format!("{}/api/v1/units", server.base())).bearer_auth(&token).json(&unit).send();
    assert!(answer.is_err() || answer.as_ref().is_ok_and(|r| r.status().is_server_error()), "the create was answered: {answer:?}");
    assert!(!server.wait_for_exit().success(), "the server crashed at the crash point");
    assert_eq!(units_and_entries(&server), (0, 0), "neither the unit nor its entry");

    server.restart();
    let admin = server.login("admin");
    server.post(&admin, "/api/v1/units", unit);
    assert_eq!(units_and_entries(&server), (1, 1), "without the crash both commit");
    server.stop();
}
