//! [`CameraRepo`] on the embedded SQLite database: `Store` keeps the SQL,
//! this only states that it is the registry's repository.

use std::collections::HashMap;

use citywatch_audit::MakeRow;
use citywatch_credentials::StreamCredentials;
use citywatch_model::{AuditRow, Camera, CameraStatus, CameraUpdate, District, ImportOutcome, RepoError};
use citywatch_store::Store;

use crate::repo::{CameraRepo, MakeImportRow};

impl CameraRepo for Store {
    fn cameras(&self) -> Result<Vec<Camera>, RepoError> {
        Ok(self.list_cameras()?)
    }

    fn camera(&self, id: &str) -> Result<Option<Camera>, RepoError> {
        Ok(self.get_camera(id)?)
    }

    fn create_camera(&self, update: &CameraUpdate, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        Ok(self.create_camera_audited(update, audit)?)
    }

    fn replace_camera(&self, update: &CameraUpdate, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        Ok(self.replace_camera_audited(update, audit)?)
    }

    fn delete_camera(&self, id: &str, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        Ok(self.delete_camera_audited(id, audit)?)
    }

    fn upsert_cameras(&self, updates: &[CameraUpdate], audit: MakeImportRow<'_>) -> Result<(ImportOutcome, AuditRow), RepoError> {
        Ok(self.upsert_cameras_audited(updates, audit)?)
    }

    fn set_camera_status(&self, id: &str, status: CameraStatus) -> Result<bool, RepoError> {
        Ok(Store::set_camera_status(self, id, status)?)
    }

    fn camera_credentials(&self, id: &str) -> Result<StreamCredentials, RepoError> {
        Ok(Store::camera_credentials(self, id)?)
    }

    fn all_camera_credentials(&self) -> Result<HashMap<String, StreamCredentials>, RepoError> {
        Ok(Store::all_camera_credentials(self)?)
    }

    /// SQLite's `data_version`: it moves only on other connections' commits.
    fn change_marker(&self) -> Result<i64, RepoError> {
        Ok(self.external_change_counter()?)
    }

    fn districts(&self) -> Result<Vec<District>, RepoError> {
        Ok(self.list_districts()?)
    }

    fn put_district(&self, district: &District, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        Ok(self.put_district_audited(district, audit)?)
    }
}
