//! `/api/v1/legal-holds`: keep a camera's recordings in a time range from
//! retention until a set expiry. Placing and releasing a hold needs a
//! purpose and a case reference and is audited; a hold reaches only cameras
//! in the caller's districts. The rules are `citywatch_access`'s; this
//! module stores what it decides and audits it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use citywatch_access::{decide_hold, from_90k, hold_visible, HoldRequest};
use citywatch_audit::{Permission, Record};
use citywatch_store::LegalHold;
use serde_json::{json, Value};

use crate::auth::{audit, Caller};
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
    let store = state.store.clone();
    let hold = tokio::task::spawn_blocking(move || store.add_legal_hold(&new, now)).await??;
    let record = Record::new(caller.name(), "legal_hold.create", &hold.camera_id)
        .purpose(Some(hold.purpose.clone()), Some(hold.case_ref.clone()))
        .detail(json!({"id": hold.id, "start": from_90k(hold.start_90k), "end": from_90k(hold.end_90k), "expires_at": hold.expires_at}));
    audit(&state, record).await?;
    Ok((StatusCode::CREATED, Json(hold_json(&hold, now))).into_response())
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ManageLegalHolds, "listing legal holds").await?;
    let store = state.store.clone();
    let holds = tokio::task::spawn_blocking(move || store.legal_holds()).await??;
    let now = Utc::now();
    let cameras = state.registry.snapshot();
    Ok(Json(Value::Array(holds.iter().filter(|h| hold_visible(&scope, &cameras, &h.camera_id)).map(|h| hold_json(h, now)).collect())))
}

pub async fn release(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let scope = caller.require(&state, Permission::ManageLegalHolds, "releasing legal holds").await?;
    let not_found = || ApiError::NotFound(format!("legal hold {id} not found"));
    let Ok(hold_id) = id.parse::<i64>() else { return Err(not_found()) };
    let store = state.store.clone();
    let hold = tokio::task::spawn_blocking(move || store.legal_hold(hold_id)).await??.ok_or_else(not_found)?;
    if !hold_visible(&scope, &state.registry.snapshot(), &hold.camera_id) {
        return Err(not_found());
    }
    let store = state.store.clone();
    if !tokio::task::spawn_blocking(move || store.delete_legal_hold(hold_id)).await?? {
        return Err(not_found());
    }
    let record = Record::new(caller.name(), "legal_hold.release", &hold.camera_id).purpose(Some(hold.purpose.clone()), Some(hold.case_ref.clone())).detail(
        json!({"id": hold.id, "start": from_90k(hold.start_90k), "end": from_90k(hold.end_90k), "expires_at": hold.expires_at, "created_by": hold.created_by}),
    );
    audit(&state, record).await?;
    Ok(StatusCode::NO_CONTENT)
}
