//! The HTTP API and the embedded console.
//!
//! Owns routes, request parsing, authentication of requests (bearer token
//! or session cookie), the mapping of errors to status codes (in `error`),
//! the OpenAPI document and the static console files. It is the only crate
//! that knows HTTP; domain crates get plain values. Every route but login,
//! health, the OpenAPI document and the console's static files requires a
//! session (`/metrics` alternatively the configured scrape token; the AVL
//! route `/api/v1/avl/osmand` only a GPS device's own token), and each
//! handler asks `citywatch-audit`'s policy for the permission it needs
//! before touching data.

mod alerts;
mod assets;
mod audit_log;
mod auth;
mod avl;
mod body;
mod cameras;
mod console;
mod districts;
mod error;
mod events;
mod health_wall;
mod hotlists;
mod incidents;
mod justification;
mod legal_holds;
mod live;
mod live_redacted;
mod login_name;
mod login_throttle;
mod openapi;
mod oversight;
mod plates;
mod procedures;
mod recordings;
mod recordings_blurred;
mod repeats;
mod repos;
mod retention;
mod rules;
mod same_origin;
mod session_ends;
mod snapshots;
mod state;
#[cfg(all(test, feature = "ts"))]
mod typescript;
mod units;
mod unmask_grants;
mod users;
mod video_health;
mod ws_session;

use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;

pub use error::ApiError;
pub use health_wall::{AnalyticsCamera, AnalyticsSource};
pub use live_redacted::LiveRedaction;
pub use openapi::{openapi_document, Access, Operation, OPERATIONS};
pub use repos::Repos;
pub use snapshots::{Redactor, Snapshots};
pub use state::{AppParts, AppState, ConsoleSettings};

