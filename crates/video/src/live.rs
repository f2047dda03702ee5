//! The live hub: fans each camera stream's frames out to its viewers.
//!
//! Per (camera, stream) there is one *channel*: a `tokio::sync::broadcast`
//! ring of the most recent frames plus a cache of the current GOP (from its
//! key frame up to now). A new viewer gets the cached GOP first, so its
//! player can decode at once instead of waiting up to a GOP for the next key
//! frame, then the live frames.
//!
//! The publisher (the camera's recorder task) never waits: publishing is a
//! short mutex section and a non-blocking ring write. A viewer that falls
//! behind — the ring overwrote frames it had not read, or the frames it
//! reads are older than [`LiveHub::max_delay`] — drops everything up to the
//! next key frame and reports a [`LiveEvent::Gap`]; memory stays bounded by
//! the ring and the GOP cache, whatever the viewers do.
//!
//! The hub knows frames, not bytes on a wire: turning them into fMP4 is
//! [`crate::fmp4`]'s job, and who may watch what is the API's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, Notify};

use crate::recorder::Stream;
use crate::Frame;

/// Frames held in a channel's ring for viewers that are a little behind
/// (about 8 s at 15 fps, 4 s at 30 fps).
pub const DEFAULT_RING: usize = 128;
/// A viewer whose next frame arrived longer ago than this skips ahead.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(2);
/// The GOP cache stops growing past these (a camera with a very long GOP
/// then gives new viewers no instant start, rather than unbounded memory).
const MAX_CACHED_FRAMES: usize = 600;
const MAX_CACHED_BYTES: usize = 32 << 20;

/// A frame and when the hub received it.
#[derive(Debug, Clone)]
pub struct LiveFrame {
    pub frame: Frame,
    pub arrived: Instant,
}

/// What a viewer receives.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// The next frame; the first one, and the first after a [`Gap`](Self::Gap)
    /// or [`Online`](Self::Online), is a key frame.
    Frame(LiveFrame),
    /// Frames were dropped because this viewer fell behind; the next frame
    /// is a key frame that does not follow the last one.
    Gap { dropped: u64 },
    /// The camera started a new session: timestamps restart.
    Online,
    /// The camera stream is down (or not up yet).
    Offline,
}

#[derive(Debug, Clone)]
enum Item {
    Frame(LiveFrame),
    Online,
    Offline,
}

#[derive(Default)]
struct Cache {
    online: bool,
    /// The current GOP, starting at its key frame; empty when unknown.
    gop: Vec<LiveFrame>,
    bytes: usize,
    /// The GOP outgrew the cache; wait for the next key frame.
    overflowed: bool,
}

struct Channel {
    tx: broadcast::Sender<Item>,
    /// Held while publishing and while subscribing, so a new viewer's
    /// snapshot and its ring position meet exactly.
    cache: Mutex<Cache>,
    /// Told of every new viewer (see [`Watchers::arrivals`]).
    arrivals: Arc<Notify>,
}

impl Channel {
    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type Key = (String, &'static str);

/// The hub's channels, shared with every publisher and subscription so that
/// the last one to go can remove its channel.
#[derive(Default)]
struct Channels(Mutex<HashMap<Key, Arc<Channel>>>);

impl Channels {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Arc<Channel>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets a channel nobody publishes to or watches: every publisher
    /// and subscription holds a reference, so only the map's is left.
    fn release(&self, key: &Key) {
        let mut map = self.lock();
        if map.get(key).is_some_and(|ch| Arc::strong_count(ch) == 1) {
            map.remove(key);
        }
    }
}

/// Live frames of every camera stream, by (camera id, stream).
pub struct LiveHub {
    channels: Arc<Channels>,
    ring: usize,
    max_delay: Duration,
}

impl Default for LiveHub {
    fn default() -> Self {
        LiveHub::new(DEFAULT_RING, DEFAULT_MAX_DELAY)
    }
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHub").field("channels", &self.lock().len()).field("ring", &self.ring).field("max_delay", &self.max_delay).finish()
    }
}

impl LiveHub {
    /// `ring`: frames kept for viewers that are behind; `max_delay`: how
    /// old a frame may be when a viewer reads it before it skips ahead.
    pub fn new(ring: usize, max_delay: Duration) -> LiveHub {
        LiveHub { channels: Arc::default(), ring: ring.max(1), max_delay }
    }

    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Arc<Channel>>> {
        self.channels.lock()
    }

