//! Repeated audit entries counted instead of written one by one. A refused
//! request is audited, so without this any logged-in user could grow the
//! append-only log without bound by repeating one forbidden call (and an
//! auditor paging through the log would add a page read per page).
//!
//! The first of a burst — same actor, action, target, result and detail —
//! is written at once, as before. Repeats within the window after it are
//! only counted; when the window ends (checked every few seconds by
//! [`run_flusher`], and before every new entry), at shutdown
//! ([`Repeats::flush_all`], called by [`crate::serve`] after the last
//! request), or when too many bursts are open, one entry says how many
//! repeats there were and when the first and last came. Nothing is lost:
//! every refusal is either an entry or counted in one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use citywatch_audit::{AuditError, AuditLog, Record};
use serde_json::{json, Value};

/// How long repeats are counted after the first of a burst, by default.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
/// Open bursts beyond this are all written out at once, so that memory
/// stays bounded whatever callers do.
const MAX_OPEN: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    actor: String,
    action: String,
    target: String,
    result: String,
    detail: String,
}

impl Key {
    fn of(r: &Record) -> Key {
        Key { actor: r.actor.clone(), action: r.action.clone(), target: r.target.clone(), result: r.result.clone(), detail: r.detail.to_string() }
    }
}

#[derive(Debug)]
struct Burst {
    /// The first entry of the burst, as written; the summary repeats it.
    first: Record,
    opened: Instant,
    repeats: u64,
    first_repeat_at: Option<DateTime<Utc>>,
    last_repeat_at: Option<DateTime<Utc>>,
}

impl Burst {
    /// The entry that stands for the repeats, if there were any.
    fn summary(self, window: Duration) -> Option<Record> {
        let (first, last) = (self.first_repeat_at?, self.last_repeat_at?);
        let mut detail = match self.first.detail {
            Value::Object(m) => m,
            other => [("detail".to_owned(), other)].into_iter().collect(),
        };
        detail.insert("repeated".into(), json!(self.repeats));
        detail.insert("first_repeat_at".into(), json!(first));
        detail.insert("last_repeat_at".into(), json!(last));
        detail.insert("window_s".into(), json!(window.as_secs_f64()));
        Some(Record { detail: Value::Object(detail), ..self.first })
    }
}

pub struct Repeats {
    window_ms: std::sync::atomic::AtomicU64,
    open: Mutex<HashMap<Key, Burst>>,
}

impl Default for Repeats {
    fn default() -> Self {
        Repeats { window_ms: (DEFAULT_WINDOW.as_millis() as u64).into(), open: Mutex::default() }
    }
}

impl Repeats {
    pub fn window(&self) -> Duration {
        Duration::from_millis(self.window_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn set_window(&self, window: Duration) {
        self.window_ms.store(window.as_millis().max(1) as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Records `r`, or counts it if it repeats an open burst. Blocking.
    pub fn record(&self, log: &AuditLog, r: Record) -> Result<(), AuditError> {
        let window = self.window();
        let now = Instant::now();
        let mut due = Vec::new();
        let write_first = {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            let expired: Vec<Key> = open.iter().filter(|(_, b)| now.duration_since(b.opened) >= window).map(|(k, _)| k.clone()).collect();
            due.extend(expired.into_iter().filter_map(|k| open.remove(&k)));
            if open.len() >= MAX_OPEN {
                due.extend(open.drain().map(|(_, b)| b));
            }
            match open.get_mut(&Key::of(&r)) {
                Some(b) => {
                    let t = Utc::now();
                    b.repeats += 1;
                    b.first_repeat_at.get_or_insert(t);
                    b.last_repeat_at = Some(t);
                    false
                }
                None => {
                    open.insert(Key::of(&r), Burst { first: r.clone(), opened: now, repeats: 0, first_repeat_at: None, last_repeat_at: None });
                    true
                }
            }
        };
        // Summaries of ended bursts first: they came before this entry.
        for summary in due.into_iter().filter_map(|b| b.summary(window)) {
            log.record(summary)?;
        }
        if write_first {
            log.record(r)?;
        }
        Ok(())
    }

    /// Writes the summaries of bursts whose window has ended. Blocking.
    pub fn flush_ended(&self, log: &AuditLog) -> Result<(), AuditError> {
        let window = self.window();
        let now = Instant::now();
        let due: Vec<Burst> = {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            let expired: Vec<Key> = open.iter().filter(|(_, b)| now.duration_since(b.opened) >= window).map(|(k, _)| k.clone()).collect();
            expired.into_iter().filter_map(|k| open.remove(&k)).collect()
        };
        due.into_iter().filter_map(|b| b.summary(window)).try_for_each(|s| log.record(s).map(|_| ()))
    }

    /// Writes the summary of every open burst (at shutdown). Blocking.
    pub fn flush_all(&self, log: &AuditLog) -> Result<(), AuditError> {
        let window = self.window();
        let all: Vec<Burst> = self.open.lock().unwrap_or_else(|p| p.into_inner()).drain().map(|(_, b)| b).collect();
        all.into_iter().filter_map(|b| b.summary(window)).try_for_each(|s| log.record(s).map(|_| ()))
    }
}

/// Writes ended bursts' summaries as their windows end, until `stop`.
pub(crate) async fn run_flusher(state: crate::AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let tick = (state.repeats.window() / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stop.changed() => return,
        }
        let s = state.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.repeats.flush_ended(&s.audit)).await {
            tracing::error!("audit log: writing a count of repeated entries: {e}");
        }
    }
}
