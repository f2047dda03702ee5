//! Turning one camera stream's frames into recordings, without decoding.
//!
//! Frames are held until the next key frame closes their GOP; the GOP then
//! goes to the disk's writer (`disk_writer`), which appends it to the sample
//! file and commits the recording's index row only after the bytes are
//! `fsync`ed. A crash loses at most the GOPs not yet committed; a file
//! longer than its row is cut back at start-up (`recovery`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use citywatch_model::recordings::{RecordingRow, StoredParams, MAX_RECORDING_SPAN_90K};
use citywatch_model::RepoError;

use crate::recording_repo::RecordingRepo;

use crate::disk_writer::{DiskWriter, GopWrite, RecordingFile};
use crate::frame_index::{self, IndexedFrame};
use crate::sample_dir::SampleDir;
use crate::{Frame, VideoParams};

/// A recording is closed at the first key frame after this long.
pub const MAX_RECORDING_90K: i64 = 60 * 90_000;
/// A GOP held longer than this without a key frame is written as it is and
/// the frames up to the next key frame are dropped, so that no recording
/// outgrows the index's [`MAX_RECORDING_SPAN_90K`].
pub const MAX_GOP_90K: i64 = 2 * 60 * 90_000;
const _: () = assert!(MAX_RECORDING_90K + MAX_GOP_90K < MAX_RECORDING_SPAN_90K);
/// A jump in camera timestamps larger than this (or backwards) ends the run.
pub const MAX_FRAME_GAP_90K: i64 = 10 * 90_000;
/// Duration given to the last frame of a stream that ended (unknown otherwise).
const DEFAULT_FRAME_90K: u32 = 3_000;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("writing sample file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("recording index: {0}")]
    Index(#[from] RepoError),
    #[error("the disk is behind: {frames} frames not recorded")]
    DiskBehind { frames: usize },
    #[error("the disk writer has stopped")]
    WriterStopped,
}

/// A camera's main or sub stream (the model's name for it is `StreamKind`).
pub use citywatch_model::StreamKind as Stream;

/// Unix time now, in 90 kHz units.
pub fn wall_clock_90k() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (since.as_micros() as i64) * 9 / 100
}

struct OpenRecording {
    /// The row as it will be once every GOP handed over is committed.
    row: RecordingRow,
    target: Arc<RecordingFile>,
    params: Arc<VideoParams>,
    /// Camera timestamp at which the recording ends (the next frame's).
    end_ts: i64,
    last_duration: u32,
    /// Whether the writer has been given the file's first GOP.
    handed_over: bool,
}

/// One camera stream's recorder. It does no I/O itself: closed GOPs go to
/// the disk's [`DiskWriter`], so `push` never waits on the disk.
pub struct Recorder {
    writer: DiskWriter,
    camera_id: String,
    stream: Stream,
    /// Frames since the last key frame, not yet handed to the writer.
    gop: Vec<Frame>,
    /// Wall clock when the GOP's first frame arrived; starts a new run.
    gop_wall_90k: i64,
    open: Option<OpenRecording>,
}

impl Recorder {
    /// A recorder whose GOPs are on disk and indexed when `push` returns
    /// (tools and tests; `citywatch serve` shares a pooled writer).
    pub fn new(store: Arc<dyn RecordingRepo>, dir: Arc<SampleDir>, camera_id: &str, stream: Stream) -> Recorder {
        Recorder::with_writer(DiskWriter::inline(store, dir), camera_id, stream)
    }

    pub fn with_writer(writer: DiskWriter, camera_id: &str, stream: Stream) -> Recorder {
        Recorder { writer, camera_id: camera_id.to_owned(), stream, gop: Vec::new(), gop_wall_90k: 0, open: None }
    }

    /// Takes one frame. Frames before the first key frame are dropped (they
    /// cannot be decoded). A key frame hands the GOP it closes to the writer.
    /// An error concerns the GOP this frame closed; the frame itself is kept.
    pub fn push(&mut self, frame: Frame, wall_90k: i64) -> Result<(), RecordError> {
        let mut closed = Ok(());
        if let Some(last) = self.gop.last() {
            let delta = frame.timestamp_90k - last.timestamp_90k;
            if delta <= 0 || delta > MAX_FRAME_GAP_90K {
                tracing::warn!(camera = %self.camera_id, delta, "timestamp jump; closing the recording run");
                closed = self.finish();
            } else if frame.is_key {
                closed = self.flush_gop(Some(frame.timestamp_90k));
            } else if frame.timestamp_90k - self.gop[0].timestamp_90k > MAX_GOP_90K {
                tracing::warn!(camera = %self.camera_id, "no key frame for {} s; writing the GOP so far", MAX_GOP_90K / 90_000);
                return self.flush_gop(Some(frame.timestamp_90k));
            }
        }
        if self.gop.is_empty() {
            if !frame.is_key {
                return closed;
            }
            self.gop_wall_90k = wall_90k;
        }
        self.gop.push(frame);
        closed
    }

