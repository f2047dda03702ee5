//! The routing trait: how far, and how long, from several origins to one
//! destination. The straight-line router is geometry only; road routers
//! (an OSRM client lives in `citywatch-dispatch`) implement the same trait.

use std::future::Future;
use std::pin::Pin;

use crate::ellipsoid::distance_m;

/// A point, WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

/// One origin's way to the destination.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leg {
    pub distance_m: f64,
    /// Travel time if the router knows it (a road router's driving time);
    /// `None` leaves the estimate to the caller's speed for the traveller.
    pub duration_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("routing failed: {0}")]
pub struct RouteError(pub String);

pub type RouteFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Option<Leg>>, RouteError>> + Send + 'a>>;

pub trait Router: Send + Sync {
    /// A short name for explanations ("straight line", "osrm").
    fn name(&self) -> &'static str;

    /// One entry per origin, in order; `None` where no route was found.
    fn legs<'a>(&'a self, origins: &'a [LatLon], destination: LatLon) -> RouteFuture<'a>;
}

/// The geodesic between origin and destination: no roads, no durations.
#[derive(Debug, Clone, Copy, Default)]
pub struct StraightLine;

impl StraightLine {
    pub fn leg(origin: LatLon, destination: LatLon) -> Leg {
        Leg { distance_m: distance_m(origin.lat, origin.lon, destination.lat, destination.lon), duration_s: None }
    }
}

impl Router for StraightLine {
    fn name(&self) -> &'static str {
        "straight line"
    }

    fn legs<'a>(&'a self, origins: &'a [LatLon], destination: LatLon) -> RouteFuture<'a> {
        let legs = origins.iter().map(|o| Some(Self::leg(*o, destination))).collect();
        Box::pin(std::future::ready(Ok(legs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_line_is_the_geodesic() {
        let a = LatLon { lat: 44.80, lon: 20.46 };
        let b = LatLon { lat: 44.81, lon: 20.46 };
        let leg = StraightLine::leg(a, b);
        let exact = crate::ellipsoid::distance_exact(a.lat, a.lon, b.lat, b.lon);
        assert!((leg.distance_m - exact).abs() < 1e-3, "{} vs {exact}", leg.distance_m);
        assert!((leg.distance_m - 1111.0).abs() < 5.0);
        assert_eq!(leg.duration_s, None);
    }
}
