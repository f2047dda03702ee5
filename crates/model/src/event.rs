//! Events, the rules that watch them and the alerts rules raise.
//!
//! An event is something that happened at a time, from a source (a camera, a
//! unit, a user), maybe at a place. A rule turns matching events into an
//! alert; an alert is handled by people, each step recorded with who and
//! when. Validation lives here so that the API, the store and the rules
//! engine agree on what a valid event or rule is.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{FieldError, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Motion,
    Object,
    Zone,
    LineCrossing,
    PlateRead,
    HotlistHit,
    CameraOffline,
    CameraOnline,
    CameraTamper,
    UnitPosition,
    IncidentChange,
}

impl EventType {
    pub const ALL: [EventType; 11] = [
        EventType::Motion,
        EventType::Object,
        EventType::Zone,
        EventType::LineCrossing,
        EventType::PlateRead,
        EventType::HotlistHit,
        EventType::CameraOffline,
        EventType::CameraOnline,
        EventType::CameraTamper,
        EventType::UnitPosition,
        EventType::IncidentChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Motion => "motion",
            EventType::Object => "object",
            EventType::Zone => "zone",
            EventType::LineCrossing => "line_crossing",
            EventType::PlateRead => "plate_read",
            EventType::HotlistHit => "hotlist_hit",
            EventType::CameraOffline => "camera_offline",
            EventType::CameraOnline => "camera_online",
            EventType::CameraTamper => "camera_tamper",
            EventType::UnitPosition => "unit_position",
            EventType::IncidentChange => "incident_change",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Events that carry a licence plate: reading them is a plate search
    /// (purpose and case reference, audited).
    pub fn carries_plate(self) -> bool {
        matches!(self, EventType::PlateRead | EventType::HotlistHit)
    }

    /// Which part of the server raises events of this type, for the types
    /// only the server may raise (`None`: people and integrations may raise
    /// them too). These carry the server's own observations (a plate read
    /// and its hotlist match, a recorder's view of a camera, an AVL fix, an
    /// incident's history); one raised by hand would be a forged
    /// observation, and a hotlist hit a severe alert on demand.
    pub fn raised_only_by(self) -> Option<&'static str> {
        match self {
            EventType::PlateRead => Some("the plate reader"),
            EventType::HotlistHit => Some("the hotlists, when a plate read matches one"),
            EventType::CameraOffline | EventType::CameraOnline => Some("the recorder watching the camera"),
            EventType::UnitPosition => Some("AVL, from a unit's own position reports"),
            EventType::IncidentChange => Some("dispatch, as an incident changes"),
            EventType::Motion | EventType::Object | EventType::Zone | EventType::LineCrossing | EventType::CameraTamper => None,
        }
    }

    fn list() -> String {
        EventType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Camera,
    Unit,
    User,
    /// The server itself (e.g. a recorder noticing a camera went offline).
    System,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Camera => "camera",
            SourceKind::Unit => "unit",
            SourceKind::User => "user",
            SourceKind::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<SourceKind> {
        [SourceKind::Camera, SourceKind::Unit, SourceKind::User, SourceKind::System].into_iter().find(|k| k.as_str() == s)
    }
}

/// Where an event came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Source {
    pub kind: SourceKind,
    pub id: String,
}

impl Source {
    pub fn camera(id: impl Into<String>) -> Source {
        Source { kind: SourceKind::Camera, id: id.into() }
    }
}

/// WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
}

impl Location {
    pub fn check(&self, field: &str) -> Result<(), FieldError> {
        if !(-90.0..=90.0).contains(&self.lat) || !self.lat.is_finite() {
            return Err(FieldError::new(format!("{field}.lat"), "must be between -90 and 90"));
        }
        if !(-180.0..=180.0).contains(&self.lon) || !self.lon.is_finite() {
            return Err(FieldError::new(format!("{field}.lon"), "must be between -180 and 180"));
        }
        Ok(())
    }
}

/// An event before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub time: Timestamp,
    pub source: Source,
    pub location: Option<Location>,
    /// What the detector or sender knows: object class, plate, zone name,
    /// hotlist priority, ... A JSON object.
    pub details: Value,
}

