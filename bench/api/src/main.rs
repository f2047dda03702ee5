//! API latency on the two database backends: the real `citywatch serve`
//! once on SQLite (its data directory's citywatch.db) and once on
//! PostgreSQL (a database made for the run and dropped after it), the same
//! city on both, and the same requests sent to both in turn over HTTP
//! (interleaved, so that the machine's load falls on both alike):
//!
//! - `cameras`: `GET /api/v1/cameras`, the whole list (the map's first read);
//! - `near`: `GET /api/v1/cameras?near=…&radius_m=500`, a spatial query;
//! - `event`: `POST /api/v1/events`, one event ingested and committed;
//! - `recommend`: `GET /api/v1/incidents/{id}/recommendations`, units
//!   ranked for an incident.
//!
//! With `--baseline-bin` a third server, an earlier build on SQLite, runs
//! beside them: the embedded default must not get slower.
//!
//!   citywatch-bench-api [--bin target/release/citywatch] [--baseline-bin PATH]
//!                       [--cameras 2000] [--units 200] [--requests 400] [--warmup 40]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use citywatch_store_postgres::test_database::TestDatabase;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const PASSWORD: &str = "bench-api-password";
/// The city's centre (Belgrade) and half its side in degrees (about 10 km).
const CENTRE: (f64, f64) = (44.8125, 20.4612);
const HALF_DEG: f64 = 0.09;

struct Args {
    bin: PathBuf,
    baseline_bin: Option<PathBuf>,
    cameras: usize,
    units: usize,
    requests: usize,
    warmup: usize,
}

fn args() -> Args {
    let mut a = Args { bin: PathBuf::from("target/release/citywatch"), baseline_bin: None, cameras: 2000, units: 200, requests: 400, warmup: 40 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--bin" => a.bin = PathBuf::from(val()),
            "--baseline-bin" => a.baseline_bin = Some(PathBuf::from(val())),
            "--cameras" => a.cameras = val().parse().expect("--cameras: a number"),
            "--units" => a.units = val().parse().expect("--units: a number"),
            "--requests" => a.requests = val().parse().expect("--requests: a number"),
            "--warmup" => a.warmup = val().parse().expect("--warmup: a number"),
            "--help" | "-h" => {
                println!("citywatch-bench-api [--bin PATH] [--baseline-bin PATH] [--cameras N] [--units N] [--requests N] [--warmup N]");
                std::process::exit(0);
            }
            other => panic!("unknown flag {other}; see --help"),
        }
    }
    a
}

/// One `citywatch serve` under test, killed when dropped.
struct Server {
    name: String,
    child: Child,
    base: String,
    client: reqwest::blocking::Client,
    token: String,
    incident: i64,
    camera_ids: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("its address").port()
}

impl Server {
    fn start(name: &str, bin: &Path, database: Option<&str>) -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = String::from("[video]\nrecord = false\n");
        if let Some(url) = database {
            config.push_str(&format!("\n[database]\nurl = \"{url}\"\n"));
        }
        std::fs::write(dir.path().join("citywatch.toml"), config).expect("writing citywatch.toml");
        let port = free_port();
        let child = Command::new(bin)
            .args(["serve", "--data", dir.path().to_str().expect("a UTF-8 path"), "--listen", &format!("127.0.0.1:{port}")])
            .env("CITYWATCH_ADMIN_PASSWORD", PASSWORD)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e} (build it with cargo build --release -p citywatch)", bin.display()));
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().expect("an HTTP client");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while client.get(format!("{base}/health")).send().map_or(true, |r| !r.status().is_success()) {
            assert!(started.elapsed() < Duration::from_secs(60), "{name}: the server did not answer within a minute");
            std::thread::sleep(Duration::from_millis(100));
        }
        let login: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": PASSWORD}))
            .send()
            .and_then(|r| r.json())
            .expect("logging in");
        let token = login["token"].as_str().unwrap_or_else(|| panic!("{name}: login: {login}")).to_owned();
        Server { name: name.into(), child, base, client, token, incident: 0, camera_ids: Vec::new(), _dir: dir }
    }

    fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let mut req = self.client.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().unwrap_or_else(|e| panic!("{}: {method} {path}: {e}", self.name));
        let status = r.status();
        let text = r.text().unwrap_or_default();
        assert!(status.is_success(), "{}: {method} {path}: {status} {text}", self.name);
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The same city on every server: cameras, units each with a GPS fix,
    /// and an open incident among them.
    fn populate(&mut self, cameras: usize, units: usize) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let mut point = move || (CENTRE.0 + rng.gen_range(-HALF_DEG..HALF_DEG), CENTRE.1 + rng.gen_range(-HALF_DEG..HALF_DEG));
        let features: Vec<Value> = (0..cameras)
            .map(|i| {
                let (lat, lon) = point();
                json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                       "properties": {"id": format!("cam-{i:05}"), "name": format!("Camera {i}"), "heading_deg": (i * 37 % 360) as f64, "fov_deg": 90.0, "range_m": 80.0}})
            })
            .collect();
        self.send(reqwest::Method::POST, "/api/v1/cameras/import", Some(&json!({"type": "FeatureCollection", "features": features})));
        self.camera_ids = (0..cameras).map(|i| format!("cam-{i:05}")).collect();
        let now = chrono::Utc::now().timestamp();
        for u in 0..units {
            let id = format!("unit-{u:04}");
            self.send(reqwest::Method::POST, "/api/v1/units", Some(&json!({"id": id, "call_sign": format!("Unit {u}"), "kind": "car"})));
            let device = self.send(reqwest::Method::POST, &format!("/api/v1/units/{id}/devices"), Some(&json!({"device_id": format!("dev-{u:04}")})));
            let token = device["token"].as_str().expect("a device token");
            let (lat, lon) = point();
            let fix = format!("{}/api/v1/avl/osmand?id=dev-{u:04}&token={token}&lat={lat}&lon={lon}&timestamp={now}", self.base);
            let r = self.client.get(fix).send().expect("a GPS fix");
            assert!(r.status().is_success(), "{}: GPS fix: {}", self.name, r.status());
        }
        // The timed requests are a dispatcher's and an operator's (an admin
        // may neither dispatch nor watch): one account holding both roles.
        self.send(
            reqwest::Method::POST,
            "/api/v1/users",
            Some(&json!({"username": "bench", "password": PASSWORD, "grants": [{"role": "dispatcher"}, {"role": "operator"}]})),
        );
        let login: Value = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": "bench", "password": PASSWORD}))
            .send()
            .and_then(|r| r.json())
            .expect("logging in as bench");
        self.token = login["token"].as_str().unwrap_or_else(|| panic!("{}: login: {login}", self.name)).to_owned();
        let incident = self.send(reqwest::Method::POST, "/api/v1/incidents", Some(&json!({"type": "bench", "priority": 2, "lat": CENTRE.0, "lon": CENTRE.1})));
        self.incident = incident["id"].as_i64().unwrap_or_else(|| panic!("{}: incident: {incident}", self.name));
    }
}

