//! The server's retention task: runs the video crate's policy every
//! `[retention] interval_s` seconds, counts what it did for `/metrics`, and
//! leaves an audit entry ("video.retention") for every run that deleted
//! anything, so purges are accountable.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use citywatch_access::AccessRepo;
use citywatch_audit::{AuditLog, Record};
use citywatch_video::health::HealthRegistry;
use citywatch_video::retention::{enforce, RetentionPolicy, RetentionReport, Statvfs};
use citywatch_video::sample_dir::SampleDir;
use citywatch_video::RecordingRepo;
use serde_json::{json, Value};

use crate::config;

pub fn policy(c: &config::Retention) -> RetentionPolicy {
    RetentionPolicy {
        max_age_days: Some(c.max_age_days).filter(|d| *d > 0),
        max_bytes_per_camera: Some(c.max_bytes_per_camera).filter(|b| *b > 0),
        min_free_bytes: c.min_free_bytes,
    }
}

pub async fn run_retention(
    index: Arc<dyn RecordingRepo>,
    holds: Arc<dyn AccessRepo>,
    dir: Arc<SampleDir>,
    policy: RetentionPolicy,
    health: Arc<HealthRegistry>,
    audit: Arc<AuditLog>,
    every: Duration,
) {
    loop {
        let (index, holds, d, p) = (index.clone(), holds.clone(), dir.clone(), policy.clone());
        let run = tokio::task::spawn_blocking(move || {
            let now = chrono::Utc::now();
            // Read afresh each run: a hold placed a moment ago keeps its recordings.
            let holds = holds.active_legal_holds(now)?;
            enforce(&*index, holds, &d, &p, &Statvfs, now)
        })
        .await;
        match run {
            Ok(Ok(report)) => {
                health.retention().add(&report);
                if report.floor_unmet {
                    tracing::warn!(
                        "retention: free space {} bytes is below the floor of {} and nothing more may be deleted (legal holds or recordings in progress)",
                        report.free_bytes.unwrap_or(0),
                        policy.min_free_bytes
                    );
                }
                if report.deleted().recordings > 0 || report.garbage_finished > 0 {
                    let record = Record::new("citywatch", "video.retention", "recordings").detail(detail(&report));
                    let log = audit.clone();
                    match tokio::task::spawn_blocking(move || log.record(record)).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::error!("retention: recording the purge in the audit log: {e}"),
                        Err(e) => tracing::error!("retention: recording the purge in the audit log: {e}"),
                    }
                }
            }
            Ok(Err(e)) => {
                health.retention().failed_runs.fetch_add(1, Ordering::Relaxed);
                tracing::error!("{e}");
            }
            Err(e) => {
                health.retention().failed_runs.fetch_add(1, Ordering::Relaxed);
                tracing::error!("retention run failed: {e}");
            }
        }
        tokio::time::sleep(every).await;
    }
}

fn detail(r: &RetentionReport) -> Value {
    let d = |x: &citywatch_video::retention::Deleted| json!({"recordings": x.recordings, "bytes": x.bytes});
    let total = r.deleted();
    json!({
        "deleted": d(&total),
        "by_age": d(&r.by_age),
        "by_bytes": d(&r.by_bytes),
        "by_free_space": d(&r.by_free_space),
        "per_camera": r.per_camera.iter().map(|(c, x)| (c.clone(), d(x))).collect::<serde_json::Map<_, _>>(),
        "kept_by_legal_hold": r.held,
        "queued_deletions_finished": r.garbage_finished,
        "free_bytes": r.free_bytes,
    })
}
