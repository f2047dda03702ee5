//! One client connection: its RTSP requests, its (single) session, and the
//! RTP packets of the stream it plays, interleaved on the same TCP socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::debug;

use super::message::{parse, Parsed, Request, Response};
use super::sdp;
use super::Shared;
use crate::cameras::StreamKind;
use crate::encode::EncodedLoop;
use crate::rtp;

/// Seconds a client may go quiet before it should send a keep-alive; we
/// do not expire sessions (a closed connection ends them), but clients
/// use this to pace their keep-alives.
const SESSION_TIMEOUT_S: u32 = 60;
/// A client this far behind the clock skips ahead to the newest key frame.
const MAX_LAG_S: u64 = 2;
/// A client that takes longer than this to accept a frame is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const PUBLIC: &str = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

struct Setup {
    camera: u32,
    kind: StreamKind,
    stream: Arc<EncodedLoop>,
    phase: u64,
    channel: u8,
    ssrc: u32,
    seq: u16,
    rtp_base: u32,
    /// Clock tick that RTP timestamp `rtp_base` stands for; set at the first PLAY.
    base_tick: Option<u64>,
}

struct Conn {
    shared: Arc<Shared>,
    local: Option<SocketAddr>,
    session: String,
    setup: Option<Setup>,
    playing: bool,
    next_tick: u64,
}

/// What to send back for one request.
struct Reply {
    bytes: Vec<u8>,
    close: bool,
}

pub(super) async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let peer = stream.peer_addr().ok();
    let local = stream.local_addr().ok();
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut ticks = shared.clock.subscribe();
    let mut conn = Conn { shared, local, session: format!("{:016x}", rand::random::<u64>()), setup: None, playing: false, next_tick: 0 };
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        let out: Vec<u8>;
        let mut close = false;
        tokio::select! {
            read = rd.read_buf(&mut buf) => {
                match read {
                    Ok(0) => break,
                    Err(e) => {
                        debug!(?peer, "RTSP connection read: {e}");
                        break;
                    }
                    Ok(_) => {}
                }
                let mut bytes = Vec::new();
                loop {
                    match parse(&buf) {
                        Parsed::Incomplete => break,
                        Parsed::Interleaved(n) => buf.advance(n),
                        Parsed::Bad(why) => {
                            debug!(?peer, "bad RTSP request: {why}");
                            bytes.extend(Response::new(400).to_bytes(None));
                            close = true;
                            break;
                        }
                        Parsed::Request(req, n) => {
                            buf.advance(n);
                            let reply = conn.handle(&req);
                            bytes.extend(reply.bytes);
                            if reply.close {
                                close = true;
                                break;
                            }
                        }
                    }
                }
                out = bytes;
                // Mark the current tick seen: the PLAY burst covered it.
                ticks.borrow_and_update();
            }
            changed = ticks.changed(), if conn.playing => {
                if changed.is_err() {
                    break;
                }
                let now = *ticks.borrow_and_update();
                let mut bytes = Vec::new();
                conn.frames_until(now, &mut bytes);
                out = bytes;
            }
            _ = shutdown.changed() => break,
        }
        if !out.is_empty() {
            match tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(&out)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    debug!(?peer, "RTSP connection write: {e}");
                    break;
                }
                Err(_) => {
                    debug!(?peer, "RTSP client too slow; closing");
                    break;
                }
            }
        }
        if close {
            break;
        }
    }
    let _ = wr.shutdown().await;
}

/// The path part of a request URI (`rtsp://host:port/a/b?q` → `/a/b`).
fn uri_path(uri: &str) -> &str {
    let rest = match uri.split_once("://") {
        Some((_, rest)) => match rest.find('/') {
            Some(i) => &rest[i..],
            None => "/",
        },
        None => uri,
    };
    rest.split(['?', '#']).next().unwrap_or("/")
}

impl Conn {
    fn handle(&mut self, req: &Request) -> Reply {
        let cseq = req.header("CSeq").map(str::to_owned);
        let (response, extra, close) = self.respond(req);
        let mut bytes = response.to_bytes(cseq.as_deref());
        bytes.extend(extra);
        Reply { bytes, close }
    }

