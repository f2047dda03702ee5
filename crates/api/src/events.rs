//! `/api/v1/events`: raise an event (integrations, manual reports) and page
//! through stored events. An event's district is its camera's; a caller
//! sees events in their districts only. Events of types only the server
//! raises (plate reads, hotlist hits, camera status, unit positions,
//! incident changes) and details only it writes (a snapshot) are refused
//! here (`citywatch_events::parse_raised`). Plate reads and hotlist hits are a
//! plate search: listed only with a purpose and case reference, and audited
//! with them.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use citywatch_audit::{Permission, Record, Scope};
use citywatch_model::event::EventFilter;
use citywatch_model::{CaseRef, EventType, FieldError, NewEvent, Purpose, SourceKind};
use serde_json::{json, Value};

use crate::auth::{audit, Caller};
use crate::justification::{case_ref_param, purpose_param};
use crate::{body, ApiError, AppState};

pub(crate) const MAX_PAGE: usize = 1_000;

/// Districts a scope reaches, as a store filter (`None`: everything).
pub(crate) fn district_filter(scope: &Scope) -> Option<Vec<String>> {
    match scope {
        Scope::All => None,
        Scope::Districts(d) => Some(d.iter().cloned().collect()),
    }
}

pub(crate) fn check_params(params: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ApiError::BadRequest(format!("unknown query parameter {k}; expected {}", known.join(", ")))),
        None => Ok(()),
    }
}

pub(crate) fn limit_param(params: &HashMap<String, String>, errors: &mut Vec<FieldError>) -> usize {
    match params.get("limit") {
        None => 100,
        Some(v) => v.parse::<usize>().ok().filter(|v| (1..=MAX_PAGE).contains(v)).unwrap_or_else(|| {
            errors.push(FieldError::new("limit", format!("must be in 1..={MAX_PAGE}")));
            100
        }),
    }
}

pub(crate) fn before_id_param(params: &HashMap<String, String>, errors: &mut Vec<FieldError>) -> Option<i64> {
    params.get("before_id").and_then(|v| {
        let id = v.parse::<i64>().ok().filter(|v| *v > 0);
        if id.is_none() {
            errors.push(FieldError::new("before_id", "must be a positive whole number (the last id of the previous page)"));
        }
        id
    })
}

fn time_param(params: &HashMap<String, String>, name: &str, errors: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    params.get(name).and_then(|v| match DateTime::parse_from_rfc3339(v) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            errors.push(FieldError::new(name, format!("must be an RFC 3339 time, e.g. 2026-11-27T08:00:00Z: {e}")));
            None
        }
    })
}

pub async fn raise(State(state): State<AppState>, caller: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::RaiseEvents, "raising events").await?;
    let e = citywatch_events::parse_raised(&body::json_object(&bytes)?, caller.name(), Utc::now()).map_err(ApiError::invalid)?;
    match e.source.kind {
        SourceKind::Camera if state.registry.snapshot().get(&e.source.id, &scope).is_none() => {
            return Err(ApiError::NotFound(format!("camera {} not found", e.source.id)));
        }
        // A unit has no district to check the grant against.
        SourceKind::Unit if scope != Scope::All => {
            return Err(ApiError::Forbidden("raising events for units needs a grant over all districts".into()));
        }
        _ => {}
    }
    let event = state.events.raise(e).await?;
    let record = Record::new(caller.name(), "event.raise", format!("{}:{}", event.source.kind.as_str(), event.source.id))
        .detail(json!({"id": event.id, "type": event.event_type}));
    audit(&state, record).await?;
    Ok((StatusCode::CREATED, Json(event)).into_response())
}

pub async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadEvents, "reading events").await?;
    check_params(&params, &["type", "source", "source_kind", "from", "to", "before_id", "limit", "purpose", "case_ref"])?;
    let mut errors = Vec::new();
    let mut types: Vec<EventType> = Vec::new();
    if let Some(list) = params.get("type") {
        for t in list.split(',').filter(|t| !t.is_empty()) {
            match NewEvent::parse_type("type", t) {
                Ok(t) => types.push(t),
                Err(e) => errors.push(e),
            }
        }
    }
    let source_kind = params.get("source_kind").and_then(|k| {
        let kind = SourceKind::parse(k);
        if kind.is_none() {
            errors.push(FieldError::new("source_kind", "must be camera, unit, user or system"));
        }
        kind
    });
    let (from, to) = (time_param(&params, "from", &mut errors), time_param(&params, "to", &mut errors));
    let before_id = before_id_param(&params, &mut errors);
    let limit = limit_param(&params, &mut errors);
    let (purpose, case_ref) = (purpose_param(&params)?, case_ref_param(&params)?);
    let justified = purpose.is_some() && case_ref.is_some();
    let asks_plates = types.iter().any(|t| t.carries_plate());
    if asks_plates && !justified {
        if purpose.is_none() {
            errors.push(FieldError::new("purpose", "is required to read plate reads and hotlist hits (a plate search)"));
        }
        if case_ref.is_none() {
            errors.push(FieldError::new("case_ref", "is required to read plate reads and hotlist hits (a plate search)"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    // Without a justification, plate-bearing types are left out (and said so).
    let mut omitted: Vec<EventType> = Vec::new();
    if !justified {
        if types.is_empty() {
            types = EventType::ALL.into_iter().filter(|t| !t.carries_plate()).collect();
        }
        omitted = EventType::ALL.into_iter().filter(|t| t.carries_plate()).collect();
    }
    let filter = EventFilter { types, source_kind, source_id: params.get("source").cloned(), from, to, districts: district_filter(&scope), before_id, limit };
    let events = state.events.clone();
    let found = tokio::task::spawn_blocking(move || events.events(&filter)).await??;
    if justified {
        let record = Record::new(caller.name(), "event.search", "events")
            .purpose(purpose.map(Purpose::into_string), case_ref.map(CaseRef::into_string))
            .detail(json!({"query": params, "returned": found.len()}));
        audit(&state, record).await?;
    }
    let next = if found.len() == limit { found.last().map(|e| e.id) } else { None };
    Ok(Json(json!({"events": found, "next_before_id": next, "omitted_types": omitted})))
}