    fn channel(&self, camera: &str, stream: Stream) -> Arc<Channel> {
        self.lock()
            .entry((camera.to_owned(), stream.as_str()))
            .or_insert_with(|| Arc::new(Channel { tx: broadcast::channel(self.ring).0, cache: Mutex::default(), arrivals: Arc::default() }))
            .clone()
    }

    /// The handle one camera stream's recorder publishes through.
    pub fn publisher(&self, camera: &str, stream: Stream) -> Publisher {
        Publisher { hold: Hold { channels: self.channels.clone(), key: (camera.to_owned(), stream.as_str()), channel: Some(self.channel(camera, stream)) } }
    }

    /// Starts watching a camera stream (which need not be up yet).
    pub fn subscribe(&self, camera: &str, stream: Stream) -> Subscription {
        let channel = self.channel(camera, stream);
        let cache = channel.lock();
        let rx = channel.tx.subscribe();
        let mut pending: Vec<LiveEvent> = Vec::with_capacity(cache.gop.len() + 1);
        if !cache.online {
            pending.push(LiveEvent::Offline);
        }
        pending.extend(cache.gop.iter().cloned().map(LiveEvent::Frame));
        // Without a cached key frame the viewer must wait for the next one.
        let skipping = cache.gop.is_empty();
        drop(cache);
        channel.arrivals.notify_one();
        pending.reverse();
        let key = (camera.to_owned(), stream.as_str());
        Subscription {
            pending,
            rx,
            skipping,
            dropped: 0,
            max_delay: self.max_delay,
            _hold: Hold { channels: self.channels.clone(), key, channel: Some(channel) },
        }
    }

    /// Camera streams with a channel (publisher or viewers), for metrics.
    pub fn streams(&self) -> Vec<(String, &'static str)> {
        self.lock().keys().cloned().collect()
    }
}

/// A publisher's or viewer's reference to its channel; the last one to go
/// removes the channel from the hub.
struct Hold {
    channels: Arc<Channels>,
    key: Key,
    channel: Option<Arc<Channel>>,
}

impl Hold {
    fn channel(&self) -> &Channel {
        self.channel.as_ref().expect("held until drop")
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        // Our reference must be gone before `release` counts them.
        drop(self.channel.take());
        self.channels.release(&self.key);
    }
}

/// Publishes one camera stream. Every method returns at once: frames are
/// never held back for viewers. Dropping it marks the stream offline.
pub struct Publisher {
    hold: Hold,
}

impl Publisher {
    /// A new camera session: timestamps restart, the GOP cache empties.
    pub fn online(&self) {
        let mut cache = self.hold.channel().lock();
        cache.online = true;
        cache.gop.clear();
        cache.bytes = 0;
        cache.overflowed = false;
        let _ = self.hold.channel().tx.send(Item::Online);
    }

    /// The camera stream went down.
    pub fn offline(&self) {
        let mut cache = self.hold.channel().lock();
        cache.online = false;
        cache.gop.clear();
        cache.bytes = 0;
        let _ = self.hold.channel().tx.send(Item::Offline);
    }

    /// Hands a frame to the viewers (none is fine).
    pub fn frame(&self, frame: Frame) {
        let live = LiveFrame { frame, arrived: Instant::now() };
        let mut cache = self.hold.channel().lock();
        cache.online = true;
        if live.frame.is_key {
            cache.gop.clear();
            cache.bytes = 0;
            cache.overflowed = false;
        }
        if !cache.overflowed && (live.frame.is_key || !cache.gop.is_empty()) {
            if cache.gop.len() < MAX_CACHED_FRAMES && cache.bytes + live.frame.data.len() <= MAX_CACHED_BYTES {
                cache.bytes += live.frame.data.len();
                cache.gop.push(live.clone());
            } else {
                cache.gop.clear();
                cache.bytes = 0;
                cache.overflowed = true;
            }
        }
        // Err only means nobody watches.
        let _ = self.hold.channel().tx.send(Item::Frame(live));
    }

    /// Viewers of this stream now.
    pub fn viewers(&self) -> usize {
        self.hold.channel().tx.receiver_count()
    }

