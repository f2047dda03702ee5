//! [`DispatchRepo`] on the embedded SQLite database: `Store` keeps the SQL,
//! this only states that it is dispatch's repository.

use chrono::{DateTime, Utc};
use citywatch_audit::{MakeRow, MakeRowAfter};
use citywatch_model::dispatch::{
    Incident, IncidentChange, IncidentState, NewIncident, Position, PositionOutcome, Procedure, TimelineEntry, TrailPoint, Unit, UnitSpec, UnitStatus,
};
use citywatch_model::{AuditRow, RepoError};
use citywatch_store::Store;
use serde_json::Value;

use crate::repo::{CheckFix, DispatchRepo};

impl DispatchRepo for Store {
    fn units(&self) -> Result<Vec<Unit>, RepoError> {
        Ok(Store::units(self)?)
    }

    fn unit(&self, id: &str) -> Result<Option<Unit>, RepoError> {
        Ok(Store::unit(self, id)?)
    }

    fn create_unit(&self, spec: &UnitSpec, audit: MakeRowAfter<'_, Unit>) -> Result<(Unit, AuditRow), RepoError> {
        Ok(self.create_unit_audited(spec, audit)?)
    }

    fn update_unit(&self, spec: &UnitSpec, audit: MakeRowAfter<'_, Unit>) -> Result<(Unit, AuditRow), RepoError> {
        Ok(self.update_unit_audited(spec, audit)?)
    }

    fn delete_unit(&self, id: &str, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        Ok(self.delete_unit_audited(id, audit)?)
    }

    fn report_unit_status(
        &self,
        unit_id: &str,
        from: UnitStatus,
        to: UnitStatus,
        entry: &TimelineEntry,
        audit: MakeRow<'_>,
    ) -> Result<(Option<i64>, AuditRow), RepoError> {
        Ok(self.report_unit_status_audited(unit_id, from, to, entry, audit)?)
    }

    fn register_device(&self, device_id: &str, unit_id: &str, token_hash: &str, now: DateTime<Utc>, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        Ok(self.register_unit_device_audited(device_id, unit_id, token_hash, now, audit)?)
    }

    fn unit_device(&self, device_id: &str) -> Result<Option<(String, String)>, RepoError> {
        Ok(Store::unit_device(self, device_id)?)
    }

    fn add_position(&self, device_id: &str, p: &Position, received_at: DateTime<Utc>, check: CheckFix<'_>) -> Result<PositionOutcome, RepoError> {
        Ok(self.add_position_checked(device_id, p, received_at, check)?)
    }

    fn unit_trail(&self, unit_id: &str, start: DateTime<Utc>, end: DateTime<Utc>, limit: usize) -> Result<Vec<TrailPoint>, RepoError> {
        Ok(Store::unit_trail(self, unit_id, start, end, limit)?)
    }

    fn incident(&self, id: i64) -> Result<Option<Incident>, RepoError> {
        Ok(Store::incident(self, id)?)
    }

    fn incidents(&self, state: Option<IncidentState>, flagged: Option<bool>, limit: usize) -> Result<Vec<Incident>, RepoError> {
        Ok(Store::incidents(self, state, flagged, limit)?)
    }

    fn current_incident_of(&self, unit_id: &str) -> Result<Option<i64>, RepoError> {
        Ok(Store::current_incident_of(self, unit_id)?)
    }

    fn create_incident(
        &self,
        new: &NewIncident,
        procedure: Option<&Procedure>,
        detail: &Value,
        now: DateTime<Utc>,
        audit: MakeRowAfter<'_, i64>,
    ) -> Result<(i64, AuditRow), RepoError> {
        Ok(self.create_incident_audited(new, procedure, detail, now, audit)?)
    }

    fn change_incident(&self, id: i64, change: IncidentChange<'_>, entry: &TimelineEntry, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        Ok(self.change_incident_audited(id, change, entry, audit)?)
    }

    fn put_procedure(&self, p: &Procedure, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        Ok(self.put_procedure_audited(p, audit)?)
    }

    fn procedure(&self, incident_type: &str) -> Result<Option<Procedure>, RepoError> {
        Ok(Store::procedure(self, incident_type)?)
    }

    fn procedures(&self) -> Result<Vec<Procedure>, RepoError> {
        Ok(Store::procedures(self)?)
    }
}
