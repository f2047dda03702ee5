//! Incidents: creation (from a call, the map or an alert), notes,
//! assignment, checklists and closing. Every change is one store
//! transaction with its timeline entry, so the timeline is complete.

use citywatch_model::dispatch::{Incident, IncidentLocation, IncidentState, NewIncident, Procedure, StepState, UnitStatus};
use citywatch_model::Alert;
use citywatch_store::IncidentChange;
use serde_json::json;

use crate::{Dispatch, DispatchError, Result};

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
        self.store.incident(id)?.ok_or_else(|| DispatchError::NotFound(format!("incident {id}")))
    }

    /// Creates an incident. `alert` is the alert it was raised from (already
    /// checked visible by the caller); its location is used when the request
    /// gives none.
    pub fn create_incident(&self, req: &IncidentRequest, alert: Option<&Alert>, actor: &str) -> Result<Incident> {
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
        let procedure = self.store.procedure(&new.kind)?;
        let detail = json!({"source": req.source, "type": new.kind, "priority": new.priority, "lat": lat, "lon": lon,
                            "address": new.location.address, "alert_id": new.alert_id, "procedure_steps": procedure.as_ref().map_or(0, |p| p.steps.len())});
        let id = self.store.create_incident(&new, procedure.as_ref(), &detail, chrono::Utc::now())?;
        self.incident(id)
    }

    pub fn incidents(&self, state: Option<IncidentState>, flagged: Option<bool>, limit: usize) -> Result<Vec<Incident>> {
        Ok(self.store.incidents(state, flagged, limit.min(MAX_LIST))?)
    }

    pub fn add_note(&self, id: i64, text: &str, actor: &str) -> Result<Incident> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 10_000 {
            return Err(DispatchError::field("text", "must be 1 to 10000 characters"));
        }
        self.open_incident(id)?;
        self.store.change_incident(id, IncidentChange::Note, actor, "note", &json!({"text": text}), chrono::Utc::now())?;
        self.incident(id)
    }

    /// Sends an available unit to an open incident; the unit becomes dispatched.
    pub fn assign(&self, id: i64, unit_id: &str, actor: &str) -> Result<Incident> {
        self.open_incident(id)?;
        let unit = self.unit(unit_id)?;
        if unit.status != UnitStatus::Available {
            let on = self.store.current_incident_of(unit_id)?.map(|i| format!(" (on incident {i})")).unwrap_or_default();
            return Err(DispatchError::Conflict(format!("unit {unit_id} is {}{on}, not available", unit.status.as_str())));
        }
        let detail = json!({"unit": unit_id, "call_sign": unit.call_sign, "status": "dispatched"});
        self.store.change_incident(id, IncidentChange::Assign { unit_id }, actor, "assigned", &detail, chrono::Utc::now())?;
        self.announce_id(unit_id);
        self.incident(id)
    }

    /// Marks checklist step `step` (from 1) done or skipped.
    pub fn check_step(&self, id: i64, step: u32, state: StepState, actor: &str) -> Result<Incident> {
        if state == StepState::Pending {
            return Err(DispatchError::field("state", "must be done or skipped"));
        }
        let incident = self.open_incident(id)?;
        let Some(s) = incident.checklist.iter().find(|s| s.step == step) else {
            return Err(DispatchError::NotFound(format!("step {step} of incident {id}'s checklist ({} steps)", incident.checklist.len())));
        };
        let detail = json!({"step": step, "text": s.text, "state": state.as_str()});
        self.store.change_incident(id, IncidentChange::Checklist { step, state }, actor, "checklist", &detail, chrono::Utc::now())?;
        self.incident(id)
    }

    /// Closes an incident. Steps not done (skipped, or still pending, which
    /// become skipped) flag it for supervisors; assigned units go back to available.
    pub fn close(&self, id: i64, note: Option<&str>, actor: &str) -> Result<Incident> {
        let incident = self.open_incident(id)?;
        let skipped: Vec<u32> = incident.checklist.iter().filter(|s| s.state != StepState::Done).map(|s| s.step).collect();
        let released: Vec<&str> = incident.units.iter().filter(|a| a.released_at.is_none()).map(|a| a.unit_id.as_str()).collect();
        let flagged = !skipped.is_empty();
        let detail = json!({"skipped_steps": skipped, "flagged": flagged, "released_units": released, "note": note.map(str::trim)});
        self.store.change_incident(id, IncidentChange::Close { flagged }, actor, "closed", &detail, chrono::Utc::now())?;
        for unit_id in &released {
            self.announce_id(unit_id);
        }
        self.incident(id)
    }

    pub fn put_procedure(&self, p: &Procedure) -> Result<()> {
        p.validate().map_err(DispatchError::Invalid)?;
        Ok(self.store.put_procedure(p)?)
    }

    pub fn procedures(&self) -> Result<Vec<Procedure>> {
        Ok(self.store.procedures()?)
    }

    /// The open incident of the first unit `username` crews that is on one.
    pub fn assignment_of(&self, username: &str) -> Result<Option<(citywatch_model::dispatch::Unit, Incident)>> {
        for unit in self.units_of_officer(username)? {
            if let Some(id) = self.store.current_incident_of(&unit.id)? {
                return Ok(Some((unit, self.incident(id)?)));
            }
        }
        Ok(None)
    }
}
