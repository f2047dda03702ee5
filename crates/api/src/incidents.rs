//! `/api/v1/incidents`: incidents from a call, the map or an alert; notes,
//! recommendations, assignment, checklists, closing and the NENA EIDO
//! export. Every change and every recommendation shown is audited (the
//! incident's own timeline records the changes too). An incident belongs to
//! the districts its place lies in: a caller scoped to other districts gets
//! 404 for it (as for a camera) and 403 for creating one there; an alert an
//! incident is raised from must be in the caller's districts too.
//! Recommendations rank, and assignment takes, only units homed in the
//! caller's districts (see `units`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use citywatch_audit::{Permission, Record, Scope};
use citywatch_dispatch::incidents::IncidentRequest;
use citywatch_model::dispatch::{Assignment, ChecklistStep, Incident, IncidentLocation, IncidentState, StepState, TimelineEntry};
use citywatch_model::{EventType, Location, NewEvent, Source, SourceKind};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{audit, Caller};
use crate::districts::{areas, covers_place};
use crate::units::unit_in_scope;
use crate::{body, ApiError, AppState};
use citywatch_geo::routing::LatLon;

/// Fails with 404 unless the incident exists and lies in the caller's districts.
async fn check_in_scope(state: &AppState, scope: &Scope, id: i64) -> Result<Incident, ApiError> {
    let d = state.dispatch.clone();
    let incident = tokio::task::spawn_blocking(move || d.incident(id)).await??;
    if !covers_place(scope, &areas(state).await?, incident.location.lat, incident.location.lon) {
        return Err(ApiError::NotFound(format!("incident {id} not found")));
    }
    Ok(incident)
}

/// An incident as the API sends it: the model's, with its kind under the
/// name callers give it (`type`, as in the create body and NENA EIDO).
#[derive(serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Incident"))]
pub(crate) struct IncidentView<'a> {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// 1 (most urgent) to 5.
    pub priority: u8,
    pub location: &'a IncidentLocation,
    pub state: IncidentState,
    pub alert_id: Option<i64>,
    pub created_by: &'a str,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Closed with skipped checklist steps, for supervisors to review.
    pub flagged: bool,
    pub units: &'a [Assignment],
    pub checklist: &'a [ChecklistStep],
    pub timeline: &'a [TimelineEntry],
}

impl<'a> From<&'a Incident> for IncidentView<'a> {
    fn from(i: &'a Incident) -> Self {
        IncidentView {
            id: i.id,
            kind: &i.kind,
            priority: i.priority,
            location: &i.location,
            state: i.state,
            alert_id: i.alert_id,
            created_by: &i.created_by,
            created_at: i.created_at,
            closed_at: i.closed_at,
            flagged: i.flagged,
            units: &i.units,
            checklist: &i.checklist,
            timeline: &i.timeline,
        }
    }
}

pub(crate) fn incident_json(i: &Incident) -> Value {
    json!(IncidentView::from(i))
}

