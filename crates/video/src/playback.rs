//! From the index to an MP4 of any time range, and the list of what was
//! recorded (spans and gaps) for the console's timeline.
//!
//! A recording whose sample file is missing or shorter than its index (or
//! whose index is corrupt) is left out of both, so it plays as a gap; the
//! `*_checked` variants say which recordings were left out and why.

use std::collections::HashMap;
use std::sync::Arc;

use citywatch_store::RecordingRow;

use crate::check::{check_source_file, check_source_recording, Damaged, Problem};
use crate::frame::Frame;
use crate::frame_index;
use crate::mp4::{Sample, Segment, VirtualMp4};
use crate::recorder::{params_from_stored, Stream};
use crate::recording_source::RecordingSource;
use crate::sample_bytes::SampleBytes;

#[derive(Debug, thiserror::Error)]
pub enum PlaybackError {
    #[error("nothing was recorded between the requested start and end")]
    NothingRecorded,
    #[error("the recording index is damaged: {0}")]
    Corrupt(String),
    #[error("building the MP4: {0}")]
    Mp4(String),
    #[error(transparent)]
    Index(#[from] citywatch_model::RepoError),
}

/// A stretch of continuous recording, in Unix 90 kHz units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start_90k: i64,
    pub end_90k: i64,
}

/// Continuous spans overlapping [start, end), clipped to it. Recordings
/// follow each other without a gap within a run.
pub fn spans(source: &dyn RecordingSource, camera_id: &str, stream: Stream, start_90k: i64, end_90k: i64) -> Result<Vec<Span>, PlaybackError> {
    Ok(spans_checked(source, camera_id, stream, start_90k, end_90k)?.0)
}

/// `spans`, and the damaged recordings left out of them (only the file is
/// checked here, not the frame index).
pub fn spans_checked(
    source: &dyn RecordingSource,
    camera_id: &str,
    stream: Stream,
    start_90k: i64,
    end_90k: i64,
) -> Result<(Vec<Span>, Vec<Damaged>), PlaybackError> {
    let mut spans: Vec<Span> = Vec::new();
    let mut damaged = Vec::new();
    let bytes = source.sample_bytes();
    for r in source.recordings_between(camera_id, stream, start_90k, end_90k)? {
        if let Err(p) = check_source_file(&r, source, &*bytes) {
            damaged.push(Damaged::new(&r, p));
            continue;
        }
        extend(&mut spans, r.start_90k, r.duration_90k, start_90k, end_90k);
    }
    Ok((spans, damaged))
}

/// Spans from the index alone, without opening any sample file: cheap
/// enough to repeat every few seconds for many cameras (the health wall).
/// A recording whose file is damaged still counts as recorded here.
pub fn indexed_spans(source: &dyn RecordingSource, camera_id: &str, stream: Stream, start_90k: i64, end_90k: i64) -> Result<Vec<Span>, PlaybackError> {
    let mut spans = Vec::new();
    for (start, duration) in source.recording_intervals(camera_id, stream, start_90k, end_90k)? {
        extend(&mut spans, start, duration, start_90k, end_90k);
    }
    Ok(spans)
}

/// Adds a recording (in time order) to `spans`, clipped to [start, end).
fn extend(spans: &mut Vec<Span>, rec_start_90k: i64, duration_90k: i64, start_90k: i64, end_90k: i64) {
    let (s, e) = (rec_start_90k.max(start_90k), (rec_start_90k + duration_90k).min(end_90k));
    match spans.last_mut() {
        Some(last) if s <= last.end_90k => last.end_90k = last.end_90k.max(e),
        _ => spans.push(Span { start_90k: s, end_90k: e }),
    }
}

/// What [start, end) lacks between `spans` (in time order, inside it).
pub fn gaps(spans: &[Span], start_90k: i64, end_90k: i64) -> Vec<Span> {
    let mut gaps = Vec::new();
    let mut cursor = start_90k;
    for s in spans {
        if s.start_90k > cursor {
            gaps.push(Span { start_90k: cursor, end_90k: s.start_90k });
        }
        cursor = cursor.max(s.end_90k);
    }
    if cursor < end_90k {
        gaps.push(Span { start_90k: cursor, end_90k });
    }
    gaps
}

