//! `/api/v1/cameras/{id}/recordings` (what was recorded, for the timeline)
//! and `/api/v1/cameras/{id}/view.mp4` (playback and export of any range).

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use citywatch_audit::{Permission, Record};
use citywatch_video::playback::{build_mp4, gaps, recorded_frames, spans_checked, PlaybackError};
use citywatch_video::recorder::Stream;
use serde_json::json;

use crate::auth::{audit, Caller};
use crate::justification::{case_ref_param, purpose_param};
use crate::recordings_blurred as blurred;
use crate::{ApiError, AppState};

/// One request may export at most a day.
const MAX_SPAN_S: i64 = 24 * 3600;
/// Bytes per chunk of a streamed response.
const CHUNK: u64 = 1 << 20;

struct TimeRange {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    stream: Stream,
}

impl TimeRange {
    fn start_90k(&self) -> i64 {
        self.start.timestamp_micros() * 9 / 100
    }
    fn end_90k(&self) -> i64 {
        self.end.timestamp_micros() * 9 / 100
    }
}

fn time_range(params: &HashMap<String, String>, allowed: &[&str]) -> Result<TimeRange, ApiError> {
    if let Some(k) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!("unknown query parameter {k}; expected {}", allowed.join(", "))));
    }
    let time = |name: &str| -> Result<DateTime<Utc>, ApiError> {
        let v = params.get(name).ok_or_else(|| ApiError::field(name, "is required (RFC 3339, e.g. 2026-11-27T08:00:00Z)"))?;
        DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|e| ApiError::field(name, format!("must be an RFC 3339 time: {e}")))
    };
    let (start, end) = (time("start")?, time("end")?);
    if end <= start {
        return Err(ApiError::field("end", "must be after start"));
    }
    if (end - start).num_seconds() > MAX_SPAN_S {
        return Err(ApiError::field("end", format!("the range may span at most {} hours", MAX_SPAN_S / 3600)));
    }
    let stream = match params.get("stream") {
        None => Stream::Main,
        Some(name) => name.parse::<Stream>().map_err(|e| ApiError::field("stream", e.to_string()))?,
    };
    Ok(TimeRange { start, end, stream })
}

pub(crate) fn from_90k(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t * 100 / 9).unwrap_or_default()
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadCameras, "listing recordings").await?;
    if state.registry.snapshot().get(&id, &scope).is_none() {
        return Err(ApiError::NotFound(format!("camera {id} not found")));
    }
    let range = time_range(&params, &["start", "end", "stream"])?;
    let source = state.recordings.clone();
    let (cam, start, end, stream) = (id.clone(), range.start_90k(), range.end_90k(), range.stream);
    // Damaged recordings (file missing or truncated) are gaps, listed with why.
    let (spans, damaged) = tokio::task::spawn_blocking(move || spans_checked(&*source, &cam, stream, start, end)).await?.map_err(playback_error)?;
    let damaged: Vec<_> =
        damaged.iter().map(|d| json!({"start": from_90k(d.start_90k), "end": from_90k(d.end_90k), "problem": d.problem.to_string()})).collect();
    let gaps: Vec<_> = gaps(&spans, start, end).iter().map(|g| json!({"start": from_90k(g.start_90k), "end": from_90k(g.end_90k)})).collect();
    let spans: Vec<_> = spans.iter().map(|s| json!({"start": from_90k(s.start_90k), "end": from_90k(s.end_90k)})).collect();
    Ok(Json(json!({"camera": id, "stream": range.stream.as_str(), "start": range.start, "end": range.end, "spans": spans, "gaps": gaps, "damaged": damaged})))
}

