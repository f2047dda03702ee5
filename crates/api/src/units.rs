//! `/api/v1/units`: the dispatch fleet. Admins create units and register
//! their GPS devices (the device token is shown once); dispatchers and
//! supervisors see units with their positions; a unit's officers (or a
//! dispatcher) report its status. A position trail shows where officers
//! were, so reading it needs a purpose and a case reference and is audited.
//!
//! A unit has a home district. A caller sees, changes and (through
//! incidents) recommends and assigns only units homed in their grants'
//! districts; any other unit does not exist for them (404, missing from
//! lists), as for a camera. A unit without a home district is for
//! all-district grants only. A unit's own officers may always report its
//! status and follow it, whatever its district: crewing it is the grant.
//!
//! `GET /api/v1/dispatch/stream` pushes unit changes (position, status,
//! record) over a WebSocket to consoles and terminals, filtered per
//! subscriber in the same way.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use citywatch_audit::{new_session_token, token_hash, Permission, Principal, Record, Scope};
use citywatch_dispatch::UnitUpdate;
use citywatch_model::dispatch::{Unit, UnitKind, UnitSpec, UnitStatus};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{audit, audit_repeatable, Caller};
use crate::justification::{case_ref_param, purpose_param};
use crate::ws_session::{self, Feed, Received, Step};
use crate::{body, ApiError, AppState};

/// The most trail points one request returns.
const MAX_TRAIL: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitBody {
    id: Option<String>,
    call_sign: String,
    kind: String,
    #[serde(default)]
    officers: Vec<String>,
    #[serde(default)]
    capabilities: Vec<String>,
    /// The home district; absent or null: none (all-district grants only).
    #[serde(default)]
    district: Option<String>,
}

fn spec_from(b: UnitBody, id: String) -> Result<UnitSpec, ApiError> {
    let kind = UnitKind::parse(b.kind.trim()).ok_or_else(|| ApiError::field("kind", "must be car, foot or motorbike"))?;
    Ok(UnitSpec {
        id,
        call_sign: b.call_sign.trim().to_owned(),
        kind,
        officers: b.officers.iter().map(|s| s.trim().to_owned()).collect(),
        capabilities: b.capabilities.iter().map(|s| s.trim().to_owned()).collect(),
        district: b.district.map(|d| d.trim().to_owned()),
    })
}

/// Whether `scope` reaches a unit: its home district is in it (a unit
/// without one only for an all-district scope).
pub(crate) fn unit_in_scope(scope: &Scope, u: &Unit) -> bool {
    scope.covers(u.district.as_deref())
}

/// The unit, or 404 if it does not exist or lies outside `scope`.
async fn find(state: &AppState, scope: &Scope, id: &str) -> Result<Unit, ApiError> {
    let (d, unit_id) = (state.dispatch.clone(), id.to_owned());
    let unit = tokio::task::spawn_blocking(move || d.unit(&unit_id)).await??;
    if !unit_in_scope(scope, &unit) {
        return Err(ApiError::NotFound(format!("unit {id} not found")));
    }
    Ok(unit)
}

/// A home district being given to a unit must exist and be in the
/// caller's scope (a unit homed elsewhere would vanish from their view).
async fn check_home(state: &AppState, scope: &Scope, district: Option<&str>) -> Result<(), ApiError> {
    if let Some(name) = district {
        let districts = crate::districts::all(state).await?;
        if !districts.iter().any(|d| d.name == name) {
            return Err(ApiError::field("district", format!("no district is named {name:?} (see GET /api/v1/districts)")));
        }
    }
    if !scope.covers(district) {
        return Err(ApiError::Forbidden(match district {
            Some(name) => format!("district {name} is outside your districts: its units are for its own admins"),
            None => "a unit without a home district is for grants over all districts; give it one of your districts".into(),
        }));
    }
    Ok(())
}

/// A unit as the API sends it (lists, the dispatch stream, an officer's
/// assignment): its position without the unit id it would repeat.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Unit"))]
pub(crate) struct UnitView<'a> {
    pub id: &'a str,
    pub call_sign: &'a str,
    pub kind: UnitKind,
    /// Usernames of the officers crewing the unit.
    pub officers: &'a [String],
    pub capabilities: &'a [String],
    pub status: UnitStatus,
    /// Home district; `null`: seen by all-district grants only.
    pub district: Option<&'a str>,
    pub position: Option<UnitPositionView>,
}

/// A unit's newest fix.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "UnitPosition"))]
pub(crate) struct UnitPositionView {
    pub lat: f64,
    pub lon: f64,
    pub time: DateTime<Utc>,
    pub speed_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
}

