//! [`AuditRepo`] on PostgreSQL. An append locks the chain's head row
//! (`audit_chain_head`, one row) for its transaction: appends from every
//! connection of every node are serialised there, in the database, so the
//! log stays one chain without any process holding a lock of its own.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use citywatch_audit::{AuditRepo, MakeRow};
use citywatch_model::{AuditCheckpoint, AuditEncoding, AuditEntry, AuditFilter, AuditRow, ChainHead, GrantUses, RepoError, Timestamp};
use postgres::types::ToSql;
use postgres::{Row, Transaction};

use crate::error::pg_error;
use crate::PgStore;

/// The columns [`row_from`] reads, in its order.
const ROW_COLUMNS: &str = "seq, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash, encoding";

/// The views whose detail may name the unmask grant they were made under.
const GRANT_USES: [&str; 3] = ["video.live", "video.playback", "event.snapshot"];

impl AuditRepo for PgStore {
    fn append(&self, make: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg_error)?;
        let row = append_in(&mut tx, make)?;
        tx.commit().map_err(pg_error)?;
        Ok(row)
    }

    fn rows(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditRow>, RepoError> {
        let rows = self
            .client()?
            .query(&format!("SELECT {ROW_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"), &[&after_seq, &sql_limit(limit)])
            .map_err(pg_error)?;
        rows.iter().map(row_from).collect()
    }

    fn head(&self) -> Result<Option<ChainHead>, RepoError> {
        let rows = self.client()?.query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", &[]).map_err(pg_error)?;
        Ok(rows.first().map(|r| ChainHead { seq: r.get(0), hash: r.get(1) }))
    }

    fn entries(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>, RepoError> {
        self.rows(after_seq, limit)?.iter().map(AuditRow::to_entry).collect()
    }

    fn entries_matching(&self, filter: &AuditFilter, after_seq: i64, head_seq: i64, limit: usize) -> Result<Vec<AuditEntry>, RepoError> {
        let mut sql = format!("SELECT {ROW_COLUMNS} FROM audit_log WHERE seq > $1 AND seq <= $2");
        let mut args: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(after_seq), Box::new(head_seq)];
        let mut condition = |clause: &str, value: Box<dyn ToSql + Sync>| {
            args.push(value);
            sql.push_str(&format!(" AND {clause} ${}", args.len()));
        };
        for (column, value) in
            [("actor", &filter.actor), ("action", &filter.action), ("target", &filter.target), ("case_ref", &filter.case_ref), ("result", &filter.result)]
        {
            if let Some(v) = value {
                condition(&format!("{column} ="), Box::new(v.clone()));
            }
        }
        if let Some(from) = filter.from {
            condition("time >=", Box::new(from));
        }
        if let Some(to) = filter.to {
            condition("time <", Box::new(to));
        }
        args.push(Box::new(sql_limit(limit)));
        sql.push_str(&format!(" ORDER BY seq LIMIT ${}", args.len()));
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let rows = self.client()?.query(&sql, &params).map_err(pg_error)?;
        rows.iter().map(|r| row_from(r)?.to_entry()).collect()
    }

    fn entries_with_actions(&self, actions: &[&str], from: Timestamp, to: Timestamp, limit: usize) -> Result<Vec<AuditEntry>, RepoError> {
        if actions.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .client()?
            .query(
                &format!("SELECT {ROW_COLUMNS} FROM audit_log WHERE time >= $1 AND time < $2 AND action = ANY($3) ORDER BY seq DESC LIMIT $4"),
                &[&from, &to, &actions, &sql_limit(limit)],
            )
            .map_err(pg_error)?;
        rows.iter().map(|r| row_from(r)?.to_entry()).collect()
    }

    fn unmask_grant_uses(&self, since: Timestamp) -> Result<HashMap<i64, GrantUses>, RepoError> {
        // The detail is text (the hash covers it byte for byte), so the
        // grant is read here rather than by casting every detail to jsonb,
        // which would fail the whole query on one unreadable row.
        let rows = self
            .client()?
            .query(
                "SELECT detail, time FROM audit_log WHERE time >= $1 AND action = ANY($2) AND strpos(detail, '\"unmask_grant\"') > 0",
                &[&since, &&GRANT_USES[..]],
            )
            .map_err(pg_error)?;
        let mut uses: HashMap<i64, GrantUses> = HashMap::new();
        for row in &rows {
            let detail: String = row.get(0);
            let time: DateTime<Utc> = row.get(1);
            let grant = serde_json::from_str::<serde_json::Value>(&detail).ok().and_then(|d| d.get("unmask_grant").and_then(serde_json::Value::as_i64));
            if let Some(grant) = grant {
                let entry = uses.entry(grant).or_insert(GrantUses { count: 0, last_used: time });
                entry.count += 1;
                entry.last_used = entry.last_used.max(time);
            }
        }
        Ok(uses)
    }

    fn append_checkpoint(&self, c: &AuditCheckpoint) -> Result<(), RepoError> {
        self.client()?
            .execute(
                "INSERT INTO audit_checkpoint (seq, hash, time, signature) VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING",
                &[&c.seq, &c.hash, &c.time, &c.signature],
            )
            .map_err(pg_error)?;
        Ok(())
    }

    fn checkpoints(&self) -> Result<Vec<AuditCheckpoint>, RepoError> {
        let rows = self.client()?.query("SELECT seq, hash, time, signature FROM audit_checkpoint ORDER BY seq", &[]).map_err(pg_error)?;
        Ok(rows.iter().map(checkpoint_from).collect())
    }

    fn checkpoint_covering(&self, seq: i64) -> Result<Option<AuditCheckpoint>, RepoError> {
        let rows =
            self.client()?.query("SELECT seq, hash, time, signature FROM audit_checkpoint WHERE seq >= $1 ORDER BY seq LIMIT 1", &[&seq]).map_err(pg_error)?;
        Ok(rows.first().map(checkpoint_from))
    }

    fn last_checkpoint_seq(&self) -> Result<i64, RepoError> {
        Ok(self.client()?.query_one("SELECT coalesce(max(seq), 0)::bigint FROM audit_checkpoint", &[]).map_err(pg_error)?.get(0))
    }
}

