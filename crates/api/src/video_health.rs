//! Ingest and retention health: `GET /api/v1/cameras/{id}/health` (JSON,
//! one camera) and `GET /metrics` (Prometheus text format, every stream).
//!
//! `/metrics` is read with an admin or supervisor session over all
//! districts, or by a scraper sending `Authorization: Bearer <token>` with
//! the `[metrics] token` of citywatch.toml. Scrapes are not audited (no
//! video or personal data is exposed, and a scraper calls every few
//! seconds); refused ones are.

use std::fmt::Write as _;
use std::time::SystemTime;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use citywatch_audit::Permission;
use citywatch_video::health::StreamReport;
use citywatch_video::ingest::StreamState;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::{ApiError, AppState};

fn state_name(s: StreamState) -> &'static str {
    match s {
        StreamState::Connecting => "connecting",
        StreamState::Streaming => "streaming",
        StreamState::Backoff => "backoff",
        StreamState::Stopped => "stopped",
    }
}

/// A metric family of one value per stream: name, help, how to read it.
type PerStream<T> = (&'static str, &'static str, fn(&StreamReport) -> T);

const STATES: [StreamState; 4] = [StreamState::Connecting, StreamState::Streaming, StreamState::Backoff, StreamState::Stopped];

fn age_s(t: Option<SystemTime>) -> Option<f64> {
    t.map(|t| SystemTime::now().duration_since(t).map(|d| d.as_secs_f64()).unwrap_or(0.0))
}

pub(crate) fn stream_json(r: &StreamReport) -> Value {
    let h = &r.health;
    json!({
        "stream": r.stream,
        "state": state_name(h.state),
        "frames": h.frames,
        "bytes": h.bytes,
        "dropped_frames": h.dropped_frames,
        "reconnects": h.reconnects,
        "failures": h.failures,
        "fps": r.fps,
        "bitrate_bps": r.bitrate_bps,
        "interval_s": r.interval.map(|d| d.as_secs_f64()),
        "last_frame_at": h.last_frame_at.map(chrono::DateTime::<chrono::Utc>::from),
        "last_frame_age_s": age_s(h.last_frame_at),
        "last_error": h.last_error,
    })
}

pub async fn camera(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadCameras, "reading camera health").await?;
    let Some(camera) = state.registry.snapshot().get(&id, &scope).cloned() else {
        return Err(ApiError::NotFound(format!("camera {id} not found")));
    };
    let streams: Vec<Value> = state.health.camera(&id).iter().map(stream_json).collect();
    let index = state.recording_index.clone();
    let totals = tokio::task::spawn_blocking(move || index.recording_totals()).await??;
    let recorded: serde_json::Map<String, Value> =
        totals.into_iter().filter(|t| t.camera_id == id).map(|t| (t.stream.to_string(), json!({"recordings": t.recordings, "bytes": t.bytes}))).collect();
    Ok(Json(json!({"camera": id, "status": camera.status.as_str(), "recording": !streams.is_empty(), "streams": streams, "recorded": recorded})))
}

