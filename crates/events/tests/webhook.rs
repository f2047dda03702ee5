//! Webhooks against a real HTTP receiver that fails its first answers:
//! delivery retries with backoff and arrives in order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use chrono::Utc;
use citywatch_events::webhook::WebhookConfig;
use citywatch_events::{Events, EventsConfig};
use citywatch_model::{EventType, NewEvent, RuleSpec, Source};
use citywatch_registry::Registry;
use citywatch_store::Store;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_retry_until_the_receiver_accepts() {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let calls = Arc::new(Mutex::new(0u32));
    let app = {
        let (received, calls) = (received.clone(), calls.clone());
        axum::Router::new().route(
            "/hook",
            post(move |body: String| async move {
                let mut n = calls.lock().unwrap();
                *n += 1;
                // The first two attempts fail, as a restarting receiver would.
                if *n <= 2 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                received.lock().unwrap().push(serde_json::from_str(&body).unwrap());
                StatusCode::NO_CONTENT
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("citywatch.db")).unwrap());
    let registry = Arc::new(Registry::load(store.clone()).unwrap());
    let hook = WebhookConfig { events: vec![EventType::Zone], alerts: true, backoff: Duration::from_millis(20), ..WebhookConfig::new(url) };
    let audit = citywatch_audit::AuditLog::new(store.clone(), citywatch_audit::load_or_create_signing_key(dir.path()).unwrap());
    let events = Events::start(store, registry, EventsConfig { mqtt: None, webhooks: vec![hook] }).unwrap();
    events.add_rule(serde_json::from_value::<RuleSpec>(json!({"name": "zone", "event_types": ["zone"]})).unwrap(), "sup", &audit).unwrap();
    let e = events
        .raise(NewEvent { event_type: EventType::Zone, time: Utc::now(), source: Source::camera("c9"), location: None, details: json!({"zone": "gate"}) })
        .await
        .unwrap();
    events.raise(NewEvent { event_type: EventType::Motion, time: Utc::now(), source: Source::camera("c9"), location: None, details: json!({}) }).await.unwrap();

    tokio::time::timeout(Duration::from_secs(20), async {
        while received.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("webhook deliveries did not arrive");
    let got = received.lock().unwrap().clone();
    let of_kind = |k: &str| got.iter().find(|m| m["kind"] == k).unwrap_or_else(|| panic!("no {k} message in {got:?}")).clone();
    let alert = of_kind("alert");
    assert_eq!((alert["update"]["kind"].as_str(), alert["update"]["alert"]["rule_name"].as_str()), (Some("new"), Some("zone")));
    assert_eq!(of_kind("event")["event"]["id"].as_i64(), Some(e.id));
    assert_eq!(*calls.lock().unwrap(), 4, "two failures, then the two messages; motion was not asked for");
    // The receiver stores a message before it answers; the sender counts it
    // once the answer is back, so the count may trail by a moment.
    let m = events.metrics();
    let delivered = || m.webhook_delivered.load(std::sync::atomic::Ordering::Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while delivered() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(delivered(), 2);
}
