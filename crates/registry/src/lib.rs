//! The camera registry: camera records kept in a repository
//! ([`CameraRepo`]: SQLite or PostgreSQL) and mirrored in
//! memory with a spatial index, bulk import and export, and the spatial
//! queries that respect a caller's district scope.
//!
//! Owns the rule that the in-memory index always reflects the store: every
//! camera write goes through [`Registry`], and writes made by another
//! process (the `citywatch import` CLI) are picked up by [`Registry::reload_if_changed`].
//! Knows nothing of HTTP; does not write the audit log (callers record what
//! they did, with who and why).

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(test)]
mod conformance_sqlite;
mod export;
mod import;
mod query;
mod registry;
mod repo;
mod sqlite_repo;

pub use export::to_geojson;
pub use import::{parse_csv, parse_districts, parse_geojson, ImportFormat, ImportRow, Location, ParsedCameras, RowError};
pub use query::{CameraQuery, QueryHit};
pub use registry::{ImportReport, Registry, RegistryError, Snapshot};
pub use repo::{CameraRepo, MakeImportRow};
