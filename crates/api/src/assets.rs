//! The console's static files, embedded at build time (see build.rs).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

const NOT_BUILT: &str = "<!doctype html><title>Citywatch</title><h1>Citywatch</h1>\
<p>The console was not built into this binary. Run <code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code> \
and build the binary again. The API is available under <code>/api/v1</code>; see <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p>";

fn asset(path: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        Some("map") => "application/json",
        _ => "application/octet-stream",
    }
}

fn page(name: &str) -> Response {
    match asset(name) {
        Some(b) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], b).into_response(),
        None => Html(NOT_BUILT).into_response(),
    }
}

/// The operator console.
pub async fn index() -> Response {
    page("index.html")
}

/// The officer's terminal (a second page of the same build, for phones).
pub async fn terminal() -> Response {
    page("terminal.html")
}

pub async fn file(Path(path): Path<String>) -> Response {
    let full = format!("assets/{path}");
    match asset(&full) {
        Some(b) => ([(header::CONTENT_TYPE, content_type(&full)), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], b).into_response(),
        None => not_found().await,
    }
}

pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(json!({"error": "no such route; see /api/openapi.json"}))).into_response()
}
