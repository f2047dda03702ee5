//! Keeps one camera connected: reconnects with backoff, reports events on a
//! bounded channel and keeps health counters.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::{open, IngestConfig, IngestError, Stage};
use crate::{Frame, VideoParams};

/// What [`run_camera`] reports.
#[derive(Debug, Clone)]
pub enum IngestEvent {
    /// A session is playing. Frames that follow belong to it: their
    /// timestamps restart near 0 and the first one is a key frame. `params`
    /// is `None` when the camera sends its parameters only in-band (the
    /// first frame then carries them).
    Connected {
        params: Option<Arc<VideoParams>>,
    },
    Frame(Frame),
    /// The session failed or could not be opened; the next try is in
    /// `retry_in`.
    Disconnected {
        error: String,
        retry_in: Duration,
    },
}

/// Reconnect delays: `initial`, doubling per consecutive failure up to
/// `max`, each reduced by a random fraction of up to `jitter` (0..=1) so that
/// cameras that failed together do not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub jitter: f64,
}

impl Default for Backoff {
    /// 1 s doubling to 30 s, up to 25 % jitter.
    fn default() -> Self {
        Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(30), jitter: 0.25 }
    }
}

impl Backoff {
    /// Delay before retry number `failures` (1 = the first retry), given a
    /// uniform random number `r` in [0, 1).
    pub fn delay(&self, failures: u32, r: f64) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let base = self.initial.saturating_mul(1u32 << exp).min(self.max).max(self.initial.min(self.max));
        let cut = self.jitter.clamp(0.0, 1.0) * r.clamp(0.0, 1.0);
        base.mul_f64(1.0 - cut)
    }
}

/// Connection state of one camera stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StreamState {
    /// Opening a session (connect, DESCRIBE, SETUP, PLAY).
    Connecting = 0,
    /// Playing; frames flow.
    Streaming = 1,
    /// Waiting out the backoff after a failure.
    Backoff = 2,
    /// `run_camera` has returned.
    Stopped = 3,
}

impl StreamState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => StreamState::Connecting,
            1 => StreamState::Streaming,
            2 => StreamState::Backoff,
            _ => StreamState::Stopped,
        }
    }
}

/// Live counters for one camera stream, shared between [`run_camera`] and
/// whoever reports health (API, metrics). Cheap to read at any time.
#[derive(Debug)]
pub struct StreamHealth {
    state: AtomicU8,
    frames: AtomicU64,
    bytes: AtomicU64,
    dropped_frames: AtomicU64,
    reconnects: AtomicU64,
    failures: AtomicU64,
    /// Unix time in ms of the last frame; `i64::MIN` for none.
    last_frame_unix_ms: AtomicI64,
    last_error: Mutex<Option<String>>,
}

impl Default for StreamHealth {
    fn default() -> Self {
        StreamHealth {
            state: AtomicU8::new(StreamState::Connecting as u8),
            frames: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            dropped_frames: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_frame_unix_ms: AtomicI64::new(i64::MIN),
            last_error: Mutex::new(None),
        }
    }
}

/// A consistent-enough copy of [`StreamHealth`] (each field read atomically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSnapshot {
    pub state: StreamState,
    /// Frames received from the camera (delivered or dropped).
    pub frames: u64,
    /// Bytes of frame data received.
    pub bytes: u64,
    /// Frames dropped because the consumer was slow.
    pub dropped_frames: u64,
    /// Sessions opened after the first one.
    pub reconnects: u64,
    /// Failed opens plus lost sessions.
    pub failures: u64,
    pub last_frame_at: Option<SystemTime>,
    pub last_error: Option<String>,
}

