//! `GET /api/v1/audit`: auditors page through the log. Reading it is itself
//! recorded. There is no route that changes or deletes entries.
//!
//! A walk through the log has a fixed end: the first page answers the
//! log's `head_seq` at that moment, later pages pass it back and never go
//! past it, and the last page answers `next_after_seq: null`. Otherwise a
//! client paging to the end would never get there, as each of its own page
//! reads adds an entry. Page reads of one walk are counted into one entry
//! like repeated refusals (`repeats.rs`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use citywatch_audit::{Permission, Record};
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::{ApiError, AppState};

const MAX_PAGE: usize = 1_000;

pub async fn read(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    caller.require(&state, Permission::ReadAudit, "reading the audit log").await?;
    if let Some(k) = params.keys().find(|k| !["after_seq", "limit", "head_seq"].contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!("unknown query parameter {k}; expected after_seq, limit, head_seq")));
    }
    let seq = |name: &str| -> Result<Option<i64>, ApiError> {
        params.get(name).map(|v| v.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| ApiError::field(name, "must be a whole number ≥ 0"))).transpose()
    };
    let after_seq = seq("after_seq")?.unwrap_or(0);
    let limit = match params.get("limit") {
        None => 100,
        Some(v) => v.parse::<usize>().ok().filter(|v| (1..=MAX_PAGE).contains(v)).ok_or_else(|| ApiError::field("limit", format!("must be in 1..={MAX_PAGE}")))?,
    };
    let store = state.store.clone();
    let given_head = seq("head_seq")?;
    let (head_seq, entries) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let now = store.audit_head_seq()?;
        if given_head.is_some_and(|h| h > now) {
            return Err(ApiError::field("head_seq", format!("is past the log's head ({now}): pass back the head_seq of the first page")));
        }
        let head = given_head.unwrap_or(now);
        let mut entries = store.audit_entries(after_seq, limit)?;
        entries.retain(|e| e.seq <= head);
        Ok((head, entries))
    })
    .await??;
    crate::auth::audit_repeatable(&state, Record::new(caller.name(), "audit.read", "audit_log").detail(json!({"head_seq": head_seq}))).await?;
    let next = entries.last().map(|e| e.seq).filter(|s| *s < head_seq);
    Ok(Json(json!({"entries": entries, "next_after_seq": next, "head_seq": head_seq})))
}
