//! [`AuditRepo`] on the embedded SQLite database: `Store` keeps the SQL,
//! this only states that it is the audit log's repository.
//!
//! The implementation sits here and not in `citywatch-store` because this
//! crate still reads grants from `Store` (`duties.rs`): the store cannot
//! depend back on the crate that owns the trait.

use std::collections::HashMap;

use citywatch_model::{AuditCheckpoint, AuditEntry, AuditFilter, AuditRow, ChainHead, GrantUses, RepoError, Timestamp};
use citywatch_store::Store;

use crate::repo::{AuditRepo, MakeRow};

impl AuditRepo for Store {
    fn append(&self, make: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        Ok(self.append_audit(make)?)
    }

    fn rows(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditRow>, RepoError> {
        Ok(self.audit_rows(after_seq, limit)?)
    }

    fn head(&self) -> Result<Option<ChainHead>, RepoError> {
        Ok(self.audit_head()?)
    }

    fn head_seq(&self) -> Result<i64, RepoError> {
        Ok(self.audit_head_seq()?)
    }

    fn entries(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>, RepoError> {
        Ok(self.audit_entries(after_seq, limit)?)
    }

    fn entries_matching(&self, filter: &AuditFilter, after_seq: i64, head_seq: i64, limit: usize) -> Result<Vec<AuditEntry>, RepoError> {
        Ok(self.audit_entries_matching(filter, after_seq, head_seq, limit)?)
    }

    fn entries_with_actions(&self, actions: &[&str], from: Timestamp, to: Timestamp, limit: usize) -> Result<Vec<AuditEntry>, RepoError> {
        Ok(self.audit_entries_with_actions(actions, from, to, limit)?)
    }

    fn unmask_grant_uses(&self, since: Timestamp) -> Result<HashMap<i64, GrantUses>, RepoError> {
        Ok(Store::unmask_grant_uses(self, since)?)
    }

    fn append_checkpoint(&self, checkpoint: &AuditCheckpoint) -> Result<(), RepoError> {
        Ok(Store::append_checkpoint(self, checkpoint)?)
    }

    fn checkpoints(&self) -> Result<Vec<AuditCheckpoint>, RepoError> {
        Ok(self.audit_checkpoints()?)
    }

    fn checkpoint_covering(&self, seq: i64) -> Result<Option<AuditCheckpoint>, RepoError> {
        Ok(self.audit_checkpoint_covering(seq)?)
    }

    fn last_checkpoint_seq(&self) -> Result<i64, RepoError> {
        Ok(Store::last_checkpoint_seq(self)?)
    }
}
