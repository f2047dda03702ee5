//! Events, rules and alerts.
//!
//! Owns the event stream: durable ingest (events arriving within a
//! millisecond or so are committed to the store in one transaction — group
//! commit — before anyone hears of them), the bus ([`EventBus`]; in one
//! process [`InProcessBus`]) that carries
//! committed events and alert changes to subscribers, the rules that match
//! events (type, cameras, districts, area, schedule, hotlist priority), the
//! correlation of matched events into open alerts, the alert lifecycle
//! (new → acknowledged → resolved | false alarm, with who and when), and the
//! publishers that copy events out to MQTT and webhooks through bounded
//! queues that drop and count rather than block; and the reading of events
//! raised from outside (an API body), every bad field named.
//!
//! Must not know HTTP routes, users' permissions or video: callers (the API,
//! the recorder's status sink, dispatch) hand it plain values. Permission
//! checks and audit entries are the caller's job.

mod bus;
pub mod cap;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(test)]
mod conformance_sqlite;
mod error;
mod ingest;
pub mod mqtt;
mod raised;
mod repo;
pub mod rules;
mod service;
mod sqlite_repo;
pub mod webhook;

pub use bus::{BusReceiver, BusRecvError, EventBus, EventSink, InProcessBus};
pub use error::EventsError;
pub use raised::parse_raised;
pub use repo::EventRepo;
pub use service::{AlertUpdate, AlertUpdateKind, Events, EventsConfig, Metrics};
