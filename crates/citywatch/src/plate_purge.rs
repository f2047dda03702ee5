//! The server's plate-read purge: every `[plates] purge_interval_s`, reads
//! that hit no hotlist and are older than `unhit_retention_days` are
//! deleted with their `plate_read` events; each purge that deleted
//! anything leaves a `plate_read.purge` audit entry with the counts.

use std::sync::Arc;
use std::time::Duration;

use citywatch_audit::AuditLog;
use citywatch_hotlists::PlateReads;

use crate::config;

pub async fn run(plates: Arc<PlateReads>, audit: Arc<AuditLog>, c: config::Plates) {
    let window = chrono::Duration::days(i64::from(c.unhit_retention_days));
    let every = Duration::from_secs(c.purge_interval_s.max(1));
    loop {
        let (p, a) = (plates.clone(), audit.clone());
        match tokio::task::spawn_blocking(move || p.purge_audited(&a, window, chrono::Utc::now())).await {
            Ok(Ok(purged)) if purged.reads > 0 => tracing::info!("plate reads: purged {} reads and {} events that hit no hotlist", purged.reads, purged.events),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("plate read purge: {e}"),
            Err(e) => tracing::error!("plate read purge failed: {e}"),
        }
        tokio::time::sleep(every).await;
    }
}
