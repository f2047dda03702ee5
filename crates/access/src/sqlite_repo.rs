//! [`AccessRepo`] on the embedded SQLite database: `Store` keeps the SQL,
//! this only states that it is the access rules' repository.

use citywatch_audit::MakeRowAfter;
use citywatch_model::{AuditRow, LegalHold, NewLegalHold, NewUnmaskGrant, RepoError, Timestamp, UnmaskGrant};
use citywatch_store::Store;

use crate::repo::AccessRepo;

impl AccessRepo for Store {
    fn unmask_grants(&self) -> Result<Vec<UnmaskGrant>, RepoError> {
        Ok(Store::unmask_grants(self)?)
    }

    fn unmask_grant(&self, id: i64) -> Result<Option<UnmaskGrant>, RepoError> {
        Ok(Store::unmask_grant(self, id)?)
    }

    fn active_unmask_grants_of(&self, grantee: &str, now: Timestamp) -> Result<Vec<UnmaskGrant>, RepoError> {
        Ok(Store::active_unmask_grants_of(self, grantee, now)?)
    }

    fn create_unmask_grant(&self, grant: &NewUnmaskGrant, now: Timestamp, audit: MakeRowAfter<'_, UnmaskGrant>) -> Result<(UnmaskGrant, AuditRow), RepoError> {
        Ok(self.add_unmask_grant_audited(grant, now, audit)?)
    }

    fn revoke_unmask_grant(&self, id: i64, by: &str, now: Timestamp, audit: MakeRowAfter<'_, UnmaskGrant>) -> Result<(UnmaskGrant, AuditRow), RepoError> {
        Ok(self.revoke_unmask_grant_audited(id, by, now, audit)?)
    }

    fn legal_holds(&self) -> Result<Vec<LegalHold>, RepoError> {
        Ok(Store::legal_holds(self)?)
    }

    fn legal_hold(&self, id: i64) -> Result<Option<LegalHold>, RepoError> {
        Ok(Store::legal_hold(self, id)?)
    }

    fn active_legal_holds(&self, now: Timestamp) -> Result<Vec<LegalHold>, RepoError> {
        Ok(Store::active_legal_holds(self, now)?)
    }

    fn place_legal_hold(&self, hold: &NewLegalHold, now: Timestamp, audit: MakeRowAfter<'_, LegalHold>) -> Result<(LegalHold, AuditRow), RepoError> {
        Ok(self.add_legal_hold_audited(hold, now, audit)?)
    }

    fn release_legal_hold(&self, id: i64, audit: MakeRowAfter<'_, LegalHold>) -> Result<(LegalHold, AuditRow), RepoError> {
        Ok(self.delete_legal_hold_audited(id, audit)?)
    }
}
