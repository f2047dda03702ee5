//! `/api/v1/unmask-grants`: a supervisor lets one named user see faces in
//! the live video and event snapshots of chosen cameras (in the
//! supervisor's districts) until an expiry, for a stated purpose and case
//! reference; the supervisor may revoke it. The rules (what a request must
//! hold, the limits, an incident's cameras, whose grants one sees) are
//! `citywatch_access`'s; this module stores what it decides through its
//! repository (`AccessRepo`), the grant and the revocation each committed
//! with its audit entry, and (for the live and snapshot routes) audits each
//! view made under a grant (`faces: shown`, `unmask_grant: N`).
//!
//! A grant only unblurs what the grantee may see anyway: the live and
//! snapshot routes still check the grantee's own camera scope first.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use std::sync::Arc;

use citywatch_access::{decide_grant, grant_covering, grant_visible, Directory, GrantRequest};
use citywatch_audit::{PendingEntry, Permission, Record, UserRepo};
use citywatch_dispatch::DispatchRepo;
use citywatch_model::{RepoError, UnmaskGrant};
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::{body, ApiError, AppState};

/// An unmask grant as the API sends it (what a create answers).
#[derive(serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "UnmaskGrant"))]
pub(crate) struct UnmaskGrantView<'a> {
    pub id: i64,
    pub grantee: &'a str,
    pub camera_ids: &'a [String],
    pub purpose: &'a str,
    pub case_ref: &'a str,
    pub created_by: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<&'a str>,
    /// Neither expired nor revoked now.
    pub active: bool,
}

/// A grant as the oversight list shows it: with its use, from the audit log.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "UnmaskGrantDetail"))]
pub(crate) struct ListedUnmaskGrant<'a> {
    #[serde(flatten)]
    pub grant: UnmaskGrantView<'a>,
    /// Views made under the grant.
    pub uses: u64,
    pub last_used: Option<DateTime<Utc>>,
}

fn grant_view(g: &UnmaskGrant, now: DateTime<Utc>) -> UnmaskGrantView<'_> {
    UnmaskGrantView {
        id: g.id,
        grantee: &g.grantee,
        camera_ids: &g.cameras,
        purpose: &g.purpose,
        case_ref: &g.case_ref,
        created_by: &g.created_by,
        created_at: g.created_at,
        expires_at: g.expires_at,
        revoked_at: g.revoked_at,
        revoked_by: g.revoked_by.as_deref(),
        active: g.is_active(now),
    }
}

pub async fn create(State(state): State<AppState>, caller: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::GrantUnmask, "granting unmasked video").await?;
    let request: GrantRequest = body::json_typed(&bytes)?;
    let incident_id = request.incident_id;
    let now = Utc::now();
    let directory = Lookups { users: state.users.clone(), dispatch: state.dispatch.repo().clone() };
    let (cameras, granter) = (state.registry.snapshot(), caller.name().to_owned());
    let new = tokio::task::spawn_blocking(move || decide_grant(request, &granter, &scope, &cameras, &directory, now)).await??;
    let (access, log, actor) = (state.access.clone(), state.audit.clone(), caller.name().to_owned());
    let grant = tokio::task::spawn_blocking(move || -> Result<UnmaskGrant, ApiError> {
        // The entry names the grant's id, known only once it is stored: it
        // is made inside the grant's transaction and commits with it.
        let record = |grant: &UnmaskGrant| {
            Record::new(actor, "unmask_grant.create", &grant.grantee)
                .purpose(Some(grant.purpose.clone()), Some(grant.case_ref.clone()))
                .detail(json!({"id": grant.id, "camera_ids": grant.cameras, "expires_at": grant.expires_at, "incident_id": incident_id}))
        };
        let (grant, row) = access.create_unmask_grant(&new, now, PendingEntry::after(record))?;
        log.appended(&row);
        Ok(grant)
    })
    .await??;
    Ok((StatusCode::CREATED, Json(json!(grant_view(&grant, now)))).into_response())
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadUnmaskGrants, "listing unmask grants").await?;
    // Auditors hold no camera scope; they see every grant.
    let all = caller.0.may(Permission::ReadAudit);
    let access = state.access.clone();
    let grants = tokio::task::spawn_blocking(move || access.unmask_grants()).await??;
    let now = Utc::now();
    let grants: Vec<UnmaskGrant> = {
        let cameras = state.registry.snapshot();
        grants.into_iter().filter(|g| all || grant_visible(&scope, &cameras, g)).collect()
    };
    // Who used a grant, and when: the views made under it name it in the
    // audit log. Read here, for the grants listed only, because the
    // supervisor who gave it does not read the log itself. No view under a
    // grant precedes its creation, so the scan starts at the oldest.
    let uses = match grants.iter().map(|g| g.created_at).min() {
        None => Default::default(),
        Some(since) => {
            let log = state.audit.clone();
            tokio::task::spawn_blocking(move || log.repo().unmask_grant_uses(since)).await??
        }
    };
    Ok(Json(Value::Array(
        grants
            .iter()
            .map(|g| {
                let used = uses.get(&g.id);
                json!(ListedUnmaskGrant { grant: grant_view(g, now), uses: used.map_or(0, |u| u.count), last_used: used.map(|u| u.last_used) })
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
    let access = state.access.clone();
    let grant = tokio::task::spawn_blocking(move || access.unmask_grant(grant_id)).await??.ok_or_else(not_found)?;
    if !grant_visible(&scope, &state.registry.snapshot(), &grant) {
        return Err(not_found());
    }
    let (access, log, by) = (state.access.clone(), state.audit.clone(), caller.name().to_owned());
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        // Made from the grant as revoked, in the revocation's transaction.
        // A grant already revoked (before, or by a supervisor racing this
        // one) is `Stale`: 409, and no entry (that revocation has its own).
        let record = |g: &UnmaskGrant| {
            Record::new(&by, "unmask_grant.revoke", &g.grantee)
                .purpose(Some(g.purpose.clone()), Some(g.case_ref.clone()))
                .detail(json!({"id": g.id, "camera_ids": g.cameras, "expires_at": g.expires_at, "created_by": g.created_by}))
        };
        let (_, row) = access.revoke_unmask_grant(grant_id, &by, Utc::now(), PendingEntry::after(record))?;
        log.appended(&row);
        Ok(())
    })
    .await??;
    Ok(StatusCode::NO_CONTENT)
}

/// The grant in force that lets `user` see faces of `camera`, if any.
/// A lookup failure counts as no grant: faces stay blurred.
pub(crate) async fn grant_for(state: &AppState, user: &str, camera: &str) -> Option<i64> {
    let (access, user) = (state.access.clone(), user.to_owned());
    let grants = tokio::task::spawn_blocking(move || access.active_unmask_grants_of(&user, Utc::now())).await.ok()?.ok()?;
    grant_covering(&grants, camera)
}

/// Where a grant's rules look up its grantee's account and its incident.
struct Lookups {
    users: Arc<dyn UserRepo>,
    dispatch: Arc<dyn DispatchRepo>,
}

impl Directory for Lookups {
    fn incident_location(&self, id: i64) -> Result<Option<(f64, f64)>, RepoError> {
        Ok(self.dispatch.incident(id)?.map(|i| (i.location.lat, i.location.lon)))
    }

    fn user_enabled(&self, username: &str) -> Result<Option<bool>, RepoError> {
        Ok(self.users.user_credentials(username)?.map(|c| !c.disabled))
    }
}
