//! `/metrics` carries text from parts the binary adds (the analytics
//! pipeline's per-camera counters), read fresh on every scrape.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::{start, METRICS_TOKEN};

#[tokio::test]
async fn added_sources_appear_in_metrics_and_are_read_at_each_scrape() {
    let s = start().await;
    let analysed = Arc::new(AtomicU64::new(3));
    let a = analysed.clone();
    s.state.add_metrics_source(Arc::new(move || format!("citywatch_analytics_analysed_frames_total{{camera=\"cam-1\"}} {}\n", a.load(Ordering::Relaxed))));
    let scrape = || async { s.client.get(s.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap() };
    assert!(scrape().await.lines().any(|l| l == "citywatch_analytics_analysed_frames_total{camera=\"cam-1\"} 3"));
    analysed.store(8, Ordering::Relaxed);
    let text = scrape().await;
    assert!(text.lines().any(|l| l == "citywatch_analytics_analysed_frames_total{camera=\"cam-1\"} 8"), "{text}");
    // The rest of the page is still there.
    assert!(text.contains("citywatch_events_"), "{text}");
}