    /// The stream ended (disconnect, shutdown): hands over what is held and
    /// closes the recording. The next frame starts a new run.
    pub fn finish(&mut self) -> Result<(), RecordError> {
        let result = if self.gop.is_empty() { Ok(()) } else { self.flush_gop(None) };
        self.open = None;
        result
    }

    fn flush_gop(&mut self, next_ts: Option<i64>) -> Result<(), RecordError> {
        let gop = std::mem::take(&mut self.gop);
        let Some(first) = gop.first() else { return Ok(()) };
        let params = first.params.clone();
        let first_ts = first.timestamp_90k;
        if self.open.as_ref().is_some_and(|o| o.target.failed()) {
            // The disk refused an earlier GOP of this file: start afresh
            // (a gap, so a new run).
            self.open = None;
        }
        let continues = self.open.as_ref().is_some_and(|o| o.end_ts == first_ts && o.params == params);
        // Closed when long enough, or early when retention needs its space.
        let full = self.open.as_ref().is_some_and(|o| o.row.duration_90k >= MAX_RECORDING_90K || self.writer.dir().close_requested(&o.row.file));
        if !continues || full {
            let (run_id, start_90k) = match (&self.open, continues) {
                (Some(o), true) => (o.row.run_id, o.row.start_90k + o.row.duration_90k),
                _ => (self.gop_wall_90k, self.gop_wall_90k),
            };
            self.open = Some(self.open_recording(run_id, start_90k, &params));
        }
        let open = self.open.as_mut().expect("opened above");
        let mut bytes = 0usize;
        let mut duration = 0i64;
        for (i, f) in gop.iter().enumerate() {
            let d = match gop.get(i + 1).map(|n| n.timestamp_90k).or(next_ts) {
                Some(next) => (next - f.timestamp_90k) as u32,
                None => open.last_duration.max(1),
            };
            open.last_duration = if d > 0 { d } else { DEFAULT_FRAME_90K };
            frame_index::append(&mut open.row.frame_index, IndexedFrame { size: f.data.len() as u32, duration_90k: d, is_key: f.is_key });
            bytes += f.data.len();
            duration += i64::from(d);
        }
        open.row.frames += gop.len() as i64;
        open.row.bytes += bytes as i64;
        open.row.duration_90k += duration;
        open.end_ts = first_ts + duration;
        let frames = gop.iter().map(|f| f.data.clone()).collect();
        let write = GopWrite { target: open.target.clone(), create: !open.handed_over, frames, row: open.row.clone(), params };
        match self.writer.submit(write) {
            Ok(()) => {
                open.handed_over = true;
                Ok(())
            }
            Err(e) => {
                // This GOP is lost; the next key frame starts a new recording.
                self.open = None;
                Err(match e {
                    RecordError::DiskBehind { .. } => RecordError::DiskBehind { frames: gop.len() },
                    e => e,
                })
            }
        }
    }

    fn open_recording(&self, run_id: i64, start_90k: i64, params: &Arc<VideoParams>) -> OpenRecording {
        let ext = params.codec.as_str();
        // Named by start time; a second run starting at the same 90 kHz tick
        // (the wall clock stepped back) gets a suffix rather than an error.
        let dir = self.writer.dir();
        let base = format!("{}/{}/{start_90k}", self.camera_id, self.stream.as_str());
        let file = (0..)
            .map(|n| if n == 0 { format!("{base}.{ext}") } else { format!("{base}-{n}.{ext}") })
            .find(|f| !dir.is_being_written(f) && !dir.path(f).exists())
            .expect("an unused name");
        OpenRecording {
            row: RecordingRow {
                id: 0,
                camera_id: self.camera_id.clone(),
                stream: self.stream,
                run_id,
                start_90k,
                duration_90k: 0,
                frames: 0,
                bytes: 0,
                params_id: 0,
                file: file.clone(),
                frame_index: Vec::new(),
            },
            target: RecordingFile::new(dir, file),
            params: params.clone(),
            end_ts: 0,
            last_duration: DEFAULT_FRAME_90K,
            handed_over: false,
        }
    }
}

pub fn stored_params(p: &VideoParams) -> StoredParams {
    StoredParams {
        codec: p.codec,
        width: p.width,
        height: p.height,
        rfc6381_codec: p.rfc6381_codec.clone(),
        extra_data: p.extra_data.clone(),
        pixel_aspect_ratio: p.pixel_aspect_ratio,
    }
}

pub fn params_from_stored(p: StoredParams) -> VideoParams {
    VideoParams {
        codec: p.codec,
        width: p.width,
        height: p.height,
        rfc6381_codec: p.rfc6381_codec,
        extra_data: p.extra_data,
        pixel_aspect_ratio: p.pixel_aspect_ratio,
    }
}
