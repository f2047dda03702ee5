//! Live video for viewers without an unmask grant
//! (`Permission::ViewUnmasked`, a supervisor's): faces are pixelated before
//! the video leaves the server.
//!
//! Owns the transcoders: per camera stream with at least one masked viewer,
//! exactly one thread reads the camera's frames from the frame source, blurs
//! them (`citywatch_analytics::live_redact`: decode, CenterFace, pixelate,
//! encode) and publishes the result into a second, private [`LiveHub`].
//! Masked viewers subscribe there, so they get the same ring, cached GOP
//! (instant start) and key-frame skipping as everyone else. The last
//! masked viewer leaving stops the thread; the number of threads is capped.
//!
//! The rule, as for snapshots: a masked viewer gets blurred video or a
//! clear error (no face model, too many blurred streams), never the
//! camera's own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use citywatch_analytics::live_redact::{FaceModels, LiveRedactConfig, LiveRedactor};
use citywatch_video::frame_source::FrameSource;
use citywatch_video::live::{LiveEvent, LiveHub, Publisher, Subscription};
use citywatch_video::recorder::Stream;
use tokio::sync::watch;

/// How live video is blurred; set by the binary.
#[derive(Clone)]
pub struct LiveRedaction {
    /// CenterFace; `None`: masked viewers are refused live video.
    pub faces: Option<Arc<FaceModels>>,
    /// Camera streams blurred at once; further masked viewers of other
    /// cameras are refused until one stops.
    pub max_streams: usize,
    pub detect: LiveRedactConfig,
    /// Longest recorded range one blurred playback (`view.mp4`) may cover:
    /// it is transcoded about as fast as it plays, holding a core all along.
    pub max_playback_span: Duration,
}

impl LiveRedaction {
    /// [`LiveRedaction::max_playback_span`] unless configured.
    pub const DEFAULT_MAX_PLAYBACK_SPAN: Duration = Duration::from_secs(15 * 60);

    /// One blurred 640×360 stream at 15 fps takes about one core (CenterFace
    /// twice a second; see docs/design/live.md), so one per core, keeping
    /// one core for the recorders and the rest of the server.
    pub fn default_max_streams() -> usize {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        cores.saturating_sub(1).max(1)
    }
}

type Key = (String, &'static str);

struct Running {
    /// Distinct per transcoder, so one that is stopping never touches its
    /// successor's hub channel.
    id: u64,
    channel: String,
    viewers: usize,
    /// Dropped (with the entry) to stop the thread.
    _stop: watch::Sender<()>,
}

pub(crate) struct BlurredLive {
    source: Arc<dyn FrameSource>,
    blurred: Arc<LiveHub>,
    config: OnceLock<LiveRedaction>,
    running: Mutex<HashMap<Key, Running>>,
    next_id: AtomicU64,
    /// Recorded ranges being blurred (recordings_blurred.rs), limited to
    /// the same number as live streams but counted apart, so an operator
    /// watching live can still play back.
    pub(crate) playbacks: Arc<AtomicUsize>,
}

/// A masked viewer's hold on its camera's transcoder; the last one
/// dropped stops it.
pub(crate) struct Lease {
    owner: Arc<BlurredLive>,
    key: Key,
    id: u64,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut running = self.owner.lock();
        if let Some(r) = running.get_mut(&self.key).filter(|r| r.id == self.id) {
            r.viewers -= 1;
            if r.viewers == 0 {
                running.remove(&self.key);
            }
        }
    }
}

impl BlurredLive {
    pub(crate) fn new(source: Arc<dyn FrameSource>) -> BlurredLive {
        BlurredLive {
            blurred: Arc::new(LiveHub::new(citywatch_video::live::DEFAULT_RING, source.max_delay())),
            source,
            config: OnceLock::new(),
            running: Mutex::default(),
            next_id: AtomicU64::new(1),
            playbacks: Arc::default(),
        }
    }

