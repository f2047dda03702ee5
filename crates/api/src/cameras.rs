//! `/api/v1/cameras`: the registry, its spatial queries, import and export.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use citywatch_audit::{Permission, Record, Scope};
use citywatch_geo::{route_from_geojson, Area};
use citywatch_model::{Camera, CameraUpdate};
use citywatch_registry::{parse_csv, parse_geojson, to_geojson, CameraQuery, ImportFormat, QueryHit};
use serde_json::{json, Value};

use crate::auth::{audit, Caller};
use crate::{body, ApiError, AppState};

const MAX_RADIUS_M: f64 = 50_000.0;
const MAX_K: usize = 1_000;
const MAX_ROUTE_WITHIN_M: f64 = 5_000.0;
const DEFAULT_ROUTE_WITHIN_M: f64 = 50.0;

/// `GET /api/v1/cameras` with at most one of `near`+`radius_m`, `nearest`+`k`, `bbox`, `sees`.
pub async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::ReadCameras, "reading cameras").await?;
    let query = parse_list_query(&params)?;
    answer(&state, &caller, &scope, query).await
}

/// `POST /api/v1/cameras/search`: a GeoJSON Polygon/MultiPolygon (cameras
/// inside) or LineString (cameras within `within_m` of the route).
pub async fn search(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>, bytes: Bytes) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::ReadCameras, "searching cameras").await?;
    reject_unknown(&params, &["within_m"])?;
    let geometry = body::json_value(&bytes)?;
    let kind = match geometry.get("type").and_then(Value::as_str) {
        Some("Feature") => geometry.pointer("/geometry/type").and_then(Value::as_str),
        other => other,
    };
    let query = match kind {
        Some("LineString") => {
            let within_m = match params.get("within_m") {
                Some(v) => number_in("within_m", v, 0.0, MAX_ROUTE_WITHIN_M)?,
                None => DEFAULT_ROUTE_WITHIN_M,
            };
            CameraQuery::Route { points: route_from_geojson(&geometry)?, within_m }
        }
        Some("Polygon" | "MultiPolygon") => CameraQuery::Inside(Area::from_geojson(&geometry)?),
        _ => return Err(ApiError::BadRequest("body must be a GeoJSON Polygon, MultiPolygon or LineString geometry (or a Feature holding one)".into())),
    };
    answer(&state, &caller, &scope, query).await
}

async fn answer(state: &AppState, caller: &Caller, scope: &Scope, query: CameraQuery) -> Result<Response, ApiError> {
    let snapshot = state.registry.snapshot();
    let hits = query.run(&snapshot, scope)?;
    // `recorded`: whether this server connects to the camera at all; an
    // unrecorded camera's status is nobody's observation (the map says so
    // instead of showing it as unknown).
    let recorded = state.health.cameras();
    let body: Vec<Value> = hits
        .iter()
        .map(|h| {
            let mut v = hit_json(h);
            v["recorded"] = json!(recorded.contains(&h.camera.id));
            v
        })
        .collect();
    if query.is_spatial() {
        let mut detail = query.describe();
        detail["results"] = json!(body.len());
        audit(state, Record::new(caller.name(), "camera.search", query.kind()).detail(detail)).await?;
    }
    Ok(Json(body).into_response())
}

fn hit_json(hit: &QueryHit<'_>) -> Value {
    let mut v = serde_json::to_value(hit.camera).expect("a camera serialises");
    if let Some(d) = hit.distance_m {
        v["distance_m"] = json!((d * 1000.0).round() / 1000.0);
    }
    v
}

