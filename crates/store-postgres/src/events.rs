//! [`EventRepo`] on PostgreSQL: events, rules and alerts. A batch of events
//! is one transaction and one statement (the ids are drawn first, so each
//! event knows its own); a person's change to a rule or an alert commits
//! with its audit entry (`PgStore::write_audited`, which locks the chain's
//! head before the row: the lock order every write follows).

use citywatch_audit::MakeRowAfter;
use citywatch_events::EventRepo;
use citywatch_model::event::{AlertChange, EventFilter};
use citywatch_model::{Alert, AlertState, AuditRow, Event, EventType, Location, RepoError, Rule, RuleSpec, Severity, Source, SourceKind, Timestamp};
use postgres::{GenericClient, Row, Transaction};

use crate::error::pg_error;
use crate::params::Params;
use crate::PgStore;

/// The columns [`event_from`] reads, in its order.
const EVENT_COLUMNS: &str = "id, type, time, source_kind, source_id, district, lat, lon, details::text, received_at";
/// The columns [`alert_from`] reads, in its order.
const ALERT_COLUMNS: &str = "id, rule_id, rule_name, state, severity, event_type, source_kind, source_id, district, lat, lon, \
     first_event_at, last_event_at, event_count, created_at, acknowledged_by, acknowledged_at, closed_by, closed_at";
/// The columns [`rule_from`] reads, in its order.
const RULE_COLUMNS: &str = "id, spec::text, created_by, updated_at";

