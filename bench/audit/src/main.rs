//! The audit log's two backends, and what committing a change with its
//! entry costs the embedded default.
//!
//! Measures, in one run on this machine:
//! 1. *appends*: entries/s through `AuditLog::record` on SQLite (a file in
//!    WAL with `synchronous = NORMAL`, as `citywatch serve` opens it) and on
//!    PostgreSQL (a fresh database on the server at `CITYWATCH_TEST_POSTGRES`,
//!    default 127.0.0.1:5432, with the server's own commit settings), with
//!    1 and 4 writers on their own connections; prints PostgreSQL ÷ SQLite.
//! 2. *camera writes*: the store's create with its audit entry in one
//!    transaction (what the registry does today), against the camera written
//!    and then audited in two transactions (before), on SQLite; prints the
//!    ratio.
//!
//! 3. *the camera registry on both backends*: cameras/s created through
//!    `Registry::create` (each with its audit entry, one transaction), the
//!    time to load the registry of all of them (what a node does at start
//!    and on another node's change), and a radius query's latency from the
//!    loaded snapshot; prints PostgreSQL ÷ SQLite for each. The camera list
//!    and spatial queries the API serves read the snapshot, so once loaded
//!    they cost the same on either backend; the ratio shows it.
//!
//! 4. *events on both backends*: events/s stored through `EventRepo::insert_events`
//!    one at a time (a quiet minute: each event its own commit) and in
//!    batches of 500 (what the ingest writer's group commit does under
//!    load), then the latency of the console's events page (newest 100 in
//!    one district) over what was stored; prints PostgreSQL ÷ SQLite.
//!
//! PostgreSQL runs with the server's settings (`synchronous_commit = on`
//! by default: every commit reaches the disk), so its fair SQLite peer is
//! `synchronous = FULL`; both are printed.
//!
//! Usage: citywatch-bench-audit [--entries N] [--cameras N] [--events N]

use std::sync::Arc;
use std::time::Instant;

use citywatch_audit::{AuditLog, AuditRepo, PendingEntry, Record};
use citywatch_events::EventRepo;
use citywatch_model::event::EventFilter;
use citywatch_model::{CameraUpdate, Event, EventType, Location, Scope, Source};
use citywatch_registry::{CameraRepo, Registry};
use citywatch_store::{CredentialKey, Store};
use citywatch_store_postgres::test_database::TestDatabase;
use citywatch_store_postgres::PgStore;
use ed25519_dalek::SigningKey;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map_or(default, |v| v.parse().expect("a number"))
}

/// Entries/s with `writers` threads, each on its own connection from `connect`.
fn appends(connect: &dyn Fn() -> Arc<dyn AuditRepo>, writers: usize, entries: usize) -> f64 {
    let key = SigningKey::from_bytes(&[1u8; 32]);
    let logs: Vec<AuditLog> = (0..writers).map(|_| AuditLog::new(connect(), key.clone())).collect();
    let each = entries / writers;
    let start = Instant::now();
    std::thread::scope(|s| {
        for (w, log) in logs.iter().enumerate() {
            s.spawn(move || {
                for i in 0..each {
                    log.record(Record::new("bench", "camera.search", format!("w{w}-{i}")).detail(serde_json::json!({"i": i}))).expect("append");
                }
            });
        }
    });
    (each * writers) as f64 / start.elapsed().as_secs_f64()
}

fn camera(i: usize) -> CameraUpdate {
    let obj = serde_json::json!({"id": format!("cam-{i}"), "lat": 44.8 + i as f64 * 1e-4, "lon": 20.4, "district": "A"});
    CameraUpdate::from_json(obj.as_object().expect("an object"), None).expect("a valid camera")
}