impl<'a> From<&'a Unit> for UnitView<'a> {
    fn from(u: &'a Unit) -> Self {
        UnitView {
            id: &u.id,
            call_sign: &u.call_sign,
            kind: u.kind,
            officers: &u.officers,
            capabilities: &u.capabilities,
            status: u.status,
            district: u.district.as_deref(),
            position: u.position.as_ref().map(|p| UnitPositionView {
                lat: p.lat,
                lon: p.lon,
                time: p.time,
                speed_mps: p.speed_mps,
                bearing_deg: p.bearing_deg,
            }),
        }
    }
}

pub(crate) fn unit_json(u: &Unit) -> Value {
    json!(UnitView::from(u))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadDispatch, "listing units").await?;
    let store = state.dispatch.repo().clone();
    let units = tokio::task::spawn_blocking(move || store.units()).await??;
    Ok(Json(Value::Array(units.iter().filter(|u| unit_in_scope(&scope, u)).map(unit_json).collect())))
}

pub async fn create(State(state): State<AppState>, caller: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::ManageUnits, "creating units").await?;
    let b: UnitBody = body::json_typed(&bytes)?;
    let id = b.id.clone().map(|s| s.trim().to_owned()).ok_or_else(|| ApiError::field("id", "is required"))?;
    let spec = spec_from(b, id)?;
    check_home(&state, &scope, spec.district.as_deref()).await?;
    let (d, log, actor) = (state.dispatch.clone(), state.audit.clone(), caller.name().to_owned());
    let unit =
        tokio::task::spawn_blocking(move || d.create_unit(&spec, &log, |unit| Record::new(actor, "unit.create", &unit.id).detail(unit_json(unit)))).await??;
    Ok((StatusCode::CREATED, Json(unit_json(&unit))).into_response())
}

pub async fn replace(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ManageUnits, "changing units").await?;
    find(&state, &scope, &id).await?;
    let b: UnitBody = body::json_typed(&bytes)?;
    if b.id.as_deref().is_some_and(|b| b.trim() != id) {
        return Err(ApiError::field("id", "must match the unit in the path (ids cannot be changed)"));
    }
    let spec = spec_from(b, id)?;
    check_home(&state, &scope, spec.district.as_deref()).await?;
    let (d, log, actor) = (state.dispatch.clone(), state.audit.clone(), caller.name().to_owned());
    let unit =
        tokio::task::spawn_blocking(move || d.update_unit(&spec, &log, |unit| Record::new(actor, "unit.update", &unit.id).detail(unit_json(unit)))).await??;
    Ok(Json(unit_json(&unit)))
}

pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let scope = caller.require(&state, Permission::ManageUnits, "deleting units").await?;
    find(&state, &scope, &id).await?;
    let (d, log) = (state.dispatch.clone(), state.audit.clone());
    let record = Record::new(caller.name(), "unit.delete", &id);
    tokio::task::spawn_blocking(move || d.delete_unit(&id, &log, record)).await??;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceBody {
    device_id: String,
}