impl EventRepo for PgStore {
    fn insert_events(&self, events: &mut [Event]) -> Result<(), RepoError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg_error)?;
        let count = i64::try_from(events.len()).map_err(|_| RepoError::Backend("too many events in one batch".into()))?;
        let mut ids: Vec<i64> = tx
            .query("SELECT nextval(pg_get_serial_sequence('event', 'id')) FROM generate_series(1::bigint, $1::bigint)", &[&count])
            .map_err(pg_error)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        ids.sort_unstable();
        let column = |f: &dyn Fn(&Event) -> String| events.iter().map(f).collect::<Vec<String>>();
        let types = column(&|e| e.event_type.as_str().to_owned());
        let kinds = column(&|e| e.source.kind.as_str().to_owned());
        let sources = column(&|e| e.source.id.clone());
        let details = column(&|e| e.details.to_string());
        let times: Vec<Timestamp> = events.iter().map(|e| e.time).collect();
        let received: Vec<Timestamp> = events.iter().map(|e| e.received_at).collect();
        let districts: Vec<Option<String>> = events.iter().map(|e| e.district.clone()).collect();
        let lats: Vec<Option<f64>> = events.iter().map(|e| e.location.map(|l| l.lat)).collect();
        let lons: Vec<Option<f64>> = events.iter().map(|e| e.location.map(|l| l.lon)).collect();
        tx.execute(
            "INSERT INTO event (id, type, time, source_kind, source_id, district, lat, lon, details, received_at)
             SELECT id, type, time, source_kind, source_id, district, lat, lon, details::json, received_at
             FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
                         $7::float8[], $8::float8[], $9::text[], $10::timestamptz[])
                  AS batch (id, type, time, source_kind, source_id, district, lat, lon, details, received_at)",
            &[&ids, &types, &times, &kinds, &sources, &districts, &lats, &lons, &details, &received],
        )
        .map_err(pg_error)?;
        tx.commit().map_err(pg_error)?;
        for (e, id) in events.iter_mut().zip(ids) {
            e.id = id;
        }
        Ok(())
    }

    fn events(&self, f: &EventFilter) -> Result<Vec<Event>, RepoError> {
        let mut sql = format!("SELECT {EVENT_COLUMNS} FROM event WHERE true");
        let mut p = Params::default();
        if !f.types.is_empty() {
            let types: Vec<String> = f.types.iter().map(|t| t.as_str().to_owned()).collect();
            sql.push_str(&format!(" AND type = ANY({})", p.push(types)));
        }
        if let Some(k) = f.source_kind {
            sql.push_str(&format!(" AND source_kind = {}", p.push(k.as_str().to_owned())));
        }
        if let Some(id) = &f.source_id {
            sql.push_str(&format!(" AND source_id = {}", p.push(id.clone())));
        }
        if let Some(t) = f.from {
            sql.push_str(&format!(" AND time >= {}", p.push(t)));
        }
        if let Some(t) = f.to {
            sql.push_str(&format!(" AND time < {}", p.push(t)));
        }
        if let Some(d) = &f.districts {
            sql.push_str(&format!(" AND district = ANY({})", p.push(d.clone())));
        }
        if let Some(b) = f.before_id {
            sql.push_str(&format!(" AND id < {}", p.push(b)));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", p.push(limit(f.limit))));
        let rows = self.client()?.query(&sql, &p.refs()).map_err(pg_error)?;
        rows.iter().map(event_from).collect()
    }

    fn event(&self, id: i64) -> Result<Option<Event>, RepoError> {
        let rows = self.client()?.query(&format!("SELECT {EVENT_COLUMNS} FROM event WHERE id = $1"), &[&id]).map_err(pg_error)?;
        rows.first().map(event_from).transpose()
    }

    fn count_events_since(&self, districts: Option<&[String]>, since: Timestamp) -> Result<u64, RepoError> {
        self.count_since("event", "time", districts, since)
    }

    fn count_alerts_since(&self, districts: Option<&[String]>, since: Timestamp) -> Result<u64, RepoError> {
        self.count_since("alert", "created_at", districts, since)
    }

    fn rules(&self) -> Result<Vec<Rule>, RepoError> {
        let rows = self.client()?.query(&format!("SELECT {RULE_COLUMNS} FROM rule ORDER BY id"), &[]).map_err(pg_error)?;
        rows.iter().map(rule_from).collect()
    }

    fn add_rule(&self, spec: &RuleSpec, by: &str, now: Timestamp, audit: MakeRowAfter<'_, Rule>) -> Result<(Rule, AuditRow), RepoError> {
        let json = spec_json(spec)?;
        let add = |tx: &mut Transaction<'_>| {
            let row = tx
                .query_one(
                    &format!("INSERT INTO rule (spec, created_by, updated_at) VALUES ($1::text::jsonb, $2, $3) RETURNING {RULE_COLUMNS}"),
                    &[&json, &by, &now],
                )
                .map_err(pg_error)?;
            rule_from(&row)
        };
        self.write_audited(add, audit)
    }

    fn replace_rule(&self, id: i64, spec: &RuleSpec, now: Timestamp, audit: MakeRowAfter<'_, Rule>) -> Result<(Rule, AuditRow), RepoError> {
        let json = spec_json(spec)?;
        let replace = |tx: &mut Transaction<'_>| {
            let rows = tx
                .query(&format!("UPDATE rule SET spec = $2::text::jsonb, updated_at = $3 WHERE id = $1 RETURNING {RULE_COLUMNS}"), &[&id, &json, &now])
                .map_err(pg_error)?;
            rows.first().map(rule_from).transpose()?.ok_or_else(|| RepoError::NotFound(format!("rule {id}")))
        };
        self.write_audited(replace, audit)
    }

    fn delete_rule(&self, id: i64, audit: MakeRowAfter<'_, Rule>) -> Result<(Rule, AuditRow), RepoError> {
        let delete = |tx: &mut Transaction<'_>| {
            let rows = tx.query(&format!("DELETE FROM rule WHERE id = $1 RETURNING {RULE_COLUMNS}"), &[&id]).map_err(pg_error)?;
            rows.first().map(rule_from).transpose()?.ok_or_else(|| RepoError::NotFound(format!("rule {id}")))
        };
        self.write_audited(delete, audit)
    }

    fn open_alerts_of_rule(&self, rule_id: i64, since: Timestamp) -> Result<Vec<Alert>, RepoError> {
        let rows = self
            .client()?
            .query(
                &format!("SELECT {ALERT_COLUMNS} FROM alert WHERE rule_id = $1 AND state IN ('new', 'acknowledged') AND last_event_at >= $2 ORDER BY id"),
                &[&rule_id, &since],
            )
            .map_err(pg_error)?;
        rows.iter().map(alert_from).collect()
    }

    fn apply_alert_changes(&self, changes: &[AlertChange]) -> Result<Vec<(Alert, bool)>, RepoError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg_error)?;
        let mut touched: Vec<(i64, bool)> = Vec::new();
        for c in changes {
            let (alert_id, event_ids, opened) = match c {
                AlertChange::Open { alert: a, event_ids } => {
                    let row = tx
                        .query_one(
                            "INSERT INTO alert (rule_id, rule_name, state, severity, event_type, source_kind, source_id, district, lat, lon,
                                                first_event_at, last_event_at, event_count, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                            &[
                                &a.rule_id,
                                &a.rule_name,
                                &a.state.as_str(),
                                &a.severity.as_str(),
                                &a.event_type.as_str(),
                                &a.source.kind.as_str(),
                                &a.source.id,
                                &a.district,
                                &a.location.map(|l| l.lat),
                                &a.location.map(|l| l.lon),
                                &a.first_event_at,
                                &a.last_event_at,
                                &a.event_count,
                                &a.created_at,
                            ],
                        )
                        .map_err(pg_error)?;
                    (row.get::<_, i64>(0), event_ids.as_slice(), true)
                }
                AlertChange::Join { alert_id, event_id, time } => {
                    let n = tx
                        .execute("UPDATE alert SET event_count = event_count + 1, last_event_at = GREATEST(last_event_at, $2) WHERE id = $1", &[alert_id, time])
                        .map_err(pg_error)?;
                    if n == 0 {
                        return Err(RepoError::NotFound(format!("alert {alert_id}")));
                    }
                    (*alert_id, std::slice::from_ref(event_id), false)
                }
            };
            tx.execute("INSERT INTO alert_event (alert_id, event_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING", &[&alert_id, &event_ids])
                .map_err(pg_error)?;
            if !touched.iter().any(|(id, _)| *id == alert_id) {
                touched.push((alert_id, opened));
            }
        }
        let mut out = Vec::with_capacity(touched.len());
        for (id, opened) in touched {
            out.push((alert_by_id(&mut tx, id)?.ok_or_else(|| RepoError::NotFound(format!("alert {id}")))?, opened));
        }
        tx.commit().map_err(pg_error)?;
        Ok(out)
    }

    fn alert(&self, id: i64) -> Result<Option<Alert>, RepoError> {
        alert_by_id(&mut *self.client()?, id)
    }

    fn alerts(&self, state: Option<AlertState>, districts: Option<&[String]>, before_id: Option<i64>, max: usize) -> Result<Vec<Alert>, RepoError> {
        let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alert WHERE true");
        let mut p = Params::default();
        if let Some(s) = state {
            sql.push_str(&format!(" AND state = {}", p.push(s.as_str().to_owned())));
        }
        if let Some(d) = districts {
            sql.push_str(&format!(" AND district = ANY({})", p.push(d.to_vec())));
        }
        if let Some(b) = before_id {
            sql.push_str(&format!(" AND id < {}", p.push(b)));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", p.push(limit(max))));
        let rows = self.client()?.query(&sql, &p.refs()).map_err(pg_error)?;
        rows.iter().map(alert_from).collect()
    }

    fn alert_event_ids(&self, alert_id: i64) -> Result<Vec<i64>, RepoError> {
        let rows = self.client()?.query("SELECT event_id FROM alert_event WHERE alert_id = $1 ORDER BY event_id", &[&alert_id]).map_err(pg_error)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn transition_alert(
        &self,
        id: i64,
        from: AlertState,
        to: AlertState,
        by: &str,
        at: Timestamp,
        audit: MakeRowAfter<'_, Alert>,
    ) -> Result<(Alert, AuditRow), RepoError> {
        let (by_col, at_col) = if to == AlertState::Acknowledged { ("acknowledged_by", "acknowledged_at") } else { ("closed_by", "closed_at") };
        let transition = |tx: &mut Transaction<'_>| {
            // The chain's head is locked already: a second operator's
            // transition waits there and then finds the state moved on.
            let n = tx
                .execute(
                    &format!("UPDATE alert SET state = $3, {by_col} = $4, {at_col} = $5 WHERE id = $1 AND state = $2"),
                    &[&id, &from.as_str(), &to.as_str(), &by, &at],
                )
                .map_err(pg_error)?;
            match (n, alert_by_id(tx, id)?) {
                (_, None) => Err(RepoError::NotFound(format!("alert {id}"))),
                (0, Some(a)) => Err(RepoError::Stale(format!("alert {id} is {} now, not {}", a.state.as_str(), from.as_str()))),
                (_, Some(a)) => Ok(a),
            }
        };
        self.write_audited(transition, audit)
    }
}

