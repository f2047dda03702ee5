//! `/api/v1/avl/osmand`: GPS fixes from unit devices in the OsmAnd/Traccar
//! HTTP protocol (GET or POST with query parameters, or POST with the
//! Traccar Client JSON body).
//!
//! A GPS device has no session. It authenticates with its own device token
//! (`token=` or `Authorization: Bearer`), issued when an admin registers it
//! for a unit; a user's session token is not a device token. Fixes are not
//! audited (a device reports every few seconds, and the trail itself is the
//! record); every refusal is counted in `/metrics`
//! (`citywatch_avl_refused_total`). An implausible fix (a clock far off, a
//! jump no unit of its kind can make) is answered `stored_implausible`:
//! kept in the trail with its reason, never the unit's position.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use citywatch_audit::token_hash;
use citywatch_dispatch::{AvlError, Fix};
use citywatch_model::dispatch::ImplausibleFix;
use citywatch_model::dispatch::PositionOutcome;
use citywatch_model::{EventType, Location, NewEvent, Source, SourceKind};
use serde_json::json;

use crate::AppState;

fn refusal(err: &AvlError) -> Response {
    let (status, body) = match err {
        AvlError::NoToken | AvlError::UnknownDevice(_) | AvlError::BadToken(_) => (StatusCode::UNAUTHORIZED, json!({"error": err.to_string()})),
        AvlError::Invalid(fields) => (StatusCode::BAD_REQUEST, json!({"error": err.to_string(), "fields": fields})),
        // A device retries later; the database says when it is back.
        AvlError::Repo(citywatch_model::RepoError::Unavailable(why)) => {
            (StatusCode::SERVICE_UNAVAILABLE, json!({"error": format!("the database is unavailable ({why}); send the fix again in a moment")}))
        }
        AvlError::Repo(e) => {
            tracing::error!("storing a GPS fix: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, json!({"error": format!("internal error: {e}")}))
        }
    };
    (status, Json(body)).into_response()
}

fn device_token(params: &HashMap<String, String>, headers: &HeaderMap) -> Option<String> {
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    bearer.or(params.get("token").map(|t| t.trim())).filter(|t| !t.is_empty()).map(str::to_owned)
}

pub async fn osmand(State(state): State<AppState>, Query(mut params): Query<HashMap<String, String>>, headers: HeaderMap, bytes: Bytes) -> Response {
    let d = state.dispatch.clone();
    let now = Utc::now();
    let skew = d.config.max_future_skew;
    let body = bytes.trim_ascii();
    let parsed = if body.first() == Some(&b'{') {
        match serde_json::from_slice(body) {
            Ok(v) => Fix::from_json(&v, now, skew),
            Err(e) => Err(vec![citywatch_model::FieldError::new("body", format!("is not valid JSON: {e}"))]),
        }
    } else {
        // OsmAnd may also POST its parameters as a form.
        if !body.is_empty() {
            for (k, v) in form_pairs(body) {
                params.entry(k).or_insert(v);
            }
        }
        Fix::from_query(&params, now, skew)
    };
    let Some(token) = device_token(&params, &headers) else {
        d.count_refused(&AvlError::NoToken);
        return refusal(&AvlError::NoToken);
    };
    let fix = match parsed {
        Ok(f) => f,
        Err(fields) => {
            let e = AvlError::Invalid(fields);
            d.count_refused(&e);
            return refusal(&e);
        }
    };
    let hash = token_hash(&token);
    let fix_copy = fix.clone();
    let result = tokio::task::spawn_blocking(move || d.ingest(&fix, &hash, now)).await;
    match result {
        Ok(Ok((outcome, unit_id))) => {
            if outcome == PositionOutcome::Current {
                publish_position(&state, unit_id, &fix_copy);
            }
            let (result, note) = outcome_text(outcome);
            Json(json!({"result": result, "note": note})).into_response()
        }
        Ok(Err(e)) => refusal(&e),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": format!("worker task failed: {e}")}))).into_response(),
    }
}

/// What became of a fix, as answered to the device (or terminal) that sent it.
pub(crate) fn outcome_text(outcome: PositionOutcome) -> (&'static str, &'static str) {
    match outcome {
        PositionOutcome::Current => ("stored", "the unit's position moved"),
        PositionOutcome::OutOfOrder => ("stored_out_of_order", "older than the unit's current fix: kept in the trail, the position did not move"),
        PositionOutcome::Duplicate => ("duplicate", "this device already sent a fix with this time: ignored"),
        PositionOutcome::Implausible(why) => (
            "stored_implausible",
            match why {
                ImplausibleFix::TooOld => "taken more than a day ago: kept in the trail, flagged; the position did not move. Check the device's clock",
                ImplausibleFix::AheadOfClock => {
                    "taken ahead of the server clock: kept in the trail, flagged; the position did not move. Check the device's clock"
                }
                ImplausibleFix::TooFast => {
                    "further from the unit's position than it can travel in the time between: kept in the trail, flagged; the position did not move"
                }
            },
        ),
    }
}

/// `application/x-www-form-urlencoded` pairs; a body that is not a form adds none.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// A unit's new position goes on the event bus (`unit_position`), where
/// consoles and MQTT subscribers follow units live. Queued without waiting:
/// the position is already stored, and a busy event queue must not hold up
/// devices (a refusal is counted by the events service).
pub(crate) fn publish_position(state: &AppState, unit_id: String, fix: &Fix) {
    let e = NewEvent {
        event_type: EventType::UnitPosition,
        time: fix.time,
        source: Source { kind: SourceKind::Unit, id: unit_id },
        location: Some(Location { lat: fix.lat, lon: fix.lon }),
        details: json!({"speed_mps": fix.speed_mps, "bearing_deg": fix.bearing_deg, "device_id": fix.device_id}),
    };
    if let Err(e) = state.events.raise_detached(e) {
        tracing::debug!("unit position not published: {e}");
    }
}
