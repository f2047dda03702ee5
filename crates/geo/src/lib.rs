//! Geodesy and the spatial index of cameras.
//!
//! Owns: distances and azimuths on the WGS84 ellipsoid, field-of-view
//! sectors, polygons and routes, and [`CameraIndex`], which answers "within
//! R metres", "K nearest", "inside this box/polygon", "near this route" and
//! "which cameras see this point"; the routing trait ([`routing::Router`])
//! with its straight-line implementation, and a built-in road network with
//! A* routing ([`roads`]). It holds geometry only: no camera
//! records, no persistence, no notion of who may see what (callers filter).

pub mod ellipsoid;
mod index;
pub mod packed_rtree;
mod polygon;
pub mod roads;
pub mod routing;

pub use index::{densify_route, distance_to_pieces_m, sector_contains, sector_contains_exact, CameraGeometry, CameraIndex, Hit};
pub use polygon::{parse_positions, route_from_geojson, Area, Polygon};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    #[error("{0}")]
    Invalid(String),
}
