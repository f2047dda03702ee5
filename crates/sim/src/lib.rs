//! The simulated city: the demo's districts, streets and cameras, and the
//! cameras' video.
//!
//! Owns everything made up for demos and tests. Nothing in production paths
//! depends on it; it produces ordinary domain values (cameras, districts)
//! that go through the same import path as a real city's data, and ordinary
//! RTSP/H.264 streams that the same ingest pulls as from real cameras.
//!
//! The video side: [`scene`] describes synthetic street scenes (vehicles
//! with licence plates, pedestrians as simple shapes — never a face —,
//! changing light), [`render`] draws them and their ground truth
//! ([`truth`]), [`encode`] encodes each scene's loop once with OpenH264,
//! [`cameras`] maps `cam-NNNN` to a scene and phase, and [`rtsp`] serves
//! them all from one process.
//!
//! The demo's activity: [`patrol`] moves units along the street grid
//! (positions over time, no clock), and [`sightings`] says which plates
//! the cameras really show, for the demo's hotlist hits until plate
//! recognition exists.

mod cameras;
mod city;
mod clock;
pub mod encode;
pub mod font;
pub mod patrol;
pub mod plate_font;
pub mod plates;
pub mod render;
pub mod rtp;
pub mod rtsp;
pub mod scene;
pub mod sightings;
pub mod truth;

pub use cameras::{camera_id, SimConfig, Simulator, StreamConfig, StreamKind};
pub use city::{demo_city, demo_city_at, demo_roads, district_names, DemoCity, BELGRADE, DEFAULT_RTSP_AUTHORITY, RECORDED_TAG};
pub use encode::EncodeCache;
pub use rtsp::{serve, SimServer};

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("simulator configuration: {0}")]
    Config(String),
    #[error("encoding scene {scene} at {width}x{height}: {detail}")]
    Encode { scene: usize, width: u16, height: u16, detail: String },
    #[error("writing {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("cannot serve simulated cameras on {addr}: {source}")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
}
