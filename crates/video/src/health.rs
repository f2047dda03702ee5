//! The health of every camera stream this process ingests, and of
//! retention: one place the API reads for `/cameras/{id}/health` and
//! `/metrics`.
//!
//! Recorders register the [`StreamHealth`] counters that ingest keeps
//! current; readers get snapshots plus frame and bit rates over the last
//! interval (about ten seconds, or the time since the previous read if that
//! was longer ago). It owns no I/O and no formatting.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::ingest::{HealthSnapshot, StreamHealth};
use crate::recorder::Stream;
use crate::retention::RetentionTotals;

/// Rates are measured over at least this long when reads are frequent.
const WINDOW: Duration = Duration::from_secs(10);
/// Samples are kept at most this often.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
pub struct StreamReport {
    pub camera_id: String,
    pub stream: Stream,
    pub health: HealthSnapshot,
    /// Frames per second over the last `interval`; `None` until two samples
    /// are far enough apart.
    pub fps: Option<f64>,
    pub bitrate_bps: Option<f64>,
    pub interval: Option<Duration>,
}

struct Entry {
    health: Arc<StreamHealth>,
    /// (when, frames, bytes), oldest first.
    samples: Mutex<VecDeque<(Instant, u64, u64)>>,
}

#[derive(Default)]
pub struct HealthRegistry {
    streams: Mutex<BTreeMap<(String, Stream), Arc<Entry>>>,
    retention: RetentionTotals,
}

impl HealthRegistry {
    /// The counters of a camera stream, created on first use; a recorder
    /// restarted for the same stream keeps counting on the same ones.
    pub fn stream(&self, camera_id: &str, stream: Stream) -> Arc<StreamHealth> {
        let mut map = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map
            .entry((camera_id.to_owned(), stream))
            // The first sample is the start, so the first read already has a rate.
            .or_insert_with(|| Arc::new(Entry { health: Arc::new(StreamHealth::default()), samples: Mutex::new(VecDeque::from([(Instant::now(), 0, 0)])) }));
        entry.health.clone()
    }

    /// Forgets a stream that is no longer recorded.
    pub fn remove(&self, camera_id: &str, stream: Stream) {
        self.streams.lock().unwrap_or_else(|e| e.into_inner()).remove(&(camera_id.to_owned(), stream));
    }

    /// Every stream, by camera then stream.
    pub fn all(&self) -> Vec<StreamReport> {
        self.reports(|_| true)
    }

    /// The streams of one camera (empty if it is not recorded).
    pub fn camera(&self, camera_id: &str) -> Vec<StreamReport> {
        self.reports(|c| c == camera_id)
    }

    /// The cameras with at least one stream ingested here, without reading
    /// their counters (and so without moving the rate windows).
    pub fn cameras(&self) -> std::collections::BTreeSet<String> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner()).keys().map(|(c, _)| c.clone()).collect()
    }

    pub fn retention(&self) -> &RetentionTotals {
        &self.retention
    }

    fn reports(&self, wanted: impl Fn(&str) -> bool) -> Vec<StreamReport> {
        let entries: Vec<_> = {
            let map = self.streams.lock().unwrap_or_else(|e| e.into_inner());
            map.iter().filter(|((c, _), _)| wanted(c)).map(|((c, s), e)| (c.clone(), *s, e.clone())).collect()
        };
        let now = Instant::now();
        entries.into_iter().map(|(camera_id, stream, e)| report(camera_id, stream, &e, now)).collect()
    }
}

fn report(camera_id: String, stream: Stream, e: &Entry, now: Instant) -> StreamReport {
    let health = e.health.snapshot();
    let mut samples = e.samples.lock().unwrap_or_else(|e| e.into_inner());
    // Keep one sample at or beyond the window as the baseline.
    while samples.len() > 1 && now.duration_since(samples[1].0) >= WINDOW {
        samples.pop_front();
    }
    let (mut fps, mut bitrate_bps, mut interval) = (None, None, None);
    if let Some(&(t0, f0, b0)) = samples.front() {
        let dt = now.duration_since(t0);
        if dt >= SAMPLE_EVERY {
            let secs = dt.as_secs_f64();
            fps = Some(health.frames.saturating_sub(f0) as f64 / secs);
            bitrate_bps = Some(health.bytes.saturating_sub(b0) as f64 * 8.0 / secs);
            interval = Some(dt);
        }
    }
    if samples.back().is_none_or(|&(t, _, _)| now.duration_since(t) >= SAMPLE_EVERY) {
        samples.push_back((now, health.frames, health.bytes));
    }
    StreamReport { camera_id, stream, health, fps, bitrate_bps, interval }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_shared_and_removed() {
        let r = HealthRegistry::default();
        let a = r.stream("c1", Stream::Main);
        let b = r.stream("c1", Stream::Main);
        assert!(Arc::ptr_eq(&a, &b), "a restarted recorder keeps its counters");
        r.stream("c1", Stream::Sub);
        r.stream("c2", Stream::Main);
        assert_eq!(r.all().len(), 3);
        let c1: Vec<_> = r.camera("c1").into_iter().map(|s| s.stream).collect();
        assert_eq!(c1, [Stream::Main, Stream::Sub]);
        assert_eq!(r.cameras().into_iter().collect::<Vec<_>>(), ["c1", "c2"]);
        r.remove("c1", Stream::Sub);
        assert_eq!(r.camera("c1").len(), 1);
        assert!(r.camera("nope").is_empty());
    }

    #[test]
    fn rates_need_two_samples_a_second_apart() {
        let r = HealthRegistry::default();
        r.stream("c1", Stream::Main);
        let first = &r.camera("c1")[0];
        assert_eq!((first.fps, first.bitrate_bps), (None, None));
        // Age the baseline instead of sleeping.
        {
            let map = r.streams.lock().unwrap();
            let e = map.values().next().unwrap();
            let mut s = e.samples.lock().unwrap();
            let t = Instant::now().checked_sub(Duration::from_secs(2)).unwrap();
            *s = VecDeque::from([(t, 0, 0)]);
        }
        let report = &r.camera("c1")[0];
        assert_eq!(report.fps, Some(0.0));
        assert!(report.interval.unwrap() >= Duration::from_secs(2));
    }
}
