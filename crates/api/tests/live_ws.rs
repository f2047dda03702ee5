//! `/api/v1/live` over real HTTP and WebSocket: the protocol, scopes and
//! audit with frames published straight into the hub; then the whole path
//! from GStreamer's RTSP server through ingest, the recorder and the hub to
//! several WebSocket viewers, one of which stops reading. That one must not
//! slow the recorder or the other viewers, and when it reads again it
//! resumes at a key frame with a stream that still decodes.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use citywatch_model::Role;
use citywatch_test_support::{free_port, GstCamera};
use citywatch_video::camera_recorder::{record_stream, RecordTask, StatusSink};
use citywatch_video::disk_writer::{DiskWriter, WriterConfig};
use citywatch_video::ingest::{IngestConfig, StreamHealth};
use citywatch_video::recorder::Stream;
use citywatch_video::sample_dir::SampleDir;
use citywatch_video::Frame;
use common::{h264_params, start, TestServer, NO_STREAM};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(30);

async fn connect(s: &TestServer, token: &str) -> Ws {
    let mut req = format!("{}/api/v1/live", s.base.replace("http://", "ws://")).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.expect("WebSocket handshake").0
}

/// A viewer whose socket takes a few kilobytes before it pushes back, so a
/// viewer that stops reading stalls the server's writes within seconds.
async fn connect_small_window(s: &TestServer, token: &str) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let addr: std::net::SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let mut req = format!("ws://{addr}/api/v1/live").into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::client_async(req, tcp).await.expect("WebSocket handshake").0
}

async fn send<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>, v: Value)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

enum In {
    Text(Value),
    Binary(Bytes),
}

async fn next<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> In
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next()).await.expect("a message within 30 s").expect("socket open").expect("no socket error");
        match msg {
            Message::Text(t) => return In::Text(serde_json::from_str(&t).unwrap()),
            Message::Binary(b) => return In::Binary(b),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

async fn next_text<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> Value
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match next(ws).await {
        In::Text(v) => v,
        In::Binary(b) => panic!("expected text, got {} bytes", b.len()),
    }
}

fn find(buf: &[u8], kind: &[u8; 4]) -> Option<usize> {
    buf.windows(4).position(|w| w == kind)
}

/// The `trun` flags of a fragment's first sample say whether it is a key frame.
fn is_key_fragment(payload: &[u8]) -> bool {
    assert_eq!(&payload[4..8], b"moof", "a media fragment");
    let trun = find(payload, b"trun").expect("trun");
    u32::from_be_bytes(payload[trun + 24..trun + 28].try_into().unwrap()) == 0x0200_0000
}

fn synthetic(n: i64) -> Frame {
    let params = h264_params();
    Frame { timestamp_90k: n * 6000, is_key: n % 15 == 0, data: Bytes::from(vec![0, 0, 0, 2, if n % 15 == 0 { 0x65 } else { 0x41 }, n as u8]), params }
}

