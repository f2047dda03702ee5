//! `GET /api/v1/audit`: auditors page through the log. Reading it is itself
//! recorded. There is no route that changes or deletes entries.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use citywatch_audit::{Permission, Record};
use serde_json::{json, Value};

use crate::auth::{audit, Caller};
use crate::{ApiError, AppState};

const MAX_PAGE: usize = 1_000;

pub async fn read(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    caller.require(&state, Permission::ReadAudit, "reading the audit log").await?;
    if let Some(k) = params.keys().find(|k| !["after_seq", "limit"].contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!("unknown query parameter {k}; expected after_seq, limit")));
    }
    let after_seq = match params.get("after_seq") {
        None => 0,
        Some(v) => v.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| ApiError::field("after_seq", "must be a whole number ≥ 0"))?,
    };
    let limit = match params.get("limit") {
        None => 100,
        Some(v) => v.parse::<usize>().ok().filter(|v| (1..=MAX_PAGE).contains(v)).ok_or_else(|| ApiError::field("limit", format!("must be in 1..={MAX_PAGE}")))?,
    };
    let store = state.store.clone();
    let entries = tokio::task::spawn_blocking(move || store.audit_entries(after_seq, limit)).await??;
    audit(&state, Record::new(caller.name(), "audit.read", "audit_log").detail(json!({"after_seq": after_seq, "returned": entries.len()}))).await?;
    let next = entries.last().map(|e| e.seq);
    Ok(Json(json!({"entries": entries, "next_after_seq": next})))
}
