//! The events service: what the rest of the system calls to raise events,
//! manage rules, read and handle alerts, and subscribe to the bus.
//!
//! Methods that read or write the store block; async callers run them on a
//! blocking thread. `raise` is async: it waits until the event is committed
//! and the rules have run on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use chrono::Utc;
use citywatch_audit::{AuditLog, PendingEntry, Record};
use citywatch_model::event::EventFilter;
use citywatch_model::{Alert, AlertAction, AlertState, AuditRow, Event, FieldError, NewEvent, RepoError, Rule, RuleSpec, SourceKind, Timestamp};
use citywatch_registry::Registry;
use serde::Serialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::bus::{BusReceiver, EventBus, EventSink, InProcessBus};
use crate::ingest::{self, Pending};
use crate::repo::EventRepo;
use crate::{mqtt, webhook, EventsError};

/// Events waiting for the writer. At 50,000 events/s this is a fraction of
/// a second; beyond it `raise` answers `Busy` rather than queue without bound.
const INGEST_QUEUE: usize = 65_536;
/// An event stamped further ahead than this is refused (a bad clock).
const MAX_FUTURE: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, Clone, Default)]
pub struct EventsConfig {
    pub mqtt: Option<mqtt::MqttConfig>,
    pub webhooks: Vec<webhook::WebhookConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertUpdateKind {
    /// A rule raised a new alert.
    New,
    /// More events joined an open alert.
    Updated,
    /// Someone acknowledged, resolved or dismissed it.
    State,
}

/// What consoles hear about alerts.
#[derive(Debug, Clone, Serialize)]
pub struct AlertUpdate {
    pub kind: AlertUpdateKind,
    pub alert: Alert,
}

/// Counters, for `/metrics` and the benchmarks.
#[derive(Debug, Default)]
pub struct Metrics {
    pub events_stored: AtomicU64,
    pub batches: AtomicU64,
    pub ingest_refused: AtomicU64,
    pub alerts_opened: AtomicU64,
    pub rule_failures: AtomicU64,
    pub mqtt_published: AtomicU64,
    pub mqtt_dropped: AtomicU64,
    pub webhook_delivered: AtomicU64,
    pub webhook_dropped: AtomicU64,
    pub webhook_failed: AtomicU64,
}

impl Metrics {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// The counters in Prometheus' text format, for `/metrics`.
    pub fn prometheus_text(&self) -> String {
        let mut out = String::new();
        for (name, help, c) in [
            ("citywatch_events_stored_total", "Events committed to the store.", &self.events_stored),
            ("citywatch_event_batches_total", "Group-commit transactions of events.", &self.batches),
            ("citywatch_events_refused_total", "Events refused because the ingest queue was full or stopped.", &self.ingest_refused),
            ("citywatch_alerts_opened_total", "Alerts raised by rules.", &self.alerts_opened),
            ("citywatch_rule_failures_total", "Batches whose rules could not be applied (events stored anyway).", &self.rule_failures),
            ("citywatch_mqtt_published_total", "Messages handed to the MQTT client.", &self.mqtt_published),
            ("citywatch_mqtt_dropped_total", "MQTT messages dropped because the broker's queue was full.", &self.mqtt_dropped),
            ("citywatch_webhook_delivered_total", "Webhook POSTs accepted by their receiver.", &self.webhook_delivered),
            ("citywatch_webhook_dropped_total", "Webhook messages dropped because their queue was full.", &self.webhook_dropped),
            ("citywatch_webhook_failed_total", "Webhook messages given up after every retry.", &self.webhook_failed),
        ] {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n", Metrics::get(c)));
        }
        out
    }
}

pub(crate) struct Shared {
    pub repo: Arc<dyn EventRepo>,
    pub rules: RwLock<Arc<Vec<Rule>>>,
    /// Where committed events and alert changes are published (only after
    /// their commit).
    pub bus: Arc<dyn EventBus>,
    pub metrics: Arc<Metrics>,
}

impl Shared {
    pub fn rules(&self) -> Arc<Vec<Rule>> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

pub struct Events {
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    ingest: mpsc::Sender<Pending>,
}

impl Events {
    /// Loads the rules, starts the writer thread and, when configured, the
    /// MQTT and webhook publishers (so it must run inside a Tokio runtime),
    /// over the in-process bus.
    pub fn start(repo: Arc<dyn EventRepo>, registry: Arc<Registry>, config: EventsConfig) -> Result<Arc<Events>, EventsError> {
        Events::start_with_bus(repo, registry, config, Arc::new(InProcessBus::default()))
    }

