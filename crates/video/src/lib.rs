//! Video: RTSP ingest, recording without transcoding, the sample-file store
//! and its index, MP4 and fragmented-MP4 building, and the live hub.
//!
//! Owns everything between a camera's RTSP server and the bytes of an MP4.
//! It never decodes or re-encodes video: frames are stored as the camera
//! sent them (Moonfire NVR's design). It knows nothing of HTTP, users or
//! analytics; callers pass it cameras and get frames, recordings and files.

pub mod aio_batch;
pub mod append_file;
pub mod camera_recorder;
pub mod check;
pub mod disk_writer;
pub mod fmp4;
pub mod frame;
pub mod frame_index;
pub mod frame_source;
pub mod free_space;
pub mod health;
pub mod ingest;
pub mod live;
pub mod mp4;
pub mod playback;
pub mod recorder;
#[cfg(any(test, feature = "conformance"))]
pub mod recording_conformance;
#[cfg(test)]
mod recording_conformance_sqlite;
pub mod recording_repo;
pub mod recording_source;
pub mod recovery;
pub mod retention;
pub mod sample_bytes;
pub mod sample_dir;
mod sqlite_recording_repo;

pub use frame::{split_annex_b, Codec, Frame, VideoParams};
pub use recording_repo::RecordingRepo;
