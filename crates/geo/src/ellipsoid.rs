//! Distances and azimuths on the WGS84 ellipsoid.
//!
//! The exact answers come from Karney's algorithm (`geographiclib-rs`), which
//! costs about a microsecond. Most questions the index asks are about points
//! a few hundred metres apart, where a local tangent-plane formula on the
//! ellipsoid's radii of curvature is accurate to well under a millimetre and
//! costs a few nanoseconds. [`Near`] gives that fast answer together with an
//! error bound, so callers can decide on the fast value when it is clearly on
//! one side of a threshold and fall back to the exact one only near it: the
//! decisions are then exactly those of Karney's algorithm.

use geographiclib_rs::{Geodesic, InverseGeodesic};

pub const WGS84_A: f64 = 6_378_137.0;
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;
const E2: f64 = WGS84_F * (2.0 - WGS84_F);

/// Beyond this distance, or this close to a pole, the fast formula is not
/// trusted and the exact algorithm answers.
const FAST_MAX_M: f64 = 2_000.0;
const FAST_MAX_ABS_LAT: f64 = 80.0;

/// A fast distance/azimuth pair with bounds on how far they may be from the
/// exact geodesic values (checked against Karney's algorithm in the tests).
#[derive(Debug, Clone, Copy)]
pub struct Near {
    pub distance_m: f64,
    pub azimuth_deg: f64,
    pub distance_err_m: f64,
    pub azimuth_err_deg: f64,
}

/// Exact geodesic distance in metres.
pub fn distance_exact(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    InverseGeodesic::<f64>::inverse(&Geodesic::wgs84(), lat1, lon1, lat2, lon2)
}

