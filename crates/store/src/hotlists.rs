//! Hotlists and their entries: named lists of plates with source, reason,
//! priority and expiry; a list may be covert. The hotlists crate validates,
//! the API decides who sees covert lists; this module only keeps the rows.

use chrono::{DateTime, Utc};
use citywatch_model::{AuditRow, ChainHead};
use rusqlite::{params, OptionalExtension, Row, Transaction};

pub use citywatch_model::plates::{Hotlist, HotlistEntry, NewHotlistEntry};

use crate::time::{from_text, to_text};
use crate::{Result, Store, StoreError};

const ENTRY_COLUMNS: &str = "e.id, e.list, h.covert, e.plate, e.plate_key, e.source, e.reason, e.priority, e.expires_at, e.created_by, e.created_at";

impl Store {
    pub fn hotlist(&self, name: &str) -> Result<Option<Hotlist>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT h.name, h.covert, h.created_by, h.created_at, (SELECT COUNT(*) FROM hotlist_entry e WHERE e.list = h.name) FROM hotlist h WHERE h.name = ?1",
                [name],
                raw_list,
            )
            .optional()?;
        row.map(finish_list).transpose()
    }

    /// Every list, by name.
    pub fn hotlists(&self) -> Result<Vec<Hotlist>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT h.name, h.covert, h.created_by, h.created_at, (SELECT COUNT(*) FROM hotlist_entry e WHERE e.list = h.name) FROM hotlist h ORDER BY h.name",
        )?;
        let rows = stmt.query_map([], raw_list)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish_list).collect()
    }

    /// Creates the list if missing (with `covert`) and adds or replaces
    /// (same list and plate) the entries, in one transaction. Returns how
    /// many were added and how many replaced. Not audited: for loading a
    /// test's data; the product imports with [`Store::import_hotlist_audited`].
    pub fn import_hotlist(&self, name: &str, covert: bool, entries: &[NewHotlistEntry], by: &str, now: DateTime<Utc>) -> Result<(usize, usize)> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let counts = import_in(&tx, name, covert, entries, by, now)?;
        tx.commit()?;
        Ok(counts)
    }

    /// [`Store::import_hotlist`] with the audit entry `audit` makes of the
    /// counts, in the same transaction.
    pub fn import_hotlist_audited(
        &self,
        name: &str,
        covert: bool,
        entries: &[NewHotlistEntry],
        by: &str,
        now: DateTime<Utc>,
        audit: impl FnOnce(&(usize, usize), Option<&ChainHead>) -> AuditRow,
    ) -> Result<((usize, usize), AuditRow)> {
        self.write_audited(|tx| import_in(tx, name, covert, entries, by, now), audit)
    }

    pub fn hotlist_entries(&self, list: &str) -> Result<Vec<HotlistEntry>> {
        self.entries_where("e.list = ?1 ORDER BY e.id", params![list])
    }

    pub fn hotlist_entry(&self, id: i64) -> Result<Option<HotlistEntry>> {
        Ok(self.entries_where("e.id = ?1", params![id])?.into_iter().next())
    }

    /// Entries of every list for this normalised plate that have not expired at `now`.
    pub fn active_hotlist_entries(&self, plate_key: &str, now: DateTime<Utc>) -> Result<Vec<HotlistEntry>> {
        self.entries_where("e.plate_key = ?1 AND (e.expires_at IS NULL OR e.expires_at > ?2) ORDER BY e.priority DESC, e.id", params![plate_key, to_text(now)])
    }

    /// Deletes an entry with the audit entry `audit` makes of it, and
    /// returns it as it was; `NotFound` if there is none.
    pub fn delete_hotlist_entry_audited(&self, id: i64, audit: impl FnOnce(&HotlistEntry, Option<&ChainHead>) -> AuditRow) -> Result<(HotlistEntry, AuditRow)> {
        let delete = |tx: &Transaction<'_>| {
            let mut stmt = tx.prepare(&format!("SELECT {ENTRY_COLUMNS} FROM hotlist_entry e JOIN hotlist h ON h.name = e.list WHERE e.id = ?1"))?;
            let raw = stmt.query_row([id], raw_entry).optional()?.ok_or_else(|| StoreError::NotFound(format!("hotlist entry {id}")))?;
            let entry = finish_entry(raw)?;
            tx.execute("DELETE FROM hotlist_entry WHERE id = ?1", [id])?;
            Ok(entry)
        };
        self.write_audited(delete, audit)
    }

    fn entries_where(&self, clause: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<HotlistEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {ENTRY_COLUMNS} FROM hotlist_entry e JOIN hotlist h ON h.name = e.list WHERE {clause}"))?;
        let rows = stmt.query_map(params, raw_entry)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish_entry).collect()
    }
}

fn import_in(tx: &Transaction<'_>, name: &str, covert: bool, entries: &[NewHotlistEntry], by: &str, now: DateTime<Utc>) -> Result<(usize, usize)> {
    tx.execute(
        "INSERT INTO hotlist (name, covert, created_by, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(name) DO NOTHING",
        params![name, covert, by, to_text(now)],
    )?;
    let (mut added, mut replaced) = (0, 0);
    for e in entries {
        let existed = tx.execute("DELETE FROM hotlist_entry WHERE list = ?1 AND plate_key = ?2", params![name, e.plate_key])? > 0;
        tx.execute(
            "INSERT INTO hotlist_entry (list, plate, plate_key, source, reason, priority, expires_at, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![name, e.plate, e.plate_key, e.source, e.reason, e.priority, e.expires_at.map(to_text), by, to_text(now)],
        )?;
        if existed {
            replaced += 1;
        } else {
            added += 1;
        }
    }
    Ok((added, replaced))
}

type RawList = (String, bool, String, String, i64);

fn raw_list(r: &Row) -> rusqlite::Result<RawList> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn finish_list((name, covert, created_by, created_at, entries): RawList) -> Result<Hotlist> {
    Ok(Hotlist { name, covert, created_by, created_at: from_text(&created_at)?, entries: entries.max(0) as u64 })
}

type RawEntry = (i64, String, bool, String, String, String, String, u8, Option<String>, String, String);

fn raw_entry(r: &Row) -> rusqlite::Result<RawEntry> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?))
}

fn finish_entry(r: RawEntry) -> Result<HotlistEntry> {
    let (id, list, covert, plate, plate_key, source, reason, priority, expires_at, created_by, created_at) = r;
    Ok(HotlistEntry {
        id,
        list,
        covert,
        plate,
        plate_key,
        source,
        reason,
        priority,
        expires_at: expires_at.as_deref().map(from_text).transpose()?,
        created_by,
        created_at: from_text(&created_at)?,
    })
}
