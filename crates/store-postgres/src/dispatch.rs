//! [`DispatchRepo`] on PostgreSQL: units, their devices and trail,
//! incidents with their assignments, timeline and checklist, and the
//! procedures. Each change a person makes runs in one transaction with its
//! audit entry (`PgStore::write_audited`, which locks the chain's head
//! first), so a node that dies between the two leaves neither.
//!
//! Lock order: the audit head, then the incident row, then unit rows. Every
//! audited write takes the head first, so they run one at a time and see
//! each other's commits; a fix (not audited) takes only its unit's row, and
//! waits for nothing an audited write holds while waiting for it.

use chrono::{DateTime, Utc};
use citywatch_audit::{MakeRow, MakeRowAfter};
use citywatch_dispatch::{CheckFix, DispatchRepo};
use citywatch_model::dispatch::{
    Assignment, ChecklistStep, ImplausibleFix, Incident, IncidentChange, IncidentLocation, IncidentState, NewIncident, Position, PositionOutcome, Procedure,
    StepState, TimelineEntry, TrailPoint, Unit, UnitKind, UnitSpec, UnitStatus,
};
use citywatch_model::{AuditRow, RepoError};
use postgres::{GenericClient, IsolationLevel, Row, Transaction};
use serde_json::Value;

use crate::error::pg_error;
use crate::PgStore;

/// The columns [`unit_from`] reads, in its order.
const UNIT_COLUMNS: &str = "id, call_sign, kind, officers::text, capabilities::text, status, lat, lon, pos_time, speed_mps, bearing_deg, district";

/// The columns [`incident_from`] reads, in its order.
const INCIDENT_COLUMNS: &str = "id, kind, priority, lat, lon, address, state, alert_id, created_by, created_at, closed_at, flagged";

impl PgStore {
    /// Runs `read` in one read-only transaction that sees one snapshot: an
    /// incident is read in four queries (row, units, checklist, timeline),
    /// which must not straddle another node's commit.
    fn read_snapshot<T>(&self, read: impl FnOnce(&mut Transaction<'_>) -> Result<T, RepoError>) -> Result<T, RepoError> {
        let mut client = self.client()?;
        let mut tx = client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().map_err(pg_error)?;
        let out = read(&mut tx)?;
        tx.commit().map_err(pg_error)?;
        Ok(out)
    }
}

impl DispatchRepo for PgStore {
    fn units(&self) -> Result<Vec<Unit>, RepoError> {
        let rows = self.client()?.query(&format!("SELECT {UNIT_COLUMNS} FROM unit ORDER BY id"), &[]).map_err(pg_error)?;
        rows.iter().map(unit_from).collect()
    }

    fn unit(&self, id: &str) -> Result<Option<Unit>, RepoError> {
        unit_in(&mut *self.client()?, id)
    }

    fn create_unit(&self, spec: &UnitSpec, audit: MakeRowAfter<'_, Unit>) -> Result<(Unit, AuditRow), RepoError> {
        let create = |tx: &mut Transaction<'_>| {
            if !tx.query("SELECT 1 FROM unit WHERE id = $1", &[&spec.id]).map_err(pg_error)?.is_empty() {
                return Err(RepoError::Conflict(format!("unit {}", spec.id)));
            }
            tx.execute(
                "INSERT INTO unit (id, call_sign, kind, officers, capabilities, district) VALUES ($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6)",
                &[&spec.id, &spec.call_sign, &spec.kind.as_str(), &json_text(&spec.officers), &json_text(&spec.capabilities), &spec.district],
            )
            .map_err(pg_error)?;
            stored_unit(tx, &spec.id)
        };
        self.write_audited(create, audit)
    }

