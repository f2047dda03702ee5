//! `/api/v1/rules`: the rules that turn events into alerts. Rules reach
//! every district, so managing them needs a grant over all districts; every
//! change commits with its audit entry (the rule as it was set), which the
//! events service writes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use citywatch_audit::Permission;
use citywatch_model::{Rule, RuleSpec};
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::{body, ApiError, AppState};

fn parse_spec(bytes: &Bytes) -> Result<RuleSpec, ApiError> {
    let v = body::json_value(bytes)?;
    // serde names the unknown, missing or mistyped field; say it as a field error.
    serde_json::from_value::<RuleSpec>(v).map_err(|e| {
        let msg = e.to_string();
        let field = msg.split('`').nth(1).filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field")).unwrap_or("body").to_owned();
        ApiError::field(&field, format!("invalid rule: {msg}"))
    })
}

fn rule_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>().map_err(|_| ApiError::NotFound(format!("rule {id} not found")))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require_all_districts(&state, Permission::ManageRules, "listing alert rules").await?;
    Ok(Json(json!(*state.events.rules())))
}

pub async fn get_one(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Rule>, ApiError> {
    caller.require_all_districts(&state, Permission::ManageRules, "reading alert rules").await?;
    state.events.rule(rule_id(&id)?).map(Json).ok_or_else(|| ApiError::NotFound(format!("rule {id} not found")))
}

pub async fn create(State(state): State<AppState>, caller: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    caller.require_all_districts(&state, Permission::ManageRules, "creating alert rules").await?;
    let spec = parse_spec(&bytes)?;
    let (events, by, log) = (state.events.clone(), caller.name().to_owned(), state.audit.clone());
    let rule = tokio::task::spawn_blocking(move || events.add_rule(spec, &by, &log)).await??;
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

pub async fn replace(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, bytes: Bytes) -> Result<Json<Rule>, ApiError> {
    caller.require_all_districts(&state, Permission::ManageRules, "changing alert rules").await?;
    let id = rule_id(&id)?;
    let spec = parse_spec(&bytes)?;
    let (events, by, log) = (state.events.clone(), caller.name().to_owned(), state.audit.clone());
    let rule = tokio::task::spawn_blocking(move || events.replace_rule(id, spec, &by, &log)).await??;
    Ok(Json(rule))
}

pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_all_districts(&state, Permission::ManageRules, "deleting alert rules").await?;
    let id = rule_id(&id)?;
    let (events, by, log) = (state.events.clone(), caller.name().to_owned(), state.audit.clone());
    tokio::task::spawn_blocking(move || events.delete_rule(id, &by, &log)).await??;
    Ok(StatusCode::NO_CONTENT)
}
