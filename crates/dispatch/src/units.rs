//! Units: their records, devices, and the status workflow.
//!
//! ```text
//! available ──assign──► dispatched ──► en_route ──► on_scene
//!     ▲                     │              │            │
//!     └─────────────────────┴──────────────┴────────────┘  (cleared)
//! any status ──► out_of_service ──► available
//! ```
//! `dispatched` is reached only by assignment to an incident; going back to
//! `available` (or out of service) releases the unit from its incident.
//!
//! Every committed change of a unit is also announced as a [`UnitUpdate`]
//! (see [`Dispatch::subscribe_units`]).

use std::sync::Arc;

use citywatch_audit::{AuditLog, Record};
use citywatch_model::dispatch::{TimelineEntry, Unit, UnitSpec, UnitStatus};
use serde_json::json;

use citywatch_audit::PendingEntry;

use crate::{entry, recorded, Dispatch, DispatchError, Result};

/// Whether a unit may go from `from` to `to` by a status report.
pub fn may_report(from: UnitStatus, to: UnitStatus) -> std::result::Result<(), String> {
    use UnitStatus::*;
    let ok = match (from, to) {
        (_, Dispatched) => return Err("a unit becomes dispatched only by assignment to an incident (POST /api/v1/incidents/{id}/assign)".into()),
        (a, b) if a == b => return Err(format!("the unit is already {}", a.as_str())),
        (_, OutOfService) => true,
        (Dispatched, EnRoute | OnScene | Available) => true,
        (EnRoute, OnScene | Available) => true,
        (OnScene, Available) => true,
        (OutOfService, Available) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("a unit that is {} cannot become {}", from.as_str(), to.as_str()))
    }
}

/// A unit as it is after a committed change, or its removal.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitUpdate {
    Changed(Unit),
    /// The unit as it was (its district and crew say who may hear of it):
    /// deleted, or moved out of that home district.
    Removed(Unit),
}

impl UnitUpdate {
    pub fn unit(&self) -> &Unit {
        match self {
            UnitUpdate::Changed(u) | UnitUpdate::Removed(u) => u,
        }
    }
}

impl Dispatch {
    /// Tells subscribers about a unit as it is now. Having no subscriber is
    /// normal (no console open), so a failed send is not an error.
    pub(crate) fn announce(&self, unit: &Unit) {
        let _ = self.unit_updates.send(Arc::new(UnitUpdate::Changed(unit.clone())));
    }

    /// Reads the unit again and announces it; a unit that vanished in the
    /// meantime (deleted) was announced by its deletion.
    pub(crate) fn announce_id(&self, unit_id: &str) {
        // Nobody listening: spare the read (a fleet reports every few seconds).
        if self.unit_updates.receiver_count() == 0 {
            return;
        }
        if let Ok(Some(unit)) = self.repo.unit(unit_id) {
            self.announce(&unit);
        }
    }

    /// Adds a unit; `record` makes the audit entry from the unit as
    /// stored, committed with it.
    pub fn create_unit(&self, spec: &UnitSpec, audit: &AuditLog, record: impl FnOnce(&Unit) -> Record) -> Result<Unit> {
        spec.validate().map_err(DispatchError::Invalid)?;
        let (unit, row) = self.repo.create_unit(spec, PendingEntry::after(record))?;
        recorded(audit, &row)?;
        self.announce(&unit);
        Ok(unit)
    }

    /// Changes a unit's record; `record` makes the audit entry from the
    /// unit as stored, committed with it.
    pub fn update_unit(&self, spec: &UnitSpec, audit: &AuditLog, record: impl FnOnce(&Unit) -> Record) -> Result<Unit> {
        spec.validate().map_err(DispatchError::Invalid)?;
        let before = self.unit(&spec.id)?;
        let (unit, row) = self.repo.update_unit(spec, PendingEntry::after(record))?;
        recorded(audit, &row)?;
        // A unit moved to another district disappears for the old one's
        // subscribers before it appears for the new one's.
        if before.district != unit.district {
            let _ = self.unit_updates.send(Arc::new(UnitUpdate::Removed(before)));
        }
        self.announce(&unit);
        Ok(unit)
    }