    fn update_unit(&self, spec: &UnitSpec, audit: MakeRowAfter<'_, Unit>) -> Result<(Unit, AuditRow), RepoError> {
        let update = |tx: &mut Transaction<'_>| {
            let n = tx
                .execute(
                    "UPDATE unit SET call_sign = $2, kind = $3, officers = $4::text::jsonb, capabilities = $5::text::jsonb, district = $6 WHERE id = $1",
                    &[&spec.id, &spec.call_sign, &spec.kind.as_str(), &json_text(&spec.officers), &json_text(&spec.capabilities), &spec.district],
                )
                .map_err(pg_error)?;
            if n == 0 {
                return Err(RepoError::NotFound(format!("unit {}", spec.id)));
            }
            stored_unit(tx, &spec.id)
        };
        self.write_audited(update, audit)
    }

    fn delete_unit(&self, id: &str, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        let delete = |tx: &mut Transaction<'_>| {
            if let Some(incident) = current_incident_in(tx, id)? {
                return Err(RepoError::Stale(format!("unit {id} is on incident {incident}; clear it first")));
            }
            match tx.execute("DELETE FROM unit WHERE id = $1", &[&id]).map_err(pg_error)? {
                0 => Err(RepoError::NotFound(format!("unit {id}"))),
                _ => Ok(()),
            }
        };
        Ok(self.write_audited(delete, |(), head| audit(head))?.1)
    }

    fn report_unit_status(
        &self,
        unit_id: &str,
        from: UnitStatus,
        to: UnitStatus,
        entry: &TimelineEntry,
        audit: MakeRow<'_>,
    ) -> Result<(Option<i64>, AuditRow), RepoError> {
        let report = |tx: &mut Transaction<'_>| {
            let now = unit_status_for_update(tx, unit_id)?;
            if now != from {
                return Err(RepoError::Stale(format!(
                    "unit {unit_id} is {} now, not {}: someone changed it first; reload and try again",
                    now.as_str(),
                    from.as_str()
                )));
            }
            let incident = current_incident_in(tx, unit_id)?;
            tx.execute("UPDATE unit SET status = $2 WHERE id = $1", &[&unit_id, &to.as_str()]).map_err(pg_error)?;
            if let Some(incident) = incident {
                if !to.is_committed() {
                    tx.execute(
                        "UPDATE incident_unit SET released_at = $3 WHERE incident_id = $1 AND unit_id = $2 AND released_at IS NULL",
                        &[&incident, &unit_id, &entry.time],
                    )
                    .map_err(pg_error)?;
                }
                add_timeline(tx, incident, entry)?;
            }
            Ok(incident)
        };
        self.write_audited(report, |_, head| audit(head))
    }

    fn register_device(&self, device_id: &str, unit_id: &str, token_hash: &str, now: DateTime<Utc>, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        let register = |tx: &mut Transaction<'_>| {
            unit_status_for_update(tx, unit_id)?;
            let owner = tx.query("SELECT unit_id FROM unit_device WHERE id = $1", &[&device_id]).map_err(pg_error)?;
            if let Some(owner) = owner.first().map(|r| r.get::<_, String>(0)).filter(|o| o != unit_id) {
                return Err(RepoError::Conflict(format!("device {device_id} (registered to unit {owner})")));
            }
            tx.execute(
                "INSERT INTO unit_device (id, unit_id, token_hash, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET unit_id = excluded.unit_id, token_hash = excluded.token_hash, created_at = excluded.created_at",
                &[&device_id, &unit_id, &token_hash, &now],
            )
            .map_err(pg_error)?;
            Ok(())
        };
        Ok(self.write_audited(register, |(), head| audit(head))?.1)
    }

    fn unit_device(&self, device_id: &str) -> Result<Option<(String, String)>, RepoError> {
        let rows = self.client()?.query("SELECT unit_id, token_hash FROM unit_device WHERE id = $1", &[&device_id]).map_err(pg_error)?;
        Ok(rows.first().map(|r| (r.get(0), r.get(1))))
    }

    /// The unit's row is locked first: two fixes of one unit at once are
    /// judged one after the other, each against the position the other left.
    fn add_position(&self, device_id: &str, p: &Position, received_at: DateTime<Utc>, check: CheckFix<'_>) -> Result<PositionOutcome, RepoError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg_error)?;
        let current = tx.query("SELECT lat, lon, pos_time, speed_mps, bearing_deg FROM unit WHERE id = $1 FOR UPDATE", &[&p.unit_id]).map_err(pg_error)?;
        let current = current.first().and_then(|r| match (r.get::<_, Option<f64>>(0), r.get::<_, Option<f64>>(1), r.get::<_, Option<DateTime<Utc>>>(2)) {
            (Some(lat), Some(lon), Some(time)) => Some(Position { unit_id: p.unit_id.clone(), lat, lon, time, speed_mps: r.get(3), bearing_deg: r.get(4) }),
            _ => None,
        });
        let flag = check(current.as_ref());
        let inserted = tx
            .execute(
                "INSERT INTO unit_position (unit_id, device_id, lat, lon, time, speed_mps, bearing_deg, received_at, implausible)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (device_id, time) DO NOTHING",
                &[&p.unit_id, &device_id, &p.lat, &p.lon, &p.time, &p.speed_mps, &p.bearing_deg, &received_at, &flag.map(|f| f.as_str())],
            )
            .map_err(pg_error)?;
        if inserted == 0 {
            return Ok(PositionOutcome::Duplicate);
        }
        let outcome = if let Some(flag) = flag {
            PositionOutcome::Implausible(flag)
        } else if current.as_ref().is_some_and(|c| c.time >= p.time) {
            PositionOutcome::OutOfOrder
        } else {
            tx.execute(
                "UPDATE unit SET lat = $2, lon = $3, pos_time = $4, speed_mps = $5, bearing_deg = $6 WHERE id = $1",
                &[&p.unit_id, &p.lat, &p.lon, &p.time, &p.speed_mps, &p.bearing_deg],
            )
            .map_err(pg_error)?;
            PositionOutcome::Current
        };
        tx.commit().map_err(pg_error)?;
        Ok(outcome)
    }

    fn unit_trail(&self, unit_id: &str, start: DateTime<Utc>, end: DateTime<Utc>, limit: usize) -> Result<Vec<TrailPoint>, RepoError> {
        let rows = self
            .client()?
            .query(
                "SELECT lat, lon, time, speed_mps, bearing_deg, implausible FROM unit_position
                 WHERE unit_id = $1 AND time >= $2 AND time < $3 ORDER BY time, id LIMIT $4",
                &[&unit_id, &start, &end, &sql_limit(limit)],
            )
            .map_err(pg_error)?;
        rows.iter()
            .map(|r| {
                let implausible = match r.get::<_, Option<String>>(5) {
                    None => None,
                    Some(f) => Some(ImplausibleFix::parse(&f).ok_or_else(|| RepoError::Corrupt(format!("unknown implausible-fix reason {f:?}")))?),
                };
                let position =
                    Position { unit_id: unit_id.to_owned(), lat: r.get(0), lon: r.get(1), time: r.get(2), speed_mps: r.get(3), bearing_deg: r.get(4) };
                Ok(TrailPoint { position, implausible })
            })
            .collect()
    }

    fn incident(&self, id: i64) -> Result<Option<Incident>, RepoError> {
        self.read_snapshot(|tx| {
            let rows = tx.query(&format!("SELECT {INCIDENT_COLUMNS} FROM incident WHERE id = $1"), &[&id]).map_err(pg_error)?;
            rows.first().map(|r| incident_from(tx, r)).transpose()
        })
    }

    fn incidents(&self, state: Option<IncidentState>, flagged: Option<bool>, limit: usize) -> Result<Vec<Incident>, RepoError> {
        self.read_snapshot(|tx| {
            let rows = tx
                .query(
                    &format!(
                        "SELECT {INCIDENT_COLUMNS} FROM incident WHERE ($1::text IS NULL OR state = $1) AND ($2::boolean IS NULL OR flagged = $2)
                         ORDER BY id DESC LIMIT $3"
                    ),
                    &[&state.map(|s| s.as_str()), &flagged, &sql_limit(limit)],
                )
                .map_err(pg_error)?;
            rows.iter().map(|r| incident_from(tx, r)).collect()
        })
    }

    fn current_incident_of(&self, unit_id: &str) -> Result<Option<i64>, RepoError> {
        current_incident_in(&mut *self.client()?, unit_id)
    }

    fn create_incident(
        &self,
        new: &NewIncident,
        procedure: Option<&Procedure>,
        detail: &Value,
        now: DateTime<Utc>,
        audit: MakeRowAfter<'_, i64>,
    ) -> Result<(i64, AuditRow), RepoError> {
        let create = |tx: &mut Transaction<'_>| {
            let l = &new.location;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO incident (kind, priority, lat, lon, address, alert_id, created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    &[&new.kind, &i16::from(new.priority), &l.lat, &l.lon, &l.address, &new.alert_id, &new.created_by, &now],
                )
                .map_err(pg_error)?
                .get(0);
            for (i, text) in procedure.map(|p| p.steps.as_slice()).unwrap_or_default().iter().enumerate() {
                let step = i32::try_from(i + 1).map_err(|_| RepoError::Backend("a checklist of more than 2^31 steps".into()))?;
                tx.execute("INSERT INTO incident_checklist (incident_id, step, text) VALUES ($1, $2, $3)", &[&id, &step, text]).map_err(pg_error)?;
            }
            let created = TimelineEntry { time: now, actor: new.created_by.clone(), kind: "created".into(), detail: detail.clone() };
            add_timeline(tx, id, &created)?;
            Ok(id)
        };
        self.write_audited(create, audit)
    }

    fn change_incident(&self, id: i64, change: IncidentChange<'_>, entry: &TimelineEntry, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        Ok(self.write_audited(|tx| change_incident_in(tx, id, change, entry), |(), head| audit(head))?.1)
    }

    fn put_procedure(&self, p: &Procedure, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        let put = |tx: &mut Transaction<'_>| {
            tx.execute(
                "INSERT INTO procedure (incident_type, steps) VALUES ($1, $2::text::jsonb) ON CONFLICT (incident_type) DO UPDATE SET steps = excluded.steps",
                &[&p.incident_type, &json_text(&p.steps)],
            )
            .map_err(pg_error)?;
            Ok(())
        };
        Ok(self.write_audited(put, |(), head| audit(head))?.1)
    }

    fn procedure(&self, incident_type: &str) -> Result<Option<Procedure>, RepoError> {
        let rows = self.client()?.query("SELECT steps::text FROM procedure WHERE incident_type = $1", &[&incident_type]).map_err(pg_error)?;
        rows.first().map(|r| Ok(Procedure { incident_type: incident_type.to_owned(), steps: json_list(&r.get::<_, String>(0))? })).transpose()
    }

    fn procedures(&self) -> Result<Vec<Procedure>, RepoError> {
        let rows = self.client()?.query("SELECT incident_type, steps::text FROM procedure ORDER BY incident_type", &[]).map_err(pg_error)?;
        rows.iter().map(|r| Ok(Procedure { incident_type: r.get(0), steps: json_list(&r.get::<_, String>(1))? })).collect()
    }
}

