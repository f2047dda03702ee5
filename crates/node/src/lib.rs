//! What a recorder node runs, as a library: the loops that keep one
//! recorder per camera stream ([`recorders`]) and one analytics feed per
//! analysed camera ([`analytics_feeds`]) in step with the camera registry.
//!
//! Today the `citywatch` binary runs them in its one process, over the
//! local live hub and the events service itself; a recorder node of a
//! cluster runs the same loops with its own hub, an `EventSink` that sends
//! to the central ingest and its share of the cameras (see
//! `docs/design/seams.md`). No HTTP here, no users.

pub mod analytics_feeds;
pub mod recorders;

pub use recorders::{keep_recorders, IngestSettings};
