use citywatch_model::{AuditCheckpoint, AuditEncoding, AuditEntry, AuditFilter, AuditRow, ChainHead, GrantUses};
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

use crate::{time, Result, Store, StoreError};

impl Store {
    /// Appends one audit entry atomically: `make` receives the current head
    /// (None for an empty log) and returns the complete row to insert, which
    /// is stored as it is. Only `citywatch-audit` calls this.
    pub fn append_audit(&self, make: impl FnOnce(Option<&ChainHead>) -> AuditRow) -> Result<AuditRow> {
        let mut conn = self.conn();
        // Immediate: the write lock is taken before the head is read, so a
        // second process appending at the same time waits (busy timeout)
        // instead of failing when its read would have to become a write.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = append_in(&tx, make)?;
        tx.commit()?;
        Ok(row)
    }

    /// Rows with `seq > after_seq`, in stored order, at most `limit`, as
    /// stored: what verification reads.
    pub fn audit_rows(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {ROW_COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?;
        let rows = stmt.query_map(params![after_seq, limit as i64], row_from_sql)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The seq of the newest entry (0 for an empty log).
    pub fn audit_head_seq(&self) -> Result<i64> {
        Ok(self.conn().query_row("SELECT COALESCE(MAX(seq), 0) FROM audit_log", [], |r| r.get(0))?)
    }

    /// Entries with `seq > after_seq`, in stored order, at most `limit`.
    pub fn audit_entries(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {ROW_COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?;
        let rows = stmt.query_map(params![after_seq, limit as i64], entry_from_row)?;
        rows.map(|r| r?).collect()
    }

    /// Entries matching `filter` with `after_seq < seq <= head_seq`, in
    /// stored order, at most `limit`: what the auditor's screen and exports
    /// read. Time bounds compare as text, which the fixed-width UTC form
    /// makes time order.
    pub fn audit_entries_matching(&self, filter: &AuditFilter, after_seq: i64, head_seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        let (sql, args) = matching_query(filter, after_seq, head_seq, limit);
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), entry_from_row)?;
        rows.map(|r| r?).collect()
    }

    /// Entries whose action is one of `actions` with `from <= time < to`,
    /// newest first, at most `limit`: what a supervisor's list of the day's
    /// sensitive reads starts from (the API narrows it to their districts).
    pub fn audit_entries_with_actions(
        &self,
        actions: &[&str],
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        if actions.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; actions.len()].join(", ");
        let sql = format!("SELECT {ROW_COLUMNS} FROM audit_log WHERE time >= ? AND time < ? AND action IN ({marks}) ORDER BY seq DESC LIMIT ?");
        let mut args: Vec<rusqlite::types::Value> = vec![time::to_text(from).into(), time::to_text(to).into()];
        args.extend(actions.iter().map(|a| rusqlite::types::Value::from(a.to_string())));
        args.push((limit.min(i64::MAX as usize) as i64).into());
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), entry_from_row)?;
        rows.map(|r| r?).collect()
    }

    /// How often each unmask grant was used since `since` (inclusive) and
    /// when last: the entries of views made under a grant name it in their
    /// detail (`unmask_grant: N`). Keyed by grant id.
    pub fn unmask_grant_uses(&self, since: chrono::DateTime<chrono::Utc>) -> Result<std::collections::HashMap<i64, GrantUses>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT CAST(json_extract(detail, '$.unmask_grant') AS INTEGER) AS g, COUNT(*), MAX(time) FROM audit_log
             WHERE time >= ?1 AND action IN ('video.live', 'video.playback', 'event.snapshot')
               AND json_valid(detail) AND json_type(detail, '$.unmask_grant') = 'integer'
             GROUP BY g",
        )?;
        let rows = stmt.query_map([time::to_text(since)], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))?;
        let mut uses = std::collections::HashMap::new();
        for row in rows {
            let (grant, count, last) = row?;
            uses.insert(grant, GrantUses { count: count.max(0) as u64, last_used: time::from_text(&last)? });
        }
        Ok(uses)
    }

    /// The first checkpoint at or after `seq`: the signed hash whose chain
    /// covers every entry up to `seq`. None if none is signed yet.
    pub fn audit_checkpoint_covering(&self, seq: i64) -> Result<Option<AuditCheckpoint>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT seq, hash, time, signature FROM audit_checkpoint WHERE seq >= ?1 ORDER BY seq LIMIT 1")?;
        let mut rows = stmt.query_map([seq], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?)))?;
        match rows.next().transpose()? {
            None => Ok(None),
            Some((seq, hash, t, signature)) => Ok(Some(AuditCheckpoint { seq, hash, time: time::from_text(&t)?, signature })),
        }
    }

    /// The last entry's `seq` and `hash`, None for an empty log.
    pub fn audit_head(&self) -> Result<Option<ChainHead>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?;
        let mut rows = stmt.query_map([], |r| Ok(ChainHead { seq: r.get(0)?, hash: r.get(1)? }))?;
        Ok(rows.next().transpose()?)
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
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?)))?;
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

