//! Domain types shared by every Citywatch crate: cameras, districts, users,
//! roles, grants and district scopes, audit entries, unmask grants and
//! legal holds, the names of video streams and codecs, and the error of
//! every repository.
//!
//! This crate owns the vocabulary and the validation rules of the data
//! (a latitude is in [-90, 90], a field of view in (0, 360]). It does no I/O
//! and knows nothing of HTTP, SQL or the file system.

mod access;
mod audit;
mod camera;
pub mod dispatch;
mod district;
mod error;
pub mod event;
mod import;
mod justification;
pub mod plates;
pub mod recordings;
mod repo_error;
mod scope;
mod user;
mod video;

pub use access::{LegalHold, NewLegalHold, NewUnmaskGrant, UnmaskGrant};
pub use audit::{AuditCheckpoint, AuditEncoding, AuditEntry, AuditFilter, AuditRow, ChainHead, GrantUses};
pub use camera::{check_id, Camera, CameraId, CameraStatus, CameraUpdate, ImportOutcome, RtspUrl, DEFAULT_FOV_DEG, DEFAULT_RANGE_M};
pub use district::District;
pub use error::FieldError;
pub use event::{Alert, AlertAction, AlertState, Area, Event, EventType, Location, NewEvent, Rule, RuleSpec, Schedule, Severity, Source, SourceKind};
pub use import::{ImportLimits, ImportRefusal, RowErrors};
pub use justification::{CaseRef, Purpose, MAX_JUSTIFICATION_CHARS};
pub use repo_error::RepoError;
pub use scope::Scope;
pub use user::{Grant, GrantSpec, Role, User, UserCredentials};
pub use video::{Codec, StreamKind, UnknownCodec, UnknownStreamKind};

/// Timestamps are UTC everywhere (DESIGN.md, "Time").
pub type Timestamp = chrono::DateTime<chrono::Utc>;
