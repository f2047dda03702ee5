//! Rows of dispatch: units, their devices and position trail, incidents
//! with their assignments, timeline and checklist, and procedures.
//! `citywatch-dispatch` decides what goes in them (status transitions,
//! what closing does); this module only keeps them.

use chrono::{DateTime, Utc};
use citywatch_model::dispatch::{
    Assignment, ChecklistStep, ImplausibleFix, Incident, IncidentLocation, IncidentState, NewIncident, Position, Procedure, StepState, TimelineEntry, Unit,
    UnitKind, UnitSpec, UnitStatus,
};
pub use citywatch_model::dispatch::{IncidentChange, PositionOutcome, TrailPoint};
use citywatch_model::{AuditRow, ChainHead};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use serde_json::Value;

use crate::time::{from_text, to_text};
use crate::{Result, Store, StoreError};

const UNIT_COLUMNS: &str = "id, call_sign, kind, officers, capabilities, status, lat, lon, pos_time, speed_mps, bearing_deg, district";

fn json_list(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("bad JSON list {s:?}: {e}")))
}

type RawUnit = (String, String, String, String, String, String, Option<f64>, Option<f64>, Option<String>, Option<f64>, Option<f64>, Option<String>);

fn raw_unit(r: &Row<'_>) -> rusqlite::Result<RawUnit> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?))
}

fn finish_unit(raw: RawUnit) -> Result<Unit> {
    let (id, call_sign, kind, officers, capabilities, status, lat, lon, pos_time, speed_mps, bearing_deg, district) = raw;
    let position = match (lat, lon, pos_time) {
        (Some(lat), Some(lon), Some(t)) => Some(Position { unit_id: id.clone(), lat, lon, time: from_text(&t)?, speed_mps, bearing_deg }),
        _ => None,
    };
    Ok(Unit {
        kind: UnitKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("unit {id}: kind {kind:?}")))?,
        status: UnitStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("unit {id}: status {status:?}")))?,
        officers: json_list(&officers)?,
        capabilities: json_list(&capabilities)?,
        call_sign,
        position,
        district,
        id,
    })
}

