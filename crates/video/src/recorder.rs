//! Turning one camera stream's frames into recordings, without decoding.
//!
//! Write order (crash safety): frames are held until the next key frame
//! closes their GOP; then the GOP's bytes are appended to the sample file and
//! `fsync`ed, and only then is the recording's index row committed. A crash
//! loses at most the GOP in memory; a file longer than its row (bytes
//! written, row not committed) is cut back at start-up (`recovery`).

use std::fs::File;
use std::io::Write;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use citywatch_store::{RecordingRow, Store, StoreError, StoredParams};

use crate::frame_index::{self, IndexedFrame};
use crate::sample_dir::{SampleDir, Writing};
use crate::{Codec, Frame, VideoParams};

/// A recording is closed at the first key frame after this long.
pub const MAX_RECORDING_90K: i64 = 60 * 90_000;
/// A GOP held longer than this without a key frame is written as it is and
/// the frames up to the next key frame are dropped, so that no recording
/// outgrows the index's [`citywatch_store::MAX_RECORDING_SPAN_90K`].
pub const MAX_GOP_90K: i64 = 2 * 60 * 90_000;
const _: () = assert!(MAX_RECORDING_90K + MAX_GOP_90K < citywatch_store::MAX_RECORDING_SPAN_90K);
/// A jump in camera timestamps larger than this (or backwards) ends the run.
pub const MAX_FRAME_GAP_90K: i64 = 10 * 90_000;
/// Duration given to the last frame of a stream that ended (unknown otherwise).
const DEFAULT_FRAME_90K: u32 = 3_000;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("writing sample file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("recording index: {0}")]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Main,
    Sub,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Main => "main",
            Stream::Sub => "sub",
        }
    }
}

/// Unix time now, in 90 kHz units.
pub fn wall_clock_90k() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (since.as_micros() as i64) * 9 / 100
}

struct OpenRecording {
    row: RecordingRow,
    file: File,
    params: Arc<VideoParams>,
    /// Camera timestamp at which the recording ends (the next frame's).
    end_ts: i64,
    last_duration: u32,
    /// Keeps retention away from this file while it grows.
    _writing: Writing,
}

pub struct Recorder {
    store: Arc<Store>,
    dir: Arc<SampleDir>,
    camera_id: String,
    stream: Stream,
    /// Frames since the last key frame, not yet on disk.
    gop: Vec<Frame>,
    /// Wall clock when the GOP's first frame arrived; starts a new run.
    gop_wall_90k: i64,
    open: Option<OpenRecording>,
}

impl Recorder {
    pub fn new(store: Arc<Store>, dir: Arc<SampleDir>, camera_id: &str, stream: Stream) -> Recorder {
        Recorder { store, dir, camera_id: camera_id.to_owned(), stream, gop: Vec::new(), gop_wall_90k: 0, open: None }
    }

    /// Takes one frame. Frames before the first key frame are dropped (they
    /// cannot be decoded). Writes to disk when a key frame closes a GOP.
    pub fn push(&mut self, frame: Frame, wall_90k: i64) -> Result<(), RecordError> {
        if let Some(last) = self.gop.last() {
            let delta = frame.timestamp_90k - last.timestamp_90k;
            if delta <= 0 || delta > MAX_FRAME_GAP_90K {
                tracing::warn!(camera = %self.camera_id, delta, "timestamp jump; closing the recording run");
                self.finish()?;
            } else if frame.is_key {
                self.flush_gop(Some(frame.timestamp_90k))?;
            } else if frame.timestamp_90k - self.gop[0].timestamp_90k > MAX_GOP_90K {
                tracing::warn!(camera = %self.camera_id, "no key frame for {} s; writing the GOP so far", MAX_GOP_90K / 90_000);
                self.flush_gop(Some(frame.timestamp_90k))?;
                return Ok(());
            }
        }
        if self.gop.is_empty() {
            if !frame.is_key {
                return Ok(());
            }
            self.gop_wall_90k = wall_90k;
        }
        self.gop.push(frame);
        Ok(())
    }

    /// The stream ended (disconnect, shutdown): writes what is held and
    /// closes the recording. The next frame starts a new run.
    pub fn finish(&mut self) -> Result<(), RecordError> {
        if !self.gop.is_empty() {
            self.flush_gop(None)?;
        }
        self.open = None;
        Ok(())
    }