impl StreamHealth {
    pub fn snapshot(&self) -> HealthSnapshot {
        let ms = self.last_frame_unix_ms.load(Ordering::Relaxed);
        HealthSnapshot {
            state: self.state(),
            frames: self.frames.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            dropped_frames: self.dropped_frames.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            last_frame_at: (ms != i64::MIN).then(|| UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
            last_error: self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    pub fn state(&self) -> StreamState {
        StreamState::from_u8(self.state.load(Ordering::Relaxed))
    }

    fn set_state(&self, s: StreamState) {
        self.state.store(s as u8, Ordering::Relaxed);
    }

    fn record_frame(&self, len: usize) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(len as u64, Ordering::Relaxed);
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        self.last_frame_unix_ms.store(now_ms, Ordering::Relaxed);
    }

    fn record_failure(&self, e: &IngestError) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
    }

    /// Counts frames a consumer further down dropped (the live forwarder in
    /// `camera_recorder` when the recorder's queue is full).
    pub(crate) fn record_dropped(&self, n: u64) {
        self.dropped_frames.fetch_add(n, Ordering::Relaxed);
    }
}

/// Keeps the camera in `cfg` connected until `shutdown` becomes `true` (or
/// its sender is dropped, or `out`'s receiver is dropped).
///
/// Events go to `out` (bounded). State events wait for room; frames never
/// wait: when `out` is full, frames are dropped (and counted in `health`)
/// until the next key frame finds room, so a slow consumer costs frames, not
/// memory. After a session that delivered frames the backoff starts over
/// from `backoff.initial`; errors that need attention (credentials,
/// configuration, codec) wait `backoff.max`.
pub async fn run_camera(cfg: IngestConfig, backoff: Backoff, health: Arc<StreamHealth>, out: mpsc::Sender<IngestEvent>, mut shutdown: watch::Receiver<bool>) {
    let url = cfg.display_url();
    let mut consecutive_failures = 0u32;
    let mut opened_before = false;
    'outer: loop {
        health.set_state(StreamState::Connecting);
        let opened = tokio::select! {
            biased;
            _ = stop_requested(&mut shutdown) => break 'outer,
            r = open(&cfg) => r,
        };
        let error = match opened {
            Err(e) => e,
            Ok(mut session) => {
                if opened_before {
                    health.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                opened_before = true;
                health.set_state(StreamState::Streaming);
                let connected = IngestEvent::Connected { params: session.params() };
                if !send_event(&out, connected, &mut shutdown).await {
                    break 'outer;
                }
                let mut gate = FrameGate::default();
                let mut got_frame = false;
                let e = loop {
                    let r = tokio::select! {
                        biased;
                        _ = stop_requested(&mut shutdown) => break 'outer,
                        r = session.next_frame() => r,
                    };
                    match r {
                        Ok(Some(frame)) => {
                            got_frame = true;
                            health.record_frame(frame.data.len());
                            match gate.offer(&out, frame) {
                                Offer::Sent => {}
                                Offer::Dropped => {
                                    health.dropped_frames.fetch_add(1, Ordering::Relaxed);
                                }
                                Offer::Closed => break 'outer,
                            }
                        }
                        Ok(None) => break IngestError::Protocol { url: url.clone(), stage: Stage::Stream, detail: "the server ended the session".into() },
                        Err(e) => break e,
                    }
                };
                if got_frame {
                    // The camera worked: start the backoff over.
                    consecutive_failures = 0;
                }
                e
            }
        };
        consecutive_failures = consecutive_failures.saturating_add(1);
        health.record_failure(&error);
        let retry_in = if error.needs_attention() { backoff.delay(u32::MAX, random_unit()) } else { backoff.delay(consecutive_failures, random_unit()) };
        warn!(%url, error = %error, ?retry_in, "camera stream down; will retry");
        health.set_state(StreamState::Backoff);
        let event = IngestEvent::Disconnected { error: error.to_string(), retry_in };
        if !send_event(&out, event, &mut shutdown).await {
            break;
        }
        tokio::select! {
            biased;
            _ = stop_requested(&mut shutdown) => break,
            _ = tokio::time::sleep(retry_in) => {}
        }
    }
    health.set_state(StreamState::Stopped);
    info!(%url, "camera ingest stopped");
}

/// Resolves once shutdown is requested or its sender is gone.
async fn stop_requested(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|&stop| stop).await;
}

