//! The bus: how committed events and alert changes reach whoever listens
//! (consoles' alert streams, MQTT, webhooks, tests), and how events reach
//! the ingest from whoever raises them.
//!
//! Two seams, each with today's in-process implementation:
//!
//! - [`EventBus`] carries what is already committed. Only the ingest writer
//!   (after its transaction) and the alert lifecycle (after its update)
//!   publish, so *nobody hears of an event before it is committed* holds
//!   whatever carries the messages. [`InProcessBus`] is two
//!   `tokio::sync::broadcast` rings; a cluster implements the trait over
//!   NATS subjects (see `docs/design/seams.md`).
//! - [`EventSink`] is the other direction: what a producer that only raises
//!   events (analytics) needs, so that it can run on a recorder node that
//!   sends them to the central ingest instead of holding [`crate::Events`].

use std::sync::Arc;

use citywatch_model::{Event, NewEvent};
use tokio::sync::broadcast;

use crate::service::AlertUpdate;
use crate::EventsError;

/// Committed events held for slow subscribers before they skip ahead.
pub const EVENT_RING: usize = 16_384;
/// Alert changes held for slow subscribers before they skip ahead.
pub const ALERT_RING: usize = 4_096;

/// Carries committed events and alert changes to subscribers.
///
/// Publishing never waits for subscribers: a subscriber that falls more
/// than its ring behind is told how many it missed
/// ([`BusRecvError::Lagged`]) and goes on from the oldest message kept.
///
/// *Contract:* call `publish_*` only with what the store has committed.
pub trait EventBus: Send + Sync {
    /// A committed event, in commit order.
    fn publish_event(&self, event: Arc<Event>);
    /// A committed alert change (opened, joined, handled).
    fn publish_alert(&self, update: AlertUpdate);
    /// Events published from now on.
    fn subscribe_events(&self) -> BusReceiver<Arc<Event>>;
    /// Alert changes published from now on.
    fn subscribe_alerts(&self) -> BusReceiver<AlertUpdate>;
}

/// Why [`BusReceiver::recv`] gave no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BusRecvError {
    /// This subscriber fell behind; that many messages were dropped for it.
    #[error("fell behind the bus: {0} messages missed")]
    Lagged(u64),
    /// The bus is gone (the events service stopped).
    #[error("the bus is closed")]
    Closed,
}

/// One subscriber's end of the bus.
///
/// A concrete type rather than a trait object, because `recv` is async
/// (not callable through `dyn`) and every consumer wants the same
/// skip-ahead semantics: an implementation that receives from elsewhere (a
/// NATS subscription) feeds a local broadcast ring of its own and hands
/// out receivers of it through [`BusReceiver::from_ring`].
#[derive(Debug)]
pub struct BusReceiver<T> {
    rx: broadcast::Receiver<T>,
}

impl<T: Clone> BusReceiver<T> {
    /// A receiver of a broadcast ring the bus implementation publishes into.
    pub fn from_ring(rx: broadcast::Receiver<T>) -> BusReceiver<T> {
        BusReceiver { rx }
    }

    /// The next message, or why there is none.
    pub async fn recv(&mut self) -> Result<T, BusRecvError> {
        self.rx.recv().await.map_err(|e| match e {
            broadcast::error::RecvError::Lagged(n) => BusRecvError::Lagged(n),
            broadcast::error::RecvError::Closed => BusRecvError::Closed,
        })
    }
}

/// The bus within one process: a broadcast ring each for events and alert
/// changes.
#[derive(Debug)]
pub struct InProcessBus {
    events: broadcast::Sender<Arc<Event>>,
    alerts: broadcast::Sender<AlertUpdate>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        InProcessBus::new(EVENT_RING, ALERT_RING)
    }
}

impl InProcessBus {
    /// Rings of `events` and `alerts` messages for slow subscribers.
    pub fn new(events: usize, alerts: usize) -> InProcessBus {
        InProcessBus { events: broadcast::channel(events.max(1)).0, alerts: broadcast::channel(alerts.max(1)).0 }
    }
}

impl EventBus for InProcessBus {
    fn publish_event(&self, event: Arc<Event>) {
        // Err only means nobody listens.
        let _ = self.events.send(event);
    }

    fn publish_alert(&self, update: AlertUpdate) {
        let _ = self.alerts.send(update);
    }

    fn subscribe_events(&self) -> BusReceiver<Arc<Event>> {
        BusReceiver::from_ring(self.events.subscribe())
    }

    fn subscribe_alerts(&self) -> BusReceiver<AlertUpdate> {
        BusReceiver::from_ring(self.alerts.subscribe())
    }
}

/// Where a producer raises events: the events service itself in one
/// process, a client of the central ingest on a recorder node.
pub trait EventSink: Send + Sync {
    /// Queues the event for the ingest without waiting for its commit;
    /// refused (`Busy`, `Closed`, `Invalid`) rather than queued without bound.
    fn raise_detached(&self, event: NewEvent) -> Result<(), EventsError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_subscriber_hears_what_is_published_after_it_subscribed_and_what_it_missed() {
        let (tx, _) = broadcast::channel(4);
        let _ = tx.send(0);
        let mut rx = BusReceiver::from_ring(tx.subscribe());
        for n in 1..=6 {
            let _ = tx.send(n);
        }
        assert_eq!(rx.recv().await, Err(BusRecvError::Lagged(2)), "a ring of 4 kept 3..=6");
        assert_eq!(rx.recv().await, Ok(3));
    }

    #[tokio::test]
    async fn a_dropped_bus_closes_its_subscriptions() {
        let bus = InProcessBus::default();
        let (mut events, mut alerts) = (bus.subscribe_events(), bus.subscribe_alerts());
        drop(bus);
        assert_eq!(events.recv().await.unwrap_err(), BusRecvError::Closed);
        assert_eq!(alerts.recv().await.unwrap_err(), BusRecvError::Closed);
    }
}
