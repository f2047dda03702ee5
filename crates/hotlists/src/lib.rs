//! Hotlists and plate reads.
//!
//! Owns what happens to a plate once it has been read: hotlists (named
//! lists of plates with source, reason, priority, expiry; a list may be
//! covert) and their CSV import with per-row errors; [`PlateReads`], which
//! the analytics pipeline calls for every read: it stores the read, raises a
//! `plate_read` event and, for every non-expired hotlist entry of that
//! plate, a `hotlist_hit` event with the entry's priority; plate-history
//! search (wildcards); and the purge of reads that hit nothing, audited
//! with its counts. Its repository trait, [`PlateRepo`], has a SQLite and
//! a PostgreSQL backend and one conformance suite both pass.
//!
//! Must not know HTTP, users' permissions or video, and does no
//! recognition (that is `citywatch-analytics`): who may see a covert list,
//! the purpose and case reference of a search and the audit entries are
//! the API's and the binary's.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(test)]
mod conformance_sqlite;
mod error;
mod import;
mod plate;
mod reads;
mod repo;
mod sqlite_repo;

pub use error::HotlistError;
pub use import::{parse_csv, ParsedHotlist, RowError};
pub use plate::{plate_key, search_pattern};
pub use reads::{Hit, PlateReads, ReadInput, RecordedRead};
pub use repo::{ImportCounts, PlateRepo};
