//! Incidents: creation (from a call, the map or an alert), notes,
//! assignment, checklists and closing. Every change is one repository
//! transaction with its timeline entry and its audit entry, so the
//! timeline and the audit log are complete.

use citywatch_audit::{AuditLog, Record};
use citywatch_model::dispatch::{Incident, IncidentChange, IncidentLocation, IncidentState, NewIncident, Procedure, StepState, TimelineEntry, UnitStatus};
use citywatch_model::Alert;
use serde_json::{json, Value};

use citywatch_audit::PendingEntry;

use crate::{entry, recorded, Dispatch, DispatchError, Result};

/// A timeline entry by `actor`, timed now.
fn timeline(actor: &str, kind: &str, detail: Value) -> TimelineEntry {
    TimelineEntry { time: chrono::Utc::now(), actor: actor.to_owned(), kind: kind.to_owned(), detail }
}

/// What a dispatcher asks for. Location comes from `lat`/`lon`, or from
/// the alert when only `alert` is given.
#[derive(Debug, Clone, Default)]
pub struct IncidentRequest {
    pub kind: String,
    pub priority: u8,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    /// "call", "map" or "alert": how the incident came in, for the timeline.
    pub source: String,
}

/// The most incidents one list returns.
pub const MAX_LIST: usize = 1000;

impl Dispatch {
    fn open_incident(&self, id: i64) -> Result<Incident> {
        let incident = self.incident(id)?;
        if incident.state != IncidentState::Open {
            return Err(DispatchError::Conflict(format!("incident {id} is closed")));
        }
        Ok(incident)
    }

    pub fn incident(&self, id: i64) -> Result<Incident> {
        self.repo.incident(id)?.ok_or_else(|| DispatchError::NotFound(format!("incident {id}")))
    }

    /// Creates an incident. `alert` is the alert it was raised from (already
    /// checked visible by the caller); its location is used when the request
    /// gives none. `record` makes the audit entry from the incident as
    /// created and its id; it commits with the incident.
    pub fn create_incident(
        &self,
        req: &IncidentRequest,
        alert: Option<&Alert>,
        actor: &str,
        audit: &AuditLog,
        record: impl FnOnce(&NewIncident, i64) -> Record,
    ) -> Result<Incident> {
        let (lat, lon) = match (req.lat, req.lon, alert.and_then(|a| a.location.as_ref())) {
            (Some(lat), Some(lon), _) => (lat, lon),
            (None, None, Some(l)) => (l.lat, l.lon),
            (None, None, None) if alert.is_some() => return Err(DispatchError::field("lat", "the alert has no location; give lat and lon")),
            (None, None, None) => {
                return Err(DispatchError::field(
                    "lat",
                    "is required with lon (a location), unless alert_id names an alert with one; an address alone cannot be placed on the map yet",
                ))
            }
            (None, _, _) => return Err(DispatchError::field("lat", "is required with lon")),
            (_, None, _) => return Err(DispatchError::field("lon", "is required with lat")),
        };
        let new = NewIncident {
            kind: req.kind.trim().to_owned(),
            priority: req.priority,
            location: IncidentLocation { lat, lon, address: req.address.as_ref().map(|a| a.trim().to_owned()) },
            alert_id: alert.map(|a| a.id),
            created_by: actor.to_owned(),
        };
        new.validate().map_err(DispatchError::Invalid)?;
        let procedure = self.repo.procedure(&new.kind)?;
        let detail = json!({"source": req.source, "type": new.kind, "priority": new.priority, "lat": lat, "lon": lon,
                            "address": new.location.address, "alert_id": new.alert_id, "procedure_steps": procedure.as_ref().map_or(0, |p| p.steps.len())});
        let (id, row) = self.repo.create_incident(&new, procedure.as_ref(), &detail, chrono::Utc::now(), PendingEntry::after(|id: &i64| record(&new, *id)))?;
        recorded(audit, &row)?;
        self.incident(id)
    }

    pub fn incidents(&self, state: Option<IncidentState>, flagged: Option<bool>, limit: usize) -> Result<Vec<Incident>> {
        Ok(self.repo.incidents(state, flagged, limit.min(MAX_LIST))?)
    }

