//! The repository of the recording index: what recording, playback,
//! retention, recovery and `citywatch check` need of a database, whatever
//! the database is.
//!
//! This crate owns the trait because it owns the rules: the order in which
//! a recording's bytes and its row are written, what recovery repairs,
//! what retention deletes first. A backend only keeps the rows. Two
//! backends implement it: SQLite (`Store`, in `sqlite_recording_repo.rs`)
//! and PostgreSQL (`citywatch-store-postgres`); `recording_conformance.rs`
//! is the one suite both pass.
//!
//! The sample files themselves are not here: they are on the disk of the
//! process that wrote them (see [`crate::recording_source`]). Like the
//! other repositories, the calls block (docs/design/storage.md).

use citywatch_audit::MakeRowAfter;
use citywatch_model::recordings::{RecordingRow, RecordingSummary, RecordingTotals, RetentionOverride, StoredParams};
use citywatch_model::{AuditRow, RepoError, StreamKind};

/// The recording index, as stored.
pub trait RecordingRepo: Send + Sync {
    /// The id of these codec parameters, adding them if new; the same
    /// parameters always get the same id.
    fn video_params_id(&self, params: &StoredParams) -> Result<i64, RepoError>;

    /// The parameters a recording row names; None if there are none with that id.
    fn video_params(&self, id: i64) -> Result<Option<StoredParams>, RepoError>;

    /// Inserts rows with id 0 (the index assigns their ids) and updates the
    /// rest (a recording grows GOP by GOP: its duration, frames, bytes and
    /// frame index), all in one transaction: the disk writer's commit of a
    /// batch. Returns the ids in the rows' order. An update of a row that
    /// is not there (deleted by retention meanwhile) changes nothing.
    fn put_recordings(&self, rows: &[RecordingRow]) -> Result<Vec<i64>, RepoError>;

    /// Recordings of a camera's stream overlapping [start, end), by start
    /// then id (90 kHz Unix time).
    fn recordings_between(&self, camera_id: &str, stream: StreamKind, start_90k: i64, end_90k: i64) -> Result<Vec<RecordingRow>, RepoError>;

    /// (start, duration) of the same recordings, without their frame
    /// indexes: cheap enough to ask for many cameras every few seconds.
    fn recording_intervals(&self, camera_id: &str, stream: StreamKind, start_90k: i64, end_90k: i64) -> Result<Vec<(i64, i64)>, RepoError>;

    /// Every indexed sample file with its recorded length in bytes (for
    /// recovery: a file on disk without a row is an orphan, a longer one
    /// is cut back).
    fn recording_files(&self) -> Result<Vec<(String, i64)>, RepoError>;

    /// Up to `limit` whole recordings with ids above `after_id`, by id
    /// (`citywatch check` walks the index with it).
    fn recordings_after(&self, after_id: i64, limit: usize) -> Result<Vec<RecordingRow>, RepoError>;

    /// Recordings and bytes per camera stream, by camera then stream.
    fn recording_totals(&self) -> Result<Vec<RecordingTotals>, RepoError>;

    /// Up to `limit` recordings, oldest first (by start, then id), after
    /// the (start, id) key `after` (keyset paging); only `camera_id`'s
    /// when given.
    fn oldest_recordings(&self, camera_id: Option<&str>, after: Option<(i64, i64)>, limit: usize) -> Result<Vec<RecordingSummary>, RepoError>;

    /// Removes recordings and queues their files for deletion, in one
    /// transaction, so that a crash before the files are gone leaves them
    /// queued, never unindexed and forgotten. Returns the files of the rows
    /// that were there; ids not there are skipped.
    fn delete_recordings(&self, ids: &[i64]) -> Result<Vec<String>, RepoError>;

    /// Files queued for deletion and not yet confirmed gone.
    fn garbage_files(&self) -> Result<Vec<String>, RepoError>;

    /// Confirms a queued file gone (forgetting one not queued does nothing).
    fn forget_garbage(&self, file: &str) -> Result<(), RepoError>;

    /// Every camera's own retention limits, by camera.
    fn retention_overrides(&self) -> Result<Vec<RetentionOverride>, RepoError>;

    /// A camera's own limits; None while it follows the configured defaults.
    fn retention_override(&self, camera_id: &str) -> Result<Option<RetentionOverride>, RepoError>;

    /// Sets a camera's limits (both `None`: back to the defaults) and
    /// appends the entry `audit` makes from the limits they replace, in one
    /// transaction; returns those limits with the entry.
    fn set_retention_override(
        &self,
        limits: &RetentionOverride,
        audit: MakeRowAfter<'_, Option<RetentionOverride>>,
    ) -> Result<(Option<RetentionOverride>, AuditRow), RepoError>;
}
