//! Legal holds: a camera and a time range whose recordings retention must
//! not delete, with the purpose, case reference, author and expiry. The API
//! validates and audits; this module only keeps the rows.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use crate::time::{from_text, to_text};
use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLegalHold {
    pub camera_id: String,
    /// Unix time in 90 kHz units, like recordings.
    pub start_90k: i64,
    pub end_90k: i64,
    pub purpose: String,
    pub case_ref: String,
    pub created_by: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub id: i64,
    pub camera_id: String,
    pub start_90k: i64,
    pub end_90k: i64,
    pub purpose: String,
    pub case_ref: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl LegalHold {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }

    /// Whether a recording of this hold's camera covering [start, end) overlaps it.
    pub fn covers(&self, camera_id: &str, start_90k: i64, end_90k: i64) -> bool {
        self.camera_id == camera_id && start_90k < self.end_90k && end_90k > self.start_90k
    }
}

const COLUMNS: &str = "id, camera_id, start_90k, end_90k, purpose, case_ref, created_by, created_at, expires_at";

impl Store {
    pub fn add_legal_hold(&self, hold: &NewLegalHold, now: DateTime<Utc>) -> Result<LegalHold> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO legal_hold (camera_id, start_90k, end_90k, purpose, case_ref, created_by, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![hold.camera_id, hold.start_90k, hold.end_90k, hold.purpose, hold.case_ref, hold.created_by, to_text(now), to_text(hold.expires_at)],
        )?;
        let id = conn.last_insert_rowid();
        drop(conn);
        self.legal_hold(id)?.ok_or_else(|| StoreError::NotFound(format!("legal hold {id}")))
    }

    pub fn legal_hold(&self, id: i64) -> Result<Option<LegalHold>> {
        let conn = self.conn();
        let row = conn.query_row(&format!("SELECT {COLUMNS} FROM legal_hold WHERE id = ?1"), [id], raw_hold).optional()?;
        row.map(finish_hold).transpose()
    }

    /// Every hold, active or expired, newest first.
    pub fn legal_holds(&self) -> Result<Vec<LegalHold>> {
        self.holds_where("1 = 1 ORDER BY id DESC", params![])
    }

    /// Holds that have not expired at `now`.
    pub fn active_legal_holds(&self, now: DateTime<Utc>) -> Result<Vec<LegalHold>> {
        self.holds_where("expires_at > ?1 ORDER BY id", params![to_text(now)])
    }

    /// Releases a hold; `false` if there was none with this id.
    pub fn delete_legal_hold(&self, id: i64) -> Result<bool> {
        Ok(self.conn().execute("DELETE FROM legal_hold WHERE id = ?1", [id])? > 0)
    }

    fn holds_where(&self, clause: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<LegalHold>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM legal_hold WHERE {clause}"))?;
        let raw = stmt.query_map(args, raw_hold)?.collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(finish_hold).collect()
    }
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
        assert!(store.delete_legal_hold(live.id).unwrap());
        assert!(!store.delete_legal_hold(live.id).unwrap());
        assert!(store.active_legal_holds(now).unwrap().is_empty());
        // The schema refuses a hold without a purpose.
        assert!(store.add_legal_hold(&NewLegalHold { purpose: String::new(), ..new(now) }, now).is_err());
    }
}
