//! The simulated cameras against real clients: our ingest (retina), ffprobe,
//! the recorder with ffmpeg checking its MP4, and raw sockets sending bad
//! requests.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use citywatch_store::Store;
use citywatch_video::ingest::{open, IngestConfig, IngestSession};
use citywatch_video::playback::build_mp4;
use citywatch_video::recorder::{wall_clock_90k, Recorder, Stream};
use citywatch_video::sample_dir::SampleDir;
use citywatch_video::Frame;
use serde_json::Value;
use support::{start, test_config, url};

async fn connect(u: &str) -> IngestSession {
    let mut cfg = IngestConfig::new(url::Url::parse(u).unwrap());
    cfg.connect_timeout = Duration::from_secs(10);
    cfg.frame_timeout = Duration::from_secs(5);
    open(&cfg).await.unwrap_or_else(|e| panic!("opening {u}: {e}"))
}

/// Frames until their timestamps span at least `span_90k`.
async fn frames_spanning(s: &mut IngestSession, span_90k: i64) -> Vec<Frame> {
    let mut out: Vec<Frame> = Vec::new();
    while out.last().map_or(0, |l| l.timestamp_90k - out[0].timestamp_90k) < span_90k {
        let f = s.next_frame().await.expect("a frame").expect("the stream goes on");
        out.push(f);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_gets_key_frame_first_and_increasing_timestamps_across_loop_boundaries() {
    let config = test_config();
    let (server, _sim) = start(config.clone());
    let mut main = connect(&url(&server, "cam-0001/main")).await;
    let params = main.params().expect("parameters from the SDP's sprop-parameter-sets");
    assert!(params.rfc6381_codec.starts_with("avc1."), "{}", params.rfc6381_codec);
    assert_eq!((params.width, params.height), (640, 360));

    // 3.5 s of a 2 s loop: at least one loop boundary.
    let frames = frames_spanning(&mut main, 315_000).await;
    assert!(frames[0].is_key, "playback starts at a key frame");
    let step = 90_000 / i64::from(config.fps);
    for pair in frames.windows(2) {
        assert_eq!(pair[1].timestamp_90k - pair[0].timestamp_90k, step, "one frame period, strictly increasing, also across the loop's end");
    }
    let keys: Vec<i64> = frames.iter().filter(|f| f.is_key).map(|f| f.timestamp_90k).collect();
    assert!(keys.len() >= 3, "a key frame every second: {keys:?}");
    for pair in keys.windows(2) {
        assert_eq!(pair[1] - pair[0], 90_000, "key frames one second apart");
    }
    assert!(frames.iter().all(|f| Arc::ptr_eq(&f.params, &frames[0].params)), "parameters never change");

    let mut sub = connect(&url(&server, "cam-0003/sub")).await;
    let p = sub.params().unwrap();
    assert!(p.rfc6381_codec.starts_with("avc1."));
    assert_eq!((p.width, p.height), (320, 180));
    assert!(sub.next_frame().await.unwrap().unwrap().is_key);
}

fn ffprobe_stream(u: &str, extra: &[&str]) -> Value {
    let out = Command::new("ffprobe")
        .args(extra)
        .args(["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "json", u])
        .output()
        .expect("ffprobe (Debian package ffmpeg)");
    assert!(out.status.success(), "ffprobe {u}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn ffprobe_reads_main_and_sub_streams() {
    let (server, _sim) = start(test_config());
    let v = ffprobe_stream(&url(&server, "cam-0002/main"), &["-rtsp_transport", "tcp"]);
    let s = &v["streams"][0];
    assert_eq!((s["codec_name"].as_str(), s["width"].as_u64(), s["height"].as_u64()), (Some("h264"), Some(640), Some(360)), "{v}");
    let v = ffprobe_stream(&url(&server, "cam-0004/sub"), &["-rtsp_transport", "tcp"]);
    let s = &v["streams"][0];
    assert_eq!((s["codec_name"].as_str(), s["width"].as_u64(), s["height"].as_u64()), (Some("h264"), Some(320), Some(180)), "{v}");
    // Without a transport option ffmpeg asks for UDP first; the 461 answer
    // makes it retry over TCP.
    let v = ffprobe_stream(&url(&server, "cam-0001/sub"), &[]);
    assert_eq!(v["streams"][0]["codec_name"], "h264", "{v}");
}

fn ffprobe_file(file: &std::path::Path, args: &[&str]) -> Value {
    let out = Command::new("ffprobe").args(["-v", "error", "-of", "json"]).args(args).arg(file).output().expect("ffprobe");
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_of_the_sim_is_an_mp4_that_decodes_without_errors() {
    let (server, _sim) = start(test_config());
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("db")).unwrap());
    let samples = Arc::new(SampleDir::open(&dir.path().join("video")).unwrap());
    let mut rec = Recorder::new(store.clone(), samples.clone(), "cam-0002", Stream::Main);
    let mut session = connect(&url(&server, "cam-0002/main")).await;
    // 3 s crosses the 2 s loop's end at least once.
    let frames = frames_spanning(&mut session, 270_000).await;
    let n = frames.len();
    for f in frames {
        rec.push(f, wall_clock_90k()).unwrap();
    }
    rec.finish().unwrap();

    let recordings = citywatch_video::recording_source::LocalRecordings::new(store.clone(), samples.clone());
    let mp4 = build_mp4(&recordings, "cam-0002", Stream::Main, 0, i64::MAX).unwrap();
    let file = dir.path().join("rec.mp4");
    mp4.write_all(&mut std::fs::File::create(&file).unwrap()).unwrap();

    let v = ffprobe_file(&file, &["-count_frames", "-show_entries", "stream=codec_name,width,height,nb_read_frames:format=duration"]);
    let s = &v["streams"][0];
    assert_eq!((s["codec_name"].as_str(), s["width"].as_u64(), s["height"].as_u64()), (Some("h264"), Some(640), Some(360)), "{v}");
    assert_eq!(s["nb_read_frames"].as_str().and_then(|x| x.parse::<usize>().ok()), Some(n), "every recorded frame decodes: {v}");
    let duration: f64 = v["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!(duration >= 2.9, "{duration}");

    let out = Command::new("ffmpeg").args(["-v", "error", "-xerror", "-i"]).arg(&file).args(["-f", "null", "-"]).output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "ffmpeg decoding: {}", String::from_utf8_lossy(&out.stderr));
}

/// Sends `request` on `conn` and returns the status code and the whole response head.
fn exchange(conn: &mut TcpStream, request: &str) -> (u16, String) {
    conn.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!("connection ended after {:?}: {other:?}", String::from_utf8_lossy(&head)),
        }
    }
    let head = String::from_utf8(head).unwrap();
    let len: usize = head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; len];
    conn.read_exact(&mut body).unwrap();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{head}"));
    (status, head)
}

fn raw(addr: std::net::SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_rtsp_errors_and_other_cameras_keep_streaming() {
    let (server, _sim) = start(test_config());
    let addr = server.addr;
    let mut watching = connect(&url(&server, "cam-0002/main")).await;
    let before = watching.next_frame().await.unwrap().unwrap();

    let checks = tokio::task::spawn_blocking(move || {
        let mut c = raw(addr);
        let base = format!("rtsp://{addr}");
        let (s, head) = exchange(&mut c, &format!("DESCRIBE {base}/cam-9999/main RTSP/1.0\r\nCSeq: 1\r\n\r\n"));
        assert_eq!(s, 404, "{head}");
        assert!(head.contains("CSeq: 1\r\n"), "CSeq echoed: {head}");
        assert_eq!(exchange(&mut c, &format!("DESCRIBE {base}/cam-0001/thumbnail RTSP/1.0\r\nCSeq: 2\r\n\r\n")).0, 404);
        assert_eq!(exchange(&mut c, &format!("DESCRIBE {base}/cam-0001/main/extra RTSP/1.0\r\nCSeq: 3\r\n\r\n")).0, 404);
        let (s, head) = exchange(&mut c, &format!("DESCRIBE {base}/cam-0001/main RTSP/1.0\r\nCSeq: 4\r\nAccept: application/sdp\r\n\r\n"));
        assert_eq!(s, 200, "{head}");
        assert!(head.contains(&format!("Content-Base: {base}/cam-0001/main/")), "{head}");
        // SETUP without a Transport header, then with UDP only.
        let (s, head) = exchange(&mut c, &format!("SETUP {base}/cam-0001/main/trackID=0 RTSP/1.0\r\nCSeq: 5\r\n\r\n"));
        assert_eq!(s, 461, "{head}");
        assert!(head.contains("CSeq: 5\r\n"), "{head}");
        let udp = "Transport: RTP/AVP;unicast;client_port=50000-50001\r\n";
        assert_eq!(exchange(&mut c, &format!("SETUP {base}/cam-0001/main/trackID=0 RTSP/1.0\r\nCSeq: 6\r\n{udp}\r\n")).0, 461);
        // PLAY before any SETUP; then a SETUP and a PLAY with someone else's session.
        assert_eq!(exchange(&mut c, &format!("PLAY {base}/cam-0001/main/ RTSP/1.0\r\nCSeq: 7\r\n\r\n")).0, 455);
        let tcp = "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n";
        let (s, head) = exchange(&mut c, &format!("SETUP {base}/cam-0001/main/trackID=0 RTSP/1.0\r\nCSeq: 8\r\n{tcp}\r\n"));
        assert_eq!(s, 200, "{head}");
        assert!(head.contains("interleaved=0-1") && head.contains("Session: "), "{head}");
        assert_eq!(exchange(&mut c, &format!("PLAY {base}/cam-0001/main/ RTSP/1.0\r\nCSeq: 9\r\nSession: 0123456789abcdef\r\n\r\n")).0, 454);
        assert_eq!(exchange(&mut c, &format!("RECORD {base}/cam-0001/main/ RTSP/1.0\r\nCSeq: 10\r\n\r\n")).0, 405);
        assert_eq!(exchange(&mut c, &format!("BREW {base}/cam-0001/main RTSP/1.0\r\nCSeq: 11\r\n\r\n")).0, 501);
        assert_eq!(exchange(&mut c, "OPTIONS * RTSP/2.0\r\nCSeq: 12\r\n\r\n").0, 505);
        assert_eq!(exchange(&mut c, "OPTIONS * RTSP/1.0\r\n\r\n").0, 400, "CSeq is required");
        let (s, head) = exchange(&mut c, "OPTIONS * RTSP/1.0\r\nCSeq: 13\r\n\r\n");
        assert!(s == 200 && head.contains("Public: ") && head.contains("GET_PARAMETER"), "{head}");

        // Garbage: 400, then the server closes the connection.
        let mut g = raw(addr);
        let (s, _) = exchange(&mut g, "\x16\x03\x01\x02\x00hello\r\n\r\n");
        assert_eq!(s, 400);
        let mut rest = Vec::new();
        assert_eq!(g.read_to_end(&mut rest).unwrap(), 0, "closed after garbage");
        let mut h = raw(addr);
        assert_eq!(exchange(&mut h, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").0, 400);
    });
    checks.await.unwrap();

    // The camera being watched never noticed.
    let mut last = before.timestamp_90k;
    for _ in 0..20 {
        let f = watching.next_frame().await.expect("still streaming").expect("not ended");
        assert!(f.timestamp_90k > last);
        last = f.timestamp_90k;
    }
}

/// What a raw client reads: an RTSP response or an interleaved RTP packet.
enum Message {
    Response(u16, String),
    Rtp { channel: u8, packet: Vec<u8> },
}

fn read_message(conn: &mut TcpStream) -> Message {
    let mut first = [0u8; 1];
    conn.read_exact(&mut first).unwrap();
    if first[0] == b'$' {
        let mut h = [0u8; 3];
        conn.read_exact(&mut h).unwrap();
        let mut packet = vec![0; u16::from_be_bytes([h[1], h[2]]) as usize];
        conn.read_exact(&mut packet).unwrap();
        return Message::Rtp { channel: h[0], packet };
    }
    let mut head = vec![first[0]];
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        conn.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let len: usize = head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; len];
    conn.read_exact(&mut body).unwrap();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
    Message::Response(status, head + &String::from_utf8_lossy(&body))
}

/// Sends a request and returns its response, collecting the RTP packets that
/// arrive before it.
fn request(conn: &mut TcpStream, text: &str, packets: &mut Vec<Vec<u8>>) -> (u16, String) {
    conn.write_all(text.as_bytes()).unwrap();
    loop {
        match read_message(conn) {
            Message::Response(s, r) => return (s, r),
            Message::Rtp { channel, packet } => {
                assert_eq!(channel, 0);
                packets.push(packet);
            }
        }
    }
}

fn header<'a>(response: &'a str, name: &str) -> &'a str {
    response.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap_or_else(|| panic!("no {name} in {response}"))
}

/// Checks RTP headers and RFC 6184 payloads: continuous sequence numbers,
/// timestamps that never go back, the marker on each access unit's last
/// packet only, FU-A fragments that start and end properly. Returns the
/// NAL unit types in order and (first seq, first timestamp).
fn check_rtp(packets: &[Vec<u8>], ssrc: u32) -> (Vec<u8>, (u16, u32)) {
    let mut nal_types = Vec::new();
    let mut in_fu = false;
    let first = (u16::from_be_bytes([packets[0][2], packets[0][3]]), u32::from_be_bytes(packets[0][4..8].try_into().unwrap()));
    for (i, p) in packets.iter().enumerate() {
        assert_eq!(p[0], 0x80, "RTP version 2, no padding, extension or CSRCs");
        assert_eq!(p[1] & 0x7f, 96, "payload type");
        assert_eq!(u32::from_be_bytes(p[8..12].try_into().unwrap()), ssrc);
        let seq = u16::from_be_bytes([p[2], p[3]]);
        let ts = u32::from_be_bytes(p[4..8].try_into().unwrap());
        assert_eq!(seq, first.0.wrapping_add(i as u16), "sequence numbers are continuous");
        let marker = p[1] & 0x80 != 0;
        if let Some(next) = packets.get(i + 1) {
            let next_ts = u32::from_be_bytes(next[4..8].try_into().unwrap());
            assert!(next_ts.wrapping_sub(ts) < 1 << 31, "timestamps never go back");
            assert_eq!(marker, next_ts != ts, "marker exactly on an access unit's last packet (packet {i})");
        }
        let payload = &p[12..];
        match payload[0] & 0x1f {
            28 => {
                let (start, end, t) = (payload[1] & 0x80 != 0, payload[1] & 0x40 != 0, payload[1] & 0x1f);
                assert_eq!(start, !in_fu, "FU-A start bit only on a fragmented NAL's first packet");
                if start {
                    nal_types.push(t);
                }
                in_fu = !end;
            }
            t @ 1..=23 => {
                assert!(!in_fu, "no single NAL unit inside a fragmented one");
                nal_types.push(t);
            }
            t => panic!("unexpected payload type {t}"),
        }
    }
    (nal_types, first)
}

#[test]
fn rtp_over_rtsp_follows_rfc_6184_and_pause_play_never_goes_back() {
    let mut config = test_config();
    // A large main stream, so key frames need FU-A fragments.
    config.main = citywatch_sim::StreamConfig { width: 1280, height: 720, bitrate_kbps: 3000 };
    let (server, _sim) = start(config);
    let base = url(&server, "cam-0001/main");
    let mut c = raw(server.addr);
    let mut packets = Vec::new();
    let (s, describe) = request(&mut c, &format!("DESCRIBE {base} RTSP/1.0\r\nCSeq: 1\r\n\r\n"), &mut packets);
    assert_eq!(s, 200);
    for line in ["m=video 0 RTP/AVP 96", "a=rtpmap:96 H264/90000", "packetization-mode=1", "profile-level-id=", "sprop-parameter-sets=", "a=control:trackID=0"]
    {
        assert!(describe.contains(line), "SDP has {line}: {describe}");
    }
    let (s, setup) =
        request(&mut c, &format!("SETUP {base}/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"), &mut packets);
    assert_eq!(s, 200, "{setup}");
    let session = header(&setup, "Session").split(';').next().unwrap().to_owned();
    let transport = header(&setup, "Transport");
    let ssrc = u32::from_str_radix(transport.split("ssrc=").nth(1).unwrap().split(';').next().unwrap(), 16).unwrap();

    let (s, play) = request(&mut c, &format!("PLAY {base}/ RTSP/1.0\r\nCSeq: 3\r\nSession: {session}\r\nRange: npt=0-\r\n\r\n"), &mut packets);
    assert_eq!(s, 200, "{play}");
    assert_eq!(header(&play, "Range"), "npt=0.000-");
    let info = header(&play, "RTP-Info");
    let param = |k: &str| info.split(';').find_map(|p| p.strip_prefix(&format!("{k}="))).unwrap().to_owned();
    let (seq0, ts0): (u16, u32) = (param("seq").parse().unwrap(), param("rtptime").parse().unwrap());
    assert!(info.starts_with(&format!("url={base}/trackID=0;")), "{info}");

    // About 1.5 s of packets; a keep-alive and a second PLAY on the way.
    let until = std::time::Instant::now() + Duration::from_millis(1500);
    let mut cseq = 4;
    while std::time::Instant::now() < until {
        if let Message::Rtp { packet, .. } = read_message(&mut c) {
            packets.push(packet);
        }
        if packets.len() == 40 {
            let (s, _) = request(&mut c, &format!("GET_PARAMETER {base}/ RTSP/1.0\r\nCSeq: {cseq}\r\nSession: {session}\r\n\r\n"), &mut packets);
            assert_eq!(s, 200);
            cseq += 1;
            let (s, _) = request(&mut c, &format!("PLAY {base}/ RTSP/1.0\r\nCSeq: {cseq}\r\nSession: {session}\r\n\r\n"), &mut packets);
            assert_eq!(s, 200, "PLAY while playing");
            cseq += 1;
        }
    }
    let (s, _) = request(&mut c, &format!("PAUSE {base}/ RTSP/1.0\r\nCSeq: {cseq}\r\nSession: {session}\r\n\r\n"), &mut packets);
    assert_eq!(s, 200);
    let paused_at = packets.len();
    std::thread::sleep(Duration::from_millis(300));
    let (s, _) = request(&mut c, &format!("PLAY {base}/ RTSP/1.0\r\nCSeq: {}\r\nSession: {session}\r\n\r\n", cseq + 1), &mut packets);
    assert_eq!(s, 200);
    assert_eq!(packets.len(), paused_at, "nothing is sent while paused");
    let until = std::time::Instant::now() + Duration::from_millis(700);
    while std::time::Instant::now() < until {
        if let Message::Rtp { packet, .. } = read_message(&mut c) {
            packets.push(packet);
        }
    }
    let (s, _) = request(&mut c, &format!("TEARDOWN {base}/ RTSP/1.0\r\nCSeq: {}\r\nSession: {session}\r\n\r\n", cseq + 2), &mut packets);
    assert_eq!(s, 200);

    let (nals, first) = check_rtp(&packets, ssrc);
    assert_eq!(first, (seq0, ts0), "the first packet is the one RTP-Info announced");
    assert_eq!(&nals[..3], &[7, 8, 5], "playback starts with SPS, PPS and an IDR picture");
    let idrs = nals.iter().filter(|&&t| t == 5).count();
    let sps_before_idr = nals.windows(3).filter(|w| w == &[7, 8, 5]).count();
    assert!(idrs >= 2 && sps_before_idr == idrs, "SPS/PPS in-band before every IDR: {nals:?}");
    let fragmented = packets.iter().filter(|p| p[12] & 0x1f == 28).count();
    assert!(fragmented > 0, "large NAL units went out as FU-A");
    assert!(packets.iter().all(|p| p.len() <= 12 + citywatch_sim::rtp::MAX_PAYLOAD));
}
