//! The simulated city: the demo's districts, streets and cameras.
//!
//! Owns everything made up for demos and tests (later also the simulated
//! RTSP cameras and moving units). Nothing in production paths depends on
//! it; it produces ordinary domain values that go through the same import
//! path as a real city's data.

mod city;

pub use city::{demo_city, DemoCity, BELGRADE};
