//! Keeps one recorder running per configured camera stream, following the
//! registry: cameras added, changed, disabled or deleted start, restart or
//! stop their recorders within seconds. Every recorder also publishes its
//! frames to the node's live hub, which live viewers and analytics read
//! (through `FrameSource`), and its camera's status changes are raised as
//! events through an `EventSink`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use citywatch_events::EventSink;
use citywatch_model::{Camera, CameraStatus, EventType, NewEvent, Source};
use citywatch_registry::Registry;
use citywatch_video::camera_recorder::{record_stream, RecordTask, StatusSink};
use citywatch_video::disk_writer::DiskWriter;
use citywatch_video::health::HealthRegistry;
use citywatch_video::ingest::{IngestConfig, IngestRuntimes, Transport};
use citywatch_video::live::LiveHub;
use citywatch_video::recorder::Stream;
use tokio::sync::watch;

/// What a running recorder was started with; a change restarts it.
#[derive(PartialEq)]
struct Wanted {
    url: String,
    credentials: Option<String>,
}

struct Running {
    wanted: Wanted,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// How recorders reach their cameras (from `[video]`).
pub struct IngestSettings {
    pub transport: Transport,
    /// Only cameras carrying this tag record; `None`: all.
    pub record_tag: Option<String>,
    /// How often a stream nobody watches live is read (zero: as packets arrive).
    pub read_batch: Duration,
    /// Where camera sessions run; `None`: on the main runtime.
    pub runtimes: Option<Arc<IngestRuntimes>>,
}

/// Runs until `shutdown` turns true: every 5 s starts, restarts (URL or
/// credentials changed, or the recorder ended) or stops recorders to match
/// the registry's enabled cameras (those with `record_tag`, when set); at
/// shutdown stops them all and flushes the disk writer.
pub async fn keep_recorders(
    registry: Arc<Registry>,
    writer: DiskWriter,
    health: Arc<HealthRegistry>,
    live: Arc<LiveHub>,
    events: Arc<dyn EventSink>,
    settings: IngestSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let status: StatusSink = {
        let registry = registry.clone();
        Arc::new(move |id: &str, s: CameraStatus| {
            let before = registry.snapshot().cameras.get(id).map(|c| c.status);
            if let Err(e) = registry.set_status(id, s) {
                tracing::warn!(camera = id, "recording camera status: {e}");
            }
            status_event(&*events, id, before, s);
        })
    };
    let mut running: HashMap<(String, Stream), Running> = HashMap::new();
    loop {
        let snapshot = registry.snapshot();
        // Through the registry's repository: on a node of a cluster the
        // credentials are in PostgreSQL, sealed with the node's key.
        let r = registry.clone();
        let read = tokio::task::spawn_blocking(move || r.stream_credentials()).await;
        let mut credentials = match read.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())) {
            Ok(c) => c,
            // Not knowing the credentials is not a change: the recorders
            // keep running as they are until the next pass.
            Err(e) => {
                tracing::warn!("reading camera credentials: {e}; recorders unchanged until the next pass");
                if wait_for_next_pass(&mut shutdown).await {
                    continue;
                }
                break;
            }
        };
        let mut wanted: HashMap<(String, Stream), Wanted> = HashMap::new();
        // With `[video] record_tag` set, only cameras carrying the tag record.
        let tagged = |c: &Camera| settings.record_tag.as_ref().is_none_or(|t| c.tags.contains(t));
        for camera in snapshot.cameras.values().filter(|c| c.status != CameraStatus::Disabled && tagged(c)) {
            let (main_cred, sub_cred) = credentials.remove(&camera.id).unwrap_or_default();
            for (stream, url, credentials) in streams(camera, main_cred, sub_cred) {
                wanted.insert((camera.id.clone(), stream), Wanted { url, credentials });
            }
        }
        running.retain(|key, r| {
            let keep = wanted.get(key).is_some_and(|w| *w == r.wanted) && !r.task.is_finished();
            if !keep {
                let _ = r.stop.send(true);
            }
            if !wanted.contains_key(key) {
                health.remove(&key.0, key.1);
            }
            keep
        });
        for (key, w) in wanted {
            if running.contains_key(&key) {
                continue;
            }
            let Ok(url) = url::Url::parse(&w.url) else {
                tracing::warn!(camera = %key.0, "not recording: bad URL {}", w.url);
                continue;
            };
            let mut ingest = IngestConfig::new(url);
            ingest.transport = settings.transport;
            ingest.credentials = w.credentials.as_deref().map(|c| match c.split_once(':') {
                Some((u, p)) => (u.to_owned(), p.to_owned()),
                None => (c.to_owned(), String::new()),
            });
            let stream = key.1;
            let task = RecordTask {
                camera_id: key.0.clone(),
                stream,
                ingest,
                health: health.stream(&key.0, stream),
                live: Some(live.clone()),
                read_batch: settings.read_batch,
            };
            let (stop, stop_rx) = watch::channel(false);
            let recording = record_stream(task, writer.clone(), status.clone(), stop_rx);
            let handle = match &settings.runtimes {
                Some(r) => r.spawn(recording),
                None => tokio::spawn(recording),
            };
            running.insert(key, Running { wanted: w, stop, task: handle });
        }
        if !wait_for_next_pass(&mut shutdown).await {
            break;
        }
    }
    for (_, r) in running.drain() {
        let _ = r.stop.send(true);
        let _ = r.task.await;
    }
    // Everything handed over is synced and indexed before the process ends.
    let _ = tokio::task::spawn_blocking(move || writer.flush()).await;
}

/// Waits out the pause between passes over the cameras; false: shutting down.
async fn wait_for_next_pass(shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(5)) => true,
        _ = shutdown.changed() => false,
    }
}

/// A camera going online or offline is an event (rules may alert on it;
/// MQTT keeps it as the camera's retained status).
fn status_event(events: &dyn EventSink, id: &str, before: Option<CameraStatus>, now: CameraStatus) {
    let event_type = match now {
        CameraStatus::Online => EventType::CameraOnline,
        CameraStatus::Offline => EventType::CameraOffline,
        _ => return,
    };
    if before.is_none_or(|b| b == now || b == CameraStatus::Disabled) {
        return;
    }
    let e = NewEvent {
        event_type,
        time: chrono::Utc::now(),
        source: Source::camera(id),
        location: None,
        details: serde_json::json!({"from": before.map(|b| b.as_str())}),
    };
    if let Err(e) = events.raise_detached(e) {
        tracing::warn!(camera = id, "camera status event not raised: {e}");
    }
}

fn streams(camera: &Camera, main_cred: Option<String>, sub_cred: Option<String>) -> Vec<(Stream, String, Option<String>)> {
    let mut out = Vec::new();
    if let Some(url) = &camera.main_url {
        out.push((Stream::Main, url.clone(), main_cred));
    }
    if let Some(url) = &camera.sub_url {
        out.push((Stream::Sub, url.clone(), sub_cred));
    }
    out
}