/// Applies `change` to incident `id` and appends `entry` to its timeline,
/// checking again what the workflow judged on its earlier read: the
/// incident exists (`NotFound`) and is open (`Stale`); an assigned unit
/// exists (`NotFound`) and is available (`Stale`); a checklist step exists
/// (`NotFound`). The incident's row is locked before any unit's.
fn change_incident_in(tx: &mut Transaction<'_>, id: i64, change: IncidentChange<'_>, entry: &TimelineEntry) -> Result<(), RepoError> {
    let state = tx.query("SELECT state FROM incident WHERE id = $1 FOR UPDATE", &[&id]).map_err(pg_error)?;
    match state.first().map(|r| r.get::<_, String>(0)).as_deref() {
        None => return Err(RepoError::NotFound(format!("incident {id}"))),
        Some("open") => {}
        Some(_) => return Err(RepoError::Stale(format!("incident {id} is closed"))),
    }
    let (actor, t) = (entry.actor.as_str(), entry.time);
    match change {
        IncidentChange::Note => {}
        IncidentChange::Assign { unit_id } => {
            let status = unit_status_for_update(tx, unit_id)?;
            if status != UnitStatus::Available {
                return Err(RepoError::Stale(format!("unit {unit_id} is {}, not available", status.as_str())));
            }
            tx.execute("INSERT INTO incident_unit (incident_id, unit_id, assigned_by, assigned_at) VALUES ($1, $2, $3, $4)", &[&id, &unit_id, &actor, &t])
                .map_err(pg_error)?;
            tx.execute("UPDATE unit SET status = 'dispatched' WHERE id = $1", &[&unit_id]).map_err(pg_error)?;
        }
        IncidentChange::Checklist { step, state } => {
            let step = i32::try_from(step).map_err(|_| RepoError::NotFound(format!("checklist step {step} of incident {id}")))?;
            let n = tx
                .execute(
                    "UPDATE incident_checklist SET state = $3, by_user = $4, at = $5 WHERE incident_id = $1 AND step = $2",
                    &[&id, &step, &state.as_str(), &actor, &t],
                )
                .map_err(pg_error)?;
            if n == 0 {
                return Err(RepoError::NotFound(format!("checklist step {step} of incident {id}")));
            }
        }
        IncidentChange::Close { flagged } => {
            tx.execute(
                "UPDATE incident_checklist SET state = 'skipped', by_user = $2, at = $3 WHERE incident_id = $1 AND state = 'pending'",
                &[&id, &actor, &t],
            )
            .map_err(pg_error)?;
            tx.execute(
                "UPDATE unit SET status = 'available' WHERE id IN (SELECT unit_id FROM incident_unit WHERE incident_id = $1 AND released_at IS NULL)
                 AND status IN ('dispatched', 'en_route', 'on_scene')",
                &[&id],
            )
            .map_err(pg_error)?;
            tx.execute("UPDATE incident_unit SET released_at = $2 WHERE incident_id = $1 AND released_at IS NULL", &[&id, &t]).map_err(pg_error)?;
            tx.execute("UPDATE incident SET state = 'closed', closed_at = $2, flagged = $3 WHERE id = $1", &[&id, &t, &flagged]).map_err(pg_error)?;
        }
    }
    add_timeline(tx, id, entry)
}

