//! `/api/v1/alerts`: the alert queue. List and read alerts in the caller's
//! districts, acknowledge / resolve / dismiss them (each step audited; a
//! step the lifecycle does not allow is 409 saying why), export one as
//! OASIS CAP 1.2, and `GET /api/v1/alerts/stream`: a WebSocket that sends
//! every new alert and every change, as JSON text messages
//! `{"kind": "new"|"updated"|"state", "alert": {...}}` (and
//! `{"kind": "lagged", "missed": n}` when the console fell behind and should
//! reload the list). The socket's session and grants are checked again every
//! 30 s, and at once when sessions end (`session_ends`); an alert outside
//! the caller's districts is never sent.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use citywatch_audit::{Permission, Principal, Record, Scope};
use citywatch_events::AlertUpdate;
use citywatch_model::{Alert, AlertAction, AlertState, FieldError};
use serde_json::{json, Value};

use crate::auth::{audit, Caller};
use crate::events::{before_id_param, check_params, district_filter, limit_param};
use crate::ws_session::{self, Feed, Received, Step};
use crate::{ApiError, AppState};

const RECHECK: Duration = Duration::from_secs(30);

fn visible(scope: &Scope, a: &Alert) -> bool {
    scope.covers(a.district.as_deref())
}

/// The alert if it exists and the caller's districts reach it.
async fn find(state: &AppState, scope: &Scope, id: &str) -> Result<Alert, ApiError> {
    let not_found = || ApiError::NotFound(format!("alert {id} not found"));
    let alert_id = id.parse::<i64>().map_err(|_| not_found())?;
    let events = state.events.clone();
    let alert = tokio::task::spawn_blocking(move || events.alert(alert_id)).await??;
    alert.filter(|a| visible(scope, a)).ok_or_else(not_found)
}

pub async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::HandleAlerts, "reading alerts").await?;
    check_params(&params, &["state", "before_id", "limit"])?;
    let mut errors = Vec::new();
    let alert_state = params.get("state").and_then(|s| {
        let st = AlertState::parse(s);
        if st.is_none() {
            errors.push(FieldError::new("state", "must be new, acknowledged, resolved or false_alarm"));
        }
        st
    });
    let before_id = before_id_param(&params, &mut errors);
    let limit = limit_param(&params, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let events = state.events.clone();
    let districts = district_filter(&scope);
    let alerts = tokio::task::spawn_blocking(move || events.alerts(alert_state, districts.as_deref(), before_id, limit)).await??;
    let next = if alerts.len() == limit { alerts.last().map(|a| a.id) } else { None };
    Ok(Json(json!({"alerts": alerts, "next_before_id": next})))
}

pub async fn get_one(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::HandleAlerts, "reading alerts").await?;
    let alert = find(&state, &scope, &id).await?;
    let events = state.events.clone();
    let alert_id = alert.id;
    let event_ids = tokio::task::spawn_blocking(move || events.alert_event_ids(alert_id)).await??;
    let mut v = json!(alert);
    v["event_ids"] = json!(event_ids);
    Ok(Json(v))
}

async fn handle(state: AppState, caller: Caller, id: String, action: AlertAction) -> Result<Json<Alert>, ApiError> {
    let scope = caller.require(&state, Permission::HandleAlerts, "handling alerts").await?;
    let alert = find(&state, &scope, &id).await?;
    let (events, by, log) = (state.events.clone(), caller.name().to_owned(), state.audit.clone());
    // A step taken commits with its entry (the events service writes it);
    // a refused one changes nothing and is recorded here as an attempt.
    match tokio::task::spawn_blocking(move || events.handle_alert(alert.id, action, &by, &log)).await? {
        Ok(a) => Ok(Json(a)),
        Err(e @ (citywatch_events::EventsError::Conflict(_) | citywatch_events::EventsError::NotFound(_))) => {
            let record = Record::new(caller.name(), format!("alert.{}", action.as_str()), format!("alert:{id}"));
            audit(&state, record.result("refused").detail(json!({"state": alert.state, "reason": e.to_string()}))).await?;
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn acknowledge(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Alert>, ApiError> {
    handle(state, caller, id, AlertAction::Acknowledge).await
}

pub async fn resolve(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Alert>, ApiError> {
    handle(state, caller, id, AlertAction::Resolve).await
}

pub async fn false_alarm(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Alert>, ApiError> {
    handle(state, caller, id, AlertAction::FalseAlarm).await
}

pub async fn cap_xml(State(state): State<AppState>, caller: Caller, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::HandleAlerts, "exporting alerts").await?;
    let alert = find(&state, &scope, &id).await?;
    let radius_m = state.events.rule(alert.rule_id).map_or(0.0, |r| r.spec.correlation_radius_m);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let host = host.split(':').next().unwrap_or(host);
    let xml = citywatch_events::cap::alert_to_cap(&alert, &format!("citywatch@{host}"), radius_m);
    audit(&state, Record::new(caller.name(), "alert.export_cap", format!("alert:{}", alert.id))).await?;
    Ok(([(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")], xml).into_response())
}

const STREAM: ws_session::Rules = ws_session::Rules {
    path: "/api/v1/alerts/stream",
    permission: Permission::HandleAlerts,
    doing: "watching alerts",
    revoked: "alerts need a supervisor, operator or dispatcher grant",
    max_message: 4096,
};

pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let (ws, session) = ws_session::open(&state, &caller, &headers, ws, &STREAM, RECHECK).await?;
    audit(&state, Record::new(caller.name(), "alert.stream", "alerts")).await?;
    // Subscribe before answering, so nothing raised after the handshake is missed.
    let updates = state.events.subscribe_alerts();
    Ok(ws.on_upgrade(move |socket| ws_session::push(socket, session, caller.0, None, updates, AlertFeed)))
}

/// Each alert to a caller whose districts reach it.
struct AlertFeed;

impl Feed for AlertFeed {
    type Update = AlertUpdate;

    async fn render(&mut self, principal: &Principal, received: Received<AlertUpdate>) -> Step {
        match received {
            Received::Update(u) => {
                let Some(scope) = principal.scope(Permission::HandleAlerts) else { return Step::End };
                if visible(&scope, &u.alert) {
                    Step::Send(json!(u))
                } else {
                    Step::Skip
                }
            }
            Received::Missed(n) => Step::Send(json!({"kind": "lagged", "missed": n})),
        }
    }
}
