//! `/api/v1/unmask-grants`: a supervisor lets one named user see faces in
//! the live video and event snapshots of chosen cameras (in the
//! supervisor's districts) until an expiry of at most [`MAX_GRANT`], for a
//! stated purpose and case reference; the supervisor may revoke it. Grant
//! and revocation are audited, and so is each view made under a grant
//! (`faces: shown`, `unmask_grant: N`, by the live and snapshot routes).
//!
//! A grant only unblurs what the grantee may see anyway: the live and
//! snapshot routes still check the grantee's own camera scope first.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use citywatch_audit::{Permission, Record, Scope};
use citywatch_model::{CaseRef, FieldError, Purpose};
use citywatch_registry::CameraQuery;
use citywatch_store::{NewUnmaskGrant, UnmaskGrant};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{audit, Caller};
use crate::{body, ApiError, AppState};

/// Longest a grant may run: one shift.
pub const MAX_GRANT: Duration = Duration::hours(12);
/// Cameras one grant may name.
const MAX_CAMERAS: usize = 64;
/// Where no camera sees an incident, those this near it (as the officer
/// terminal does).
const INCIDENT_RADIUS_M: f64 = 150.0;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    grantee: Option<String>,
    camera_ids: Option<Vec<String>>,
    /// Instead of camera_ids: the cameras the officer terminal shows for
    /// this incident (those that see its location, else those within
    /// [`INCIDENT_RADIUS_M`]), as far as they are in the caller's districts.
    incident_id: Option<i64>,
    expires_at: Option<String>,
    purpose: Option<String>,
    case_ref: Option<String>,
}

fn grant_json(g: &UnmaskGrant, now: DateTime<Utc>) -> Value {
    json!({
        "id": g.id,
        "grantee": g.grantee,
        "camera_ids": g.cameras,
        "purpose": g.purpose,
        "case_ref": g.case_ref,
        "created_by": g.created_by,
        "created_at": g.created_at,
        "expires_at": g.expires_at,
        "revoked_at": g.revoked_at,
        "revoked_by": g.revoked_by,
        "active": g.is_active(now),
    })
}

/// Whether a grant is the caller's business: one of its cameras is in the
/// caller's districts (a deleted camera only for all-district callers).
fn visible(state: &AppState, scope: &Scope, g: &UnmaskGrant) -> bool {
    *scope == Scope::All || {
        let snapshot = state.registry.snapshot();
        g.cameras.iter().any(|c| snapshot.get(c, scope).is_some())
    }
}

pub async fn create(State(state): State<AppState>, caller: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::GrantUnmask, "granting unmasked video").await?;
    let b: GrantBody = body::json_typed(&bytes)?;
    let now = Utc::now();
    let mut errors = Vec::new();
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let (grantee, purpose, case_ref) = (text(&b.grantee), text(&b.purpose), text(&b.case_ref));
    if grantee.is_none() {
        errors.push(FieldError::new("grantee", "is required: the username who may see faces"));
    }
    let purpose = match purpose {
        None => {
            errors.push(FieldError::new("purpose", "is required: why faces must be shown"));
            None
        }
        Some(p) => Purpose::parse(&p).map_err(|e| errors.push(e)).ok(),
    };
    let case_ref = match case_ref {
        None => {
            errors.push(FieldError::new("case_ref", "is required: the case or incident reference"));
            None
        }
        Some(c) => CaseRef::parse(&c).map_err(|e| errors.push(e)).ok(),
    };
    let expires_at = match b.expires_at.as_deref() {
        None => {
            errors.push(FieldError::new("expires_at", format!("is required (RFC 3339, at most {} h from now)", MAX_GRANT.num_hours())));
            None
        }
        Some(v) => match DateTime::parse_from_rfc3339(v) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                if t <= now {
                    errors.push(FieldError::new("expires_at", "must be in the future"));
                } else if t > now + MAX_GRANT {
                    errors.push(FieldError::new("expires_at", format!("must be at most {} h from now", MAX_GRANT.num_hours())));
                }
                Some(t)
            }
            Err(e) => {
                errors.push(FieldError::new("expires_at", format!("must be an RFC 3339 time, e.g. 2026-11-27T20:00:00Z: {e}")));
                None
            }
        },
    };
    let from_incident = match (b.incident_id, &b.camera_ids) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new("incident_id", "give camera_ids or incident_id, not both"));
            None
        }
        (Some(id), None) => {
            let store = state.store.clone();
            match tokio::task::spawn_blocking(move || store.incident(id)).await?? {
                None => {
                    errors.push(FieldError::new("incident_id", format!("no incident {id}")));
                    None
                }
                Some(inc) => {
                    let found = incident_cameras(&state, &scope, inc.location.lat, inc.location.lon)?;
                    if found.is_empty() {
                        errors.push(FieldError::new(
                            "incident_id",
                            format!("no camera of your districts sees or is within {INCIDENT_RADIUS_M} m of incident {id}"),
                        ));
                    }
                    Some(found)
                }
            }
        }
        (None, _) => None,
    };
    let mut cameras: Vec<String> = from_incident.unwrap_or_else(|| b.camera_ids.unwrap_or_default()).into_iter().map(|c| c.trim().to_owned()).collect();
    cameras.sort();
    cameras.dedup();
    if b.incident_id.is_some() {
        // Reported above.
    } else if cameras.is_empty() || cameras.iter().any(String::is_empty) {
        errors.push(FieldError::new("camera_ids", "is required: one or more camera ids"));
    } else if cameras.len() > MAX_CAMERAS {
        errors.push(FieldError::new("camera_ids", format!("at most {MAX_CAMERAS} cameras per grant")));
    } else {
        let snapshot = state.registry.snapshot();
        let outside: Vec<&str> = cameras.iter().filter(|c| snapshot.get(c, &scope).is_none()).map(String::as_str).collect();
        if !outside.is_empty() {
            errors.push(FieldError::new("camera_ids", format!("not cameras of your districts: {}", outside.join(", "))));
        }
    }
    if let Some(user) = &grantee {
        let store = state.store.clone();
        let name = user.clone();
        match tokio::task::spawn_blocking(move || store.user_credentials(&name)).await?? {
            Some(c) if !c.disabled => {}
            Some(_) => errors.push(FieldError::new("grantee", format!("user {user} is disabled"))),
            None => errors.push(FieldError::new("grantee", format!("no user {user}"))),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let (Some(grantee), Some(purpose), Some(case_ref), Some(expires_at)) = (grantee, purpose, case_ref, expires_at) else { unreachable!("errors above") };
    let new =
        NewUnmaskGrant { grantee, cameras, purpose: purpose.into_string(), case_ref: case_ref.into_string(), created_by: caller.name().to_owned(), expires_at };
    let store = state.store.clone();
    let grant = tokio::task::spawn_blocking(move || store.add_unmask_grant(&new, now)).await??;
    let record = Record::new(caller.name(), "unmask_grant.create", &grant.grantee)
        .purpose(Some(grant.purpose.clone()), Some(grant.case_ref.clone()))
        .detail(json!({"id": grant.id, "camera_ids": grant.cameras, "expires_at": grant.expires_at, "incident_id": b.incident_id}));
    audit(&state, record).await?;
    Ok((StatusCode::CREATED, Json(grant_json(&grant, now))).into_response())
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadUnmaskGrants, "listing unmask grants").await?;
    // Auditors hold no camera scope; they see every grant.
    let all = caller.0.may(Permission::ReadAudit);
    let store = state.store.clone();
    let grants = tokio::task::spawn_blocking(move || store.unmask_grants()).await??;
    let now = Utc::now();
    let grants: Vec<UnmaskGrant> = grants.into_iter().filter(|g| all || visible(&state, &scope, g)).collect();
    // Who used a grant, and when: the views made under it name it in the
    // audit log. Read here, for the grants listed only, because the
    // supervisor who gave it does not read the log itself. No view under a
    // grant precedes its creation, so the scan starts at the oldest.
    let uses = match grants.iter().map(|g| g.created_at).min() {
        None => Default::default(),
        Some(since) => {
            let store = state.store.clone();
            tokio::task::spawn_blocking(move || store.unmask_grant_uses(since)).await??
        }
    };
    Ok(Json(Value::Array(
        grants
            .iter()
            .map(|g| {
                let mut v = grant_json(g, now);
                let used = uses.get(&g.id);
                v["uses"] = json!(used.map_or(0, |u| u.count));
                v["last_used"] = json!(used.map(|u| u.last_used));
                v
            })
            .collect(),
    )))
}

