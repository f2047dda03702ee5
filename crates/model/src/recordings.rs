//! Rows of the recording index, as every backend stores them: what a
//! recording is (a camera stream's run of GOPs in one sample file), the
//! codec parameters it names, and what retention looks at. The video crate
//! decides what goes in them and when (write order, recovery, deletion).

use crate::{Codec, StreamKind};

/// No recording row spans longer than this (the recorder closes recordings
/// after a minute and never holds a GOP longer than two), so a time-range
/// query need only look this far back.
pub const MAX_RECORDING_SPAN_90K: i64 = 5 * 60 * 90_000;

/// Codec parameters as stored (the video crate converts to its own type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredParams {
    pub codec: Codec,
    pub width: u16,
    pub height: u16,
    pub rfc6381_codec: String,
    pub extra_data: Vec<u8>,
    pub pixel_aspect_ratio: Option<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRow {
    /// 0 in a row not yet stored (the index assigns it).
    pub id: i64,
    pub camera_id: String,
    pub stream: StreamKind,
    /// Recordings with the same run id follow each other without a gap.
    pub run_id: i64,
    pub start_90k: i64,
    pub duration_90k: i64,
    pub frames: i64,
    pub bytes: i64,
    pub params_id: i64,
    /// Path of the sample file, relative to the video directory.
    pub file: String,
    pub frame_index: Vec<u8>,
}

/// Per-camera limits; `None` keeps the configured default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionOverride {
    pub camera_id: String,
    pub max_age_days: Option<i64>,
    pub max_bytes: Option<i64>,
}

impl RetentionOverride {
    /// True when the camera follows the configured defaults (nothing to keep).
    pub fn is_default(&self) -> bool {
        self.max_age_days.is_none() && self.max_bytes.is_none()
    }
}

/// A recording without its frame index (what retention looks at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSummary {
    pub id: i64,
    pub camera_id: String,
    pub stream: StreamKind,
    pub start_90k: i64,
    pub duration_90k: i64,
    pub bytes: i64,
    pub file: String,
}

impl RecordingSummary {
    pub fn end_90k(&self) -> i64 {
        self.start_90k + self.duration_90k
    }
}

/// Recordings and bytes of one camera stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingTotals {
    pub camera_id: String,
    pub stream: StreamKind,
    pub recordings: i64,
    pub bytes: i64,
}
