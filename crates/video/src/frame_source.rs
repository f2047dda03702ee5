//! The seam between those who read live frames (the API's live view, its
//! face-blurring transcoders, analytics) and where the frames come from.
//!
//! In one process that is the [`LiveHub`] the recorders publish into. On a
//! cluster the recorder of a camera may run on another node; a frame
//! source there subscribes to that node's stream (NATS or HTTP, see
//! `docs/design/seams.md`) and relays it into a local hub.

use std::time::Duration;

use crate::live::{LiveHub, Subscription};
use crate::recorder::Stream;

/// Live frames of camera streams, for those who watch or analyse them.
///
/// `subscribe` returns the hub's concrete [`Subscription`] rather than a
/// boxed trait object: its `next` is async (which `dyn` cannot call), and
/// the rule that a viewer falling behind skips to the next key frame must
/// be the same whoever supplies the frames. A source whose frames arrive
/// from elsewhere therefore relays them into a [`LiveHub`] of its own and
/// hands out that hub's subscriptions, as the API's face-blurring
/// transcoders already do.
pub trait FrameSource: Send + Sync {
    /// Starts watching a camera stream (which need not be up yet): the
    /// current GOP from its key frame first, so a player can start at once,
    /// then the live frames; [`crate::live::LiveEvent`] says when the
    /// stream goes on- or offline or this viewer skipped ahead.
    fn subscribe(&self, camera: &str, stream: Stream) -> Subscription;

    /// How old a frame may be when a viewer reads it before the viewer
    /// skips ahead; a relay of these frames keeps the same bound.
    fn max_delay(&self) -> Duration;
}

impl FrameSource for LiveHub {
    fn subscribe(&self, camera: &str, stream: Stream) -> Subscription {
        LiveHub::subscribe(self, camera, stream)
    }

    fn max_delay(&self) -> Duration {
        LiveHub::max_delay(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::LiveEvent;
    use std::sync::Arc;

    #[test]
    fn the_hub_as_a_frame_source_shows_its_streams_state() {
        let hub = Arc::new(LiveHub::new(8, Duration::from_millis(300)));
        let source: Arc<dyn FrameSource> = hub.clone();
        assert_eq!(source.max_delay(), Duration::from_millis(300));
        let mut before = source.subscribe("cam", Stream::Sub);
        assert!(matches!(before.try_next(), Some(LiveEvent::Offline)), "nobody publishes yet");
        let publisher = hub.publisher("cam", Stream::Sub);
        publisher.online();
        assert!(matches!(before.try_next(), Some(LiveEvent::Online)));
        assert_eq!(publisher.viewers(), 1, "the subscription through the trait is the hub's own");
    }
}
