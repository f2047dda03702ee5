//! Legal holds: a camera and a time range whose recordings retention must
//! not delete, with the purpose, case reference, author and expiry.
//! `citywatch-access` decides them and owns the repository trait
//! (`AccessRepo`); this module only keeps the rows, and commits each change
//! a person makes with its audit entry.

use chrono::{DateTime, Utc};
use citywatch_model::{AuditRow, ChainHead, LegalHold, NewLegalHold};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use crate::time::{from_text, to_text};
use crate::{Result, Store, StoreError};

const COLUMNS: &str = "id, camera_id, start_90k, end_90k, purpose, case_ref, created_by, created_at, expires_at";

impl Store {
    /// Stores a hold without an audit entry: for tests that need one in
    /// place. A person's hold goes through [`Store::add_legal_hold_audited`].
    pub fn add_legal_hold(&self, hold: &NewLegalHold, now: DateTime<Utc>) -> Result<LegalHold> {
        insert_hold(&self.conn(), hold, now)
    }

    /// [`Store::add_legal_hold`] and its audit entry (made knowing the new
    /// hold's id), in one transaction.
    pub fn add_legal_hold_audited(
        &self,
        hold: &NewLegalHold,
        now: DateTime<Utc>,
        audit: impl FnOnce(&LegalHold, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(LegalHold, AuditRow)> {
        self.write_audited(|tx| insert_hold(tx, hold, now), audit)
    }

    pub fn legal_hold(&self, id: i64) -> Result<Option<LegalHold>> {
        hold_in(&self.conn(), id)
    }

    /// Every hold, active or expired, newest first.
    pub fn legal_holds(&self) -> Result<Vec<LegalHold>> {
        self.holds_where("1 = 1 ORDER BY id DESC", params![])
    }

    /// Holds that have not expired at `now`.
    pub fn active_legal_holds(&self, now: DateTime<Utc>) -> Result<Vec<LegalHold>> {
        self.holds_where("expires_at > ?1 ORDER BY id", params![to_text(now)])
    }

    /// Releases a hold and appends its audit entry (made from the hold as
    /// it was), in one transaction; `NotFound` (and no entry) if there is
    /// no such hold, released before or never placed.
    pub fn delete_legal_hold_audited(&self, id: i64, audit: impl FnOnce(&LegalHold, Option<&ChainHead>) -> AuditRow) -> Result<(LegalHold, AuditRow)> {
        let release = |tx: &Transaction<'_>| {
            let hold = hold_in(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("legal hold {id}")))?;
            delete_hold_in(tx, id)?;
            Ok(hold)
        };
        self.write_audited(release, audit)
    }

    fn holds_where(&self, clause: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<LegalHold>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM legal_hold WHERE {clause}"))?;
        let raw = stmt.query_map(args, raw_hold)?.collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(finish_hold).collect()
    }
}

/// Stores a hold placed at `now` and reads it back as stored.
fn insert_hold(conn: &Connection, hold: &NewLegalHold, now: DateTime<Utc>) -> Result<LegalHold> {
    conn.execute(
        "INSERT INTO legal_hold (camera_id, start_90k, end_90k, purpose, case_ref, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![hold.camera_id, hold.start_90k, hold.end_90k, hold.purpose, hold.case_ref, hold.created_by, to_text(now), to_text(hold.expires_at)],
    )?;
    let id = conn.last_insert_rowid();
    hold_in(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("legal hold {id}")))
}

fn hold_in(conn: &Connection, id: i64) -> Result<Option<LegalHold>> {
    let row = conn.query_row(&format!("SELECT {COLUMNS} FROM legal_hold WHERE id = ?1"), [id], raw_hold).optional()?;
    row.map(finish_hold).transpose()
}

fn delete_hold_in(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute("DELETE FROM legal_hold WHERE id = ?1", [id])? > 0)
}

type RawHold = (LegalHold, String, String);

fn raw_hold(r: &Row<'_>) -> rusqlite::Result<RawHold> {
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    Ok((
        LegalHold {
            id: r.get(0)?,
            camera_id: r.get(1)?,
            start_90k: r.get(2)?,
            end_90k: r.get(3)?,
            purpose: r.get(4)?,
            case_ref: r.get(5)?,
            created_by: r.get(6)?,
            created_at: epoch,
            expires_at: epoch,
        },
        r.get(7)?,
        r.get(8)?,
    ))
}

fn finish_hold((mut hold, created, expires): RawHold) -> Result<LegalHold> {
    hold.created_at = from_text(&created)?;
    hold.expires_at = from_text(&expires)?;
    Ok(hold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn holds_round_trip_and_expire() {
        let store = Store::open_in_memory().unwrap();
        let now = Utc::now();
        let new = |expires_at| NewLegalHold {
            camera_id: "c1".into(),
            start_90k: 100,
            end_90k: 200,
            purpose: "investigation".into(),
            case_ref: "CASE-9".into(),
            created_by: "sup".into(),
            expires_at,
        };
        let live = store.add_legal_hold(&new(now + Duration::days(1)), now).unwrap();
        let old = store.add_legal_hold(&new(now - Duration::days(1)), now).unwrap();
        assert_eq!(live.purpose, "investigation");
        assert_eq!(store.legal_holds().unwrap().iter().map(|h| h.id).collect::<Vec<_>>(), vec![old.id, live.id]);
        assert_eq!(store.active_legal_holds(now).unwrap(), vec![live.clone()]);
        assert!(live.covers("c1", 150, 160) && live.covers("c1", 0, 101) && !live.covers("c1", 200, 300) && !live.covers("c2", 150, 160));
        // Releasing (always with its audit entry) is in citywatch-access's
        // conformance suite, which runs on this store.
        // The schema refuses a hold without a purpose.
        assert!(store.add_legal_hold(&NewLegalHold { purpose: String::new(), ..new(now) }, now).is_err());
    }
}
