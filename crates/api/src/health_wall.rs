//! `GET /api/v1/health/overview`: the health wall's one read, polled by the
//! console every few seconds. For the cameras in the caller's `ReadCameras`
//! scope: each camera's state (offline ones first, with the time of their
//! last frame), its streams as `/cameras/{id}/health` shows them (dropped
//! frames, reconnects, last error), its recording gaps of the last 24 h from
//! the index, and analytics' lag and skipped pictures; event and alert
//! counts of the last 5 minutes and hour in the same districts; and, only
//! for callers who may read `/metrics` (`ReadMetrics` over all districts),
//! the video directory's use, free space and time to full at the current
//! write rate.
//!
//! Nothing is computed here that `/metrics` or the camera health route
//! already computes: the stream figures are theirs, the gaps are
//! playback's, the free space is retention's reading. Not audited, like
//! the camera list: no video, plate or person is shown.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use citywatch_audit::{Permission, Scope};
use citywatch_model::{Camera, CameraStatus};
use citywatch_video::health::StreamReport;
use citywatch_video::ingest::StreamState;
use citywatch_video::playback::{gaps, indexed_spans, Span};
use citywatch_video::recorder::Stream;
use citywatch_video::retention::{FreeSpace, Statvfs};
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::events::district_filter;
use crate::recordings::{from_90k, playback_error};
use crate::video_health::stream_json;
use crate::{ApiError, AppState};

/// One analysed camera's figures, as the analytics pipeline counts them
/// (the API does not depend on the analytics crate; the binary adapts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsCamera {
    pub camera: String,
    /// From a frame's arrival to the end of its analysis, latest picture.
    pub lag_ms: u64,
    /// Pictures not analysed because newer ones were (load shedding).
    pub skipped: u64,
    pub analysed: u64,
}

/// Gives every analysed camera's figures now.
pub type AnalyticsSource = Arc<dyn Fn() -> Vec<AnalyticsCamera> + Send + Sync>;

/// How far back recording gaps are looked for.
const GAP_WINDOW_H: i64 = 24;
/// The recording being written reaches the index when it closes (about a
/// minute) and its bytes are synced: a gap at the end this short is that,
/// not a loss.
const INDEX_DELAY_S: i64 = 120;
/// The most recent gaps listed per camera (all are counted).
const GAPS_LISTED: usize = 5;

/// A camera's state on the wall, in the order the wall lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum WallState {
    Offline,
    /// Recorded here, but never connected since the server started.
    Unknown,
    Online,
    /// This server does not connect to the camera (not recorded: e.g. the
    /// `[video] record_tag` leaves it out), so its state is not known.
    NotRecorded,
    Disabled,
}

impl WallState {
    fn as_str(self) -> &'static str {
        match self {
            WallState::Offline => "offline",
            WallState::Unknown => "unknown",
            WallState::Online => "online",
            WallState::NotRecorded => "not_recorded",
            WallState::Disabled => "disabled",
        }
    }

    const ALL: [WallState; 5] = [WallState::Offline, WallState::Unknown, WallState::Online, WallState::NotRecorded, WallState::Disabled];
}

/// The registry's status is the recorder's word on the main stream; a
/// camera this process does not ingest has no one to give it, whatever
/// an older run left in the registry.
fn wall_state(camera: &Camera, streams: &[&StreamReport]) -> WallState {
    if camera.status == CameraStatus::Disabled {
        return WallState::Disabled;
    }
    if streams.is_empty() {
        return WallState::NotRecorded;
    }
    match camera.status {
        CameraStatus::Online => WallState::Online,
        CameraStatus::Offline => WallState::Offline,
        // A camera with only a sub-stream has no status from the recorder.
        _ if streams.iter().any(|r| r.health.state == StreamState::Streaming) => WallState::Online,
        _ => WallState::Unknown,
    }
}