#[tokio::test]
async fn subscriptions_are_scoped_audited_and_start_at_a_key_frame() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    // A supervisor: the camera's own stream (masked viewers' blurred
    // video is tests/live_redacted.rs's).
    s.user("north-op", &[(Role::Supervisor, Some(&["North"]), None)]);
    s.user("auditor", &[(Role::Auditor, None, None)]);
    let root = s.login("root").await;
    s.camera(&root, "n1", "North", Some(NO_STREAM)).await;
    s.camera(&root, "s1", "South", Some(NO_STREAM)).await;
    let op = s.login("north-op").await;

    // No session, no socket; a role without ViewLive, no socket; another site's page, no socket.
    let plain = format!("{}/api/v1/live", s.base.replace("http://", "ws://"));
    match tokio_tungstenite::connect_async(plain.clone()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|x| x.1.status())),
    }
    let mut req = plain.clone().into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {}", s.login("auditor").await).parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|x| x.1.status())),
    }
    let mut req = plain.into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {op}").parse().unwrap());
    req.headers_mut().insert("origin", "https://elsewhere.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
        other => panic!("expected 403 for a foreign Origin, got {:?}", other.map(|x| x.1.status())),
    }

    // A camera being published before anyone watches: a GOP is cached.
    let publisher = s.live.publisher("n1", Stream::Main);
    publisher.online();
    for n in 0..20 {
        publisher.frame(synthetic(n));
    }
    let mut ws = connect(&s, &op).await;
    send(&mut ws, json!({"subscribe": "s1", "ref": 7})).await;
    let refused = next_text(&mut ws).await;
    assert_eq!(refused["error"], "camera s1 not found", "outside the grant it does not exist: {refused}");
    assert_eq!(refused["ref"], 7);
    send(&mut ws, json!({"subscribe": "nope"})).await;
    assert!(next_text(&mut ws).await["error"].as_str().unwrap().contains("not found"));
    send(&mut ws, json!({"subscribe": "n1", "stream": "sub"})).await;
    assert!(next_text(&mut ws).await["error"].as_str().unwrap().contains("no sub stream"));
    send(&mut ws, json!({"bogus": 1})).await;
    assert!(next_text(&mut ws).await["error"].as_str().unwrap().contains("bad command"));

    send(&mut ws, json!({"subscribe": "n1", "ref": "tile-1"})).await;
    let ok = next_text(&mut ws).await;
    assert_eq!((ok["subscribed"].as_str(), ok["stream"].as_str(), ok["ref"].as_str()), (Some("n1"), Some("main"), Some("tile-1")), "{ok}");
    let channel = ok["channel"].as_u64().unwrap() as u8;
    let init_msg = next_text(&mut ws).await;
    assert_eq!(init_msg["channel"], channel);
    assert_eq!(init_msg["mime"], "video/mp4; codecs=\"avc1.64001e\"");
    assert_eq!(init_msg["browser_playable"], true);
    let In::Binary(init) = next(&mut ws).await else { panic!("init segment expected") };
    assert_eq!(init[0], channel);
    assert_eq!(&init[5..9], b"ftyp");
    // The cached GOP: key frame 15, then 16..19, then live 20.
    let mut keys = Vec::new();
    for _ in 15..20 {
        let In::Binary(b) = next(&mut ws).await else { panic!("fragment expected") };
        assert_eq!(b[0], channel);
        keys.push(is_key_fragment(&b[1..]));
    }
    assert_eq!(keys, [true, false, false, false, false], "starts at the cached key frame");
    publisher.frame(synthetic(20));
    let In::Binary(b) = next(&mut ws).await else { panic!("live fragment expected") };
    assert_eq!(*b.last().unwrap(), 20, "the live frame's payload");

    // Camera goes down: the viewer is told.
    publisher.offline();
    assert_eq!(next_text(&mut ws).await["state"], "offline");
    send(&mut ws, json!({"unsubscribe": channel})).await;
    assert_eq!(next_text(&mut ws).await["unsubscribed"], channel);
    send(&mut ws, json!({"unsubscribe": channel})).await;
    assert!(next_text(&mut ws).await["error"].as_str().unwrap().contains("no subscription"));

    let audited: Vec<_> = s.audit_actions().into_iter().filter(|(actor, action, _)| actor == "north-op" && action == "video.live").collect();
    assert_eq!(audited.len(), 1, "one successful subscription, one audit entry: {audited:?}");
    let entries = s.audit_entries();
    let e = entries.iter().find(|e| e.action == "video.live").unwrap();
    assert_eq!(e.target, "n1");
}

/// A viewer that reads everything, counting fragments and keeping the bytes.
struct Reader {
    fragments: Arc<AtomicU64>,
    bytes: Arc<Mutex<Vec<u8>>>,
    task: tokio::task::JoinHandle<()>,
}

fn read_all(mut ws: Ws) -> Reader {
    let fragments = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let (f, b) = (fragments.clone(), bytes.clone());
    let task = tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Binary(data) = msg {
                if &data[5..9] == b"moof" {
                    f.fetch_add(1, Ordering::Relaxed);
                }
                b.lock().unwrap().extend_from_slice(&data[1..]);
            }
        }
    });
    Reader { fragments, bytes, task }
}