    /// The response, bytes to send right after it (a PLAY's first frames),
    /// and whether to close the connection.
    fn respond(&mut self, req: &Request) -> (Response, Vec<u8>, bool) {
        if req.version != "RTSP/1.0" {
            return (Response::new(505), Vec::new(), false);
        }
        if req.header("CSeq").is_none() {
            return (Response::new(400).body("text/plain", b"CSeq header missing\r\n".to_vec()), Vec::new(), false);
        }
        if let Some(required) = req.header("Require") {
            return (Response::new(551).header("Unsupported", required), Vec::new(), false);
        }
        let session_ok = |conn: &Conn| req.session().is_some_and(|s| s == conn.session);
        match req.method.as_str() {
            "OPTIONS" => (Response::new(200).header("Public", PUBLIC), Vec::new(), false),
            "DESCRIBE" => (self.describe(req), Vec::new(), false),
            "SETUP" => (self.setup(req), Vec::new(), false),
            "PLAY" => {
                if self.setup.is_none() {
                    return (Response::new(455).header("Allow", "OPTIONS, DESCRIBE, SETUP"), Vec::new(), false);
                }
                if !session_ok(self) {
                    return (Response::new(454), Vec::new(), false);
                }
                self.play(req)
            }
            "PAUSE" | "TEARDOWN" => {
                if self.setup.is_none() || !session_ok(self) {
                    return (Response::new(454), Vec::new(), false);
                }
                self.playing = false;
                if req.method == "TEARDOWN" {
                    self.setup = None;
                    return (Response::new(200), Vec::new(), false);
                }
                (Response::new(200).header("Session", self.session_header()), Vec::new(), false)
            }
            "GET_PARAMETER" | "SET_PARAMETER" => {
                // Keep-alives; there are no parameters to get or set.
                match req.session() {
                    Some(_) if !(self.setup.is_some() && session_ok(self)) => (Response::new(454), Vec::new(), false),
                    Some(_) => (Response::new(200).header("Session", self.session_header()), Vec::new(), false),
                    None => (Response::new(200), Vec::new(), false),
                }
            }
            "ANNOUNCE" | "RECORD" | "REDIRECT" => (Response::new(405).header("Allow", PUBLIC), Vec::new(), false),
            _ => (Response::new(501).header("Public", PUBLIC), Vec::new(), false),
        }
    }

    fn session_header(&self) -> String {
        format!("{};timeout={SESSION_TIMEOUT_S}", self.session)
    }

    /// `cam-0001/main` (optionally `/trackID=0`) → camera number and stream.
    fn resolve(&self, uri: &str, track_allowed: bool) -> Option<(u32, StreamKind)> {
        let path = uri_path(uri).trim_matches('/');
        let mut segments = path.split('/');
        let camera = self.shared.sim.camera_number(segments.next()?)?;
        let kind: StreamKind = segments.next()?.parse().ok()?;
        match segments.next() {
            None => {}
            Some(t) if track_allowed && t == sdp::TRACK => {}
            Some(_) => return None,
        }
        segments.next().is_none().then_some((camera, kind))
    }

    /// The absolute URL the client used, for `Content-Base`.
    fn absolute(&self, uri: &str) -> String {
        if uri.contains("://") {
            uri.to_owned()
        } else {
            let host = self.local.map_or_else(|| "127.0.0.1".to_owned(), |a| a.to_string());
            format!("rtsp://{host}{}", if uri.starts_with('/') { uri.to_owned() } else { format!("/{uri}") })
        }
    }

    fn describe(&self, req: &Request) -> Response {
        let Some((camera, kind)) = self.resolve(&req.uri, false) else {
            return Response::new(404);
        };
        let stream = self.shared.sim.stream(camera, kind);
        let ip = self.local.map_or_else(|| "127.0.0.1".to_owned(), |a| a.ip().to_string());
        let title = format!("Citywatch simulated camera {} {}", crate::cameras::camera_id(camera), kind.as_str());
        let body = sdp::describe(&title, &ip, u64::from(camera), &stream);
        let mut base = self.absolute(&req.uri);
        if !base.ends_with('/') {
            base.push('/');
        }
        Response::new(200).header("Content-Base", base).body("application/sdp", body.into_bytes())
    }

    fn setup(&mut self, req: &Request) -> Response {
        let Some((camera, kind)) = self.resolve(&req.uri, true) else {
            return Response::new(404);
        };
        if let (Some(s), Some(_)) = (req.session(), &self.setup) {
            if s != self.session {
                return Response::new(454);
            }
        }
        if self.playing {
            return Response::new(455).header("Allow", "PLAY, PAUSE, TEARDOWN, GET_PARAMETER");
        }
        let Some(transport) = req.header("Transport") else {
            return Response::new(461).header("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1");
        };
        // Offers are comma-separated, in the client's order of preference.
        let Some(channel) = transport.split(',').find_map(tcp_channel) else {
            return Response::new(461).header("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1");
        };
        let ssrc = rand::random::<u32>() | 0x1000_0000;
        let stream = self.shared.sim.stream(camera, kind);
        let phase = u64::from(self.shared.sim.camera(camera).phase_frames);
        self.setup = Some(Setup { camera, kind, stream, phase, channel, ssrc, seq: rand::random(), rtp_base: rand::random(), base_tick: None });
        Response::new(200)
            .header("Transport", format!("RTP/AVP/TCP;unicast;interleaved={channel}-{};ssrc={ssrc:08X};mode=\"PLAY\"", channel.wrapping_add(1)))
            .header("Session", self.session_header())
    }