fn add_timeline(tx: &mut Transaction<'_>, incident: i64, entry: &TimelineEntry) -> Result<(), RepoError> {
    tx.execute(
        "INSERT INTO incident_timeline (incident_id, time, actor, kind, detail) VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        &[&incident, &entry.time, &entry.actor, &entry.kind, &entry.detail.to_string()],
    )
    .map_err(pg_error)?;
    Ok(())
}

/// A unit's status, its row locked for the rest of the transaction;
/// `NotFound` if there is no such unit.
fn unit_status_for_update(tx: &mut Transaction<'_>, id: &str) -> Result<UnitStatus, RepoError> {
    let rows = tx.query("SELECT status FROM unit WHERE id = $1 FOR UPDATE", &[&id]).map_err(pg_error)?;
    let status: String = rows.first().ok_or_else(|| RepoError::NotFound(format!("unit {id}")))?.get(0);
    UnitStatus::parse(&status).ok_or_else(|| RepoError::Corrupt(format!("unit {id}: status {status:?}")))
}

fn current_incident_in(client: &mut impl GenericClient, unit_id: &str) -> Result<Option<i64>, RepoError> {
    let rows = client
        .query(
            "SELECT i.id FROM incident_unit u JOIN incident i ON i.id = u.incident_id
             WHERE u.unit_id = $1 AND u.released_at IS NULL AND i.state = 'open' ORDER BY u.assigned_at DESC, u.id DESC LIMIT 1",
            &[&unit_id],
        )
        .map_err(pg_error)?;
    Ok(rows.first().map(|r| r.get(0)))
}