fn incident_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>().map_err(|_| ApiError::NotFound(format!("incident {id} not found")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[serde(rename = "type")]
    kind: String,
    priority: u8,
    lat: Option<f64>,
    lon: Option<f64>,
    address: Option<String>,
    alert_id: Option<i64>,
    /// "call" (default) or "map"; "alert" when alert_id is given.
    source: Option<String>,
}

pub async fn create(State(state): State<AppState>, caller: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::Dispatch, "creating incidents").await?;
    let b: CreateBody = body::json_typed(&bytes)?;
    let source = match (b.source.as_deref().map(str::trim), b.alert_id) {
        (None, Some(_)) | (Some("alert"), Some(_)) => "alert",
        (None | Some("call"), None) => "call",
        (Some("map"), None) => "map",
        (Some("alert"), None) => return Err(ApiError::field("alert_id", "is required when source is alert")),
        (Some(_), _) => return Err(ApiError::field("source", "must be call, map or alert (alert needs alert_id)")),
    };
    let alert = match b.alert_id {
        None => None,
        Some(alert_id) => {
            let events = state.events.clone();
            let alert = tokio::task::spawn_blocking(move || events.alert(alert_id)).await??;
            match alert {
                Some(a) if scope.covers(a.district.as_deref()) => Some(a),
                _ => return Err(ApiError::NotFound(format!("alert {alert_id} not found"))),
            }
        }
    };
    // A place given (or the alert's) must be in the caller's districts.
    let place = b.lat.zip(b.lon).or_else(|| alert.as_ref().and_then(|a| a.location.as_ref()).map(|l| (l.lat, l.lon)));
    if let Some((lat, lon)) = place {
        if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) && !covers_place(&scope, &areas(&state).await?, lat, lon) {
            return Err(ApiError::Forbidden("this place is outside your districts: an incident there is for its districts' dispatchers".into()));
        }
    }
    let req = IncidentRequest { kind: b.kind, priority: b.priority, lat: b.lat, lon: b.lon, address: b.address, source: source.to_owned() };
    let (d, log, actor) = (state.dispatch.clone(), state.audit.clone(), caller.name().to_owned());
    let incident = tokio::task::spawn_blocking(move || {
        d.create_incident(&req, alert.as_ref(), &actor, &log, |new, id| {
            let detail = creation_detail(&new.kind, new.priority, &new.location, new.alert_id, source);
            Record::new(&actor, "incident.create", format!("incident {id}")).detail(detail)
        })
    })
    .await??;
    let detail = creation_detail(&incident.kind, incident.priority, &incident.location, incident.alert_id, source);
    published(&state, &incident, caller.name(), "created", detail);
    Ok((StatusCode::CREATED, Json(incident_json(&incident))).into_response())
}

/// What the audit log and the event bus say of a new incident.
fn creation_detail(kind: &str, priority: u8, location: &IncidentLocation, alert_id: Option<i64>, source: &str) -> Value {
    json!({"type": kind, "priority": priority, "location": location, "alert_id": alert_id, "source": source})
}

pub async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadDispatch, "listing incidents").await?;
    for key in params.keys() {
        if !["state", "flagged", "limit"].contains(&key.as_str()) {
            return Err(ApiError::field(key, "unknown parameter; expected state, flagged, limit"));
        }
    }
    let st = params.get("state").map(|s| IncidentState::parse(s).ok_or_else(|| ApiError::field("state", "must be open or closed"))).transpose()?;
    let flagged = params.get("flagged").map(|s| s.parse::<bool>().map_err(|_| ApiError::field("flagged", "must be true or false"))).transpose()?;
    let limit = match params.get("limit") {
        None => 100,
        Some(l) => l.parse::<usize>().ok().filter(|l| (1..=1000).contains(l)).ok_or_else(|| ApiError::field("limit", "must be 1..1000"))?,
    };
    let d = state.dispatch.clone();
    let incidents = tokio::task::spawn_blocking(move || d.incidents(st, flagged, limit)).await??;
    let areas = areas(&state).await?;
    let visible = incidents.iter().filter(|i| covers_place(&scope, &areas, i.location.lat, i.location.lon));
    Ok(Json(Value::Array(visible.map(incident_json).collect())))
}