fn main() {
    let entries = arg("--entries", 4000);
    let cameras = arg("--cameras", 2000);
    let events = arg("--events", 20_000);
    println!("audit appends ({entries} entries per run)");
    for writers in [1, 4] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("citywatch.db");
        let sqlite = appends(&|| Arc::new(Store::open(&path).expect("open SQLite")), writers, entries);
        let full_path = dir.path().join("full.db");
        let full = || {
            let store = Store::open(&full_path).expect("open SQLite");
            store.set_synchronous_full().expect("synchronous = FULL");
            Arc::new(store) as Arc<dyn AuditRepo>
        };
        let sqlite_full = appends(&full, writers, entries);
        let db = TestDatabase::create();
        let postgres = appends(&|| Arc::new(PgStore::connect(db.url()).expect("connect to PostgreSQL")), writers, entries);
        println!(
            "  {writers} writer(s): SQLite NORMAL {sqlite:>7.0}/s   SQLite FULL {sqlite_full:>7.0}/s   PostgreSQL {postgres:>7.0}/s   \
             PostgreSQL ÷ SQLite NORMAL {:.2}   PostgreSQL ÷ SQLite FULL {:.2}",
            postgres / sqlite,
            postgres / sqlite_full
        );
    }

    println!("camera creates on SQLite ({cameras} per run)");
    let key = SigningKey::from_bytes(&[2u8; 32]);
    let (mut together, mut apart) = (Vec::new(), Vec::new());
    for round in 0..3 {
        // Alternate which goes first, so neither always meets a warm cache.
        for one_transaction in if round % 2 == 0 { [true, false] } else { [false, true] } {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let store = Arc::new(Store::open(&dir.path().join("citywatch.db")).expect("open SQLite"));
            let log = AuditLog::new(store.clone(), key.clone());
            let start = Instant::now();
            for i in 0..cameras {
                let update = camera(i);
                let record = Record::new("bench", "camera.create", &update.camera.id);
                if one_transaction {
                    let row = store.create_camera_audited(&update, PendingEntry::new(record).into_maker()).expect("create");
                    log.appended(&row);
                } else {
                    store.create_camera(&update).expect("create");
                    log.record(record).expect("audit");
                }
            }
            let rate = cameras as f64 / start.elapsed().as_secs_f64();
            if one_transaction {
                together.push(rate)
            } else {
                apart.push(rate)
            }
        }
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    println!(
        "  change + entry in one transaction {:>7.0}/s   in two (before) {:>7.0}/s   one ÷ two {:.2} (best of 3 each)",
        best(&together),
        best(&apart),
        best(&together) / best(&apart)
    );

    println!("camera registry ({cameras} cameras)");
    let sqlite_dir = tempfile::tempdir().expect("a temporary directory");
    let sqlite_path = sqlite_dir.path().join("citywatch.db");
    let sqlite_full = || {
        let store = Store::open(&sqlite_path).expect("open SQLite");
        store.set_synchronous_full().expect("synchronous = FULL");
        let store = Arc::new(store);
        store.use_credential_key(CredentialKey::ephemeral()).expect("key");
        (store.clone() as Arc<dyn CameraRepo>, store as Arc<dyn AuditRepo>)
    };
    let db = TestDatabase::create();
    let postgres = || {
        let store = Arc::new(PgStore::connect(db.url()).expect("connect to PostgreSQL"));
        store.use_credential_key(CredentialKey::ephemeral()).expect("key");
        (store.clone() as Arc<dyn CameraRepo>, store as Arc<dyn AuditRepo>)
    };
    let s = registry_run(&sqlite_full, cameras, &key);
    let p = registry_run(&postgres, cameras, &key);
    println!("  creates (with entry)  SQLite FULL {:>8.0}/s    PostgreSQL {:>8.0}/s    PostgreSQL ÷ SQLite {:.2}", s.creates, p.creates, p.creates / s.creates);
    println!("  load all              SQLite      {:>8.1} ms   PostgreSQL {:>8.1} ms   PostgreSQL ÷ SQLite {:.2}", s.load_ms, p.load_ms, p.load_ms / s.load_ms);
    println!(
        "  radius query (500 m)  SQLite      {:>8.1} µs   PostgreSQL {:>8.1} µs   PostgreSQL ÷ SQLite {:.2}",
        s.query_us,
        p.query_us,
        p.query_us / s.query_us
    );

    println!("events ({events} per run in batches of 500, {} one at a time)", events / 20);
    let sqlite_dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&sqlite_dir.path().join("citywatch.db")).expect("open SQLite");
    store.set_synchronous_full().expect("synchronous = FULL");
    let s = events_run(&store, events);
    let db = TestDatabase::create();
    let p = events_run(&PgStore::connect(db.url()).expect("connect to PostgreSQL"), events);
    println!("  one at a time         SQLite FULL {:>8.0}/s    PostgreSQL {:>8.0}/s    PostgreSQL ÷ SQLite {:.2}", s.single, p.single, p.single / s.single);
    println!("  batches of 500        SQLite FULL {:>8.0}/s    PostgreSQL {:>8.0}/s    PostgreSQL ÷ SQLite {:.2}", s.batched, p.batched, p.batched / s.batched);
    println!("  newest 100 of a district SQLite   {:>8.2} ms   PostgreSQL {:>8.2} ms   PostgreSQL ÷ SQLite {:.2}", s.page_ms, p.page_ms, p.page_ms / s.page_ms);
}