    /// Adds a note; `record` is its audit entry, committed with it.
    pub fn add_note(&self, id: i64, text: &str, actor: &str, audit: &AuditLog, record: Record) -> Result<Incident> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 10_000 {
            return Err(DispatchError::field("text", "must be 1 to 10000 characters"));
        }
        self.open_incident(id)?;
        let row = self.repo.change_incident(id, IncidentChange::Note, &timeline(actor, "note", json!({"text": text})), entry(record))?;
        recorded(audit, &row)?;
        self.incident(id)
    }

    /// Sends an available unit to an open incident; the unit becomes
    /// dispatched. `record` is the audit entry, committed with it.
    pub fn assign(&self, id: i64, unit_id: &str, actor: &str, audit: &AuditLog, record: Record) -> Result<Incident> {
        self.open_incident(id)?;
        let unit = self.unit(unit_id)?;
        if unit.status != UnitStatus::Available {
            let on = self.repo.current_incident_of(unit_id)?.map(|i| format!(" (on incident {i})")).unwrap_or_default();
            return Err(DispatchError::Conflict(format!("unit {unit_id} is {}{on}, not available", unit.status.as_str())));
        }
        let detail = json!({"unit": unit_id, "call_sign": unit.call_sign, "status": "dispatched"});
        let row = self.repo.change_incident(id, IncidentChange::Assign { unit_id }, &timeline(actor, "assigned", detail), entry(record))?;
        recorded(audit, &row)?;
        self.announce_id(unit_id);
        self.incident(id)
    }

    /// Marks checklist step `step` (from 1) done or skipped; `record` is
    /// the audit entry, committed with it.
    pub fn check_step(&self, id: i64, step: u32, state: StepState, actor: &str, audit: &AuditLog, record: Record) -> Result<Incident> {
        if state == StepState::Pending {
            return Err(DispatchError::field("state", "must be done or skipped"));
        }
        let incident = self.open_incident(id)?;
        let Some(s) = incident.checklist.iter().find(|s| s.step == step) else {
            return Err(DispatchError::NotFound(format!("step {step} of incident {id}'s checklist ({} steps)", incident.checklist.len())));
        };
        let detail = json!({"step": step, "text": s.text, "state": state.as_str()});
        let row = self.repo.change_incident(id, IncidentChange::Checklist { step, state }, &timeline(actor, "checklist", detail), entry(record))?;
        recorded(audit, &row)?;
        self.incident(id)
    }

    /// Closes an incident. Steps not done (skipped, or still pending, which
    /// become skipped) flag it for supervisors; assigned units go back to
    /// available. `record` makes the audit entry from whether the incident
    /// is flagged and which steps were not done; it commits with the close.
    pub fn close(&self, id: i64, note: Option<&str>, actor: &str, audit: &AuditLog, record: impl FnOnce(bool, &[u32]) -> Record) -> Result<Incident> {
        let incident = self.open_incident(id)?;
        let skipped: Vec<u32> = incident.checklist.iter().filter(|s| s.state != StepState::Done).map(|s| s.step).collect();
        let released: Vec<&str> = incident.units.iter().filter(|a| a.released_at.is_none()).map(|a| a.unit_id.as_str()).collect();
        let flagged = !skipped.is_empty();
        let detail = json!({"skipped_steps": skipped, "flagged": flagged, "released_units": released, "note": note.map(str::trim)});
        let row = self.repo.change_incident(id, IncidentChange::Close { flagged }, &timeline(actor, "closed", detail), entry(record(flagged, &skipped)))?;
        recorded(audit, &row)?;
        for unit_id in &released {
            self.announce_id(unit_id);
        }
        self.incident(id)
    }

    /// Adds or replaces a procedure; `record` is its audit entry,
    /// committed with it.
    pub fn put_procedure(&self, p: &Procedure, audit: &AuditLog, record: Record) -> Result<()> {
        p.validate().map_err(DispatchError::Invalid)?;
        let row = self.repo.put_procedure(p, entry(record))?;
        recorded(audit, &row)
    }

    pub fn procedures(&self) -> Result<Vec<Procedure>> {
        Ok(self.repo.procedures()?)
    }

    /// The open incident of the first unit `username` crews that is on one.
    pub fn assignment_of(&self, username: &str) -> Result<Option<(citywatch_model::dispatch::Unit, Incident)>> {
        for unit in self.units_of_officer(username)? {
            if let Some(id) = self.repo.current_incident_of(&unit.id)? {
                return Ok(Some((unit, self.incident(id)?)));
            }
        }
        Ok(None)
    }
}
