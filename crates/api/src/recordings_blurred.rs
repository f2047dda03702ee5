//! `view.mp4` for callers without an unmask grant: the recorded frames of
//! the range go through the live transcoder (`citywatch_analytics::
//! live_redact`: decode, CenterFace, pixelate, encode) and leave as a
//! fragmented MP4, sent while it is made (HTTP 200, chunked, `Accept-Ranges:
//! none`): a browser starts playing at the first fragment, and the same
//! response saved is the export.
//!
//! The rule, as for live video and snapshots: blurred video or a clear
//! error, never the recording itself. The response is committed only once
//! the first blurred fragment exists, so a recording that cannot be blurred
//! (H.265, undecodable) is an error status, not a broken video. Each
//! transcode takes a core, so at most `[video] max_blurred_streams` run at
//! once (counted apart from live blurred streams: an operator watching live
//! can still play back), and a range is at most [`MAX_SPAN_S`] long. A
//! client that reads nothing for [`PLAYBACK_STALL`] (a paused video) loses
//! its playback, so that a forgotten paused tab does not hold a place.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use citywatch_analytics::live_redact::{FaceModels, LiveRedactConfig, LiveRedactError, LiveRedactor};
use citywatch_video::fmp4::{init_segment, media_segment, FragmentSample};
use citywatch_video::playback::RecordedFrames;
use citywatch_video::{Frame, VideoParams};
use tokio::sync::mpsc;

use crate::{ApiError, AppState};

/// Longest range a masked caller may ask for at once
/// ([`crate::LiveRedaction::max_playback_span`]), also when this server
/// cannot blur (the request is then refused for that reason instead).
pub(crate) fn max_span(state: &AppState) -> Duration {
    state.blurred_live.redaction().map_or(crate::LiveRedaction::DEFAULT_MAX_PLAYBACK_SPAN, |c| c.max_playback_span)
}

/// How long the transcoder waits for a client that takes nothing (a
/// paused video with its buffer full) before it ends the response and
/// gives its place under the limit back.
pub(crate) const PLAYBACK_STALL: Duration = Duration::from_secs(60);

/// A blurred playback's place under the limit; given back when dropped.
pub(crate) struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a blurred playback needs, or why this server cannot give one now.
pub(crate) struct Admitted {
    faces: Arc<FaceModels>,
    detect: LiveRedactConfig,
    slot: Slot,
}

pub(crate) fn admit(state: &AppState) -> Result<Admitted, ApiError> {
    let blurred = &state.blurred_live;
    let (config, faces) = blurred.redaction().and_then(|c| Some((c, c.faces.clone()?))).ok_or_else(|| {
        ApiError::Unavailable(
            "faces in recorded video are blurred for you (no unmask grant covers this camera), and this server cannot blur them (no face model: run `citywatch models install`); ask a supervisor for an unmask grant".into(),
        )
    })?;
    let count = blurred.playbacks.clone();
    let playbacks = count.fetch_add(1, Ordering::Relaxed) + 1;
    let slot = Slot(count);
    if playbacks > config.max_streams {
        return Err(ApiError::Unavailable(format!(
            "faces in recorded video are blurred for you, and this server is already blurring {} recordings, its limit ([video] max_blurred_streams); try again when another one ends",
            playbacks - 1
        )));
    }
    Ok(Admitted { faces, detect: config.detect, slot })
}

type Chunk = Result<Bytes, Failure>;

/// Why the transcoder produced nothing.
#[derive(Debug)]
enum Failure {
    /// The recording's codec cannot be decoded here (H.265).
    Unsupported(String),
    Failed(String),
}

/// Starts blurring `frames` (from `start_90k` on) and answers once the
/// first fragment is out: the response streaming the rest, or the error.
pub(crate) async fn respond(admitted: Admitted, frames: RecordedFrames, start_90k: i64, camera: &str) -> Result<Response, ApiError> {
    let (tx, mut rx) = mpsc::channel::<Chunk>(4);
    let mut redactor = LiveRedactor::new(admitted.faces, admitted.detect);
    redactor.skip_until(start_90k);
    let (name, slot) = (camera.to_owned(), admitted.slot);
    std::thread::Builder::new()
        .name(format!("blur playback {camera}"))
        .spawn(move || {
            let _slot = slot;
            transcode(frames, redactor, &tx, &name);
        })
        .map_err(|e| ApiError::Internal(format!("could not start blurring faces: {e}")))?;
    let first = match rx.recv().await {
        Some(Ok(b)) => b,
        Some(Err(Failure::Unsupported(m))) => {
            return Err(ApiError::Unavailable(format!(
                "faces in recorded video are blurred for you, and this recording cannot be blurred ({m}); ask a supervisor for an unmask grant"
            )))
        }
        Some(Err(Failure::Failed(m))) => return Err(ApiError::Internal(format!("blurring faces in the recording: {m}"))),
        None => return Err(ApiError::Internal("blurring faces in the recording: the transcoder stopped".into())),
    };
    let rest = futures::stream::unfold(rx, |mut rx| async move {
        // An error after the first bytes cuts the response short, so the
        // client sees a truncated transfer rather than a complete file.
        let item = rx.recv().await?.map_err(|f| std::io::Error::other(format!("{f:?}")));
        Some((item, rx))
    });
    let body = futures::StreamExt::chain(futures::stream::once(async move { Ok::<_, std::io::Error>(first) }), rest);
    let mut resp = Response::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(resp)
}

