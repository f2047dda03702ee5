//! Ground truth: what each frame of a scene's loop shows, in pixels of the
//! main stream. Serialised as JSON for analytics tests and benchmarks.
//!
//! A camera shows its scene's loop starting at a phase offset; the frame
//! index is also burnt into the picture (the on-screen display in the top
//! left corner reads `S<scene> <index>`), so a consumer can match any
//! received frame to its truth.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectClass {
    Person,
    Car,
    Bus,
    Motorcycle,
    Truck,
    Bicycle,
}

/// An axis-aligned box in pixels: `x`, `y` of the top-left corner, width
/// and height. Always inside the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PixelBox {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl PixelBox {
    pub fn right(&self) -> u32 {
        self.x + self.w
    }
    pub fn bottom(&self) -> u32 {
        self.y + self.h
    }
    pub fn intersects(&self, o: &PixelBox) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlateTruth {
    pub text: String,
    /// Issuing country, ISO 3166 alpha-2 ("RS" for Serbia).
    pub country: String,
    pub bbox: PixelBox,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectTruth {
    /// Stable across the frames of one scene's loop (and across loops).
    pub track_id: u32,
    pub class: ObjectClass,
    /// The visible part of the object.
    pub bbox: PixelBox,
    /// Part of the object is outside the frame.
    pub truncated: bool,
    /// A nearer object's box overlaps this one's.
    pub occluded: bool,
    /// For vehicles whose whole plate is inside the frame and not hidden
    /// by a nearer object.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub plate: Option<PlateTruth>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameTruth {
    /// Index in the scene's loop, 0-based; the same number the OSD shows.
    pub index: u32,
    /// Lighting: 1.0 is full daylight, lower is darker.
    pub brightness: f32,
    pub objects: Vec<ObjectTruth>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneTruth {
    pub scene: usize,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub loop_frames: u32,
    pub key_interval_frames: u32,
    /// Rows (in pixels) where the road is: for checks on object-free road.
    pub road_y: [u32; 2],
    pub frames: Vec<FrameTruth>,
}

/// Which scene a camera shows, and from where in the loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraTruth {
    pub id: String,
    pub scene: usize,
    /// The camera shows loop frame `(t + phase_frames) % loop_frames` at
    /// the simulator's frame tick `t`.
    pub phase_frames: u32,
}