/// Constant-time comparison, so the token cannot be guessed byte by byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    let scraper = matches!((state.metrics_token.as_deref(), bearer), (Some(t), Some(b)) if !t.is_empty() && same(t.as_bytes(), b.as_bytes()));
    if !scraper {
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        parts.headers = headers;
        let caller = Caller::from_request_parts(&mut parts, &state).await?;
        caller.require_all_districts(&state, Permission::ReadMetrics, "reading metrics").await?;
    }
    let index = state.recording_index.clone();
    let totals = tokio::task::spawn_blocking(move || index.recording_totals()).await??;
    let mut out = String::new();
    let streams = state.health.all();
    let label = |r: &StreamReport| format!("camera=\"{}\",stream=\"{}\"", escape(&r.camera_id), r.stream);

    family(&mut out, "citywatch_stream_up", "gauge", "1 while the stream is connected and playing.");
    for r in &streams {
        let _ = writeln!(out, "citywatch_stream_up{{{}}} {}", label(r), u8::from(r.health.state == StreamState::Streaming));
    }
    family(&mut out, "citywatch_stream_state", "gauge", "Connection state of the stream (one of connecting, streaming, backoff, stopped is 1).");
    for r in &streams {
        for s in STATES {
            let _ = writeln!(out, "citywatch_stream_state{{{},state=\"{}\"}} {}", label(r), state_name(s), u8::from(r.health.state == s));
        }
    }
    let counters: [PerStream<u64>; 5] = [
        ("citywatch_stream_frames_total", "Frames received from the camera.", |r| r.health.frames),
        ("citywatch_stream_bytes_total", "Bytes of video received from the camera.", |r| r.health.bytes),
        ("citywatch_stream_dropped_frames_total", "Frames dropped because the recorder fell behind.", |r| r.health.dropped_frames),
        ("citywatch_stream_reconnects_total", "Sessions opened after the first.", |r| r.health.reconnects),
        ("citywatch_stream_failures_total", "Failed connection attempts and lost sessions.", |r| r.health.failures),
    ];
    for (name, help, get) in counters {
        family(&mut out, name, "counter", help);
        for r in &streams {
            let _ = writeln!(out, "{name}{{{}}} {}", label(r), get(r));
        }
    }
    let gauges: [PerStream<Option<f64>>; 3] = [
        ("citywatch_stream_fps", "Frames per second over the last interval (about 10 s).", |r| r.fps),
        ("citywatch_stream_bitrate_bits_per_second", "Bit rate over the last interval (about 10 s).", |r| r.bitrate_bps),
        ("citywatch_stream_last_frame_age_seconds", "Seconds since the last frame arrived.", |r| age_s(r.health.last_frame_at)),
    ];
    for (name, help, get) in gauges {
        family(&mut out, name, "gauge", help);
        for r in &streams {
            if let Some(v) = get(r) {
                let _ = writeln!(out, "{name}{{{}}} {v}", label(r));
            }
        }
    }
    family(&mut out, "citywatch_recording_bytes", "gauge", "Bytes of recordings kept, per camera stream.");
    for t in &totals {
        let _ = writeln!(out, "citywatch_recording_bytes{{camera=\"{}\",stream=\"{}\"}} {}", escape(&t.camera_id), t.stream, t.bytes);
    }
    family(&mut out, "citywatch_recordings", "gauge", "Recordings kept, per camera stream.");
    for t in &totals {
        let _ = writeln!(out, "citywatch_recordings{{camera=\"{}\",stream=\"{}\"}} {}", escape(&t.camera_id), t.stream, t.recordings);
    }
    let ret = state.health.retention();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    for (name, kind, help, v) in [
        ("citywatch_retention_runs_total", "counter", "Retention runs.", load(&ret.runs)),
        ("citywatch_retention_failed_runs_total", "counter", "Retention runs that failed.", load(&ret.failed_runs)),
        ("citywatch_retention_deleted_recordings_total", "counter", "Recordings deleted by retention.", load(&ret.deleted_recordings)),
        ("citywatch_retention_deleted_bytes_total", "counter", "Bytes deleted by retention.", load(&ret.deleted_bytes)),
        ("citywatch_retention_held_recordings", "gauge", "Recordings the last run kept only because of a legal hold.", load(&ret.held)),
    ] {
        family(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {v}");
    }
    let free = ret.free_bytes.load(std::sync::atomic::Ordering::Relaxed);
    if free >= 0 {
        family(&mut out, "citywatch_video_free_bytes", "gauge", "Free bytes of the video directory's filesystem at the last retention run.");
        let _ = writeln!(out, "citywatch_video_free_bytes {free}");
    }
    out.push_str(&state.dispatch.avl.metrics_text());
    out.push_str(&state.events.metrics().prometheus_text());
    let sources = state.metrics_sources.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for source in sources {
        out.push_str(&source());
    }
    let mut resp = out.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(resp)
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the text format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_tokens_compared_whole() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert!(same(b"token", b"token"));
        assert!(!same(b"token", b"tokem") && !same(b"token", b"token2") && !same(b"", b"x"));
    }
}
