//! Rows of events, rules and alerts. The events crate decides what goes in
//! them (ingest batching, rule matching, correlation, the alert lifecycle);
//! this module only keeps them.

pub use citywatch_model::event::{AlertChange, EventFilter};
use citywatch_model::{Alert, AlertState, AuditRow, ChainHead, Event, EventType, Location, Rule, RuleSpec, Severity, Source, SourceKind, Timestamp};
use rusqlite::types::ToSql;
use rusqlite::{params, params_from_iter, OptionalExtension, Row, Transaction};

use crate::time::{from_text, to_text};
use crate::{Result, Store, StoreError};

const EVENT_COLUMNS: &str = "id, type, time, source_kind, source_id, district, lat, lon, details, received_at";
const ALERT_COLUMNS: &str = "id, rule_id, rule_name, state, severity, event_type, source_kind, source_id, district, lat, lon, \
     first_event_at, last_event_at, event_count, created_at, acknowledged_by, acknowledged_at, closed_by, closed_at";

fn corrupt(what: &str, v: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, format!("bad {what} {v:?}").into())
}

fn time_col(r: &Row, i: usize) -> rusqlite::Result<Timestamp> {
    let s: String = r.get(i)?;
    from_text(&s).map_err(|_| corrupt("timestamp", &s))
}

fn opt_time_col(r: &Row, i: usize) -> rusqlite::Result<Option<Timestamp>> {
    let s: Option<String> = r.get(i)?;
    s.map(|s| from_text(&s).map_err(|_| corrupt("timestamp", &s))).transpose()
}

fn location(lat: Option<f64>, lon: Option<f64>) -> Option<Location> {
    Some(Location { lat: lat?, lon: lon? })
}

fn event_row(r: &Row) -> rusqlite::Result<Event> {
    let t: String = r.get(1)?;
    let kind: String = r.get(3)?;
    let details: String = r.get(8)?;
    Ok(Event {
        id: r.get(0)?,
        event_type: EventType::parse(&t).ok_or_else(|| corrupt("event type", &t))?,
        time: time_col(r, 2)?,
        source: Source { kind: SourceKind::parse(&kind).ok_or_else(|| corrupt("source kind", &kind))?, id: r.get(4)? },
        district: r.get(5)?,
        location: location(r.get(6)?, r.get(7)?),
        details: serde_json::from_str(&details).map_err(|_| corrupt("details", &details))?,
        received_at: time_col(r, 9)?,
    })
}

fn alert_row(r: &Row) -> rusqlite::Result<Alert> {
    let state: String = r.get(3)?;
    let severity: String = r.get(4)?;
    let t: String = r.get(5)?;
    let kind: String = r.get(6)?;
    Ok(Alert {
        id: r.get(0)?,
        rule_id: r.get(1)?,
        rule_name: r.get(2)?,
        state: AlertState::parse(&state).ok_or_else(|| corrupt("alert state", &state))?,
        severity: Severity::parse(&severity).ok_or_else(|| corrupt("severity", &severity))?,
        event_type: EventType::parse(&t).ok_or_else(|| corrupt("event type", &t))?,
        source: Source { kind: SourceKind::parse(&kind).ok_or_else(|| corrupt("source kind", &kind))?, id: r.get(7)? },
        district: r.get(8)?,
        location: location(r.get(9)?, r.get(10)?),
        first_event_at: time_col(r, 11)?,
        last_event_at: time_col(r, 12)?,
        event_count: r.get(13)?,
        created_at: time_col(r, 14)?,
        acknowledged_by: r.get(15)?,
        acknowledged_at: opt_time_col(r, 16)?,
        closed_by: r.get(17)?,
        closed_at: opt_time_col(r, 18)?,
    })
}

fn rule_row(r: &Row) -> rusqlite::Result<Rule> {
    let spec: String = r.get(1)?;
    Ok(Rule {
        id: r.get(0)?,
        spec: serde_json::from_str::<RuleSpec>(&spec).map_err(|_| corrupt("rule", &spec))?,
        created_by: r.get(2)?,
        updated_at: time_col(r, 3)?,
    })
}