struct EventsRun {
    single: f64,
    batched: f64,
    page_ms: f64,
}

fn event(i: usize) -> Event {
    let time = chrono::Utc::now();
    Event {
        id: 0,
        event_type: if i.is_multiple_of(3) { EventType::Motion } else { EventType::PlateRead },
        time,
        source: Source::camera(format!("cam-{:04}", i % 300)),
        district: Some(["North", "South", "East", "West"][i % 4].to_owned()),
        location: Some(Location { lat: 44.8 + (i % 100) as f64 * 1e-4, lon: 20.46 }),
        details: serde_json::json!({"plate": format!("BG{:05}", i), "confidence": 0.91, "track_id": i}),
        received_at: time,
    }
}

fn events_run(repo: &dyn EventRepo, events: usize) -> EventsRun {
    let singles = events / 20;
    let start = Instant::now();
    for i in 0..singles {
        repo.insert_events(&mut [event(i)]).expect("insert one event");
    }
    let single = singles as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for chunk in (0..events).collect::<Vec<_>>().chunks(500) {
        let mut batch: Vec<Event> = chunk.iter().map(|i| event(*i)).collect();
        repo.insert_events(&mut batch).expect("insert a batch");
    }
    let batched = events as f64 / start.elapsed().as_secs_f64();
    const PAGES: usize = 200;
    let filter = EventFilter { districts: Some(vec!["South".into()]), limit: 100, ..Default::default() };
    let start = Instant::now();
    for _ in 0..PAGES {
        assert_eq!(repo.events(&filter).expect("a page").len(), 100);
    }
    let page_ms = start.elapsed().as_secs_f64() * 1e3 / PAGES as f64;
    EventsRun { single, batched, page_ms }
}

struct RegistryRun {
    creates: f64,
    load_ms: f64,
    query_us: f64,
}

fn registry_run(connect: &dyn Fn() -> (Arc<dyn CameraRepo>, Arc<dyn AuditRepo>), cameras: usize, key: &SigningKey) -> RegistryRun {
    let (repo, audit) = connect();
    let registry = Registry::load(repo).expect("load");
    let log = AuditLog::new(audit, key.clone());
    let start = Instant::now();
    for i in 0..cameras {
        let update = camera(i);
        let record = Record::new("bench", "camera.create", &update.camera.id);
        registry.create(&update, &Scope::All, &log, record).expect("create");
    }
    let creates = cameras as f64 / start.elapsed().as_secs_f64();
    let (repo, _) = connect();
    let start = Instant::now();
    let loaded = Registry::load(repo).expect("load");
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    assert_eq!(loaded.snapshot().cameras.len(), cameras);
    const QUERIES: usize = 2000;
    let start = Instant::now();
    let mut found = 0;
    for i in 0..QUERIES {
        found += loaded.snapshot().index.within_radius(44.8 + (i % 100) as f64 * 1e-3, 20.4, 500.0).len();
    }
    assert!(found > 0);
    let query_us = start.elapsed().as_secs_f64() * 1e6 / QUERIES as f64;
    RegistryRun { creates, load_ms, query_us }
}
