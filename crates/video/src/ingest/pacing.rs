//! When a playing session reads its camera's socket.
//!
//! Reading every RTP packet as it arrives costs a wake-up, a `readv` (and
//! often a second one that finds nothing) and a pass through the scheduler
//! per burst: about 35 a second per 2 Mbps stream, which was most of the
//! recorder's CPU (bench/results/recording-50.txt). A recording nobody
//! watches gains nothing from that: its frames wait for the end of the GOP
//! anyway. Such a stream is instead read in batches: drain what the kernel
//! holds, then let the socket buffer fill for one interval (TCP keeps the
//! bytes; nothing is lost) and drain again. A stream someone watches live
//! is read as packets arrive, so live latency is unchanged; the switch
//! happens at the next batch after a viewer arrives, while the viewer
//! starts at once from the live hub's cached GOP.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Default interval between reads of a stream nobody watches live.
pub const DEFAULT_BATCH: Duration = Duration::from_millis(250);

/// How a playing session reads its socket. The default reads packets as
/// they arrive.
#[derive(Clone, Default)]
pub struct Pacing {
    batch: Option<Duration>,
    urgent: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
}

impl Pacing {
    /// Packets are read as they arrive (what a live-only client wants).
    pub fn immediate() -> Pacing {
        Pacing::default()
    }

    /// Read every `every`, except while `urgent()` says someone needs the
    /// frames as they come (a live viewer). `every` of zero means immediate.
    pub fn batched(every: Duration, urgent: impl Fn() -> bool + Send + Sync + 'static) -> Pacing {
        Pacing { batch: (!every.is_zero()).then_some(every), urgent: Some(Arc::new(urgent)) }
    }

    /// The interval to wait between drains now; `None`: read as packets
    /// arrive.
    pub(crate) fn batch_now(&self) -> Option<Duration> {
        let batch = self.batch?;
        match &self.urgent {
            Some(urgent) if urgent() => None,
            _ => Some(batch),
        }
    }
}

impl fmt::Debug for Pacing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.batch {
            None => f.write_str("immediate"),
            Some(d) => write!(f, "batched every {d:?} unless watched"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn batches_only_while_nobody_needs_frames_at_once() {
        assert_eq!(Pacing::immediate().batch_now(), None);
        let watched = Arc::new(AtomicBool::new(false));
        let w = watched.clone();
        let p = Pacing::batched(Duration::from_millis(200), move || w.load(Ordering::Relaxed));
        assert_eq!(p.batch_now(), Some(Duration::from_millis(200)));
        watched.store(true, Ordering::Relaxed);
        assert_eq!(p.batch_now(), None, "a live viewer gets packets as they arrive");
        watched.store(false, Ordering::Relaxed);
        assert_eq!(p.clone().batch_now(), Some(Duration::from_millis(200)));
        assert_eq!(Pacing::batched(Duration::ZERO, || false).batch_now(), None, "zero turns batching off");
    }
}