impl Store {
    pub fn create_unit(&self, spec: &UnitSpec) -> Result<Unit> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let unit = create_unit_in(&tx, spec)?;
        tx.commit()?;
        Ok(unit)
    }

    /// [`Store::create_unit`] committed with the audit entry `audit` makes
    /// from the unit as stored.
    pub fn create_unit_audited(&self, spec: &UnitSpec, audit: impl FnOnce(&Unit, Option<&ChainHead>) -> AuditRow) -> Result<(Unit, AuditRow)> {
        self.write_audited(|tx| create_unit_in(tx, spec), audit)
    }

    /// Changes call sign, kind, officers, capabilities and home district;
    /// status and position are the workflow's.
    pub fn update_unit(&self, spec: &UnitSpec) -> Result<Unit> {
        update_unit_in(&self.conn(), spec)
    }

    /// [`Store::update_unit`] committed with its audit entry.
    pub fn update_unit_audited(&self, spec: &UnitSpec, audit: impl FnOnce(&Unit, Option<&ChainHead>) -> AuditRow) -> Result<(Unit, AuditRow)> {
        self.write_audited(|tx| update_unit_in(tx, spec), audit)
    }

    pub fn delete_unit(&self, id: &str) -> Result<bool> {
        Ok(self.conn().execute("DELETE FROM unit WHERE id = ?1", [id])? > 0)
    }

    /// Deletes a unit with its audit entry: `NotFound` if there is none,
    /// `Stale` while it is on an open incident (checked in the deleting
    /// transaction, so an assignment cannot slip in between).
    pub fn delete_unit_audited(&self, id: &str, audit: impl FnOnce(Option<&ChainHead>) -> AuditRow) -> Result<AuditRow> {
        let delete = |tx: &Transaction<'_>| {
            if let Some(incident) = current_incident_in(tx, id)? {
                return Err(StoreError::Stale(format!("unit {id} is on incident {incident}; clear it first")));
            }
            match tx.execute("DELETE FROM unit WHERE id = ?1", [id])? {
                0 => Err(StoreError::NotFound(format!("unit {id}"))),
                _ => Ok(()),
            }
        };
        Ok(self.write_audited(delete, |(), head| audit(head))?.1)
    }

    pub fn unit(&self, id: &str) -> Result<Option<Unit>> {
        unit_in(&self.conn(), id)
    }

    pub fn units(&self) -> Result<Vec<Unit>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {UNIT_COLUMNS} FROM unit ORDER BY id"))?;
        let raw = stmt.query_map([], raw_unit)?.collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(finish_unit).collect()
    }

    pub fn set_unit_status(&self, id: &str, status: UnitStatus) -> Result<()> {
        if self.conn().execute("UPDATE unit SET status = ?2 WHERE id = ?1", params![id, status.as_str()])? == 0 {
            return Err(StoreError::NotFound(format!("unit {id}")));
        }
        Ok(())
    }

    /// A unit's status report, committed with its audit entry: the unit
    /// goes from `from` to `to`, and if it is on an open incident the
    /// incident's timeline gets `entry` (and a unit no longer committed is
    /// released from it). `Stale` if the unit's status is no longer `from`
    /// (another report or an assignment came first): the caller judged the
    /// transition on what it read. Returns the incident it was on.
    pub fn report_unit_status_audited(
        &self,
        unit_id: &str,
        from: UnitStatus,
        to: UnitStatus,
        entry: &TimelineEntry,
        audit: impl FnOnce(Option<&ChainHead>) -> AuditRow,
    ) -> Result<(Option<i64>, AuditRow)> {
        let report = |tx: &Transaction<'_>| {
            let now = unit_status_in(tx, unit_id)?;
            if now != from {
                return Err(StoreError::Stale(format!(
                    "unit {unit_id} is {} now, not {}: someone changed it first; reload and try again",
                    now.as_str(),
                    from.as_str()
                )));
            }
            let incident = current_incident_in(tx, unit_id)?;
            tx.execute("UPDATE unit SET status = ?2 WHERE id = ?1", params![unit_id, to.as_str()])?;
            if let Some(incident) = incident {
                if !to.is_committed() {
                    tx.execute(
                        "UPDATE incident_unit SET released_at = ?3 WHERE incident_id = ?1 AND unit_id = ?2 AND released_at IS NULL",
                        params![incident, unit_id, to_text(entry.time)],
                    )?;
                }
                timeline_tx(tx, incident, entry.time, &entry.actor, &entry.kind, &entry.detail)?;
            }
            Ok(incident)
        };
        self.write_audited(report, |_, head| audit(head))
    }

    /// Registers a device for a unit (or moves an existing device id to it
    /// with a new token).
    pub fn put_unit_device(&self, device_id: &str, unit_id: &str, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        put_unit_device_in(&self.conn(), device_id, unit_id, token_hash, now)
    }

    /// Registers (or re-keys) a unit's device with its audit entry:
    /// `NotFound` for no such unit, `Conflict` if the device is another
    /// unit's (a device is never taken over).
    pub fn register_unit_device_audited(
        &self,
        device_id: &str,
        unit_id: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        audit: impl FnOnce(Option<&ChainHead>) -> AuditRow,
    ) -> Result<AuditRow> {
        let register = |tx: &Transaction<'_>| {
            unit_status_in(tx, unit_id)?;
            let owner: Option<String> = tx.query_row("SELECT unit_id FROM unit_device WHERE id = ?1", [device_id], |r| r.get(0)).optional()?;
            if let Some(owner) = owner.filter(|o| o != unit_id) {
                return Err(StoreError::Conflict(format!("device {device_id} (registered to unit {owner})")));
            }
            put_unit_device_in(tx, device_id, unit_id, token_hash, now)
        };
        Ok(self.write_audited(register, |(), head| audit(head))?.1)
    }

    /// The unit and token hash of a device.
    pub fn unit_device(&self, device_id: &str) -> Result<Option<(String, String)>> {
        Ok(self.conn().query_row("SELECT unit_id, token_hash FROM unit_device WHERE id = ?1", [device_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?)
    }

    /// Device ids of a unit.
    pub fn unit_devices(&self, unit_id: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id FROM unit_device WHERE unit_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([unit_id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Adds a fix to the trail and, if it is the unit's newest, makes it the
    /// current position, in one transaction.
    pub fn add_position(&self, device_id: &str, p: &Position, received_at: DateTime<Utc>) -> Result<PositionOutcome> {
        self.add_position_checked(device_id, p, received_at, |_| None)
    }

    /// Like [`Store::add_position`], after asking `check` (given the unit's
    /// current position, read in the same transaction) whether the fix is
    /// plausible: one that is not is kept in the trail with the reason and
    /// never becomes the position.
    pub fn add_position_checked(
        &self,
        device_id: &str,
        p: &Position,
        received_at: DateTime<Utc>,
        check: impl FnOnce(Option<&Position>) -> Option<ImplausibleFix>,
    ) -> Result<PositionOutcome> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let current = tx
            .query_row("SELECT lat, lon, pos_time, speed_mps, bearing_deg FROM unit WHERE id = ?1", [&p.unit_id], |r| {
                Ok((r.get::<_, Option<f64>>(0)?, r.get::<_, Option<f64>>(1)?, r.get::<_, Option<String>>(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        let current = match current {
            Some((Some(lat), Some(lon), Some(t), speed_mps, bearing_deg)) => {
                Some(Position { unit_id: p.unit_id.clone(), lat, lon, time: from_text(&t)?, speed_mps, bearing_deg })
            }
            _ => None,
        };
        let flag = check(current.as_ref());
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO unit_position (unit_id, device_id, lat, lon, time, speed_mps, bearing_deg, received_at, implausible)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![p.unit_id, device_id, p.lat, p.lon, to_text(p.time), p.speed_mps, p.bearing_deg, to_text(received_at), flag.map(|f| f.as_str())],
        )?;
        if inserted == 0 {
            return Ok(PositionOutcome::Duplicate);
        }
        let outcome = if let Some(flag) = flag {
            PositionOutcome::Implausible(flag)
        } else if current.as_ref().is_some_and(|c| c.time >= p.time) {
            PositionOutcome::OutOfOrder
        } else {
            tx.execute(
                "UPDATE unit SET lat = ?2, lon = ?3, pos_time = ?4, speed_mps = ?5, bearing_deg = ?6 WHERE id = ?1",
                params![p.unit_id, p.lat, p.lon, to_text(p.time), p.speed_mps, p.bearing_deg],
            )?;
            PositionOutcome::Current
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// A unit's fixes with device time in [start, end), oldest first, at most
    /// `limit`, implausible ones included (flagged).
    pub fn unit_trail(&self, unit_id: &str, start: DateTime<Utc>, end: DateTime<Utc>, limit: usize) -> Result<Vec<TrailPoint>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT lat, lon, time, speed_mps, bearing_deg, implausible FROM unit_position
             WHERE unit_id = ?1 AND time >= ?2 AND time < ?3 ORDER BY time, id LIMIT ?4",
        )?;
        let raw = stmt
            .query_map(params![unit_id, to_text(start), to_text(end), limit as i64], |r| {
                Ok((r.get::<_, f64>(0)?, r.get::<_, f64>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?, r.get::<_, Option<String>>(5)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter()
            .map(|(lat, lon, t, speed_mps, bearing_deg, flag)| {
                let implausible = match flag {
                    None => None,
                    Some(f) => Some(ImplausibleFix::parse(&f).ok_or_else(|| StoreError::Corrupt(format!("unknown implausible-fix reason {f:?}")))?),
                };
                Ok(TrailPoint { position: Position { unit_id: unit_id.to_owned(), lat, lon, time: from_text(&t)?, speed_mps, bearing_deg }, implausible })
            })
            .collect()
    }
}

fn create_unit_in(conn: &Connection, spec: &UnitSpec) -> Result<Unit> {
    let exists: bool = conn.query_row("SELECT count(*) FROM unit WHERE id = ?1", [&spec.id], |r| r.get::<_, i64>(0))? > 0;
    if exists {
        return Err(StoreError::Conflict(format!("unit {}", spec.id)));
    }
    conn.execute(
        "INSERT INTO unit (id, call_sign, kind, officers, capabilities, district) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            spec.id,
            spec.call_sign,
            spec.kind.as_str(),
            serde_json::to_string(&spec.officers).unwrap(),
            serde_json::to_string(&spec.capabilities).unwrap(),
            spec.district
        ],
    )?;
    unit_in(conn, &spec.id)?.ok_or_else(|| StoreError::NotFound(format!("unit {}", spec.id)))
}

fn update_unit_in(conn: &Connection, spec: &UnitSpec) -> Result<Unit> {
    let n = conn.execute(
        "UPDATE unit SET call_sign = ?2, kind = ?3, officers = ?4, capabilities = ?5, district = ?6 WHERE id = ?1",
        params![
            spec.id,
            spec.call_sign,
            spec.kind.as_str(),
            serde_json::to_string(&spec.officers).unwrap(),
            serde_json::to_string(&spec.capabilities).unwrap(),
            spec.district
        ],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("unit {}", spec.id)));
    }
    unit_in(conn, &spec.id)?.ok_or_else(|| StoreError::NotFound(format!("unit {}", spec.id)))
}

fn unit_in(conn: &Connection, id: &str) -> Result<Option<Unit>> {
    let raw = conn.query_row(&format!("SELECT {UNIT_COLUMNS} FROM unit WHERE id = ?1"), [id], raw_unit).optional()?;
    raw.map(finish_unit).transpose()
}

/// A unit's status as the transaction sees it; `NotFound` if there is no such unit.
fn unit_status_in(conn: &Connection, id: &str) -> Result<UnitStatus> {
    let status: Option<String> = conn.query_row("SELECT status FROM unit WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    let status = status.ok_or_else(|| StoreError::NotFound(format!("unit {id}")))?;
    UnitStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("unit {id}: status {status:?}")))
}

fn put_unit_device_in(conn: &Connection, device_id: &str, unit_id: &str, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "INSERT INTO unit_device (id, unit_id, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET unit_id = excluded.unit_id, token_hash = excluded.token_hash, created_at = excluded.created_at",
        params![device_id, unit_id, token_hash, to_text(now)],
    )?;
    Ok(())
}

fn current_incident_in(conn: &Connection, unit_id: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT i.id FROM incident_unit u JOIN incident i ON i.id = u.incident_id
             WHERE u.unit_id = ?1 AND u.released_at IS NULL AND i.state = 'open' ORDER BY u.assigned_at DESC LIMIT 1",
            [unit_id],
            |r| r.get(0),
        )
        .optional()?)
}

fn timeline_tx(tx: &Transaction<'_>, incident: i64, now: DateTime<Utc>, actor: &str, kind: &str, detail: &Value) -> Result<()> {
    tx.execute(
        "INSERT INTO incident_timeline (incident_id, time, actor, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![incident, to_text(now), actor, kind, detail.to_string()],
    )?;
    Ok(())
}

const INCIDENT_COLUMNS: &str = "id, kind, priority, lat, lon, address, state, alert_id, created_by, created_at, closed_at, flagged";

type RawIncident = (i64, String, u8, f64, f64, Option<String>, String, Option<i64>, String, String, Option<String>, bool);

fn raw_incident(r: &Row<'_>) -> rusqlite::Result<RawIncident> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?))
}

impl Store {
    /// Creates an incident, its checklist copied from `procedure`, and its
    /// `created` timeline entry.
    pub fn create_incident(&self, new: &NewIncident, procedure: Option<&Procedure>, detail: &Value, now: DateTime<Utc>) -> Result<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = create_incident_in(&tx, new, procedure, detail, now)?;
        tx.commit()?;
        Ok(id)
    }

    /// [`Store::create_incident`] committed with the audit entry `audit`
    /// makes from the new incident's id.
    pub fn create_incident_audited(
        &self,
        new: &NewIncident,
        procedure: Option<&Procedure>,
        detail: &Value,
        now: DateTime<Utc>,
        audit: impl FnOnce(&i64, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(i64, AuditRow)> {
        self.write_audited(|tx| create_incident_in(tx, new, procedure, detail, now), audit)
    }

    /// Applies `change` to an open incident and appends its timeline entry.
    pub fn change_incident(&self, id: i64, change: IncidentChange<'_>, actor: &str, kind: &str, detail: &Value, now: DateTime<Utc>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let entry = TimelineEntry { time: now, actor: actor.to_owned(), kind: kind.to_owned(), detail: detail.clone() };
        change_incident_in(&tx, id, change, &entry)?;
        tx.commit()?;
        Ok(())
    }

    /// [`Store::change_incident`] committed with its audit entry.
    pub fn change_incident_audited(
        &self,
        id: i64,
        change: IncidentChange<'_>,
        entry: &TimelineEntry,
        audit: impl FnOnce(Option<&ChainHead>) -> AuditRow,
    ) -> Result<AuditRow> {
        Ok(self.write_audited(|tx| change_incident_in(tx, id, change, entry), |(), head| audit(head))?.1)
    }

    pub fn incident(&self, id: i64) -> Result<Option<Incident>> {
        incident_in(&self.conn(), id)
    }

    /// Incidents, newest first, optionally only open ones or only flagged ones.
    pub fn incidents(&self, state: Option<IncidentState>, flagged: Option<bool>, limit: usize) -> Result<Vec<Incident>> {
        let conn = self.conn();
        let raw = {
            let mut stmt = conn.prepare(&format!(
                "SELECT {INCIDENT_COLUMNS} FROM incident WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR flagged = ?2) ORDER BY id DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![state.map(|s| s.as_str()), flagged, limit as i64], raw_incident)?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows
        };
        raw.into_iter().map(|r| finish_incident(&conn, r)).collect()
    }

    /// The open incident a unit is on (not released), if any.
    pub fn current_incident_of(&self, unit_id: &str) -> Result<Option<i64>> {
        current_incident_in(&self.conn(), unit_id)
    }

    pub fn put_procedure(&self, p: &Procedure) -> Result<()> {
        put_procedure_in(&self.conn(), p)
    }

    /// [`Store::put_procedure`] committed with its audit entry.
    pub fn put_procedure_audited(&self, p: &Procedure, audit: impl FnOnce(Option<&ChainHead>) -> AuditRow) -> Result<AuditRow> {
        Ok(self.write_audited(|tx| put_procedure_in(tx, p), |(), head| audit(head))?.1)
    }

    pub fn procedure(&self, incident_type: &str) -> Result<Option<Procedure>> {
        let steps: Option<String> = self.conn().query_row("SELECT steps FROM procedure WHERE incident_type = ?1", [incident_type], |r| r.get(0)).optional()?;
        steps.map(|s| Ok(Procedure { incident_type: incident_type.to_owned(), steps: json_list(&s)? })).transpose()
    }

    pub fn procedures(&self) -> Result<Vec<Procedure>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT incident_type, steps FROM procedure ORDER BY incident_type")?;
        let raw = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(|(incident_type, s)| Ok(Procedure { incident_type, steps: json_list(&s)? })).collect()
    }
}

fn put_procedure_in(conn: &Connection, p: &Procedure) -> Result<()> {
    conn.execute(
        "INSERT INTO procedure (incident_type, steps) VALUES (?1, ?2) ON CONFLICT(incident_type) DO UPDATE SET steps = excluded.steps",
        params![p.incident_type, serde_json::to_string(&p.steps).unwrap()],
    )?;
    Ok(())
}

fn create_incident_in(tx: &Transaction<'_>, new: &NewIncident, procedure: Option<&Procedure>, detail: &Value, now: DateTime<Utc>) -> Result<i64> {
    let l = &new.location;
    tx.execute(
        "INSERT INTO incident (kind, priority, lat, lon, address, alert_id, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![new.kind, new.priority, l.lat, l.lon, l.address, new.alert_id, new.created_by, to_text(now)],
    )?;
    let id = tx.last_insert_rowid();
    for (i, text) in procedure.map(|p| p.steps.as_slice()).unwrap_or_default().iter().enumerate() {
        tx.execute("INSERT INTO incident_checklist (incident_id, step, text) VALUES (?1, ?2, ?3)", params![id, i as i64 + 1, text])?;
    }
    timeline_tx(tx, id, now, &new.created_by, "created", detail)?;
    Ok(id)
}

/// Applies `change` to incident `id` and appends `entry` to its timeline.
/// What the caller checked on an earlier read is checked again here, in
/// the writing transaction, so two dispatchers at once cannot both win:
/// the incident must exist (`NotFound`) and be open (`Stale`), an assigned
/// unit must exist and be available (`NotFound`, `Stale`), a checklist
/// step must exist (`NotFound`).
fn change_incident_in(tx: &Transaction<'_>, id: i64, change: IncidentChange<'_>, entry: &TimelineEntry) -> Result<()> {
    let state: Option<String> = tx.query_row("SELECT state FROM incident WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    match state.as_deref() {
        None => return Err(StoreError::NotFound(format!("incident {id}"))),
        Some("open") => {}
        Some(_) => return Err(StoreError::Stale(format!("incident {id} is closed"))),
    }
    let (actor, t) = (entry.actor.as_str(), to_text(entry.time));
    match change {
        IncidentChange::Note => {}
        IncidentChange::Assign { unit_id } => {
            let status = unit_status_in(tx, unit_id)?;
            if status != UnitStatus::Available {
                return Err(StoreError::Stale(format!("unit {unit_id} is {}, not available", status.as_str())));
            }
            tx.execute("INSERT INTO incident_unit (incident_id, unit_id, assigned_by, assigned_at) VALUES (?1, ?2, ?3, ?4)", params![id, unit_id, actor, t])?;
            tx.execute("UPDATE unit SET status = 'dispatched' WHERE id = ?1", [unit_id])?;
        }
        IncidentChange::Checklist { step, state } => {
            let n = tx.execute(
                "UPDATE incident_checklist SET state = ?3, by_user = ?4, at = ?5 WHERE incident_id = ?1 AND step = ?2",
                params![id, step, state.as_str(), actor, t],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("checklist step {step} of incident {id}")));
            }
        }
        IncidentChange::Close { flagged } => {
            tx.execute(
                "UPDATE incident_checklist SET state = 'skipped', by_user = ?2, at = ?3 WHERE incident_id = ?1 AND state = 'pending'",
                params![id, actor, t],
            )?;
            tx.execute(
                "UPDATE unit SET status = 'available' WHERE id IN (SELECT unit_id FROM incident_unit WHERE incident_id = ?1 AND released_at IS NULL)
                 AND status IN ('dispatched', 'en_route', 'on_scene')",
                [id],
            )?;
            tx.execute("UPDATE incident_unit SET released_at = ?2 WHERE incident_id = ?1 AND released_at IS NULL", params![id, t])?;
            tx.execute("UPDATE incident SET state = 'closed', closed_at = ?2, flagged = ?3 WHERE id = ?1", params![id, t, flagged])?;
        }
    }
    timeline_tx(tx, id, entry.time, actor, &entry.kind, &entry.detail)
}

fn incident_in(conn: &Connection, id: i64) -> Result<Option<Incident>> {
    let raw = conn.query_row(&format!("SELECT {INCIDENT_COLUMNS} FROM incident WHERE id = ?1"), [id], raw_incident).optional()?;
    raw.map(|r| finish_incident(conn, r)).transpose()
}

fn finish_incident(conn: &Connection, raw: RawIncident) -> Result<Incident> {
    let (id, kind, priority, lat, lon, address, state, alert_id, created_by, created_at, closed_at, flagged) = raw;
    let mut stmt =
        conn.prepare("SELECT unit_id, assigned_by, assigned_at, released_at FROM incident_unit WHERE incident_id = ?1 ORDER BY assigned_at, rowid")?;
    let units = stmt
        .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let units = units
        .into_iter()
        .map(|(unit_id, assigned_by, at, rel)| {
            Ok(Assignment { unit_id, assigned_by, assigned_at: from_text(&at)?, released_at: rel.as_deref().map(from_text).transpose()? })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut stmt = conn.prepare("SELECT step, text, state, by_user, at FROM incident_checklist WHERE incident_id = ?1 ORDER BY step")?;
    let steps = stmt
        .query_map([id], |r| {
            Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, Option<String>>(4)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let checklist = steps
        .into_iter()
        .map(|(step, text, state, by, at)| {
            Ok(ChecklistStep {
                step,
                text,
                state: StepState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("incident {id} step {step}: state {state:?}")))?,
                by,
                at: at.as_deref().map(from_text).transpose()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut stmt = conn.prepare("SELECT time, actor, kind, detail FROM incident_timeline WHERE incident_id = ?1 ORDER BY id")?;
    let entries = stmt
        .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let timeline = entries
        .into_iter()
        .map(|(t, actor, kind, detail)| {
            let detail = serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt(format!("incident {id} timeline detail: {e}")))?;
            Ok(TimelineEntry { time: from_text(&t)?, actor, kind, detail })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Incident {
        state: IncidentState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("incident {id}: state {state:?}")))?,
        location: IncidentLocation { lat, lon, address },
        created_at: from_text(&created_at)?,
        closed_at: closed_at.as_deref().map(from_text).transpose()?,
        id,
        kind,
        priority,
        alert_id,
        created_by,
        flagged,
        units,
        checklist,
        timeline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::json;

    #[test]
    fn positions_keep_the_newest_and_trail_everything_once() {
        let store = Store::open_in_memory().unwrap();
        let spec = UnitSpec {
            id: "u1".into(),
            call_sign: "Alpha 1".into(),
            kind: UnitKind::Car,
            officers: vec!["o1".into()],
            capabilities: vec![],
            district: Some("North".into()),
        };
        store.create_unit(&spec).unwrap();
        assert!(matches!(store.create_unit(&spec), Err(StoreError::Conflict(_))));
        let t0 = Utc::now();
        let fix = |lat, dt| Position { unit_id: "u1".into(), lat, lon: 20.0, time: t0 + Duration::seconds(dt), speed_mps: None, bearing_deg: Some(90.0) };
        assert_eq!(store.add_position("d1", &fix(44.0, 10), t0).unwrap(), PositionOutcome::Current);
        assert_eq!(store.add_position("d1", &fix(44.5, 10), t0).unwrap(), PositionOutcome::Duplicate);
        assert_eq!(store.add_position("d1", &fix(44.1, 5), t0).unwrap(), PositionOutcome::OutOfOrder);
        let unit = store.unit("u1").unwrap().unwrap();
        assert_eq!((unit.position.unwrap().lat, unit.district.as_deref()), (44.0, Some("North")));
        let trail = store.unit_trail("u1", t0, t0 + Duration::minutes(1), 100).unwrap();
        assert_eq!(trail.iter().map(|p| p.position.lat).collect::<Vec<_>>(), [44.1, 44.0]);
        // An implausible fix, however new, is trailed with its reason and does not move the unit.
        let jump = store.add_position_checked("d1", &fix(10.0, 20), t0, |current| {
            assert_eq!(current.map(|c| c.lat), Some(44.0));
            Some(ImplausibleFix::TooFast)
        });
        assert_eq!(jump.unwrap(), PositionOutcome::Implausible(ImplausibleFix::TooFast));
        assert_eq!(store.unit("u1").unwrap().unwrap().position.unwrap().lat, 44.0);
        let trail = store.unit_trail("u1", t0, t0 + Duration::minutes(1), 100).unwrap();
        assert_eq!(trail.iter().map(|p| p.implausible).collect::<Vec<_>>(), [None, None, Some(ImplausibleFix::TooFast)]);
    }

    #[test]
    fn closing_skips_pending_steps_and_releases_units() {
        let store = Store::open_in_memory().unwrap();
        store
            .create_unit(&UnitSpec { id: "u1".into(), call_sign: "A1".into(), kind: UnitKind::Foot, officers: vec![], capabilities: vec![], district: None })
            .unwrap();
        let proc = Procedure { incident_type: "fire".into(), steps: vec!["call fire brigade".into(), "close road".into()] };
        let new = NewIncident {
            kind: "fire".into(),
            priority: 1,
            location: IncidentLocation { lat: 44.8, lon: 20.4, address: None },
            alert_id: Some(7),
            created_by: "d".into(),
        };
        let now = Utc::now();
        let id = store.create_incident(&new, Some(&proc), &json!({}), now).unwrap();
        store.change_incident(id, IncidentChange::Assign { unit_id: "u1" }, "d", "assigned", &json!({"unit": "u1"}), now).unwrap();
        assert_eq!(store.current_incident_of("u1").unwrap(), Some(id));
        store.change_incident(id, IncidentChange::Checklist { step: 1, state: StepState::Done }, "d", "checklist", &json!({}), now).unwrap();
        assert!(store.change_incident(id, IncidentChange::Checklist { step: 9, state: StepState::Done }, "d", "checklist", &json!({}), now).is_err());
        store.change_incident(id, IncidentChange::Close { flagged: true }, "d", "closed", &json!({}), now).unwrap();
        let inc = store.incident(id).unwrap().unwrap();
        assert_eq!(inc.state, IncidentState::Closed);
        assert_eq!(inc.checklist.iter().map(|s| s.state).collect::<Vec<_>>(), [StepState::Done, StepState::Skipped]);
        assert!(inc.units[0].released_at.is_some() && inc.flagged);
        assert_eq!(inc.timeline.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["created", "assigned", "checklist", "closed"]);
        assert_eq!(store.unit("u1").unwrap().unwrap().status, UnitStatus::Available);
        assert_eq!(store.current_incident_of("u1").unwrap(), None);
        assert_eq!(store.incidents(None, Some(true), 10).unwrap().len(), 1);
        assert_eq!(store.incidents(Some(IncidentState::Open), None, 10).unwrap().len(), 0);
    }
}