/// Appends the row `make` makes on the current head, inside `tx` (which
/// must hold the write lock: an immediate transaction). A row that does not
/// follow the head is refused (`Stale`) and nothing is written.
pub(crate) fn append_in(tx: &rusqlite::Transaction<'_>, make: impl FnOnce(Option<&ChainHead>) -> AuditRow) -> Result<AuditRow> {
    let head =
        tx.query_row("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", [], |r| Ok(ChainHead { seq: r.get(0)?, hash: r.get(1)? })).optional()?;
    let row = make(head.as_ref());
    if let Some(why) = ChainHead::refuses(head.as_ref(), &row) {
        return Err(StoreError::Stale(why));
    }
    let encoding = row.encoding.ok_or_else(|| StoreError::Corrupt("an audit row needs an encoding".into()))?;
    tx.execute(
        "INSERT INTO audit_log (seq, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash, encoding)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            row.seq,
            row.time,
            row.actor,
            row.action,
            row.target,
            row.purpose,
            row.case_ref,
            row.result,
            row.detail,
            row.prev_hash,
            row.hash,
            encoding.code()
        ],
    )?;
    Ok(row)
}

/// The query of [`Store::audit_entries_matching`] and its arguments.
fn matching_query(filter: &AuditFilter, after_seq: i64, head_seq: i64, limit: usize) -> (String, Vec<rusqlite::types::Value>) {
    // A time range alone goes through the time index: without statistics
    // SQLite would rather walk the whole log in seq order than sort what
    // the index finds. An equality filter has its (column, seq) index and
    // needs no hint.
    let by_time_only = filter.actor.is_none()
        && filter.action.is_none()
        && filter.target.is_none()
        && filter.case_ref.is_none()
        && (filter.from.is_some() || filter.to.is_some());
    let index = if by_time_only { " INDEXED BY audit_log_time" } else { "" };
    let mut sql = format!("SELECT {ROW_COLUMNS} FROM audit_log{index} WHERE seq > ? AND seq <= ?");
    let mut args: Vec<rusqlite::types::Value> = vec![after_seq.into(), head_seq.into()];
    let mut eq = |column: &str, value: &Option<String>| {
        if let Some(v) = value {
            sql.push_str(&format!(" AND {column} = ?"));
            args.push(v.clone().into());
        }
    };
    eq("actor", &filter.actor);
    eq("action", &filter.action);
    eq("target", &filter.target);
    eq("case_ref", &filter.case_ref);
    eq("result", &filter.result);
    if let Some(from) = filter.from {
        sql.push_str(" AND time >= ?");
        args.push(time::to_text(from).into());
    }
    if let Some(to) = filter.to {
        sql.push_str(" AND time < ?");
        args.push(time::to_text(to).into());
    }
    sql.push_str(" ORDER BY seq LIMIT ?");
    args.push((limit.min(i64::MAX as usize) as i64).into());
    (sql, args)
}

/// The columns [`row_from_sql`] reads, in its order.
const ROW_COLUMNS: &str = "seq, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash, encoding";

fn row_from_sql(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        time: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        purpose: r.get(5)?,
        case_ref: r.get(6)?,
        result: r.get(7)?,
        detail: r.get(8)?,
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
        encoding: AuditEncoding::from_code(r.get(11)?),
    })
}

fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<Result<AuditEntry>> {
    // `to_entry` fails only on what no longer parses: corrupt data.
    Ok(row_from_sql(r)?.to_entry().map_err(|e| match e {
        citywatch_model::RepoError::Corrupt(m) => StoreError::Corrupt(m),
        other => StoreError::Corrupt(other.to_string()),
    }))
}

#[cfg(test)]
mod tests {
    use super::{matching_query, AuditFilter};
    use crate::Store;

    /// SQLite's plan for a filter: the auditor's filters must reach their
    /// rows through an index, not by reading the whole log.
    fn plan(store: &Store, filter: &AuditFilter) -> String {
        let (sql, args) = matching_query(filter, 0, i64::MAX, 100);
        let conn = store.conn();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3)).unwrap();
        rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("; ")
    }

    #[test]
    fn each_filter_of_the_auditor_uses_an_index() {
        let store = Store::open_in_memory().unwrap();
        let some = |v: &str| Some(v.to_owned());
        let cases = [
            (AuditFilter { case_ref: some("KU-1"), ..Default::default() }, "audit_log_case_ref"),
            (AuditFilter { actor: some("ana"), ..Default::default() }, "audit_log_actor"),
            (AuditFilter { action: some("video.playback"), ..Default::default() }, "audit_log_action"),
            (AuditFilter { target: some("cam-1"), ..Default::default() }, "audit_log_target"),
            (AuditFilter { from: Some(chrono::Utc::now()), ..Default::default() }, "audit_log_time"),
            (AuditFilter { to: Some(chrono::Utc::now()), result: some("denied"), ..Default::default() }, "audit_log_time"),
            (AuditFilter { case_ref: some("KU-1"), from: Some(chrono::Utc::now()), ..Default::default() }, "audit_log_case_ref"),
        ];
        for (filter, index) in cases {
            let plan = plan(&store, &filter);
            assert!(plan.contains(index), "{filter:?} should use {index}: {plan}");
        }
    }
}
