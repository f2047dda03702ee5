//! Telling open WebSockets that sessions ended, so that a logout, a
//! password change or a disabled account closes them within about a second
//! instead of at their next periodic re-check (every 30 s).
//!
//! Two sources raise the signal: this server's routes, as they end
//! sessions; and a watcher that asks the database every second whether
//! another connection has written to it, for sessions ended behind the
//! server's back (`citywatch admin disable-user` and `set-password` write
//! to the database directly). The signal says only "something may have
//! changed": each socket then checks its own session, so a spurious signal
//! costs one query per open socket and nothing else.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Interval;

use crate::AppState;

/// How often the watcher asks the database.
const POLL: Duration = Duration::from_secs(1);

pub struct SessionEnds {
    generation: watch::Sender<u64>,
}

impl Default for SessionEnds {
    fn default() -> Self {
        SessionEnds { generation: watch::Sender::new(0) }
    }
}

impl SessionEnds {
    /// Some sessions have ended: open sockets check theirs now.
    pub fn ended(&self) {
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

/// Resolves at the socket's next periodic check, or as soon as sessions
/// end, whichever is first. Cancel-safe, for `tokio::select!` loops.
pub(crate) async fn next_check(every: &mut Interval, ends: &mut watch::Receiver<u64>) {
    tokio::select! {
        _ = every.tick() => {}
        Ok(()) = ends.changed() => {}
    }
}

/// Raises the signal whenever another connection has committed to the
/// database; runs until the server stops (`serve` aborts it).
pub(crate) async fn watch_store(state: AppState) {
    let mut last = None;
    loop {
        let users = state.users.clone();
        match tokio::task::spawn_blocking(move || users.sessions_marker()).await {
            Ok(Ok(now)) => {
                if last.is_some_and(|l| l != now) {
                    state.session_ends.ended();
                }
                last = Some(now);
            }
            Ok(Err(e)) => tracing::warn!("watching sessions: {e}"),
            Err(e) => tracing::warn!("watching sessions: {e}"),
        }
        tokio::time::sleep(POLL).await;
    }
}
