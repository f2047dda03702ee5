//! Unmask grants: a supervisor's permission for one user to see faces in
//! the live video and snapshots of a set of cameras until an expiry, with
//! purpose, case reference and author. `citywatch-access` decides them
//! and owns the repository trait (`AccessRepo`); this module only keeps
//! the rows, and commits each change a person makes with its audit entry.
//! Revoking keeps the row.

use chrono::{DateTime, Utc};
use citywatch_model::{AuditRow, ChainHead, NewUnmaskGrant, UnmaskGrant};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use crate::time::{from_text, to_text};
use crate::{Result, Store, StoreError};

const COLUMNS: &str = "id, grantee, cameras, purpose, case_ref, created_by, created_at, expires_at, revoked_at, revoked_by";

impl Store {
    /// Stores a grant without an audit entry: for tests that need one in
    /// place. A person's grant goes through [`Store::add_unmask_grant_audited`].
    pub fn add_unmask_grant(&self, g: &NewUnmaskGrant, now: DateTime<Utc>) -> Result<UnmaskGrant> {
        insert_grant(&self.conn(), g, now)
    }

    /// [`Store::add_unmask_grant`] and its audit entry (made knowing the
    /// new grant's id), in one transaction.
    pub fn add_unmask_grant_audited(
        &self,
        g: &NewUnmaskGrant,
        now: DateTime<Utc>,
        audit: impl FnOnce(&UnmaskGrant, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(UnmaskGrant, AuditRow)> {
        self.write_audited(|tx| insert_grant(tx, g, now), audit)
    }

    pub fn unmask_grant(&self, id: i64) -> Result<Option<UnmaskGrant>> {
        grant_in(&self.conn(), id)
    }

    /// Every grant, active, expired or revoked, newest first.
    pub fn unmask_grants(&self) -> Result<Vec<UnmaskGrant>> {
        self.unmask_grants_where("1 = 1 ORDER BY id DESC", params![])
    }

    /// `user`'s grants in force at `now`.
    pub fn active_unmask_grants_of(&self, user: &str, now: DateTime<Utc>) -> Result<Vec<UnmaskGrant>> {
        let all = self.unmask_grants_where("grantee = ?1 AND revoked_at IS NULL ORDER BY id", params![user])?;
        Ok(all.into_iter().filter(|g| g.is_active(now)).collect())
    }

    /// Ends a grant now and appends its audit entry (made from the grant
    /// as revoked), in one transaction. `NotFound` if there is no such
    /// grant, `Stale` if it was already revoked: no entry either way.
    pub fn revoke_unmask_grant_audited(
        &self,
        id: i64,
        by: &str,
        now: DateTime<Utc>,
        audit: impl FnOnce(&UnmaskGrant, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(UnmaskGrant, AuditRow)> {
        let revoke = |tx: &Transaction<'_>| {
            if revoke_in(tx, id, by, now)? {
                return grant_in(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("unmask grant {id}")));
            }
            match grant_in(tx, id)? {
                None => Err(StoreError::NotFound(format!("unmask grant {id}"))),
                Some(_) => Err(StoreError::Stale(format!("unmask grant {id} was already revoked"))),
            }
        };
        self.write_audited(revoke, audit)
    }

    fn unmask_grants_where(&self, clause: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<UnmaskGrant>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM unmask_grant WHERE {clause}"))?;
        let raw = stmt.query_map(args, raw)?.collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(finish).collect()
    }
}

/// Stores a grant made at `now` and reads it back as stored.
fn insert_grant(conn: &Connection, g: &NewUnmaskGrant, now: DateTime<Utc>) -> Result<UnmaskGrant> {
    let cameras = serde_json::to_string(&g.cameras).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.execute(
        "INSERT INTO unmask_grant (grantee, cameras, purpose, case_ref, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![g.grantee, cameras, g.purpose, g.case_ref, g.created_by, to_text(now), to_text(g.expires_at)],
    )?;
    let id = conn.last_insert_rowid();
    grant_in(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("unmask grant {id}")))
}

fn grant_in(conn: &Connection, id: i64) -> Result<Option<UnmaskGrant>> {
    let row = conn.query_row(&format!("SELECT {COLUMNS} FROM unmask_grant WHERE id = ?1"), [id], raw).optional()?;
    row.map(finish).transpose()
}

/// Whether the grant was in force (not revoked) and is now revoked.
fn revoke_in(conn: &Connection, id: i64, by: &str, now: DateTime<Utc>) -> Result<bool> {
    Ok(conn.execute("UPDATE unmask_grant SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_at IS NULL", params![id, to_text(now), by])? > 0)
}

type Raw = (UnmaskGrant, String, String, String, Option<String>);

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    Ok((
        UnmaskGrant {
            id: r.get(0)?,
            grantee: r.get(1)?,
            cameras: Vec::new(),
            purpose: r.get(3)?,
            case_ref: r.get(4)?,
            created_by: r.get(5)?,
            created_at: epoch,
            expires_at: epoch,
            revoked_at: None,
            revoked_by: r.get(9)?,
        },
        r.get(2)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn finish((mut g, cameras, created, expires, revoked): Raw) -> Result<UnmaskGrant> {
    g.cameras = serde_json::from_str(&cameras).map_err(|e| StoreError::Corrupt(format!("unmask grant {} cameras: {e}", g.id)))?;
    g.created_at = from_text(&created)?;
    g.expires_at = from_text(&expires)?;
    g.revoked_at = revoked.as_deref().map(from_text).transpose()?;
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn grants_round_trip_and_expire() {
        let store = Store::open_in_memory().unwrap();
        let now = Utc::now();
        let new = |expires_at| NewUnmaskGrant {
            grantee: "officer".into(),
            cameras: vec!["c1".into(), "c2".into()],
            purpose: "armed robbery in progress".into(),
            case_ref: "INC-7".into(),
            created_by: "sup".into(),
            expires_at,
        };
        let live = store.add_unmask_grant(&new(now + Duration::hours(1)), now).unwrap();
        let old = store.add_unmask_grant(&new(now - Duration::minutes(1)), now).unwrap();
        assert_eq!(live.cameras, ["c1", "c2"]);
        assert_eq!(store.unmask_grants().unwrap().iter().map(|g| g.id).collect::<Vec<_>>(), vec![old.id, live.id]);
        assert_eq!(store.active_unmask_grants_of("officer", now).unwrap(), vec![live.clone()]);
        assert!(store.active_unmask_grants_of("someone", now).unwrap().is_empty());
        // Revoking (always with its audit entry) is in citywatch-access's
        // conformance suite, which runs on this store.
        // The schema refuses a grant without a purpose.
        assert!(store.add_unmask_grant(&NewUnmaskGrant { purpose: String::new(), ..new(now) }, now).is_err());
    }
}