impl PgStore {
    /// Runs `change` and appends the entry `audit` makes from its outcome,
    /// in one transaction: both commit or neither does.
    ///
    /// The chain's head is locked first, as SQLite's `BEGIN IMMEDIATE`
    /// takes its write lock first: the change's reads (does the id exist?
    /// which URLs did it have?) then see no other audited write until this
    /// one commits, and every audited write takes its locks in one order
    /// (head, then its domain's change counter, then rows), so none
    /// deadlock.
    pub(crate) fn write_audited<T>(
        &self,
        change: impl FnOnce(&mut Transaction<'_>) -> Result<T, RepoError>,
        audit: impl FnOnce(&T, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(T, AuditRow), RepoError> {
        let (outcome, row) = self.write_audited_when(change, audit, |_| true)?;
        let row = row.ok_or_else(|| RepoError::Backend("an audited write committed without its entry".into()))?;
        Ok((outcome, row))
    }

    /// [`PgStore::write_audited`] for a change that is recorded only when
    /// `recorded` says so of its outcome (a purge that deleted nothing
    /// leaves no entry). The head is locked first either way: one lock
    /// order for every audited write.
    pub(crate) fn write_audited_when<T>(
        &self,
        change: impl FnOnce(&mut Transaction<'_>) -> Result<T, RepoError>,
        audit: impl FnOnce(&T, Option<&ChainHead>) -> AuditRow,
        recorded: impl FnOnce(&T) -> bool,
    ) -> Result<(T, Option<AuditRow>), RepoError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg_error)?;
        tx.execute("SELECT 1 FROM audit_chain_head FOR UPDATE", &[]).map_err(pg_error)?;
        let outcome = change(&mut tx)?;
        let row = if recorded(&outcome) { Some(append_in(&mut tx, Box::new(|head| audit(&outcome, head)))?) } else { None };
        tx.commit().map_err(pg_error)?;
        Ok((outcome, row))
    }
}

/// Appends the row `make` makes from the chain's head inside `tx`, the
/// head locked until `tx` ends: the change `tx` also holds and its entry
/// commit together or not at all.
fn append_in(tx: &mut Transaction<'_>, make: MakeRow<'_>) -> Result<AuditRow, RepoError> {
    let head = tx.query_one("SELECT seq, hash FROM audit_chain_head FOR UPDATE", &[]).map_err(pg_error)?;
    let head = match head.get::<_, i64>(0) {
        0 => None,
        seq => Some(ChainHead { seq, hash: head.get(1) }),
    };
    let row = make(head.as_ref());
    if let Some(why) = ChainHead::refuses(head.as_ref(), &row) {
        return Err(RepoError::Stale(why));
    }
    let encoding = row.encoding.ok_or_else(|| RepoError::Corrupt("an audit row needs an encoding".into()))?;
    let time = stored_time(&row)?;
    let code = i16::try_from(encoding.code()).map_err(|_| RepoError::Corrupt("encoding code out of range".into()))?;
    tx.execute(
        &format!("INSERT INTO audit_log ({ROW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
        &[&row.seq, &time, &row.actor, &row.action, &row.target, &row.purpose, &row.case_ref, &row.result, &row.detail, &row.prev_hash, &row.hash, &code],
    )
    .map_err(pg_error)?;
    tx.execute("UPDATE audit_chain_head SET seq = $1, hash = $2", &[&row.seq, &row.hash]).map_err(pg_error)?;
    Ok(row)
}

/// The row's time as a timestamp. The hash covers the text, so the text
/// must be the one form that reads back identically (RFC 3339, UTC,
/// microseconds), or the stored entry would no longer verify.
fn stored_time(row: &AuditRow) -> Result<DateTime<Utc>, RepoError> {
    let time = DateTime::parse_from_rfc3339(&row.time).map(|t| t.with_timezone(&Utc));
    match time {
        Ok(t) if AuditRow::time_text(t) == row.time => Ok(t),
        _ => Err(RepoError::Corrupt(format!("audit entry seq {}: time {:?} is not RFC 3339 UTC with microseconds, the only form stored", row.seq, row.time))),
    }
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn row_from(r: &Row) -> Result<AuditRow, RepoError> {
    let time: DateTime<Utc> = r.try_get(1).map_err(pg_error)?;
    Ok(AuditRow {
        seq: r.get(0),
        time: AuditRow::time_text(time),
        actor: r.get(2),
        action: r.get(3),
        target: r.get(4),
        purpose: r.get(5),
        case_ref: r.get(6),
        result: r.get(7),
        detail: r.get(8),
        prev_hash: r.get(9),
        hash: r.get(10),
        encoding: AuditEncoding::from_code(i64::from(r.get::<_, i16>(11))),
    })
}

fn checkpoint_from(r: &Row) -> AuditCheckpoint {
    AuditCheckpoint { seq: r.get(0), hash: r.get(1), time: r.get(2), signature: r.get(3) }
}