fn ffmpeg_decode(path: &std::path::Path) -> (u64, String) {
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe (Debian package ffmpeg)");
    assert!(probe.status.success(), "ffprobe: {}", String::from_utf8_lossy(&probe.stderr));
    let frames = String::from_utf8_lossy(&probe.stdout).trim().parse().unwrap_or(0);
    let decode = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(path).args(["-f", "null", "-"]).output().unwrap();
    assert!(decode.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&decode.stderr));
    (frames, String::from_utf8_lossy(&decode.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_viewer_that_stops_reading_slows_neither_the_recorder_nor_other_viewers() {
    let rtsp = GstCamera::start(free_port(), &[]);
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("op", &[(Role::Supervisor, None, None)]);
    let root = s.login("root").await;
    let url = rtsp.url("/test");
    s.camera(&root, "gst", "North", Some(&url)).await;
    let op = s.login("op").await;

    // The recorder as `citywatch serve` runs it, publishing into the server's hub.
    let health = Arc::new(StreamHealth::default());
    let task = RecordTask {
        camera_id: "gst".into(),
        stream: Stream::Main,
        ingest: IngestConfig::new(url.parse().unwrap()),
        health: health.clone(),
        live: Some(s.live.clone()),
        read_batch: citywatch_video::ingest::DEFAULT_BATCH,
    };
    let samples = Arc::new(SampleDir::open(&s.dir.path().join("video")).unwrap());
    let status: StatusSink = Arc::new(|_, _| {});
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let writer = DiskWriter::spawn(s.repos.recordings.clone(), samples, WriterConfig::default());
    let recorder = tokio::spawn(record_stream(task, writer.clone(), status, stop_rx));

    // The slow viewer: subscribes, reads the start, then stops reading.
    let mut slow = connect_small_window(&s, &op).await;
    send(&mut slow, json!({"subscribe": "gst"})).await;
    let mut slow_bytes = Vec::new();
    assert!(next_text(&mut slow).await["subscribed"] == "gst");
    let mut slow_fragments = 0;
    while slow_fragments < 5 {
        match next(&mut slow).await {
            In::Binary(b) => {
                if &b[5..9] == b"moof" {
                    if slow_fragments == 0 {
                        assert!(is_key_fragment(&b[1..]), "the first fragment is a key frame");
                    }
                    slow_fragments += 1;
                }
                slow_bytes.extend_from_slice(&b[1..]);
            }
            In::Text(v) => assert!(v["mime"].as_str().unwrap_or("").contains("avc1") || v["state"].is_string(), "{v}"),
        }
    }

    // Two viewers that read everything.
    let mut readers = Vec::new();
    for _ in 0..2 {
        let mut ws = connect(&s, &op).await;
        send(&mut ws, json!({"subscribe": "gst"})).await;
        assert_eq!(next_text(&mut ws).await["subscribed"], "gst");
        readers.push(read_all(ws));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Ten seconds with the slow viewer not reading at all.
    let camera_before = health.snapshot().frames;
    let seen_before: Vec<u64> = readers.iter().map(|r| r.fragments.load(Ordering::Relaxed)).collect();
    let window_start = chrono::Utc::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let camera_frames = health.snapshot().frames - camera_before;
    let seen: Vec<u64> = readers.iter().zip(&seen_before).map(|(r, b)| r.fragments.load(Ordering::Relaxed) - b).collect();
    let window_end = chrono::Utc::now();
    assert!(camera_frames >= 100, "the camera sent {camera_frames} frames in 10 s at 15 fps");
    eprintln!("live_ws: camera {camera_frames} frames, viewers {seen:?}, {} bytes to a viewer so far", readers[0].bytes.lock().unwrap().len());
    for (i, n) in seen.iter().enumerate() {
        assert!(*n as f64 >= 0.9 * camera_frames as f64, "viewer {i} got {n} of the camera's {camera_frames} frames while another viewer stalled");
    }

    // The recorder kept going: the window is recorded (up to the GOP still in memory).
    let w = writer.clone();
    tokio::task::spawn_blocking(move || w.flush()).await.unwrap();
    let q = format!(
        "/api/v1/cameras/gst/recordings?start={}&end={}",
        (window_start - chrono::Duration::minutes(1)).to_rfc3339(),
        (window_end + chrono::Duration::minutes(1)).to_rfc3339()
    );
    let (st, rec) = s.get(&op, &q.replace('+', "%2B")).await;
    assert_eq!(st, 200, "{rec}");
    let covered = rec["spans"].as_array().unwrap().iter().any(|sp| {
        let (a, b): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
            (sp["start"].as_str().unwrap().parse().unwrap(), sp["end"].as_str().unwrap().parse().unwrap());
        a <= window_start && b >= window_end - chrono::Duration::seconds(2)
    });
    assert!(covered, "the recording covers the 10 s window: {rec}");
    assert_eq!(health.snapshot().dropped_frames, 0, "ingest dropped nothing");

    // The slow viewer reads again: it is told what it missed and resumes at a key frame.
    let mut skipped = None;
    let mut after_skip = Vec::new();
    let mut read = 0;
    while after_skip.len() < 20 {
        read += 1;
        assert!(read < 1000, "no skip after 1000 messages: the stalled viewer was not skipped ahead");
        match next(&mut slow).await {
            In::Text(v) if v["skipped"].is_u64() => skipped = v["skipped"].as_u64(),
            In::Text(v) => panic!("unexpected {v}"),
            In::Binary(b) => {
                if skipped.is_some() {
                    after_skip.push(is_key_fragment(&b[1..]));
                }
                slow_bytes.extend_from_slice(&b[1..]);
            }
        }
    }
    let skipped = skipped.expect("a skipped message");
    eprintln!("live_ws: the stalled viewer skipped {skipped} frames");
    assert!(skipped > 0);
    assert!(after_skip[0], "after the skip the first fragment is a key frame");

    // Every viewer's bytes are one clean fMP4 stream.
    let slow_file = s.dir.path().join("slow.mp4");
    std::fs::write(&slow_file, &slow_bytes).unwrap();
    let (slow_frames, errors) = ffmpeg_decode(&slow_file);
    assert_eq!(errors, "", "the slow viewer's stream decodes without errors");
    assert!(slow_frames >= 25, "{slow_frames}");
    drop(slow);
    for r in readers {
        r.task.abort();
        let _ = r.task.await;
        let fast_file = s.dir.path().join("fast.mp4");
        std::fs::write(&fast_file, &*r.bytes.lock().unwrap()).unwrap();
        let (frames, errors) = ffmpeg_decode(&fast_file);
        assert_eq!(errors, "", "a reading viewer's stream decodes without errors");
        assert_eq!(frames, r.fragments.load(Ordering::Relaxed), "one decodable picture per fragment");
    }
    stop.send(true).unwrap();
    tokio::time::timeout(WAIT, recorder).await.expect("the recorder stops").unwrap();
}
