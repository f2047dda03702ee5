//! Live view latency on loopback, through the real pipeline: GStreamer's
//! RTSP server → ingest → recorder task → live hub → `/api/v1/live`
//! WebSocket → a client in this process.
//!
//! Measures
//! 1. *subscribe → first decodable fragment*: from sending
//!    `{"subscribe": ...}` on an open socket to having received the init
//!    segment and the first fragment (a key frame, from the hub's cached GOP);
//! 2. *arrival → received*: from the moment the hub got a frame from the
//!    camera (`LiveFrame::arrived`, stamped at publish) to the moment a
//!    WebSocket client on loopback has the fragment carrying it. This bounds
//!    the server's arrival → send latency from above (it adds the loopback
//!    transfer and the client's parsing).
//!
//! Fragments are matched to frames by hashing the `mdat` payload, which is
//! exactly the frame's bytes.
//!
//! Usage: citywatch-bench-live [--subscribes N] [--viewers N] [--seconds S]

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use citywatch_api::{AppParts, AppState, ConsoleSettings};
use citywatch_audit::{new_session_token, token_hash, AuditLog, Record, Scope};
use citywatch_model::{Camera, CameraStatus, CameraUpdate, Role};
use citywatch_registry::Registry;
use citywatch_store::Store;
use citywatch_video::camera_recorder::{record_stream, RecordTask, StatusSink};
use citywatch_video::disk_writer::{DiskWriter, WriterConfig};
use citywatch_video::health::HealthRegistry;
use citywatch_video::ingest::{IngestConfig, IngestRuntimes, StreamHealth, DEFAULT_TICK};
use citywatch_video::live::{LiveEvent, LiveHub};
use citywatch_video::recorder::Stream;
use citywatch_video::sample_dir::SampleDir;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const RTSP_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../crates/video/tests/rtsp_server.py");

struct Args {
    subscribes: usize,
    viewers: usize,
    seconds: u64,
}

fn args() -> Args {
    let mut a = Args { subscribes: 100, viewers: 16, seconds: 30 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{flag} needs a number"));
        match flag.as_str() {
            "--subscribes" => a.subscribes = value() as usize,
            "--viewers" => a.viewers = value() as usize,
            "--seconds" => a.seconds = value(),
            "--help" | "-h" => {
                println!("citywatch-bench-live [--subscribes N (100)] [--viewers N (16)] [--seconds S (30)]");
                std::process::exit(0);
            }
            other => panic!("unknown flag {other}; see --help"),
        }
    }
    a
}