/// Longest accepted `details` (serialised JSON), so one event cannot fill
/// the database.
pub const MAX_EVENT_DETAILS_BYTES: usize = 16 * 1024;

/// Keys of `details` that only the server writes, and why: an event
/// raised from outside naming a snapshot had the API serve any picture
/// under the snapshot directory (another district's plate crop) as its own.
pub const SERVER_DETAILS: [(&str, &str); 2] = [
    ("snapshot", "names the event's picture, which only the server's analytics takes and names"),
    ("persons", "lists the persons the server's detector saw in the event's picture"),
];

impl NewEvent {
    /// Every problem with the event, by field.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Err(e) = crate::check_id(&self.source.id) {
            errors.push(FieldError::new("source.id", e));
        }
        if let Some(l) = &self.location {
            if let Err(e) = l.check("location") {
                errors.push(e);
            }
        }
        if !self.details.is_object() {
            errors.push(FieldError::new("details", "must be a JSON object"));
        } else if self.details.to_string().len() > MAX_EVENT_DETAILS_BYTES {
            errors.push(FieldError::new("details", format!("is larger than {MAX_EVENT_DETAILS_BYTES} bytes")));
        }
        if self.event_type == EventType::HotlistHit && self.details.get("priority").and_then(Value::as_u64).is_none_or(|p| p > 10) {
            errors.push(FieldError::new("details.priority", "a hotlist_hit needs the hotlist priority, an integer 0..10"));
        }
        errors
    }

    /// Every reason the event may not come from outside the server (the
    /// API): a type only the server raises, or details only it writes.
    pub fn check_raised_from_outside(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(by) = self.event_type.raised_only_by() {
            errors.push(FieldError::new("type", format!("only the server raises {} events ({by}); they cannot be raised through the API", self.event_type)));
        }
        for (key, what) in SERVER_DETAILS {
            if self.details.get(key).is_some() {
                errors.push(FieldError::new(format!("details.{key}"), format!("is written only by the server (it {what}); leave it out")));
            }
        }
        errors
    }

    /// Parses an event type name, saying which names exist.
    pub fn parse_type(field: &str, s: &str) -> Result<EventType, FieldError> {
        EventType::parse(s).ok_or_else(|| FieldError::new(field, format!("unknown event type {s:?}; one of {}", EventType::list())))
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub time: Timestamp,
    pub source: Source,
    /// The source camera's district when the event was stored.
    pub district: Option<String>,
    pub location: Option<Location>,
    pub details: Value,
    pub received_at: Timestamp,
}

impl Event {
    /// Hotlist priority of a hotlist hit (0 lowest .. 10 highest).
    pub fn hotlist_priority(&self) -> Option<u8> {
        self.details.get("priority").and_then(Value::as_u64).map(|p| p.min(255) as u8)
    }
}

/// When a rule is armed: on these days (1 = Monday .. 7 = Sunday, UTC) from
/// `start_hour` up to `end_hour` (UTC, 0..24; `end_hour < start_hour` wraps
/// past midnight, e.g. 22..6 for nights).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[serde(default = "all_days")]
    pub days: Vec<u8>,
    pub start_hour: u8,
    pub end_hour: u8,
}

fn all_days() -> Vec<u8> {
    (1..=7).collect()
}

impl Schedule {
    pub fn contains(&self, t: Timestamp) -> bool {
        use chrono::{Datelike, Timelike};
        let day = t.weekday().number_from_monday() as u8;
        let hour = t.hour() as u8;
        // A night shift starting on Monday 22:00 covers Tuesday 03:00 too.
        let prev_day = if day == 1 { 7 } else { day - 1 };
        if self.start_hour <= self.end_hour {
            self.days.contains(&day) && hour >= self.start_hour && hour < self.end_hour
        } else {
            (self.days.contains(&day) && hour >= self.start_hour) || (self.days.contains(&prev_day) && hour < self.end_hour)
        }
    }
}

/// A circle on the map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
}

