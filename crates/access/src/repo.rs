//! The repository of exceptional access: unmask grants and legal holds,
//! what the access rules need of a database, whatever the database is.
//!
//! This crate owns the trait because it owns the rules: what a grant or
//! hold must hold, whose a caller may see. A backend keeps the rows and
//! commits each change a person makes (a grant made or revoked, a hold
//! placed or released) together with the audit entry that records it.
//! Two backends implement it: SQLite (`Store`, in `sqlite_repo.rs`) and
//! PostgreSQL (`citywatch-store-postgres`); `conformance.rs` is the one
//! suite both pass.
//!
//! Like [`citywatch_audit::AuditRepo`], the calls block (see
//! docs/design/storage.md).

use citywatch_audit::MakeRowAfter;
use citywatch_model::{AuditRow, LegalHold, NewLegalHold, NewUnmaskGrant, RepoError, Timestamp, UnmaskGrant};

/// Unmask grants and legal holds, as stored.
///
/// Every write commits with its audit entry in one transaction, the row
/// made by the caller's maker from what the write did (the new id, the
/// grant as revoked, the hold as it was) and the locked head: after a
/// crash both are there or neither is. A refused write (`NotFound`,
/// `Stale`, a row the schema refuses) writes neither.
pub trait AccessRepo: Send + Sync {
    /// Every grant, in force, expired or revoked, newest first.
    fn unmask_grants(&self) -> Result<Vec<UnmaskGrant>, RepoError>;

    /// One grant; None if there is none with that id.
    fn unmask_grant(&self, id: i64) -> Result<Option<UnmaskGrant>, RepoError>;

    /// `grantee`'s grants in force at `now` (neither revoked nor expired),
    /// oldest first: what the live, playback and snapshot routes unblur by.
    fn active_unmask_grants_of(&self, grantee: &str, now: Timestamp) -> Result<Vec<UnmaskGrant>, RepoError>;

    /// Stores a grant made at `now` and returns it as stored, with its entry.
    fn create_unmask_grant(&self, grant: &NewUnmaskGrant, now: Timestamp, audit: MakeRowAfter<'_, UnmaskGrant>) -> Result<(UnmaskGrant, AuditRow), RepoError>;

    /// Ends a grant at `now` (the row stays, naming `by`); returns it as
    /// revoked. `NotFound` if there is none, `Stale` if it was revoked
    /// already (two supervisors at once: one revokes, the other is told).
    /// An expired grant may still be revoked: the list then says who ended it.
    fn revoke_unmask_grant(&self, id: i64, by: &str, now: Timestamp, audit: MakeRowAfter<'_, UnmaskGrant>) -> Result<(UnmaskGrant, AuditRow), RepoError>;

    /// Every hold, active or expired, newest first.
    fn legal_holds(&self) -> Result<Vec<LegalHold>, RepoError>;

    /// One hold; None if there is none with that id (or it was released).
    fn legal_hold(&self, id: i64) -> Result<Option<LegalHold>, RepoError>;

    /// Holds not expired at `now`, oldest first: what retention keeps.
    fn active_legal_holds(&self, now: Timestamp) -> Result<Vec<LegalHold>, RepoError>;

    /// Stores a hold placed at `now` and returns it as stored, with its entry.
    fn place_legal_hold(&self, hold: &NewLegalHold, now: Timestamp, audit: MakeRowAfter<'_, LegalHold>) -> Result<(LegalHold, AuditRow), RepoError>;

    /// Releases (deletes) a hold and returns it as it was: the entry is
    /// what remains of it. `NotFound` if there is none, released already
    /// or never placed.
    fn release_legal_hold(&self, id: i64, audit: MakeRowAfter<'_, LegalHold>) -> Result<(LegalHold, AuditRow), RepoError>;
}
