//! Writes that commit together with the audit entry recording them.
//!
//! A change and its audit entry are one transaction: a crash, a full disk
//! or a refused entry leaves both or neither, never a change nobody can
//! account for (or an entry for a change that did not happen). The entry's
//! row is made by `citywatch-audit` from the head it is handed, as for any
//! append; this module only runs the change first, in the same
//! transaction, with the write lock taken before anything is read.

use citywatch_model::{AuditRow, ChainHead};
use rusqlite::{Transaction, TransactionBehavior};

use crate::{Result, Store};

impl Store {
    /// Runs `change` and appends the entry `audit` makes (from the change's
    /// outcome and the log's head) in one transaction; returns both.
    pub(crate) fn write_audited<T>(
        &self,
        change: impl FnOnce(&Transaction<'_>) -> Result<T>,
        audit: impl FnOnce(&T, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(T, AuditRow)> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = change(&tx)?;
        crash_point("between-change-and-audit");
        let row = crate::audit_rows::append_in(&tx, |head| audit(&outcome, head))?;
        tx.commit()?;
        Ok((outcome, row))
    }
}

/// Aborts the process here when `CITYWATCH_CRASH_AT` names this point, in
/// debug builds only: how the tests kill the server at the worst moment
/// (after a change is written, before its audit entry) and then look at
/// what the database kept. Release builds compile it to nothing.
pub(crate) fn crash_point(name: &str) {
    if cfg!(debug_assertions) && std::env::var("CITYWATCH_CRASH_AT").is_ok_and(|at| at == name) {
        eprintln!("CITYWATCH_CRASH_AT={name}: aborting here, as a crash would");
        std::process::abort();
    }
}