/// CAP severities (OASIS CAP 1.2, `severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Extreme,
    Severe,
    #[default]
    Moderate,
    Minor,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Extreme => "extreme",
            Severity::Severe => "severe",
            Severity::Moderate => "moderate",
            Severity::Minor => "minor",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Extreme, Severity::Severe, Severity::Moderate, Severity::Minor].into_iter().find(|x| x.as_str() == s)
    }
}

/// What a rule watches for and how it groups what it finds. Empty lists
/// match anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub event_types: Vec<EventType>,
    #[serde(default)]
    pub cameras: Vec<String>,
    #[serde(default)]
    pub districts: Vec<String>,
    /// Events located inside this circle (events without a location do not match).
    #[serde(default)]
    pub area: Option<Area>,
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// For hotlist hits: the least hotlist priority that raises an alert.
    #[serde(default)]
    pub min_hotlist_priority: Option<u8>,
    #[serde(default)]
    pub severity: Severity,
    /// Events matched within this many seconds of an open alert's last
    /// event ...
    #[serde(default = "default_window")]
    pub correlation_window_s: u32,
    /// ... and this many metres of its location (or, without locations, from
    /// the same source) join that alert instead of raising a new one.
    #[serde(default = "default_radius")]
    pub correlation_radius_m: f64,
}

fn yes() -> bool {
    true
}
fn default_window() -> u32 {
    60
}
fn default_radius() -> f64 {
    100.0
}

impl RuleSpec {
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.len() > 200 {
            errors.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
        if self.event_types.is_empty() {
            errors.push(FieldError::new("event_types", format!("must list at least one event type: {}", EventType::list())));
        }
        for (i, c) in self.cameras.iter().enumerate() {
            if let Err(e) = crate::check_id(c) {
                errors.push(FieldError::new(format!("cameras[{i}]"), e));
            }
        }
        if let Some(a) = &self.area {
            if let Err(e) = (Location { lat: a.lat, lon: a.lon }).check("area") {
                errors.push(e);
            }
            if !(a.radius_m > 0.0 && a.radius_m <= 100_000.0) {
                errors.push(FieldError::new("area.radius_m", "must be in (0, 100000]"));
            }
        }
        if let Some(s) = &self.schedule {
            if s.days.is_empty() || s.days.iter().any(|d| !(1..=7).contains(d)) {
                errors.push(FieldError::new("schedule.days", "must list days 1 (Monday) to 7 (Sunday)"));
            }
            if s.start_hour > 23 {
                errors.push(FieldError::new("schedule.start_hour", "must be 0..23"));
            }
            if s.end_hour > 24 || s.end_hour == s.start_hour {
                errors.push(FieldError::new("schedule.end_hour", "must be 0..24 and differ from start_hour"));
            }
        }
        if let Some(p) = self.min_hotlist_priority {
            if p > 10 {
                errors.push(FieldError::new("min_hotlist_priority", "must be 0..10"));
            }
            if !self.event_types.contains(&EventType::HotlistHit) {
                errors.push(FieldError::new("min_hotlist_priority", "applies only to rules that watch hotlist_hit"));
            }
        }
        if self.correlation_window_s > 86_400 {
            errors.push(FieldError::new("correlation_window_s", "must be 0..86400"));
        }
        if !(0.0..=100_000.0).contains(&self.correlation_radius_m) {
            errors.push(FieldError::new("correlation_radius_m", "must be 0..100000"));
        }
        errors
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rule {
    pub id: i64,
    #[serde(flatten)]
    pub spec: RuleSpec,
    pub created_by: String,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    New,
    Acknowledged,
    Resolved,
    FalseAlarm,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::New => "new",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
            AlertState::FalseAlarm => "false_alarm",
        }
    }

    pub fn parse(s: &str) -> Option<AlertState> {
        [AlertState::New, AlertState::Acknowledged, AlertState::Resolved, AlertState::FalseAlarm].into_iter().find(|x| x.as_str() == s)
    }

    /// New and acknowledged alerts still gather correlated events.
    pub fn is_open(self) -> bool {
        matches!(self, AlertState::New | AlertState::Acknowledged)
    }
}