    /// Refused while the unit is on an open incident; `record` is the
    /// audit entry, committed with the deletion.
    pub fn delete_unit(&self, id: &str, audit: &AuditLog, record: Record) -> Result<()> {
        let unit = self.unit(id)?;
        // The repository checks again that the unit is on no open incident,
        // in the deleting transaction.
        let row = self.repo.delete_unit(id, entry(record))?;
        recorded(audit, &row)?;
        let _ = self.unit_updates.send(Arc::new(UnitUpdate::Removed(unit)));
        Ok(())
    }

    pub fn unit(&self, id: &str) -> Result<Unit> {
        self.repo.unit(id)?.ok_or_else(|| DispatchError::NotFound(format!("unit {id}")))
    }

    /// Registers (or re-keys) a device for a unit; the caller made the
    /// token and keeps only its hash here. `record` is the audit entry,
    /// committed with it.
    pub fn register_device(&self, unit_id: &str, device_id: &str, token_hash: &str, audit: &AuditLog, record: Record) -> Result<()> {
        if let Err(reason) = citywatch_model::check_id(device_id) {
            return Err(DispatchError::field("device_id", reason));
        }
        self.unit(unit_id)?;
        if let Some((owner, _)) = self.repo.unit_device(device_id)? {
            if owner != unit_id {
                return Err(DispatchError::Conflict(format!("device {device_id} belongs to unit {owner}")));
            }
        }
        let row = self.repo.register_device(device_id, unit_id, token_hash, chrono::Utc::now(), entry(record))?;
        recorded(audit, &row)
    }

    /// A status report for a unit. `as_dispatcher`: the actor dispatches
    /// (any unit); otherwise the actor must crew this unit. `record` is the
    /// audit entry, committed with the change. Answers the unit as it is
    /// now and the incident it was on, if any.
    pub fn report_status(
        &self,
        unit_id: &str,
        to: UnitStatus,
        actor: &str,
        as_dispatcher: bool,
        audit: &AuditLog,
        record: Record,
    ) -> Result<(Unit, Option<i64>)> {
        let unit = self.unit(unit_id)?;
        if !as_dispatcher && !unit.officers.iter().any(|o| o == actor) {
            return Err(DispatchError::Forbidden(format!("{actor} is not an officer of unit {unit_id}")));
        }
        may_report(unit.status, to).map_err(DispatchError::Conflict)?;
        let detail = json!({"unit": unit_id, "from": unit.status.as_str(), "to": to.as_str()});
        let timeline_entry = TimelineEntry { time: chrono::Utc::now(), actor: actor.to_owned(), kind: "status".into(), detail };
        // The transition was judged on `unit.status`: the repository refuses
        // it if another report or an assignment changed the status since.
        let (incident, row) = self.repo.report_unit_status(unit_id, unit.status, to, &timeline_entry, entry(record))?;
        recorded(audit, &row)?;
        let unit = self.unit(unit_id)?;
        self.announce(&unit);
        Ok((unit, incident))
    }

    /// The units `username` crews.
    pub fn units_of_officer(&self, username: &str) -> Result<Vec<Unit>> {
        Ok(self.repo.units()?.into_iter().filter(|u| u.officers.iter().any(|o| o == username)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use UnitStatus::*;

    #[test]
    fn transitions_follow_the_workflow() {
        let allowed = |a, b| may_report(a, b).is_ok();
        assert!(allowed(Dispatched, EnRoute) && allowed(EnRoute, OnScene) && allowed(OnScene, Available));
        assert!(allowed(Available, OutOfService) && allowed(OutOfService, Available) && allowed(OnScene, OutOfService));
        assert!(!allowed(Available, Dispatched), "only assignment dispatches");
        assert!(!allowed(Available, EnRoute) && !allowed(Available, OnScene));
        assert!(!allowed(OnScene, EnRoute) && !allowed(OutOfService, OnScene));
        assert!(!allowed(EnRoute, EnRoute));
    }
}
