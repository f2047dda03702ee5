//! The threads camera sessions run on: a few single-threaded Tokio runtimes
//! that wake on a clock tick rather than on every packet.
//!
//! On the shared multi-threaded runtime each camera socket is registered
//! with epoll; every RTP burst that arrives wakes a parked worker, even when
//! the session ([`Pacing`](super::Pacing)) does not want to read yet, and
//! handing a frame to the recorder task often wakes a second worker. Here a
//! runtime thread that runs out of work first sleeps to the next multiple of
//! `tick` and only then parks: everything that arrived meanwhile is picked
//! up by one `epoll_wait`, so wake-ups are bounded by the tick, not by the
//! packet rate, and a session and its recorder task share a thread.
//!
//! While any session on a thread is watched live or still connecting, the
//! tick is `tick` (10 ms by default: a live viewer's frames are read within
//! a tick of arriving, and an RTSP handshake is not slowed); otherwise it is
//! [`IDLE_TICK`], since batched sessions read only every few hundred
//! milliseconds anyway. Work that does not touch cameras (HTTP, the
//! database) stays on the main runtime.

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Builder, Handle};
use tokio::task::JoinHandle;

/// Default wake-up tick of an ingest thread serving a watched or
/// connecting session.
pub const DEFAULT_TICK: Duration = Duration::from_millis(10);

/// Wake-up tick of an ingest thread whose sessions all read in batches.
pub const IDLE_TICK: Duration = Duration::from_millis(100);

thread_local! {
    /// On an ingest thread: its count of sessions that need the fast tick.
    static URGENT: RefCell<Option<Arc<AtomicUsize>>> = const { RefCell::new(None) };
}

/// Held by a session while it needs packets as they arrive (connecting, or
/// watched live): its ingest thread keeps the fast tick meanwhile. Does
/// nothing off the ingest threads.
#[derive(Debug)]
pub(crate) struct Urgent(Option<Arc<AtomicUsize>>);

impl Urgent {
    pub(crate) fn new() -> Urgent {
        let counter = URGENT.with(|u| u.borrow().clone());
        if let Some(c) = &counter {
            c.fetch_add(1, Ordering::Relaxed);
        }
        Urgent(counter)
    }
}

impl Drop for Urgent {
    fn drop(&mut self) {
        if let Some(c) = &self.0 {
            c.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Runtimes for camera sessions; tasks are spread over them round-robin.
/// Their threads run for the rest of the process.
pub struct IngestRuntimes {
    handles: Vec<Handle>,
    next: AtomicUsize,
}

impl IngestRuntimes {
    /// Starts `threads` (at least one) runtime threads waking every `tick`
    /// while they serve an urgent session, every [`IDLE_TICK`] otherwise.
    pub fn start(threads: usize, tick: Duration) -> std::io::Result<IngestRuntimes> {
        let mut handles = Vec::new();
        for i in 0..threads.max(1) {
            let urgent = Arc::new(AtomicUsize::new(0));
            let on_park = urgent.clone();
            let runtime = Builder::new_current_thread()
                .enable_all()
                .thread_name(format!("ingest-{i}-blocking"))
                .on_thread_park(move || {
                    let busy = on_park.load(Ordering::Relaxed) > 0;
                    sleep_to_next_tick(if busy { tick } else { IDLE_TICK.max(tick) })
                })
                .build()?;
            handles.push(runtime.handle().clone());
            std::thread::Builder::new().name(format!("ingest-{i}")).spawn(move || {
                URGENT.with(|u| *u.borrow_mut() = Some(urgent));
                runtime.block_on(std::future::pending::<()>())
            })?;
        }
        Ok(IngestRuntimes { handles, next: AtomicUsize::new(0) })
    }

    /// Runs `task` on the next runtime; its own `tokio::spawn`s stay there.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        self.handles[i].spawn(task)
    }

    pub fn threads(&self) -> usize {
        self.handles.len()
    }
}

impl std::fmt::Debug for IngestRuntimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestRuntimes").field("threads", &self.handles.len()).finish()
    }
}

/// Called when the runtime is about to park: whatever arrives during the
/// sleep waits for the tick, then one `epoll_wait` collects it all.
fn sleep_to_next_tick(tick: Duration) {
    let tick_ns = tick.as_nanos();
    if tick_ns == 0 {
        return;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let wait = tick_ns - now % tick_ns;
    std::thread::sleep(Duration::from_nanos(wait as u64));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn tasks_and_timers_run_on_the_ingest_threads() {
        let rts = IngestRuntimes::start(2, Duration::from_millis(5)).unwrap();
        assert_eq!(rts.threads(), 2);
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..4 {
            let tx = tx.clone();
            rts.spawn(async move {
                let t0 = Instant::now();
                tokio::time::sleep(Duration::from_millis(30)).await;
                // Spawned tasks stay on the same runtime.
                let name = tokio::spawn(async { std::thread::current().name().map(str::to_owned) }).await.unwrap();
                tx.send((i, t0.elapsed(), name)).unwrap();
            });
        }
        let mut got: Vec<_> = (0..4).map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("task ran")).collect();
        got.sort_by_key(|g| g.0);
        for (i, waited, name) in got {
            assert!(waited >= Duration::from_millis(30), "task {i}: timer fired early after {waited:?}");
            assert!(waited < Duration::from_secs(2), "task {i}: timer late by {waited:?}");
            assert!(name.as_deref().is_some_and(|n| n.starts_with("ingest-")), "task {i} ran on {name:?}");
        }
    }

    #[test]
    fn a_watched_session_keeps_its_thread_on_the_fast_tick() {
        let rts = IngestRuntimes::start(1, Duration::from_millis(2)).unwrap();
        // Twenty timer wake-ups: on the idle tick they take ~2 s, on the fast one ~0.1 s.
        let wakes = |urgent: bool| {
            let (tx, rx) = std::sync::mpsc::channel();
            rts.spawn(async move {
                let _u = urgent.then(Urgent::new);
                let t0 = Instant::now();
                for _ in 0..20 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                tx.send(t0.elapsed()).unwrap();
            });
            rx.recv_timeout(Duration::from_secs(20)).unwrap()
        };
        let fast = wakes(true);
        let idle = wakes(false);
        assert!(fast < Duration::from_millis(900), "urgent: 20 wake-ups took {fast:?}");
        assert!(idle >= Duration::from_millis(1500), "idle: 20 wake-ups took only {idle:?}");
        // Off the ingest threads an Urgent is inert.
        drop(Urgent::new());
    }

    #[test]
    fn an_idle_thread_sleeps_to_the_tick() {
        let t0 = Instant::now();
        sleep_to_next_tick(Duration::from_millis(20));
        let slept = t0.elapsed();
        assert!(slept <= Duration::from_millis(40), "slept {slept:?} for a 20 ms tick");
        sleep_to_next_tick(Duration::ZERO);
    }
}
