//! One RTSP session: DESCRIBE, SETUP one video stream, PLAY, then frames.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use retina::client::{PlayOptions, SessionOptions, SetupOptions};
use retina::codec::{CodecItem, FrameFormat, ParametersRef, VideoFrame};
use tokio::time::Instant;
use tracing::{debug, info};

use super::pacing::BatchTimer;
use super::runtime::Urgent;
use super::{IngestConfig, IngestError, Pacing, Stage, Transport};
use crate::{Codec, Frame, VideoParams};

/// A playing RTSP session on one camera's video stream.
pub struct IngestSession {
    url: String,
    demuxed: retina::client::Demuxed,
    stream_i: usize,
    codec: Codec,
    clock_rate: u32,
    params: Option<Arc<VideoParams>>,
    seen_key: bool,
    skipped_before_key: u64,
    frame_timeout: Duration,
    /// When the stream counts as stalled if no video frame came before.
    deadline: Instant,
    had_credentials: bool,
    pacing: Pacing,
    /// Held while packets are read as they arrive (see `runtime`).
    urgent: Option<Urgent>,
    /// Shortens the waits between batches of a high-bitrate stream.
    batch_timer: BatchTimer,
}

/// Connects to `cfg.url`, DESCRIBEs it, SETs UP the first H.264 (or H.265)
/// video stream and PLAYs it. All of that must finish within
/// `cfg.connect_timeout`.
pub async fn open(cfg: &IngestConfig) -> Result<IngestSession, IngestError> {
    // The handshake's round trips must not wait for an idle thread's tick.
    let connecting = Urgent::new();
    let (url, creds) = cfg.effective();
    let shown = url.to_string();
    let had_credentials = creds.is_some();
    if url.scheme() != "rtsp" {
        return Err(IngestError::InvalidConfig { url: shown, reason: format!("scheme {:?} is not supported; use rtsp://", url.scheme()) });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(IngestError::InvalidConfig { url: shown, reason: "the URL has no host".into() });
    }
    let budget = cfg.connect_timeout;
    let deadline = Instant::now() + budget;
    let step = |stage: Stage| Step { url: &shown, stage, deadline, budget, had_credentials };

    let options = SessionOptions::default()
        .creds(creds.map(|(username, password)| retina::client::Credentials { username, password }))
        .user_agent(concat!("citywatch/", env!("CARGO_PKG_VERSION")).to_owned());
    let mut described = step(Stage::Describe).run(retina::client::Session::describe(url.clone(), options)).await?;

    let (stream_i, codec) = pick_video_stream(described.streams(), &shown)?;
    let clock_rate = described.streams()[stream_i].clock_rate_hz();
    if clock_rate == 0 {
        return Err(IngestError::Describe { url: shown, detail: "the video stream's RTP clock rate is 0".into() });
    }
    let transport = match cfg.transport {
        Transport::Tcp => retina::client::Transport::Tcp(Default::default()),
        Transport::Udp => retina::client::Transport::Udp(Default::default()),
    };
    // MP4 framing: 4-byte length prefixes, parameter sets only in extra_data
    // (retina's default would prepend SPS/PPS to every key frame).
    let setup = SetupOptions::default().transport(transport).frame_format(FrameFormat::MP4);
    step(Stage::Setup).run(described.setup(stream_i, setup)).await?;
    let playing = step(Stage::Play).run(described.play(PlayOptions::default())).await?;
    // Fails when the SDP's codec parameters can't be depacketized.
    let demuxed = playing.demuxed().map_err(|e| IngestError::from_retina(&e, &shown, Stage::Describe, had_credentials))?;

    let mut session = IngestSession {
        url: shown,
        demuxed,
        stream_i,
        codec,
        clock_rate,
        params: None,
        seen_key: false,
        skipped_before_key: 0,
        frame_timeout: cfg.frame_timeout,
        deadline: Instant::now() + cfg.frame_timeout,
        had_credentials,
        // Over UDP a socket left unread drops what does not fit its buffer
        // (about 200 KiB by default): batching is for TCP, which holds the
        // bytes and slows the sender instead.
        pacing: match cfg.transport {
            Transport::Tcp => cfg.pacing.clone(),
            Transport::Udp => Pacing::immediate(),
        },
        urgent: Some(connecting),
        batch_timer: BatchTimer::new(Instant::now()),
    };
    // Often known from the SDP (sprop-parameter-sets); else after a frame.
    session.refresh_params();
    info!(
        url = %session.url,
        transport = ?cfg.transport,
        codec = ?codec,
        params = ?session.params.as_deref().map(|p| (&p.rfc6381_codec, p.width, p.height)),
        "RTSP session playing"
    );
    Ok(session)
}