    /// A handle that tells whether anyone watches, for the ingest session
    /// (which decides by it how often to read the camera's socket).
    pub fn watchers(&self) -> Watchers {
        let channel = self.hold.channel();
        Watchers { tx: channel.tx.clone(), arrivals: channel.arrivals.clone() }
    }
}

/// Whether a camera stream has viewers; see [`Publisher::watchers`].
#[derive(Clone)]
pub struct Watchers {
    tx: broadcast::Sender<Item>,
    arrivals: Arc<Notify>,
}

impl Watchers {
    pub fn any(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Notified (one permit, kept until taken) whenever a viewer
    /// subscribes, so that an ingest session waiting out a read batch can
    /// start reading packets as they arrive at once.
    pub fn arrivals(&self) -> Arc<Notify> {
        self.arrivals.clone()
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.offline();
    }
}

/// One viewer of one camera stream. Reading slower than real time costs
/// frames (skipped to the next key frame), never memory or the publisher's
/// time.
pub struct Subscription {
    /// Events to deliver before the ring's, last first.
    pending: Vec<LiveEvent>,
    rx: broadcast::Receiver<Item>,
    /// Dropping frames until a key frame.
    skipping: bool,
    /// Frames dropped since the last `Gap` was reported.
    dropped: u64,
    max_delay: Duration,
    /// Keeps the channel alive while watched.
    _hold: Hold,
}

impl Subscription {
    /// The next event; `None` only if the hub is gone.
    pub async fn next(&mut self) -> Option<LiveEvent> {
        if let Some(e) = self.pending.pop() {
            return Some(e);
        }
        loop {
            let item = match self.rx.recv().await {
                Ok(item) => item,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.fall_behind(n);
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            if let Some(e) = self.admit(item) {
                return Some(e);
            }
        }
    }

    /// Like [`next`](Self::next) but only what is ready now.
    pub fn try_next(&mut self) -> Option<LiveEvent> {
        if let Some(e) = self.pending.pop() {
            return Some(e);
        }
        loop {
            let item = match self.rx.try_recv() {
                Ok(item) => item,
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    self.fall_behind(n);
                    continue;
                }
                Err(_) => return None,
            };
            if let Some(e) = self.admit(item) {
                return Some(e);
            }
        }
    }

    fn fall_behind(&mut self, n: u64) {
        self.skipping = true;
        self.dropped += n;
    }