#[derive(Clone, Copy)]
enum Op {
    Cameras,
    Near,
    Event,
    Recommend,
}

impl Op {
    const ALL: [Op; 4] = [Op::Cameras, Op::Near, Op::Event, Op::Recommend];

    fn name(self) -> &'static str {
        match self {
            Op::Cameras => "cameras",
            Op::Near => "near",
            Op::Event => "event",
            Op::Recommend => "recommend",
        }
    }

    /// One request, timed; `i` varies the query so that no answer is cached.
    fn run(self, s: &Server, i: usize) -> Duration {
        let started = Instant::now();
        match self {
            Op::Cameras => {
                let v = s.send(reqwest::Method::GET, "/api/v1/cameras", None);
                assert_eq!(v.as_array().map(Vec::len), Some(s.camera_ids.len()), "{}: the whole list", s.name);
            }
            Op::Near => {
                let k = i as f64 / 997.0;
                let (lat, lon) = (CENTRE.0 + HALF_DEG * (k.sin() * 0.8), CENTRE.1 + HALF_DEG * (k.cos() * 0.8));
                s.send(reqwest::Method::GET, &format!("/api/v1/cameras?near={lat},{lon}&radius_m=500"), None);
            }
            Op::Event => {
                let camera = &s.camera_ids[i % s.camera_ids.len()];
                s.send(reqwest::Method::POST, "/api/v1/events", Some(&json!({"type": "motion", "source": {"kind": "camera", "id": camera}})));
            }
            Op::Recommend => {
                let v = s.send(reqwest::Method::GET, &format!("/api/v1/incidents/{}/recommendations", s.incident), None);
                assert!(v.to_string().contains("unit-"), "{}: units are recommended: {v}", s.name);
            }
        }
        started.elapsed()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let a = args();
    let db = TestDatabase::create();
    let mut servers = vec![Server::start("sqlite", &a.bin, None), Server::start("postgres", &a.bin, Some(db.url()))];
    if let Some(baseline) = &a.baseline_bin {
        servers.push(Server::start("sqlite-baseline", baseline, None));
    }
    for s in &mut servers {
        let started = Instant::now();
        eprint!("{}: {} cameras, {} units with a fix, one incident … ", s.name, a.cameras, a.units);
        let _ = std::io::stderr().flush();
        s.populate(a.cameras, a.units);
        eprintln!("{:.1} s", started.elapsed().as_secs_f64());
    }
    println!(
        "API latency over HTTP, {} cameras, {} units; {} timed requests per operation and server after {} untimed",
        a.cameras, a.units, a.requests, a.warmup
    );
    println!("{:<10} {:<16} {:>10} {:>10} {:>10}", "operation", "server", "p50 µs", "p99 µs", "mean µs");
    for op in Op::ALL {
        let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(a.requests); servers.len()];
        for i in 0..a.warmup + a.requests {
            // In turn, so that whatever else the machine does falls on every server alike.
            for (n, s) in servers.iter().enumerate() {
                let t = op.run(s, i);
                if i >= a.warmup {
                    times[n].push(t);
                }
            }
        }
        let mut p50s = Vec::new();
        for (s, t) in servers.iter().zip(&mut times) {
            t.sort();
            let mean = t.iter().sum::<Duration>() / t.len() as u32;
            let (p50, p99) = (percentile(t, 0.5), percentile(t, 0.99));
            println!("{:<10} {:<16} {:>10.0} {:>10.0} {:>10.0}", op.name(), s.name, micros(p50), micros(p99), micros(mean));
            p50s.push(p50);
        }
        println!("{:<10} ratio p50 postgres/sqlite = {:.2}", "", micros(p50s[1]) / micros(p50s[0]));
        if p50s.len() > 2 {
            println!("{:<10} ratio p50 sqlite now/baseline = {:.3}", "", micros(p50s[0]) / micros(p50s[2]));
        }
    }
}
