//! The seam between playback (the API's timeline, `view.mp4`, blurred
//! playback, the health wall's gaps) and where recordings are: the index
//! rows of a camera stream's time range and the sample files' bytes.
//! (Its index is a [`RecordingRepo`]; this adds where the bytes are.)
//!
//! In one process that is the store's index and the local video directory
//! ([`LocalRecordings`]). On a cluster the index is the central database
//! and the bytes are on the recorder node that wrote them, read with HTTP
//! range requests (see `docs/design/seams.md`).

use std::path::PathBuf;
use std::sync::Arc;

use citywatch_model::recordings::{RecordingRow, StoredParams};
use citywatch_model::RepoError;

use crate::recording_repo::RecordingRepo;

use crate::recorder::Stream;
use crate::sample_bytes::{LocalFiles, SampleBytes};
use crate::sample_dir::SampleDir;

/// What playback reads. Every method blocks (a database or a disk, or a
/// node over the network); async callers run them on a blocking thread.
pub trait RecordingSource: Send + Sync {
    /// Recordings of a camera's stream overlapping [start, end), in time
    /// order (90 kHz Unix time).
    fn recordings_between(&self, camera_id: &str, stream: Stream, start_90k: i64, end_90k: i64) -> Result<Vec<RecordingRow>, RepoError>;

    /// (start, duration) of the same recordings, without their frame
    /// indexes: cheap enough to ask for many cameras every few seconds.
    fn recording_intervals(&self, camera_id: &str, stream: Stream, start_90k: i64, end_90k: i64) -> Result<Vec<(i64, i64)>, RepoError>;

    /// The codec parameters a recording row names.
    fn video_params(&self, params_id: i64) -> Result<Option<StoredParams>, RepoError>;

    /// The name [`sample_bytes`](Self::sample_bytes) reads a row's sample
    /// file by (`RecordingRow::file` is relative to where it was written).
    fn sample_file(&self, row_file: &str) -> PathBuf;

    /// Reads the sample files' bytes.
    fn sample_bytes(&self) -> Arc<dyn SampleBytes>;
}

/// Recordings of this process: the store's index and the sample files in
/// the local video directory.
#[derive(Clone)]
pub struct LocalRecordings {
    index: Arc<dyn RecordingRepo>,
    dir: Arc<SampleDir>,
}

impl std::fmt::Debug for LocalRecordings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRecordings").field("dir", &self.dir.root()).finish()
    }
}

impl LocalRecordings {
    pub fn new(index: Arc<dyn RecordingRepo>, dir: Arc<SampleDir>) -> LocalRecordings {
        LocalRecordings { index, dir }
    }
}

impl RecordingSource for LocalRecordings {
    fn recordings_between(&self, camera_id: &str, stream: Stream, start_90k: i64, end_90k: i64) -> Result<Vec<RecordingRow>, RepoError> {
        self.index.recordings_between(camera_id, stream, start_90k, end_90k)
    }

    fn recording_intervals(&self, camera_id: &str, stream: Stream, start_90k: i64, end_90k: i64) -> Result<Vec<(i64, i64)>, RepoError> {
        self.index.recording_intervals(camera_id, stream, start_90k, end_90k)
    }

    fn video_params(&self, params_id: i64) -> Result<Option<StoredParams>, RepoError> {
        self.index.video_params(params_id)
    }

    fn sample_file(&self, row_file: &str) -> PathBuf {
        self.dir.path(row_file)
    }

    fn sample_bytes(&self) -> Arc<dyn SampleBytes> {
        Arc::new(LocalFiles)
    }
}
