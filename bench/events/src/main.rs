//! Event ingest and alert fan-out, through the real service on a real
//! SQLite file (WAL, as `citywatch serve` opens it).
//!
//! Measures
//! 1. *durable ingest*: events/s through `Events::raise` with many callers
//!    at once — each call returns only after its event's transaction has
//!    committed (group commit) and the rules have run on it — against the
//!    naive way, one transaction per event (`Store::insert_events` with one
//!    event), in the same run on the same disk; prints the ratio.
//! 2. *alert fan-out*: from `raise` of an event that opens an alert to its
//!    arrival on each of N WebSocket consoles (`/api/v1/alerts/stream`, real
//!    server on loopback); p50/p99/max over all consoles and alerts.
//!
//! Both ingest runs are made twice: with the store as `citywatch serve`
//! opens it (WAL, `synchronous = NORMAL`: a commit survives a crash of the
//! process; the WAL is synced at checkpoints) and with `synchronous = FULL`
//! (every commit synced: survives power loss).
//!
//! Usage: citywatch-bench-events [--events N] [--naive N] [--callers N]
//!        [--consoles N] [--alerts N]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use citywatch_api::{AppParts, AppState, ConsoleSettings};
use citywatch_audit::{new_session_token, token_hash, AuditLog};
use citywatch_events::{Events, EventsConfig};
use citywatch_model::{Event, EventType, NewEvent, Role, RuleSpec, Source, SourceKind};
use citywatch_registry::Registry;
use citywatch_store::Store;
use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Args {
    events: usize,
    naive: usize,
    callers: usize,
    consoles: usize,
    alerts: usize,
}

