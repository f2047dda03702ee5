//! Webhooks: each configured URL gets a POST with a JSON body per event of
//! the types it asked for and, if it asked, per alert change:
//! `{"kind": "event", "event": {...}}` or `{"kind": "alert", "update": {...}}`.
//! Plate-bearing events (`plate_read`, `hotlist_hit`) are sent only with
//! `publish_plates`, even when listed.
//!
//! One worker per URL delivers in order, retrying a failed POST (network
//! error or non-2xx) with exponential backoff. Its queue is bounded: when
//! the receiver is down long enough to fill it, new messages are dropped and
//! counted (`webhook_dropped`); a message that fails every attempt is
//! counted in `webhook_failed`. The store keeps the events either way.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::bus::{BusReceiver, BusRecvError};
use citywatch_model::{Event, EventType};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use tokio::sync::mpsc;

use crate::service::{AlertUpdate, Metrics};

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `http://...` (TLS is not built in; put a proxy in front for https).
    pub url: String,
    /// Event types sent; empty: none.
    pub events: Vec<EventType>,
    /// Whether alert changes are sent.
    pub alerts: bool,
    /// Whether plate-bearing events may be sent at all (off by default).
    pub publish_plates: bool,
    pub queue: usize,
    /// Attempts per message, the first included.
    pub attempts: u32,
    /// Wait before the first retry; doubles each time, up to a minute.
    pub backoff: Duration,
}

impl WebhookConfig {
    pub fn new(url: impl Into<String>) -> WebhookConfig {
        WebhookConfig {
            url: url.into(),
            events: Vec::new(),
            alerts: true,
            publish_plates: false,
            queue: 1_000,
            attempts: 6,
            backoff: Duration::from_millis(500),
        }
    }
}

const POST_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub(crate) fn spawn(config: WebhookConfig, mut events: BusReceiver<Arc<Event>>, mut alerts: BusReceiver<AlertUpdate>, metrics: Arc<Metrics>) {
    let (tx, rx) = mpsc::channel::<Bytes>(config.queue.max(1));
    tokio::spawn(deliver(config.clone(), rx, metrics.clone()));
    tokio::spawn(async move {
        let enqueue = |body: serde_json::Value| {
            if tx.try_send(Bytes::from(body.to_string())).is_err() {
                metrics.webhook_dropped.fetch_add(1, Ordering::Relaxed);
            }
        };
        loop {
            tokio::select! {
                e = events.recv() => match e {
                    Ok(e) if config.events.contains(&e.event_type) && (config.publish_plates || !e.event_type.carries_plate()) => enqueue(json!({"kind": "event", "event": &*e})),
                    Ok(_) => {}
                    Err(BusRecvError::Lagged(n)) => { metrics.webhook_dropped.fetch_add(n, Ordering::Relaxed); }
                    Err(BusRecvError::Closed) => break,
                },
                a = alerts.recv() => match a {
                    Ok(a) if config.alerts => enqueue(json!({"kind": "alert", "update": a})),
                    Ok(_) => {}
                    Err(BusRecvError::Lagged(n)) => { metrics.webhook_dropped.fetch_add(n, Ordering::Relaxed); }
                    Err(BusRecvError::Closed) => break,
                },
            }
        }
    });
}

async fn deliver(config: WebhookConfig, mut rx: mpsc::Receiver<Bytes>, metrics: Arc<Metrics>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    while let Some(body) = rx.recv().await {
        let mut wait = config.backoff;
        let mut attempt = 1;
        loop {
            match post(&client, &config.url, body.clone()).await {
                Ok(()) => {
                    metrics.webhook_delivered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(e) if attempt >= config.attempts => {
                    tracing::warn!("webhook {}: giving up after {attempt} attempts: {e}", config.url);
                    metrics.webhook_failed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(e) => {
                    tracing::debug!("webhook {}: attempt {attempt} failed: {e}; retrying in {wait:?}", config.url);
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_BACKOFF);
                    attempt += 1;
                }
            }
        }
    }
}

async fn post(client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>, url: &str, body: Bytes) -> Result<(), String> {
    let req = hyper::Request::post(url)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, "citywatch")
        .body(Full::new(body))
        .map_err(|e| format!("bad webhook url: {e}"))?;
    let resp = tokio::time::timeout(POST_TIMEOUT, client.request(req)).await.map_err(|_| "timed out".to_owned())?.map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", resp.status()))
    }
}
