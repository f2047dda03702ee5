//! A real server on a loopback port, over a fresh SQLite database in a
//! temporary directory, for tests that speak HTTP to it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use citywatch_api::{AppParts, AppState, ConsoleSettings};
use citywatch_audit::{hash_password, AuditLog};
use citywatch_model::{District, Role};
use citywatch_registry::Registry;
use citywatch_store::Store;
use serde_json::{json, Value};

pub const PASSWORD: &str = "test-password-1";
/// A stream URL nothing answers at: a camera that is configured but never online.
pub const NO_STREAM: &str = "rtsp://127.0.0.1:1/none";
/// The scrape token the test server accepts on `/metrics`.
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

/// A role, optionally limited to districts, optionally expiring.
pub type UserGrant<'a> = (Role, Option<&'a [&'a str]>, Option<DateTime<Utc>>);

pub struct TestServer {
    pub base: String,
    pub store: Arc<Store>,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub health: Arc<citywatch_video::health::HealthRegistry>,
    /// The server's live hub: publish frames here to feed `/api/v1/live`.
    pub live: Arc<citywatch_video::live::LiveHub>,
    /// The server's events service: raise events and make rules directly.
    pub events: Arc<citywatch_events::Events>,
    /// The server's state, for in-process callers (e.g. plate reads from the pipeline).
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Two districts, "North" (lat 44.82..44.83) and "South" (44.80..44.81),
/// both spanning lon 20.45..20.47.
pub fn districts() -> Vec<District> {
    let square =
        |lat0: f64, lat1: f64| json!({"type": "Polygon", "coordinates": [[[20.45, lat0], [20.47, lat0], [20.47, lat1], [20.45, lat1], [20.45, lat0]]]});
    vec![District { name: "North".into(), geometry: square(44.82, 44.83) }, District { name: "South".into(), geometry: square(44.80, 44.81) }]
}

pub async fn start() -> TestServer {
    start_with(Default::default()).await
}

/// A server with these dispatch settings (a road network, speeds).
pub async fn start_with(dispatch: citywatch_dispatch::DispatchConfig) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("citywatch.db")).unwrap());
    store.use_credential_key(citywatch_store::CredentialKey::ephemeral()).unwrap();
    for d in districts() {
        store.put_district(&d).unwrap();
    }
    let key = citywatch_audit::load_or_create_signing_key(dir.path()).unwrap();
    let audit = Arc::new(AuditLog::new(store.clone(), key));
    let registry = Arc::new(Registry::load(store.clone()).unwrap());
    let events = citywatch_events::Events::start(store.clone(), registry.clone(), Default::default()).unwrap();
    let console = ConsoleSettings { style_url: None, center: [20.46, 44.815], zoom: 14.0 };
    let samples = Arc::new(citywatch_video::sample_dir::SampleDir::open(&dir.path().join("video")).unwrap());
    let health = Arc::new(citywatch_video::health::HealthRegistry::default());
    let live = Arc::new(citywatch_video::live::LiveHub::default());
    let dispatch = Arc::new(citywatch_dispatch::Dispatch::new(store.clone(), dispatch));
    let plates = Arc::new(citywatch_hotlists::PlateReads::new(store.clone(), registry.clone(), events.clone()));
    let state = AppState::new(AppParts {
        store: store.clone(),
        users: store.clone(),
        registry,
        access: store.clone(),
        audit,
        console,
        basemap: None,
        session_ttl: chrono::Duration::hours(1),
        recordings: Arc::new(citywatch_video::recording_source::LocalRecordings::new(store.clone(), samples)),
        video_dir: dir.path().join("video"),
        health: health.clone(),
        metrics_token: Some(METRICS_TOKEN.into()),
        live: live.clone(),
        events: events.clone(),
        dispatch,
        plates,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(citywatch_api::serve(listener, state.clone(), async {
        let _ = rx.await;
    }));
    TestServer { base, store, client: reqwest::Client::new(), dir, health, live, events, state, shutdown: Some(tx) }
}

impl TestServer {
    /// Creates a user holding the given grants (role, districts, expiry).
    pub fn user(&self, name: &str, grants: &[UserGrant<'_>]) {
        // Hashing is slow by design; one hash serves every test user.
        static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let hash = HASH.get_or_init(|| hash_password(PASSWORD).unwrap());
        self.store.create_user(name, hash).unwrap();
        for (role, districts, expires) in grants {
            let d: Option<Vec<String>> = districts.map(|d| d.iter().map(|s| s.to_string()).collect());
            self.store.add_grant(name, *role, d.as_deref(), *expires).unwrap();
        }
    }

    pub async fn login(&self, name: &str) -> String {
        let r = self.client.post(self.url("/api/v1/auth/login")).json(&json!({"username": name, "password": PASSWORD})).send().await.unwrap();
        assert_eq!(r.status(), 200, "login of {name} failed: {}", r.text().await.unwrap());
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap();
        status_json(r).await
    }

    pub async fn send(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.client.request(method.parse().unwrap(), self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        status_json(req.send().await.unwrap()).await
    }

    /// Creates camera `id` through the API as `token`, in `district`
    /// ("North" at lat 44.825, else "South" at 44.805), streaming from
    /// `main_url` if given.
    pub async fn camera(&self, token: &str, id: &str, district: &str, main_url: Option<&str>) {
        let lat = if district == "North" { 44.825 } else { 44.805 };
        let mut body = json!({"id": id, "lat": lat, "lon": 20.46, "district": district});
        if let Some(url) = main_url {
            body["main_url"] = json!(url);
        }
        let (st, b) = self.send(token, "POST", "/api/v1/cameras", Some(body)).await;
        assert_eq!(st, 201, "{b}");
    }

    pub async fn post_raw(&self, token: &str, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let r = self.client.post(self.url(path)).bearer_auth(token).header("content-type", content_type).body(body).send().await.unwrap();
        status_json(r).await
    }

    /// Records `seconds` of synthetic 25 fps video (key frame every second)
    /// for `camera` starting at `start` (RFC 3339), through the real recorder.
    pub fn record_synthetic(&self, camera: &str, start: &str, seconds: i64) {
        use citywatch_video::recorder::{Recorder, Stream};
        use citywatch_video::Frame;
        let start_90k = DateTime::parse_from_rfc3339(start).unwrap().timestamp() * 90_000;
        let samples = Arc::new(citywatch_video::sample_dir::SampleDir::open(&self.dir.path().join("video")).unwrap());
        let params = h264_params();
        let mut rec = Recorder::new(self.store.clone(), samples, camera, Stream::Main);
        for n in 0..seconds * 25 {
            let frame =
                Frame { timestamp_90k: n * 3600, is_key: n % 25 == 0, data: bytes::Bytes::from(vec![0, 0, 0, 4, 0x65, 1, 2, 3]), params: params.clone() };
            rec.push(frame, start_90k).unwrap();
        }
        rec.finish().unwrap();
    }

    pub fn audit_actions(&self) -> Vec<(String, String, String)> {
        self.store.audit_entries(0, usize::MAX).unwrap().into_iter().map(|e| (e.actor, e.action, e.result)).collect()
    }
}

/// The parameters of a 640×360 H.264 stream, for synthetic frames.
pub fn h264_params() -> Arc<citywatch_video::VideoParams> {
    Arc::new(citywatch_video::VideoParams {
        codec: citywatch_video::Codec::H264,
        width: 640,
        height: 360,
        rfc6381_codec: "avc1.64001e".into(),
        extra_data: vec![1, 0x64, 0, 0x1e, 0xff, 0xe0, 0],
        pixel_aspect_ratio: None,
    })
}

/// The face models the blurring tests run (`citywatch_test_support::models`).
pub fn models() -> PathBuf {
    citywatch_test_support::models("centerface.onnx")
}

/// A public-domain portrait, JPEG (see crates/analytics/tests/data/README.md).
pub fn portrait() -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../analytics/tests/data/astronaut-320.jpg")).unwrap()
}

pub async fn status_json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub fn ids(v: &Value) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("expected a list, got {v}")).iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

/// A camera as an import feature.
pub fn feature(id: &str, lat: f64, lon: f64, heading: f64, fov: f64, range: f64, district: &str) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
           "properties": {"id": id, "name": format!("Camera {id}"), "heading_deg": heading, "fov_deg": fov, "range_m": range, "district": district}})
}