fn parse_list_query(params: &HashMap<String, String>) -> Result<CameraQuery, ApiError> {
    reject_unknown(params, &["near", "radius_m", "nearest", "k", "bbox", "sees"])?;
    let kinds: Vec<&str> = ["near", "nearest", "bbox", "sees"].into_iter().filter(|k| params.contains_key(*k)).collect();
    if kinds.len() > 1 {
        return Err(ApiError::BadRequest(format!("give one of near, nearest, bbox, sees; got {}", kinds.join(" and "))));
    }
    let stray = |name: &str, needs: &str| -> Result<(), ApiError> {
        if params.contains_key(name) && !params.contains_key(needs) {
            return Err(ApiError::BadRequest(format!("{name} only goes with {needs}")));
        }
        Ok(())
    };
    stray("radius_m", "near")?;
    stray("k", "nearest")?;
    Ok(match kinds.first().copied() {
        None => CameraQuery::All,
        Some("near") => {
            let (lat, lon) = lat_lon("near", &params["near"])?;
            let radius = params.get("radius_m").ok_or_else(|| ApiError::field("radius_m", "is required with near (metres)"))?;
            CameraQuery::Near { lat, lon, radius_m: number_in("radius_m", radius, 0.0, MAX_RADIUS_M)? }
        }
        Some("nearest") => {
            let (lat, lon) = lat_lon("nearest", &params["nearest"])?;
            let k = match params.get("k") {
                None => 5,
                Some(k) => k
                    .parse::<usize>()
                    .ok()
                    .filter(|k| (1..=MAX_K).contains(k))
                    .ok_or_else(|| ApiError::field("k", format!("must be a whole number in 1..={MAX_K}")))?,
            };
            CameraQuery::Nearest { lat, lon, k }
        }
        Some("bbox") => {
            let parts: Vec<&str> = params["bbox"].split(',').collect();
            if parts.len() != 4 {
                return Err(ApiError::field("bbox", "must be MINLON,MINLAT,MAXLON,MAXLAT"));
            }
            let min_lon = number_in("bbox min_lon", parts[0], -180.0, 180.0)?;
            let min_lat = number_in("bbox min_lat", parts[1], -90.0, 90.0)?;
            let max_lon = number_in("bbox max_lon", parts[2], -180.0, 180.0)?;
            let max_lat = number_in("bbox max_lat", parts[3], -90.0, 90.0)?;
            if min_lat > max_lat {
                return Err(ApiError::field("bbox", "min_lat is above max_lat"));
            }
            CameraQuery::Bbox { min_lon, min_lat, max_lon, max_lat }
        }
        Some(_) => {
            let (lat, lon) = lat_lon("sees", &params["sees"])?;
            CameraQuery::Sees { lat, lon }
        }
    })
}

fn reject_unknown(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    let mut unknown: Vec<&String> = params.keys().filter(|k| !allowed.contains(&k.as_str())).collect();
    unknown.sort();
    match unknown.first() {
        None => Ok(()),
        Some(k) => Err(ApiError::BadRequest(format!("unknown query parameter {k}; expected {}", allowed.join(", ")))),
    }
}

fn number_in(field: &str, text: &str, min: f64, max: f64) -> Result<f64, ApiError> {
    let v: f64 = text.trim().parse().map_err(|_| ApiError::field(field, format!("must be a number, got {text:?}")))?;
    if !v.is_finite() || v < min || v > max {
        return Err(ApiError::field(field, format!("must be in [{min}, {max}], got {v}")));
    }
    Ok(v)
}

fn lat_lon(field: &str, text: &str) -> Result<(f64, f64), ApiError> {
    let Some((lat, lon)) = text.split_once(',') else {
        return Err(ApiError::field(field, "must be LAT,LON in decimal degrees, e.g. 44.8125,20.4612"));
    };
    Ok((number_in(&format!("{field} lat"), lat, -90.0, 90.0)?, number_in(&format!("{field} lon"), lon, -180.0, 180.0)?))
}

pub async fn get_one(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadCameras, "reading cameras").await?;
    let snapshot = state.registry.snapshot();
    let camera = snapshot.get(&id, &scope).ok_or_else(|| ApiError::NotFound(format!("camera {id} not found")))?;
    let mut v = serde_json::to_value(camera).expect("a camera serialises");
    v["recorded"] = json!(state.health.cameras().contains(&id));
    Ok(Json(v))
}

pub async fn create(State(state): State<AppState>, caller: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::ManageCameras, "creating cameras").await?;
    let obj = body::json_object(&bytes)?;
    let generated = format!("cam-{}", &citywatch_audit::new_session_token()[..10]);
    let update = CameraUpdate::from_json(&obj, Some(&generated)).map_err(ApiError::invalid)?;
    let (registry, log) = (state.registry.clone(), state.audit.clone());
    let (u, s) = (update.clone(), scope.clone());
    let record = Record::new(caller.name(), "camera.create", &update.camera.id).detail(camera_detail(&update));
    tokio::task::spawn_blocking(move || registry.create(&u, &s, &log, record)).await??;
    Ok((StatusCode::CREATED, Json(update.camera)).into_response())
}