pub async fn view_mp4(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::PlayRecordings, "playing back video").await?;
    let range = time_range(&params, &["start", "end", "stream", "purpose", "case_ref"])?;
    let (purpose, case_ref) = (purpose_param(&params)?, case_ref_param(&params)?);
    let (Some(purpose), Some(case_ref)) = (purpose, case_ref) else {
        return Err(ApiError::BadRequest(
            "playback needs a purpose and a case_ref (query parameters purpose= and case_ref=); they are recorded in the audit log".into(),
        ));
    };
    let Some(district) = state.registry.snapshot().get(&id, &scope).map(|c| c.district.clone()) else {
        return Err(ApiError::NotFound(format!("camera {id} not found")));
    };
    // Who sees faces, as for live video and snapshots: an unmask grant by
    // role reaching the camera's district, or a supervisor's grant naming it.
    let by_role = caller.0.scope(Permission::ViewUnmasked).is_some_and(|s| s.covers(district.as_deref()));
    let grant = if by_role { None } else { crate::unmask_grants::grant_for(&state, caller.name(), &id).await };
    let unmasked = by_role || grant.is_some();
    let mut detail = json!({
        "start": range.start, "end": range.end, "stream": range.stream.as_str(),
        "faces": if unmasked { "shown" } else { "blurred" }, "unmask_grant": grant,
    });
    let record = |detail: serde_json::Value| {
        Record::new(caller.name(), "video.playback", &id).purpose(Some(purpose.as_str().to_owned()), Some(case_ref.as_str().to_owned())).detail(detail)
    };
    if !unmasked {
        return view_blurred(&state, &id, &range, &headers, record(detail)).await;
    }
    let source = state.recordings.clone();
    let (cam, start, end, stream) = (id.clone(), range.start_90k(), range.end_90k(), range.stream);
    let mp4 = tokio::task::spawn_blocking(move || build_mp4(&*source, &cam, stream, start, end)).await?;
    let mp4 = match mp4 {
        Ok(m) => m,
        Err(e) => {
            audit(&state, record(detail).result("failed")).await?;
            return Err(playback_error(e));
        }
    };
    let total = mp4.len();
    let (status, start_byte, end_byte) = match headers.get(header::RANGE) {
        None => (StatusCode::OK, 0, total),
        Some(r) => match r.to_str().map_err(|_| RangeProblem::Malformed).and_then(|r| parse_range(r, total)) {
            Ok((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b),
            Err(problem) => return Ok(refuse_range(problem, total)),
        },
    };
    // Every response that carries video is audited, naming the bytes it
    // carries: a player's later ranges show as much as its first request,
    // and any range can be the whole file (`bytes=-N`).
    detail["bytes"] = json!(format!("{start_byte}-{}/{total}", end_byte.saturating_sub(1)));
    audit(&state, record(detail)).await?;
    let mime = mp4.mime_type();
    let mp4 = std::sync::Arc::new(mp4);
    let chunks = futures::stream::unfold(start_byte, move |pos| {
        let mp4 = mp4.clone();
        async move {
            if pos >= end_byte {
                return None;
            }
            let next = (pos + CHUNK).min(end_byte);
            let read = tokio::task::spawn_blocking(move || mp4.read_range(pos, next)).await;
            let item = match read {
                Ok(Ok(bytes)) => Ok(Bytes::from(bytes)),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(std::io::Error::other(e)),
            };
            Some((item, next))
        }
    });
    let mut resp = Response::new(Body::from_stream(chunks));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("video/mp4")));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end_byte - start_byte));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes {start_byte}-{}/{total}", end_byte - 1)).expect("ascii"));
    }
    Ok(resp)
}

/// `view.mp4` with faces blurred (recordings_blurred.rs): refused before
/// any work when the range is too long or the server cannot blur now.
async fn view_blurred(state: &AppState, id: &str, range: &TimeRange, headers: &HeaderMap, record: Record) -> Result<Response, ApiError> {
    let max_span = blurred::max_span(state);
    if (range.end - range.start).num_milliseconds() > max_span.as_millis() as i64 {
        return Err(ApiError::field(
            "end",
            format!(
                "faces are blurred for you, and blurred video is made as it plays: a range may span at most {} minutes ([video] max_blurred_minutes); ask for the next part when this one ends, or ask a supervisor for an unmask grant",
                max_span.as_secs() / 60
            ),
        ));
    }
    let admitted = blurred::admit(state)?;
    // Made as it is sent, so it has no byte ranges; only the whole file
    // (which is what a browser's first request, `bytes=0-`, asks for).
    if headers.get(header::RANGE).and_then(|v| v.to_str().ok()).is_some_and(|r| !r.trim().starts_with("bytes=0-")) {
        let mut resp =
            ApiError::BadRequest("faces are blurred in this video as it is made, so it is sent only whole, from its start (Accept-Ranges: none)".into())
                .into_response();
        *resp.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
        resp.headers_mut().insert(header::CONTENT_RANGE, HeaderValue::from_static("bytes */*"));
        return Ok(resp);
    }
    let source = state.recordings.clone();
    let (cam, start, end, stream) = (id.to_owned(), range.start_90k(), range.end_90k(), range.stream);
    let frames = tokio::task::spawn_blocking(move || recorded_frames(&*source, &cam, stream, start, end)).await?;
    let started = match frames {
        Ok(frames) => blurred::respond(admitted, frames, start, id).await,
        Err(e) => Err(playback_error(e)),
    };
    match started {
        Ok(resp) => {
            audit(state, record).await?;
            Ok(resp)
        }
        Err(e) => {
            audit(state, record.result("failed")).await?;
            Err(e)
        }
    }
}

