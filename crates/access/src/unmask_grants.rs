//! The rules of unmask grants: a supervisor lets one named user see faces
//! in the live video and snapshots of chosen cameras (in the supervisor's
//! districts, or those that see an incident) until an expiry of at most
//! [`MAX_GRANT`], for a stated purpose and case reference.
//!
//! A grant only unblurs what the grantee may see anyway: the live and
//! snapshot routes still check the grantee's own camera scope first.

use chrono::{DateTime, Duration, Utc};
use citywatch_geo::GeoError;
use citywatch_model::{FieldError, RepoError, Scope};
use citywatch_model::{NewUnmaskGrant, UnmaskGrant};
use citywatch_registry::{CameraQuery, Snapshot};

use crate::justification::{self, JustificationProblem};

/// Longest a grant may run: one shift.
pub const MAX_GRANT: Duration = Duration::hours(12);
/// Cameras one grant may name.
pub const MAX_CAMERAS: usize = 64;
/// Where no camera sees an incident, those this near it (as the officer
/// terminal does).
pub const INCIDENT_RADIUS_M: f64 = 150.0;

/// A request for a grant, as given: every field may be missing, and each
/// missing or wrong one is reported.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub grantee: Option<String>,
    pub camera_ids: Option<Vec<String>>,
    /// Instead of camera_ids: the cameras the officer terminal shows for
    /// this incident (those that see its location, else those within
    /// [`INCIDENT_RADIUS_M`]), as far as they are in the granter's districts.
    pub incident_id: Option<i64>,
    pub expires_at: Option<String>,
    pub purpose: Option<String>,
    pub case_ref: Option<String>,
}

/// What the rules need to know beyond the cameras: the grantee's account
/// and the incident's location.
pub trait Directory {
    /// Where incident `id` is (lat, lon); `None`: no such incident.
    fn incident_location(&self, id: i64) -> Result<Option<(f64, f64)>, RepoError>;
    /// Whether `username` may log in; `None`: no such user.
    fn user_enabled(&self, username: &str) -> Result<Option<bool>, RepoError>;
}

/// One thing wrong with a grant request; [`GrantProblem::field`] names the
/// field, the text says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantProblem {
    #[error("is required: the username who may see faces")]
    GranteeMissing,
    #[error("no user {0}")]
    NoSuchGrantee(String),
    #[error("user {0} is disabled")]
    GranteeDisabled(String),
    #[error(transparent)]
    Justification(JustificationProblem),
    #[error("is required (RFC 3339, at most {} h from now)", MAX_GRANT.num_hours())]
    ExpiryMissing,
    /// The parser's complaint.
    #[error("must be an RFC 3339 time, e.g. 2026-11-27T20:00:00Z: {0}")]
    ExpiryUnreadable(String),
    #[error("must be in the future")]
    ExpiryPast,
    #[error("must be at most {} h from now", MAX_GRANT.num_hours())]
    ExpiryTooLate,
    #[error("give camera_ids or incident_id, not both")]
    CamerasAndIncident,
    #[error("no incident {0}")]
    NoSuchIncident(i64),
    #[error("no camera of your districts sees or is within {} m of incident {}", INCIDENT_RADIUS_M, .0)]
    NoCameraAtIncident(i64),
    #[error("is required: one or more camera ids")]
    CamerasMissing,
    #[error("at most {} cameras per grant", MAX_CAMERAS)]
    TooManyCameras,
    /// The ids the granter's districts do not hold.
    #[error("not cameras of your districts: {}", .0.join(", "))]
    CamerasOutside(Vec<String>),
}

impl GrantProblem {
    pub fn field(&self) -> &str {
        use GrantProblem::*;
        match self {
            GranteeMissing | NoSuchGrantee(_) | GranteeDisabled(_) => "grantee",
            Justification(j) => j.field(),
            ExpiryMissing | ExpiryUnreadable(_) | ExpiryPast | ExpiryTooLate => "expires_at",
            CamerasAndIncident | NoSuchIncident(_) | NoCameraAtIncident(_) => "incident_id",
            CamerasMissing | TooManyCameras | CamerasOutside(_) => "camera_ids",
        }
    }
}

impl From<GrantProblem> for FieldError {
    fn from(p: GrantProblem) -> FieldError {
        FieldError::new(p.field(), p.to_string())
    }
}