/// Runs on its own thread until the range is done or the client leaves.
fn transcode(frames: RecordedFrames, mut redactor: LiveRedactor, tx: &mpsc::Sender<Chunk>, camera: &str) {
    let mut mux = Muxer::default();
    // Each pushed frame's duration, until the redactor gives it out.
    let mut durations: VecDeque<(i64, u32)> = VecDeque::new();
    let mut last_error: Option<String> = None;
    for rec in frames {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Err(Failure::Failed(e.to_string())));
                return;
            }
        };
        durations.push_back((rec.frame.timestamp_90k, rec.duration_90k));
        match redactor.push(&rec.frame) {
            Ok(out) => {
                if !send(&mut mux, &mut durations, out, tx) {
                    return;
                }
            }
            Err(e @ LiveRedactError::Unsupported { .. }) => {
                let _ = tx.blocking_send(Err(Failure::Unsupported(e.to_string())));
                return;
            }
            // The redactor goes on from the next key frame: a gap.
            Err(e) => {
                let msg = e.to_string();
                if last_error.as_deref() != Some(msg.as_str()) {
                    tracing::warn!(camera, "playback: blurring faces: {msg}");
                }
                last_error = Some(msg);
            }
        }
    }
    match redactor.finish() {
        Ok(out) => {
            if !send(&mut mux, &mut durations, out, tx) {
                return;
            }
        }
        Err(e) => last_error = Some(e.to_string()),
    }
    if mux.sequence == 0 {
        let why = last_error.unwrap_or_else(|| "no picture in the range could be decoded".into());
        let _ = tx.blocking_send(Err(Failure::Failed(why)));
    }
}

/// Muxes `out` and sends it; `false`: the client has gone.
fn send(mux: &mut Muxer, durations: &mut VecDeque<(i64, u32)>, out: Vec<Frame>, tx: &mpsc::Sender<Chunk>) -> bool {
    if out.is_empty() {
        return true;
    }
    let timed: Vec<(Frame, u32)> = out
        .into_iter()
        .map(|f| {
            while durations.front().is_some_and(|(ts, _)| *ts < f.timestamp_90k) {
                durations.pop_front();
            }
            let d = durations.front().filter(|(ts, _)| *ts == f.timestamp_90k).map_or(mux.last_duration, |(_, d)| *d);
            (f, d)
        })
        .collect();
    let chunk = mux.push(&timed).map_err(|e| Failure::Failed(format!("writing the MP4: {e}")));
    let failed = chunk.is_err();
    send_within(tx, chunk.map(Bytes::from), PLAYBACK_STALL) && !failed
}

/// Sends `item` unless the client has gone or has taken nothing for
/// `stall`; `false` then. Polls instead of blocking: a blocked send would
/// hold the thread, its core's place and its decoder as long as a paused
/// tab stays open.
fn send_within<T>(tx: &mpsc::Sender<T>, item: T, stall: Duration) -> bool {
    let give_up = Instant::now() + stall;
    let mut item = item;
    loop {
        match tx.try_send(item) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
            Err(mpsc::error::TrySendError::Full(back)) => {
                if Instant::now() >= give_up {
                    tracing::info!("blurred playback: the client took nothing for {} s (paused?); ending it", stall.as_secs());
                    return false;
                }
                item = back;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Writes blurred frames as one fMP4: an init segment, then one fragment
/// per burst of frames the redactor gives out, on a timeline that starts at
/// 0 and advances by the recorded durations (gaps closed, as in the
/// unblurred MP4).
#[derive(Default)]
struct Muxer {
    params: Option<Arc<VideoParams>>,
    sequence: u32,
    decode_90k: u64,
    last_duration: u32,
}

impl Muxer {
    fn push(&mut self, frames: &[(Frame, u32)]) -> Result<Vec<u8>, citywatch_video::mp4::Mp4Error> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < frames.len() {
            let params = &frames[i].0.params;
            if self.params.as_ref().is_none_or(|p| **p != **params) {
                // A new resolution mid-range: a new init segment (MSE takes
                // it; ffmpeg keeps the first).
                out.extend(init_segment(params)?);
                self.params = Some(params.clone());
            }
            let n = frames[i..].iter().position(|(f, _)| *f.params != **params).unwrap_or(frames.len() - i);
            let samples: Vec<FragmentSample<'_>> =
                frames[i..i + n].iter().map(|(f, d)| FragmentSample { data: &f.data, duration_90k: *d, is_key: f.is_key }).collect();
            self.sequence += 1;
            out.extend(media_segment(self.sequence, self.decode_90k, &samples)?);
            self.decode_90k += samples.iter().map(|s| u64::from(s.duration_90k)).sum::<u64>();
            self.last_duration = samples.last().map_or(self.last_duration, |s| s.duration_90k);
            i += n;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_that_takes_nothing_is_given_up_after_the_stall() {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        assert!(send_within(&tx, 1, Duration::from_millis(50)));
        let t = Instant::now();
        assert!(!send_within(&tx, 2, Duration::from_millis(200)), "the channel is full and nobody reads");
        assert!(t.elapsed() >= Duration::from_millis(200));
        // A client that reads within the stall gets every item.
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let got = [rx.blocking_recv(), rx.blocking_recv()];
            drop(rx);
            got
        });
        assert!(send_within(&tx, 3, Duration::from_secs(5)));
        assert_eq!(reader.join().unwrap(), [Some(1), Some(3)]);
        assert!(!send_within(&tx, 4, Duration::from_secs(5)), "a client that has gone");
    }
}
