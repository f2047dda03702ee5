//! `citywatch serve` on PostgreSQL (`[database] url`): cameras, users, the
//! recording index and the audit log all live in the database, nothing in
//! the data directory's SQLite; a real camera is recorded and played back
//! from the PostgreSQL index; everything is still there after a restart;
//! `citywatch check` and `audit verify` read the same database. A database
//! that does not answer stops the start with a clear message.

mod support;

use std::process::Command;
use std::time::Duration;

use citywatch_store_postgres::test_database::TestDatabase;
use serde_json::{json, Value};
use support::{ffprobe, free_port, wait_for, GstCamera, Server, BIN, PASSWORD};

/// Seconds of the main stream recorded so far, from the API's spans.
fn recorded_seconds(server: &Server, token: &str) -> f64 {
    let now = chrono::Utc::now();
    let q = format!(
        "/api/v1/cameras/gst/recordings?start={}&end={}",
        (now - chrono::Duration::minutes(10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (now + chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let v = server.get_json(token, &q);
    v["spans"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|s| {
            let (a, b): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
                (s["start"].as_str().unwrap().parse().unwrap(), s["end"].as_str().unwrap().parse().unwrap());
            (b - a).num_milliseconds() as f64 / 1000.0
        })
        .sum()
}

fn count(db: &TestDatabase, sql: &str) -> i64 {
    db.client().query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn a_server_on_postgres_keeps_everything_there_and_records_into_its_index() {
    let db = TestDatabase::create();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut source = GstCamera::start(free_port(), &[]);
    let mut server = Server::start(&data, &format!("[database]\nurl = \"{}\"\n", db.url()));
    assert!(server.log_text().contains("PostgreSQL schema migrated"), "the schema was made at start:\n{}", server.log_text());
    assert!(!data.join("citywatch.db").exists(), "nothing is kept in the data directory's SQLite");

    let admin = server.login("admin");
    server.add_camera(&admin, "gst", &source.url("/test"));
    server.post(&admin, "/api/v1/users", json!({"username": "sup", "password": PASSWORD, "grants": [{"role": "supervisor"}]}));
    let sup = server.login("sup");
    let r = server
        .client
        .put(format!("{}/api/v1/cameras/gst/retention", server.base()))
        .bearer_auth(&admin)
        .json(&json!({"max_age_days": 7, "max_bytes": null}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());

    // The recorder writes its index rows into PostgreSQL; playback reads them back.
    wait_for("4 s of recording", Duration::from_secs(60), || (recorded_seconds(&server, &sup) >= 4.0).then_some(()));
    assert!(count(&db, "SELECT count(*) FROM recording WHERE camera_id = 'gst' AND stream = 'main'") > 0);
    let now = chrono::Utc::now();
    let range = format!(
        "start={}&end={}",
        (now - chrono::Duration::minutes(10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (now + chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let r = server.get(&sup, &format!("/api/v1/cameras/gst/view.mp4?{range}&purpose=test+playback&case_ref=PG-1"));
    assert_eq!(r.status(), 200);
    let file = tmp.path().join("out.mp4");
    std::fs::write(&file, r.bytes().unwrap()).unwrap();
    let info = ffprobe(&file, &["-show_entries", "stream=codec_name,width,height"]);
    assert_eq!(info["streams"][0]["codec_name"], "h264", "{info}");

    // Every change and read was audited in the same database, with the
    // retention limits' entry holding what they replaced.
    let audited = |action: &str| count(&db, &format!("SELECT count(*) FROM audit_log WHERE action = '{action}'"));
    assert_eq!(audited("camera.create"), 1);
    assert_eq!(audited("user.create"), 2, "the first admin and sup");
    assert_eq!(audited("video.playback"), 1);
    let detail: String = db.client().query_one("SELECT detail::text FROM audit_log WHERE action = 'camera.retention'", &[]).unwrap().get(0);
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["before"]["max_age_days"], Value::Null, "{detail}");
    assert_eq!(detail["after"]["max_age_days"], 7, "{detail}");

    // A clean stop and a start again: the same cameras, users and limits.
    server.stop();
    let recorded: i64 = count(&db, "SELECT count(*) FROM recording");
    server.restart();
    let (sup, admin) = (server.login("sup"), server.login("admin"));
    assert_eq!(server.get_json(&sup, "/api/v1/cameras/gst")["id"], "gst");
    assert_eq!(server.get_json(&admin, "/api/v1/cameras/gst/retention")["max_age_days"], 7);
    assert!(count(&db, "SELECT count(*) FROM recording") >= recorded, "no recording row was lost across the restart");
    server.stop();
    source.kill();

    // The offline tools read the same database through the data directory.
    let (ok, out) = server.check();
    assert!(ok, "citywatch check against the PostgreSQL index: {out}");
    let verify = Command::new(BIN).args(["audit", "verify", "--data", data.to_str().unwrap()]).env_remove("CITYWATCH_DATA").output().unwrap();
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success() && text.contains("audit log OK"), "{text}{}", String::from_utf8_lossy(&verify.stderr));
    assert!(!data.join("citywatch.db").exists(), "still nothing in SQLite");
}

#[test]
fn a_database_that_does_not_answer_stops_the_start_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--data", tmp.path().to_str().unwrap(), "--listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--database", "postgres://postgres@127.0.0.1:1/none"])
        .env("CITYWATCH_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("opening the PostgreSQL database") && stderr.contains("the database is unavailable"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!tmp.path().join("citywatch.db").exists(), "no SQLite database was made in its place");
}

#[test]
fn an_address_that_is_not_postgres_is_refused_before_anything_is_made() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--data", tmp.path().to_str().unwrap(), "--database", "mysql://db/city"])
        .env("CITYWATCH_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("is not a postgres:// address"), "{stderr}");
    assert!(!tmp.path().join("citywatch.db").exists());
}