/// What an operator does to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertAction {
    Acknowledge,
    Resolve,
    FalseAlarm,
}

impl AlertAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertAction::Acknowledge => "acknowledge",
            AlertAction::Resolve => "resolve",
            AlertAction::FalseAlarm => "false_alarm",
        }
    }

    /// The state `action` leads to from `from`: new → acknowledged →
    /// resolved | false alarm. Anything else is refused with the reason.
    pub fn apply(self, from: AlertState) -> Result<AlertState, String> {
        match (self, from) {
            (AlertAction::Acknowledge, AlertState::New) => Ok(AlertState::Acknowledged),
            (AlertAction::Resolve, AlertState::Acknowledged) => Ok(AlertState::Resolved),
            (AlertAction::FalseAlarm, AlertState::Acknowledged) => Ok(AlertState::FalseAlarm),
            (AlertAction::Acknowledge, s) => Err(format!("the alert is {} and can be acknowledged only when new", s.as_str())),
            (_, AlertState::New) => Err("the alert is new: acknowledge it first, then resolve it or mark it a false alarm".into()),
            (_, s) => Err(format!("the alert is already {} and cannot change again", s.as_str())),
        }
    }
}

/// An alert: events one rule matched, grouped by time and place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Alert {
    pub id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub state: AlertState,
    pub severity: Severity,
    /// Type of the first event.
    pub event_type: EventType,
    /// Source of the first event.
    pub source: Source,
    pub district: Option<String>,
    pub location: Option<Location>,
    pub first_event_at: Timestamp,
    pub last_event_at: Timestamp,
    pub event_count: i64,
    pub created_at: Timestamp,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<Timestamp>,
    /// Who resolved it or called it a false alarm, and when.
    pub closed_by: Option<String>,
    pub closed_at: Option<Timestamp>,
}

/// Which events to list, newest first. `None` and empty lists mean any.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub types: Vec<EventType>,
    pub source_kind: Option<SourceKind>,
    pub source_id: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Only events in these districts (`None`: every event, with or
    /// without a district).
    pub districts: Option<Vec<String>>,
    /// Paging: events with a smaller id.
    pub before_id: Option<i64>,
    pub limit: usize,
}

/// What the rules engine does to alerts for one batch of events.
#[derive(Debug, Clone)]
pub enum AlertChange {
    /// A new alert (its `id` is ignored) with the events it starts with.
    Open { alert: Box<Alert>, event_ids: Vec<i64> },
    /// A correlated event joins an open alert.
    Join { alert_id: i64, event_id: i64, time: Timestamp },
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn lifecycle_allows_only_the_forward_path() {
        use AlertAction::{Acknowledge, Resolve};
        use AlertState::{Acknowledged, New, Resolved};
        assert_eq!(Acknowledge.apply(New), Ok(Acknowledged));
        assert_eq!(Resolve.apply(Acknowledged), Ok(Resolved));
        assert_eq!(AlertAction::FalseAlarm.apply(Acknowledged), Ok(AlertState::FalseAlarm));
        assert!(Resolve.apply(New).unwrap_err().contains("acknowledge it first"));
        assert!(Acknowledge.apply(Resolved).is_err());
        assert!(Resolve.apply(AlertState::FalseAlarm).unwrap_err().contains("already false_alarm"));
    }

    #[test]
    fn night_schedule_wraps_past_midnight() {
        // 2026-11-23 is a Monday.
        let s = Schedule { days: vec![1], start_hour: 22, end_hour: 6 };
        let at = |d, h| chrono::Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        assert!(s.contains(at(23, 23)));
        assert!(s.contains(at(24, 3)), "Tuesday early morning belongs to Monday night");
        assert!(!s.contains(at(24, 23)), "Tuesday night is not scheduled");
        assert!(!s.contains(at(23, 3)), "Monday early morning belongs to Sunday night");
    }

    #[test]
    fn types_round_trip_and_unknown_names_are_explained() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert!(NewEvent::parse_type("type", "explosion").unwrap_err().reason.contains("line_crossing"));
    }
}
