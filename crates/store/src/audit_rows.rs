use citywatch_model::{AuditCheckpoint, AuditEntry};
use rusqlite::{params, Row};

use crate::{time, Result, Store, StoreError};

/// The last entry's `seq` and `hash`: what the next entry chains to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl Store {
    /// Appends one audit entry atomically: `make` receives the current head
    /// (None for an empty log) and returns the complete entry to insert.
    /// Only `citywatch-audit` calls this.
    pub fn append_audit(&self, make: impl FnOnce(Option<&ChainHead>) -> AuditEntry) -> Result<AuditEntry> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let head = tx
            .query_row("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok(ChainHead { seq: r.get(0)?, hash: r.get(1)? })
            })
            .ok();
        let e = make(head.as_ref());
        tx.execute(
            "INSERT INTO audit_log (seq, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                e.seq, time::to_text(e.time), e.actor, e.action, e.target, e.purpose, e.case_ref, e.result,
                e.detail.to_string(), e.prev_hash, e.hash
            ],
        )?;
        tx.commit()?;
        Ok(e)
    }

    /// Entries with `seq > after_seq`, in stored order, at most `limit`.
    /// The seq of the newest entry (0 for an empty log).
    pub fn audit_head_seq(&self) -> Result<i64> {
        Ok(self.conn().query_row("SELECT COALESCE(MAX(seq), 0) FROM audit_log", [], |r| r.get(0))?)
    }

    pub fn audit_entries(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT seq, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash
             FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_seq, limit as i64], entry_from_row)?;
        rows.map(|r| r?).collect()
    }

    pub fn append_checkpoint(&self, c: &AuditCheckpoint) -> Result<()> {
        self.conn().execute(
            "INSERT INTO audit_checkpoint (seq, hash, time, signature) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(seq) DO NOTHING",
            params![c.seq, c.hash, time::to_text(c.time), c.signature],
        )?;
        Ok(())
    }

    pub fn audit_checkpoints(&self) -> Result<Vec<AuditCheckpoint>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT seq, hash, time, signature FROM audit_checkpoint ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })?;
        rows.map(|row| {
            let (seq, hash, t, signature) = row?;
            Ok(AuditCheckpoint { seq, hash, time: time::from_text(&t)?, signature })
        })
        .collect()
    }

    pub fn last_checkpoint_seq(&self) -> Result<i64> {
        Ok(self.conn().query_row("SELECT coalesce(max(seq), 0) FROM audit_checkpoint", [], |r| r.get(0))?)
    }
}

fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<Result<AuditEntry>> {
    let seq: i64 = r.get(0)?;
    let t: String = r.get(1)?;
    let detail: String = r.get(8)?;
    let parsed = (|| {
        Ok(AuditEntry {
            seq,
            time: time::from_text(&t)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            purpose: r.get(5)?,
            case_ref: r.get(6)?,
            result: r.get(7)?,
            detail: serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt(format!("audit seq {seq} detail: {e}")))?,
            prev_hash: r.get(9)?,
            hash: r.get(10)?,
        })
    })();
    Ok(parsed)
}