/// Sends a state event, waiting for room unless shutdown comes first.
/// `false`: stop (shutdown, or nobody listens any more).
async fn send_event(out: &mpsc::Sender<IngestEvent>, ev: IngestEvent, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        biased;
        _ = stop_requested(shutdown) => false,
        r = out.send(ev) => r.is_ok(),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Offer {
    Sent,
    Dropped,
    Closed,
}

/// Frame admission to a bounded channel: once a frame did not fit, drop
/// everything up to the next key frame that fits (a decoder cannot use P
/// frames whose reference was dropped).
#[derive(Debug, Default)]
struct FrameGate {
    skipping: bool,
}

impl FrameGate {
    fn offer(&mut self, out: &mpsc::Sender<IngestEvent>, frame: Frame) -> Offer {
        if self.skipping && !frame.is_key {
            return Offer::Dropped;
        }
        match out.try_send(IngestEvent::Frame(frame)) {
            Ok(()) => {
                self.skipping = false;
                Offer::Sent
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.skipping = true;
                Offer::Dropped
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Offer::Closed,
        }
    }
}

/// A uniform number in [0, 1) from the std hasher's random keys (no rand
/// dependency for one jitter draw per reconnect).
fn random_unit() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Codec;
    use bytes::Bytes;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let b = Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(30), jitter: 0.0 };
        let secs: Vec<u64> = (1..=8).map(|n| b.delay(n, 0.5).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(b.delay(u32::MAX, 0.0), Duration::from_secs(30));
        assert_eq!(b.delay(0, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn jitter_only_shortens() {
        let b = Backoff::default();
        for n in 1..10 {
            let full = b.delay(n, 0.0);
            for r in [0.0, 0.3, 0.999] {
                let d = b.delay(n, r);
                assert!(d <= full && d >= full.mul_f64(0.75), "{n} {r} {d:?}");
            }
        }
        let r: Vec<f64> = (0..100).map(|_| random_unit()).collect();
        assert!(r.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(r.windows(2).any(|w| w[0] != w[1]), "random_unit is constant");
    }

    fn frame(key: bool, ts: i64) -> Frame {
        Frame {
            timestamp_90k: ts,
            is_key: key,
            data: Bytes::from_static(&[0, 0, 0, 1, 0x65]),
            params: Arc::new(VideoParams {
                codec: Codec::H264,
                width: 16,
                height: 16,
                rfc6381_codec: "avc1.42c00a".into(),
                extra_data: vec![1],
                pixel_aspect_ratio: None,
            }),
        }
    }

    #[test]
    fn full_channel_skips_to_next_key_frame() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut g = FrameGate::default();
        assert_eq!(g.offer(&tx, frame(true, 0)), Offer::Sent);
        assert_eq!(g.offer(&tx, frame(false, 1)), Offer::Sent);
        assert_eq!(g.offer(&tx, frame(false, 2)), Offer::Dropped); // full
        rx.try_recv().unwrap();
        rx.try_recv().unwrap();
        // Room again, but P frames depend on the dropped one.
        assert_eq!(g.offer(&tx, frame(false, 3)), Offer::Dropped);
        assert_eq!(g.offer(&tx, frame(true, 4)), Offer::Sent);
        assert_eq!(g.offer(&tx, frame(false, 5)), Offer::Sent);
        let got: Vec<i64> = std::iter::from_fn(|| match rx.try_recv() {
            Ok(IngestEvent::Frame(f)) => Some(f.timestamp_90k),
            _ => None,
        })
        .collect();
        assert_eq!(got, [4, 5]);
        drop(rx);
        assert_eq!(g.offer(&tx, frame(true, 6)), Offer::Closed);
    }

    #[test]
    fn health_snapshot() {
        let h = StreamHealth::default();
        let s = h.snapshot();
        assert_eq!(s.state, StreamState::Connecting);
        assert_eq!(s.last_frame_at, None);
        h.record_frame(100);
        h.record_frame(50);
        h.set_state(StreamState::Streaming);
        h.record_failure(&IngestError::Stalled { url: "rtsp://x/".into(), after: Duration::from_secs(1) });
        let s = h.snapshot();
        assert_eq!((s.frames, s.bytes, s.failures), (2, 150, 1));
        assert_eq!(s.state, StreamState::Streaming);
        assert!(s.last_frame_at.is_some());
        assert!(s.last_error.unwrap().contains("stalled"));
    }

    #[tokio::test]
    async fn supervisor_retries_and_stops_on_shutdown() {
        // A closed port: every open fails with Connect.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let cfg = IngestConfig::new(url::Url::parse(&format!("rtsp://127.0.0.1:{port}/x")).unwrap());
        let backoff = Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(40), jitter: 0.5 };
        let health = Arc::new(StreamHealth::default());
        let (tx, mut rx) = mpsc::channel(8);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run_camera(cfg, backoff, health.clone(), tx, stop_rx));
        let mut delays = Vec::new();
        while delays.len() < 4 {
            match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some(IngestEvent::Disconnected { error, retry_in })) => {
                    assert!(error.contains("could not connect"), "{error}");
                    delays.push(retry_in);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(delays[0] <= Duration::from_millis(10));
        assert!(delays[3] <= Duration::from_millis(40) && delays[3] >= Duration::from_millis(20));
        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(30), task).await.expect("run_camera did not stop").unwrap();
        let s = health.snapshot();
        assert_eq!(s.state, StreamState::Stopped);
        assert!(s.failures >= 4);
        assert_eq!(s.reconnects, 0);
    }
}