pub async fn get_one(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadDispatch, "reading incidents").await?;
    let id = incident_id(&id)?;
    let incident = check_in_scope(&state, &scope, id).await?;
    Ok(Json(incident_json(&incident)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

pub async fn add_note(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::Dispatch, "adding incident notes").await?;
    let id = incident_id(&id)?;
    check_in_scope(&state, &scope, id).await?;
    let b: NoteBody = body::json_typed(&bytes)?;
    let (d, log, actor) = (state.dispatch.clone(), state.audit.clone(), caller.name().to_owned());
    let chars = b.text.trim().chars().count();
    let record = Record::new(caller.name(), "incident.note", format!("incident {id}")).detail(json!({"chars": chars}));
    let incident = tokio::task::spawn_blocking(move || d.add_note(id, &b.text, &actor, &log, record)).await??;
    published(&state, &incident, caller.name(), "note", json!({"chars": chars}));
    Ok(Json(incident_json(&incident)))
}

pub async fn recommendations(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::Dispatch, "recommending units").await?;
    let id = incident_id(&id)?;
    check_in_scope(&state, &scope, id).await?;
    let required: Vec<String> =
        params.get("capabilities").map(|c| c.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    let limit = match params.get("limit") {
        None => 10,
        Some(l) => l.parse::<usize>().ok().filter(|l| (1..=100).contains(l)).ok_or_else(|| ApiError::field("limit", "must be 1..100"))?,
    };
    let (d, req) = (state.dispatch.clone(), required.clone());
    let (to, recs) = tokio::task::spawn_blocking(move || d.recommend_straight(id, &req, limit, |u| unit_in_scope(&scope, u))).await??;
    let recs = state.dispatch.refine(to, recs, &required, limit).await;
    let shown: Vec<Value> = recs.iter().map(|r| json!({"unit": r.unit_id, "eta_s": r.eta_s.round(), "distance_m": r.distance_m.round()})).collect();
    audit(&state, Record::new(caller.name(), "incident.recommendations", format!("incident {id}")).detail(json!({"required": required, "shown": shown})))
        .await?;
    Ok(Json(json!({"incident_id": id, "required_capabilities": required, "speeds_kmh": state.dispatch.config.speeds, "recommendations": recs})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    unit_id: String,
}

pub async fn assign(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::Dispatch, "assigning units").await?;
    let id = incident_id(&id)?;
    check_in_scope(&state, &scope, id).await?;
    let b: AssignBody = body::json_typed(&bytes)?;
    let unit_id = b.unit_id.trim().to_owned();
    let (d, log, actor, unit) = (state.dispatch.clone(), state.audit.clone(), caller.name().to_owned(), unit_id.clone());
    let record = Record::new(caller.name(), "incident.assign", format!("incident {id}")).detail(json!({"unit": unit_id}));
    let incident = tokio::task::spawn_blocking(move || {
        // A unit homed outside the caller's districts does not exist for them.
        match d.unit(&unit) {
            Ok(u) if unit_in_scope(&scope, &u) => {}
            Ok(_) => return Err(citywatch_dispatch::DispatchError::NotFound(format!("unit {unit}"))),
            Err(e) => return Err(e),
        }
        d.assign(id, &unit, &actor, &log, record)
    })
    .await??;
    published(&state, &incident, caller.name(), "assigned", json!({"unit": unit_id}));
    Ok(Json(incident_json(&incident)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    state: String,
}

pub async fn checklist_step(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, step)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::Dispatch, "working incident checklists").await?;
    let id = incident_id(&id)?;
    check_in_scope(&state, &scope, id).await?;
    let step: u32 = step.parse().map_err(|_| ApiError::NotFound(format!("checklist step {step} not found")))?;
    let b: StepBody = body::json_typed(&bytes)?;
    let st = match StepState::parse(b.state.trim()) {
        Some(s @ (StepState::Done | StepState::Skipped)) => s,
        _ => return Err(ApiError::field("state", "must be done or skipped")),
    };
    let (d, log, actor) = (state.dispatch.clone(), state.audit.clone(), caller.name().to_owned());
    let record = Record::new(caller.name(), "incident.checklist", format!("incident {id}")).detail(json!({"step": step, "state": st.as_str()}));
    let incident = tokio::task::spawn_blocking(move || d.check_step(id, step, st, &actor, &log, record)).await??;
    published(&state, &incident, caller.name(), "checklist", json!({"step": step, "state": st.as_str()}));
    Ok(Json(incident_json(&incident)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    note: Option<String>,
}

/// Closing with checklist steps not done flags the incident for
/// supervisors (`GET /api/v1/incidents?flagged=true`).
pub async fn close(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::Dispatch, "closing incidents").await?;
    let id = incident_id(&id)?;
    check_in_scope(&state, &scope, id).await?;
    let b: CloseBody = if bytes.is_empty() { CloseBody::default() } else { body::json_typed(&bytes)? };
    let (d, log, actor) = (state.dispatch.clone(), state.audit.clone(), caller.name().to_owned());
    let incident = tokio::task::spawn_blocking(move || {
        d.close(id, b.note.as_deref(), &actor, &log, |flagged, skipped| {
            Record::new(&actor, "incident.close", format!("incident {id}")).detail(json!({"flagged": flagged, "skipped_steps": skipped}))
        })
    })
    .await??;
    let skipped: Vec<u32> = incident.checklist.iter().filter(|s| s.state == StepState::Skipped).map(|s| s.step).collect();
    published(&state, &incident, caller.name(), "closed", json!({"flagged": incident.flagged, "skipped_steps": skipped}));
    Ok(Json(incident_json(&incident)))
}

/// `GET /api/v1/incidents/{id}/route?unit_id=`: the unit's way to the
/// incident as a GeoJSON LineString Feature, along the roads when a road
/// network is loaded (else the straight line; `properties.router` says
/// which). For the unit's crew while it is on the incident, or for anyone
/// whose dispatch districts hold both the incident and the unit; to anyone
/// else neither exists (404).
pub async fn route(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&state, Permission::FollowUnits, "routing units").await?;
    crate::events::check_params(&params, &["unit_id"])?;
    let id = incident_id(&id)?;
    let unit_id = params
        .get("unit_id")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::field("unit_id", "is required: the unit to route"))?;
    let (d, uid) = (state.dispatch.clone(), unit_id.clone());
    let (incident, unit) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> { Ok((d.incident(id)?, d.unit(&uid)?)) }).await??;
    let crew = unit.officers.iter().any(|o| o == caller.name()) && incident.units.iter().any(|a| a.unit_id == unit.id && a.released_at.is_none());
    if !crew {
        let areas = areas(&state).await?;
        let sees = caller
            .0
            .scope(Permission::ReadDispatch)
            .is_some_and(|s| covers_place(&s, &areas, incident.location.lat, incident.location.lon) && unit_in_scope(&s, &unit));
        if !sees {
            return Err(ApiError::NotFound(format!("incident {id} with unit {unit_id} not found")));
        }
    }
    let Some(p) = unit.position else {
        return Err(ApiError::Conflict(format!("unit {unit_id} has reported no position yet")));
    };
    let d = state.dispatch.clone();
    let (from, to) = (LatLon { lat: p.lat, lon: p.lon }, LatLon { lat: incident.location.lat, lon: incident.location.lon });
    let r = tokio::task::spawn_blocking(move || d.route(from, to)).await??;
    let coordinates: Vec<[f64; 2]> = r.geometry.iter().map(|p| [p.lon, p.lat]).collect();
    Ok(Json(json!({
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coordinates},
        "properties": {"incident_id": id, "unit_id": unit_id, "distance_m": r.distance_m, "duration_s": r.duration_s, "router": r.router},
    })))
}