fn args() -> Args {
    let mut a = Args { events: 200_000, naive: 5_000, callers: 512, consoles: 100, alerts: 200 };
    let v: Vec<String> = std::env::args().skip(1).collect();
    for pair in v.chunks(2) {
        let n: usize = pair.get(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{} needs a number", pair[0]));
        match pair[0].as_str() {
            "--events" => a.events = n,
            "--naive" => a.naive = n,
            "--callers" => a.callers = n,
            "--consoles" => a.consoles = n,
            "--alerts" => a.alerts = n,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn event(i: usize) -> NewEvent {
    NewEvent {
        event_type: EventType::Object,
        time: Utc::now(),
        source: Source::camera(format!("cam{}", i % 1000)),
        location: None,
        details: json!({"class": "car", "confidence": 0.87, "box": [0.1, 0.2, 0.3, 0.4]}),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn ingest(args: &Args, full_sync: bool) {
    let mode = if full_sync { "synchronous=FULL" } else { "synchronous=NORMAL" };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("citywatch.db")).unwrap());
    if full_sync {
        store.set_synchronous_full().unwrap();
    }
    let registry = Arc::new(Registry::load(store.clone()).unwrap());
    let audit = AuditLog::new(store.clone(), citywatch_audit::load_or_create_signing_key(dir.path()).unwrap());
    let events = Events::start(store.clone(), registry, EventsConfig::default()).unwrap();
    // One rule that matches nothing here, so the rules engine runs on every batch.
    let rule: RuleSpec = serde_json::from_value(json!({"name": "tamper", "event_types": ["camera_tamper"]})).unwrap();
    events.add_rule(rule, "bench", &audit).unwrap();

    let per_caller = args.events / args.callers;
    let total = per_caller * args.callers;
    let start = Instant::now();
    let tasks: Vec<_> = (0..args.callers)
        .map(|c| {
            let events = events.clone();
            tokio::spawn(async move {
                for i in 0..per_caller {
                    events.raise(event(c * per_caller + i)).await.expect("raise");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let grouped = start.elapsed();
    let batches = events.metrics().batches.load(std::sync::atomic::Ordering::Relaxed);
    let grouped_rate = total as f64 / grouped.as_secs_f64();
    println!(
        "[{mode}] durable ingest (group commit): {total} events from {} concurrent callers in {:.2} s = {:.0} events/s ({batches} transactions, {:.0} events each)",
        args.callers,
        grouped.as_secs_f64(),
        grouped_rate,
        total as f64 / batches.max(1) as f64
    );

    // The naive way: one transaction per event, same store, same disk.
    let naive_store = store.clone();
    let n = if full_sync { args.naive / 5 } else { args.naive };
    let naive = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        for i in 0..n {
            let e = event(i);
            let mut one = [Event {
                id: 0,
                event_type: e.event_type,
                time: e.time,
                source: Source { kind: SourceKind::Camera, id: e.source.id },
                district: None,
                location: None,
                details: e.details,
                received_at: Utc::now(),
            }];
            naive_store.insert_events(&mut one).unwrap();
        }
        start.elapsed()
    })
    .await
    .unwrap();
    let naive_rate = n as f64 / naive.as_secs_f64();
    println!("[{mode}] naive ingest (one transaction per event): {n} events in {:.2} s = {:.0} events/s", naive.as_secs_f64(), naive_rate);
    println!("[{mode}] ratio group commit / naive: {:.1}x", grouped_rate / naive_rate);
}

async fn fan_out(args: &Args) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("citywatch.db")).unwrap());
    let audit = Arc::new(AuditLog::new(store.clone(), citywatch_audit::load_or_create_signing_key(dir.path()).unwrap()));
    let registry = Arc::new(Registry::load(store.clone()).unwrap());
    let events = Events::start(store.clone(), registry.clone(), EventsConfig::default()).unwrap();
    // Window 0: each event (one second after the last) opens its own alert.
    let rule: RuleSpec = serde_json::from_value(json!({"name": "tamper", "event_types": ["camera_tamper"], "correlation_window_s": 0})).unwrap();
    events.add_rule(rule, "bench", &audit).unwrap();
    let state = AppState::new(AppParts {
        users: store.clone(),
        access: store.clone(),
        registry: registry.clone(),
        audit,
        console: ConsoleSettings { style_url: None, center: [20.46, 44.81], zoom: 14.0 },
        basemap: None,
        session_ttl: chrono::Duration::hours(2),
        recording_index: store.clone(),
        recordings: Arc::new(citywatch_video::recording_source::LocalRecordings::new(
            store.clone(),
            Arc::new(citywatch_video::sample_dir::SampleDir::open(&dir.path().join("video")).unwrap()),
        )),
        video_dir: dir.path().join("video"),
        health: Arc::new(citywatch_video::health::HealthRegistry::default()),
        metrics_token: None,
        live: Arc::new(citywatch_video::live::LiveHub::default()),
        events: events.clone(),
        dispatch: Arc::new(citywatch_dispatch::Dispatch::new(store.clone(), Default::default())),
        plates: Arc::new(citywatch_hotlists::PlateReads::new(store.clone(), registry, events.clone())),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = listener.local_addr().unwrap().to_string();
    tokio::spawn(citywatch_api::serve(listener, state, futures::future::pending()));
    store.create_user("op", "unused").unwrap();
    store.add_grant("op", Role::Operator, None, None).unwrap();
    let token = new_session_token();
    store.create_session(&token_hash(&token), "op", Utc::now() + chrono::Duration::hours(2)).unwrap();

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(i64, Instant)>();
    for _ in 0..args.consoles {
        let mut req = format!("ws://{base}/api/v1/alerts/stream").into_client_request().unwrap();
        req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("WebSocket handshake");
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                let at = Instant::now();
                if let Ok(text) = m.into_text() {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                    if v["kind"] == "new" {
                        let _ = tx.send((v["alert"]["id"].as_i64().unwrap(), at));
                    }
                }
            }
        });
    }
    drop(tx);
    let base_time = Utc::now() - chrono::Duration::hours(1);
    let mut latencies = Vec::with_capacity(args.consoles * args.alerts);
    for i in 0..args.alerts {
        let e = NewEvent {
            event_type: EventType::CameraTamper,
            time: base_time + chrono::Duration::seconds(i as i64),
            source: Source::camera("cam1"),
            location: None,
            details: json!({}),
        };
        let sent = Instant::now();
        events.raise(e).await.unwrap();
        let mut got = 0;
        while got < args.consoles {
            let (_, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("alert did not reach every console").unwrap();
            latencies.push(at - sent);
            got += 1;
        }
    }
    latencies.sort();
    println!(
        "alert fan-out to {} WebSocket consoles, {} alerts (raise -> received, incl. commit): p50 {} p99 {} max {}",
        args.consoles,
        args.alerts,
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap())
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = args();
    println!("citywatch-bench-events on {} CPUs", std::thread::available_parallelism().map_or(0, |n| n.get()));
    ingest(&args, false).await;
    ingest(&args, true).await;
    fan_out(&args).await;
}