    /// [`start`](Self::start), publishing on `bus`.
    pub fn start_with_bus(repo: Arc<dyn EventRepo>, registry: Arc<Registry>, config: EventsConfig, bus: Arc<dyn EventBus>) -> Result<Arc<Events>, EventsError> {
        let rules = repo.rules()?;
        let metrics = Arc::new(Metrics::default());
        let shared = Arc::new(Shared { repo, rules: RwLock::new(Arc::new(rules)), bus, metrics });
        let (tx, rx) = mpsc::channel(INGEST_QUEUE);
        ingest::spawn(shared.clone(), rx);
        if let Some(m) = config.mqtt {
            mqtt::spawn(m, shared.bus.subscribe_events(), shared.bus.subscribe_alerts(), shared.metrics.clone())?;
        }
        for w in config.webhooks {
            webhook::spawn(w, shared.bus.subscribe_events(), shared.bus.subscribe_alerts(), shared.metrics.clone());
        }
        Ok(Arc::new(Events { shared, registry, ingest: tx }))
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Committed events, in commit order. A subscriber that falls more than
    /// the bus capacity behind is told how many it missed and skips ahead.
    pub fn subscribe(&self) -> BusReceiver<Arc<Event>> {
        self.shared.bus.subscribe_events()
    }

    /// Alert changes (opened, joined, handled), after their commit.
    pub fn subscribe_alerts(&self) -> BusReceiver<AlertUpdate> {
        self.shared.bus.subscribe_alerts()
    }

    /// Validates the event, fills in what the registry knows about its
    /// camera (district; position when the event has none) and stamps its
    /// arrival.
    fn prepare(&self, e: NewEvent) -> Result<Event, EventsError> {
        use chrono::SubsecRound;
        // The store keeps microseconds; answer with what a later read returns.
        let now = Utc::now().trunc_subsecs(6);
        let mut errors = e.check();
        if e.time > now + MAX_FUTURE {
            errors.push(FieldError::new("time", "is more than 5 minutes in the future; check the sender's clock"));
        }
        if !errors.is_empty() {
            return Err(EventsError::Invalid(errors));
        }
        let (mut district, mut location) = (None, e.location);
        if e.source.kind == SourceKind::Camera {
            if let Some(c) = self.registry.snapshot().cameras.get(&e.source.id) {
                district = c.district.clone();
                location = location.or(Some(citywatch_model::Location { lat: c.lat, lon: c.lon }));
            }
        }
        Ok(Event { id: 0, event_type: e.event_type, time: e.time.trunc_subsecs(6), source: e.source, district, location, details: e.details, received_at: now })
    }

    /// Stores the event (durably, grouped with others arriving at the same
    /// time), runs the rules on it, publishes it, and returns it with its id.
    pub async fn raise(&self, e: NewEvent) -> Result<Event, EventsError> {
        let event = self.prepare(e)?;
        let (ack, done) = oneshot::channel();
        self.ingest.try_send(Pending { event, ack: Some(ack) }).map_err(|e| self.refused(e))?;
        done.await.map_err(|_| EventsError::Closed)?
    }

    /// Queues the event without waiting (for callers that cannot await,
    /// such as the recorder's status callback).
    pub fn raise_detached(&self, e: NewEvent) -> Result<(), EventsError> {
        let event = self.prepare(e)?;
        self.ingest.try_send(Pending { event, ack: None }).map_err(|e| self.refused(e))
    }

    fn refused<T>(&self, e: mpsc::error::TrySendError<T>) -> EventsError {
        self.shared.metrics.ingest_refused.fetch_add(1, Ordering::Relaxed);
        match e {
            mpsc::error::TrySendError::Full(_) => EventsError::Busy,
            mpsc::error::TrySendError::Closed(_) => EventsError::Closed,
        }
    }

    pub fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, EventsError> {
        Ok(self.shared.repo.events(filter)?)
    }

    /// One stored event; None if there is none with that id.
    pub fn event(&self, id: i64) -> Result<Option<Event>, EventsError> {
        Ok(self.shared.repo.event(id)?)
    }

    /// Events whose time is at or after `since`, in these districts
    /// (`None`: all): the health wall's rates.
    pub fn count_events_since(&self, districts: Option<&[String]>, since: Timestamp) -> Result<u64, EventsError> {
        Ok(self.shared.repo.count_events_since(districts, since)?)
    }

    /// Alerts opened at or after `since`, in these districts (`None`: all).
    pub fn count_alerts_since(&self, districts: Option<&[String]>, since: Timestamp) -> Result<u64, EventsError> {
        Ok(self.shared.repo.count_alerts_since(districts, since)?)
    }

    pub fn rules(&self) -> Arc<Vec<Rule>> {
        self.shared.rules()
    }

    pub fn rule(&self, id: i64) -> Option<Rule> {
        self.shared.rules().iter().find(|r| r.id == id).cloned()
    }

    /// Adds a rule made by `by`; its entry (`rule.create`, with the rule as
    /// set) commits with it.
    pub fn add_rule(&self, spec: RuleSpec, by: &str, audit: &AuditLog) -> Result<Rule, EventsError> {
        check_rule(&spec)?;
        let record = |rule: &Rule| Record::new(by, "rule.create", format!("rule:{}", rule.id)).detail(json!(rule.spec));
        let (rule, row) = self.shared.repo.add_rule(&spec, by, Utc::now(), PendingEntry::after(record))?;
        self.after_rule_change(audit, &row)?;
        Ok(rule)
    }

    /// Replaces a rule's definition as `by`, with its entry (`rule.replace`).
    pub fn replace_rule(&self, id: i64, spec: RuleSpec, by: &str, audit: &AuditLog) -> Result<Rule, EventsError> {
        check_rule(&spec)?;
        let record = |rule: &Rule| Record::new(by, "rule.replace", format!("rule:{id}")).detail(json!(rule.spec));
        let (rule, row) = self.shared.repo.replace_rule(id, &spec, Utc::now(), PendingEntry::after(record)).map_err(|e| not_found_as(e, "rule", id))?;
        self.after_rule_change(audit, &row)?;
        Ok(rule)
    }

    /// Deletes a rule as `by`, with its entry (`rule.delete`, with the rule
    /// as it was); returns the rule. Its alerts stay.
    pub fn delete_rule(&self, id: i64, by: &str, audit: &AuditLog) -> Result<Rule, EventsError> {
        let record = |rule: &Rule| Record::new(by, "rule.delete", format!("rule:{id}")).detail(json!(rule.spec));
        let (rule, row) = self.shared.repo.delete_rule(id, PendingEntry::after(record)).map_err(|e| not_found_as(e, "rule", id))?;
        self.after_rule_change(audit, &row)?;
        Ok(rule)
    }

    fn after_rule_change(&self, audit: &AuditLog, row: &AuditRow) -> Result<(), EventsError> {
        audit.appended(row);
        self.reload_rules()
    }

    fn reload_rules(&self) -> Result<(), EventsError> {
        let rules = self.shared.repo.rules()?;
        *self.shared.rules.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rules);
        Ok(())
    }

