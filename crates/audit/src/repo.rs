//! The audit log's repository: what the log needs of a database, whatever
//! the database is.
//!
//! This crate owns the trait because it owns the chain: it decides what a
//! row holds and how it is hashed, and a backend only keeps rows and
//! serialises appends. Two backends implement it: SQLite (`Store`, in
//! `sqlite_repo.rs`) for the embedded deployment, and PostgreSQL
//! (`citywatch-store-postgres`) for a city's cluster. `conformance.rs` is
//! the one suite both must pass.
//!
//! The calls block: every caller already runs them on a blocking thread
//! (a request handler through `spawn_blocking`, the CLI and the recorder's
//! threads directly), and both backends are called through blocking
//! clients. docs/design/storage.md says why the traits are not async.

use std::collections::HashMap;

use citywatch_model::{AuditCheckpoint, AuditEntry, AuditFilter, AuditRow, ChainHead, GrantUses, RepoError, Timestamp};

/// Makes the row to append from the head it chains to (None for an empty
/// log). Called once, inside the append's transaction, with the head
/// locked: no other append can come between the read and the write.
pub type MakeRow<'a> = Box<dyn FnOnce(Option<&ChainHead>) -> AuditRow + 'a>;

/// Makes the row recording a change from what the change did (the ids it
/// gave, how many sessions it ended) and the head; called once, inside the
/// change's transaction, after the change and before the commit.
pub type MakeRowAfter<'a, T> = Box<dyn FnOnce(&T, Option<&ChainHead>) -> AuditRow + 'a>;

/// Rows and checkpoints of the audit log, as stored.
pub trait AuditRepo: Send + Sync {
    /// Appends one row atomically and returns it as stored. Two appends at
    /// once, from one process or several, make one chain: the backend
    /// serialises them on the head. A row whose seq is taken is refused
    /// (`Conflict`) and nothing is written.
    fn append(&self, make: MakeRow<'_>) -> Result<AuditRow, RepoError>;

    /// Rows with `seq > after_seq`, in seq order, at most `limit`, exactly
    /// as stored: what verification reads.
    fn rows(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditRow>, RepoError>;

    /// The last row's seq and hash; None for an empty log.
    fn head(&self) -> Result<Option<ChainHead>, RepoError>;

    /// Entries with `seq > after_seq`, in seq order, at most `limit`.
    fn entries(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>, RepoError>;

    /// Entries matching `filter` with `after_seq < seq <= head_seq`, in seq
    /// order, at most `limit`: the auditor's screen and exports. `from` is
    /// inclusive, `to` exclusive.
    fn entries_matching(&self, filter: &AuditFilter, after_seq: i64, head_seq: i64, limit: usize) -> Result<Vec<AuditEntry>, RepoError>;

    /// Entries whose action is one of `actions` with `from <= time < to`,
    /// newest first, at most `limit`.
    fn entries_with_actions(&self, actions: &[&str], from: Timestamp, to: Timestamp, limit: usize) -> Result<Vec<AuditEntry>, RepoError>;

    /// How often each unmask grant was used since `since` (inclusive) and
    /// when last, keyed by grant id: views (`video.live`, `video.playback`,
    /// `event.snapshot`) whose detail names an integer `unmask_grant`.
    fn unmask_grant_uses(&self, since: Timestamp) -> Result<HashMap<i64, GrantUses>, RepoError>;

    /// Stores a signed checkpoint; one already stored at its seq is kept.
    fn append_checkpoint(&self, checkpoint: &AuditCheckpoint) -> Result<(), RepoError>;

    /// Every checkpoint, in seq order.
    fn checkpoints(&self) -> Result<Vec<AuditCheckpoint>, RepoError>;

    /// The first checkpoint at or after `seq`: the signed hash whose chain
    /// covers every entry up to `seq`.
    fn checkpoint_covering(&self, seq: i64) -> Result<Option<AuditCheckpoint>, RepoError>;

    /// The seq of the last checkpoint; 0 when none is signed.
    fn last_checkpoint_seq(&self) -> Result<i64, RepoError>;

    /// The seq of the newest entry; 0 for an empty log.
    fn head_seq(&self) -> Result<i64, RepoError> {
        Ok(self.head()?.map_or(0, |h| h.seq))
    }

    /// The last signed checkpoint, None if none is signed yet.
    fn last_checkpoint(&self) -> Result<Option<AuditCheckpoint>, RepoError> {
        match self.last_checkpoint_seq()? {
            0 => Ok(None),
            seq => self.checkpoint_covering(seq),
        }
    }
}
