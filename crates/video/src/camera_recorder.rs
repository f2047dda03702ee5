//! One camera stream, from RTSP to recordings: the ingest supervisor feeds a
//! bounded channel; a blocking thread turns frames into sample files and
//! index rows. A slow disk costs frames (dropped to the next key frame by
//! the supervisor), never unbounded memory, and never stalls other cameras.

use std::sync::Arc;

use citywatch_model::CameraStatus;
use citywatch_store::Store;
use tokio::sync::{mpsc, watch};

use crate::ingest::{run_camera, Backoff, IngestConfig, IngestEvent, StreamHealth};
use crate::recorder::{wall_clock_90k, Recorder, Stream};
use crate::sample_dir::SampleDir;

/// Frames buffered between ingest and the recorder (about 4 s at 30 fps).
const QUEUE: usize = 128;

/// Told when a camera comes online or goes offline.
pub type StatusSink = Arc<dyn Fn(&str, CameraStatus) + Send + Sync>;

pub struct RecordTask {
    pub camera_id: String,
    pub stream: Stream,
    pub ingest: IngestConfig,
    pub health: Arc<StreamHealth>,
}

/// Runs until `shutdown` turns true; writes what is held before returning.
pub async fn record_stream(task: RecordTask, store: Arc<Store>, dir: Arc<SampleDir>, status: StatusSink, shutdown: watch::Receiver<bool>) {
    let (tx, mut rx) = mpsc::channel(QUEUE);
    let ingest = tokio::spawn(run_camera(task.ingest, Backoff::default(), task.health, tx, shutdown));
    let camera_id = task.camera_id.clone();
    let writer = tokio::task::spawn_blocking(move || {
        let mut recorder = Recorder::new(store, dir, &camera_id, task.stream);
        while let Some(event) = rx.blocking_recv() {
            let result = match event {
                IngestEvent::Frame(frame) => recorder.push(frame, wall_clock_90k()),
                // A new session restarts the camera's clock: a new run.
                IngestEvent::Connected { .. } => {
                    if task.stream == Stream::Main {
                        status(&camera_id, CameraStatus::Online);
                    }
                    recorder.finish()
                }
                IngestEvent::Disconnected { error, retry_in } => {
                    tracing::warn!(camera = %camera_id, stream = task.stream.as_str(), "disconnected: {error}; retry in {retry_in:?}");
                    if task.stream == Stream::Main {
                        status(&camera_id, CameraStatus::Offline);
                    }
                    recorder.finish()
                }
            };
            if let Err(e) = result {
                // Recording stops for this GOP only; the next key frame starts afresh.
                tracing::error!(camera = %camera_id, "recording: {e}");
                let _ = recorder.finish();
            }
        }
        if let Err(e) = recorder.finish() {
            tracing::error!(camera = %camera_id, "closing the recording: {e}");
        }
    });
    let _ = ingest.await;
    let _ = writer.await;
}