    pub(crate) fn configure(&self, config: LiveRedaction) {
        let _ = self.config.set(config);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The blurring settings, once the binary has given them.
    pub(crate) fn redaction(&self) -> Option<&LiveRedaction> {
        self.config.get()
    }

    /// Camera streams being blurred now.
    pub(crate) fn streams(&self) -> usize {
        self.lock().len()
    }

    /// A masked view of a camera stream: its transcoder's output, starting
    /// the transcoder if this is the stream's first masked viewer.
    pub(crate) fn subscribe(self: &Arc<Self>, camera: &str, stream: Stream) -> Result<(Subscription, Lease), String> {
        let (config, faces) = self
            .config
            .get()
            .and_then(|c| Some((c, c.faces.clone()?)))
            .ok_or("faces in live video are blurred for viewers without an unmask grant, and this server cannot blur them (no face model: run `citywatch models install`); live video is shown only to holders of an unmask grant")?;
        let key: Key = (camera.to_owned(), stream.as_str());
        let mut running = self.lock();
        if let Some(r) = running.get_mut(&key) {
            r.viewers += 1;
            let sub = self.blurred.subscribe(&r.channel, stream);
            return Ok((sub, Lease { owner: self.clone(), key, id: r.id }));
        }
        if running.len() >= config.max_streams {
            return Err(format!(
                "faces in live video are blurred for viewers without an unmask grant, and this server is already blurring {} camera streams, its limit ([video] max_blurred_streams); try again when another view closes",
                running.len()
            ));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let channel = format!("{camera}\u{0}{id}");
        let publisher = self.blurred.publisher(&channel, stream);
        // Online until the camera says otherwise, so the viewer is not told
        // "offline" while the first picture is being blurred.
        publisher.online();
        let viewer = self.blurred.subscribe(&channel, stream);
        let source = self.source.subscribe(camera, stream);
        let (stop_tx, stop_rx) = watch::channel(());
        let redactor = LiveRedactor::new(faces, config.detect);
        let runtime = tokio::runtime::Handle::current();
        let name = camera.to_owned();
        std::thread::Builder::new()
            .name(format!("blur {camera}"))
            .spawn(move || transcode(&name, source, publisher, redactor, stop_rx, runtime))
            .map_err(|e| format!("could not start blurring faces for camera {camera}: {e}"))?;
        running.insert(key.clone(), Running { id, channel, viewers: 1, _stop: stop_tx });
        Ok((viewer, Lease { owner: self.clone(), key, id }))
    }
}

/// One camera stream's transcoder: runs until its last viewer leaves. It
/// reads the hub like any viewer, so when blurring is slower than the
/// camera it skips to the next key frame instead of lagging further. It
/// publishes in bursts: pictures wait for the face detection after them.
fn transcode(
    camera: &str,
    mut source: Subscription,
    publisher: Publisher,
    mut redactor: LiveRedactor,
    mut stop: watch::Receiver<()>,
    runtime: tokio::runtime::Handle,
) {
    let mut last_error: Option<String> = None;
    loop {
        let event = runtime.block_on(async {
            tokio::select! {
                e = source.next() => e,
                _ = stop.changed() => None,
            }
        });
        let Some(event) = event else { break };
        match event {
            LiveEvent::Frame(f) => match redactor.push(&f.frame) {
                Ok(frames) => {
                    for out in frames {
                        publisher.frame(out);
                        last_error = None;
                    }
                }
                Err(e) => {
                    // Once per kind of trouble, not once per frame.
                    let msg = e.to_string();
                    if last_error.as_deref() != Some(msg.as_str()) {
                        tracing::warn!(camera, "live: blurring faces: {msg}");
                    }
                    last_error = Some(msg);
                }
            },
            LiveEvent::Gap { .. } => redactor.reset(),
            LiveEvent::Online => {
                redactor.reset();
                publisher.online();
            }
            LiveEvent::Offline => {
                redactor.reset();
                publisher.offline();
            }
        }
    }
    let s = redactor.stats();
    let per = |ns: u64| {
        if s.frames_in == 0 {
            0.0
        } else {
            ns as f64 / s.frames_in as f64 / 1e6
        }
    };
    tracing::debug!(
        camera,
        frames = s.frames_in,
        detections = s.detections,
        "live: stopped blurring; ms per frame: decode {:.1}, faces {:.1}, blur {:.1}, encode {:.1}",
        per(s.decode_ns),
        per(s.detect_ns),
        per(s.blur_ns),
        per(s.encode_ns)
    );
}
