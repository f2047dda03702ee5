//! What the binary's robustness tests share: the `citywatch` server as a
//! child process (started, killed with SIGKILL or stopped with SIGTERM,
//! restarted on the same data directory and port), the HTTP API, and direct
//! read-only looks at the recording index; with the helpers every crate's
//! tests share (`citywatch-test-support`: the GStreamer RTSP test camera,
//! free ports, polling).
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_citywatch");
pub const PASSWORD: &str = "robustness-test-password";

// Each test binary uses some of them (as with this module's own items).
#[allow(unused_imports)]
pub use citywatch_test_support::{free_port, wait_for, GstCamera, KillOnDrop};

/// Unix time now in 90 kHz units (the index's time base).
pub fn now_90k() -> i64 {
    chrono::Utc::now().timestamp_micros() * 9 / 100
}

pub fn from_90k(t: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(t * 100 / 9).unwrap()
}

/// `citywatch serve` on a data directory, its stderr appended to `log`.
pub struct Server {
    child: Option<Child>,
    pub data: PathBuf,
    pub port: u16,
    pub log: PathBuf,
    pub client: reqwest::blocking::Client,
}

impl Server {
    /// Writes `config` as citywatch.toml (if not empty) and starts the server.
    pub fn start(data: &Path, config: &str) -> Server {
        std::fs::create_dir_all(data).unwrap();
        if !config.is_empty() {
            std::fs::write(data.join("citywatch.toml"), config).unwrap();
        }
        let log = data.parent().unwrap().join(format!("{}-server.log", data.file_name().unwrap().to_string_lossy()));
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let mut s = Server { child: None, data: data.to_owned(), port: free_port(), log, client };
        s.restart();
        s
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server again (same directory and port) and waits until it answers.
    pub fn restart(&mut self) {
        self.restart_with_env(&[]);
    }

    /// [`Server::restart`] with more environment variables.
    pub fn restart_with_env(&mut self, env: &[(&str, &str)]) {
        assert!(self.child.is_none(), "already running");
        let log = OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--data", self.data.to_str().unwrap(), "--listen", &format!("127.0.0.1:{}", self.port)])
            .envs(env.iter().copied())
            .env("CITYWATCH_ADMIN_PASSWORD", PASSWORD)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
        let health = format!("{}/health", self.base());
        wait_for("the server to answer", Duration::from_secs(30), || {
            if let Some(s) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the server exited with {s}:\n{}", self.log_text());
            }
            self.client.get(&health).send().ok().filter(|r| r.status().is_success())
        });
    }

    /// Waits for the server to exit on its own (a crash a test caused).
    pub fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        child.wait().unwrap()
    }

    /// SIGKILL: no chance to write what it holds.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM: a clean shutdown; waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let status = child.wait().unwrap();
            assert!(status.success(), "the server did not stop cleanly ({status}):\n{}", self.log_text());
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn login(&self, user: &str) -> String {
        let r: Value = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base()))
            .json(&json!({"username": user, "password": PASSWORD}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        r["token"].as_str().unwrap_or_else(|| panic!("login {user}: {r}")).to_owned()
    }

    pub fn get(&self, token: &str, path: &str) -> reqwest::blocking::Response {
        self.client.get(format!("{}{path}", self.base())).bearer_auth(token).send().unwrap()
    }

    pub fn get_json(&self, token: &str, path: &str) -> Value {
        let r = self.get(token, path);
        let status = r.status();
        let body: Value = r.json().unwrap();
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }

    pub fn post(&self, token: &str, path: &str, body: Value) -> Value {
        let r = self.client.post(format!("{}{path}", self.base())).bearer_auth(token).json(&body).send().unwrap();
        let status = r.status();
        let body: Value = r.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    /// An admin token, and a camera recording `url`.
    pub fn add_camera(&self, admin: &str, id: &str, url: &str) {
        self.post(admin, "/api/v1/cameras", json!({"id": id, "name": id, "lat": 44.81, "lon": 20.46, "main_url": url}));
    }

    /// `citywatch check` on this data directory: (exit status success, stdout).
    pub fn check(&self) -> (bool, String) {
        let out = Command::new(BIN).args(["check", "--data", self.data.to_str().unwrap()]).output().unwrap();
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }

    /// Recordings of a camera's main stream, oldest first, read from the
    /// database (read-only, beside the running server).
    pub fn recordings(&self, camera: &str) -> Vec<Rec> {
        let db = rusqlite::Connection::open_with_flags(self.data.join("citywatch.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        db.busy_timeout(Duration::from_secs(5)).unwrap();
        let mut stmt = db.prepare("SELECT id, run_id, start_90k, duration_90k, bytes, frames, file FROM recording WHERE camera_id = ?1 AND stream = 'main' ORDER BY start_90k, id").unwrap();
        stmt.query_map([camera], |r| {
            Ok(Rec {
                id: r.get(0)?,
                run_id: r.get(1)?,
                start_90k: r.get(2)?,
                end_90k: r.get::<_, i64>(2)? + r.get::<_, i64>(3)?,
                bytes: r.get(4)?,
                frames: r.get(5)?,
                file: r.get(6)?,
            })
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    /// Types of the events stored for a camera, oldest first (read-only).
    pub fn event_types(&self, camera: &str) -> Vec<String> {
        let db = rusqlite::Connection::open_with_flags(self.data.join("citywatch.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        db.busy_timeout(Duration::from_secs(5)).unwrap();
        let mut stmt = db.prepare("SELECT type FROM event WHERE source_kind = 'camera' AND source_id = ?1 ORDER BY id").unwrap();
        stmt.query_map([camera], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    /// Every indexed file exists and is at least as long as its row says.
    pub fn assert_files_match_index(&self) {
        let db = rusqlite::Connection::open_with_flags(self.data.join("citywatch.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut stmt = db.prepare("SELECT file, bytes FROM recording").unwrap();
        let rows: Vec<(String, i64)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap();
        for (file, bytes) in rows {
            let path = self.data.join("video").join(&file);
            let len = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{file} is indexed but {e}")).len();
            assert!(len >= bytes as u64, "{file}: {len} bytes on disk, {bytes} indexed");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub id: i64,
    pub run_id: i64,
    pub start_90k: i64,
    pub end_90k: i64,
    pub bytes: i64,
    pub frames: i64,
    pub file: String,
}

/// Continuous stretches (recordings that touch are merged).
pub fn runs(recs: &[Rec]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for r in recs {
        match out.last_mut() {
            Some(last) if r.start_90k <= last.1 => last.1 = last.1.max(r.end_90k),
            _ => out.push((r.start_90k, r.end_90k)),
        }
    }
    out
}

/// ffprobe's JSON about `target`, a file or a URL.
pub fn ffprobe(target: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Value {
    let target = target.as_ref();
    let out = Command::new("ffprobe").args(["-v", "error", "-of", "json"]).args(args).arg(target).output().expect("ffprobe (Debian package ffmpeg)");
    assert!(out.status.success(), "ffprobe {}: {}", target.to_string_lossy(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}