/// Camera imports may be large (100,000 cameras is about 40 MB of GeoJSON;
/// the default cap of 200,000 rows about twice that).
const IMPORT_BODY_LIMIT: usize = 256 * 1024 * 1024;
/// A hotlist row is a plate, a reason and a priority: 200,000 rows of
/// them (the default cap) fit in a fraction of this.
const HOTLIST_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(console::health))
        .route("/api/openapi.json", get(openapi::serve))
        .route("/api/v1/auth/login", post(auth::login).layer(DefaultBodyLimit::max(auth::LOGIN_BODY_LIMIT)))
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
        .route("/api/v1/unmask-grants", get(unmask_grants::list).post(unmask_grants::create))
        .route("/api/v1/unmask-grants/{id}", delete(unmask_grants::revoke))
        .route("/api/v1/oversight/sensitive-reads", get(oversight::sensitive_reads))
        .route("/metrics", get(video_health::metrics))
        .route("/api/v1/health/overview", get(health_wall::overview))
        .route("/api/v1/districts", get(districts::list))
        .route("/api/v1/districts/{name}", put(districts::put))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{username}/password", put(users::set_password))
        .route("/api/v1/users/{username}/disable", post(users::disable))
        .route("/api/v1/users/{username}/enable", post(users::enable))
        .route("/api/v1/users/{username}/sessions/end", post(users::end_sessions))
        .route("/api/v1/users/{username}/grants", post(users::add_grant))
        .route("/api/v1/users/{username}/grants/{id}", delete(users::remove_grant))
        .route("/api/v1/audit", get(audit_log::read))
        .route("/api/v1/audit/verify", get(audit_log::verify))
        .route("/api/v1/audit/export", get(audit_log::export))
        .route("/api/v1/events", get(events::list).post(events::raise))
        .route("/api/v1/events/{id}/snapshot.jpg", get(snapshots::snapshot))
        .route("/api/v1/rules", get(rules::list).post(rules::create))
        .route("/api/v1/rules/{id}", get(rules::get_one).put(rules::replace).delete(rules::remove))
        .route("/api/v1/alerts", get(alerts::list))
        .route("/api/v1/alerts/stream", get(alerts::stream))
        .route("/api/v1/alerts/{id}", get(alerts::get_one))
        .route("/api/v1/alerts/{id}/acknowledge", post(alerts::acknowledge))
        .route("/api/v1/alerts/{id}/resolve", post(alerts::resolve))
        .route("/api/v1/alerts/{id}/false-alarm", post(alerts::false_alarm))
        .route("/api/v1/alerts/{id}/cap.xml", get(alerts::cap_xml))
        .route("/api/v1/units", get(units::list).post(units::create))
        .route("/api/v1/units/{id}", put(units::replace).delete(units::remove))
        .route("/api/v1/units/{id}/devices", post(units::add_device))
        .route("/api/v1/units/{id}/trail", get(units::trail))
        .route("/api/v1/units/{id}/status", post(units::report_status))
        .route("/api/v1/dispatch/stream", get(units::stream))
        .route("/api/v1/me/assignment", get(units::my_assignment))
        .route("/api/v1/me/position", post(units::report_my_position))
        .route("/api/v1/avl/osmand", get(avl::osmand).post(avl::osmand))
        .route("/api/v1/incidents", get(incidents::list).post(incidents::create))
        .route("/api/v1/incidents/{id}", get(incidents::get_one))
        .route("/api/v1/incidents/{id}/notes", post(incidents::add_note))
        .route("/api/v1/incidents/{id}/recommendations", get(incidents::recommendations))
        .route("/api/v1/incidents/{id}/assign", post(incidents::assign))
        .route("/api/v1/incidents/{id}/checklist/{step}", post(incidents::checklist_step))
        .route("/api/v1/incidents/{id}/close", post(incidents::close))
        .route("/api/v1/incidents/{id}/eido.json", get(incidents::eido))
        .route("/api/v1/incidents/{id}/route", get(incidents::route))
        .route("/api/v1/procedures", get(procedures::list))
        .route("/api/v1/procedures/{type}", put(procedures::put))
        .route("/api/v1/hotlists", get(hotlists::list))
        .route("/api/v1/hotlists/{list}/import", post(hotlists::import).layer(DefaultBodyLimit::max(HOTLIST_BODY_LIMIT)))
        .route("/api/v1/hotlists/{list}/entries", get(hotlists::entries))
        .route("/api/v1/hotlists/{list}/entries/{id}", delete(hotlists::delete_entry))
        .route("/api/v1/plates/search", get(plates::search))
        .route("/", get(assets::index))
        .route("/terminal", get(assets::terminal))
        .route("/assets/{*path}", get(assets::file))
        .fallback(assets::not_found)
        // Cookie-authenticated changes and WebSockets only from the console's own origin.
        .layer(axum::middleware::from_fn(same_origin::guard))
        .with_state(state)
}

/// Serves until `shutdown` resolves. Alongside: the writer of counted
/// login refusals (what is still counted at the end is written before this
/// returns) and the watcher that closes WebSockets whose session ended.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(live::tune_socket);
    let summaries = tokio::spawn(auth::write_login_summaries_forever(state.clone()));
    let sessions = tokio::spawn(session_ends::watch_store(state.clone()));
    let (stop_flusher, stopped) = tokio::sync::watch::channel(false);
    let flusher = tokio::spawn(repeats::run_flusher(state.clone(), stopped));
    let served = axum::serve(listener, router(state.clone()).into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await;
    summaries.abort();
    sessions.abort();
    auth::write_login_summaries(&state, true).await;
    // After the last request: the counts of repeated refusals still open
    // are written, so that none is lost at shutdown.
    let _ = stop_flusher.send(true);
    let _ = flusher.await;
    let flushed = tokio::task::spawn_blocking(move || state.flush_repeats()).await;
    if let Ok(Err(e)) = flushed {
        tracing::error!("audit log: writing the counts of repeated refusals at shutdown: {e}");
    }
    served
}