    pub fn alert(&self, id: i64) -> Result<Option<Alert>, EventsError> {
        Ok(self.shared.repo.alert(id)?)
    }

    pub fn alerts(&self, state: Option<AlertState>, districts: Option<&[String]>, before_id: Option<i64>, limit: usize) -> Result<Vec<Alert>, EventsError> {
        Ok(self.shared.repo.alerts(state, districts, before_id, limit)?)
    }

    pub fn alert_event_ids(&self, id: i64) -> Result<Vec<i64>, EventsError> {
        Ok(self.shared.repo.alert_event_ids(id)?)
    }

    /// Acknowledges, resolves or dismisses an alert as `by`; its entry
    /// (`alert.<action>`, from which state to which) commits with it. A
    /// step the lifecycle does not allow (or that someone else took first)
    /// is a `Conflict` saying why, and changes nothing.
    pub fn handle_alert(&self, id: i64, action: AlertAction, by: &str, audit: &AuditLog) -> Result<Alert, EventsError> {
        let repo = &self.shared.repo;
        let current = repo.alert(id)?.ok_or_else(|| EventsError::NotFound(format!("alert {id}")))?;
        let to = action.apply(current.state).map_err(|why| EventsError::Conflict(format!("cannot {} alert {id}: {why}", action.as_str())))?;
        let record = |a: &Alert| {
            Record::new(by, format!("alert.{}", action.as_str()), format!("alert:{id}"))
                .detail(json!({"from": current.state, "to": a.state, "rule": a.rule_name}))
        };
        let (alert, row) = repo.transition_alert(id, current.state, to, by, Utc::now(), PendingEntry::after(record)).map_err(|e| match e {
            RepoError::Stale(_) => {
                EventsError::Conflict(format!("cannot {} alert {id}: someone else changed it at the same moment; reload it", action.as_str()))
            }
            e => not_found_as(e, "alert", id),
        })?;
        audit.appended(&row);
        self.shared.bus.publish_alert(AlertUpdate { kind: AlertUpdateKind::State, alert: alert.clone() });
        Ok(alert)
    }
}

/// A repository's `NotFound` as the events' own, naming the thing.
fn not_found_as(e: RepoError, what: &str, id: i64) -> EventsError {
    match e {
        RepoError::NotFound(_) => EventsError::NotFound(format!("{what} {id}")),
        e => e.into(),
    }
}

impl EventSink for Events {
    fn raise_detached(&self, event: NewEvent) -> Result<(), EventsError> {
        Events::raise_detached(self, event)
    }
}

fn check_rule(spec: &RuleSpec) -> Result<(), EventsError> {
    let errors = spec.check();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(EventsError::Invalid(errors))
    }
}
