//! RTSP ingest against real peers: GStreamer's RTSP server (run by
//! tests/rtsp_server.py with Debian's /usr/bin/python3, through
//! `citywatch_test_support::GstCamera`) for the good path,
//! and tiny hand-written TCP peers for the bad ones (garbage, silence,
//! closed port, odd SDP).
//!
//! The GStreamer tests fail, never skip, when the server cannot start; the
//! message names the Debian packages to install.

use std::sync::Arc;
use std::time::{Duration, Instant};

use citywatch_test_support::{free_port, GstCamera};
use citywatch_video::ingest::{self, Backoff, IngestConfig, IngestError, IngestEvent, Pacing, Stage, StreamHealth, StreamState, Transport};
use citywatch_video::{Codec, Frame};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// Generous: a loaded 2-core machine must not fail these tests.
const LONG: Duration = Duration::from_secs(60);

fn config(url: &str, transport: Transport) -> IngestConfig {
    let mut cfg = IngestConfig::new(url::Url::parse(url).unwrap());
    cfg.transport = transport;
    cfg.connect_timeout = Duration::from_secs(20);
    cfg.frame_timeout = Duration::from_secs(20);
    cfg
}

/// Frames until they span `media_secs` of stream time.
async fn collect(session: &mut ingest::IngestSession, media_secs: i64) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    let t0 = Instant::now();
    loop {
        let f = tokio::time::timeout(LONG, session.next_frame())
            .await
            .expect("no frame within 60 s")
            .expect("next_frame failed")
            .expect("server ended the session");
        frames.push(f);
        let span = frames.last().unwrap().timestamp_90k - frames[0].timestamp_90k;
        if span >= media_secs * 90_000 {
            return frames;
        }
        assert!(t0.elapsed() < 3 * LONG, "too slow: {} frames", frames.len());
    }
}

/// Splits AVCC data (4-byte big-endian length + NAL unit, repeated) and
/// checks it fills the buffer exactly. Returns the NAL units.
fn split_avcc(data: &[u8]) -> Vec<&[u8]> {
    let mut nals = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        assert!(rest.len() >= 4, "truncated length prefix: {} bytes left", rest.len());
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        assert!(len > 0, "empty NAL unit");
        assert!(len <= rest.len() - 4, "NAL length {len} overruns the buffer ({} bytes left)", rest.len() - 4);
        nals.push(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    assert!(!nals.is_empty(), "frame without NAL units");
    nals
}

fn nal_types(data: &[u8], codec: Codec) -> Vec<u8> {
    split_avcc(data)
        .iter()
        .map(|n| match codec {
            Codec::H264 => n[0] & 0x1f,
            Codec::H265 => (n[0] >> 1) & 0x3f,
        })
        .collect()
}

/// The checks both codecs share.
fn check_frames(frames: &[Frame], codec: Codec) {
    assert!(frames.len() >= 20, "only {} frames in 3 s", frames.len());
    assert!(frames.len() <= 200, "{} frames in 3 s of 15 fps", frames.len());
    assert!(frames[0].is_key, "first frame is not a key frame");
    for w in frames.windows(2) {
        assert!(w[1].timestamp_90k > w[0].timestamp_90k, "timestamps not increasing: {} then {}", w[0].timestamp_90k, w[1].timestamp_90k);
        // Same parameters all along: the very same Arc.
        assert!(Arc::ptr_eq(&w[0].params, &w[1].params), "params Arc changed");
    }
    let keys = frames.iter().filter(|f| f.is_key).count();
    assert!(
        keys >= 2,
        "{keys} key frames in 3 s with key-int-max=15; NAL types per frame: {:?}",
        frames.iter().map(|f| nal_types(&f.data, codec)).collect::<Vec<_>>()
    );
    let p = &frames[0].params;
    assert_eq!(p.codec, codec);
    assert_eq!((p.width, p.height), (640, 360));
    assert!(!p.extra_data.is_empty());
    assert_eq!(p.extra_data[0], 1, "configurationVersion of avcC/hvcC");
    for f in frames {
        let types = nal_types(&f.data, codec);
        // IDR (H.264) / IRAP (H.265); SPS+PPS (H.264) / VPS+SPS+PPS (H.265).
        let is_irap = |t: u8| match codec {
            Codec::H264 => t == 5,
            Codec::H265 => (16..=23).contains(&t),
        };
        let is_param_set = |t: u8| match codec {
            Codec::H264 => t == 7 || t == 8,
            Codec::H265 => (32..=34).contains(&t),
        };
        assert_eq!(f.is_key, types.iter().any(|&t| is_irap(t)), "is_key disagrees with NAL types {types:?}");
        assert!(!types.iter().any(|&t| is_param_set(t)), "parameter sets in-band ({types:?}); they belong in extra_data");
    }
}

// ---------------------------------------------------------------------------
// Good path against GStreamer.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_over_tcp_from_gstreamer() {
    let server = GstCamera::start(free_port(), &[]);
    let cfg = config(&server.url("/test"), Transport::Tcp);
    let mut s = ingest::open(&cfg).await.expect("open");
    let frames = collect(&mut s, 3).await;
    check_frames(&frames, Codec::H264);
    let p = &frames[0].params;
    assert!(p.rfc6381_codec.starts_with("avc1."), "{}", p.rfc6381_codec);
    assert!(Arc::ptr_eq(&s.params().unwrap(), p));
}