fn unit_in(client: &mut impl GenericClient, id: &str) -> Result<Option<Unit>, RepoError> {
    let rows = client.query(&format!("SELECT {UNIT_COLUMNS} FROM unit WHERE id = $1"), &[&id]).map_err(pg_error)?;
    rows.first().map(unit_from).transpose()
}

/// The unit just written in `tx`, as the audit maker and the caller get it.
fn stored_unit(tx: &mut Transaction<'_>, id: &str) -> Result<Unit, RepoError> {
    unit_in(tx, id)?.ok_or_else(|| RepoError::NotFound(format!("unit {id}")))
}

fn unit_from(r: &Row) -> Result<Unit, RepoError> {
    let id: String = r.get(0);
    let (kind, status): (String, String) = (r.get(2), r.get(5));
    let position = match (r.get::<_, Option<f64>>(6), r.get::<_, Option<f64>>(7), r.get::<_, Option<DateTime<Utc>>>(8)) {
        (Some(lat), Some(lon), Some(time)) => Some(Position { unit_id: id.clone(), lat, lon, time, speed_mps: r.get(9), bearing_deg: r.get(10) }),
        _ => None,
    };
    Ok(Unit {
        kind: UnitKind::parse(&kind).ok_or_else(|| RepoError::Corrupt(format!("unit {id}: kind {kind:?}")))?,
        status: UnitStatus::parse(&status).ok_or_else(|| RepoError::Corrupt(format!("unit {id}: status {status:?}")))?,
        officers: json_list(&r.get::<_, String>(3))?,
        capabilities: json_list(&r.get::<_, String>(4))?,
        call_sign: r.get(1),
        position,
        district: r.get(11),
        id,
    })
}