pub async fn replace(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, bytes: Bytes) -> Result<Json<Camera>, ApiError> {
    let scope = caller.require(&state, Permission::ManageCameras, "changing cameras").await?;
    let obj = body::json_object(&bytes)?;
    if let Some(body_id) = obj.get("id").and_then(Value::as_str) {
        if body_id != id {
            return Err(ApiError::field("id", format!("{body_id} differs from the id in the path ({id})")));
        }
    }
    let update = CameraUpdate::from_json(&obj, Some(&id)).map_err(ApiError::invalid)?;
    let (registry, log) = (state.registry.clone(), state.audit.clone());
    let u = update.clone();
    let mut detail = camera_detail(&update);
    let actor = caller.name().to_owned();
    tokio::task::spawn_blocking(move || {
        registry.replace(&u, &scope, &log, |before| {
            detail["before"] = serde_json::to_value(before).expect("a camera serialises");
            Record::new(actor, "camera.update", &before.id).detail(detail)
        })
    })
    .await??;
    Ok(Json(update.camera))
}

pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let scope = caller.require(&state, Permission::ManageCameras, "deleting cameras").await?;
    let (registry, log) = (state.registry.clone(), state.audit.clone());
    let actor = caller.name().to_owned();
    tokio::task::spawn_blocking(move || {
        registry.delete(&id, &scope, &log, |before| Record::new(actor, "camera.delete", &before.id).detail(json!({"before": before})))
    })
    .await??;
    Ok(StatusCode::NO_CONTENT)
}

/// What the audit log keeps of a camera change: the camera, and whether
/// credentials were set (never the credentials themselves).
fn camera_detail(u: &CameraUpdate) -> Value {
    json!({
        "camera": u.camera,
        "main_credentials_set": u.main_credentials.is_some(),
        "sub_credentials_set": u.sub_credentials.is_some(),
    })
}

/// `POST /api/v1/cameras/import[?atomic=true]`: GeoJSON (default) or CSV
/// (`Content-Type: text/csv`).
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::ManageCameras, "importing cameras").await?;
    reject_unknown(&params, &["atomic"])?;
    let atomic = match params.get("atomic").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(ApiError::field("atomic", format!("must be true or false, got {other:?}"))),
    };
    let media_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/geo+json");
    let format = ImportFormat::guess(media_type);
    let (registry, log) = (state.registry.clone(), state.audit.clone());
    let actor = caller.name().to_owned();
    let limits = state.import_limits().cameras;
    // Read row by row: memory follows the good rows and the first problems
    // kept, not the size of the file.
    let report = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let parsed = match format {
            ImportFormat::GeoJson => parse_geojson(&bytes, limits, |_| {}),
            ImportFormat::Csv => parse_csv(&bytes[..], limits, |_| {}),
        }?;
        Ok(registry.import(parsed, &scope, atomic, &log, |report| {
            let failed = atomic && !report.errors.is_empty();
            let detail =
                json!({"rows": report.rows, "created": report.created, "updated": report.updated, "bad_rows": report.errors.bad_rows, "atomic": atomic});
            Record::new(actor, "camera.import", format!("{format:?}")).result(if failed { "failed" } else { "ok" }).detail(detail)
        })?)
    })
    .await??;
    let failed = atomic && !report.errors.is_empty();
    let status = if failed { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut body = serde_json::to_value(&report).expect("a report serialises");
    if failed {
        body["error"] = json!(format!("{} bad rows; nothing was applied (atomic import)", report.errors.bad_rows));
    }
    Ok((status, Json(body)).into_response())
}

/// `GET /api/v1/cameras/export`: the caller's cameras as GeoJSON.
pub async fn export(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::ReadCameras, "exporting cameras").await?;
    let snapshot = state.registry.snapshot();
    let mut cameras: Vec<&Camera> = snapshot.visible(&scope).collect();
    cameras.sort_by(|a, b| a.id.cmp(&b.id));
    let doc = to_geojson(cameras.iter().copied());
    audit(&state, Record::new(caller.name(), "camera.export", "geojson").detail(json!({"cameras": cameras.len()}))).await?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], doc.to_string()).into_response())
}
