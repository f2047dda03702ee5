//! What the console needs besides cameras: health, map settings, the
//! offline base layer.

use axum::extract::State;
use axum::Json;
use citywatch_audit::Permission;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::{ApiError, AppState};

pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The map settings, and how long one recorded file may be when faces in
/// it are blurred (the timeline asks for pieces no longer than that).
pub async fn config(State(state): State<AppState>, _caller: Caller) -> Json<Value> {
    let mut config = serde_json::to_value(&state.console).unwrap_or_else(|_| json!({}));
    config["blurred_max_span_s"] = json!(crate::recordings_blurred::max_span(&state).as_secs());
    Json(config)
}

/// Streets (if the deployment has them) and the districts the caller may
/// see, as one FeatureCollection for an offline base map.
pub async fn basemap(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let scope = caller.0.scope(Permission::ReadCameras);
    let districts = crate::districts::all(&state).await?;
    let mut features: Vec<Value> = state
        .basemap
        .as_ref()
        .and_then(|b| b.get("features"))
        .and_then(Value::as_array)
        .map(|f| f.iter().filter(|f| f.pointer("/properties/kind").and_then(Value::as_str) != Some("district")).cloned().collect())
        .unwrap_or_default();
    features.extend(
        districts
            .into_iter()
            .filter(|d| scope.as_ref().is_some_and(|s| s.covers(Some(&d.name))))
            .map(|d| json!({"type": "Feature", "properties": {"kind": "district", "name": d.name}, "geometry": d.geometry})),
    );
    Ok(Json(json!({"type": "FeatureCollection", "features": features})))
}