    /// Applies the skip rule to one ring item.
    fn admit(&mut self, item: Item) -> Option<LiveEvent> {
        match item {
            Item::Online => {
                // The old GOP's references are gone; wait for a key frame.
                self.skipping = true;
                self.dropped = 0;
                Some(LiveEvent::Online)
            }
            Item::Offline => {
                self.skipping = true;
                self.dropped = 0;
                Some(LiveEvent::Offline)
            }
            Item::Frame(f) => {
                if !self.skipping && !f.frame.is_key && f.arrived.elapsed() > self.max_delay {
                    // Too far behind real time: catch up at the next key frame.
                    self.skipping = true;
                }
                if self.skipping {
                    if !f.frame.is_key {
                        self.dropped += 1;
                        return None;
                    }
                    self.skipping = false;
                    if self.dropped > 0 {
                        let dropped = std::mem::take(&mut self.dropped);
                        self.pending.push(LiveEvent::Frame(f));
                        return Some(LiveEvent::Gap { dropped });
                    }
                }
                Some(LiveEvent::Frame(f))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Codec, VideoParams};
    use bytes::Bytes;
    use futures::FutureExt;

    fn frame(n: i64, gop: i64) -> Frame {
        Frame {
            timestamp_90k: n * 3000,
            is_key: n % gop == 0,
            data: Bytes::from(vec![0, 0, 0, 1, if n % gop == 0 { 0x65 } else { 0x41 }]),
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

    fn ts(e: &LiveEvent) -> i64 {
        match e {
            LiveEvent::Frame(f) => f.frame.timestamp_90k / 3000,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_new_viewer_starts_at_the_cached_key_frame() {
        let hub = Arc::new(LiveHub::default());
        let publisher = hub.publisher("cam", Stream::Main);
        publisher.online();
        for n in 0..13 {
            publisher.frame(frame(n, 5));
        }
        let mut sub = hub.subscribe("cam", Stream::Main);
        let got: Vec<i64> = (0..3).map(|_| ts(&sub.try_next().unwrap())).collect();
        assert_eq!(got, [10, 11, 12], "the cached GOP, from its key frame");
        assert!(sub.try_next().is_none());
        publisher.frame(frame(13, 5));
        assert_eq!(ts(&sub.next().await.unwrap()), 13, "then live, without a duplicate or a miss");
    }

    #[tokio::test]
    async fn a_viewer_before_the_first_key_frame_waits_for_it() {
        let hub = Arc::new(LiveHub::default());
        let mut sub = hub.subscribe("cam", Stream::Sub);
        assert!(matches!(sub.try_next(), Some(LiveEvent::Offline)));
        let publisher = hub.publisher("cam", Stream::Sub);
        publisher.online();
        assert!(matches!(sub.try_next(), Some(LiveEvent::Online)));
        for n in 3..7 {
            publisher.frame(frame(n, 5));
        }
        // Frames 3 and 4 have no key frame before them: not decodable.
        assert!(matches!(sub.try_next(), Some(LiveEvent::Gap { dropped: 2 })));
        assert_eq!(ts(&sub.try_next().unwrap()), 5);
        assert_eq!(ts(&sub.try_next().unwrap()), 6);
        drop(publisher);
        assert!(matches!(sub.try_next(), Some(LiveEvent::Offline)));
    }

    #[tokio::test]
    async fn a_viewer_that_never_reads_blocks_nobody_and_resumes_at_a_key_frame() {
        let hub = Arc::new(LiveHub::new(16, Duration::from_secs(3600)));
        let publisher = hub.publisher("cam", Stream::Main);
        publisher.online();
        let mut stuck = hub.subscribe("cam", Stream::Main);
        let mut reader = hub.subscribe("cam", Stream::Main);
        let _ = (stuck.try_next(), reader.try_next()); // nothing cached yet
        let mut seen = Vec::new();
        for n in 0..1000 {
            publisher.frame(frame(n, 30));
            while let Some(e) = reader.try_next() {
                seen.push(ts(&e));
            }
        }
        assert_eq!(seen, (0..1000).collect::<Vec<_>>(), "the reading viewer got every frame");
        // The stuck one lost all but the ring, and picks up at a key frame.
        match stuck.try_next() {
            Some(LiveEvent::Gap { dropped }) => assert!(dropped >= 1000 - 16, "dropped {dropped}"),
            other => panic!("expected a gap, got {other:?}"),
        }
        let resumed = ts(&stuck.try_next().unwrap());
        assert_eq!(resumed % 30, 0, "resumed at {resumed}, not a key frame");
        assert!(resumed >= 1000 - 16 - 30, "resumed at {resumed}: too far behind");
    }

    #[tokio::test]
    async fn stale_frames_are_skipped_to_the_next_key_frame() {
        let hub = Arc::new(LiveHub::new(256, Duration::from_millis(50)));
        let publisher = hub.publisher("cam", Stream::Main);
        publisher.online();
        let mut sub = hub.subscribe("cam", Stream::Main);
        let _ = sub.try_next();
        for n in 0..8 {
            publisher.frame(frame(n, 10));
        }
        assert_eq!(ts(&sub.try_next().unwrap()), 0);
        tokio::time::sleep(Duration::from_millis(80)).await;
        for n in 8..12 {
            publisher.frame(frame(n, 10));
        }
        // Frames 1..9 are older than 50 ms now; 10 is the next key frame.
        assert!(matches!(sub.try_next(), Some(LiveEvent::Gap { dropped: 9 })));
        assert_eq!(ts(&sub.try_next().unwrap()), 10);
        assert_eq!(ts(&sub.try_next().unwrap()), 11);
    }

    #[test]
    fn watchers_say_whether_anyone_subscribed() {
        let hub = Arc::new(LiveHub::default());
        let publisher = hub.publisher("cam", Stream::Main);
        let watchers = publisher.watchers();
        assert!(!watchers.any());
        let arrivals = watchers.arrivals();
        assert!(arrivals.notified().now_or_never().is_none(), "nobody arrived yet");
        let viewer = hub.subscribe("cam", Stream::Main);
        assert!(watchers.any(), "a viewer makes the ingest read packets as they arrive");
        assert!(arrivals.notified().now_or_never().is_some(), "and wakes a session waiting for its next batch");
        assert!(arrivals.notified().now_or_never().is_none(), "once per arrival");
        drop(viewer);
        assert!(!watchers.any());
    }

    #[test]
    fn channels_are_released_when_unused() {
        let hub = Arc::new(LiveHub::default());
        let publisher = hub.publisher("cam", Stream::Main);
        let sub = hub.subscribe("cam", Stream::Main);
        drop(publisher);
        assert_eq!(hub.streams().len(), 1, "still watched");
        drop(sub);
        assert!(hub.streams().is_empty());
        let _p = hub.publisher("cam", Stream::Main);
        assert_eq!(hub.streams().len(), 1);
    }
}
