//! `/api/v1/legal-holds`: keep a camera's recordings in a time range from
//! retention until a set expiry. Placing and releasing a hold needs a
//! purpose and a case reference and is audited; a hold reaches only cameras
//! in the caller's districts. The rules are `citywatch_access`'s; this
//! module stores what it decides through its repository (`AccessRepo`),
//! each change committed with its audit entry.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use citywatch_access::{decide_hold, from_90k, hold_visible, HoldRequest};
use citywatch_audit::{PendingEntry, Permission, Record};
use citywatch_model::LegalHold;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::{body, ApiError, AppState};

/// A legal hold as the API sends it: the held range as times, not the
/// store's 90 kHz ticks.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "LegalHold"))]
pub(crate) struct LegalHoldView<'a> {
    pub id: i64,
    pub camera_id: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub purpose: &'a str,
    pub case_ref: &'a str,
    pub created_by: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Not expired yet.
    pub active: bool,
}

fn hold_json(h: &LegalHold, now: DateTime<Utc>) -> Value {
    json!(LegalHoldView {
        id: h.id,
        camera_id: &h.camera_id,
        start: from_90k(h.start_90k),
        end: from_90k(h.end_90k),
        purpose: &h.purpose,
        case_ref: &h.case_ref,
        created_by: &h.created_by,
        created_at: h.created_at,
        expires_at: h.expires_at,
        active: h.is_active(now),
    })
}

pub async fn create(State(state): State<AppState>, caller: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::ManageLegalHolds, "placing legal holds").await?;
    let request: HoldRequest = body::json_typed(&bytes)?;
    let now = Utc::now();
    let new = decide_hold(request, caller.name(), &scope, &state.registry.snapshot(), now)?;
    let (access, log, actor) = (state.access.clone(), state.audit.clone(), caller.name().to_owned());
    let hold = tokio::task::spawn_blocking(move || -> Result<LegalHold, ApiError> {
        // The entry names the hold's id, known only once it is stored: it
        // is made inside the hold's transaction and commits with it.
        let record = |hold: &LegalHold| {
            Record::new(actor, "legal_hold.create", &hold.camera_id)
                .purpose(Some(hold.purpose.clone()), Some(hold.case_ref.clone()))
                .detail(json!({"id": hold.id, "start": from_90k(hold.start_90k), "end": from_90k(hold.end_90k), "expires_at": hold.expires_at}))
        };
        let (hold, row) = access.place_legal_hold(&new, now, PendingEntry::after(record))?;
        log.appended(&row);
        Ok(hold)
    })
    .await??;
    Ok((StatusCode::CREATED, Json(hold_json(&hold, now))).into_response())
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ManageLegalHolds, "listing legal holds").await?;
    let access = state.access.clone();
    let holds = tokio::task::spawn_blocking(move || access.legal_holds()).await??;
    let now = Utc::now();
    let cameras = state.registry.snapshot();
    Ok(Json(Value::Array(holds.iter().filter(|h| hold_visible(&scope, &cameras, &h.camera_id)).map(|h| hold_json(h, now)).collect())))
}

pub async fn release(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let scope = caller.require(&state, Permission::ManageLegalHolds, "releasing legal holds").await?;
    let not_found = || ApiError::NotFound(format!("legal hold {id} not found"));
    let Ok(hold_id) = id.parse::<i64>() else { return Err(not_found()) };
    let access = state.access.clone();
    let hold = tokio::task::spawn_blocking(move || access.legal_hold(hold_id)).await??.ok_or_else(not_found)?;
    if !hold_visible(&scope, &state.registry.snapshot(), &hold.camera_id) {
        return Err(not_found());
    }
    let (access, log, actor) = (state.access.clone(), state.audit.clone(), caller.name().to_owned());
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        // Made from the hold as it was, in the transaction that deletes it:
        // the entry is all that remains of it. A hold released meanwhile
        // is `NotFound` (404), with no entry.
        let record = |h: &LegalHold| {
            Record::new(actor, "legal_hold.release", &h.camera_id)
                .purpose(Some(h.purpose.clone()), Some(h.case_ref.clone()))
                .detail(json!({"id": h.id, "start": from_90k(h.start_90k), "end": from_90k(h.end_90k), "expires_at": h.expires_at, "created_by": h.created_by}))
        };
        let (_, row) = access.release_legal_hold(hold_id, PendingEntry::after(record))?;
        log.appended(&row);
        Ok(())
    })
    .await??;
    Ok(StatusCode::NO_CONTENT)
}
