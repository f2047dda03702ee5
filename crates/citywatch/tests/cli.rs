//! The command line: imports with bad rows, atomic imports, users, help.

use std::process::Command;

use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_citywatch");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn camera_count(data: &std::path::Path) -> i64 {
    rusqlite::Connection::open(data.join("citywatch.db")).unwrap().query_row("SELECT count(*) FROM camera", [], |r| r.get(0)).unwrap()
}

#[test]
fn import_applies_good_rows_and_lists_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("cams.geojson");
    let f = |id: &str, lon: f64, lat: f64| json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": {"id": id, "fov_deg": 90}});
    let doc = json!({"type": "FeatureCollection", "features": [f("a", 20.46, 44.81), f("b", 20.46, 95.0), f("c", 20.47, 44.82), f("a", 20.0, 44.0)]});
    std::fs::write(&file, doc.to_string()).unwrap();
    let (code, _, err) = run(&["import", "cameras", file.to_str().unwrap(), "--data", data.to_str().unwrap(), "--atomic"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("feature 1: lat") && err.contains("feature 3: id: duplicate"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(camera_count(&data), 0);

    let (code, out, err) = run(&["import", "cameras", file.to_str().unwrap(), "--data", data.to_str().unwrap()]);
    assert_eq!(code, 2, "bad rows give a non-zero exit: {out} {err}");
    assert!(out.contains("2 cameras created") && out.contains("2 bad rows"), "{out}");
    assert_eq!(camera_count(&data), 2);

    let csv = dir.path().join("cams.csv");
    std::fs::write(&csv, "id,lat,lon,heading_deg,fov_deg,range_m\nd,44.8,20.4,90,60,80\n").unwrap();
    let (code, out, err) = run(&["import", "cameras", csv.to_str().unwrap(), "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(camera_count(&data), 3);

    let (code, _, err) = run(&["import", "cameras", "/nonexistent.geojson", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("reading /nonexistent.geojson"), "{err}");
    std::fs::write(&file, "{ truncated").unwrap();
    let (code, _, err) = run(&["import", "cameras", file.to_str().unwrap(), "--data", data.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("not valid JSON"), "{err}");
    assert_eq!(camera_count(&data), 3, "a bad file changes nothing");

    let (code, out, _) = run(&["audit", "verify", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "imports are audited and the log verifies: {out}");
}

#[test]
fn admin_creates_users_with_scoped_grants() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (code, _, err) =
        run(&["admin", "create-user", "--data", data, "--username", "ana", "--password", "long-enough-pw", "--role", "operator", "--districts", "Nowhere"]);
    assert_eq!(code, 1);
    assert!(err.contains("no district named \"Nowhere\""), "{err}");
    let (code, _, err) = run(&["admin", "create-user", "--data", data, "--username", "ana", "--password", "long-enough-pw", "--role", "pilot"]);
    assert_eq!(code, 2, "clap rejects an unknown role: {err}");
    assert!(err.contains("unknown role"), "{err}");
    let (code, _, err) = run(&["admin", "create-user", "--data", data, "--username", "ana", "--password", "short", "--role", "operator"]);
    assert_eq!(code, 1);
    assert!(err.contains("at least 12 characters"), "{err}");
    let (code, out, err) = run(&[
        "admin",
        "create-user",
        "--data",
        data,
        "--username",
        "ana",
        "--password",
        "long-enough-pw",
        "--role",
        "operator",
        "--expires",
        "2099-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Created user ana"));
    let (_, out, _) = run(&["admin", "list-users", "--data", data]);
    assert!(out.contains("ana") && out.contains("operator in all districts, until 2099"), "{out}");
}

fn sessions_of(data: &std::path::Path, user: &str) -> i64 {
    rusqlite::Connection::open(data.join("citywatch.db")).unwrap().query_row("SELECT count(*) FROM session WHERE username = ?1", [user], |r| r.get(0)).unwrap()
}

/// A session as the server makes one at login.
fn add_session(data: &std::path::Path, user: &str, token_hash: &str) {
    rusqlite::Connection::open(data.join("citywatch.db"))
        .unwrap()
        .execute(
            "INSERT INTO session (token_hash, username, created_at, expires_at) VALUES (?1, ?2, '2026-01-01T00:00:00Z', '2099-01-01T00:00:00Z')",
            [token_hash, user],
        )
        .unwrap();
}

fn audit_actions(data: &std::path::Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(data.join("citywatch.db")).unwrap();
    let mut stmt = conn.prepare("SELECT action, target FROM audit_log ORDER BY seq").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn admin_password_rule_password_change_and_disabling_end_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let d = data.to_str().unwrap();
    let (code, _, err) = run(&["admin", "create-user", "--data", d, "--username", "ana", "--password", "        ", "--role", "operator"]);
    assert_eq!(code, 1, "eight spaces are no password");
    assert!(err.contains("at least 12 characters"), "{err}");
    let (code, _, err) = run(&["admin", "create-user", "--data", d, "--username", "ana", "--password", &" ".repeat(14), "--role", "operator"]);
    assert_eq!(code, 1);
    assert!(err.contains("only spaces"), "{err}");
    let (code, _, err) = run(&["admin", "create-user", "--data", d, "--username", "ana", "--password", "long-enough-pw", "--role", "operator"]);
    assert_eq!(code, 0, "{err}");

    let (code, _, err) = run(&["admin", "set-password", "--data", d, "--username", "ana", "--password", "short-pass"]);
    assert_eq!(code, 1);
    assert!(err.contains("at least 12 characters"), "{err}");
    add_session(data, "ana", "a1");
    let (code, out, err) = run(&["admin", "set-password", "--data", d, "--username", "ana", "--password", "another-long-pw"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 session ended"), "says that the session ended: {out}");
    assert_eq!(sessions_of(data, "ana"), 0, "a password change ends the user's sessions");

    add_session(data, "ana", "a2");
    let (code, out, err) = run(&["admin", "disable-user", "--data", d, "--username", "ana"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Disabled ana"), "{out}");
    assert_eq!(sessions_of(data, "ana"), 0, "disabling ends the user's sessions");
    let (_, out, _) = run(&["admin", "list-users", "--data", d]);
    assert!(out.contains("ana (disabled)"), "{out}");
    let (code, out, err) = run(&["admin", "enable-user", "--data", d, "--username", "ana"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Enabled ana"), "{out}");
    let (_, out, _) = run(&["admin", "list-users", "--data", d]);
    assert!(out.contains("ana\n"), "{out}");
    let (code, _, err) = run(&["admin", "disable-user", "--data", d, "--username", "nobody"]);
    assert_eq!(code, 1);
    assert!(err.contains("nobody"), "{err}");

    let actions = audit_actions(data);
    for action in ["user.set_password", "user.disable", "user.enable"] {
        assert!(actions.contains(&(action.to_owned(), "ana".to_owned())), "{action} audited: {actions:?}");
    }
    let (code, out, _) = run(&["audit", "verify", "--data", d]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_demo_refuses_a_short_password_before_making_anything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (code, _, err) = run(&["demo", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0", "--admin-password", "demo-pw"]);
    assert_eq!(code, 1);
    assert!(err.contains("--admin-password") && err.contains("at least 12 characters"), "{err}");
    assert!(!err.contains("demo-pw"), "the password is not repeated: {err}");
    assert!(!data.join("citywatch.db").exists(), "nothing made");
}

#[test]
fn admin_grant_keeps_admin_and_auditor_apart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (code, _, err) = run(&["admin", "create-user", "--data", data, "--username", "bob", "--password", "long-enough-pw", "--role", "admin"]);
    assert_eq!(code, 0, "{err}");
    // The operator of the machine bootstraps: another role for an admin is fine...
    let (code, out, err) = run(&["admin", "grant", "--data", data, "--username", "bob", "--role", "operator"]);
    assert_eq!(code, 0, "{out} {err}");
    // ...but never auditor beside admin.
    let (code, out, err) = run(&["admin", "grant", "--data", data, "--username", "bob", "--role", "auditor"]);
    assert_eq!(code, 1, "{out} {err}");
    assert!(err.contains("auditor was not granted") && err.contains("separation of duties"), "{err}");
    assert!(!err.contains("GrantRefused") && !err.contains("AdminAndAuditor"), "a message for people: {err}");
    let (_, out, _) = run(&["admin", "list-users", "--data", data]);
    assert!(!out.contains("auditor"), "{out}");
    let db = rusqlite::Connection::open(dir.path().join("citywatch.db")).unwrap();
    let denied: i64 =
        db.query_row("SELECT count(*) FROM audit_log WHERE action = 'grant.add' AND target = 'bob' AND result = 'denied'", [], |r| r.get(0)).unwrap();
    assert_eq!(denied, 1, "the refusal is in the audit log");
    let (code, out, _) = run(&["audit", "verify", "--data", data]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn districts_import_all_or_nothing_and_scope_grants() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("districts.geojson");
    let square = |name: &str, lon: f64| {
        json!({"type": "Feature", "properties": {"name": name},
        "geometry": {"type": "Polygon", "coordinates": [[[lon, 44.0], [lon + 0.1, 44.0], [lon + 0.1, 44.1], [lon, 44.0]]]}})
    };
    let mut bad = square("Broken", 20.2);
    bad["geometry"]["coordinates"][0][1] = json!([20.3, 95.0]);
    std::fs::write(&file, json!({"type": "FeatureCollection", "features": [square("East", 20.0), bad]}).to_string()).unwrap();
    let (code, _, err) = run(&["import", "districts", file.to_str().unwrap(), "--data", data.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("feature 1: geometry") && err.contains("lat 95") && err.contains("nothing was imported"), "{err}");
    std::fs::write(&file, json!({"type": "FeatureCollection", "features": [square("East", 20.0), square("West", 19.8)]}).to_string()).unwrap();
    let (code, out, err) = run(&["import", "districts", file.to_str().unwrap(), "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 districts imported: East, West"), "{out}");
    let (code, _, err) = run(&[
        "admin",
        "create-user",
        "--data",
        data.to_str().unwrap(),
        "--username",
        "ana",
        "--password",
        "long-enough-pw",
        "--role",
        "operator",
        "--districts",
        "East",
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn help_explains_the_commands() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for cmd in ["serve", "demo", "admin", "import", "audit"] {
        assert!(out.contains(cmd), "{out}");
    }
    let (_, out, _) = run(&["audit", "verify", "--help"]);
    assert!(out.contains("first bad seq"), "{out}");
}
