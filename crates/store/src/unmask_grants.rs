//! Unmask grants: a supervisor's permission for one user to see faces in
//! the live video and snapshots of a set of cameras until an expiry, with
//! purpose, case reference and author. The API validates, scopes and
//! audits; this module only keeps the rows. Revoking keeps the row.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use crate::time::{from_text, to_text};
use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUnmaskGrant {
    pub grantee: String,
    pub cameras: Vec<String>,
    pub purpose: String,
    pub case_ref: String,
    pub created_by: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmaskGrant {
    pub id: i64,
    pub grantee: String,
    pub cameras: Vec<String>,
    pub purpose: String,
    pub case_ref: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

impl UnmaskGrant {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

const COLUMNS: &str = "id, grantee, cameras, purpose, case_ref, created_by, created_at, expires_at, revoked_at, revoked_by";

impl Store {
    pub fn add_unmask_grant(&self, g: &NewUnmaskGrant, now: DateTime<Utc>) -> Result<UnmaskGrant> {
        let cameras = serde_json::to_string(&g.cameras).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let conn = self.conn();
        conn.execute(
            "INSERT INTO unmask_grant (grantee, cameras, purpose, case_ref, created_by, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![g.grantee, cameras, g.purpose, g.case_ref, g.created_by, to_text(now), to_text(g.expires_at)],
        )?;
        let id = conn.last_insert_rowid();
        drop(conn);
        self.unmask_grant(id)?.ok_or_else(|| StoreError::NotFound(format!("unmask grant {id}")))
    }

    pub fn unmask_grant(&self, id: i64) -> Result<Option<UnmaskGrant>> {
        let conn = self.conn();
        let row = conn.query_row(&format!("SELECT {COLUMNS} FROM unmask_grant WHERE id = ?1"), [id], raw).optional()?;
        row.map(finish).transpose()
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

    /// Ends a grant now; `false` if there is none with this id or it was
    /// already revoked.
    pub fn revoke_unmask_grant(&self, id: i64, by: &str, now: DateTime<Utc>) -> Result<bool> {
        Ok(self
            .conn()
            .execute("UPDATE unmask_grant SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_at IS NULL", params![id, to_text(now), by])?
            > 0)
    }

    fn unmask_grants_where(&self, clause: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<UnmaskGrant>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM unmask_grant WHERE {clause}"))?;
        let raw = stmt.query_map(args, raw)?.collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(finish).collect()
    }
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
    fn grants_round_trip_expire_and_revoke() {
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
        assert!(store.revoke_unmask_grant(live.id, "sup", now).unwrap());
        assert!(!store.revoke_unmask_grant(live.id, "sup", now).unwrap(), "revoked once");
        assert!(store.active_unmask_grants_of("officer", now).unwrap().is_empty());
        let revoked = store.unmask_grant(live.id).unwrap().unwrap();
        assert_eq!(revoked.revoked_by.as_deref(), Some("sup"));
        assert!(!revoked.is_active(now));
        // The schema refuses a grant without a purpose.
        assert!(store.add_unmask_grant(&NewUnmaskGrant { purpose: String::new(), ..new(now) }, now).is_err());
    }
}
