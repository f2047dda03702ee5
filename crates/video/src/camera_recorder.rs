//! One camera stream, from RTSP to recordings: the ingest supervisor feeds a
//! bounded channel; one task hands each frame to the live hub (which never
//! waits for viewers) and then to the recorder, whose closed GOPs go to the
//! disk's shared writer (which never makes the recorder wait). A slow disk
//! costs whole GOPs, counted as dropped frames; a slow viewer costs that
//! viewer frames; neither holds up the other or other cameras.

use std::sync::Arc;

use citywatch_model::CameraStatus;
use tokio::sync::{mpsc, watch};

use crate::disk_writer::DiskWriter;
use crate::ingest::{run_camera, Backoff, IngestConfig, IngestEvent, Pacing, StreamHealth};
use crate::live::{LiveHub, Publisher};
use crate::recorder::{wall_clock_90k, RecordError, Recorder, Stream};

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
    /// How often the camera's socket is read while nobody watches the
    /// stream live (zero: as packets arrive); see [`Pacing`].
    pub read_batch: std::time::Duration,
}

/// Runs until `shutdown` turns true; hands over what is held before
/// returning (the writer commits it; `DiskWriter::flush` waits for that).
pub async fn record_stream(mut task: RecordTask, writer: DiskWriter, status: StatusSink, shutdown: watch::Receiver<bool>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let publisher = task.live.as_ref().map(|hub| hub.publisher(&task.camera_id, task.stream));
    let watchers = publisher.as_ref().map(Publisher::watchers);
    let arrivals = watchers.as_ref().map(|w| w.arrivals());
    let mut pacing = Pacing::batched(task.read_batch, move || watchers.as_ref().is_some_and(|w| w.any()));
    if let Some(arrivals) = arrivals {
        pacing = pacing.woken_by(arrivals);
    }
    task.ingest.pacing = pacing;
    let recorder = Recorder::with_writer(writer, &task.camera_id, task.stream);
    let consumer = tokio::spawn(record_frames(rx, recorder, publisher, status, task.health.clone(), task.camera_id.clone(), task.stream));
    run_camera(task.ingest, Backoff::default(), task.health, tx, shutdown).await;
    let _ = consumer.await;
}

/// Publishes each ingest event to the live hub, then records it.
async fn record_frames(
    mut from_ingest: mpsc::Receiver<IngestEvent>,
    mut recorder: Recorder,
    live: Option<Publisher>,
    status: StatusSink,
    health: Arc<StreamHealth>,
    camera_id: String,
    stream: Stream,
) {
    let report = |s: CameraStatus| {
        if stream == Stream::Main {
            // The registry writes to the database: off the async threads.
            let (status, id) = (status.clone(), camera_id.clone());
            tokio::task::spawn_blocking(move || status(&id, s));
        }
    };
    while let Some(event) = from_ingest.recv().await {
        let result = match event {
            IngestEvent::Frame(frame) => {
                if let Some(p) = &live {
                    p.frame(frame.clone());
                }
                recorder.push(frame, wall_clock_90k())
            }
            // A new session restarts the camera's clock: a new run.
            IngestEvent::Connected { .. } => {
                if let Some(p) = &live {
                    p.online();
                }
                report(CameraStatus::Online);
                recorder.finish()
            }
            IngestEvent::Disconnected { error, retry_in } => {
                if let Some(p) = &live {
                    p.offline();
                }
                tracing::warn!(camera = %camera_id, stream = stream.as_str(), "disconnected: {error}; retry in {retry_in:?}");
                report(CameraStatus::Offline);
                recorder.finish()
            }
        };
        report_lost_gop(result, &health, &camera_id);
    }
    report_lost_gop(recorder.finish(), &health, &camera_id);
}

/// Recording stops for the failed GOP only; the next key frame starts afresh.
fn report_lost_gop(result: Result<(), RecordError>, health: &StreamHealth, camera_id: &str) {
    match result {
        Ok(()) => {}
        Err(RecordError::DiskBehind { frames }) => {
            health.record_dropped(frames as u64);
            tracing::warn!(camera = %camera_id, "the disk is behind: {frames} frames not recorded");
        }
        Err(e) => tracing::error!(camera = %camera_id, "recording: {e}"),
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
            params: Arc::new(VideoParams {
                codec: Codec::H264,
                width: 16,
                height: 16,
                rfc6381_codec: "avc1.42c00a".into(),
                extra_data: vec![1],
                pixel_aspect_ratio: None,
            }),
        }
    }

    #[tokio::test]
    async fn a_disk_that_is_behind_costs_recorded_frames_not_live_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(citywatch_store::Store::open(&tmp.path().join("db")).unwrap());
        let dir = Arc::new(crate::sample_dir::SampleDir::open(&tmp.path().join("video")).unwrap());
        // A writer with no room at all: every GOP is refused.
        let config = crate::disk_writer::WriterConfig { max_queued_bytes: 0, ..Default::default() };
        let writer = DiskWriter::spawn(store.clone(), dir, config);
        let hub = Arc::new(LiveHub::default());
        let mut viewer = hub.subscribe("cam", Stream::Main);
        assert!(matches!(viewer.try_next(), Some(LiveEvent::Offline)));
        let (ingest_tx, ingest_rx) = mpsc::channel(64);
        let health = Arc::new(StreamHealth::default());
        ingest_tx.send(IngestEvent::Connected { params: None }).await.unwrap();
        for n in 0..12 {
            ingest_tx.send(IngestEvent::Frame(frame(n))).await.unwrap();
        }
        drop(ingest_tx);
        let recorder = Recorder::with_writer(writer.clone(), "cam", Stream::Main);
        let status: StatusSink = Arc::new(|_, _| {});
        let consumer = record_frames(ingest_rx, recorder, Some(hub.publisher("cam", Stream::Main)), status, health.clone(), "cam".into(), Stream::Main);
        tokio::time::timeout(std::time::Duration::from_secs(10), consumer).await.expect("the recorder never waits on the disk");
        writer.flush();

        let mut live = Vec::new();
        while let Some(e) = viewer.try_next() {
            if let LiveEvent::Frame(f) = e {
                live.push(f.frame.timestamp_90k / 3000);
            }
        }
        assert_eq!(live, (0..12).collect::<Vec<_>>(), "viewers got every frame");
        assert_eq!(health.snapshot().dropped_frames, 12, "every GOP the disk refused is counted");
        assert_eq!(writer.stats().gops_refused.load(std::sync::atomic::Ordering::Relaxed), 3);
        assert!(store.recordings_between("cam", Stream::Main, 0, i64::MAX).unwrap().is_empty(), "and nothing half-written is indexed");
    }
}
