//! `/api/v1/hotlists`: lists of plates that raise a hit when read. Imports
//! are CSV with bad rows reported by line and field (the first ones in
//! full, all of them counted); entries can be
//! listed and deleted. A covert list exists only for holders of
//! `ManageCovertHotlists` (supervisors): for anyone else it is 404, as if
//! it were not there. Every change is audited.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use citywatch_audit::{PendingEntry, Permission, Record};
use citywatch_hotlists::{parse_csv, ParsedHotlist};
use citywatch_model::plates::{Hotlist, HotlistEntry};
use serde_json::{json, Value};

use crate::auth::{audit_repeatable, Caller};
use crate::events::check_params;
use crate::{ApiError, AppState};

/// A hotlist as the API lists it.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Hotlist"))]
pub(crate) struct HotlistView<'a> {
    pub name: &'a str,
    pub covert: bool,
    /// Entries, expired ones included.
    pub entries: u64,
    pub created_by: &'a str,
    pub created_at: DateTime<Utc>,
}

/// One plate of a hotlist as the API lists it.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "HotlistEntry"))]
pub(crate) struct HotlistEntryView<'a> {
    pub id: i64,
    pub list: &'a str,
    /// As written in the import.
    pub plate: &'a str,
    /// Normalised (A-Z, 0-9): what reads are matched on.
    pub plate_key: &'a str,
    pub source: &'a str,
    pub reason: &'a str,
    /// 0 (lowest) to 10.
    pub priority: u8,
    pub expires_at: Option<DateTime<Utc>>,
    /// Not expired now.
    pub active: bool,
    pub created_by: &'a str,
    pub created_at: DateTime<Utc>,
}

fn list_json(h: &Hotlist) -> Value {
    json!(HotlistView { name: &h.name, covert: h.covert, entries: h.entries, created_by: &h.created_by, created_at: h.created_at })
}

fn entry_json(e: &HotlistEntry, now: DateTime<Utc>) -> Value {
    json!(HotlistEntryView {
        id: e.id,
        list: &e.list,
        plate: &e.plate,
        plate_key: &e.plate_key,
        source: &e.source,
        reason: &e.reason,
        priority: e.priority,
        expires_at: e.expires_at,
        active: e.is_active(now),
        created_by: &e.created_by,
        created_at: e.created_at,
    })
}

/// The caller's hotlist permissions: `Ok(sees_covert)`, or 403.
async fn require(state: &AppState, caller: &Caller, what: &str) -> Result<bool, ApiError> {
    caller.require_all_districts(state, Permission::ManageHotlists, what).await?;
    Ok(caller.0.may(Permission::ManageCovertHotlists))
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::field("list", "must be 1 to 64 characters: letters, digits, '-', '_' or '.'"))
    }
}

/// The list if it exists and the caller may see it.
async fn visible_list(state: &AppState, name: &str, sees_covert: bool) -> Result<Option<Hotlist>, ApiError> {
    let (repo, n) = (state.plates.repo().clone(), name.to_owned());
    let list = tokio::task::spawn_blocking(move || repo.hotlist(&n)).await??;
    Ok(list.filter(|l| sees_covert || !l.covert))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let sees_covert = require(&state, &caller, "listing hotlists").await?;
    let repo = state.plates.repo().clone();
    let lists = tokio::task::spawn_blocking(move || repo.hotlists()).await??;
    Ok(Json(Value::Array(lists.iter().filter(|l| sees_covert || !l.covert).map(list_json).collect())))
}

