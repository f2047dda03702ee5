//! Rows of dispatch: units, their devices and position trail, incidents
//! with their assignments, timeline and checklist, and procedures.
//! `citywatch-dispatch` decides what goes in them (status transitions,
//! what closing does); this module only keeps them.

use chrono::{DateTime, Utc};
use citywatch_model::dispatch::{
    Assignment, ChecklistStep, ImplausibleFix, Incident, IncidentLocation, IncidentState, NewIncident, Position, Procedure, StepState, TimelineEntry, Unit,
    UnitKind, UnitSpec, UnitStatus,
};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde_json::Value;

use crate::time::{from_text, to_text};
use crate::{Result, Store, StoreError};

/// What storing a fix did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionOutcome {
    /// Newest fix of the unit: its current position moved.
    Current,
    /// Older than the unit's current fix: kept in the trail only.
    OutOfOrder,
    /// The device already sent a fix with this time: ignored.
    Duplicate,
    /// Kept in the trail, flagged, and never the unit's position.
    Implausible(ImplausibleFix),
}

/// A fix of a unit's trail, with why it was not believed if it was not.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailPoint {
    pub position: Position,
    pub implausible: Option<ImplausibleFix>,
}

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
        let conn = self.conn();
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
        drop(conn);
        self.unit(&spec.id)?.ok_or_else(|| StoreError::NotFound(format!("unit {}", spec.id)))
    }

    /// Changes call sign, kind, officers, capabilities and home district;
    /// status and position are the workflow's.
    pub fn update_unit(&self, spec: &UnitSpec) -> Result<Unit> {
        let n = self.conn().execute(
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
        self.unit(&spec.id)?.ok_or_else(|| StoreError::NotFound(format!("unit {}", spec.id)))
    }

    pub fn delete_unit(&self, id: &str) -> Result<bool> {
        Ok(self.conn().execute("DELETE FROM unit WHERE id = ?1", [id])? > 0)
    }

    pub fn unit(&self, id: &str) -> Result<Option<Unit>> {
        let raw = self.conn().query_row(&format!("SELECT {UNIT_COLUMNS} FROM unit WHERE id = ?1"), [id], raw_unit).optional()?;
        raw.map(finish_unit).transpose()
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

    /// Registers a device for a unit (or moves an existing device id to it
    /// with a new token).
    pub fn put_unit_device(&self, device_id: &str, unit_id: &str, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "INSERT INTO unit_device (id, unit_id, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET unit_id = excluded.unit_id, token_hash = excluded.token_hash, created_at = excluded.created_at",
            params![device_id, unit_id, token_hash, to_text(now)],
        )?;
        Ok(())
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

/// A change to an incident, applied with its timeline entry in one transaction.
pub enum IncidentChange<'a> {
    Note,
    /// Assign a unit (and set its status to dispatched).
    Assign {
        unit_id: &'a str,
    },
    /// A unit's new status; `available` or `out_of_service` releases it from the incident.
    UnitStatus {
        unit_id: &'a str,
        status: UnitStatus,
    },
    Checklist {
        step: u32,
        state: StepState,
    },
    /// Close: pending steps become skipped, units are released to available,
    /// `flagged` is stored.
    Close {
        flagged: bool,
    },
}

impl Store {
    /// Creates an incident, its checklist copied from `procedure`, and its
    /// `created` timeline entry.
    pub fn create_incident(&self, new: &NewIncident, procedure: Option<&Procedure>, detail: &Value, now: DateTime<Utc>) -> Result<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let l = &new.location;
        tx.execute(
            "INSERT INTO incident (kind, priority, lat, lon, address, alert_id, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![new.kind, new.priority, l.lat, l.lon, l.address, new.alert_id, new.created_by, to_text(now)],
        )?;
        let id = tx.last_insert_rowid();
        for (i, text) in procedure.map(|p| p.steps.as_slice()).unwrap_or_default().iter().enumerate() {
            tx.execute("INSERT INTO incident_checklist (incident_id, step, text) VALUES (?1, ?2, ?3)", params![id, i as i64 + 1, text])?;
        }
        timeline_tx(&tx, id, now, &new.created_by, "created", detail)?;
        tx.commit()?;
        Ok(id)
    }

    /// Applies `change` to an open incident and appends its timeline entry.
    pub fn change_incident(&self, id: i64, change: IncidentChange<'_>, actor: &str, kind: &str, detail: &Value, now: DateTime<Utc>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let t = to_text(now);
        match change {
            IncidentChange::Note => {}
            IncidentChange::Assign { unit_id } => {
                tx.execute(
                    "INSERT INTO incident_unit (incident_id, unit_id, assigned_by, assigned_at) VALUES (?1, ?2, ?3, ?4)",
                    params![id, unit_id, actor, t],
                )?;
                tx.execute("UPDATE unit SET status = 'dispatched' WHERE id = ?1", [unit_id])?;
            }
            IncidentChange::UnitStatus { unit_id, status } => {
                tx.execute("UPDATE unit SET status = ?2 WHERE id = ?1", params![unit_id, status.as_str()])?;
                if !status.is_committed() {
                    tx.execute(
                        "UPDATE incident_unit SET released_at = ?3 WHERE incident_id = ?1 AND unit_id = ?2 AND released_at IS NULL",
                        params![id, unit_id, t],
                    )?;
                }
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
        timeline_tx(&tx, id, now, actor, kind, detail)?;
        tx.commit()?;
        Ok(())
    }

    pub fn incident(&self, id: i64) -> Result<Option<Incident>> {
        let raw = self.conn().query_row(&format!("SELECT {INCIDENT_COLUMNS} FROM incident WHERE id = ?1"), [id], raw_incident).optional()?;
        raw.map(|r| self.finish_incident(r)).transpose()
    }

    /// Incidents, newest first, optionally only open ones or only flagged ones.
    pub fn incidents(&self, state: Option<IncidentState>, flagged: Option<bool>, limit: usize) -> Result<Vec<Incident>> {
        let raw = {
            let conn = self.conn();
            let mut stmt = conn.prepare(&format!(
                "SELECT {INCIDENT_COLUMNS} FROM incident WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR flagged = ?2) ORDER BY id DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![state.map(|s| s.as_str()), flagged, limit as i64], raw_incident)?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows
        };
        raw.into_iter().map(|r| self.finish_incident(r)).collect()
    }

    /// The open incident a unit is on (not released), if any.
    pub fn current_incident_of(&self, unit_id: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT i.id FROM incident_unit u JOIN incident i ON i.id = u.incident_id
                 WHERE u.unit_id = ?1 AND u.released_at IS NULL AND i.state = 'open' ORDER BY u.assigned_at DESC LIMIT 1",
                [unit_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn finish_incident(&self, raw: RawIncident) -> Result<Incident> {
        let (id, kind, priority, lat, lon, address, state, alert_id, created_by, created_at, closed_at, flagged) = raw;
        let conn = self.conn();
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

    pub fn put_procedure(&self, p: &Procedure) -> Result<()> {
        self.conn().execute(
            "INSERT INTO procedure (incident_type, steps) VALUES (?1, ?2) ON CONFLICT(incident_type) DO UPDATE SET steps = excluded.steps",
            params![p.incident_type, serde_json::to_string(&p.steps).unwrap()],
        )?;
        Ok(())
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