impl PgStore {
    fn count_since(&self, table: &str, column: &str, districts: Option<&[String]>, since: Timestamp) -> Result<u64, RepoError> {
        let mut p = Params::default();
        let mut sql = format!("SELECT count(*) FROM {table} WHERE {column} >= {}", p.push(since));
        if let Some(d) = districts {
            sql.push_str(&format!(" AND district = ANY({})", p.push(d.to_vec())));
        }
        let n: i64 = self.client()?.query_one(&sql, &p.refs()).map_err(pg_error)?.get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// A listing's limit as PostgreSQL takes it (a `usize::MAX` is "all").
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn spec_json(spec: &RuleSpec) -> Result<String, RepoError> {
    serde_json::to_string(spec).map_err(|e| RepoError::Backend(format!("a rule that cannot be written as JSON: {e}")))
}

fn alert_by_id(client: &mut impl GenericClient, id: i64) -> Result<Option<Alert>, RepoError> {
    let rows = client.query(&format!("SELECT {ALERT_COLUMNS} FROM alert WHERE id = $1"), &[&id]).map_err(pg_error)?;
    rows.first().map(alert_from).transpose()
}

fn corrupt(what: &str, id: i64, value: &str) -> RepoError {
    RepoError::Corrupt(format!("{what} of row {id}: {value:?}"))
}

fn location(lat: Option<f64>, lon: Option<f64>) -> Option<Location> {
    Some(Location { lat: lat?, lon: lon? })
}

fn source(id: i64, kind: &str, source_id: String) -> Result<Source, RepoError> {
    Ok(Source { kind: SourceKind::parse(kind).ok_or_else(|| corrupt("source kind", id, kind))?, id: source_id })
}

fn event_from(r: &Row) -> Result<Event, RepoError> {
    let id: i64 = r.get(0);
    let (t, kind, details): (String, String, String) = (r.get(1), r.get(3), r.get(8));
    Ok(Event {
        id,
        event_type: EventType::parse(&t).ok_or_else(|| corrupt("event type", id, &t))?,
        time: r.get(2),
        source: source(id, &kind, r.get(4))?,
        district: r.get(5),
        location: location(r.get(6), r.get(7)),
        details: serde_json::from_str(&details).map_err(|_| corrupt("event details", id, &details))?,
        received_at: r.get(9),
    })
}

fn alert_from(r: &Row) -> Result<Alert, RepoError> {
    let id: i64 = r.get(0);
    let (state, severity, t, kind): (String, String, String, String) = (r.get(3), r.get(4), r.get(5), r.get(6));
    Ok(Alert {
        id,
        rule_id: r.get(1),
        rule_name: r.get(2),
        state: AlertState::parse(&state).ok_or_else(|| corrupt("alert state", id, &state))?,
        severity: Severity::parse(&severity).ok_or_else(|| corrupt("alert severity", id, &severity))?,
        event_type: EventType::parse(&t).ok_or_else(|| corrupt("alert event type", id, &t))?,
        source: source(id, &kind, r.get(7))?,
        district: r.get(8),
        location: location(r.get(9), r.get(10)),
        first_event_at: r.get(11),
        last_event_at: r.get(12),
        event_count: r.get(13),
        created_at: r.get(14),
        acknowledged_by: r.get(15),
        acknowledged_at: r.get(16),
        closed_by: r.get(17),
        closed_at: r.get(18),
    })
}

fn rule_from(r: &Row) -> Result<Rule, RepoError> {
    let id: i64 = r.get(0);
    let spec: String = r.get(1);
    Ok(Rule { id, spec: serde_json::from_str::<RuleSpec>(&spec).map_err(|_| corrupt("rule", id, &spec))?, created_by: r.get(2), updated_at: r.get(3) })
}