/// Registers a GPS device for the unit and answers its token, once: only
/// the token's hash is kept. Registering the same device again issues a
/// new token (the old one stops working).
pub async fn add_device(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, bytes: Bytes) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::ManageUnits, "registering unit devices").await?;
    find(&state, &scope, &id).await?;
    let b: DeviceBody = body::json_typed(&bytes)?;
    let device_id = b.device_id.trim().to_owned();
    let token = new_session_token();
    let (d, log, unit_id, dev, hash) = (state.dispatch.clone(), state.audit.clone(), id.clone(), device_id.clone(), token_hash(&token));
    let record = Record::new(caller.name(), "unit.device", &id).detail(json!({"device_id": device_id}));
    tokio::task::spawn_blocking(move || d.register_device(&unit_id, &dev, &hash, &log, record)).await??;
    let body = json!({
        "unit_id": id,
        "device_id": device_id,
        "token": token,
        "note": "the token is shown only now; configure the device to send it as token=... or 'Authorization: Bearer'",
        "osmand_url": format!("/api/v1/avl/osmand?id={device_id}&token={token}&lat={{0}}&lon={{1}}&timestamp={{2}}&speed={{5}}&bearing={{6}}"),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

fn time_param(params: &HashMap<String, String>, name: &str) -> Result<DateTime<Utc>, ApiError> {
    let v = params.get(name).ok_or_else(|| ApiError::field(name, "is required (RFC 3339)"))?;
    DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|e| ApiError::field(name, format!("must be an RFC 3339 time: {e}")))
}

pub async fn trail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadDispatch, "reading unit trails").await?;
    find(&state, &scope, &id).await?;
    let (start, end) = (time_param(&params, "start")?, time_param(&params, "end")?);
    if end <= start || end - start > chrono::Duration::days(7) {
        return Err(ApiError::field("end", "must be after start, at most 7 days later"));
    }
    let (purpose, case_ref) = (purpose_param(&params)?, case_ref_param(&params)?);
    let (Some(purpose), Some(case_ref)) = (purpose, case_ref) else {
        return Err(ApiError::BadRequest(
            "a unit's trail shows where its officers were: it needs purpose= and case_ref= query parameters, which are recorded in the audit log".into(),
        ));
    };
    let d = state.dispatch.clone();
    let unit_id = id.clone();
    let points = tokio::task::spawn_blocking(move || d.repo().unit_trail(&unit_id, start, end, MAX_TRAIL + 1)).await??;
    let truncated = points.len() > MAX_TRAIL;
    let record = Record::new(caller.name(), "unit.trail", &id)
        .purpose(Some(purpose.into_string()), Some(case_ref.into_string()))
        .detail(json!({"start": start, "end": end, "points": points.len().min(MAX_TRAIL)}));
    audit(&state, record).await?;
    // An implausible fix is shown with its reason: it is part of the record, not of the unit's way.
    let points: Vec<Value> = points
        .iter()
        .take(MAX_TRAIL)
        .map(|t| {
            let p = &t.position;
            json!({"lat": p.lat, "lon": p.lon, "time": p.time, "speed_mps": p.speed_mps, "bearing_deg": p.bearing_deg, "implausible": t.implausible})
        })
        .collect();
    Ok(Json(json!({"unit_id": id, "start": start, "end": end, "points": points, "truncated": truncated})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
}

/// A status report: by one of the unit's officers, or by a dispatcher for
/// a unit in their districts. Transitions outside the workflow are 409.
pub async fn report_status(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    caller.require(&state, Permission::ReportStatus, "reporting unit status").await?;
    let unit = find(&state, &Scope::All, &id).await?;
    let crews = unit.officers.iter().any(|o| o == caller.name());
    let as_dispatcher = caller.0.scope(Permission::Dispatch).is_some_and(|s| unit_in_scope(&s, &unit));
    // Another officer of the unit's district is refused (and audited) below;
    // anyone else is not told that the unit exists.
    let sees = caller.0.scope(Permission::ReportStatus).is_some_and(|s| unit_in_scope(&s, &unit));
    if !crews && !as_dispatcher && !sees {
        return Err(ApiError::NotFound(format!("unit {id} not found")));
    }
    let b: StatusBody = body::json_typed(&bytes)?;
    let status = UnitStatus::parse(b.status.trim())
        .ok_or_else(|| ApiError::field("status", "must be one of available, en_route, on_scene, out_of_service (dispatched comes from assignment)"))?;
    let (d, log, unit_id, actor) = (state.dispatch.clone(), state.audit.clone(), id.clone(), caller.name().to_owned());
    let record = Record::new(caller.name(), "unit.status", &id).detail(json!({"status": status}));
    let result = tokio::task::spawn_blocking(move || d.report_status(&unit_id, status, &actor, as_dispatcher, &log, record)).await?;
    let (unit, incident) = match result {
        Ok(r) => r,
        Err(e) => {
            if matches!(e, citywatch_dispatch::DispatchError::Forbidden(_)) {
                audit_repeatable(
                    &state,
                    Record::new(caller.name(), "access.denied", format!("unit {id} status")).result("denied").detail(json!({"reason": e.to_string()})),
                )
                .await?;
            }
            return Err(e.into());
        }
    };
    if let Some(incident) = incident {
        crate::incidents::publish_change(&state, incident, None, caller.name(), "status", json!({"unit": id, "status": status}));
    }
    Ok(Json(unit_json(&unit)))
}

/// The caller's current incident, for the officer's terminal: the unit
/// they crew that is on an open incident, and that incident.
pub async fn my_assignment(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(&state, Permission::ReportStatus, "reading one's assignment").await?;
    let (d, me) = (state.dispatch.clone(), caller.name().to_owned());
    let (found, units) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> { Ok((d.assignment_of(&me)?, d.units_of_officer(&me)?)) }).await??;
    let units: Vec<Value> = units.iter().map(unit_json).collect();
    Ok(Json(match found {
        Some((unit, incident)) => json!({"assignment": {"unit": unit_json(&unit), "incident": crate::incidents::incident_json(&incident)}, "units": units}),
        None => json!({"assignment": null, "units": units}),
    }))
}

