//! One camera stream, from RTSP to recordings: the ingest supervisor feeds a
//! bounded channel; a blocking thread turns frames into sample files and
//! index rows. A slow disk costs frames (dropped to the next key frame by
//! the supervisor), never unbounded memory, and never stalls other cameras.
//!
//! With a live hub, a forwarding task sits between ingest and the recorder:
//! it hands every frame to the hub first (which never waits for viewers),
//! then to the recorder's queue (dropping to the next key frame when the
//! disk is behind), so neither viewers nor a slow disk hold up the other.

use std::sync::Arc;

use citywatch_model::CameraStatus;
use citywatch_store::Store;
use tokio::sync::{mpsc, watch};

use crate::ingest::{run_camera, Backoff, IngestConfig, IngestEvent, StreamHealth};
use crate::live::{LiveHub, Publisher};
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
    /// Where live viewers get this stream's frames; `None`: no live view.
    pub live: Option<Arc<LiveHub>>,
}

/// Runs until `shutdown` turns true; writes what is held before returning.
pub async fn record_stream(task: RecordTask, store: Arc<Store>, dir: Arc<SampleDir>, status: StatusSink, shutdown: watch::Receiver<bool>) {
    let (tx, mut rx) = mpsc::channel(QUEUE);
    let (ingest_tx, forwarder) = match &task.live {
        None => (tx, None),
        Some(hub) => {
            let (ingest_tx, ingest_rx) = mpsc::channel(QUEUE);
            let publisher = hub.publisher(&task.camera_id, task.stream);
            (ingest_tx, Some(tokio::spawn(forward_live(ingest_rx, publisher, tx, task.health.clone(), task.camera_id.clone()))))
        }
    };
    let ingest = tokio::spawn(run_camera(task.ingest, Backoff::default(), task.health, ingest_tx, shutdown));
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
    if let Some(f) = forwarder {
        let _ = f.await;
    }
    let _ = writer.await;
}

/// Publishes each ingest event to the live hub, then passes it on to the
/// recorder. Frames never wait for the recorder: when its queue is full they
/// are dropped up to the next key frame that fits, as the ingest supervisor
/// does (and counted in the same health counter), so live viewers keep
/// their frames while the disk catches up.
async fn forward_live(mut from_ingest: mpsc::Receiver<IngestEvent>, live: Publisher, to_recorder: mpsc::Sender<IngestEvent>, health: Arc<StreamHealth>, camera_id: String) {
    let mut skipping = false;
    let mut dropped = 0u64;
    while let Some(event) = from_ingest.recv().await {
        match &event {
            IngestEvent::Frame(f) => live.frame(f.clone()),
            IngestEvent::Connected { .. } => live.online(),
            IngestEvent::Disconnected { .. } => live.offline(),
        }
        let IngestEvent::Frame(frame) = event else {
            // State changes are rare and the recorder must see them.
            if to_recorder.send(event).await.is_err() {
                return;
            }
            continue;
        };
        if skipping && !frame.is_key {
            dropped += 1;
            health.record_dropped(1);
            continue;
        }
        match to_recorder.try_send(IngestEvent::Frame(frame)) {
            Ok(()) => {
                if skipping {
                    tracing::warn!(camera = %camera_id, "recorder was behind: {dropped} frames not recorded");
                    (skipping, dropped) = (false, 0);
                }
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                skipping = true;
                dropped += 1;
                health.record_dropped(1);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::LiveEvent;
    use crate::{Codec, Frame, VideoParams};

    fn frame(n: i64) -> Frame {
        Frame {
            timestamp_90k: n * 3000,
            is_key: n % 5 == 0,
            data: bytes::Bytes::from(vec![0, 0, 0, 1, n as u8]),
            params: Arc::new(VideoParams { codec: Codec::H264, width: 16, height: 16, rfc6381_codec: "avc1.42c00a".into(), extra_data: vec![1], pixel_aspect_ratio: None }),
        }
    }

    #[tokio::test]
    async fn a_full_recorder_queue_costs_recorded_frames_not_live_ones() {
        let hub = Arc::new(LiveHub::default());
        let mut viewer = hub.subscribe("cam", Stream::Main);
        assert!(matches!(viewer.try_next(), Some(LiveEvent::Offline)));
        let (ingest_tx, ingest_rx) = mpsc::channel(64);
        // A recorder that reads nothing: room for two events.
        let (rec_tx, mut rec_rx) = mpsc::channel(2);
        let health = Arc::new(StreamHealth::default());
        ingest_tx.send(IngestEvent::Connected { params: None }).await.unwrap();
        for n in 0..12 {
            ingest_tx.send(IngestEvent::Frame(frame(n))).await.unwrap();
        }
        drop(ingest_tx);
        let forwarder = forward_live(ingest_rx, hub.publisher("cam", Stream::Main), rec_tx, health.clone(), "cam".into());
        tokio::time::timeout(std::time::Duration::from_secs(10), forwarder).await.expect("the forwarder never waits on frames");

        let mut live = Vec::new();
        while let Some(e) = viewer.try_next() {
            if let LiveEvent::Frame(f) = e {
                live.push(f.frame.timestamp_90k / 3000);
            }
        }
        assert_eq!(live, (0..12).collect::<Vec<_>>(), "viewers got every frame");
        assert!(matches!(rec_rx.recv().await, Some(IngestEvent::Connected { .. })));
        assert!(matches!(rec_rx.recv().await, Some(IngestEvent::Frame(f)) if f.timestamp_90k == 0));
        assert!(rec_rx.recv().await.is_none(), "the rest did not fit and was dropped");
        assert_eq!(health.snapshot().dropped_frames, 11, "and counted");
    }
}
