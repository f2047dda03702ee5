//! The whole video path against real peers: GStreamer's RTSP server → our
//! ingest and recorder → `view.mp4` → ffprobe and ffmpeg. Also: playback
//! needs a purpose and case reference and is audited; a camera that goes
//! away is marked offline, and recording resumes when it returns, leaving a
//! gap in the listed spans.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use support::{ffprobe, free_port, wait_for, GstCamera, KillOnDrop, BIN};

const PASSWORD: &str = "record-test-password";

struct Api {
    base: String,
    client: reqwest::blocking::Client,
}

impl Api {
    fn login(&self, user: &str, password: &str) -> String {
        let r: Value =
            self.client.post(format!("{}/api/v1/auth/login", self.base)).json(&json!({"username": user, "password": password})).send().unwrap().json().unwrap();
        r["token"].as_str().unwrap_or_else(|| panic!("login {user}: {r}")).to_owned()
    }
    fn get(&self, token: &str, path: &str) -> reqwest::blocking::Response {
        self.client.get(format!("{}{path}", self.base)).bearer_auth(token).send().unwrap()
    }
    fn post(&self, token: &str, path: &str, body: Value) -> Value {
        let r = self.client.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body).send().unwrap();
        assert!(r.status().is_success(), "POST {path}: {}", r.status());
        r.json().unwrap()
    }
}

fn spans(api: &Api, token: &str) -> Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    let now = chrono::Utc::now();
    let q = format!(
        "/api/v1/cameras/gst/recordings?start={}&end={}",
        (now - chrono::Duration::minutes(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (now + chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let v: Value = api.get(token, &q).json().unwrap();
    v["spans"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|s| (s["start"].as_str().unwrap().parse().unwrap(), s["end"].as_str().unwrap().parse().unwrap()))
        .collect()
}

#[test]
fn record_from_gstreamer_and_play_back_a_valid_mp4() {
    let mut source = GstCamera::start(free_port(), &[]);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = KillOnDrop(
        Command::new(BIN)
            .args(["serve", "--data", dir.path().to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}"), "--admin-password", PASSWORD])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let api = Api { base: format!("http://127.0.0.1:{port}"), client: reqwest::blocking::Client::new() };
    wait_for("the server", Duration::from_secs(20), || api.client.get(format!("{}/health", api.base)).send().ok().filter(|r| r.status().is_success()));
    let admin = api.login("admin", PASSWORD);
    api.post(&admin, "/api/v1/cameras", json!({"id": "gst", "name": "GStreamer test source", "lat": 44.81, "lon": 20.46, "main_url": source.url("/test")}));
    // A supervisor sees faces, so gets the recording itself (an operator's is
    // blurred: crates/api/tests/recordings_blurred.rs).
    api.post(&admin, "/api/v1/users", json!({"username": "op", "password": PASSWORD, "grants": [{"role": "supervisor"}]}));
    let op = api.login("op", PASSWORD);

    // Recording starts within the recorder's reconcile period and keeps going.
    let span = wait_for("6 s of recording", Duration::from_secs(60), || spans(&api, &op).into_iter().find(|(s, e)| (*e - *s).num_milliseconds() >= 6_000));
    let camera: Value = api.get(&op, "/api/v1/cameras/gst").json().unwrap();
    assert_eq!(camera["status"], "online");

    let start = span.0 + chrono::Duration::milliseconds(1_500);
    let end = start + chrono::Duration::seconds(3);
    let range =
        format!("start={}&end={}", start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), end.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let r = api.get(&op, &format!("/api/v1/cameras/gst/view.mp4?{range}"));
    assert_eq!(r.status(), 400, "playback without purpose and case_ref is refused");
    assert!(r.text().unwrap().contains("purpose"));

    let r = api.get(&op, &format!("/api/v1/cameras/gst/view.mp4?{range}&purpose=test+playback&case_ref=CASE-1"));
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("video/mp4"));
    let body = r.bytes().unwrap();
    let file = dir.path().join("out.mp4");
    std::fs::write(&file, &body).unwrap();

    let info = ffprobe(&file, &["-count_frames", "-show_entries", "stream=codec_name,width,height,nb_read_frames:format=duration"]);
    let stream = &info["streams"][0];
    assert_eq!(stream["codec_name"], "h264", "{info}");
    assert_eq!((stream["width"].as_u64(), stream["height"].as_u64()), (Some(640), Some(360)), "{info}");
    let duration: f64 = info["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((duration - 3.0).abs() <= 1.0 / 15.0 + 1e-3, "duration {duration} should be 3 s within one frame: {info}");
    let frames: i64 = stream["nb_read_frames"].as_str().unwrap().parse().unwrap();
    assert!((frames - 45).abs() <= 2, "expected about 45 frames at 15 fps, got {frames}: {info}");
    let packets = ffprobe(&file, &["-show_entries", "packet=dts_time"]);
    let dts: Vec<f64> = packets["packets"].as_array().unwrap().iter().map(|p| p["dts_time"].as_str().unwrap().parse().unwrap()).collect();
    assert!(dts.windows(2).all(|w| w[0] < w[1]), "timestamps increase");
    let decode = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&file).args(["-f", "null", "-"]).output().unwrap();
    assert!(decode.status.success() && decode.stderr.is_empty(), "ffmpeg decode: {}", String::from_utf8_lossy(&decode.stderr));

    // Range requests return exactly those bytes.
    let r = api
        .client
        .get(format!("{}/api/v1/cameras/gst/view.mp4?{range}&purpose=test+playback&case_ref=CASE-1", api.base))
        .bearer_auth(&op)
        .header("range", "bytes=100-1099")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"].to_str().unwrap(), format!("bytes 100-1099/{}", body.len()));
    assert_eq!(&r.bytes().unwrap()[..], &body[100..1100]);

    // The camera goes away: offline. It comes back: recording resumes after a gap.
    source.kill();
    wait_for("the camera to be marked offline", Duration::from_secs(30), || {
        let c: Value = api.get(&op, "/api/v1/cameras/gst").json().unwrap();
        (c["status"] == "offline").then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    source.restart();
    let after = wait_for("recording to resume", Duration::from_secs(60), || {
        let s = spans(&api, &op);
        (s.len() >= 2 && (s[s.len() - 1].1 - s[s.len() - 1].0).num_milliseconds() >= 2_000).then_some(s)
    });
    let gap = after[after.len() - 1].0 - after[after.len() - 2].1;
    assert!(gap.num_milliseconds() >= 1_500, "the outage shows as a gap of at least the 2 s the camera was away, got {gap}");
    source.kill();

    // Playback was audited with its purpose and case reference.
    let db = rusqlite::Connection::open(dir.path().join("citywatch.db")).unwrap();
    let (purpose, case_ref): (String, String) = db
        .query_row("SELECT purpose, case_ref FROM audit_log WHERE action = 'video.playback' AND actor = 'op' AND result = 'ok'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((purpose.as_str(), case_ref.as_str()), ("test playback", "CASE-1"));
}