    fn play(&mut self, req: &Request) -> (Response, Vec<u8>, bool) {
        let now = self.shared.clock.now();
        let key = self.key_tick_at_or_before(now);
        let fps = u64::from(self.shared.clock.fps());
        let mut url = self.absolute(&req.uri);
        let session = self.session_header();
        let setup = self.setup.as_mut().expect("checked by the caller");
        // A first PLAY starts at a key frame; a PLAY while playing changes
        // nothing; after a PAUSE, playing goes on where it stopped or at a
        // newer key frame — never back, so timestamps keep increasing.
        let start = if self.playing {
            self.next_tick
        } else if setup.base_tick.is_some() {
            key.max(self.next_tick)
        } else {
            key
        };
        let base_tick = *setup.base_tick.get_or_insert(start);
        let rtptime = setup.rtp_base.wrapping_add(((start.saturating_sub(base_tick)) * 90_000 / fps) as u32);
        if !url.ends_with(sdp::TRACK) {
            if !url.ends_with('/') {
                url.push('/');
            }
            url.push_str(sdp::TRACK);
        }
        let response = Response::new(200)
            .header("Session", session)
            .header("Range", "npt=0.000-")
            .header("RTP-Info", format!("url={url};seq={};rtptime={rtptime}", setup.seq));
        debug!(camera = setup.camera, stream = setup.kind.as_str(), "PLAY");
        self.playing = true;
        self.next_tick = start;
        let mut first = Vec::new();
        self.frames_until(now, &mut first);
        (response, first, false)
    }

    /// The tick of the newest key frame at or before tick `now` in this
    /// session's stream, so playback starts decodable and without waiting.
    fn key_tick_at_or_before(&self, now: u64) -> u64 {
        let Some(s) = &self.setup else { return now };
        let p = &s.stream.params;
        let index = (now + s.phase) % u64::from(p.loop_frames);
        let back = index % u64::from(p.key_interval_frames);
        if back <= now {
            now - back
        } else {
            // Only in the clock's first second: wait for the next key frame.
            now + u64::from(p.key_interval_frames) - back
        }
    }

    /// Appends the packets of every frame from `next_tick` to `now`.
    fn frames_until(&mut self, now: u64, out: &mut Vec<u8>) {
        let fps = u64::from(self.shared.clock.fps());
        if now.saturating_sub(self.next_tick) > MAX_LAG_S * fps {
            // Behind (a stalled client or process): rejoin at a key frame.
            self.next_tick = self.next_tick.max(self.key_tick_at_or_before(now));
        }
        let Some(s) = self.setup.as_mut() else { return };
        let base_tick = s.base_tick.unwrap_or(self.next_tick);
        let loop_frames = u64::from(s.stream.params.loop_frames);
        while self.next_tick <= now {
            let tick = self.next_tick;
            let frame = &s.stream.frames[((tick + s.phase) % loop_frames) as usize];
            let ts = s.rtp_base.wrapping_add((tick.saturating_sub(base_tick) * 90_000 / fps) as u32);
            let last = frame.payloads.len().saturating_sub(1);
            for (i, payload) in frame.payloads.iter().enumerate() {
                rtp::write_interleaved(out, s.channel, i == last, s.seq, ts, s.ssrc, payload);
                s.seq = s.seq.wrapping_add(1);
            }
            self.next_tick += 1;
        }
    }
}

/// The interleaved channel of a `RTP/AVP/TCP` transport offer (0 if the
/// client leaves it to us); `None` for UDP and multicast offers.
fn tcp_channel(offer: &str) -> Option<u8> {
    let mut parts = offer.trim().split(';');
    if !parts.next()?.trim().eq_ignore_ascii_case("RTP/AVP/TCP") {
        return None;
    }
    let mut channel = 0;
    for p in parts {
        let p = p.trim();
        if p.eq_ignore_ascii_case("multicast") {
            return None;
        }
        if let Some(v) = p.strip_prefix("interleaved=") {
            channel = v.split('-').next()?.trim().parse().ok()?;
        }
    }
    Some(channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_offers_and_paths() {
        assert_eq!(tcp_channel("RTP/AVP/TCP;unicast;interleaved=2-3"), Some(2));
        assert_eq!(tcp_channel(" RTP/AVP/TCP;unicast"), Some(0));
        assert_eq!(tcp_channel("RTP/AVP;unicast;client_port=5000-5001"), None);
        assert_eq!(tcp_channel("RTP/AVP/TCP;multicast"), None);
        assert_eq!(uri_path("rtsp://127.0.0.1:8554/cam-0001/main/trackID=0?x=1"), "/cam-0001/main/trackID=0");
        assert_eq!(uri_path("rtsp://host"), "/");
        assert_eq!(uri_path("/cam-0002/sub"), "/cam-0002/sub");
    }
}
