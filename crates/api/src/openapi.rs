//! The OpenAPI 3.1 document, generated from one table of operations so that
//! a route cannot be documented without saying who may call it. The
//! authorization tests walk the same table.

use axum::Json;
use serde_json::{json, Map, Value};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Any logged-in user.
    Session,
    /// Holders of this permission (see `citywatch_audit::Permission::roles`).
    Needs(citywatch_audit::Permission),
    /// Holders of this permission over all districts.
    NeedsAllDistricts(citywatch_audit::Permission),
}

pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub params: &'static [(&'static str, &'static str)],
    pub body: Option<&'static str>,
}

use citywatch_audit::Permission::*;
use Access::*;

pub const OPERATIONS: &[Operation] = &[
    Operation { method: "get", path: "/health", summary: "Liveness", access: Public, params: &[], body: None },
    Operation { method: "get", path: "/api/openapi.json", summary: "This document", access: Public, params: &[], body: None },
    Operation { method: "post", path: "/api/v1/auth/login", summary: "Log in; returns a bearer token and sets an HttpOnly session cookie. Failed logins are rate-limited (429 with Retry-After).", access: Public, params: &[], body: Some("{\"username\", \"password\"}") },
    Operation { method: "post", path: "/api/v1/auth/logout", summary: "End the session", access: Session, params: &[], body: None },
    Operation { method: "get", path: "/api/v1/me", summary: "The caller and the grants in force", access: Session, params: &[], body: None },
    Operation { method: "get", path: "/api/v1/console/config", summary: "Map settings for the console", access: Session, params: &[], body: None },
    Operation { method: "get", path: "/api/v1/basemap", summary: "Offline base layer: streets and the caller's districts (GeoJSON)", access: Session, params: &[], body: None },
    Operation { method: "get", path: "/api/v1/cameras", summary: "Cameras in the caller's districts; with one spatial filter, those matching it with distance_m, nearest first. Spatial queries are audited.", access: Needs(ReadCameras),
        params: &[("near", "LAT,LON; with radius_m: cameras within radius_m metres"), ("radius_m", "metres, 0..50000"), ("nearest", "LAT,LON; the k nearest"), ("k", "1..1000, default 5"), ("bbox", "MINLON,MINLAT,MAXLON,MAXLAT"), ("sees", "LAT,LON; cameras whose field of view contains the point")], body: None },
    Operation { method: "post", path: "/api/v1/cameras", summary: "Create a camera (strict body: unknown fields are refused). Credentials in URLs are stored apart and never returned.", access: Needs(ManageCameras), params: &[], body: Some("Camera") },
    Operation { method: "post", path: "/api/v1/cameras/search", summary: "Cameras inside a GeoJSON Polygon/MultiPolygon, or within within_m of a LineString route", access: Needs(ReadCameras), params: &[("within_m", "metres from the route, default 50, max 5000")], body: Some("GeoJSON geometry") },
    Operation { method: "post", path: "/api/v1/cameras/import", summary: "Bulk import: GeoJSON FeatureCollection of Points, or CSV with Content-Type text/csv. Reports every bad row; atomic=true applies nothing if any row is bad (422).", access: Needs(ManageCameras), params: &[("atomic", "true or false (default)")], body: Some("GeoJSON or CSV") },
    Operation { method: "get", path: "/api/v1/cameras/export", summary: "The caller's cameras as a GeoJSON FeatureCollection", access: Needs(ReadCameras), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/cameras/{id}", summary: "One camera (404 outside the caller's districts)", access: Needs(ReadCameras), params: &[], body: None },
    Operation { method: "put", path: "/api/v1/cameras/{id}", summary: "Replace a camera", access: Needs(ManageCameras), params: &[], body: Some("Camera") },
    Operation { method: "delete", path: "/api/v1/cameras/{id}", summary: "Delete a camera", access: Needs(ManageCameras), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/cameras/{id}/recordings", summary: "Recorded spans and gaps of a camera between start and end (RFC 3339)", access: Needs(ReadCameras), params: &[("start", "RFC 3339"), ("end", "RFC 3339, at most 24 h after start"), ("stream", "main (default) or sub")], body: None },
    Operation { method: "get", path: "/api/v1/cameras/{id}/view.mp4", summary: "A standard MP4 of any recorded range, built on the fly without transcoding; supports Range requests. Requires purpose and case_ref; audited.", access: Needs(PlayRecordings), params: &[("start", "RFC 3339"), ("end", "RFC 3339, at most 24 h after start"), ("stream", "main (default) or sub"), ("purpose", "why the video is viewed (required)"), ("case_ref", "case or incident reference (required)")], body: None },
    Operation { method: "get", path: "/api/v1/cameras/{id}/health", summary: "Ingest health of the camera's streams: state, frames, bytes, fps and bit rate over the last ~10 s, last frame time, reconnects, failures, dropped frames, last error; bytes recorded", access: Needs(ReadCameras), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/cameras/{id}/retention", summary: "The camera's own retention limits (null: the configured default)", access: Needs(ReadCameras), params: &[], body: None },
    Operation { method: "put", path: "/api/v1/cameras/{id}/retention", summary: "Set the camera's retention limits; null restores the default. Audited.", access: Needs(ManageCameras), params: &[], body: Some("{\"max_age_days\": n|null, \"max_bytes\": n|null}") },
    Operation { method: "get", path: "/api/v1/legal-holds", summary: "Legal holds on cameras in the caller's districts, active and expired", access: Needs(ManageLegalHolds), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/legal-holds", summary: "Keep a camera's recordings in [start, end) from retention until expires_at (required, in the future). Requires purpose and case_ref; audited.", access: Needs(ManageLegalHolds), params: &[], body: Some("{\"camera_id\", \"start\", \"end\", \"purpose\", \"case_ref\", \"expires_at\"} (times RFC 3339)") },
    Operation { method: "delete", path: "/api/v1/legal-holds/{id}", summary: "Release a legal hold; audited", access: Needs(ManageLegalHolds), params: &[], body: None },
    Operation { method: "get", path: "/metrics", summary: "Prometheus metrics (text format): per-stream state, frames, bytes, fps, bit rate, last frame age, reconnects, dropped frames; recorded bytes per camera; retention deletions. Needs an admin or supervisor session over all districts, or 'Authorization: Bearer <[metrics] token from citywatch.toml>'.", access: NeedsAllDistricts(ReadMetrics), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/live", summary: "WebSocket (fMP4 for Media Source Extensions): one socket carries several cameras. Client text {\"subscribe\": CAMERA_ID, \"stream\": \"auto|main|sub\"} / {\"unsubscribe\": CHANNEL}; server text {\"subscribed\", \"channel\"}, {\"channel\", \"mime\"} and binary [channel byte][fMP4 init segment or fragment]. Each subscription is audited (video.live). See docs/design/live.md.", access: Needs(ViewLive), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/districts", summary: "Districts in the caller's scope (GeoJSON)", access: Needs(ReadCameras), params: &[], body: None },
    Operation { method: "put", path: "/api/v1/districts/{name}", summary: "Create or replace a district (GeoJSON Polygon or MultiPolygon)", access: NeedsAllDistricts(ManageDistricts), params: &[], body: Some("GeoJSON geometry") },
    Operation { method: "get", path: "/api/v1/users", summary: "Users and their grants", access: NeedsAllDistricts(ManageUsers), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/users", summary: "Create a user with optional grants", access: NeedsAllDistricts(ManageUsers), params: &[], body: Some("{\"username\", \"password\", \"grants\": [{\"role\", \"districts\", \"expires_at\"}]}") },
    Operation { method: "post", path: "/api/v1/users/{username}/grants", summary: "Give a role, scoped to districts (null = all), optionally expiring", access: NeedsAllDistricts(ManageUsers), params: &[], body: Some("{\"role\", \"districts\", \"expires_at\"}") },
    Operation { method: "delete", path: "/api/v1/users/{username}/grants/{id}", summary: "Take a grant away", access: NeedsAllDistricts(ManageUsers), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/audit", summary: "Page through the audit log (auditors only; the read is itself audited)", access: Needs(ReadAudit), params: &[("after_seq", "entries after this seq, default 0"), ("limit", "1..1000, default 100")], body: None },
];

pub fn openapi_document() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let path_params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let query_params = op.params.iter().map(|(name, desc)| json!({"name": name, "in": "query", "required": false, "description": desc, "schema": {"type": "string"}}));
        let mut operation = json!({
            "summary": op.summary,
            "parameters": path_params.into_iter().chain(query_params).collect::<Vec<_>>(),
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "Malformed request; the error names what is wrong"},
                "401": {"description": "No valid session"},
                "403": {"description": "Role or district scope does not allow it"},
                "422": {"description": "Invalid fields: {\"error\", \"fields\": [{\"field\", \"reason\"}]}"},
            },
        });
        match op.access {
            Public => operation["security"] = json!([]),
            Session => operation["x-citywatch-roles"] = json!("any logged-in user"),
            Needs(p) | NeedsAllDistricts(p) => {
                operation["x-citywatch-roles"] = json!(p.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>());
                if matches!(op.access, NeedsAllDistricts(_)) {
                    operation["x-citywatch-scope"] = json!("all districts");
                }
            }
        }
        if let Some(body) = op.body {
            operation["requestBody"] = json!({"description": body, "required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        paths.entry(op.path).or_insert_with(|| json!({}))[op.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Citywatch API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "City video surveillance and dispatch. Every route but login, health and this document needs a session: send 'Authorization: Bearer <token>' from POST /api/v1/auth/login."},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "cw_session"}}},
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
    })
}

pub async fn serve() -> Json<Value> {
    Json(openapi_document())
}