/// An MP4 of [start, end): from the last key frame at or before `start`
/// (hidden by an edit list) to the last frame that begins before `end`.
/// Gaps between recordings are closed up; `spans` says where they are.
/// Damaged recordings are skipped (and logged).
pub fn build_mp4(source: &dyn RecordingSource, camera_id: &str, stream: Stream, start_90k: i64, end_90k: i64) -> Result<VirtualMp4, PlaybackError> {
    let (mp4, damaged) = build_mp4_checked(source, camera_id, stream, start_90k, end_90k)?;
    for d in damaged {
        tracing::warn!("playback skips a damaged recording (a gap): {d}");
    }
    Ok(mp4)
}

/// `build_mp4`, and the damaged recordings it left out.
pub fn build_mp4_checked(
    source: &dyn RecordingSource,
    camera_id: &str,
    stream: Stream,
    start_90k: i64,
    end_90k: i64,
) -> Result<(VirtualMp4, Vec<Damaged>), PlaybackError> {
    let bytes = source.sample_bytes();
    let (planned, skip_90k, damaged) = plan(source, &*bytes, camera_id, stream, start_90k, end_90k)?;
    let creation = start_90k / 90_000;
    let segments = planned.into_iter().map(|(s, _)| s).collect();
    let mp4 = VirtualMp4::build_from(bytes, segments, skip_90k, creation).map_err(|e| PlaybackError::Mp4(e.to_string()))?;
    Ok((mp4, damaged))
}

/// The frames `build_mp4` would put in its MP4 (from the key frame at or
/// before `start`), read one at a time from the sample files, for those
/// who must decode them (masked playback blurs faces). Damaged recordings
/// are skipped (and logged), as in `build_mp4`.
pub fn recorded_frames(source: &dyn RecordingSource, camera_id: &str, stream: Stream, start_90k: i64, end_90k: i64) -> Result<RecordedFrames, PlaybackError> {
    let bytes = source.sample_bytes();
    let (segments, _, damaged) = plan(source, &*bytes, camera_id, stream, start_90k, end_90k)?;
    for d in damaged {
        tracing::warn!("playback skips a damaged recording (a gap): {d}");
    }
    Ok(RecordedFrames { bytes, segments: segments.into_iter(), current: None })
}

/// One recorded frame: camera time in `frame.timestamp_90k`, and how long
/// it is shown (closing up gaps, as in `build_mp4`).
#[derive(Debug, Clone)]
pub struct RecordedFrame {
    pub frame: Frame,
    pub duration_90k: u32,
}

/// Iterator over [`recorded_frames`]; a sample file that cannot be read is
/// an error naming it.
pub struct RecordedFrames {
    bytes: Arc<dyn SampleBytes>,
    segments: std::vec::IntoIter<(Segment, i64)>,
    current: Option<Reading>,
}

struct Reading {
    segment: Segment,
    file: std::io::BufReader<Box<dyn std::io::Read + Send>>,
    next: usize,
    timestamp_90k: i64,
}

impl std::fmt::Debug for RecordedFrames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordedFrames").field("segments_left", &self.segments.len()).finish()
    }
}

