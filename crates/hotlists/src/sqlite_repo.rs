//! [`PlateRepo`] on the embedded SQLite database: `Store` keeps the SQL,
//! this only states that it is the hotlists' repository.

use chrono::{DateTime, Utc};
use citywatch_audit::MakeRowAfter;
use citywatch_model::plates::{Hotlist, HotlistEntry, NewHotlistEntry, NewPlateRead, PlatePurge, PlateRead, PlateReadFilter};
use citywatch_model::{AuditRow, RepoError};
use citywatch_store::Store;

use crate::repo::{ImportCounts, PlateRepo};

impl PlateRepo for Store {
    fn hotlist(&self, name: &str) -> Result<Option<Hotlist>, RepoError> {
        Ok(Store::hotlist(self, name)?)
    }

    fn hotlists(&self) -> Result<Vec<Hotlist>, RepoError> {
        Ok(Store::hotlists(self)?)
    }

    fn import_hotlist(
        &self,
        name: &str,
        covert: bool,
        entries: &[NewHotlistEntry],
        by: &str,
        now: DateTime<Utc>,
        audit: MakeRowAfter<'_, ImportCounts>,
    ) -> Result<(ImportCounts, AuditRow), RepoError> {
        Ok(self.import_hotlist_audited(name, covert, entries, by, now, audit)?)
    }

    fn hotlist_entries(&self, list: &str) -> Result<Vec<HotlistEntry>, RepoError> {
        Ok(Store::hotlist_entries(self, list)?)
    }

    fn hotlist_entry(&self, id: i64) -> Result<Option<HotlistEntry>, RepoError> {
        Ok(Store::hotlist_entry(self, id)?)
    }

    fn active_hotlist_entries(&self, plate_key: &str, now: DateTime<Utc>) -> Result<Vec<HotlistEntry>, RepoError> {
        Ok(Store::active_hotlist_entries(self, plate_key, now)?)
    }

    fn delete_hotlist_entry(&self, id: i64, audit: MakeRowAfter<'_, HotlistEntry>) -> Result<(HotlistEntry, AuditRow), RepoError> {
        Ok(self.delete_hotlist_entry_audited(id, audit)?)
    }

    fn add_plate_read(&self, read: &NewPlateRead) -> Result<i64, RepoError> {
        Ok(Store::add_plate_read(self, read)?)
    }

    fn plate_reads(&self, filter: &PlateReadFilter) -> Result<Vec<PlateRead>, RepoError> {
        Ok(Store::plate_reads(self, filter)?)
    }

    fn purge_plate_reads(&self, before: DateTime<Utc>, audit: MakeRowAfter<'_, PlatePurge>) -> Result<(PlatePurge, Option<AuditRow>), RepoError> {
        Ok(self.purge_plate_reads_audited(before, audit)?)
    }
}
