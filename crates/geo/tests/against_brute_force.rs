//! Every query kind of the index against a linear scan that uses Karney's
//! geodesic algorithm directly.

use citywatch_geo::ellipsoid::{distance_exact, ecef};
use citywatch_geo::{densify_route, distance_to_pieces_m, sector_contains_exact, Area, CameraGeometry, CameraIndex, Hit};
use geographiclib_rs::{DirectGeodesic, Geodesic};
use proptest::prelude::*;

fn ids(hits: &[Hit<'_>]) -> Vec<String> {
    hits.iter().map(|h| h.id.to_owned()).collect()
}

/// Cameras scattered over a few km around a centre anywhere on earth.
fn cameras(center: (f64, f64), spread_m: f64) -> impl Strategy<Value = Vec<CameraGeometry>> {
    proptest::collection::vec((0.0f64..360.0, 0.0f64..1.0, 0.0f64..360.0, 1.0f64..360.0, 0.0f64..400.0), 1..120).prop_map(move |raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (az, r, heading, fov, range))| {
                let (lat, lon): (f64, f64) = Geodesic::wgs84().direct(center.0, center.1, az, r * spread_m);
                // Some cameras see all round.
                let fov = if i % 7 == 0 { 360.0 } else { fov };
                CameraGeometry { id: format!("c{i:03}"), lat, lon, heading_deg: heading, fov_deg: fov, range_m: range }
            })
            .collect()
    })
}

fn center() -> impl Strategy<Value = (f64, f64)> {
    prop_oneof![Just((44.8125, 20.4612)), (-70.0f64..70.0, -179.0f64..179.0), Just((0.0, 179.99)), Just((78.0, 15.6)),]
}

fn offset(c: (f64, f64), az: f64, d: f64) -> (f64, f64) {
    Geodesic::wgs84().direct(c.0, c.1, az, d)
}

