//! The camera registry's repository: what the registry needs of a
//! database, whatever the database is.
//!
//! The registry owns the trait because it owns the rules: scope, the
//! in-memory index that mirrors the stored cameras, what an import may
//! touch. A backend keeps cameras, their sealed credentials and the
//! districts, and commits each change together with the audit entry that
//! records it. Two backends implement it: SQLite (`Store`, in
//! `sqlite_repo.rs`) and PostgreSQL (`citywatch-store-postgres`);
//! `conformance.rs` is the one suite both pass.
//!
//! Like [`citywatch_audit::AuditRepo`], the calls block (see
//! docs/design/storage.md).

use std::collections::HashMap;

use citywatch_audit::MakeRow;
use citywatch_credentials::StreamCredentials;
use citywatch_model::{AuditRow, Camera, CameraStatus, CameraUpdate, ChainHead, District, ImportOutcome, RepoError};

/// Makes an import's audit row from what the import did and the head it
/// chains to; called once, inside the import's transaction.
pub type MakeImportRow<'a> = Box<dyn FnOnce(&ImportOutcome, Option<&ChainHead>) -> AuditRow + 'a>;

/// Cameras, their credentials and the districts, as stored.
///
/// Every write that changes what an operator sees commits with its audit
/// entry in one transaction (the row the caller's maker makes from the
/// locked head): after a crash both are there or neither is. A refused
/// write (`Conflict`, `NotFound`, credentials that cannot be sealed)
/// writes neither.
pub trait CameraRepo: Send + Sync {
    /// Every camera, by id.
    fn cameras(&self) -> Result<Vec<Camera>, RepoError>;

    /// One camera; None if there is none with that id.
    fn camera(&self, id: &str) -> Result<Option<Camera>, RepoError>;

    /// Adds a camera; `Conflict` if its id is taken.
    fn create_camera(&self, update: &CameraUpdate, audit: MakeRow<'_>) -> Result<AuditRow, RepoError>;

    /// Replaces a camera; `NotFound` if there is none. A stream whose URL
    /// stays the same and comes without credentials keeps the stored ones;
    /// a changed URL drops them (they were given for the old address).
    fn replace_camera(&self, update: &CameraUpdate, audit: MakeRow<'_>) -> Result<AuditRow, RepoError>;

    /// Deletes a camera and its credentials; `NotFound` if there is none.
    fn delete_camera(&self, id: &str, audit: MakeRow<'_>) -> Result<AuditRow, RepoError>;

    /// Creates or replaces every camera given, all or nothing, and says
    /// how many were new.
    fn upsert_cameras(&self, updates: &[CameraUpdate], audit: MakeImportRow<'_>) -> Result<(ImportOutcome, AuditRow), RepoError>;

    /// Records a camera's health as its recorder sees it (not audited: it is
    /// the machine's observation, not a person's change). Whether the
    /// camera exists.
    fn set_camera_status(&self, id: &str, status: CameraStatus) -> Result<bool, RepoError>;

    /// `user:password` for a camera's main and sub streams, opened with the
    /// backend's credential key. For the recorder only: no API route
    /// returns these.
    fn camera_credentials(&self, id: &str) -> Result<StreamCredentials, RepoError>;

    /// Every camera's credentials (cameras without any are absent), in one
    /// read: the recorders' periodic pass reads them all.
    fn all_camera_credentials(&self) -> Result<HashMap<String, StreamCredentials>, RepoError>;

    /// A number that changes when a writer other than this handle commits a
    /// camera change (another process, another node): the registry reloads
    /// its index when it moves. A backend that cannot tell its own writes
    /// from others' may also move it on its own writes; that costs a reload,
    /// never a missed change.
    fn change_marker(&self) -> Result<i64, RepoError>;

    /// Every district, by name.
    fn districts(&self) -> Result<Vec<District>, RepoError>;

    /// Adds a district or replaces its geometry, with its audit entry.
    fn put_district(&self, district: &District, audit: MakeRow<'_>) -> Result<AuditRow, RepoError>;
}