    fn flush_gop(&mut self, next_ts: Option<i64>) -> Result<(), RecordError> {
        let gop = std::mem::take(&mut self.gop);
        let Some(first) = gop.first() else { return Ok(()) };
        let params = first.params.clone();
        let first_ts = first.timestamp_90k;
        let continues = self.open.as_ref().is_some_and(|o| o.end_ts == first_ts && o.params == params);
        // Closed when long enough, or early when retention needs its space.
        let full = self.open.as_ref().is_some_and(|o| o.row.duration_90k >= MAX_RECORDING_90K || self.dir.close_requested(&o.row.file));
        if !continues || full {
            let (run_id, start_90k) = match (&self.open, continues) {
                (Some(o), true) => (o.row.run_id, o.row.start_90k + o.row.duration_90k),
                _ => (self.gop_wall_90k, self.gop_wall_90k),
            };
            self.open = Some(self.open_recording(run_id, start_90k, &params)?);
        }
        let open = self.open.as_mut().expect("opened above");
        let mut bytes = Vec::with_capacity(gop.iter().map(|f| f.data.len()).sum());
        let mut duration = 0i64;
        for (i, f) in gop.iter().enumerate() {
            let d = match gop.get(i + 1).map(|n| n.timestamp_90k).or(next_ts) {
                Some(next) => (next - f.timestamp_90k) as u32,
                None => open.last_duration.max(1),
            };
            open.last_duration = if d > 0 { d } else { DEFAULT_FRAME_90K };
            frame_index::append(&mut open.row.frame_index, IndexedFrame { size: f.data.len() as u32, duration_90k: d, is_key: f.is_key });
            bytes.extend_from_slice(&f.data);
            duration += i64::from(d);
        }
        let committed_bytes = open.row.bytes as u64;
        if let Err(source) = open.file.write_all(&bytes).and_then(|()| open.file.sync_data()) {
            // The GOP is lost (e.g. the disk is full). Cut the file back to
            // what its row says, or remove it if no row names it yet, so the
            // space comes back; the next key frame starts a new recording.
            let open = self.open.take().expect("open above");
            let path = open.row.file.clone();
            if open.row.id == 0 {
                drop(open.file);
                let _ = std::fs::remove_file(self.dir.path(&path));
            } else {
                let _ = open.file.set_len(committed_bytes).and_then(|()| open.file.sync_data());
            }
            return Err(RecordError::Io { path, source });
        }
        open.row.frames += gop.len() as i64;
        open.row.bytes += bytes.len() as i64;
        open.row.duration_90k += duration;
        open.end_ts = first_ts + duration;
        open.row.id = self.store.put_recording(&open.row)?;
        Ok(())
    }

    fn open_recording(&self, run_id: i64, start_90k: i64, params: &Arc<VideoParams>) -> Result<OpenRecording, RecordError> {
        let params_id = self.store.video_params_id(&stored_params(params))?;
        let ext = match params.codec {
            Codec::H264 => "h264",
            Codec::H265 => "h265",
        };
        // Named by start time; a second run starting at the same 90 kHz tick
        // (the wall clock stepped back) gets a suffix rather than an error.
        let base = format!("{}/{}/{start_90k}", self.camera_id, self.stream.as_str());
        let mut attempt = 0;
        let (file, handle) = loop {
            let file = if attempt == 0 { format!("{base}.{ext}") } else { format!("{base}-{attempt}.{ext}") };
            match self.dir.create(&file) {
                Ok(handle) => break (file, handle),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(source) => return Err(RecordError::Io { path: file, source }),
            }
        };
        let writing = self.dir.begin_writing(&file);
        Ok(OpenRecording {
            row: RecordingRow {
                id: 0,
                camera_id: self.camera_id.clone(),
                stream: self.stream.as_str().into(),
                run_id,
                start_90k,
                duration_90k: 0,
                frames: 0,
                bytes: 0,
                params_id,
                file,
                frame_index: Vec::new(),
            },
            file: handle,
            params: params.clone(),
            end_ts: 0,
            last_duration: DEFAULT_FRAME_90K,
            _writing: writing,
        })
    }
}

pub fn stored_params(p: &VideoParams) -> StoredParams {
    StoredParams {
        codec: match p.codec {
            Codec::H264 => "h264".into(),
            Codec::H265 => "h265".into(),
        },
        width: p.width,
        height: p.height,
        rfc6381_codec: p.rfc6381_codec.clone(),
        extra_data: p.extra_data.clone(),
        pixel_aspect_ratio: p.pixel_aspect_ratio,
    }
}

pub fn params_from_stored(p: StoredParams) -> VideoParams {
    VideoParams {
        codec: if p.codec == "h265" { Codec::H265 } else { Codec::H264 },
        width: p.width,
        height: p.height,
        rfc6381_codec: p.rfc6381_codec,
        extra_data: p.extra_data,
        pixel_aspect_ratio: p.pixel_aspect_ratio,
    }
}