/// Exact geodesic distance (metres) and initial azimuth (degrees, clockwise
/// from north, in [0, 360)) from point 1 towards point 2.
pub fn distance_azimuth_exact(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> (f64, f64) {
    let (s12, azi1, _azi2, _a12): (f64, f64, f64, f64) = Geodesic::wgs84().inverse(lat1, lon1, lat2, lon2);
    (s12, azi1.rem_euclid(360.0))
}

/// East and north offsets in metres of point 2 from point 1 in a local
/// tangent plane, using the meridional and prime-vertical radii of curvature
/// at the mid-latitude.
pub fn local_offset_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> (f64, f64) {
    let phi_m = ((lat1 + lat2) * 0.5).to_radians();
    let s = phi_m.sin();
    let w2 = 1.0 - E2 * s * s;
    let w = w2.sqrt();
    let n = WGS84_A / w; // prime vertical radius
    let m = WGS84_A * (1.0 - E2) / (w2 * w); // meridional radius
    let dlon = wrap_lon_delta(lon2 - lon1).to_radians();
    let dlat = (lat2 - lat1).to_radians();
    (dlon * n * phi_m.cos(), dlat * m)
}

/// The fast answer, or `None` where it is not trusted (far apart, polar, or
/// so close that the azimuth is ill-conditioned).
pub fn near(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> Option<Near> {
    if lat1.abs() > FAST_MAX_ABS_LAT || lat2.abs() > FAST_MAX_ABS_LAT {
        return None;
    }
    let (e, n) = local_offset_m(lat1, lon1, lat2, lon2);
    let d = e.hypot(n);
    if !(1.0..=FAST_MAX_M).contains(&d) {
        return None;
    }
    // The chord direction at the midpoint differs from the initial azimuth by
    // half the meridian convergence over the path.
    let convergence = wrap_lon_delta(lon2 - lon1) * ((lat1 + lat2) * 0.5).to_radians().sin();
    let azimuth = (e.atan2(n).to_degrees() - convergence * 0.5).rem_euclid(360.0);
    // Bounds: second-order terms in d/R, scaled up for latitude and with a
    // floor well above f64 noise. The tests check them against Karney.
    let rel = (d / WGS84_A).powi(2) * 40.0;
    Some(Near { distance_m: d, azimuth_deg: azimuth, distance_err_m: d * rel + 1e-6, azimuth_err_deg: (d / WGS84_A).to_degrees() * 0.05 + 1e-7 })
}

/// Geodesic distance in metres: fast where trusted (error below a
/// millimetre), exact otherwise.
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    match near(lat1, lon1, lat2, lon2) {
        Some(n) => n.distance_m,
        None => distance_exact(lat1, lon1, lat2, lon2),
    }
}

/// Whether the geodesic distance is at most `limit_m`, decided as Karney's
/// algorithm would decide it.
pub fn within(lat1: f64, lon1: f64, lat2: f64, lon2: f64, limit_m: f64) -> (bool, f64) {
    if let Some(n) = near(lat1, lon1, lat2, lon2) {
        if n.distance_m + n.distance_err_m < limit_m {
            return (true, n.distance_m);
        }
        if n.distance_m - n.distance_err_m > limit_m {
            return (false, n.distance_m);
        }
    }
    let d = distance_exact(lat1, lon1, lat2, lon2);
    (d <= limit_m, d)
}

/// `a - b` for longitudes, in (-180, 180].
pub fn wrap_lon_delta(delta: f64) -> f64 {
    let d = (delta + 180.0).rem_euclid(360.0) - 180.0;
    if d == -180.0 {
        180.0
    } else {
        d
    }
}

/// Smallest angle between two bearings, in [0, 180].
pub fn bearing_difference(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

/// No geodesic on WGS84 bends faster than the meridian at the equator, whose
/// radius of curvature is the ellipsoid's smallest.
const MIN_RADIUS_OF_CURVATURE_M: f64 = WGS84_A * (1.0 - E2);
/// Chords up to this length are turned into geodesic bounds without trigonometry.
const CHORD_FAST_MAX_M: f64 = 2_000.0;
/// Rounding of earth-centred coordinates computed in f64 (a few ulps of 6.4e6 m), with room to spare.
const ECEF_ROUNDING_M: f64 = 1e-6;

/// Bounds `(lower, upper)` on the geodesic distance between two surface
/// points whose earth-centred coordinates are `chord_m` apart, for chords
/// up to 2 km. A curve whose curvature never exceeds κ has arc length s and
/// chord c with s − c ≤ κ²s³/24; a geodesic's curvature is the surface's
/// normal curvature along it, at most 1/(a(1−e²)). At 2 km the bracket is
/// about 10 µm wide.
pub fn geodesic_bounds_from_chord(chord_m: f64) -> Option<(f64, f64)> {
    if chord_m > CHORD_FAST_MAX_M {
        return None;
    }
    let s_max = chord_m * (1.0 + 1e-9) + ECEF_ROUNDING_M;
    let excess = s_max.powi(3) / (24.0 * MIN_RADIUS_OF_CURVATURE_M * MIN_RADIUS_OF_CURVATURE_M);
    Some(((chord_m - ECEF_ROUNDING_M).max(0.0), chord_m + excess + ECEF_ROUNDING_M))
}

pub fn chord_m(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// Earth-centred, earth-fixed coordinates (metres) of a point on the
/// ellipsoid surface. The straight line between two such points is never
/// longer than the geodesic between them, which makes it a safe lower bound
/// for pruning spatial searches.
pub fn ecef(lat: f64, lon: f64) -> [f64; 3] {
    let (sp, cp) = lat.to_radians().sin_cos();
    let (sl, cl) = lon.to_radians().sin_cos();
    let n = WGS84_A / (1.0 - E2 * sp * sp).sqrt();
    [n * cp * cl, n * cp * sl, n * (1.0 - E2) * sp]
}

/// Bounds of the ECEF surface points inside a latitude/longitude box
/// (`lon_min <= lon_max`, no antimeridian crossing), as min and max corners.
pub fn ecef_bounds_of_box(lat_min: f64, lat_max: f64, lon_min: f64, lon_max: f64) -> ([f64; 3], [f64; 3]) {
    // r(lat) = N cos(lat) is largest nearest the equator; z grows with lat.
    let radius = |lat: f64| {
        let (sp, cp) = lat.to_radians().sin_cos();
        WGS84_A / (1.0 - E2 * sp * sp).sqrt() * cp
    };
    let z = |lat: f64| ecef(lat, 0.0)[2];
    let r_max = if lat_min <= 0.0 && lat_max >= 0.0 { radius(0.0) } else { radius(lat_min).max(radius(lat_max)) };
    let r_min = radius(lat_min).min(radius(lat_max));
    let (cos_min, cos_max) = trig_range(lon_min, lon_max, 0.0);
    let (sin_min, sin_max) = trig_range(lon_min, lon_max, 90.0);
    let prod = |a: f64, b: f64, r1: f64, r2: f64| {
        let v = [a * r1, a * r2, b * r1, b * r2];
        (v.iter().cloned().fold(f64::INFINITY, f64::min), v.iter().cloned().fold(f64::NEG_INFINITY, f64::max))
    };
    let (x0, x1) = prod(cos_min, cos_max, r_min, r_max);
    let (y0, y1) = prod(sin_min, sin_max, r_min, r_max);
    ([x0, y0, z(lat_min)], [x1, y1, z(lat_max)])
}

/// Range of cos(lon - phase) over [lon_min, lon_max] degrees (phase 90 gives sin).
fn trig_range(lon_min: f64, lon_max: f64, phase: f64) -> (f64, f64) {
    let f = |l: f64| (l - phase).to_radians().cos();
    let (mut lo, mut hi) = (f(lon_min).min(f(lon_max)), f(lon_min).max(f(lon_max)));
    // Extremes inside the interval where lon - phase is a multiple of 180.
    let mut k = ((lon_min - phase) / 180.0).ceil();
    while phase + k * 180.0 <= lon_max {
        let v = if (k as i64).rem_euclid(2) == 0 { 1.0 } else { -1.0 };
        lo = lo.min(v);
        hi = hi.max(v);
        k += 1.0;
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn fast_values_are_within_their_bounds(
            lat in -80.0f64..80.0, lon in -180.0f64..180.0,
            dist in 0.0f64..2500.0, az in 0.0f64..360.0,
        ) {
            // A second point at a known geodesic distance and azimuth.
            use geographiclib_rs::DirectGeodesic;
            let (lat2, lon2): (f64, f64) = Geodesic::wgs84().direct(lat, lon, az, dist);
            if let Some(n) = near(lat, lon, lat2, lon2) {
                let (s, a) = distance_azimuth_exact(lat, lon, lat2, lon2);
                prop_assert!((n.distance_m - s).abs() <= n.distance_err_m,
                    "distance {} vs {} bound {}", n.distance_m, s, n.distance_err_m);
                prop_assert!(bearing_difference(n.azimuth_deg, a) <= n.azimuth_err_deg,
                    "azimuth {} vs {} bound {}", n.azimuth_deg, a, n.azimuth_err_deg);
            }
        }

        #[test]
        fn chord_bounds_bracket_the_geodesic(
            lat in -89.9f64..89.9, lon in -180.0f64..180.0,
            dist in 0.0f64..2100.0, az in 0.0f64..360.0,
        ) {
            use geographiclib_rs::DirectGeodesic;
            let (lat2, lon2): (f64, f64) = Geodesic::wgs84().direct(lat, lon, az, dist);
            let c = chord_m(ecef(lat, lon), ecef(lat2, lon2));
            if let Some((lo, hi)) = geodesic_bounds_from_chord(c) {
                let s = distance_exact(lat, lon, lat2, lon2);
                prop_assert!(lo <= s && s <= hi, "{} not in [{}, {}]", s, lo, hi);
                prop_assert!(hi - lo < 1e-4);
            }
        }

        #[test]
        fn chord_never_exceeds_geodesic(
            lat in -89.0f64..89.0, lon in -180.0f64..180.0,
            lat2 in -89.0f64..89.0, lon2 in -180.0f64..180.0,
        ) {
            let a = ecef(lat, lon);
            let b = ecef(lat2, lon2);
            let chord = ((a[0]-b[0]).powi(2) + (a[1]-b[1]).powi(2) + (a[2]-b[2]).powi(2)).sqrt();
            prop_assert!(chord <= distance_exact(lat, lon, lat2, lon2) + 1e-6);
        }

        #[test]
        fn box_bounds_contain_every_point_of_the_box(
            lat_min in -89.0f64..89.0, dlat in 0.0f64..20.0,
            lon_min in -180.0f64..180.0, dlon in 0.0f64..200.0,
            u in 0.0f64..1.0, v in 0.0f64..1.0,
        ) {
            let lat_max = (lat_min + dlat).min(90.0);
            let lon_max = lon_min + dlon;
            let (lo, hi) = ecef_bounds_of_box(lat_min, lat_max, lon_min, lon_max);
            let p = ecef(lat_min + u * (lat_max - lat_min), lon_min + v * (lon_max - lon_min));
            for i in 0..3 {
                prop_assert!(p[i] >= lo[i] - 1e-6 && p[i] <= hi[i] + 1e-6, "axis {} {} not in [{}, {}]", i, p[i], lo[i], hi[i]);
            }
        }
    }

    #[test]
    fn bearing_difference_wraps() {
        assert_eq!(bearing_difference(350.0, 10.0), 20.0);
        assert_eq!(bearing_difference(0.0, 180.0), 180.0);
        assert_eq!(wrap_lon_delta(359.0), -1.0);
    }
}
