//! The hotlists' repository: what hotlists and plate reads need of a
//! database, whatever the database is.
//!
//! The hotlists crate owns the trait because it owns the rules: what a
//! plate's key is, which entries a read hits, when an unmatched read is
//! purged. A backend keeps rows. Two backends implement it: SQLite
//! (`Store`, in `sqlite_repo.rs`) and PostgreSQL
//! (`citywatch-store-postgres`); `conformance.rs` is the one suite both
//! pass.
//!
//! A person's change (an import, an entry deleted) and a purge commit with
//! the audit entry that records them. A read is the machine's observation:
//! its row and its `plate_read` event are their own record.
//!
//! Like [`citywatch_audit::AuditRepo`], the calls block (see
//! docs/design/storage.md).

use chrono::{DateTime, Utc};
use citywatch_audit::MakeRowAfter;
use citywatch_model::plates::{Hotlist, HotlistEntry, NewHotlistEntry, NewPlateRead, PlatePurge, PlateRead, PlateReadFilter};
use citywatch_model::{AuditRow, RepoError};

/// How many entries an import added and how many it replaced (same list,
/// same plate).
pub type ImportCounts = (usize, usize);

/// Hotlists, their entries and plate reads, as stored.
pub trait PlateRepo: Send + Sync {
    /// One list with its number of entries (expired ones included); None
    /// if there is none by that name.
    fn hotlist(&self, name: &str) -> Result<Option<Hotlist>, RepoError>;

    /// Every list, by name.
    fn hotlists(&self) -> Result<Vec<Hotlist>, RepoError>;

    /// Creates the list if missing (with `covert`; an existing list keeps
    /// its own) and adds or replaces (same list and plate) the entries, all
    /// or nothing, with the entry `audit` makes of the counts.
    fn import_hotlist(
        &self,
        name: &str,
        covert: bool,
        entries: &[NewHotlistEntry],
        by: &str,
        now: DateTime<Utc>,
        audit: MakeRowAfter<'_, ImportCounts>,
    ) -> Result<(ImportCounts, AuditRow), RepoError>;

    /// A list's entries, by id.
    fn hotlist_entries(&self, list: &str) -> Result<Vec<HotlistEntry>, RepoError>;

    /// One entry; None if there is none with that id.
    fn hotlist_entry(&self, id: i64) -> Result<Option<HotlistEntry>, RepoError>;

    /// The entries of every list for this plate key that have not expired
    /// at `now`, highest priority first: what a read hits.
    fn active_hotlist_entries(&self, plate_key: &str, now: DateTime<Utc>) -> Result<Vec<HotlistEntry>, RepoError>;

    /// Deletes an entry with the entry `audit` makes of it, and returns it
    /// as it was; `NotFound` if there is none.
    fn delete_hotlist_entry(&self, id: i64, audit: MakeRowAfter<'_, HotlistEntry>) -> Result<(HotlistEntry, AuditRow), RepoError>;

    /// Stores a read; returns its id.
    fn add_plate_read(&self, read: &NewPlateRead) -> Result<i64, RepoError>;

    /// Reads whose key matches the filter's pattern (`*`: any characters),
    /// newest first, at most `limit`.
    fn plate_reads(&self, filter: &PlateReadFilter) -> Result<Vec<PlateRead>, RepoError>;

    /// Deletes reads that hit no hotlist and are older than `before`, with
    /// their `plate_read` events unless an alert holds them, in one
    /// transaction. When anything was deleted, the entry `audit` makes of
    /// the counts commits with it; a purge that found nothing writes none.
    fn purge_plate_reads(&self, before: DateTime<Utc>, audit: MakeRowAfter<'_, PlatePurge>) -> Result<(PlatePurge, Option<AuditRow>), RepoError>;
}
