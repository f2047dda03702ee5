use std::ops::Deref;
use std::sync::Arc;

use citywatch_audit::AuditLog;
use citywatch_registry::Registry;
use citywatch_store::Store;
use serde_json::Value;

use crate::auth::LoginLimiter;

/// What the console needs to draw its map.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConsoleSettings {
    /// A MapLibre style URL of the city's own tile server; `None` draws the
    /// offline base layer from `/api/v1/basemap`.
    pub style_url: Option<String>,
    /// [lon, lat]
    pub center: [f64; 2],
    pub zoom: f64,
}

/// Everything the API serves from, made by the binary (or a test).
pub struct AppParts {
    pub store: Arc<Store>,
    pub registry: Arc<Registry>,
    pub audit: Arc<AuditLog>,
    pub console: ConsoleSettings,
    /// Streets etc. for the offline base layer (the demo city ships one).
    pub basemap: Option<Value>,
    pub session_ttl: chrono::Duration,
    /// Where recordings' sample files live.
    pub sample_dir: Arc<citywatch_video::sample_dir::SampleDir>,
    /// Ingest and retention health, for `/cameras/{id}/health` and `/metrics`.
    pub health: Arc<citywatch_video::health::HealthRegistry>,
    /// A bearer token that may read `/metrics` without a session (for a
    /// Prometheus scraper); `None`: sessions only.
    pub metrics_token: Option<String>,
    /// Live frames of every camera stream, fed by the recorders, read by
    /// `/api/v1/live` viewers.
    pub live: Arc<citywatch_video::live::LiveHub>,
    /// Events, rules and alerts (ingest, bus, rules engine, publishers).
    pub events: Arc<citywatch_events::Events>,
}

pub struct Inner {
    parts: AppParts,
    pub(crate) limiter: LoginLimiter,
    /// Units, AVL, incidents and recommendation, over the same store.
    pub(crate) dispatch: Arc<citywatch_dispatch::Dispatch>,
}

impl Deref for Inner {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.parts
    }
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(parts: AppParts) -> AppState {
        Self::with_dispatch(parts, citywatch_dispatch::DispatchConfig::default())
    }

    /// With dispatch settings other than the defaults (unit speeds, a road router).
    pub fn with_dispatch(parts: AppParts, dispatch: citywatch_dispatch::DispatchConfig) -> AppState {
        let dispatch = Arc::new(citywatch_dispatch::Dispatch::new(parts.store.clone(), dispatch));
        AppState(Arc::new(Inner { parts, limiter: LoginLimiter::default(), dispatch }))
    }

    /// The dispatch service the routes use, for in-process feeders (the
    /// demo's simulated units) that must count and store fixes the same way.
    pub fn dispatch(&self) -> &Arc<citywatch_dispatch::Dispatch> {
        &self.dispatch
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
