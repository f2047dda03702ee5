//! [`RecordingRepo`] on the embedded SQLite database: `Store` keeps the
//! SQL, this only states that it is the recording index.

use citywatch_audit::MakeRowAfter;
use citywatch_model::recordings::{RecordingRow, RecordingSummary, RecordingTotals, RetentionOverride, StoredParams};
use citywatch_model::{AuditRow, RepoError, StreamKind};
use citywatch_store::Store;

use crate::recording_repo::RecordingRepo;

impl RecordingRepo for Store {
    fn video_params_id(&self, params: &StoredParams) -> Result<i64, RepoError> {
        Ok(Store::video_params_id(self, params)?)
    }

    fn video_params(&self, id: i64) -> Result<Option<StoredParams>, RepoError> {
        Ok(Store::video_params(self, id)?)
    }

    fn put_recordings(&self, rows: &[RecordingRow]) -> Result<Vec<i64>, RepoError> {
        Ok(Store::put_recordings(self, rows)?)
    }

    fn recordings_between(&self, camera_id: &str, stream: StreamKind, start_90k: i64, end_90k: i64) -> Result<Vec<RecordingRow>, RepoError> {
        Ok(Store::recordings_between(self, camera_id, stream, start_90k, end_90k)?)
    }

    fn recording_intervals(&self, camera_id: &str, stream: StreamKind, start_90k: i64, end_90k: i64) -> Result<Vec<(i64, i64)>, RepoError> {
        Ok(Store::recording_intervals(self, camera_id, stream, start_90k, end_90k)?)
    }

    fn recording_files(&self) -> Result<Vec<(String, i64)>, RepoError> {
        Ok(Store::recording_files(self)?)
    }

    fn recordings_after(&self, after_id: i64, limit: usize) -> Result<Vec<RecordingRow>, RepoError> {
        Ok(Store::recordings_after(self, after_id, limit)?)
    }

    fn recording_totals(&self) -> Result<Vec<RecordingTotals>, RepoError> {
        Ok(Store::recording_totals(self)?)
    }

    fn oldest_recordings(&self, camera_id: Option<&str>, after: Option<(i64, i64)>, limit: usize) -> Result<Vec<RecordingSummary>, RepoError> {
        Ok(Store::oldest_recordings(self, camera_id, after, limit)?)
    }

    fn delete_recordings(&self, ids: &[i64]) -> Result<Vec<String>, RepoError> {
        Ok(Store::delete_recordings(self, ids)?)
    }

    fn garbage_files(&self) -> Result<Vec<String>, RepoError> {
        Ok(Store::garbage_files(self)?)
    }

    fn forget_garbage(&self, file: &str) -> Result<(), RepoError> {
        Ok(Store::forget_garbage(self, file)?)
    }

    fn retention_overrides(&self) -> Result<Vec<RetentionOverride>, RepoError> {
        Ok(Store::retention_overrides(self)?)
    }

    fn retention_override(&self, camera_id: &str) -> Result<Option<RetentionOverride>, RepoError> {
        Ok(Store::retention_override(self, camera_id)?)
    }

    fn set_retention_override(
        &self,
        limits: &RetentionOverride,
        audit: MakeRowAfter<'_, Option<RetentionOverride>>,
    ) -> Result<(Option<RetentionOverride>, AuditRow), RepoError> {
        Ok(self.set_retention_override_audited(limits, audit)?)
    }
}
