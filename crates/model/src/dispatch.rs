//! Dispatch vocabulary: units and their positions, incidents, their
//! timelines and the per-type procedures (checklists) that guide them.
//! Validation of values lives here; workflows (who may move a unit from one
//! status to another, what closing does) live in `citywatch-dispatch`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{FieldError, Timestamp};

/// A unit id: like camera ids, safe in URLs and topics.
pub type UnitId = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Car,
    Foot,
    Motorbike,
}

impl UnitKind {
    pub const ALL: [UnitKind; 3] = [UnitKind::Car, UnitKind::Foot, UnitKind::Motorbike];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Car => "car",
            UnitKind::Foot => "foot",
            UnitKind::Motorbike => "motorbike",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    Available,
    Dispatched,
    EnRoute,
    OnScene,
    OutOfService,
}

impl UnitStatus {
    pub const ALL: [UnitStatus; 5] = [UnitStatus::Available, UnitStatus::Dispatched, UnitStatus::EnRoute, UnitStatus::OnScene, UnitStatus::OutOfService];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitStatus::Available => "available",
            UnitStatus::Dispatched => "dispatched",
            UnitStatus::EnRoute => "en_route",
            UnitStatus::OnScene => "on_scene",
            UnitStatus::OutOfService => "out_of_service",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether a unit in this status is busy with an incident.
    pub fn is_committed(self) -> bool {
        matches!(self, UnitStatus::Dispatched | UnitStatus::EnRoute | UnitStatus::OnScene)
    }
}

/// Why a fix is kept in the trail but never becomes the unit's position:
/// it cannot be where the unit was (a clock far off, a jump no unit of its
/// kind can make).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImplausibleFix {
    /// Taken longer ago than the trail's plausibility window (e.g. a device
    /// clock reset to 1900).
    TooOld,
    /// Taken later than the server's clock allows (a fast device clock):
    /// as the position it would hide every true fix until its time came.
    AheadOfClock,
    /// Further from the unit's position than its kind can travel in the time between.
    TooFast,
}

impl ImplausibleFix {
    pub const ALL: [ImplausibleFix; 3] = [ImplausibleFix::TooOld, ImplausibleFix::AheadOfClock, ImplausibleFix::TooFast];

    pub fn as_str(self) -> &'static str {
        match self {
            ImplausibleFix::TooOld => "too_old",
            ImplausibleFix::AheadOfClock => "ahead_of_clock",
            ImplausibleFix::TooFast => "too_fast",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One GPS fix of a unit, as reported by its device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub unit_id: UnitId,
    pub lat: f64,
    pub lon: f64,
    /// When the device took the fix (not when it arrived).
    pub time: Timestamp,
    /// Metres per second, if the device reported it.
    pub speed_mps: Option<f64>,
    /// Degrees clockwise from true north, if reported.
    pub bearing_deg: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub id: UnitId,
    pub call_sign: String,
    pub kind: UnitKind,
    /// Usernames of the officers crewing the unit.
    pub officers: Vec<String>,
    /// Free-form skills and equipment ("k9", "medic", "ladder").
    pub capabilities: Vec<String>,
    pub status: UnitStatus,
    /// The newest fix by device time; older fixes that arrive late go to the
    /// trail only.
    pub position: Option<Position>,
    /// The home district: who may see, recommend and assign the unit (a
    /// unit without one is for all-district grants only, as a camera is).
    #[serde(default)]
    pub district: Option<String>,
}

/// What an API body or an import turns into when creating or replacing a unit.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitSpec {
    pub id: UnitId,
    pub call_sign: String,
    pub kind: UnitKind,
    pub officers: Vec<String>,
    pub capabilities: Vec<String>,
    /// The home district; `None`: all-district grants only.
    pub district: Option<String>,
}

impl UnitSpec {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Err(reason) = crate::check_id(&self.id) {
            errors.push(FieldError::new("id", reason));
        }
        let cs = self.call_sign.trim();
        if cs.is_empty() || cs.chars().count() > 64 {
            errors.push(FieldError::new("call_sign", "must be 1 to 64 characters"));
        }
        if self.officers.iter().any(|o| o.trim().is_empty()) {
            errors.push(FieldError::new("officers", "must be usernames (not empty)"));
        }
        if self.capabilities.iter().any(|c| c.trim().is_empty() || c.len() > 64) {
            errors.push(FieldError::new("capabilities", "each must be 1 to 64 characters"));
        }
        if self.district.as_deref().is_some_and(|d| d.trim().is_empty() || d.chars().count() > 100) {
            errors.push(FieldError::new("district", "must be a district name (1 to 100 characters) or null"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Incident ids are assigned by the store.
pub type IncidentId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Open,
    Closed,
}

impl IncidentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(IncidentState::Open),
            "closed" => Some(IncidentState::Closed),
            _ => None,
        }
    }
}

