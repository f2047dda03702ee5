//! `/api/v1/districts`: the areas grants are scoped to.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use citywatch_audit::{Permission, Record, Scope};
use citywatch_geo::Area;
use citywatch_model::District;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::{body, ApiError, AppState};

/// The districts the caller's camera scope reaches, as a GeoJSON FeatureCollection.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadCameras, "reading districts").await?;
    let features: Vec<Value> = all(&state)
        .await?
        .into_iter()
        .filter(|d| scope.covers(Some(&d.name)))
        .map(|d| json!({"type": "Feature", "id": d.name, "properties": {"name": d.name}, "geometry": d.geometry}))
        .collect();
    Ok(Json(json!({"type": "FeatureCollection", "features": features})))
}

/// `PUT /api/v1/districts/{name}` with a GeoJSON Polygon or MultiPolygon.
pub async fn put(State(state): State<AppState>, caller: Caller, Path(name): Path<String>, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    caller.require_all_districts(&state, Permission::ManageDistricts, "changing districts").await?;
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field("name", "must be 1 to 100 characters"));
    }
    let geometry = body::json_value(&bytes)?;
    Area::from_geojson(&geometry).map_err(|e| ApiError::field("geometry", e.to_string()))?;
    let geometry = match geometry.get("type").and_then(Value::as_str) {
        Some("Feature") => geometry["geometry"].clone(),
        _ => geometry,
    };
    let district = District { name: name.clone(), geometry };
    let (registry, log, d) = (state.registry.clone(), state.audit.clone(), district.clone());
    let record = Record::new(caller.name(), "district.put", &name);
    tokio::task::spawn_blocking(move || registry.put_district(&d, &log, record)).await??;
    Ok(Json(json!({"type": "Feature", "id": name, "properties": {"name": name}, "geometry": district.geometry})))
}

/// Every district, by name.
pub(crate) async fn all(state: &AppState) -> Result<Vec<District>, ApiError> {
    let registry = state.registry.clone();
    Ok(tokio::task::spawn_blocking(move || registry.districts()).await??)
}

/// Every district with its area, for placing points (incidents) in them.
pub(crate) async fn areas(state: &AppState) -> Result<Vec<(String, Area)>, ApiError> {
    let districts = all(state).await?;
    // Stored geometries were checked when they were put; one that no longer
    // parses places nothing in its district rather than failing every request.
    Ok(districts.into_iter().filter_map(|d| Area::from_geojson(&d.geometry).ok().map(|a| (d.name, a))).collect())
}

/// Whether `scope` reaches a place: a point in at least one of the scope's
/// districts; a point in no district only with an all-district scope (as
/// for a camera without a district).
pub(crate) fn covers_place(scope: &Scope, areas: &[(String, Area)], lat: f64, lon: f64) -> bool {
    match scope {
        Scope::All => true,
        Scope::Districts(_) => areas.iter().any(|(name, area)| scope.covers(Some(name)) && area.contains(lon, lat)),
    }
}
