//! Video analytics on the sub-stream: decoding, motion, object detection,
//! tracking, licence-plate recognition and face redaction.
//!
//! Owns the models (manifest, hash check, installation from their
//! registry packages) and everything that turns pictures into detections.
//! It knows nothing about HTTP, storage or cameras' configuration: callers
//! hand it pictures and get plain values back.
//!
//! Invariant: nothing here identifies a person. Faces are found only to be
//! blurred; no face crop, feature, embedding or count leaves this crate.

pub mod analysis;
pub mod backend;
#[cfg(feature = "ort")]
pub mod backend_ort;
pub mod blazeface;
pub mod converted;
pub mod decode;
pub mod detect;
pub mod frame;
pub mod install;
pub mod live_redact;
pub mod model;
pub mod motion;
pub mod pipeline;
pub mod plates;
pub mod redact;
pub mod track;
pub mod zones;

pub use detect::{BBox, Detection, Detector, ObjectClass};
pub use frame::{load_image, rgb_from_i420, RgbImage};
pub use model::{load_onnx, manifest, model_dir, ModelError, ModelSpec};