/// `POST /api/v1/me/position`: the officer's terminal reports where its
/// unit is, from the browser's geolocation. The caller must crew the unit;
/// the fix gets the same checks, storage and bus publication as a GPS
/// device's (`/api/v1/avl/osmand`) and, like those, is not audited one by
/// one (the trail is the record).
pub async fn report_my_position(State(state): State<AppState>, caller: Caller, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    caller.require(&state, Permission::ReportStatus, "reporting one's position").await?;
    let body: Value = body::json_value(&bytes)?;
    let now = Utc::now();
    let d = state.dispatch.clone();
    let fix = citywatch_dispatch::Fix::from_terminal(&body, caller.name(), now, d.config.max_future_skew).map_err(|fields| {
        d.count_refused(&citywatch_dispatch::AvlError::Invalid(fields.clone()));
        ApiError::invalid(fields)
    })?;
    let unit_id = match body.get("unit_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ApiError::field("unit_id", "must be a string")),
    };
    let (me, fix_copy) = (caller.name().to_owned(), fix.clone());
    let result = tokio::task::spawn_blocking(move || d.ingest_from_officer(&me, unit_id.as_deref(), &fix, now)).await?;
    let (outcome, unit_id) = match result {
        Ok(r) => r,
        Err(e) => {
            if matches!(e, citywatch_dispatch::DispatchError::Forbidden(_)) {
                audit_repeatable(&state, Record::new(caller.name(), "access.denied", "own position").result("denied").detail(json!({"reason": e.to_string()})))
                    .await?;
            }
            return Err(e.into());
        }
    };
    if outcome == citywatch_model::dispatch::PositionOutcome::Current {
        crate::avl::publish_position(&state, unit_id.clone(), &fix_copy);
    }
    let (result, note) = crate::avl::outcome_text(outcome);
    Ok(Json(json!({"unit_id": unit_id, "result": result, "note": note})))
}

const STREAM_RECHECK: Duration = Duration::from_secs(30);

/// Whether `p` may hear of a unit on the dispatch stream: its home district
/// is in their `ReadDispatch` grants, or they crew it.
fn may_follow(p: &Principal, u: &Unit) -> bool {
    p.scope(Permission::ReadDispatch).is_some_and(|s| unit_in_scope(&s, u)) || (p.may(Permission::ReportStatus) && u.officers.contains(&p.username))
}

/// Every unit `p` may follow, as the stream's opening (or catch-up) message.
async fn snapshot(state: &AppState, p: &Principal) -> Result<Value, ApiError> {
    let store = state.dispatch.repo().clone();
    let units = tokio::task::spawn_blocking(move || store.units()).await??;
    let units: Vec<Value> = units.iter().filter(|u| may_follow(p, u)).map(unit_json).collect();
    Ok(json!({"kind": "snapshot", "units": units}))
}

fn update_json(u: &UnitUpdate) -> Value {
    match u {
        UnitUpdate::Changed(unit) => json!({"kind": "unit", "unit": unit_json(unit)}),
        UnitUpdate::Removed(unit) => json!({"kind": "removed", "unit_id": unit.id}),
    }
}

/// `GET /api/v1/dispatch/stream`: a WebSocket that first sends
/// `{"kind": "snapshot", "units": [...]}` (every unit the caller may
/// follow), then `{"kind": "unit", "unit": {...}}` for each committed
/// change (a new position, a status, the record) and
/// `{"kind": "removed", "unit_id"}`; a console that fell behind gets a new
/// snapshot. Session and grants are checked again every 30 s, and at once
/// when sessions end (`session_ends`).
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let (ws, session) = ws_session::open(&state, &caller, &headers, ws, &STREAM, STREAM_RECHECK).await?;
    audit(&state, Record::new(caller.name(), "unit.stream", "units")).await?;
    // Subscribe before the snapshot is read, so no change falls between them.
    let updates = state.dispatch.subscribe_units();
    let first = snapshot(&state, &caller.0).await?;
    Ok(ws.on_upgrade(move |socket| ws_session::push(socket, session, caller.0, Some(first), updates, UnitFeed(state))))
}

const STREAM: ws_session::Rules = ws_session::Rules {
    path: "/api/v1/dispatch/stream",
    permission: Permission::FollowUnits,
    doing: "following units",
    revoked: "following units needs a dispatcher, operator, supervisor or officer grant",
    max_message: 4096,
};

/// Each change of a unit the caller may follow; a new snapshot for a
/// console that fell behind.
struct UnitFeed(AppState);

impl Feed for UnitFeed {
    type Update = Arc<UnitUpdate>;

    async fn render(&mut self, principal: &Principal, received: Received<Arc<UnitUpdate>>) -> Step {
        match received {
            Received::Update(u) if may_follow(principal, u.unit()) => Step::Send(update_json(&u)),
            Received::Update(_) => Step::Skip,
            Received::Missed(_) => match snapshot(&self.0, principal).await {
                Ok(v) => Step::Send(v),
                Err(e) => {
                    tracing::warn!("dispatch stream of {}: no catch-up snapshot: {e:?}", principal.username);
                    Step::End
                }
            },
        }
    }
}