impl IngestSession {
    /// The next frame, starting with a key frame. `Ok(None)`: the server
    /// ended the session. After an error or `None` the session is spent;
    /// open a new one.
    ///
    /// Under batched [`Pacing`] frames come in bursts, one batch apart.
    ///
    /// Cancel-safe: dropping the future loses no frame that was returned.
    pub async fn next_frame(&mut self) -> Result<Option<Frame>, IngestError> {
        loop {
            // Until the first key frame is out, packets are read as they
            // arrive: the recorder anchors a run at the wall-clock time it
            // takes the run's first frame, which a batch would make late by
            // up to its interval.
            let batch = if self.seen_key { self.pacing.batch_now() } else { None };
            match batch {
                None if self.urgent.is_none() => self.urgent = Some(Urgent::new()),
                Some(_) => self.urgent = None,
                None => {}
            }
            let item = match batch {
                None => match tokio::time::timeout_at(self.deadline, self.demuxed.next()).await {
                    Err(_) => return Err(self.stalled()),
                    Ok(item) => item,
                },
                // Polled without registering for wake-ups: what the kernel
                // already holds is parsed, and an empty socket costs one
                // `readv`, not a wake-up per packet until the next batch.
                Some(every) => match self.demuxed.next().now_or_never() {
                    Some(item) => item,
                    None => {
                        let now = Instant::now();
                        if now >= self.deadline {
                            return Err(self.stalled());
                        }
                        let wait = self.batch_timer.next_wait(every, now);
                        self.pacing.sleep_until((now + wait).min(self.deadline)).await;
                        continue;
                    }
                },
            };
            let item = match item {
                None => {
                    debug!(url = %self.url, "RTSP server ended the session");
                    return Ok(None);
                }
                Some(Err(e)) => return Err(IngestError::from_retina(&e, &self.url, Stage::Stream, self.had_credentials)),
                Some(Ok(item)) => item,
            };
            let CodecItem::VideoFrame(f) = item else {
                continue; // RTCP; other streams are never set up.
            };
            if f.stream_id() != self.stream_i {
                continue;
            }
            self.batch_timer.read(f.data().len());
            self.deadline = Instant::now() + self.frame_timeout;
            if let Some(frame) = self.accept(f) {
                return Ok(Some(frame));
            }
        }
    }

    fn stalled(&self) -> IngestError {
        IngestError::Stalled { url: self.url.clone(), after: self.frame_timeout }
    }

    /// The stream's current codec parameters (the `Arc` every frame since
    /// the last change carries), if known yet.
    pub fn params(&self) -> Option<Arc<VideoParams>> {
        self.params.clone()
    }