/// `POST /api/v1/hotlists/{list}/import[?covert=true]`: CSV; creates the
/// list on first import. Good rows are imported (an entry with the same
/// plate is replaced), bad rows are answered with line, field and reason.
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let sees_covert = require(&state, &caller, "importing hotlist entries").await?;
    check_params(&params, &["covert"])?;
    check_name(&name)?;
    let covert = match params.get("covert").map(String::as_str) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => return Err(ApiError::field("covert", format!("must be true or false, got {other:?}"))),
    };
    if covert == Some(true) && !sees_covert {
        audit_repeatable(
            &state,
            Record::new(caller.name(), "access.denied", "creating a covert hotlist").result("denied").detail(json!({"needs": "ManageCovertHotlists"})),
        )
        .await?;
        return Err(ApiError::Forbidden("covert hotlists are kept by supervisors".into()));
    }
    let existing = {
        let (repo, n) = (state.plates.repo().clone(), name.clone());
        tokio::task::spawn_blocking(move || repo.hotlist(&n)).await??
    };
    let covert = match (&existing, covert) {
        (Some(l), _) if l.covert && !sees_covert => return Err(ApiError::NotFound(format!("hotlist {name} not found"))),
        (Some(l), Some(c)) if l.covert != c => {
            return Err(ApiError::field("covert", format!("hotlist {name} exists and is {}covert", if l.covert { "" } else { "not " })))
        }
        (Some(l), _) => l.covert,
        (None, c) => c.unwrap_or(false),
    };
    let now = Utc::now();
    let limits = state.import_limits().hotlists;
    let by = caller.name().to_owned();
    // Read row by row: memory follows the good rows and the first problems
    // kept, not the size of the file.
    let parsed = tokio::task::spawn_blocking(move || parse_csv(&bytes[..], &by, now, limits)).await??;
    let ParsedHotlist { rows, good, errors } = parsed;
    let (repo, n, by, log, bad_rows) = (state.plates.repo().clone(), name.clone(), caller.name().to_owned(), state.audit.clone(), errors.bad_rows);
    // The entries and the import's audit entry commit together.
    let (added, replaced) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let record = |&(added, replaced): &citywatch_hotlists::ImportCounts| {
            let detail = json!({"rows": rows, "added": added, "replaced": replaced, "bad_rows": bad_rows, "covert": covert});
            Record::new(&by, "hotlist.import", &n).detail(detail)
        };
        let (counts, row) = repo.import_hotlist(&n, covert, &good, &by, now, PendingEntry::after(record))?;
        log.appended(&row);
        Ok(counts)
    })
    .await??;
    let mut body = json!({"list": name, "covert": covert, "rows": rows, "added": added, "replaced": replaced});
    body["errors"] = json!(errors.errors);
    body["error_count"] = json!(errors.error_count);
    body["bad_rows"] = json!(errors.bad_rows);
    Ok(Json(body).into_response())
}

pub async fn entries(State(state): State<AppState>, caller: Caller, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let sees_covert = require(&state, &caller, "listing hotlist entries").await?;
    if visible_list(&state, &name, sees_covert).await?.is_none() {
        return Err(ApiError::NotFound(format!("hotlist {name} not found")));
    }
    let repo = state.plates.repo().clone();
    let entries = tokio::task::spawn_blocking(move || repo.hotlist_entries(&name)).await??;
    let now = Utc::now();
    Ok(Json(Value::Array(entries.iter().map(|e| entry_json(e, now)).collect())))
}

pub async fn delete_entry(State(state): State<AppState>, caller: Caller, Path((name, id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    let sees_covert = require(&state, &caller, "deleting hotlist entries").await?;
    let not_found = || ApiError::NotFound(format!("hotlist entry {id} of {name} not found"));
    let Ok(entry_id) = id.parse::<i64>() else { return Err(not_found()) };
    let repo = state.plates.repo().clone();
    let entry = tokio::task::spawn_blocking(move || repo.hotlist_entry(entry_id)).await??.ok_or_else(not_found)?;
    if entry.list != name || (entry.covert && !sees_covert) {
        return Err(not_found());
    }
    let (repo, by, log) = (state.plates.repo().clone(), caller.name().to_owned(), state.audit.clone());
    // The deletion and its audit entry commit together; an entry deleted by
    // someone else in between is not found, and nothing is written.
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        let record = |e: &HotlistEntry| {
            let detail = json!({"id": e.id, "plate": e.plate, "reason": e.reason, "priority": e.priority});
            Record::new(&by, "hotlist.delete_entry", &e.list).detail(detail)
        };
        let (_, row) = repo.delete_hotlist_entry(entry_id, PendingEntry::after(record))?;
        log.appended(&row);
        Ok(())
    })
    .await?
    .map_err(|e| match e {
        ApiError::NotFound(_) => not_found(),
        e => e,
    })?;
    Ok(StatusCode::NO_CONTENT)
}
