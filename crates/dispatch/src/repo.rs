//! Dispatch's repository: what dispatch needs of a database, whatever the
//! database is.
//!
//! Dispatch owns the trait because it owns the workflow: which status may
//! follow which, what assigning and closing do, which fixes are believed.
//! A backend keeps units, their devices and position trail, incidents with
//! their assignments, timeline and checklist, and the procedures; it
//! commits each change a person makes together with the audit entry that
//! records it, and checks again, inside that transaction, what the
//! workflow judged on an earlier read (an incident still open, a unit
//! still available or still in the status the report started from), so
//! two dispatchers at once cannot both win. Two backends implement it:
//! SQLite (`Store`, in `sqlite_repo.rs`) and PostgreSQL
//! (`citywatch-store-postgres`); `conformance.rs` is the one suite both
//! pass.
//!
//! Like [`citywatch_audit::AuditRepo`], the calls block (see
//! docs/design/storage.md).

use chrono::{DateTime, Utc};
use citywatch_audit::{MakeRow, MakeRowAfter};
use citywatch_model::dispatch::{
    ImplausibleFix, Incident, IncidentChange, IncidentState, NewIncident, Position, PositionOutcome, Procedure, TimelineEntry, TrailPoint, Unit, UnitSpec,
    UnitStatus,
};
use citywatch_model::{AuditRow, RepoError};
use serde_json::Value;

/// Judges a fix against the unit's current position (read in the storing
/// transaction): why it cannot be believed, or None.
pub type CheckFix<'a> = Box<dyn FnOnce(Option<&Position>) -> Option<ImplausibleFix> + 'a>;

/// Units, incidents and procedures, as stored.
///
/// Every write a person makes commits with its audit entry in one
/// transaction (the row the caller's maker makes from the locked head):
/// after a crash both are there or neither is. A refused write
/// (`NotFound`, `Conflict`, `Stale`) writes neither. A unit's terminal
/// reporting where it is is a machine's observation, not a person's
/// change: fixes are not audited one by one (the trail is the record).
pub trait DispatchRepo: Send + Sync {
    /// Every unit, by id.
    fn units(&self) -> Result<Vec<Unit>, RepoError>;

    /// One unit; None if there is none with that id.
    fn unit(&self, id: &str) -> Result<Option<Unit>, RepoError>;

    /// Adds a unit (available, no position); `Conflict` if its id is
    /// taken. The maker gets the unit as stored.
    fn create_unit(&self, spec: &UnitSpec, audit: MakeRowAfter<'_, Unit>) -> Result<(Unit, AuditRow), RepoError>;

    /// Changes a unit's call sign, kind, officers, capabilities and home
    /// district (status and position are the workflow's); `NotFound` if
    /// there is none. The maker gets the unit as stored.
    fn update_unit(&self, spec: &UnitSpec, audit: MakeRowAfter<'_, Unit>) -> Result<(Unit, AuditRow), RepoError>;

    /// Deletes a unit, its devices and trail; `NotFound` if there is none,
    /// `Stale` while it is on an open incident.
    fn delete_unit(&self, id: &str, audit: MakeRow<'_>) -> Result<AuditRow, RepoError>;

    /// A status report: the unit goes from `from` (the status the caller
    /// judged the transition on) to `to`. If it is on an open incident,
    /// `entry` goes on that incident's timeline and a unit no longer
    /// committed (`available`, `out_of_service`) is released from it.
    /// `NotFound` for no such unit; `Stale` if its status is no longer
    /// `from`. Returns the incident it was on.
    fn report_unit_status(
        &self,
        unit_id: &str,
        from: UnitStatus,
        to: UnitStatus,
        entry: &TimelineEntry,
        audit: MakeRow<'_>,
    ) -> Result<(Option<i64>, AuditRow), RepoError>;

    /// Registers a device for a unit, or gives the unit's device a new
    /// token (only its hash is kept); `NotFound` for no such unit,
    /// `Conflict` if the device is another unit's.
    fn register_device(&self, device_id: &str, unit_id: &str, token_hash: &str, now: DateTime<Utc>, audit: MakeRow<'_>) -> Result<AuditRow, RepoError>;

    /// The unit and token hash of a device.
    fn unit_device(&self, device_id: &str) -> Result<Option<(String, String)>, RepoError>;

    /// Trails a fix from `device_id` and, if `check` believes it and it is
    /// newer than the unit's current position, makes it the position, in
    /// one transaction. A second fix from a device with the same time is a
    /// `Duplicate`, and changes nothing.
    fn add_position(&self, device_id: &str, p: &Position, received_at: DateTime<Utc>, check: CheckFix<'_>) -> Result<PositionOutcome, RepoError>;

    /// A unit's fixes with device time in [start, end), oldest first, at
    /// most `limit`, implausible ones included (flagged).
    fn unit_trail(&self, unit_id: &str, start: DateTime<Utc>, end: DateTime<Utc>, limit: usize) -> Result<Vec<TrailPoint>, RepoError>;

    /// One incident; None if there is none with that id.
    fn incident(&self, id: i64) -> Result<Option<Incident>, RepoError>;

    /// Incidents, newest first, optionally only those in `state` or only
    /// flagged (or unflagged) ones, at most `limit`.
    fn incidents(&self, state: Option<IncidentState>, flagged: Option<bool>, limit: usize) -> Result<Vec<Incident>, RepoError>;

    /// The open incident a unit is on (not released), if any.
    fn current_incident_of(&self, unit_id: &str) -> Result<Option<i64>, RepoError>;

    /// Creates an open incident, its checklist copied from `procedure`, and
    /// its `created` timeline entry (by `new.created_by`, with `detail`).
    /// The maker gets the new incident's id.
    fn create_incident(
        &self,
        new: &NewIncident,
        procedure: Option<&Procedure>,
        detail: &Value,
        now: DateTime<Utc>,
        audit: MakeRowAfter<'_, i64>,
    ) -> Result<(i64, AuditRow), RepoError>;

    /// Applies `change` to an open incident and appends `entry` to its
    /// timeline. `NotFound` for no such incident, unit or checklist step;
    /// `Stale` if the incident is closed or an assigned unit is not
    /// available.
    fn change_incident(&self, id: i64, change: IncidentChange<'_>, entry: &TimelineEntry, audit: MakeRow<'_>) -> Result<AuditRow, RepoError>;

    /// Adds or replaces the procedure of an incident type. Incidents
    /// already created keep their own copy of the checklist.
    fn put_procedure(&self, p: &Procedure, audit: MakeRow<'_>) -> Result<AuditRow, RepoError>;

    /// The procedure of an incident type, if one is defined.
    fn procedure(&self, incident_type: &str) -> Result<Option<Procedure>, RepoError>;

    /// Every procedure, by incident type.
    fn procedures(&self) -> Result<Vec<Procedure>, RepoError>;
}