/// Why no grant was made.
#[derive(Debug, thiserror::Error)]
pub enum GrantRefusal {
    /// The request is wrong: every problem, in the order of its fields.
    #[error("{}", .0.iter().map(|p| format!("{}: {p}", p.field())).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<GrantProblem>),
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// An incident's location the camera index refuses.
    #[error(transparent)]
    Geo(#[from] GeoError),
}

/// Decides a grant request by `granter`, whose `GrantUnmask` permission
/// reaches `scope`: the grant to store, or every problem with the request.
pub fn decide_grant(
    request: GrantRequest,
    granter: &str,
    scope: &Scope,
    cameras: &Snapshot,
    directory: &impl Directory,
    now: DateTime<Utc>,
) -> Result<NewUnmaskGrant, GrantRefusal> {
    let mut problems = Vec::new();
    let grantee = request.grantee.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    if grantee.is_none() {
        problems.push(GrantProblem::GranteeMissing);
    }
    let mut justification_problems = Vec::new();
    let (purpose, case_ref) =
        justification::check(request.purpose.as_deref(), request.case_ref.as_deref(), "why faces must be shown", &mut justification_problems);
    problems.extend(justification_problems.into_iter().map(GrantProblem::Justification));
    let expires_at = check_expiry(request.expires_at.as_deref(), now, &mut problems);
    let from_incident = match (request.incident_id, &request.camera_ids) {
        (Some(_), Some(_)) => {
            problems.push(GrantProblem::CamerasAndIncident);
            None
        }
        (Some(id), None) => match directory.incident_location(id)? {
            None => {
                problems.push(GrantProblem::NoSuchIncident(id));
                None
            }
            Some((lat, lon)) => {
                let found = incident_cameras(cameras, scope, lat, lon)?;
                if found.is_empty() {
                    problems.push(GrantProblem::NoCameraAtIncident(id));
                }
                Some(found)
            }
        },
        (None, _) => None,
    };
    let mut ids: Vec<String> = from_incident.unwrap_or_else(|| request.camera_ids.unwrap_or_default()).into_iter().map(|c| c.trim().to_owned()).collect();
    ids.sort();
    ids.dedup();
    // With an incident, its problems are reported above.
    if request.incident_id.is_none() {
        if ids.is_empty() || ids.iter().any(String::is_empty) {
            problems.push(GrantProblem::CamerasMissing);
        } else if ids.len() > MAX_CAMERAS {
            problems.push(GrantProblem::TooManyCameras);
        } else {
            let outside: Vec<String> = ids.iter().filter(|c| cameras.get(c, scope).is_none()).cloned().collect();
            if !outside.is_empty() {
                problems.push(GrantProblem::CamerasOutside(outside));
            }
        }
    }
    if let Some(user) = &grantee {
        match directory.user_enabled(user)? {
            Some(true) => {}
            Some(false) => problems.push(GrantProblem::GranteeDisabled(user.clone())),
            None => problems.push(GrantProblem::NoSuchGrantee(user.clone())),
        }
    }
    match (grantee, purpose, case_ref, expires_at) {
        (Some(grantee), Some(purpose), Some(case_ref), Some(expires_at)) if problems.is_empty() => Ok(NewUnmaskGrant {
            grantee,
            cameras: ids,
            purpose: purpose.into_string(),
            case_ref: case_ref.into_string(),
            created_by: granter.to_owned(),
            expires_at,
        }),
        _ => Err(GrantRefusal::Invalid(problems)),
    }
}

/// The expiry, if readable (a time out of bounds is still returned, with
/// its problem pushed).
fn check_expiry(raw: Option<&str>, now: DateTime<Utc>, problems: &mut Vec<GrantProblem>) -> Option<DateTime<Utc>> {
    let Some(raw) = raw else {
        problems.push(GrantProblem::ExpiryMissing);
        return None;
    };
    match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => {
            let t = t.with_timezone(&Utc);
            if t <= now {
                problems.push(GrantProblem::ExpiryPast);
            } else if t > now + MAX_GRANT {
                problems.push(GrantProblem::ExpiryTooLate);
            }
            Some(t)
        }
        Err(e) => {
            problems.push(GrantProblem::ExpiryUnreadable(e.to_string()));
            None
        }
    }
}

/// The cameras with a stream that see a point, else those near it, in
/// `scope`, at most [`MAX_CAMERAS`].
fn incident_cameras(cameras: &Snapshot, scope: &Scope, lat: f64, lon: f64) -> Result<Vec<String>, GeoError> {
    let ids = |q: CameraQuery| -> Result<Vec<String>, GeoError> {
        let hits = q.run(cameras, scope)?;
        Ok(hits.iter().filter(|h| h.camera.main_url.is_some() || h.camera.sub_url.is_some()).map(|h| h.camera.id.clone()).take(MAX_CAMERAS).collect())
    };
    let seeing = ids(CameraQuery::Sees { lat, lon })?;
    if !seeing.is_empty() {
        return Ok(seeing);
    }
    ids(CameraQuery::Near { lat, lon, radius_m: INCIDENT_RADIUS_M })
}

/// Whether a grant is the caller's business: one of its cameras is in the
/// caller's districts (a deleted camera only for all-district callers).
pub fn grant_visible(scope: &Scope, cameras: &Snapshot, grant: &UnmaskGrant) -> bool {
    *scope == Scope::All || grant.cameras.iter().any(|c| cameras.get(c, scope).is_some())
}

/// Of a user's grants in force, the one that covers `camera`.
pub fn grant_covering(grants: &[UnmaskGrant], camera: &str) -> Option<i64> {
    grants.iter().find(|g| g.cameras.iter().any(|c| c == camera)).map(|g| g.id)
}