fn scenario() -> impl Strategy<Value = (Vec<CameraGeometry>, (f64, f64), f64, f64)> {
    center().prop_flat_map(|c| (cameras(c, 3000.0), Just(c), 0.0f64..360.0, 0.0f64..3000.0))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    #[test]
    fn radius_matches_brute_force((cams, c, az, d) in scenario(), radius in 0.0f64..1500.0) {
        let index = CameraIndex::build(cams.clone());
        let q = offset(c, az, d);
        let got = index.within_radius(q.0, q.1, radius);
        let mut want: Vec<(f64, String)> = cams.iter()
            .map(|k| (distance_exact(q.0, q.1, k.lat, k.lon), k.id.clone()))
            .filter(|(s, _)| *s <= radius).collect();
        want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut got_ids = ids(&got); got_ids.sort();
        let mut want_ids: Vec<String> = want.iter().map(|w| w.1.clone()).collect(); want_ids.sort();
        prop_assert_eq!(got_ids, want_ids);
        for h in &got {
            let exact = cams.iter().find(|k| k.id == h.id).map(|k| distance_exact(q.0, q.1, k.lat, k.lon)).unwrap();
            prop_assert!((h.distance_m - exact).abs() < 0.01, "distance {} vs {}", h.distance_m, exact);
        }
        prop_assert!(got.windows(2).all(|w| w[0].distance_m <= w[1].distance_m));
    }

    #[test]
    fn radius_edge_points_are_decided_exactly((cams, _c, _az, _d) in scenario(), pick in 0usize..1000, eps in -0.002f64..0.002) {
        // A query radius within millimetres of a camera's exact distance.
        let index = CameraIndex::build(cams.clone());
        let k = &cams[pick % cams.len()];
        let q = offset((k.lat, k.lon), 37.0, 250.0);
        let radius = distance_exact(q.0, q.1, k.lat, k.lon) + eps;
        let inside = index.within_radius(q.0, q.1, radius).iter().any(|h| h.id == k.id);
        prop_assert_eq!(inside, distance_exact(q.0, q.1, k.lat, k.lon) <= radius);
    }

    #[test]
    fn nearest_matches_brute_force((cams, c, az, d) in scenario(), k in 0usize..12) {
        let index = CameraIndex::build(cams.clone());
        let q = offset(c, az, d);
        let got = index.nearest(q.0, q.1, k, |_| true);
        let mut want: Vec<(f64, String)> = cams.iter().map(|k| (distance_exact(q.0, q.1, k.lat, k.lon), k.id.clone())).collect();
        want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        want.truncate(k);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            // Equal up to ties closer than the fast formula's error.
            prop_assert!((g.distance_m - w.0).abs() < 0.01, "{:?} vs {:?}", g, w);
        }
    }

    #[test]
    fn nearest_respects_the_filter((cams, c, _az, _d) in scenario()) {
        let index = CameraIndex::build(cams.clone());
        let got = index.nearest(c.0, c.1, 5, |id| id.ends_with('1'));
        prop_assert!(got.iter().all(|h| h.id.ends_with('1')));
        let eligible = cams.iter().filter(|k| k.id.ends_with('1')).count();
        prop_assert_eq!(got.len(), eligible.min(5));
    }

    #[test]
    fn sees_matches_brute_force((cams, c, az, d) in scenario()) {
        let index = CameraIndex::build(cams.clone());
        let q = offset(c, az, d.min(600.0));
        let got = index.seeing(q.0, q.1);
        let want: Vec<String> = cams.iter()
            .filter(|k| sector_contains_exact(k.lat, k.lon, k.heading_deg, k.fov_deg, k.range_m, q.0, q.1).is_some())
            .map(|k| k.id.clone()).collect();
        let mut got_ids = ids(&got); got_ids.sort();
        prop_assert_eq!(got_ids, want);
    }

    #[test]
    fn sees_decides_points_on_sector_edges_exactly(
        (cams, _c, _az, _d) in scenario(), pick in 0usize..1000,
        edge in 0usize..3, along in 0.0f64..1.0, eps in -1e-4f64..1e-4,
    ) {
        // Points within a hair of the two edges of the cone and of its arc.
        let index = CameraIndex::build(cams.clone());
        let k = &cams[pick % cams.len()];
        let (az, dist) = match edge {
            0 => (k.heading_deg - k.fov_deg / 2.0 + eps, along * k.range_m),
            1 => (k.heading_deg + k.fov_deg / 2.0 + eps, along * k.range_m),
            _ => (k.heading_deg + (along - 0.5) * k.fov_deg, k.range_m * (1.0 + eps)),
        };
        let q = offset((k.lat, k.lon), az, dist);
        let seen = index.seeing(q.0, q.1).iter().any(|h| h.id == k.id);
        let want = sector_contains_exact(k.lat, k.lon, k.heading_deg, k.fov_deg, k.range_m, q.0, q.1).is_some();
        prop_assert_eq!(seen, want);
    }

    #[test]
    fn bbox_matches_brute_force((cams, c, _az, _d) in scenario(), w in 0.0f64..0.05, h in 0.0f64..0.05, dx in -0.03f64..0.03, dy in -0.03f64..0.03) {
        let index = CameraIndex::build(cams.clone());
        let min_lat = (c.0 + dy - h).max(-90.0);
        let max_lat = (c.0 + dy + h).min(90.0);
        let wrap = |l: f64| if l > 180.0 { l - 360.0 } else if l < -180.0 { l + 360.0 } else { l };
        let (min_lon, max_lon) = (wrap(c.1 + dx - w), wrap(c.1 + dx + w));
        let got = index.in_bbox(min_lon, min_lat, max_lon, max_lat).unwrap();
        let in_lon = |lon: f64| if min_lon <= max_lon { lon >= min_lon && lon <= max_lon } else { lon >= min_lon || lon <= max_lon };
        let want: Vec<String> = cams.iter().filter(|k| k.lat >= min_lat && k.lat <= max_lat && in_lon(k.lon)).map(|k| k.id.clone()).collect();
        let mut got_ids = ids(&got); got_ids.sort();
        prop_assert_eq!(got_ids, want);
    }

    #[test]
    fn polygon_matches_brute_force((cams, c, _az, _d) in scenario(), radii in proptest::collection::vec(200.0f64..3000.0, 3..9)) {
        prop_assume!(c.1.abs() < 179.0);
        let index = CameraIndex::build(cams.clone());
        let n = radii.len();
        let mut ring: Vec<[f64; 2]> = radii.iter().enumerate().map(|(i, r)| {
            let p = offset(c, i as f64 * 360.0 / n as f64, *r);
            [p.1, p.0]
        }).collect();
        ring.push(ring[0]);
        let area = Area::from_geojson(&serde_json::json!({"type": "Polygon", "coordinates": [ring]})).unwrap();
        let got = index.in_area(&area);
        let want: Vec<String> = cams.iter().filter(|k| area.contains(k.lon, k.lat)).map(|k| k.id.clone()).collect();
        let mut got_ids = ids(&got); got_ids.sort();
        prop_assert_eq!(got_ids, want);
    }

    #[test]
    fn route_matches_brute_force((cams, c, az, _d) in scenario(), legs in proptest::collection::vec((0.0f64..360.0, 50.0f64..2000.0), 1..5), within_m in 0.0f64..300.0) {
        let index = CameraIndex::build(cams.clone());
        let mut p = offset(c, az, 500.0);
        let mut route = vec![[p.1, p.0]];
        for (a, len) in legs {
            p = offset(p, a, len);
            route.push([p.1, p.0]);
        }
        let got = index.near_route(&route, within_m);
        let pieces = densify_route(&route);
        let want: Vec<String> = cams.iter().filter(|k| distance_to_pieces_m(k.lat, k.lon, &pieces) <= within_m).map(|k| k.id.clone()).collect();
        let mut got_ids = ids(&got); got_ids.sort();
        prop_assert_eq!(got_ids, want);
        // The local-plane route distance is close to a geodesic one at these scales.
        for h in &got {
            let k = cams.iter().find(|k| k.id == h.id).unwrap();
            let nearest_vertex = pieces.iter().map(|v| distance_exact(k.lat, k.lon, v[1], v[0])).fold(f64::INFINITY, f64::min);
            prop_assert!(h.distance_m <= nearest_vertex + 0.01);
        }
    }

    #[test]
    fn changes_replace_and_remove((cams, _c, _az, _d) in scenario()) {
        let index = CameraIndex::build(cams.clone());
        let mut moved = cams[0].clone();
        moved.lat = (moved.lat + 0.5).min(89.0);
        let removed = vec![cams[cams.len() - 1].id.clone()];
        let next = index.with_changes(vec![moved.clone()], &removed);
        let expected = if cams.len() == 1 { 1 } else { cams.len() - 1 };
        prop_assert_eq!(next.len(), expected);
        let near = next.within_radius(moved.lat, moved.lon, 0.5);
        prop_assert!(near.iter().any(|h| h.id == moved.id));
    }
}

#[test]
fn ecef_is_metres_from_the_centre() {
    let p = ecef(0.0, 0.0);
    assert!((p[0] - 6_378_137.0).abs() < 1e-6);
}
