//! `/api/v1/legal-holds`: keep a camera's recordings in a time range from
//! retention until a set expiry. Placing and releasing a hold needs a
//! purpose and a case reference and is audited; a hold reaches only cameras
//! in the caller's districts.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use citywatch_audit::{Permission, Record, Scope};
use citywatch_model::{CaseRef, FieldError, Purpose};
use citywatch_store::{LegalHold, NewLegalHold};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{audit, Caller};
use crate::{body, ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldBody {
    camera_id: String,
    start: String,
    end: String,
    purpose: String,
    case_ref: String,
    expires_at: String,
}

fn to_90k(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros() * 9 / 100
}

fn from_90k(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t * 100 / 9).unwrap_or_default()
}

fn hold_json(h: &LegalHold, now: DateTime<Utc>) -> Value {
    json!({
        "id": h.id,
        "camera_id": h.camera_id,
        "start": from_90k(h.start_90k),
        "end": from_90k(h.end_90k),
        "purpose": h.purpose,
        "case_ref": h.case_ref,
        "created_by": h.created_by,
        "created_at": h.created_at,
        "expires_at": h.expires_at,
        "active": h.is_active(now),
    })
}

/// Whether the caller may see holds on `camera_id`: the camera is in their
/// districts, or they hold the permission everywhere (a deleted camera's
/// recordings may still be held).
fn visible(state: &AppState, scope: &Scope, camera_id: &str) -> bool {
    *scope == Scope::All || state.registry.snapshot().get(camera_id, scope).is_some()
}

pub async fn create(State(state): State<AppState>, caller: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::ManageLegalHolds, "placing legal holds").await?;
    let b: HoldBody = body::json_typed(&bytes)?;
    let now = Utc::now();
    let mut errors = Vec::new();
    let mut time = |field: &str, v: &str| match DateTime::parse_from_rfc3339(v) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            errors.push(FieldError::new(field, format!("must be an RFC 3339 time, e.g. 2026-11-27T08:00:00Z: {e}")));
            None
        }
    };
    let (start, end, expires_at) = (time("start", &b.start), time("end", &b.end), time("expires_at", &b.expires_at));
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            errors.push(FieldError::new("end", "must be after start"));
        }
    }
    if expires_at.is_some_and(|x| x <= now) {
        errors.push(FieldError::new("expires_at", "must be in the future"));
    }
    let purpose = if b.purpose.trim().is_empty() {
        errors.push(FieldError::new("purpose", "is required: why the recordings must be kept"));
        None
    } else {
        Purpose::parse(&b.purpose).map_err(|e| errors.push(e)).ok()
    };
    let case_ref = if b.case_ref.trim().is_empty() {
        errors.push(FieldError::new("case_ref", "is required: the case or incident reference"));
        None
    } else {
        CaseRef::parse(&b.case_ref).map_err(|e| errors.push(e)).ok()
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let (Some(start), Some(end), Some(expires_at), Some(purpose), Some(case_ref)) = (start, end, expires_at, purpose, case_ref) else {
        unreachable!("errors above")
    };
    if state.registry.snapshot().get(&b.camera_id, &scope).is_none() {
        return Err(ApiError::NotFound(format!("camera {} not found", b.camera_id)));
    }
    let new = NewLegalHold {
        camera_id: b.camera_id.clone(),
        start_90k: to_90k(start),
        end_90k: to_90k(end),
        purpose: purpose.into_string(),
        case_ref: case_ref.into_string(),
        created_by: caller.name().to_owned(),
        expires_at,
    };
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
    Ok(Json(Value::Array(holds.iter().filter(|h| visible(&state, &scope, &h.camera_id)).map(|h| hold_json(h, now)).collect())))
}

pub async fn release(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let scope = caller.require(&state, Permission::ManageLegalHolds, "releasing legal holds").await?;
    let not_found = || ApiError::NotFound(format!("legal hold {id} not found"));
    let Ok(hold_id) = id.parse::<i64>() else { return Err(not_found()) };
    let store = state.store.clone();
    let hold = tokio::task::spawn_blocking(move || store.legal_hold(hold_id)).await??.ok_or_else(not_found)?;
    if !visible(&state, &scope, &hold.camera_id) {
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