/// Why a `Range` header gets no video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeProblem {
    /// Not one `bytes=` range in digits (several ranges included).
    Malformed,
    /// A range of bytes the file does not have.
    Unsatisfiable,
}

/// 400 for a `Range` the server does not understand, 416 (with the
/// file's length) for one beyond the file; either way no video.
fn refuse_range(problem: RangeProblem, total: u64) -> Response {
    let (status, message) = match problem {
        RangeProblem::Malformed => {
            (StatusCode::BAD_REQUEST, "the Range header must be one range of bytes: bytes=FIRST-LAST, bytes=FIRST- or bytes=-LENGTH (whole numbers)".to_owned())
        }
        RangeProblem::Unsatisfiable => {
            (StatusCode::RANGE_NOT_SATISFIABLE, format!("the Range header asks for bytes this file does not have; it is {total} bytes long"))
        }
    };
    let mut resp = ApiError::BadRequest(message).into_response();
    *resp.status_mut() = status;
    if problem == RangeProblem::Unsatisfiable {
        resp.headers_mut().insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{total}")).expect("ascii"));
    }
    resp
}

/// A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range (RFC 9110 14.1.2:
/// digits only), as [start, end) within a file of `total` bytes.
fn parse_range(header: &str, total: u64) -> Result<(u64, u64), RangeProblem> {
    use RangeProblem::*;
    let spec = header.trim().strip_prefix("bytes=").ok_or(Malformed)?.trim();
    let (a, b) = spec.split_once('-').ok_or(Malformed)?;
    // `u64::from_str` also takes a sign: digits are checked first.
    let number = |s: &str| if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) { s.parse::<u64>().map_err(|_| Malformed) } else { Err(Malformed) };
    match (a, b) {
        ("", n) => match number(n)? {
            0 => Err(Unsatisfiable),
            n => Ok((total.saturating_sub(n), total)),
        },
        (a, "") => {
            let a = number(a)?;
            if a < total {
                Ok((a, total))
            } else {
                Err(Unsatisfiable)
            }
        }
        (a, b) => {
            let (a, b) = (number(a)?, number(b)?);
            if b < a {
                Err(Malformed)
            } else if a >= total {
                Err(Unsatisfiable)
            } else {
                Ok((a, b.saturating_add(1).min(total)))
            }
        }
    }
}

pub(crate) fn playback_error(e: PlaybackError) -> ApiError {
    match e {
        PlaybackError::NothingRecorded => ApiError::NotFound(e.to_string()),
        PlaybackError::Index(e) => e.into(),
        other => ApiError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_range, RangeProblem};

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Ok((0, 100)));
        assert_eq!(parse_range("bytes=900-", 1000), Ok((900, 1000)));
        assert_eq!(parse_range("bytes=-100", 1000), Ok((900, 1000)));
        assert_eq!(parse_range("bytes=-999999999", 1000), Ok((0, 1000)));
        assert_eq!(parse_range("bytes= 0-", 1000), Ok((0, 1000)));
        assert_eq!(parse_range("bytes=00-", 1000), Ok((0, 1000)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Ok((990, 1000)));
        assert_eq!(parse_range("bytes=1000-", 1000), Err(RangeProblem::Unsatisfiable));
        assert_eq!(parse_range("bytes=-0", 1000), Err(RangeProblem::Unsatisfiable));
        for bad in ["bytes=0-1,5-6", "items=0-1", "bytes=+5-", "bytes=-", "bytes=5-1", "bytes=0x1-", "bytes=1 -2", "bytes=99999999999999999999-"] {
            assert_eq!(parse_range(bad, 1000), Err(RangeProblem::Malformed), "{bad}");
        }
    }
}
