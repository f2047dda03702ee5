//! `citywatch demo` with its in-process simulated cameras: the tagged
//! cameras record and play back as valid MP4, untagged ones are served
//! (for live view) but not recorded.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_citywatch");
const PASSWORD: &str = "demo-sim-test-password";

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn ffprobe(target: &str, args: &[&str]) -> Value {
    let out = Command::new("ffprobe").args(["-v", "error", "-of", "json"]).args(args).arg(target).output().expect("ffprobe (Debian package ffmpeg)");
    assert!(out.status.success(), "ffprobe {target}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn demo_serves_every_camera_and_records_the_tagged_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (port, sim_port) = (free_port(), free_port());
    let _demo = Killed(
        Command::new(BIN)
            .args(["demo", "--data", dir.path().to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")])
            .args(["--sim-listen", &format!("127.0.0.1:{sim_port}"), "--cameras-per-district", "2", "--admin-password", PASSWORD])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::new();
    wait_for("the demo server", Duration::from_secs(60), || client.get(format!("{base}/health")).send().ok().filter(|r| r.status().is_success()));
    let login: Value = client.post(format!("{base}/api/v1/auth/login")).json(&serde_json::json!({"username": "operator", "password": PASSWORD})).send().unwrap().json().unwrap();
    let token = login["token"].as_str().unwrap_or_else(|| panic!("{login}")).to_owned();
    let get = |path: &str| client.get(format!("{base}{path}")).bearer_auth(&token).send().unwrap();

    // The demo city points at the simulator; 16 of its 20 cameras record.
    let cam1: Value = get("/api/v1/cameras/cam-0001").json().unwrap();
    assert_eq!(cam1["main_url"], format!("rtsp://127.0.0.1:{sim_port}/cam-0001/main"), "{cam1}");
    assert!(cam1["tags"].as_array().unwrap().iter().any(|t| t == "recorded"), "{cam1}");
    let cam20: Value = get("/api/v1/cameras/cam-0020").json().unwrap();
    assert!(!cam20["tags"].as_array().unwrap().iter().any(|t| t == "recorded"), "{cam20}");
    let config = std::fs::read_to_string(dir.path().join("citywatch.toml")).unwrap();
    assert!(config.contains("record_tag = \"recorded\""), "{config}");

    let spans = |id: &str| -> Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
        let now = chrono::Utc::now();
        let q = format!(
            "/api/v1/cameras/{id}/recordings?start={}&end={}",
            (now - chrono::Duration::minutes(10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            (now + chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let v: Value = get(&q).json().unwrap();
        v["spans"].as_array().unwrap_or_else(|| panic!("{v}")).iter().map(|s| (s["start"].as_str().unwrap().parse().unwrap(), s["end"].as_str().unwrap().parse().unwrap())).collect()
    };
    let span = wait_for("4 s recorded from cam-0001", Duration::from_secs(90), || spans("cam-0001").into_iter().find(|(s, e)| (*e - *s).num_milliseconds() >= 4_000));

    // It plays back as a valid MP4 of the demo's main stream size.
    let range = format!(
        "start={}&end={}",
        span.0.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        (span.0 + chrono::Duration::seconds(3)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    let r = get(&format!("/api/v1/cameras/cam-0001/view.mp4?{range}&purpose=demo+test&case_ref=DEMO-1"));
    assert_eq!(r.status(), 200);
    let file = dir.path().join("cam-0001.mp4");
    std::fs::write(&file, r.bytes().unwrap()).unwrap();
    let info = ffprobe(file.to_str().unwrap(), &["-show_entries", "stream=codec_name,width,height"]);
    assert_eq!(info["streams"][0]["codec_name"], "h264", "{info}");
    assert_eq!((info["streams"][0]["width"].as_u64(), info["streams"][0]["height"].as_u64()), (Some(640), Some(360)), "{info}");
    let decode = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&file).args(["-f", "null", "-"]).output().unwrap();
    assert!(decode.status.success() && decode.stderr.is_empty(), "ffmpeg decode: {}", String::from_utf8_lossy(&decode.stderr));

    // An untagged camera is served (for live view) but was never recorded.
    let sub = ffprobe(&format!("rtsp://127.0.0.1:{sim_port}/cam-0020/sub"), &["-rtsp_transport", "tcp", "-show_entries", "stream=codec_name,width,height"]);
    assert_eq!((sub["streams"][0]["codec_name"].as_str(), sub["streams"][0]["width"].as_u64()), (Some("h264"), Some(320)), "{sub}");
    assert!(spans("cam-0020").is_empty(), "cam-0020 is not tagged for recording");
}

#[test]
fn sim_command_serves_cameras_writes_truth_and_refuses_bad_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth");
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["sim", "--cameras", "3", "--listen", &format!("127.0.0.1:{port}"), "--main", "320x180", "--sub", "160x90", "--loop-secs", "2", "--scenes", "2"])
        .arg("--truth")
        .arg(&truth)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let _sim = Killed(child);
    let mut printed = String::new();
    while !printed.contains("Serving") {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0, "sim exited: {printed}");
        printed += &line;
    }
    assert!(printed.contains(&format!("rtsp://127.0.0.1:{port}/cam-NNNN/{{main,sub}}")) && printed.contains("cam-0003"), "{printed}");
    let scene: Value = serde_json::from_slice(&std::fs::read(truth.join("scene-1.json")).unwrap()).unwrap();
    assert_eq!((scene["width"].as_u64(), scene["frames"].as_array().map(Vec::len)), (Some(320), Some(30)));
    let cameras: Value = serde_json::from_slice(&std::fs::read(truth.join("cameras.json")).unwrap()).unwrap();
    assert_eq!(cameras.as_array().map(Vec::len), Some(3));
    let v = ffprobe(&format!("rtsp://127.0.0.1:{port}/cam-0003/main"), &["-rtsp_transport", "tcp", "-show_entries", "stream=codec_name,width,height"]);
    assert_eq!((v["streams"][0]["codec_name"].as_str(), v["streams"][0]["width"].as_u64()), (Some("h264"), Some(320)), "{v}");

    let bad = Command::new(BIN).args(["sim", "--main", "1281x720", "--listen", "127.0.0.1:0"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("1281x720") && err.contains("even"), "{err}");
}