/// The gaps of one camera stream in the window, from the index.
struct Gaps {
    /// Where looking started: the window's start, or the camera's first
    /// recording if later (a camera added an hour ago has no 23-hour gap).
    from: Option<i64>,
    gaps: Vec<Span>,
}

fn stream_gaps(state: &AppState, camera_id: &str, stream: Stream, window_start: i64, now: i64) -> Result<Gaps, ApiError> {
    let first = state.recording_index.oldest_recordings(Some(camera_id), None, 1)?.into_iter().next().map(|r| r.start_90k);
    let Some(first) = first else { return Ok(Gaps { from: None, gaps: Vec::new() }) };
    let from = first.max(window_start);
    let spans = indexed_spans(&*state.recordings, camera_id, stream, from, now).map_err(playback_error)?;
    let mut found = gaps(&spans, from, now);
    if found.last().is_some_and(|g| g.end_90k == now && now - g.start_90k <= INDEX_DELAY_S * 90_000) {
        found.pop();
    }
    Ok(Gaps { from: Some(from), gaps: found })
}

fn gaps_json(g: &Gaps) -> Value {
    let seconds: i64 = g.gaps.iter().map(|s| (s.end_90k - s.start_90k) / 90_000).sum();
    let recent: Vec<Value> = g.gaps.iter().rev().take(GAPS_LISTED).map(|s| json!({"start": from_90k(s.start_90k), "end": from_90k(s.end_90k)})).collect();
    json!({"from": g.from.map(from_90k), "count": g.gaps.len(), "seconds": seconds, "recent": recent})
}

fn to_90k(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros() * 9 / 100
}

