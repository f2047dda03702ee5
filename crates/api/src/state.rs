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

pub struct Inner {
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
    pub(crate) limiter: LoginLimiter,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(
        store: Arc<Store>,
        registry: Arc<Registry>,
        audit: Arc<AuditLog>,
        console: ConsoleSettings,
        basemap: Option<Value>,
        session_ttl: chrono::Duration,
        sample_dir: Arc<citywatch_video::sample_dir::SampleDir>,
        health: Arc<citywatch_video::health::HealthRegistry>,
        metrics_token: Option<String>,
        live: Arc<citywatch_video::live::LiveHub>,
    ) -> AppState {
        AppState(Arc::new(Inner {
            store,
            registry,
            audit,
            console,
            basemap,
            session_ttl,
            sample_dir,
            health,
            metrics_token,
            live,
            limiter: LoginLimiter::default(),
        }))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
