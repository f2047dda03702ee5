//! A real server on a loopback port, over a fresh database, for tests that
//! speak HTTP to it: SQLite in a temporary directory, or, when
//! `CITYWATCH_TEST_DATABASE=postgres`, a fresh PostgreSQL database on the
//! machine's server (created for the test, dropped after it). The test
//! script runs the suite both ways.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use citywatch_api::{AppParts, AppState, ConsoleSettings, Repos};
use citywatch_audit::{hash_password, AuditLog, PendingEntry};
use citywatch_model::{District, GrantSpec, Role};
use citywatch_registry::{CameraRepo, Registry};
use citywatch_store::Store;
use serde_json::{json, Value};

pub const PASSWORD: &str = "test-password-1";
/// A stream URL nothing answers at: a camera that is configured but never online.
pub const NO_STREAM: &str = "rtsp://127.0.0.1:1/none";
/// The scrape token the test server accepts on `/metrics`.
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

/// A role, optionally limited to districts, optionally expiring.
pub type UserGrant<'a> = (Role, Option<&'a [&'a str]>, Option<DateTime<Utc>>);

/// Whether this run's servers use PostgreSQL (`CITYWATCH_TEST_DATABASE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("CITYWATCH_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

pub struct TestServer {
    pub base: String,
    pub repos: Repos,
    /// The SQLite store, on a SQLite run only (see [`TestServer::store`]).
    sqlite: Option<Arc<Store>>,
    /// The PostgreSQL database, on a PostgreSQL run: dropped with the server.
    _postgres: Option<citywatch_store_postgres::test_database::TestDatabase>,
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
    let path = dir.path().to_owned();
    let runtime = tokio::runtime::Handle::current();
    // Off the test's async thread: repository calls block, and PostgreSQL's
    // client refuses to block there at all (the server's routes call them
    // on blocking threads too).
    let (repos, sqlite, postgres, audit, registry, events) = blocking(move || {
        let _runtime = runtime.enter();
        let (repos, sqlite, postgres) = if on_postgres() {
            let db = citywatch_store_postgres::test_database::TestDatabase::create();
            let pg = Arc::new(citywatch_store_postgres::PgStore::connect(db.url()).unwrap());
            pg.use_credential_key(citywatch_store::CredentialKey::ephemeral()).unwrap();
            for d in districts() {
                let entry = PendingEntry::new(citywatch_audit::Record::new("test", "district.put", &d.name));
                pg.put_district(&d, Box::new(entry.into_maker())).unwrap();
            }
            (Repos::of(pg), None, Some(db))
        } else {
            let store = Arc::new(Store::open(&path.join("citywatch.db")).unwrap());
            store.use_credential_key(citywatch_store::CredentialKey::ephemeral()).unwrap();
            for d in districts() {
                store.put_district(&d).unwrap();
            }
            (Repos::of(store.clone()), Some(store), None)
        };
        let key = citywatch_audit::load_or_create_signing_key(&path).unwrap();
        let audit = Arc::new(AuditLog::new(repos.audit.clone(), key));
        let registry = Arc::new(Registry::load(repos.cameras.clone()).unwrap());
        let events = citywatch_events::Events::start(repos.events.clone(), registry.clone(), Default::default()).unwrap();
        (repos, sqlite, postgres, audit, registry, events)
    });
    let console = ConsoleSettings { style_url: None, center: [20.46, 44.815], zoom: 14.0 };
    let samples = Arc::new(citywatch_video::sample_dir::SampleDir::open(&dir.path().join("video")).unwrap());
    let health = Arc::new(citywatch_video::health::HealthRegistry::default());
    let live = Arc::new(citywatch_video::live::LiveHub::default());
    let dispatch = Arc::new(citywatch_dispatch::Dispatch::new(repos.dispatch.clone(), dispatch));
    let plates = Arc::new(citywatch_hotlists::PlateReads::new(repos.plates.clone(), registry.clone(), events.clone()));
    let state = AppState::new(AppParts {
        users: repos.users.clone(),
        registry,
        access: repos.access.clone(),
        audit,
        console,
        basemap: None,
        session_ttl: chrono::Duration::hours(1),
        recording_index: repos.recordings.clone(),
        recordings: Arc::new(citywatch_video::recording_source::LocalRecordings::new(repos.recordings.clone(), samples)),
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
    TestServer { base, repos, sqlite, _postgres: postgres, client: reqwest::Client::new(), dir, health, live, events, state, shutdown: Some(tx) }
}

impl TestServer {
    /// Creates a user holding the given grants (role, districts, expiry).
    pub fn user(&self, name: &str, grants: &[UserGrant<'_>]) {
        // Hashing is slow by design; one hash serves every test user.
        static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let hash = HASH.get_or_init(|| hash_password(PASSWORD).unwrap());
        blocking(|| match &self.sqlite {
            Some(store) => {
                store.create_user(name, hash).unwrap();
                for (role, districts, expires) in grants {
                    let d: Option<Vec<String>> = districts.map(|d| d.iter().map(|s| s.to_string()).collect());
                    store.add_grant(name, *role, d.as_deref(), *expires).unwrap();
                }
            }
            // PostgreSQL writes accounts only with their audit entry.
            None => {
                let specs: Vec<GrantSpec> = grants
                    .iter()
                    .map(|(role, districts, expires)| GrantSpec {
                        role: *role,
                        districts: districts.map(|d| d.iter().map(|s| s.to_string()).collect()),
                        expires_at: *expires,
                    })
                    .collect();
                let record = |_: &Vec<citywatch_model::Grant>| citywatch_audit::Record::new("test", "user.create", name);
                self.repos.users.create_user(name, hash, &specs, PendingEntry::after(record)).unwrap();
            }
        })
    }

    pub async fn login(&self, name: &str) -> String {
        let r = self.client.post(self.url("/api/v1/auth/login")).json(&json!({"username": name, "password": PASSWORD})).send().await.unwrap();
        assert_eq!(r.status(), 200, "login of {name} failed: {}", r.text().await.unwrap());
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// The same database through a connection of its own, as the command
    /// line (or another node) has: SQLite's file opened again, or a new
    /// PostgreSQL pool. Blocking.
    pub fn other_connection(&self) -> Repos {
        match (&self.sqlite, &self._postgres) {
            (Some(_), _) => Repos::of(Arc::new(Store::open(&self.dir.path().join("citywatch.db")).unwrap())),
            (None, Some(db)) => {
                let url = db.url().to_owned();
                Repos::of(blocking(move || Arc::new(citywatch_store_postgres::PgStore::connect(&url).unwrap())))
            }
            (None, None) => unreachable!("a server runs on one of the two"),
        }
    }

    /// Every audit entry, oldest first.
    pub fn audit_entries(&self) -> Vec<citywatch_model::AuditEntry> {
        blocking(|| self.repos.audit.entries(0, usize::MAX).unwrap())
    }

    /// The SQLite store, for a test that reads or writes it directly. On a
    /// PostgreSQL run such a test stops here, saying so: it runs on SQLite
    /// only (scripts/test.sh leaves it out of the PostgreSQL pass).
    pub fn store(&self) -> &Arc<Store> {
        self.sqlite.as_ref().expect("this test reads the SQLite store directly; it runs on SQLite only")
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
        blocking(|| {
            let start_90k = DateTime::parse_from_rfc3339(start).unwrap().timestamp() * 90_000;
            let samples = Arc::new(citywatch_video::sample_dir::SampleDir::open(&self.dir.path().join("video")).unwrap());
            let params = h264_params();
            let mut rec = Recorder::new(self.repos.recordings.clone(), samples, camera, Stream::Main);
            for n in 0..seconds * 25 {
                let frame =
                    Frame { timestamp_90k: n * 3600, is_key: n % 25 == 0, data: bytes::Bytes::from(vec![0, 0, 0, 4, 0x65, 1, 2, 3]), params: params.clone() };
                rec.push(frame, start_90k).unwrap();
            }
            rec.finish().unwrap();
        })
    }

    pub fn audit_actions(&self) -> Vec<(String, String, String)> {
        self.audit_entries().into_iter().map(|e| (e.actor, e.action, e.result)).collect()
    }
}

/// Runs `f` (repository calls, or services that make them) on a thread of
/// its own and waits for it: repository calls block, and PostgreSQL's
/// client panics when asked to block on an async thread, where a test's
/// body runs. The server's routes do the same with `spawn_blocking`.
pub fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(f).join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
}

/// The audit entry a test's own setup write commits with (every write a
/// person could make is audited, on both backends).
pub fn setup_entry<T>(action: &str) -> citywatch_audit::MakeRowAfter<'static, T> {
    let action = action.to_owned();
    PendingEntry::after(move |_: &T| citywatch_audit::Record::new("test-setup", action, "setup"))
}

/// [`setup_entry`] for a write whose entry needs nothing from its outcome.
pub fn setup_row(action: &str) -> citywatch_audit::MakeRow<'static> {
    Box::new(PendingEntry::new(citywatch_audit::Record::new("test-setup", action, "setup")).into_maker())
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