/// Where an incident is: a point, and the civic address if one was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IncidentLocation {
    pub lat: f64,
    pub lon: f64,
    pub address: Option<String>,
}

/// A unit on an incident: who sent it and when; `released_at` once it left
/// (back to available, or the incident closed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Assignment {
    pub unit_id: UnitId,
    pub assigned_by: String,
    pub assigned_at: Timestamp,
    pub released_at: Option<Timestamp>,
}

/// One line of an incident's history: everything that happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TimelineEntry {
    pub time: Timestamp,
    pub actor: String,
    /// created, note, assigned, status, checklist, closed.
    pub kind: String,
    /// Whatever the change records; the console reads it field by field.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub detail: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Done,
    Skipped,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Done => "done",
            StepState::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(StepState::Pending),
            "done" => Some(StepState::Done),
            "skipped" => Some(StepState::Skipped),
            _ => None,
        }
    }
}

/// One step of an incident's checklist, numbered from 1 in procedure order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChecklistStep {
    pub step: u32,
    pub text: String,
    pub state: StepState,
    pub by: Option<String>,
    pub at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    /// The incident type ("burglary", "traffic_collision"); picks the procedure.
    pub kind: String,
    /// 1 (most urgent) to 5.
    pub priority: u8,
    pub location: IncidentLocation,
    pub state: IncidentState,
    /// The alert this incident was raised from, if any.
    pub alert_id: Option<i64>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    /// Set when the incident was closed with skipped checklist steps, for
    /// supervisors to review.
    pub flagged: bool,
    pub units: Vec<Assignment>,
    pub checklist: Vec<ChecklistStep>,
    pub timeline: Vec<TimelineEntry>,
}

/// What a new incident is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub kind: String,
    pub priority: u8,
    pub location: IncidentLocation,
    pub alert_id: Option<i64>,
    pub created_by: String,
}

impl NewIncident {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Err(reason) = check_incident_type(&self.kind) {
            errors.push(FieldError::new("type", reason));
        }
        if !(1..=5).contains(&self.priority) {
            errors.push(FieldError::new("priority", "must be 1 (most urgent) to 5"));
        }
        let l = &self.location;
        if !(l.lat.is_finite() && (-90.0..=90.0).contains(&l.lat)) {
            errors.push(FieldError::new("lat", "must be a latitude in [-90, 90]"));
        }
        if !(l.lon.is_finite() && (-180.0..=180.0).contains(&l.lon)) {
            errors.push(FieldError::new("lon", "must be a longitude in [-180, 180]"));
        }
        if l.address.as_ref().is_some_and(|a| a.trim().is_empty() || a.chars().count() > 500) {
            errors.push(FieldError::new("address", "must be 1 to 500 characters"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Incident types name procedures and appear in URLs: `a-z 0-9 _ -`, 1 to 64.
pub fn check_incident_type(t: &str) -> Result<(), String> {
    if t.is_empty() || t.len() > 64 {
        return Err("must be 1 to 64 characters".into());
    }
    if !t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-') {
        return Err("may contain only lower-case letters, digits, '_' and '-'".into());
    }
    Ok(())
}

/// The checklist for one incident type, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Procedure {
    pub incident_type: String,
    pub steps: Vec<String>,
}

impl Procedure {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Err(reason) = check_incident_type(&self.incident_type) {
            errors.push(FieldError::new("incident_type", reason));
        }
        if self.steps.is_empty() || self.steps.len() > 100 {
            errors.push(FieldError::new("steps", "must list 1 to 100 steps"));
        }
        if self.steps.iter().any(|s| s.trim().is_empty() || s.chars().count() > 500) {
            errors.push(FieldError::new("steps", "each step must be 1 to 500 characters"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_values_name_their_field() {
        for s in UnitStatus::ALL {
            assert_eq!(UnitStatus::parse(s.as_str()), Some(s));
        }
        for k in UnitKind::ALL {
            assert_eq!(UnitKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(UnitStatus::parse("busy"), None);
        let bad = NewIncident {
            kind: "Bad Type".into(),
            priority: 9,
            location: IncidentLocation { lat: 91.0, lon: 0.0, address: None },
            alert_id: None,
            created_by: "d".into(),
        };
        let fields: Vec<String> = bad.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["type", "priority", "lat"]);
        let spec = UnitSpec { id: "u 1".into(), call_sign: "".into(), kind: UnitKind::Car, officers: vec![], capabilities: vec![], district: Some(" ".into()) };
        let fields: Vec<String> = spec.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["id", "call_sign", "district"]);
    }
}

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

/// A change to an open incident, applied with its timeline entry in one
/// transaction. A unit's own status report is not one of these: it names
/// the status it saw (see `DispatchRepo::report_unit_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentChange<'a> {
    Note,
    /// Assign an available unit (its status becomes dispatched).
    Assign {
        unit_id: &'a str,
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