    /// The camera URL, without credentials.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn accept(&mut self, f: VideoFrame) -> Option<Frame> {
        if f.has_new_parameters() || self.params.is_none() {
            self.refresh_params();
        }
        if f.loss() > 0 {
            debug!(url = %self.url, lost_packets = f.loss(), "RTP packets lost before this frame");
        }
        let timestamp_90k = to_90k(f.timestamp().elapsed(), self.clock_rate);
        let retina_key = f.is_random_access_point();
        let Some(params) = self.params.clone() else {
            self.skipped_before_key += 1;
            debug!(url = %self.url, "dropping a frame: codec parameters not known yet");
            return None;
        };
        let data = Bytes::from(f.into_data());
        let is_key = is_key_frame(self.codec, &data).unwrap_or(retina_key);
        if !self.seen_key {
            if !is_key {
                self.skipped_before_key += 1;
                debug!(url = %self.url, "dropping a frame before the first key frame");
                return None;
            }
            self.seen_key = true;
            if self.skipped_before_key > 0 {
                debug!(
                    url = %self.url,
                    dropped = self.skipped_before_key,
                    "dropped frames before the first key frame"
                );
            }
        }
        Some(Frame { timestamp_90k, is_key, data, params })
    }

    /// Takes retina's current parameters; keeps the same `Arc` if they did
    /// not actually change.
    fn refresh_params(&mut self) {
        let Some(ParametersRef::Video(v)) = self.demuxed.streams()[self.stream_i].parameters() else {
            return;
        };
        let new = to_video_params(self.codec, v);
        if self.params.as_deref() != Some(&new) {
            if self.params.is_some() {
                info!(
                    url = %self.url,
                    codec = %new.rfc6381_codec,
                    width = new.width,
                    height = new.height,
                    "camera changed video parameters"
                );
            }
            self.params = Some(Arc::new(new));
        }
    }
}

impl std::fmt::Debug for IngestSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestSession")
            .field("url", &self.url)
            .field("stream_i", &self.stream_i)
            .field("codec", &self.codec)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// The first H.264/H.265 video stream; a clear error if there is none.
fn pick_video_stream(streams: &[retina::client::Stream], url: &str) -> Result<(usize, Codec), IngestError> {
    for (i, s) in streams.iter().enumerate() {
        if s.media() != "video" {
            continue;
        }
        // retina gives SDP encoding names in lower case, as Codec spells them.
        if let Ok(codec) = s.encoding_name().parse::<Codec>() {
            return Ok((i, codec));
        }
    }
    let found = if streams.is_empty() {
        "no streams".to_owned()
    } else {
        streams.iter().map(|s| format!("{}/{}", s.media(), s.encoding_name())).collect::<Vec<_>>().join(", ")
    };
    if streams.iter().any(|s| s.media() == "video") {
        Err(IngestError::Unsupported { url: url.to_owned(), what: format!("video codec ({found}); only H.264 and H.265 are supported") })
    } else {
        Err(IngestError::NoVideoStream { url: url.to_owned(), found })
    }
}

fn to_video_params(codec: Codec, v: &retina::codec::VideoParameters) -> VideoParams {
    let (w, h) = v.pixel_dimensions();
    VideoParams {
        codec,
        // retina stores them as u16, so these never saturate.
        width: u16::try_from(w).unwrap_or(u16::MAX),
        height: u16::try_from(h).unwrap_or(u16::MAX),
        rfc6381_codec: v.rfc6381_codec().to_owned(),
        extra_data: v.extra_data().to_vec(),
        pixel_aspect_ratio: v.pixel_aspect_ratio(),
    }
}

/// Whether an access unit (AVCC form) holds an IDR (H.264) or IRAP (H.265:
/// IDR, CRA, BLA) picture; `None` if the data is not well-formed AVCC.
///
/// retina's `is_random_access_point` is not used directly: for H.265 it is
/// true only for IDR pictures, so a stream of CRA pictures (x265's default
/// open GOP, some cameras) would never have a key frame; for H.264 it is also
/// true for an access unit without any slice.
fn is_key_frame(codec: Codec, data: &[u8]) -> Option<bool> {
    let mut rest = data;
    let mut key = false;
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let nal = rest.get(4..4 + len)?;
        let header = *nal.first()?;
        key |= match codec {
            Codec::H264 => header & 0x1f == 5,
            Codec::H265 => (16..=23).contains(&((header >> 1) & 0x3f)),
        };
        rest = &rest[4 + len..];
    }
    Some(key)
}

