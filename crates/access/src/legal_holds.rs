//! The rules of legal holds: a camera's recordings in a time range kept
//! from retention until a set expiry, for a stated purpose and case
//! reference, on a camera in the caller's districts.

use chrono::{DateTime, Utc};
use citywatch_model::NewLegalHold;
use citywatch_model::{FieldError, Scope};
use citywatch_registry::Snapshot;

use crate::justification::{self, JustificationProblem};

/// A request to place a hold, as given (every field required).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    pub camera_id: String,
    pub start: String,
    pub end: String,
    pub purpose: String,
    pub case_ref: String,
    pub expires_at: String,
}

/// The time fields of a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldTime {
    Start,
    End,
    ExpiresAt,
}

impl HoldTime {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldTime::Start => "start",
            HoldTime::End => "end",
            HoldTime::ExpiresAt => "expires_at",
        }
    }
}

/// One thing wrong with a hold request; [`HoldProblem::field`] names the
/// field, the text says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldProblem {
    /// The field, and the parser's complaint.
    #[error("must be an RFC 3339 time, e.g. 2026-11-27T08:00:00Z: {1}")]
    Unreadable(HoldTime, String),
    #[error("must be after start")]
    EndNotAfterStart,
    #[error("must be in the future")]
    ExpiryPast,
    #[error(transparent)]
    Justification(JustificationProblem),
}

impl HoldProblem {
    pub fn field(&self) -> &str {
        match self {
            HoldProblem::Unreadable(t, _) => t.as_str(),
            HoldProblem::EndNotAfterStart => "end",
            HoldProblem::ExpiryPast => "expires_at",
            HoldProblem::Justification(j) => j.field(),
        }
    }
}

impl From<HoldProblem> for FieldError {
    fn from(p: HoldProblem) -> FieldError {
        FieldError::new(p.field(), p.to_string())
    }
}

/// Why no hold was placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldRefusal {
    /// The request is wrong: every problem, in the order of its fields.
    #[error("{}", .0.iter().map(|p| format!("{}: {p}", p.field())).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<HoldProblem>),
    /// The camera is not one of the caller's districts (or none at all):
    /// the caller is told no more than that it was not found.
    #[error("camera {0} not found")]
    UnknownCamera(String),
}

/// Decides a hold request by `by`, whose `ManageLegalHolds` permission
/// reaches `scope`: the hold to store, or why not. The request's problems
/// come first; only a valid request is told whether its camera exists.
pub fn decide_hold(request: HoldRequest, by: &str, scope: &Scope, cameras: &Snapshot, now: DateTime<Utc>) -> Result<NewLegalHold, HoldRefusal> {
    let mut problems = Vec::new();
    let mut time = |field: HoldTime, v: &str| match DateTime::parse_from_rfc3339(v) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            problems.push(HoldProblem::Unreadable(field, e.to_string()));
            None
        }
    };
    let (start, end, expires_at) = (time(HoldTime::Start, &request.start), time(HoldTime::End, &request.end), time(HoldTime::ExpiresAt, &request.expires_at));
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            problems.push(HoldProblem::EndNotAfterStart);
        }
    }
    if expires_at.is_some_and(|x| x <= now) {
        problems.push(HoldProblem::ExpiryPast);
    }
    let mut justification_problems = Vec::new();
    let (purpose, case_ref) =
        justification::check(Some(&request.purpose), Some(&request.case_ref), "why the recordings must be kept", &mut justification_problems);
    problems.extend(justification_problems.into_iter().map(HoldProblem::Justification));
    let (Some(start), Some(end), Some(expires_at), Some(purpose), Some(case_ref)) = (start, end, expires_at, purpose, case_ref) else {
        return Err(HoldRefusal::Invalid(problems));
    };
    if !problems.is_empty() {
        return Err(HoldRefusal::Invalid(problems));
    }
    if cameras.get(&request.camera_id, scope).is_none() {
        return Err(HoldRefusal::UnknownCamera(request.camera_id));
    }
    Ok(NewLegalHold {
        camera_id: request.camera_id,
        start_90k: to_90k(start),
        end_90k: to_90k(end),
        purpose: purpose.into_string(),
        case_ref: case_ref.into_string(),
        created_by: by.to_owned(),
        expires_at,
    })
}

/// Whether the caller may see holds on `camera_id`: the camera is in their
/// districts, or they hold the permission everywhere (a deleted camera's
/// recordings may still be held).
pub fn hold_visible(scope: &Scope, cameras: &Snapshot, camera_id: &str) -> bool {
    *scope == Scope::All || cameras.get(camera_id, scope).is_some()
}

/// A time in the 90 kHz units of recordings (and holds).
pub fn to_90k(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros() * 9 / 100
}

/// The time of a 90 kHz instant (to the microsecond).
pub fn from_90k(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t * 100 / 9).unwrap_or_default()
}
