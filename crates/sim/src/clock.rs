//! One frame clock for all cameras: a single task ticks at the frame rate and
//! every playing session wakes on its ticks. A thousand idle cameras cost one
//! timer, not a thousand.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Frame ticks since the clock started, by wall clock.
pub struct FrameClock {
    fps: u32,
    ticks: watch::Receiver<u64>,
}

impl FrameClock {
    /// Starts ticking on the current tokio runtime until `shutdown` turns true.
    pub fn start(fps: u32, mut shutdown: watch::Receiver<bool>) -> FrameClock {
        let fps = fps.max(1);
        let (tx, rx) = watch::channel(0u64);
        let start = Instant::now();
        tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                // Deadlines from the start, not from the last tick: no drift.
                let next = start + Duration::from_nanos((n + 1) * 1_000_000_000 / u64::from(fps));
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {}
                    _ = shutdown.changed() => return,
                }
                let elapsed = start.elapsed().as_nanos() as u64;
                // After a stall, jump to the present rather than tick in a burst.
                n = (elapsed * u64::from(fps) / 1_000_000_000).max(n + 1);
                tx.send_replace(n);
            }
        });
        FrameClock { fps, ticks: rx }
    }

    pub fn fps(&self) -> u32 {
        self.fps
    }

    /// The current tick.
    pub fn now(&self) -> u64 {
        *self.ticks.borrow()
    }

    /// A receiver that wakes on every tick.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.ticks.clone()
    }
}