pub async fn revoke(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let scope = caller.require(&state, Permission::GrantUnmask, "revoking unmask grants").await?;
    let not_found = || ApiError::NotFound(format!("unmask grant {id} not found"));
    let Ok(grant_id) = id.parse::<i64>() else {
        return Err(not_found());
    };
    let store = state.store.clone();
    let grant = tokio::task::spawn_blocking(move || store.unmask_grant(grant_id)).await??.ok_or_else(not_found)?;
    if !visible(&state, &scope, &grant) {
        return Err(not_found());
    }
    let (store, by) = (state.store.clone(), caller.name().to_owned());
    if !tokio::task::spawn_blocking(move || store.revoke_unmask_grant(grant_id, &by, Utc::now())).await?? {
        return Err(ApiError::Conflict(format!("unmask grant {id} was already revoked")));
    }
    let record = Record::new(caller.name(), "unmask_grant.revoke", &grant.grantee)
        .purpose(Some(grant.purpose.clone()), Some(grant.case_ref.clone()))
        .detail(json!({"id": grant.id, "camera_ids": grant.cameras, "expires_at": grant.expires_at, "created_by": grant.created_by}));
    audit(&state, record).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The cameras with a stream that see a point, else those near it.
fn incident_cameras(state: &AppState, scope: &Scope, lat: f64, lon: f64) -> Result<Vec<String>, ApiError> {
    let snapshot = state.registry.snapshot();
    let ids = |q: CameraQuery| -> Result<Vec<String>, ApiError> {
        let hits = q.run(&snapshot, scope)?;
        Ok(hits.iter().filter(|h| h.camera.main_url.is_some() || h.camera.sub_url.is_some()).map(|h| h.camera.id.clone()).take(MAX_CAMERAS).collect())
    };
    let seeing = ids(CameraQuery::Sees { lat, lon })?;
    if !seeing.is_empty() {
        return Ok(seeing);
    }
    ids(CameraQuery::Near { lat, lon, radius_m: INCIDENT_RADIUS_M })
}

/// The grant in force that lets `user` see faces of `camera`, if any.
/// A lookup failure counts as no grant: faces stay blurred.
pub(crate) async fn grant_for(state: &AppState, user: &str, camera: &str) -> Option<i64> {
    let (store, user) = (state.store.clone(), user.to_owned());
    let grants = tokio::task::spawn_blocking(move || store.active_unmask_grants_of(&user, Utc::now())).await.ok()?.ok()?;
    grants.iter().find(|g| g.cameras.iter().any(|c| c == camera)).map(|g| g.id)
}
