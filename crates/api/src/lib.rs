//! The HTTP API and the embedded console.
//!
//! Owns routes, request parsing, authentication of requests (bearer token
//! or session cookie), the mapping of errors to status codes (in `error`),
//! the OpenAPI document and the static console files. It is the only crate
//! that knows HTTP; domain crates get plain values. Every route but login,
//! health, the OpenAPI document and the console's static files requires a
//! session (`/metrics` alternatively the configured scrape token), and each
//! handler asks `citywatch-audit`'s policy for the permission it needs
//! before touching data.

mod assets;
mod auth;
mod body;
mod cameras;
mod console;
mod districts;
mod error;
mod legal_holds;
mod live;
mod audit_log;
mod openapi;
mod recordings;
mod retention;
mod state;
mod users;
mod video_health;

use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;

pub use error::ApiError;
pub use openapi::{openapi_document, Access, Operation, OPERATIONS};
pub use state::{AppParts, AppState, ConsoleSettings};

/// Camera imports may be large (100,000 cameras is about 40 MB of GeoJSON).
const IMPORT_BODY_LIMIT: usize = 256 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(console::health))
        .route("/api/openapi.json", get(openapi::serve))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/me", get(auth::me))
        .route("/api/v1/console/config", get(console::config))
        .route("/api/v1/basemap", get(console::basemap))
        .route("/api/v1/cameras", get(cameras::list).post(cameras::create))
        .route("/api/v1/cameras/search", post(cameras::search))
        .route("/api/v1/cameras/import", post(cameras::import).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)))
        .route("/api/v1/cameras/export", get(cameras::export))
        .route("/api/v1/cameras/{id}", get(cameras::get_one).put(cameras::replace).delete(cameras::remove))
        .route("/api/v1/cameras/{id}/recordings", get(recordings::list))
        .route("/api/v1/cameras/{id}/view.mp4", get(recordings::view_mp4))
        .route("/api/v1/live", get(live::socket))
        .route("/api/v1/cameras/{id}/health", get(video_health::camera))
        .route("/api/v1/cameras/{id}/retention", get(retention::get).put(retention::put))
        .route("/api/v1/legal-holds", get(legal_holds::list).post(legal_holds::create))
        .route("/api/v1/legal-holds/{id}", delete(legal_holds::release))
        .route("/metrics", get(video_health::metrics))
        .route("/api/v1/districts", get(districts::list))
        .route("/api/v1/districts/{name}", put(districts::put))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{username}/grants", post(users::add_grant))
        .route("/api/v1/users/{username}/grants/{id}", delete(users::remove_grant))
        .route("/api/v1/audit", get(audit_log::read))
        .route("/", get(assets::index))
        .route("/assets/{*path}", get(assets::file))
        .fallback(assets::not_found)
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(live::tune_socket);
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