/// The incident as NENA EIDO JSON (see `citywatch_dispatch::eido` for what is covered).
pub async fn eido(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadDispatch, "exporting incidents").await?;
    let id = incident_id(&id)?;
    check_in_scope(&state, &scope, id).await?;
    let d = state.dispatch.clone();
    let (incident, units) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> { Ok((d.incident(id)?, d.repo().units()?)) }).await??;
    audit(&state, Record::new(caller.name(), "incident.export", format!("incident {id}")).detail(json!({"format": "eido"}))).await?;
    Ok(Json(citywatch_dispatch::eido::incident_to_eido(&incident, &units, "citywatch")))
}

/// Every incident change goes on the event bus (`incident_change`), for
/// consoles, terminals and MQTT subscribers. Queued without waiting: the
/// change is already committed with its timeline entry.
pub(crate) fn publish_change(state: &AppState, id: i64, location: Option<(f64, f64)>, actor: &str, change: &str, detail: Value) {
    let e = NewEvent {
        event_type: EventType::IncidentChange,
        time: chrono::Utc::now(),
        source: Source { kind: SourceKind::User, id: actor.to_owned() },
        location: location.map(|(lat, lon)| Location { lat, lon }),
        details: json!({"incident_id": id, "change": change, "detail": detail}),
    };
    if let Err(e) = state.events.raise_detached(e) {
        tracing::debug!("incident change not published: {e}");
    }
}

fn published(state: &AppState, i: &Incident, actor: &str, change: &str, detail: Value) {
    publish_change(state, i.id, Some((i.location.lat, i.location.lon)), actor, change, detail);
}
