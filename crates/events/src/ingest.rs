//! The writer: one thread that takes events off the ingest queue, commits
//! them in batches (group commit: one transaction, one WAL sync, for all
//! events that arrived while the previous batch was being written, plus a
//! short linger), runs the rules on the batch, and only then publishes the
//! events and alert changes and answers the callers. Nobody hears of an
//! event the store does not have.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use citywatch_model::event::AlertChange;
use citywatch_model::{Alert, Event, RepoError};
use tokio::sync::{mpsc, oneshot};

use crate::rules;
use crate::service::{AlertUpdate, AlertUpdateKind, Shared};
use crate::EventsError;

/// Largest batch per transaction: bounds a commit's latency.
const MAX_BATCH: usize = 8_192;
/// How long a batch waits for company once the queue runs dry. Short: a
/// lone event is delayed by at most this.
const LINGER: Duration = Duration::from_millis(1);

pub(crate) struct Pending {
    pub event: Event,
    pub ack: Option<oneshot::Sender<Result<Event, EventsError>>>,
}

pub(crate) fn spawn(shared: Arc<Shared>, rx: mpsc::Receiver<Pending>) {
    std::thread::Builder::new().name("event-ingest".into()).spawn(move || run(shared, rx)).expect("spawning the event ingest thread");
}

fn run(shared: Arc<Shared>, mut rx: mpsc::Receiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        let deadline = Instant::now() + LINGER;
        loop {
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            if batch.len() >= MAX_BATCH || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        commit(&shared, std::mem::take(&mut batch));
        batch.reserve(MAX_BATCH);
    }
}

fn commit(shared: &Shared, batch: Vec<Pending>) {
    let (mut events, acks): (Vec<Event>, Vec<_>) = batch.into_iter().map(|p| (p.event, p.ack)).unzip();
    if let Err(e) = shared.repo.insert_events(&mut events) {
        tracing::error!("storing {} events: {e}", events.len());
        for ack in acks.into_iter().flatten() {
            // Each caller hears the same cause: a database that is down
            // says so (retry), anything else is a failure to store.
            let cause = match &e {
                RepoError::Unavailable(_) => e.clone(),
                other => RepoError::Backend(format!("event not stored: {other}")),
            };
            let _ = ack.send(Err(EventsError::Repo(cause)));
        }
        return;
    }
    let m = &shared.metrics;
    m.events_stored.fetch_add(events.len() as u64, Ordering::Relaxed);
    m.batches.fetch_add(1, Ordering::Relaxed);
    // The events are durable now; a failure in the rules is logged and
    // counted but does not take them back.
    let updates = match apply_rules(shared, &events) {
        Ok(u) => u,
        Err(e) => {
            m.rule_failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!("running rules on {} events: {e}", events.len());
            Vec::new()
        }
    };
    for u in updates {
        if u.kind == AlertUpdateKind::New {
            m.alerts_opened.fetch_add(1, Ordering::Relaxed);
        }
        shared.bus.publish_alert(u);
    }
    for (e, ack) in events.into_iter().zip(acks) {
        let e = Arc::new(e);
        shared.bus.publish_event(e.clone());
        if let Some(ack) = ack {
            let _ = ack.send(Ok(Arc::unwrap_or_clone(e)));
        }
    }
}

/// Matches the batch against the rules and writes the resulting alert
/// changes in one transaction. Events of one batch that correlate share
/// one alert even though none of them is stored in an alert yet.
fn apply_rules(shared: &Shared, events: &[Event]) -> Result<Vec<AlertUpdate>, EventsError> {
    let rules = shared.rules();
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    // Alerts opened in this batch, and stored alerts joined in it (as they
    // will be once the batch is written).
    let mut opened: Vec<(Alert, Vec<i64>)> = Vec::new();
    let mut joined: HashMap<i64, Alert> = HashMap::new();
    let mut joins: Vec<AlertChange> = Vec::new();
    for e in events {
        for rule in rules.iter().filter(|r| rules::matches(&r.spec, e)) {
            if let Some((a, ids)) = opened.iter_mut().find(|(a, _)| a.rule_id == rule.id && rules::correlates(&rule.spec, a, e)) {
                a.last_event_at = a.last_event_at.max(e.time);
                a.event_count += 1;
                ids.push(e.id);
                continue;
            }
            let since = e.time - chrono::Duration::seconds(i64::from(rule.spec.correlation_window_s));
            let stored = shared.repo.open_alerts_of_rule(rule.id, since)?;
            let found = stored.into_iter().map(|a| joined.get(&a.id).cloned().unwrap_or(a)).find(|a| rules::correlates(&rule.spec, a, e));
            match found {
                Some(mut a) => {
                    a.last_event_at = a.last_event_at.max(e.time);
                    a.event_count += 1;
                    joins.push(AlertChange::Join { alert_id: a.id, event_id: e.id, time: e.time });
                    joined.insert(a.id, a);
                }
                None => opened.push((rules::open_alert(rule, e, now), vec![e.id])),
            }
        }
    }
    let mut changes: Vec<AlertChange> = opened.into_iter().map(|(alert, event_ids)| AlertChange::Open { alert: Box::new(alert), event_ids }).collect();
    changes.extend(joins);
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let applied = shared.repo.apply_alert_changes(&changes)?;
    Ok(applied.into_iter().map(|(alert, new)| AlertUpdate { kind: if new { AlertUpdateKind::New } else { AlertUpdateKind::Updated }, alert }).collect())
}
