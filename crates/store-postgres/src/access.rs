//! [`AccessRepo`] on PostgreSQL: unmask grants and legal holds.
//!
//! Every change goes through [`PgStore::write_audited`], which locks the
//! audit chain's head before the change touches a row: two revokes of one
//! grant (from two nodes) are serialised there, so the second sees the
//! first's revocation and is refused with no entry. The domain keeps no
//! change counter (nothing polls for grant or hold changes: the live
//! streams re-read grants on their periodic check), so the lock order is
//! simply head, then rows.

use citywatch_access::AccessRepo;
use citywatch_audit::MakeRowAfter;
use citywatch_model::{AuditRow, LegalHold, NewLegalHold, NewUnmaskGrant, RepoError, Timestamp, UnmaskGrant};
use postgres::{Row, Transaction};

use crate::error::pg_error;
use crate::PgStore;

/// The columns [`grant_from`] reads, in its order.
const GRANT_COLUMNS: &str = "id, grantee, cameras, purpose, case_ref, created_by, created_at, expires_at, revoked_at, revoked_by";
/// The columns [`hold_from`] reads, in its order.
const HOLD_COLUMNS: &str = "id, camera_id, start_90k, end_90k, purpose, case_ref, created_by, created_at, expires_at";

impl AccessRepo for PgStore {
    fn unmask_grants(&self) -> Result<Vec<UnmaskGrant>, RepoError> {
        let rows = self.client()?.query(&format!("SELECT {GRANT_COLUMNS} FROM unmask_grant ORDER BY id DESC"), &[]).map_err(pg_error)?;
        Ok(rows.iter().map(grant_from).collect())
    }

    fn unmask_grant(&self, id: i64) -> Result<Option<UnmaskGrant>, RepoError> {
        let rows = self.client()?.query(&format!("SELECT {GRANT_COLUMNS} FROM unmask_grant WHERE id = $1"), &[&id]).map_err(pg_error)?;
        Ok(rows.first().map(grant_from))
    }

    fn active_unmask_grants_of(&self, grantee: &str, now: Timestamp) -> Result<Vec<UnmaskGrant>, RepoError> {
        let rows = self
            .client()?
            .query(
                &format!("SELECT {GRANT_COLUMNS} FROM unmask_grant WHERE grantee = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY id"),
                &[&grantee, &now],
            )
            .map_err(pg_error)?;
        Ok(rows.iter().map(grant_from).collect())
    }

    fn create_unmask_grant(&self, g: &NewUnmaskGrant, now: Timestamp, audit: MakeRowAfter<'_, UnmaskGrant>) -> Result<(UnmaskGrant, AuditRow), RepoError> {
        let create = |tx: &mut Transaction<'_>| {
            let row = tx
                .query_one(
                    &format!(
                        "INSERT INTO unmask_grant (grantee, cameras, purpose, case_ref, created_by, created_at, expires_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {GRANT_COLUMNS}"
                    ),
                    &[&g.grantee, &g.cameras, &g.purpose, &g.case_ref, &g.created_by, &now, &g.expires_at],
                )
                .map_err(pg_error)?;
            Ok(grant_from(&row))
        };
        self.write_audited(create, audit)
    }

    fn revoke_unmask_grant(&self, id: i64, by: &str, now: Timestamp, audit: MakeRowAfter<'_, UnmaskGrant>) -> Result<(UnmaskGrant, AuditRow), RepoError> {
        let revoke = |tx: &mut Transaction<'_>| {
            let revoked = tx
                .query(
                    &format!("UPDATE unmask_grant SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING {GRANT_COLUMNS}"),
                    &[&id, &now, &by],
                )
                .map_err(pg_error)?;
            if let Some(row) = revoked.first() {
                return Ok(grant_from(row));
            }
            // The head lock is held: no revoke can come between the update
            // and this read, so a row here was revoked before this call.
            if tx.query("SELECT 1 FROM unmask_grant WHERE id = $1", &[&id]).map_err(pg_error)?.is_empty() {
                Err(RepoError::NotFound(format!("unmask grant {id}")))
            } else {
                Err(RepoError::Stale(format!("unmask grant {id} was already revoked")))
            }
        };
        self.write_audited(revoke, audit)
    }

    fn legal_holds(&self) -> Result<Vec<LegalHold>, RepoError> {
        let rows = self.client()?.query(&format!("SELECT {HOLD_COLUMNS} FROM legal_hold ORDER BY id DESC"), &[]).map_err(pg_error)?;
        Ok(rows.iter().map(hold_from).collect())
    }

    fn legal_hold(&self, id: i64) -> Result<Option<LegalHold>, RepoError> {
        let rows = self.client()?.query(&format!("SELECT {HOLD_COLUMNS} FROM legal_hold WHERE id = $1"), &[&id]).map_err(pg_error)?;
        Ok(rows.first().map(hold_from))
    }

    fn active_legal_holds(&self, now: Timestamp) -> Result<Vec<LegalHold>, RepoError> {
        let rows = self.client()?.query(&format!("SELECT {HOLD_COLUMNS} FROM legal_hold WHERE expires_at > $1 ORDER BY id"), &[&now]).map_err(pg_error)?;
        Ok(rows.iter().map(hold_from).collect())
    }

    fn place_legal_hold(&self, h: &NewLegalHold, now: Timestamp, audit: MakeRowAfter<'_, LegalHold>) -> Result<(LegalHold, AuditRow), RepoError> {
        let place = |tx: &mut Transaction<'_>| {
            let row = tx
                .query_one(
                    &format!(
                        "INSERT INTO legal_hold (camera_id, start_90k, end_90k, purpose, case_ref, created_by, created_at, expires_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {HOLD_COLUMNS}"
                    ),
                    &[&h.camera_id, &h.start_90k, &h.end_90k, &h.purpose, &h.case_ref, &h.created_by, &now, &h.expires_at],
                )
                .map_err(pg_error)?;
            Ok(hold_from(&row))
        };
        self.write_audited(place, audit)
    }

    fn release_legal_hold(&self, id: i64, audit: MakeRowAfter<'_, LegalHold>) -> Result<(LegalHold, AuditRow), RepoError> {
        let release = |tx: &mut Transaction<'_>| {
            let rows = tx.query(&format!("DELETE FROM legal_hold WHERE id = $1 RETURNING {HOLD_COLUMNS}"), &[&id]).map_err(pg_error)?;
            rows.first().map(hold_from).ok_or_else(|| RepoError::NotFound(format!("legal hold {id}")))
        };
        self.write_audited(release, audit)
    }
}

fn grant_from(r: &Row) -> UnmaskGrant {
    UnmaskGrant {
        id: r.get(0),
        grantee: r.get(1),
        cameras: r.get(2),
        purpose: r.get(3),
        case_ref: r.get(4),
        created_by: r.get(5),
        created_at: r.get(6),
        expires_at: r.get(7),
        revoked_at: r.get(8),
        revoked_by: r.get(9),
    }
}

fn hold_from(r: &Row) -> LegalHold {
    LegalHold {
        id: r.get(0),
        camera_id: r.get(1),
        start_90k: r.get(2),
        end_90k: r.get(3),
        purpose: r.get(4),
        case_ref: r.get(5),
        created_by: r.get(6),
        created_at: r.get(7),
        expires_at: r.get(8),
    }
}