pub async fn overview(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadCameras, "reading the health of cameras").await?;
    // Disk figures are the whole system's, like `/metrics`.
    let sees_disk = matches!(caller.0.scope(Permission::ReadMetrics), Some(Scope::All));
    let snapshot = state.registry.snapshot();
    let mut cameras: Vec<&Camera> = snapshot.cameras.values().filter(|c| scope.covers(c.district.as_deref())).collect();
    cameras.sort_by(|a, b| a.id.cmp(&b.id));
    let reports = state.health.all();
    let mut by_camera: HashMap<&str, Vec<&StreamReport>> = HashMap::new();
    for r in &reports {
        by_camera.entry(r.camera_id.as_str()).or_default().push(r);
    }
    let analytics: Option<HashMap<String, AnalyticsCamera>> =
        state.analytics_health.get().map(|source| source().into_iter().map(|a| (a.camera.clone(), a)).collect());

    // The blocking reads, in one go: gaps of every recorded camera in
    // scope, event and alert counts, and the disk.
    let now = Utc::now();
    let recorded: Vec<(String, Stream)> = cameras
        .iter()
        .filter_map(|c| {
            let streams = by_camera.get(c.id.as_str())?;
            let stream = if streams.iter().any(|r| r.stream == Stream::Main) { Stream::Main } else { Stream::Sub };
            Some((c.id.clone(), stream))
        })
        .collect();
    let districts = district_filter(&scope);
    let s = state.clone();
    let (gap_map, rates, disk_read) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let (window_start, end) = (to_90k(now - Duration::hours(GAP_WINDOW_H)), to_90k(now));
        let mut gap_map = HashMap::new();
        for (id, stream) in recorded {
            let g = stream_gaps(&s, &id, stream, window_start, end)?;
            gap_map.insert(id, g);
        }
        let d = districts.as_deref();
        let rates = json!({
            "events_5m": s.events.count_events_since(d, now - Duration::minutes(5))?,
            "events_1h": s.events.count_events_since(d, now - Duration::hours(1))?,
            "alerts_5m": s.events.count_alerts_since(d, now - Duration::minutes(5))?,
            "alerts_1h": s.events.count_alerts_since(d, now - Duration::hours(1))?,
        });
        let disk = if sees_disk {
            let recorded_bytes: i64 = s.recording_index.recording_totals()?.iter().map(|t| t.bytes).sum();
            // A free space that cannot be read is shown as unknown, not an error of the whole wall.
            let free = Statvfs.free_bytes(&s.video_dir).ok();
            Some((recorded_bytes, free))
        } else {
            None
        };
        Ok((gap_map, rates, disk))
    })
    .await??;

    let mut rows: Vec<(WallState, Value)> = Vec::with_capacity(cameras.len());
    let mut counts: HashMap<WallState, u64> = HashMap::new();
    let (mut dropped_total, mut gap_seconds_total) = (0u64, 0i64);
    for c in &cameras {
        let streams: &[&StreamReport] = by_camera.get(c.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let wall = wall_state(c, streams);
        *counts.entry(wall).or_default() += 1;
        let dropped: u64 = streams.iter().map(|r| r.health.dropped_frames).sum();
        dropped_total += dropped;
        let last_seen = streams.iter().filter_map(|r| r.health.last_frame_at).max();
        let gaps = gap_map.get(&c.id);
        if let Some(g) = gaps {
            gap_seconds_total += g.gaps.iter().map(|s| (s.end_90k - s.start_90k) / 90_000).sum::<i64>();
        }
        let a = analytics.as_ref().and_then(|m| m.get(&c.id));
        rows.push((
            wall,
            json!({
                "id": c.id,
                "name": c.name,
                "district": c.district,
                "state": wall.as_str(),
                // Offline since the last frame; null: never seen since the server started.
                "last_seen": last_seen.map(DateTime::<Utc>::from),
                "streams": streams.iter().map(|r| stream_json(r)).collect::<Vec<_>>(),
                "dropped_frames": dropped,
                "gaps": gaps.map(gaps_json),
                "analytics": a.map(|a| json!({"lag_ms": a.lag_ms, "skipped": a.skipped, "analysed": a.analysed})),
            }),
        ));
    }
    // Offline first, the longest offline first; then by id (already so).
    rows.sort_by(|(sa, a), (sb, b)| sa.cmp(sb).then_with(|| a["last_seen"].as_str().unwrap_or("").cmp(b["last_seen"].as_str().unwrap_or(""))));

    let mut totals = serde_json::Map::new();
    totals.insert("cameras".into(), json!(cameras.len()));
    for s in WallState::ALL {
        totals.insert(s.as_str().into(), json!(counts.get(&s).copied().unwrap_or(0)));
    }
    totals.insert("dropped_frames".into(), json!(dropped_total));
    totals.insert("gap_seconds".into(), json!(gap_seconds_total));

    let analytics_totals = analytics.as_ref().map(|m| {
        let mine: Vec<&AnalyticsCamera> = cameras.iter().filter_map(|c| m.get(&c.id)).collect();
        json!({
            "cameras": mine.len(),
            "max_lag_ms": mine.iter().map(|a| a.lag_ms).max(),
            "skipped": mine.iter().map(|a| a.skipped).sum::<u64>(),
        })
    });
    let disk = disk_read.map(|(recorded_bytes, free)| {
        // What is written per second is what arrives: every ingested stream's bit rate.
        let write_bps: f64 = reports.iter().filter_map(|r| r.bitrate_bps).sum::<f64>() / 8.0;
        let time_to_full_s = free.filter(|_| write_bps > 0.0).map(|f| (f as f64 / write_bps).round());
        json!({
            "path": state.video_dir.display().to_string(),
            "recorded_bytes": recorded_bytes,
            "free_bytes": free,
            "write_bytes_per_s": write_bps.round(),
            "time_to_full_s": time_to_full_s,
        })
    });
    Ok(Json(json!({
        "generated_at": now,
        "totals": totals,
        "rates": rates,
        "analytics": analytics_totals,
        "disk": disk,
        "cameras": rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_cameras_come_first() {
        let mut states = WallState::ALL.to_vec();
        states.reverse();
        states.sort();
        assert_eq!(states[0], WallState::Offline);
        assert_eq!(states.iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["offline", "unknown", "online", "not_recorded", "disabled"]);
    }
}