/// Frames delivered within this of the one before came out of one read.
const SAME_BURST: Duration = Duration::from_millis(25);

/// Frames for `wall` of wall-clock time, and how many bursts they came in.
async fn bursts(session: &mut ingest::IngestSession, wall: Duration) -> (Vec<Frame>, usize) {
    let mut frames = Vec::new();
    let mut bursts = 0;
    let mut last: Option<Instant> = None;
    let t0 = Instant::now();
    while t0.elapsed() < wall {
        let f = tokio::time::timeout(LONG, session.next_frame())
            .await
            .expect("no frame within 60 s")
            .expect("next_frame failed")
            .expect("server ended the session");
        let now = Instant::now();
        if last.is_none_or(|l| now - l > SAME_BURST) {
            bursts += 1;
        }
        last = Some(now);
        frames.push(f);
    }
    (frames, bursts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwatched_streams_are_read_in_batches_without_losing_a_frame() {
    let server = GstCamera::start(free_port(), &[]);
    let mut cfg = config(&server.url("/test"), Transport::Tcp);
    let watched = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = watched.clone();
    let batch = Duration::from_millis(300);
    cfg.pacing = Pacing::batched(batch, move || w.load(std::sync::atomic::Ordering::Relaxed));
    let mut s = ingest::open(&cfg).await.expect("open");

    let (mut frames, batched) = bursts(&mut s, Duration::from_secs(3)).await;
    eprintln!("unwatched: {} frames in {batched} bursts", frames.len());
    assert!(batched * 10 <= frames.len() * 4, "{} frames came in {batched} bursts: not batched", frames.len());
    watched.store(true, std::sync::atomic::Ordering::Relaxed);
    // The switch happens at the next batch at the latest.
    let (settling, _) = bursts(&mut s, batch * 2).await;
    frames.extend(settling);
    let (live, live_bursts) = bursts(&mut s, Duration::from_secs(2)).await;
    eprintln!("watched: {} frames in {live_bursts} bursts", live.len());
    assert!(live_bursts * 10 >= live.len() * 6, "{} frames came in only {live_bursts} bursts while watched", live.len());
    frames.extend(live);
    check_frames(&frames, Codec::H264);
    // Nothing was lost while the socket was left to fill: every frame
    // interval is the source's (15 fps = 6000 ticks), no gaps.
    for w in frames.windows(2) {
        let d = w[1].timestamp_90k - w[0].timestamp_90k;
        assert!(d <= 9000, "a gap of {d} ticks between frames: frames were lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_key_frame_is_read_as_it_arrives_under_batched_reads() {
    // The recorder anchors a run at the wall clock when it takes the first
    // frame: a batch's wait before it would shift the whole run.
    let server = GstCamera::start(free_port(), &[]);
    let mut cfg = config(&server.url("/test"), Transport::Tcp);
    cfg.pacing = Pacing::batched(Duration::from_secs(5), || false);
    let t0 = Instant::now();
    let mut s = ingest::open(&cfg).await.expect("open");
    let first = tokio::time::timeout(LONG, s.next_frame()).await.expect("no frame").expect("next_frame failed").expect("server ended the session");
    let waited = t0.elapsed();
    eprintln!("first frame {waited:?} after connecting");
    assert!(first.is_key);
    assert!(waited < Duration::from_millis(3500), "the first frame came {waited:?} after connecting: it waited for a batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_arriving_ends_the_wait_for_the_next_batch() {
    let server = GstCamera::start(free_port(), &[]);
    let mut cfg = config(&server.url("/test"), Transport::Tcp);
    let watched = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = watched.clone();
    let wake = Arc::new(tokio::sync::Notify::new());
    // Long batches: without the wake the next frame would come seconds later.
    cfg.pacing = Pacing::batched(Duration::from_secs(4), move || w.load(std::sync::atomic::Ordering::Relaxed)).woken_by(wake.clone());
    let mut s = ingest::open(&cfg).await.expect("open");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Ok(Some(_)) = s.next_frame().await {
            if tx.send(Instant::now()).is_err() {
                break;
            }
        }
    });

    // A burst of frames (a batch: the first key frame comes alone, read as
    // it arrives), then none for half a second: the session waits out its
    // batch now.
    let give_up = Instant::now() + Duration::from_secs(20);
    let mut burst = 0;
    loop {
        match tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
            Ok(Some(_)) => burst += 1,
            Ok(None) => panic!("the session ended"),
            Err(_) if burst >= 20 => break,
            Err(_) => {
                assert!(Instant::now() < give_up, "no batch of frames in 20 s");
                burst = 0;
            }
        }
    }

    // A viewer arrives (what the live hub does on subscribe).
    watched.store(true, std::sync::atomic::Ordering::Relaxed);
    wake.notify_one();
    let woken = Instant::now();
    let next = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("no frame 10 s after the wake").expect("the session ended");
    let latency = next.saturating_duration_since(woken);
    eprintln!("first frame {latency:?} after a viewer arrived mid-batch");
    assert!(latency < Duration::from_millis(1500), "the next frame came {latency:?} after the viewer arrived: the session slept out its batch");
    reader.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_sessions_are_never_batched() {
    // An unread UDP socket drops what overflows its buffer.
    let server = GstCamera::start(free_port(), &[]);
    let mut cfg = config(&server.url("/test"), Transport::Udp);
    cfg.pacing = Pacing::batched(Duration::from_millis(300), || false);
    let mut s = ingest::open(&cfg).await.expect("open");
    let (frames, bursts) = bursts(&mut s, Duration::from_secs(2)).await;
    eprintln!("udp: {} frames in {bursts} bursts", frames.len());
    assert!(bursts * 10 >= frames.len() * 6, "{} UDP frames came in only {bursts} bursts: batched", frames.len());
}

#[tokio::test]
async fn a_mute_camera_is_stalled_under_batched_reads_too() {
    let (port, _peer) = fake_peer(mute_camera).await;
    let url = url::Url::parse(&format!("rtsp://127.0.0.1:{port}/cam1")).unwrap();
    let mut cfg = quick(url, Duration::from_secs(20));
    cfg.frame_timeout = Duration::from_millis(1500);
    cfg.pacing = Pacing::batched(Duration::from_millis(400), || false);
    let mut s = ingest::open(&cfg).await.expect("open");
    let t0 = Instant::now();
    let e = tokio::time::timeout(LONG, s.next_frame()).await.expect("stall detection gave up").unwrap_err();
    assert!(matches!(e, IngestError::Stalled { .. }), "{e}");
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(1400) && waited < Duration::from_secs(10), "stalled after {waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_over_udp_from_gstreamer() {
    let server = GstCamera::start(free_port(), &[]);
    let cfg = config(&server.url("/test"), Transport::Udp);
    let mut s = ingest::open(&cfg).await.expect("open");
    let frames = collect(&mut s, 3).await;
    check_frames(&frames, Codec::H264);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h265_over_tcp_from_gstreamer() {
    let server = GstCamera::start(free_port(), &["--codec", "h265"]);
    let cfg = config(&server.url("/test"), Transport::Tcp);
    let mut s = ingest::open(&cfg).await.expect("open");
    let frames = collect(&mut s, 3).await;
    check_frames(&frames, Codec::H265);
    let c = &frames[0].params.rfc6381_codec;
    assert!(c.starts_with("hvc1.") || c.starts_with("hev1."), "{c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_auth_against_gstreamer() {
    let server = GstCamera::start(free_port(), &["--user", "operator", "--password", "s3cr3t-pw"]);

    // Right credentials, given in the URL: moved out of it, used for Digest.
    let mut with_url_creds = url::Url::parse(&server.url("/test")).unwrap();
    with_url_creds.set_username("operator").unwrap();
    with_url_creds.set_password(Some("s3cr3t-pw")).unwrap();
    let cfg = config(with_url_creds.as_str(), Transport::Tcp);
    let mut s = ingest::open(&cfg).await.expect("open with the right password");
    let f = tokio::time::timeout(LONG, s.next_frame()).await.unwrap().unwrap().unwrap();
    assert!(f.is_key);
    drop(s);

    // Wrong password: Unauthorized, and the message never shows it.
    let mut cfg = config(&server.url("/test"), Transport::Tcp);
    cfg.credentials = Some(("operator".into(), "wrong-pw-123".into()));
    let e = ingest::open(&cfg).await.unwrap_err();
    let m = e.to_string();
    eprintln!("error: {m}");
    assert!(matches!(e, IngestError::Unauthorized { had_credentials: true, .. }), "{m}");
    assert!(m.contains(&server.url("/test")), "{m}");
    assert!(!m.contains("wrong-pw-123") && !m.contains("s3cr3t"), "{m}");

    // No credentials at all.
    let e = ingest::open(&config(&server.url("/test"), Transport::Tcp)).await.unwrap_err();
    assert!(e.to_string().contains("no credentials are configured"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_path_is_rejected_with_404() {
    let server = GstCamera::start(free_port(), &[]);
    let e = ingest::open(&config(&server.url("/nope"), Transport::Tcp)).await.unwrap_err();
    let m = e.to_string();
    eprintln!("error: {m}");
    assert!(matches!(e, IngestError::Rejected { status: 404, stage: Stage::Describe, .. }), "{m}");
    assert!(m.contains("/nope"), "{m}");
}

// ---------------------------------------------------------------------------
// Bad peers, written here.

/// Accepts connections on a free port and hands each to `serve`.
async fn fake_peer<F, Fut>(serve: F) -> (u16, tokio::task::JoinHandle<()>)
where
    F: Fn(tokio::net::TcpStream, u16) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((c, _)) = l.accept().await {
            tokio::spawn(serve(c, port));
        }
    });
    (port, task)
}

/// Reads one RTSP request head; returns it. (Plain readiness + try_read:
/// tokio's io-util feature is not enabled in this workspace.)
async fn read_request(c: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if c.readable().await.is_err() {
            break;
        }
        match c.try_read(&mut b) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&b[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

async fn write_all(c: &mut tokio::net::TcpStream, mut data: &[u8]) {
    while !data.is_empty() {
        if c.writable().await.is_err() {
            return;
        }
        match c.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

fn cseq(req: &str) -> String {
    req.lines().find_map(|l| l.strip_prefix("CSeq:").or_else(|| l.strip_prefix("Cseq:"))).map(|v| v.trim().to_owned()).unwrap_or_else(|| "1".into())
}

fn quick(url: url::Url, connect_timeout: Duration) -> IngestConfig {
    let mut cfg = IngestConfig::new(url);
    cfg.connect_timeout = connect_timeout;
    cfg
}

/// Opens rtsp://127.0.0.1:PORT/cam1, which must fail; returns the URL, the
/// error and its message (printed, for the test log).
async fn expect_open_error(port: u16, timeout: Duration) -> (url::Url, IngestError, String) {
    let url = url::Url::parse(&format!("rtsp://127.0.0.1:{port}/cam1")).unwrap();
    let e = ingest::open(&quick(url.clone(), timeout)).await.unwrap_err();
    let m = e.to_string();
    eprintln!("error: {m}");
    (url, e, m)
}

#[tokio::test]
async fn garbage_reply_is_a_malformed_describe_error() {
    let (port, _peer) = fake_peer(|mut c, _| async move {
        let _ = read_request(&mut c).await;
        write_all(&mut c, b"\x16\x03\x01\x02\x00 this is not RTSP at all \xff\xfe\r\n\r\n").await;
        // Keep the connection open: the error must come from parsing.
        tokio::time::sleep(Duration::from_secs(120)).await;
    })
    .await;
    let timeout = Duration::from_secs(20);
    let t0 = Instant::now();
    let (url, e, m) = expect_open_error(port, timeout).await;
    assert!(matches!(e, IngestError::Describe { .. }), "{m}");
    assert!(m.contains(url.as_str()), "{m}");
    assert!(m.contains("malformed"), "{m}");
    assert!(t0.elapsed() < timeout, "took {:?}", t0.elapsed());
}

#[tokio::test]
async fn hang_up_without_reply_is_a_describe_error() {
    // E.g. a camera at its connection limit: accepts, reads, closes.
    let (port, _peer) = fake_peer(|mut c, _| async move {
        let _ = read_request(&mut c).await;
    })
    .await;
    let (url, e, m) = expect_open_error(port, Duration::from_secs(20)).await;
    assert!(matches!(e, IngestError::Describe { .. }), "{m}");
    assert!(m.contains(url.as_str()), "{m}");
}

#[tokio::test]
async fn closed_port_is_a_connect_error() {
    let port = free_port();
    let (url, e, m) = expect_open_error(port, Duration::from_secs(20)).await;
    assert!(matches!(e, IngestError::Connect { .. }), "{m}");
    assert!(m.contains(url.as_str()) && m.contains("could not connect"), "{m}");
}

#[tokio::test]
async fn silent_server_times_out() {
    let (port, _peer) = fake_peer(|c, _| async move {
        // Accept, read nothing, answer nothing.
        tokio::time::sleep(Duration::from_secs(120)).await;
        drop(c);
    })
    .await;
    let timeout = Duration::from_millis(1500);
    let t0 = Instant::now();
    let (url, e, m) = expect_open_error(port, timeout).await;
    assert!(matches!(e, IngestError::Timeout { stage: Stage::Describe, after, .. } if after == timeout), "{m}");
    assert!(m.contains(url.as_str()) && m.contains("timed out"), "{m}");
    assert!(t0.elapsed() >= timeout);
    assert!(t0.elapsed() < Duration::from_secs(30));
}

/// A peer answering DESCRIBE with 200 and the given SDP body.
async fn sdp_peer(sdp: &'static str) -> (u16, tokio::task::JoinHandle<()>) {
    fake_peer(move |mut c, port| async move {
        let req = read_request(&mut c).await;
        let resp = format!(
            "RTSP/1.0 200 OK\r\nCSeq: {}\r\nContent-Base: rtsp://127.0.0.1:{port}/cam1/\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            cseq(&req),
            sdp.len()
        );
        write_all(&mut c, resp.as_bytes()).await;
        tokio::time::sleep(Duration::from_secs(120)).await;
    })
    .await
}

#[tokio::test]
async fn audio_only_camera_has_no_video_stream() {
    let (port, _peer) = sdp_peer(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=audio\r\nt=0 0\r\n\
         m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:trackID=0\r\n",
    )
    .await;
    let (url, e, m) = expect_open_error(port, Duration::from_secs(20)).await;
    assert!(matches!(e, IngestError::NoVideoStream { .. }), "{m}");
    assert!(m.contains(url.as_str()) && m.contains("audio/pcmu"), "{m}");
}

#[tokio::test]
async fn mjpeg_camera_is_unsupported() {
    let (port, _peer) = sdp_peer(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=mjpeg\r\nt=0 0\r\n\
         m=video 0 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\na=control:trackID=0\r\n",
    )
    .await;
    let url = url::Url::parse(&format!("rtsp://127.0.0.1:{port}/cam1")).unwrap();
    let e = ingest::open(&quick(url, Duration::from_secs(20))).await.unwrap_err();
    assert!(matches!(e, IngestError::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("video/jpeg"), "{e}");
}

#[tokio::test]
async fn unparseable_sdp_is_a_malformed_describe_error() {
    let (port, _peer) = sdp_peer("this is not an SDP\r\n").await;
    let (url, e, m) = expect_open_error(port, Duration::from_secs(20)).await;
    assert!(matches!(e, IngestError::Describe { .. }), "{m}");
    assert!(m.contains(url.as_str()) && m.contains("malformed"), "{m}");
}

/// A camera that completes DESCRIBE/SETUP/PLAY (H.264, parameters in the
/// SDP) and then never sends a packet.
async fn mute_camera(mut c: tokio::net::TcpStream, port: u16) {
    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=mute\r\nt=0 0\r\n\
        a=control:*\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
        a=fmtp:96 packetization-mode=1;profile-level-id=64001E;\
        sprop-parameter-sets=Z2QAHqwsaoLA9puCgIKgAAADACAAAAMD0IAA,aO4xshsA\r\n\
        a=control:trackID=0\r\n";
    loop {
        let req = read_request(&mut c).await;
        let Some(method) = req.split_whitespace().next() else {
            return;
        };
        let cseq = cseq(&req);
        let resp = match method {
            "DESCRIBE" => format!(
                "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n\
                 Content-Base: rtsp://127.0.0.1:{port}/cam1/\r\n\
                 Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
                SDP.len()
            ),
            "SETUP" => format!(
                "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n\
                 Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\
                 Session: 12345678;timeout=60\r\n\r\n"
            ),
            _ => format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: 12345678\r\n\r\n"),
        };
        write_all(&mut c, resp.as_bytes()).await;
    }
}

#[tokio::test]
async fn mute_camera_is_stalled() {
    let (port, _peer) = fake_peer(mute_camera).await;
    let url = url::Url::parse(&format!("rtsp://127.0.0.1:{port}/cam1")).unwrap();
    let mut cfg = quick(url.clone(), Duration::from_secs(20));
    cfg.frame_timeout = Duration::from_millis(1500);
    let t0 = Instant::now();
    let mut s = ingest::open(&cfg).await.expect("open");
    // Parameters known from the SDP before any frame.
    let p = s.params().expect("params from sprop-parameter-sets");
    assert_eq!(p.codec, Codec::H264);
    assert!(p.rfc6381_codec.starts_with("avc1.64001"), "{}", p.rfc6381_codec);
    let e = s.next_frame().await.unwrap_err();
    let m = e.to_string();
    eprintln!("error: {m}");
    assert!(matches!(e, IngestError::Stalled { .. }), "{m}");
    assert!(m.contains(url.as_str()) && m.contains("stalled"), "{m}");
    assert!(t0.elapsed() >= cfg.frame_timeout);
}

// ---------------------------------------------------------------------------
// The supervisor.

/// Next event within `LONG`, panicking with `what` otherwise.
async fn next_event(rx: &mut mpsc::Receiver<IngestEvent>, what: &str) -> IngestEvent {
    tokio::time::timeout(LONG, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no event within {LONG:?} while waiting for {what}"))
        .unwrap_or_else(|| panic!("channel closed while waiting for {what}"))
}

fn short_backoff() -> Backoff {
    Backoff { initial: Duration::from_millis(100), max: Duration::from_millis(800), jitter: 0.2 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_reconnects_when_the_server_restarts() {
    flap(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_reconnects_over_udp_when_the_server_restarts() {
    flap(Transport::Udp).await;
}

/// Kill the GStreamer server under a running supervisor, restart it on the
/// same port, and watch the stream come back.
async fn flap(transport: Transport) {
    let port = free_port();
    let server = GstCamera::start(port, &[]);
    let mut cfg = config(&server.url("/test"), transport);
    cfg.frame_timeout = Duration::from_secs(10);
    let health = Arc::new(StreamHealth::default());
    let (tx, mut rx) = mpsc::channel(256);
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(ingest::run_camera(cfg, short_backoff(), health.clone(), tx, stop_rx));

    // First session.
    match next_event(&mut rx, "Connected").await {
        IngestEvent::Connected { .. } => {}
        other => panic!("expected Connected, got {other:?}"),
    }
    for i in 0..5 {
        match next_event(&mut rx, "frames").await {
            IngestEvent::Frame(f) => assert!(i > 0 || f.is_key),
            other => panic!("expected a frame, got {other:?}"),
        }
    }
    assert_eq!(health.snapshot().state, StreamState::Streaming);

    // Kill the server: Disconnected (after any frames still queued).
    drop(server);
    let (error, first_retry) = loop {
        match next_event(&mut rx, "Disconnected").await {
            IngestEvent::Frame(_) => continue,
            IngestEvent::Disconnected { error, retry_in } => break (error, retry_in),
            other => panic!("expected Disconnected, got {other:?}"),
        }
    };
    eprintln!("after the kill: {error} (retry in {first_retry:?})");
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(first_retry <= Duration::from_millis(100), "{first_retry:?}");
    // While the server is down the retries fail and back off further.
    match next_event(&mut rx, "a failed retry").await {
        IngestEvent::Disconnected { error, retry_in } => {
            eprintln!("while down: {error} (retry in {retry_in:?})");
            assert!(error.contains("could not connect"), "{error}");
            assert!(retry_in > first_retry, "{retry_in:?} after {first_retry:?}");
            assert!(retry_in <= Duration::from_millis(200), "{retry_in:?}");
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    let state = health.snapshot().state;
    assert!(matches!(state, StreamState::Backoff | StreamState::Connecting), "{state:?}");

    // Restart on the same port: more failed tries may come first.
    let server = tokio::task::spawn_blocking(move || GstCamera::start(port, &[])).await.unwrap();
    let params = loop {
        match next_event(&mut rx, "Connected again").await {
            IngestEvent::Disconnected { error, retry_in } => {
                eprintln!("while down: {error} (retry in {retry_in:?})");
                continue;
            }
            IngestEvent::Connected { params } => break params,
            other => panic!("expected Connected, got {other:?}"),
        }
    };
    if let Some(p) = params {
        assert_eq!((p.width, p.height), (640, 360));
    }
    let mut last_ts = None;
    for i in 0..5 {
        match next_event(&mut rx, "frames after reconnect").await {
            IngestEvent::Frame(f) => {
                assert!(i > 0 || f.is_key, "first frame after reconnect is not a key frame");
                if let Some(t) = last_ts {
                    assert!(f.timestamp_90k > t);
                }
                last_ts = Some(f.timestamp_90k);
            }
            other => panic!("expected a frame, got {other:?}"),
        }
    }
    let h = health.snapshot();
    assert_eq!(h.reconnects, 1, "{h:?}");
    assert!(h.failures >= 1, "{h:?}");
    assert!(h.frames >= 10 && h.bytes > 0 && h.last_frame_at.is_some(), "{h:?}");
    assert!(h.last_error.as_deref().unwrap_or("").contains("127.0.0.1"), "{h:?}");

    stop_tx.send(true).unwrap();
    tokio::time::timeout(LONG, task).await.expect("supervisor did not stop").unwrap();
    assert_eq!(health.snapshot().state, StreamState::Stopped);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_costs_frames_not_memory() {
    let server = GstCamera::start(free_port(), &[]);
    let cfg = config(&server.url("/test"), Transport::Tcp);
    let health = Arc::new(StreamHealth::default());
    let (tx, mut rx) = mpsc::channel(4);
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(ingest::run_camera(cfg, short_backoff(), health.clone(), tx, stop_rx));

    // Read nothing until well past the channel's capacity.
    let t0 = Instant::now();
    while health.snapshot().frames < 25 {
        assert!(t0.elapsed() < 2 * LONG, "{:?}", health.snapshot());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dropped = health.snapshot().dropped_frames;
    assert!(dropped >= 20, "only {dropped} frames dropped");

    // The queue holds Connected + 3 frames from the start...
    assert!(matches!(rx.recv().await, Some(IngestEvent::Connected { .. })));
    let mut queued = Vec::new();
    for _ in 0..3 {
        match rx.recv().await {
            Some(IngestEvent::Frame(f)) => queued.push(f),
            other => panic!("expected a queued frame, got {other:?}"),
        }
    }
    assert!(queued[0].is_key);
    // ...then the stream resumes at a key frame, well after them.
    match next_event(&mut rx, "a frame after the gap").await {
        IngestEvent::Frame(f) => {
            assert!(f.is_key, "resumed on a non-key frame");
            assert!(f.timestamp_90k > queued[2].timestamp_90k + 90_000 / 15 * 10);
        }
        other => panic!("expected a frame, got {other:?}"),
    }
    stop_tx.send(true).unwrap();
    tokio::time::timeout(LONG, task).await.expect("supervisor did not stop").unwrap();
}