impl Iterator for RecordedFrames {
    type Item = std::io::Result<RecordedFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::Read;
        loop {
            if let Some(r) = &mut self.current {
                if let Some(sample) = r.segment.samples.get(r.next) {
                    let mut data = vec![0; sample.size as usize];
                    if let Err(e) = r.file.read_exact(&mut data) {
                        let e = std::io::Error::new(e.kind(), format!("reading {}: {e}", r.segment.file.display()));
                        self.current = None;
                        self.segments = Vec::new().into_iter();
                        return Some(Err(e));
                    }
                    let frame = Frame { timestamp_90k: r.timestamp_90k, is_key: sample.is_key, data: data.into(), params: r.segment.params.clone() };
                    r.next += 1;
                    r.timestamp_90k += i64::from(sample.duration_90k);
                    return Some(Ok(RecordedFrame { frame, duration_90k: sample.duration_90k }));
                }
                self.current = None;
            }
            let (segment, timestamp_90k) = self.segments.next()?;
            let opened = self.bytes.open_at(&segment.file, segment.file_offset);
            match opened {
                Ok(f) => self.current = Some(Reading { segment, file: std::io::BufReader::new(f), next: 0, timestamp_90k }),
                Err(e) => return Some(Err(std::io::Error::new(e.kind(), format!("opening {}: {e}", segment.file.display())))),
            }
        }
    }
}

/// The segments of [start, end) with the camera time of each one's first
/// sample, the lead-in to hide, and the damaged recordings left out.
type Plan = (Vec<(Segment, i64)>, u32, Vec<Damaged>);

fn plan(source: &dyn RecordingSource, bytes: &dyn SampleBytes, camera_id: &str, stream: Stream, start_90k: i64, end_90k: i64) -> Result<Plan, PlaybackError> {
    let rows = source.recordings_between(camera_id, stream, start_90k, end_90k)?;
    let mut params = HashMap::new();
    let mut segments = Vec::new();
    let mut damaged = Vec::new();
    let mut skip_90k = 0u32;
    for row in rows {
        let frames = match check_source_recording(&row, source, bytes) {
            Ok(f) => f,
            Err(p) => {
                damaged.push(Damaged::new(&row, p));
                continue;
            }
        };
        let is_first = segments.is_empty();
        let Some((first, count, offset, skip)) = select(&row, &frames, start_90k, end_90k, is_first) else { continue };
        if is_first {
            skip_90k = skip;
        }
        let p = match params.get(&row.params_id) {
            Some(p) => Arc::clone(p),
            None => {
                let Some(stored) = source.video_params(row.params_id)? else {
                    damaged.push(Damaged::new(&row, Problem::MissingParams(row.params_id)));
                    continue;
                };
                let p = Arc::new(params_from_stored(stored));
                params.insert(row.params_id, Arc::clone(&p));
                p
            }
        };
        let first_90k = row.start_90k + frames[..first].iter().map(|f| i64::from(f.duration_90k)).sum::<i64>();
        let segment = Segment {
            params: p,
            samples: frames[first..first + count].iter().map(|f| Sample { size: f.size, duration_90k: f.duration_90k, is_key: f.is_key }).collect(),
            file: source.sample_file(&row.file),
            file_offset: offset,
        };
        segments.push((segment, first_90k));
    }
    if segments.is_empty() {
        return Err(PlaybackError::NothingRecorded);
    }
    Ok((segments, skip_90k, damaged))
}

/// Which frames of a recording fall in [start, end): (first, count, byte
/// offset of the first, lead-in to hide). An MP4 must start at a key frame,
/// so the first segment starts at the last key frame at or before `start`
/// and the lead-in up to `start` is hidden by the MP4's edit list.
fn select(row: &RecordingRow, frames: &[frame_index::IndexedFrame], start_90k: i64, end_90k: i64, is_first: bool) -> Option<(usize, usize, u64, u32)> {
    let mut times = Vec::with_capacity(frames.len());
    let mut t = row.start_90k;
    for f in frames {
        times.push(t);
        t += i64::from(f.duration_90k);
    }
    let end = times.partition_point(|&t| t < end_90k);
    let key_at_or_before_start = (0..end).rev().find(|&i| frames[i].is_key && times[i] <= start_90k);
    let first = match (is_first, key_at_or_before_start) {
        (true, Some(i)) => i,
        _ => (0..end).find(|&i| frames[i].is_key)?,
    };
    let skip = if is_first { (start_90k - times[first]).max(0) as u32 } else { 0 };
    let offset = frames[..first].iter().map(|f| u64::from(f.size)).sum();
    Some((first, end - first, offset, skip))
}
