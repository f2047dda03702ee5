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
//! is read as packets arrive, so live latency is unchanged: a viewer's
//! arrival ends the session's wait at once (it starts meanwhile from the
//! live hub's cached GOP).
//!
//! A batch is also capped in bytes ([`MAX_BATCH_BYTES`]): a high-bitrate
//! stream is drained more often, so that what waits in the kernel stays
//! within what a TCP receive window readily holds and a camera with a small
//! send buffer is not made to drop frames.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Default interval between reads of a stream nobody watches live.
pub const DEFAULT_BATCH: Duration = Duration::from_secs(1);

/// At most about this much of a stream waits in the kernel between two
/// drains (a 4 Mbps stream fills it in a second).
pub const MAX_BATCH_BYTES: usize = 512 << 10;

/// Drains never come closer than this, whatever the bitrate.
const MIN_BATCH: Duration = Duration::from_millis(10);

/// How a playing session reads its socket. The default reads packets as
/// they arrive.
#[derive(Clone, Default)]
pub struct Pacing {
    batch: Option<Duration>,
    urgent: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
    /// Notified when `urgent` may have turned true.
    wake: Option<Arc<Notify>>,
}

impl Pacing {
    /// Packets are read as they arrive (what a live-only client wants).
    pub fn immediate() -> Pacing {
        Pacing::default()
    }

    /// Read every `every`, except while `urgent()` says someone needs the
    /// frames as they come (a live viewer). `every` of zero means immediate.
    pub fn batched(every: Duration, urgent: impl Fn() -> bool + Send + Sync + 'static) -> Pacing {
        Pacing { batch: (!every.is_zero()).then_some(every), urgent: Some(Arc::new(urgent)), wake: None }
    }

    /// A wait for the next batch also ends when `wake` is notified (a live
    /// viewer arrived), instead of at the end of the interval.
    pub fn woken_by(mut self, wake: Arc<Notify>) -> Pacing {
        self.wake = Some(wake);
        self
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

    /// Sleeps until `until`, or until woken (see [`Pacing::woken_by`]).
    pub(crate) async fn sleep_until(&self, until: Instant) {
        match &self.wake {
            Some(wake) => {
                tokio::select! {
                    () = tokio::time::sleep_until(until) => {}
                    () = wake.notified() => {}
                }
            }
            None => tokio::time::sleep_until(until).await,
        }
    }
}

/// Sizes the waits between drains by what the last drain brought: the
/// batch interval, shortened so that at most [`MAX_BATCH_BYTES`] pile up.
#[derive(Debug)]
pub(crate) struct BatchTimer {
    since: Instant,
    bytes: usize,
}

impl BatchTimer {
    pub(crate) fn new(now: Instant) -> BatchTimer {
        BatchTimer { since: now, bytes: 0 }
    }

    /// Bytes read since the last wait began.
    pub(crate) fn read(&mut self, bytes: usize) {
        self.bytes += bytes;
    }

    /// The wait before the next drain, the socket being empty `now`.
    pub(crate) fn next_wait(&mut self, every: Duration, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.since);
        let wait = if self.bytes > MAX_BATCH_BYTES / 8 && elapsed >= MIN_BATCH {
            // At the rate the bytes came in, MAX_BATCH_BYTES take this long.
            every.min(elapsed.mul_f64(MAX_BATCH_BYTES as f64 / self.bytes as f64)).max(MIN_BATCH)
        } else {
            every
        };
        self.since = now;
        self.bytes = 0;
        wait
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
    use futures::FutureExt;
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

    #[test]
    fn high_bitrate_streams_are_drained_before_half_a_mebibyte_waits() {
        let t0 = Instant::now();
        let every = Duration::from_secs(1);
        let mut timer = BatchTimer::new(t0);
        // 2 Mbps: 250 kB a second, the full interval.
        timer.read(250_000);
        assert_eq!(timer.next_wait(every, t0 + every), every);
        // 16 Mbps: 2 MB came in the last second; drain every quarter second.
        timer.read(2_000_000);
        let wait = timer.next_wait(every, t0 + every * 2);
        assert!(wait > Duration::from_millis(250) && wait < Duration::from_millis(280), "{wait:?}");
        // What a short wait brings at that rate keeps it short.
        timer.read(524_288);
        let again = timer.next_wait(every, t0 + every * 2 + wait);
        assert!((again.as_secs_f64() - wait.as_secs_f64()).abs() < 0.01, "{again:?} after {wait:?}");
        // A few packets (a handshake) say nothing about the rate.
        timer.read(3_000);
        assert_eq!(timer.next_wait(every, t0 + every * 2 + wait + Duration::from_millis(1)), every);
        // Never closer than the floor, whatever arrives.
        timer.read(100 << 20);
        assert_eq!(timer.next_wait(every, t0 + every * 4), MIN_BATCH);
    }

    #[tokio::test]
    async fn a_wake_ends_the_wait_for_the_next_batch() {
        let wake = Arc::new(Notify::new());
        let p = Pacing::batched(Duration::from_secs(60), || false).woken_by(wake.clone());
        let t0 = Instant::now();
        let sleep = p.sleep_until(t0 + Duration::from_secs(60));
        tokio::pin!(sleep);
        assert!((&mut sleep).now_or_never().is_none(), "waits while nobody wakes it");
        wake.notify_one();
        tokio::time::timeout(Duration::from_secs(5), sleep).await.expect("woken at once");
        assert!(t0.elapsed() < Duration::from_secs(5));
        // Without a wake handle it is a plain sleep.
        let plain = Pacing::batched(Duration::from_millis(50), || false);
        let t1 = Instant::now();
        plain.sleep_until(t1 + Duration::from_millis(50)).await;
        assert!(t1.elapsed() >= Duration::from_millis(50));
    }
}