/// An incident from its row and, read in the same snapshot, its units,
/// checklist and timeline.
fn incident_from(tx: &mut Transaction<'_>, r: &Row) -> Result<Incident, RepoError> {
    let id: i64 = r.get(0);
    let state: String = r.get(6);
    let priority = u8::try_from(r.get::<_, i16>(2)).map_err(|_| RepoError::Corrupt(format!("incident {id}: priority out of range")))?;
    let units = tx
        .query("SELECT unit_id, assigned_by, assigned_at, released_at FROM incident_unit WHERE incident_id = $1 ORDER BY assigned_at, id", &[&id])
        .map_err(pg_error)?
        .iter()
        .map(|u| Assignment { unit_id: u.get(0), assigned_by: u.get(1), assigned_at: u.get(2), released_at: u.get(3) })
        .collect();
    let checklist = tx
        .query("SELECT step, text, state, by_user, at FROM incident_checklist WHERE incident_id = $1 ORDER BY step", &[&id])
        .map_err(pg_error)?
        .iter()
        .map(|s| {
            let (step, state): (i32, String) = (s.get(0), s.get(2));
            Ok(ChecklistStep {
                step: u32::try_from(step).map_err(|_| RepoError::Corrupt(format!("incident {id}: checklist step {step}")))?,
                text: s.get(1),
                state: StepState::parse(&state).ok_or_else(|| RepoError::Corrupt(format!("incident {id} step {step}: state {state:?}")))?,
                by: s.get(3),
                at: s.get(4),
            })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    let timeline = tx
        .query("SELECT time, actor, kind, detail::text FROM incident_timeline WHERE incident_id = $1 ORDER BY id", &[&id])
        .map_err(pg_error)?
        .iter()
        .map(|e| {
            let detail: String = e.get(3);
            let detail = serde_json::from_str(&detail).map_err(|err| RepoError::Corrupt(format!("incident {id} timeline detail: {err}")))?;
            Ok(TimelineEntry { time: e.get(0), actor: e.get(1), kind: e.get(2), detail })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    Ok(Incident {
        state: IncidentState::parse(&state).ok_or_else(|| RepoError::Corrupt(format!("incident {id}: state {state:?}")))?,
        location: IncidentLocation { lat: r.get(3), lon: r.get(4), address: r.get(5) },
        kind: r.get(1),
        priority,
        alert_id: r.get(7),
        created_by: r.get(8),
        created_at: r.get(9),
        closed_at: r.get(10),
        flagged: r.get(11),
        id,
        units,
        checklist,
        timeline,
    })
}

fn json_text(list: &[String]) -> String {
    serde_json::to_string(list).expect("a list of strings serialises")
}

fn json_list(s: &str) -> Result<Vec<String>, RepoError> {
    serde_json::from_str(s).map_err(|e| RepoError::Corrupt(format!("bad JSON list {s:?}: {e}")))
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