/// RTP clock units to 90 kHz (H.264/H.265 RTP clocks are 90 kHz by RFC;
/// this only matters for odd cameras).
fn to_90k(ticks: i64, clock_rate: u32) -> i64 {
    if clock_rate == 90_000 {
        ticks
    } else {
        (i128::from(ticks) * 90_000 / i128::from(clock_rate)) as i64
    }
}

/// One stage of `open`: its share of the deadline and its error mapping.
struct Step<'a> {
    url: &'a str,
    stage: Stage,
    deadline: Instant,
    budget: Duration,
    had_credentials: bool,
}

impl Step<'_> {
    async fn run<T>(self, fut: impl Future<Output = Result<T, retina::Error>>) -> Result<T, IngestError> {
        match tokio::time::timeout_at(self.deadline, fut).await {
            Err(_) => Err(IngestError::Timeout { url: self.url.to_owned(), stage: self.stage, after: self.budget }),
            Ok(Err(e)) => {
                debug!(url = %self.url, stage = %self.stage, error = %e, "RTSP request failed");
                Err(IngestError::from_retina(&e, self.url, self.stage, self.had_credentials))
            }
            Ok(Ok(v)) => Ok(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_frames_by_nal_type() {
        let avcc = |nals: &[&[u8]]| -> Vec<u8> { nals.iter().flat_map(|n| (n.len() as u32).to_be_bytes().into_iter().chain(n.iter().copied())).collect() };
        // H.264: SEI + IDR slice vs a P slice.
        assert_eq!(is_key_frame(Codec::H264, &avcc(&[&[0x06, 1], &[0x65, 0x88]])), Some(true));
        assert_eq!(is_key_frame(Codec::H264, &avcc(&[&[0x41, 0x9a]])), Some(false));
        // H.265: CRA (21), IDR_N_LP (20), TRAIL_R (1).
        assert_eq!(is_key_frame(Codec::H265, &avcc(&[&[21 << 1, 1, 0xaf]])), Some(true));
        assert_eq!(is_key_frame(Codec::H265, &avcc(&[&[20 << 1, 1, 0xaf]])), Some(true));
        assert_eq!(is_key_frame(Codec::H265, &avcc(&[&[1 << 1, 1, 0xaf]])), Some(false));
        // Not AVCC: a length that overruns, an empty NAL unit.
        assert_eq!(is_key_frame(Codec::H264, &[0, 0, 0, 9, 0x65]), None);
        assert_eq!(is_key_frame(Codec::H264, &[0, 0, 0, 0]), None);
    }

    #[test]
    fn clock_conversion() {
        assert_eq!(to_90k(12_345, 90_000), 12_345);
        assert_eq!(to_90k(1_000, 1_000), 90_000);
        assert_eq!(to_90k(-3, 30_000), -9);
    }

    #[tokio::test]
    async fn closed_port_is_a_connect_error_without_password() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let url = url::Url::parse(&format!("rtsp://admin:hunter2@127.0.0.1:{port}/cam")).unwrap();
        let mut cfg = IngestConfig::new(url);
        cfg.connect_timeout = Duration::from_secs(5);
        let e = open(&cfg).await.unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, IngestError::Connect { .. }), "{m}");
        assert!(m.contains(&format!("rtsp://127.0.0.1:{port}/cam")), "{m}");
        assert!(!m.contains("hunter2") && !m.contains("admin"), "{m}");
    }

    #[tokio::test]
    async fn bad_scheme_is_a_config_error() {
        let cfg = IngestConfig::new(url::Url::parse("http://cam/x").unwrap());
        let e = open(&cfg).await.unwrap_err();
        assert!(matches!(e, IngestError::InvalidConfig { .. }), "{e}");
        assert!(e.to_string().contains("http://cam/x"), "{e}");
    }
}