/// `column IN (?, ?, ...)` with its values appended to `args`.
fn push_in(sql: &mut String, args: &mut Vec<Box<dyn ToSql>>, column: &str, values: Vec<String>) {
    sql.push_str(&format!(" AND {column} IN ({})", vec!["?"; values.len()].join(", ")));
    args.extend(values.into_iter().map(|v| Box::new(v) as Box<dyn ToSql>));
}

impl Store {
    /// Stores a batch of events in one transaction (one fsync for the lot:
    /// group commit) and sets their ids. Ids are ignored on input.
    pub fn insert_events(&self, events: &mut [Event]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO event (type, time, source_kind, source_id, district, lat, lon, details, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for e in events.iter_mut() {
                stmt.execute(params![
                    e.event_type.as_str(),
                    to_text(e.time),
                    e.source.kind.as_str(),
                    e.source.id,
                    e.district,
                    e.location.map(|l| l.lat),
                    e.location.map(|l| l.lon),
                    e.details.to_string(),
                    to_text(e.received_at),
                ])?;
                e.id = tx.last_insert_rowid();
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn events(&self, f: &EventFilter) -> Result<Vec<Event>> {
        let mut sql = format!("SELECT {EVENT_COLUMNS} FROM event WHERE 1");
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        if !f.types.is_empty() {
            push_in(&mut sql, &mut args, "type", f.types.iter().map(|t| t.as_str().to_owned()).collect());
        }
        if let Some(k) = f.source_kind {
            sql.push_str(" AND source_kind = ?");
            args.push(Box::new(k.as_str()));
        }
        if let Some(id) = &f.source_id {
            sql.push_str(" AND source_id = ?");
            args.push(Box::new(id.clone()));
        }
        if let Some(t) = f.from {
            sql.push_str(" AND time >= ?");
            args.push(Box::new(to_text(t)));
        }
        if let Some(t) = f.to {
            sql.push_str(" AND time < ?");
            args.push(Box::new(to_text(t)));
        }
        if let Some(d) = &f.districts {
            push_in(&mut sql, &mut args, "district", d.clone());
        }
        if let Some(b) = f.before_id {
            sql.push_str(" AND id < ?");
            args.push(Box::new(b));
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        args.push(Box::new(f.limit as i64));
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter().map(|a| a.as_ref())), event_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Events whose time is at or after `since`, in these districts (`None`:
    /// all), for rates; walks the time index.
    pub fn count_events_since(&self, districts: Option<&[String]>, since: Timestamp) -> Result<u64> {
        self.count_since("event", "time", districts, since)
    }

    /// Alerts opened at or after `since`, in these districts (`None`: all).
    /// Alerts are few next to events: a scan of the table is cheap.
    pub fn count_alerts_since(&self, districts: Option<&[String]>, since: Timestamp) -> Result<u64> {
        self.count_since("alert", "created_at", districts, since)
    }

    fn count_since(&self, table: &str, column: &str, districts: Option<&[String]>, since: Timestamp) -> Result<u64> {
        let mut sql = format!("SELECT count(*) FROM {table} WHERE {column} >= ?");
        let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(to_text(since))];
        if let Some(d) = districts {
            push_in(&mut sql, &mut args, "district", d.to_vec());
        }
        let conn = self.conn();
        let n: i64 = conn.query_row(&sql, params_from_iter(args.iter().map(|a| a.as_ref())), |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub fn event(&self, id: i64) -> Result<Option<Event>> {
        Ok(self.conn().query_row(&format!("SELECT {EVENT_COLUMNS} FROM event WHERE id = ?1"), [id], event_row).optional()?)
    }

    /// Adds a rule with the audit entry `audit` makes of it, in one transaction.
    pub fn add_rule_audited(
        &self,
        spec: &RuleSpec,
        by: &str,
        now: Timestamp,
        audit: impl FnOnce(&Rule, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(Rule, AuditRow)> {
        let json = serde_json::to_string(spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let add = |tx: &Transaction<'_>| {
            tx.execute("INSERT INTO rule (spec, created_by, updated_at) VALUES (?1, ?2, ?3)", params![json, by, to_text(now)])?;
            Ok(Rule { id: tx.last_insert_rowid(), spec: spec.clone(), created_by: by.to_owned(), updated_at: now })
        };
        self.write_audited(add, audit)
    }

    pub fn rules(&self) -> Result<Vec<Rule>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id, spec, created_by, updated_at FROM rule ORDER BY id")?;
        let rows = stmt.query_map([], rule_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn rule(&self, id: i64) -> Result<Option<Rule>> {
        Ok(self.conn().query_row("SELECT id, spec, created_by, updated_at FROM rule WHERE id = ?1", [id], rule_row).optional()?)
    }

    /// Replaces a rule's definition, with its audit entry; `NotFound` if
    /// there is no such rule (and nothing is written).
    pub fn replace_rule_audited(
        &self,
        id: i64,
        spec: &RuleSpec,
        now: Timestamp,
        audit: impl FnOnce(&Rule, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(Rule, AuditRow)> {
        let json = serde_json::to_string(spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let replace = |tx: &Transaction<'_>| {
            if tx.execute("UPDATE rule SET spec = ?2, updated_at = ?3 WHERE id = ?1", params![id, json, to_text(now)])? == 0 {
                return Err(StoreError::NotFound(format!("rule {id}")));
            }
            Ok(tx.query_row("SELECT id, spec, created_by, updated_at FROM rule WHERE id = ?1", [id], rule_row)?)
        };
        self.write_audited(replace, audit)
    }

    /// Deletes a rule with its audit entry and returns it as it was; its
    /// alerts stay (they name it). `NotFound` if there is no such rule.
    pub fn delete_rule_audited(&self, id: i64, audit: impl FnOnce(&Rule, Option<&ChainHead>) -> AuditRow) -> Result<(Rule, AuditRow)> {
        let delete = |tx: &Transaction<'_>| {
            let rule = tx
                .query_row("SELECT id, spec, created_by, updated_at FROM rule WHERE id = ?1", [id], rule_row)
                .optional()?
                .ok_or_else(|| StoreError::NotFound(format!("rule {id}")))?;
            tx.execute("DELETE FROM rule WHERE id = ?1", [id])?;
            Ok(rule)
        };
        self.write_audited(delete, audit)
    }

    /// Open alerts of a rule whose last event is at or after `since`.
    pub fn open_alerts_of_rule(&self, rule_id: i64, since: Timestamp) -> Result<Vec<Alert>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ALERT_COLUMNS} FROM alert WHERE rule_id = ?1 AND state IN ('new', 'acknowledged') AND last_event_at >= ?2 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![rule_id, to_text(since)], alert_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Applies one batch's alert changes in one transaction and returns the
    /// alerts they touched, as they now are (each once, in order of change),
    /// each with whether this batch opened it.
    pub fn apply_alert_changes(&self, changes: &[AlertChange]) -> Result<Vec<(Alert, bool)>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut touched: Vec<(i64, bool)> = Vec::new();
        for c in changes {
            let (alert_id, event_ids, opened) = match c {
                AlertChange::Open { alert: a, event_ids } => {
                    tx.execute(
                        "INSERT INTO alert (rule_id, rule_name, state, severity, event_type, source_kind, source_id, district, lat, lon,
                                            first_event_at, last_event_at, event_count, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                        params![
                            a.rule_id,
                            a.rule_name,
                            a.state.as_str(),
                            a.severity.as_str(),
                            a.event_type.as_str(),
                            a.source.kind.as_str(),
                            a.source.id,
                            a.district,
                            a.location.map(|l| l.lat),
                            a.location.map(|l| l.lon),
                            to_text(a.first_event_at),
                            to_text(a.last_event_at),
                            a.event_count,
                            to_text(a.created_at),
                        ],
                    )?;
                    (tx.last_insert_rowid(), event_ids.as_slice(), true)
                }
                AlertChange::Join { alert_id, event_id, time } => {
                    tx.execute(
                        "UPDATE alert SET event_count = event_count + 1, last_event_at = max(last_event_at, ?2) WHERE id = ?1",
                        params![alert_id, to_text(*time)],
                    )?;
                    (*alert_id, std::slice::from_ref(event_id), false)
                }
            };
            for event_id in event_ids {
                tx.execute("INSERT OR IGNORE INTO alert_event (alert_id, event_id) VALUES (?1, ?2)", params![alert_id, event_id])?;
            }
            if !touched.iter().any(|(id, _)| *id == alert_id) {
                touched.push((alert_id, opened));
            }
        }
        let mut out = Vec::with_capacity(touched.len());
        {
            let mut stmt = tx.prepare_cached(&format!("SELECT {ALERT_COLUMNS} FROM alert WHERE id = ?1"))?;
            for (id, opened) in touched {
                out.push((stmt.query_row([id], alert_row)?, opened));
            }
        }
        tx.commit()?;
        Ok(out)
    }

    pub fn alert(&self, id: i64) -> Result<Option<Alert>> {
        Ok(self.conn().query_row(&format!("SELECT {ALERT_COLUMNS} FROM alert WHERE id = ?1"), [id], alert_row).optional()?)
    }

    /// Alerts newest first, optionally in one state, in some districts
    /// (`None`: all), before an id (paging).
    pub fn alerts(&self, state: Option<AlertState>, districts: Option<&[String]>, before_id: Option<i64>, limit: usize) -> Result<Vec<Alert>> {
        let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alert WHERE 1");
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        if let Some(s) = state {
            sql.push_str(" AND state = ?");
            args.push(Box::new(s.as_str()));
        }
        if let Some(d) = districts {
            push_in(&mut sql, &mut args, "district", d.to_vec());
        }
        if let Some(b) = before_id {
            sql.push_str(" AND id < ?");
            args.push(Box::new(b));
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        args.push(Box::new(limit as i64));
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter().map(|a| a.as_ref())), alert_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Ids of the events grouped in an alert, oldest first.
    pub fn alert_event_ids(&self, alert_id: i64) -> Result<Vec<i64>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT event_id FROM alert_event WHERE alert_id = ?1 ORDER BY event_id")?;
        let rows = stmt.query_map([alert_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Moves an alert from `from` to `to`, recording who and when, with the
    /// audit entry `audit` makes of the alert as it now is, only if it is
    /// still in `from` (two operators racing: one wins). `Stale` if it was
    /// not in `from`, `NotFound` if there is no such alert; neither writes.
    pub fn transition_alert_audited(
        &self,
        id: i64,
        from: AlertState,
        to: AlertState,
        by: &str,
        at: Timestamp,
        audit: impl FnOnce(&Alert, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(Alert, AuditRow)> {
        let (by_col, at_col) = if to == AlertState::Acknowledged { ("acknowledged_by", "acknowledged_at") } else { ("closed_by", "closed_at") };
        let transition = |tx: &Transaction<'_>| {
            let n = tx.execute(
                &format!("UPDATE alert SET state = ?3, {by_col} = ?4, {at_col} = ?5 WHERE id = ?1 AND state = ?2"),
                params![id, from.as_str(), to.as_str(), by, to_text(at)],
            )?;
            let alert = tx.query_row(&format!("SELECT {ALERT_COLUMNS} FROM alert WHERE id = ?1"), [id], alert_row).optional()?;
            match (n, alert) {
                (_, None) => Err(StoreError::NotFound(format!("alert {id}"))),
                (0, Some(a)) => Err(StoreError::Stale(format!("alert {id} is {} now, not {}", a.state.as_str(), from.as_str()))),
                (_, Some(a)) => Ok(a),
            }
        };
        self.write_audited(transition, audit)
    }
}