fn hash(b: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

/// The payload of a one-sample fragment's `mdat`, and whether it is a key frame.
fn fragment(payload: &[u8]) -> Option<(&[u8], bool)> {
    if payload.len() < 16 || &payload[4..8] != b"moof" {
        return None;
    }
    let moof = u32::from_be_bytes(payload[0..4].try_into().ok()?) as usize;
    let trun = payload.windows(4).position(|w| w == b"trun")?;
    let key = u32::from_be_bytes(payload[trun + 24..trun + 28].try_into().ok()?) == 0x0200_0000;
    Some((&payload[moof + 8..], key))
}

fn percentiles(name: &str, v: &mut [Duration]) -> String {
    if v.is_empty() {
        return format!("{name}: no samples");
    }
    v.sort();
    let p = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!("{name}: n={} p50={:.2} ms p90={:.2} ms p99={:.2} ms max={:.2} ms", v.len(), ms(p(0.50)), ms(p(0.90)), ms(p(0.99)), ms(*v.last().unwrap()))
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(base: &str, token: &str) -> Ws {
    let mut req = format!("ws://{base}/api/v1/live").into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.expect("WebSocket handshake").0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = args();

    // The camera.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut rtsp = Command::new("/usr/bin/python3")
        .arg(RTSP_SERVER)
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 with GStreamer's RTSP server");
    let mut line = String::new();
    BufReader::new(rtsp.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("READY"), "RTSP server: {line:?}");
    let url = format!("rtsp://127.0.0.1:{port}/test");

    // The server, in this process.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("citywatch.db")).unwrap());
    let audit = Arc::new(AuditLog::new(store.clone(), citywatch_audit::load_or_create_signing_key(dir.path()).unwrap()));
    let registry = Arc::new(Registry::load(store.clone()).unwrap());
    let camera = Camera {
        id: "bench".into(),
        name: "bench camera".into(),
        lat: 44.81,
        lon: 20.46,
        height_m: None,
        heading_deg: 0.0,
        fov_deg: 90.0,
        range_m: 50.0,
        district: None,
        tags: vec![],
        main_url: Some(url.clone()),
        sub_url: None,
        status: CameraStatus::Unknown,
    };
    registry
        .create(&CameraUpdate { camera, main_credentials: None, sub_credentials: None }, &Scope::All, &audit, Record::new("bench", "camera.create", "bench"))
        .unwrap();
    // A supervisor: the zero-transcode path (masked viewers get blurred video).
    store.create_user("viewer", "unused").unwrap();
    store.add_grant("viewer", Role::Supervisor, None, None).unwrap();
    let token = new_session_token();
    store.create_session(&token_hash(&token), "viewer", chrono::Utc::now() + chrono::Duration::hours(2)).unwrap();
    let samples = Arc::new(SampleDir::open(&dir.path().join("video")).unwrap());
    let live = Arc::new(LiveHub::default());
    let console = ConsoleSettings { style_url: None, center: [20.46, 44.81], zoom: 14.0 };
    let events = citywatch_events::Events::start(store.clone(), registry.clone(), Default::default()).unwrap();
    let state = AppState::new(AppParts {
        users: store.clone(),
        access: store.clone(),
        registry: registry.clone(),
        audit,
        console,
        basemap: None,
        session_ttl: chrono::Duration::hours(2),
        recording_index: store.clone(),
        recordings: Arc::new(citywatch_video::recording_source::LocalRecordings::new(store.clone(), samples.clone())),
        video_dir: dir.path().join("video"),
        health: Arc::new(HealthRegistry::default()),
        metrics_token: None,
        live: live.clone(),
        events: events.clone(),
        dispatch: Arc::new(citywatch_dispatch::Dispatch::new(store.clone(), Default::default())),
        plates: Arc::new(citywatch_hotlists::PlateReads::new(store.clone(), registry.clone(), events)),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = listener.local_addr().unwrap().to_string();
    tokio::spawn(citywatch_api::serve(listener, state, futures::future::pending()));

    let health = Arc::new(StreamHealth::default());
    let task = RecordTask {
        camera_id: "bench".into(),
        stream: Stream::Main,
        ingest: IngestConfig::new(url.parse().unwrap()),
        health: health.clone(),
        live: Some(live.clone()),
        read_batch: citywatch_video::ingest::DEFAULT_BATCH,
    };
    let status: StatusSink = Arc::new(|_, _| {});
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let writer = DiskWriter::spawn(store.clone(), samples, WriterConfig::default());
    // As `citywatch serve` runs it: on a tick-driven ingest thread.
    let ingest = IngestRuntimes::start(1, DEFAULT_TICK).expect("ingest thread");
    ingest.spawn(record_stream(task, writer, status, stop_rx));

    // Arrival times of every frame, by content.
    let arrivals: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let mut probe = live.subscribe("bench", Stream::Main);
    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    {
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            let mut first = Some(first_tx);
            while let Some(e) = probe.next().await {
                if let LiveEvent::Frame(f) = e {
                    arrivals.lock().unwrap().insert(hash(&f.frame.data), f.arrived);
                    if let Some(tx) = first.take() {
                        let _ = tx.send(());
                    }
                }
            }
        });
    }
    tokio::time::timeout(Duration::from_secs(30), first_rx).await.expect("the camera streams within 30 s").unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("live bench: GStreamer 640x360 H.264, 15 fps, key frame every 15 frames; server and clients on loopback");

    // 1. Subscribe → first decodable fragment, each on a fresh socket.
    let mut to_first = Vec::new();
    let mut handshakes = Vec::new();
    for i in 0..args.subscribes {
        let t = Instant::now();
        let mut ws = connect(&base, &token).await;
        handshakes.push(t.elapsed());
        let t0 = Instant::now();
        ws.send(Message::Text(serde_json::json!({"subscribe": "bench"}).to_string().into())).await.unwrap();
        let mut have_init = false;
        loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("data within 10 s").unwrap().unwrap() {
                Message::Binary(b) if &b[5..9] == b"ftyp" => have_init = true,
                Message::Binary(b) => {
                    let (_, key) = fragment(&b[1..]).expect("a fragment");
                    assert!(have_init && key, "subscription {i}: the first fragment must follow the init segment and be a key frame");
                    to_first.push(t0.elapsed());
                    break;
                }
                _ => {}
            }
        }
        let _ = ws.close(None).await;
        // Land at different points of the GOP.
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
    println!("{}", percentiles("WebSocket connect + handshake", &mut handshakes));
    println!("{}", percentiles("subscribe -> first decodable fragment (init + key frame)", &mut to_first));

    // 2. Arrival → received, with `viewers` sockets watching at once.
    let mut tasks = Vec::new();
    for _ in 0..args.viewers {
        let mut ws = connect(&base, &token).await;
        ws.send(Message::Text(serde_json::json!({"subscribe": "bench"}).to_string().into())).await.unwrap();
        let seconds = args.seconds;
        tasks.push(tokio::spawn(async move {
            let mut got: Vec<(u64, Instant)> = Vec::new();
            let mut skipped = 0u64;
            let until = Instant::now() + Duration::from_secs(seconds);
            // The cached GOP is old by design; count live frames only.
            let live_from = Instant::now() + Duration::from_secs(2);
            while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until.into(), ws.next()).await {
                let now = Instant::now();
                match msg {
                    Message::Binary(b) => {
                        if let Some((data, _)) = fragment(&b[1..]) {
                            if now >= live_from {
                                got.push((hash(data), now));
                            }
                        }
                    }
                    Message::Text(t) if t.contains("skipped") => skipped += 1,
                    _ => {}
                }
            }
            (got, skipped)
        }));
    }
    let mut latencies = Vec::new();
    let mut unmatched = 0;
    let mut skips = 0;
    let mut per_viewer = Vec::new();
    for t in tasks {
        let (got, skipped) = t.await.unwrap();
        skips += skipped;
        per_viewer.push(got.len());
        let arrivals = arrivals.lock().unwrap();
        for (h, at) in got {
            match arrivals.get(&h) {
                Some(arrived) => latencies.push(at.saturating_duration_since(*arrived)),
                None => unmatched += 1,
            }
        }
    }
    let camera = health.snapshot();
    println!(
        "{} viewers for {} s: frames received per viewer {:?}; unmatched {unmatched}; skip notices {skips}; camera frames {}, dropped by ingest {}",
        args.viewers, args.seconds, per_viewer, camera.frames, camera.dropped_frames
    );
    println!("{}", percentiles("hub arrival -> fragment received by a WebSocket client", &mut latencies));
    println!("  (plus at most one ingest tick, {DEFAULT_TICK:?}, between a packet reaching the socket of a watched stream and its read)");
    let _ = rtsp.kill();
    let _ = rtsp.wait();
}
