//! A street grid centred on Belgrade with ten districts and cameras at
//! intersections looking along the streets. Deterministic for a given seed.

use citywatch_model::{CameraUpdate, District};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// (lat, lon) of the demo city's centre.
pub const BELGRADE: (f64, f64) = (44.8125, 20.4612);
/// Where the demo's cameras are served unless told otherwise
/// (`citywatch demo --sim-listen`).
pub const DEFAULT_RTSP_AUTHORITY: &str = "127.0.0.1:8554";
/// Tag of the demo cameras that record (`[video] record_tag`): recording
/// all 240 would be too much for a laptop.
pub const RECORDED_TAG: &str = "recorded";
/// How many demo cameras carry [`RECORDED_TAG`].
const RECORDED_CAMERAS: usize = 16;

const DISTRICT_NAMES: [&str; 10] =
    ["Zemun", "Novi Beograd", "Stari Grad", "Palilula", "Zvezdara", "Čukarica", "Savski Venac", "Vračar", "Voždovac", "Rakovica"];
/// The grid is turned so that streets are not all north–south.
const GRID_ROTATION_DEG: f64 = 14.0;
const BLOCK_M: f64 = 160.0;
const MAJOR_EVERY: i32 = 4;
/// Districts are 5 × 2 tiles of this size, in metres.
const TILE_W_M: f64 = 1_600.0;
const TILE_H_M: f64 = 2_400.0;

pub struct DemoCity {
    pub center: (f64, f64),
    pub districts: Vec<District>,
    pub cameras: Vec<CameraUpdate>,
    /// GeoJSON FeatureCollection of streets (`kind` major/minor) and districts,
    /// served to the console as its offline base layer.
    pub basemap: Value,
}

/// Local east/north metres around the centre, rotated onto the grid, to lon/lat.
pub(crate) struct Frame {
    lat0: f64,
    lon0: f64,
    m_per_deg_lat: f64,
    m_per_deg_lon: f64,
    rot: f64,
}

impl Frame {
    pub(crate) fn new((lat0, lon0): (f64, f64)) -> Frame {
        // WGS84 radii of curvature at the centre.
        let a = 6_378_137.0;
        let e2 = 0.006_694_379_990_14;
        let s = lat0.to_radians().sin();
        let w2 = 1.0 - e2 * s * s;
        let n = a / w2.sqrt();
        let m = a * (1.0 - e2) / (w2 * w2.sqrt());
        Frame { lat0, lon0, m_per_deg_lat: m.to_radians(), m_per_deg_lon: (n * lat0.to_radians().cos()).to_radians(), rot: GRID_ROTATION_DEG.to_radians() }
    }

    /// Grid coordinates (u along the grid's "east" streets, v along its "north" ones) to [lon, lat].
    pub(crate) fn lon_lat(&self, u: f64, v: f64) -> [f64; 2] {
        let (s, c) = self.rot.sin_cos();
        let east = u * c + v * s;
        let north = -u * s + v * c;
        [round7(self.lon0 + east / self.m_per_deg_lon), round7(self.lat0 + north / self.m_per_deg_lat)]
    }

    /// The inverse of [`Frame::lon_lat`] (without its rounding): (u, v) in metres.
    pub(crate) fn grid(&self, lat: f64, lon: f64) -> (f64, f64) {
        let east = (lon - self.lon0) * self.m_per_deg_lon;
        let north = (lat - self.lat0) * self.m_per_deg_lat;
        let (s, c) = self.rot.sin_cos();
        (east * c - north * s, east * s + north * c)
    }

    /// Compass bearing (degrees from north, clockwise) of a move by (du, dv) on the grid.
    pub(crate) fn bearing_deg(&self, du: f64, dv: f64) -> f64 {
        let (s, c) = self.rot.sin_cos();
        let (east, north) = (du * c + dv * s, -du * s + dv * c);
        east.atan2(north).to_degrees().rem_euclid(360.0)
    }
}

/// The street grid of the demo city in grid metres: (u, v) of its south-west
/// corner, the block size, and the whole city's size.
pub(crate) const GRID_BLOCK_M: f64 = BLOCK_M;
pub(crate) const CITY_W_M: f64 = TILE_W_M * 5.0;
pub(crate) const CITY_H_M: f64 = TILE_H_M * 2.0;

/// The grid rectangle of district `i` (0-based, in [`district_names`] order):
/// (u_min, v_min, u_max, v_max), metres; its edges are streets.
pub(crate) fn district_rect(i: usize) -> (f64, f64, f64, f64) {
    let (u0, v0) = (-CITY_W_M / 2.0, -CITY_H_M / 2.0);
    let (col, row) = ((i % 5) as f64, ((i / 5) % 2) as f64);
    let (ua, va) = (u0 + col * TILE_W_M, v0 + (1.0 - row) * TILE_H_M);
    (ua, va, ua + TILE_W_M, va + TILE_H_M)
}

/// The demo city's district names, in the order of [`DemoCity::districts`].
pub fn district_names() -> &'static [&'static str] {
    &DISTRICT_NAMES
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// The demo city with cameras at `rtsp://127.0.0.1:8554/cam-NNNN/{main,sub}`.
pub fn demo_city(seed: u64, cameras_per_district: usize) -> DemoCity {
    demo_city_at(seed, cameras_per_district, DEFAULT_RTSP_AUTHORITY)
}

/// The demo city's streets as a road network for routing: a GeoJSON
/// FeatureCollection of LineStrings with a vertex at every crossing (so
/// crossing streets connect) and `maxspeed` (km/h) by kind, 50 on major
/// streets and 30 on minor ones. The same lines as the base map's streets,
/// which have only their two ends.
pub fn demo_roads() -> Value {
    let frame = Frame::new(BELGRADE);
    let (u0, v0) = (-CITY_W_M / 2.0, -CITY_H_M / 2.0);
    let (nu, nv) = ((CITY_W_M / BLOCK_M) as i32, (CITY_H_M / BLOCK_M) as i32);
    let road = |i: i32, line: Vec<[f64; 2]>| {
        let (kind, kmh) = if i % MAJOR_EVERY == 0 { ("major", 50) } else { ("minor", 30) };
        json!({"type": "Feature", "properties": {"kind": kind, "maxspeed": kmh}, "geometry": {"type": "LineString", "coordinates": line}})
    };
    let mut features = Vec::new();
    for i in 0..=nu {
        let u = u0 + i as f64 * BLOCK_M;
        features.push(road(i, (0..=nv).map(|j| frame.lon_lat(u, v0 + j as f64 * BLOCK_M)).collect()));
    }
    for j in 0..=nv {
        let v = v0 + j as f64 * BLOCK_M;
        features.push(road(j, (0..=nu).map(|i| frame.lon_lat(u0 + i as f64 * BLOCK_M, v)).collect()));
    }
    json!({"type": "FeatureCollection", "features": features})
}

/// The demo city with camera URLs `rtsp://{authority}/cam-NNNN/{main,sub}`
/// (`authority` is `host:port`). Sixteen cameras, spread over the city,
/// are tagged [`RECORDED_TAG`].
pub fn demo_city_at(seed: u64, cameras_per_district: usize, authority: &str) -> DemoCity {
    let frame = Frame::new(BELGRADE);
    let mut rng = StdRng::seed_from_u64(seed);
    let (cols, rows) = (5, 2);
    let (width, height) = (TILE_W_M * cols as f64, TILE_H_M * rows as f64);
    let (u0, v0) = (-width / 2.0, -height / 2.0);

    let mut districts = Vec::new();
    let mut features = Vec::new();
    for (i, name) in DISTRICT_NAMES.iter().enumerate() {
        let (col, row) = ((i % cols) as f64, (i / cols) as f64);
        let (ua, va) = (u0 + col * TILE_W_M, v0 + (1.0 - row) * TILE_H_M);
        let ring: Vec<[f64; 2]> =
            [(0.0, 0.0), (TILE_W_M, 0.0), (TILE_W_M, TILE_H_M), (0.0, TILE_H_M), (0.0, 0.0)].iter().map(|(du, dv)| frame.lon_lat(ua + du, va + dv)).collect();
        let geometry = json!({"type": "Polygon", "coordinates": [ring]});
        features.push(json!({"type": "Feature", "properties": {"kind": "district", "name": name}, "geometry": geometry}));
        districts.push(District { name: (*name).to_owned(), geometry });
    }

    let blocks_u = (width / BLOCK_M) as i32;
    let blocks_v = (height / BLOCK_M) as i32;
    for i in 0..=blocks_u {
        let u = u0 + i as f64 * BLOCK_M;
        let kind = if i % MAJOR_EVERY == 0 { "major" } else { "minor" };
        let line = [frame.lon_lat(u, v0), frame.lon_lat(u, v0 + height)];
        features.push(json!({"type": "Feature", "properties": {"kind": kind}, "geometry": {"type": "LineString", "coordinates": line}}));
    }
    for j in 0..=blocks_v {
        let v = v0 + j as f64 * BLOCK_M;
        let kind = if j % MAJOR_EVERY == 0 { "major" } else { "minor" };
        let line = [frame.lon_lat(u0, v), frame.lon_lat(u0 + width, v)];
        features.push(json!({"type": "Feature", "properties": {"kind": kind}, "geometry": {"type": "LineString", "coordinates": line}}));
    }

    // Cameras at intersections inside each district, looking down one of the
    // four street directions; a few domes.
    let mut cameras = Vec::new();
    let total = DISTRICT_NAMES.len() * cameras_per_district;
    // Every (total / 16)-th camera, starting with the first.
    let recorded_every = (total / RECORDED_CAMERAS).max(1);
    let per_tile_u = (TILE_W_M / BLOCK_M) as i32;
    let per_tile_v = (TILE_H_M / BLOCK_M) as i32;
    for (i, name) in DISTRICT_NAMES.iter().enumerate() {
        let (col, row) = ((i % cols) as i32, (i / cols) as i32);
        let mut taken = std::collections::HashSet::new();
        while taken.len() < cameras_per_district {
            let a = rng.gen_range(1..per_tile_u);
            let b = rng.gen_range(1..per_tile_v);
            let side = rng.gen_range(0..4);
            if !taken.insert((a, b, side)) {
                continue;
            }
            let u = u0 + (col * per_tile_u + a) as f64 * BLOCK_M;
            let v = v0 + ((1 - row) * per_tile_v + b) as f64 * BLOCK_M;
            // Mounted a few metres from the corner, on the side it faces from.
            let (du, dv) = [(4.0, 4.0), (-4.0, 4.0), (-4.0, -4.0), (4.0, -4.0)][side];
            let [lon, lat] = frame.lon_lat(u + du, v + dv);
            let dome = rng.gen_bool(0.08);
            let heading = (GRID_ROTATION_DEG + 90.0 * side as f64 + rng.gen_range(-6.0..6.0)).rem_euclid(360.0);
            let n = cameras.len() + 1;
            let id = format!("cam-{n:04}");
            let kind_tag = if i % 3 == 0 {
                "traffic"
            } else if side % 2 == 0 {
                "street"
            } else {
                "junction"
            };
            let index = n - 1;
            let recorded = index % recorded_every == 0 && index / recorded_every < RECORDED_CAMERAS;
            let tags: Vec<&str> = if recorded { vec![kind_tag, RECORDED_TAG] } else { vec![kind_tag] };
            let obj = json!({
                "id": id,
                "name": format!("{name} {} #{n}", if dome { "dome" } else { "junction" }),
                "lat": lat, "lon": lon,
                "height_m": (rng.gen_range(40..90) as f64) / 10.0,
                "heading_deg": (heading * 10.0).round() / 10.0,
                "fov_deg": if dome { 360.0 } else { [60.0, 75.0, 90.0][rng.gen_range(0..3)] },
                "range_m": if dome { 40.0 } else { rng.gen_range(6..13) as f64 * 10.0 },
                "district": name,
                "tags": tags,
                "main_url": format!("rtsp://{authority}/{id}/main"),
                "sub_url": format!("rtsp://{authority}/{id}/sub"),
            });
            let update = CameraUpdate::from_json(obj.as_object().expect("object"), None).unwrap_or_else(|e| panic!("demo camera {id} is invalid: {e:?}"));
            cameras.push(update);
        }
    }
    DemoCity { center: BELGRADE, districts, cameras, basemap: json!({"type": "FeatureCollection", "features": features}) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_city_is_deterministic_and_large_enough() {
        let a = demo_city(7, 24);
        let b = demo_city(7, 24);
        assert_eq!(a.cameras, b.cameras);
        assert_eq!(a.cameras.len(), 240);
        assert_eq!(a.districts.len(), 10);
        let ids: std::collections::HashSet<_> = a.cameras.iter().map(|c| &c.camera.id).collect();
        assert_eq!(ids.len(), 240);
        let recorded: Vec<_> = a.cameras.iter().filter(|c| c.camera.tags.iter().any(|t| t == RECORDED_TAG)).collect();
        assert_eq!(recorded.len(), 16);
        let districts: std::collections::HashSet<_> = recorded.iter().map(|c| &c.camera.district).collect();
        assert!(districts.len() >= 8, "recorded cameras are spread over the city: {districts:?}");
        assert_eq!(a.cameras[0].camera.main_url.as_deref(), Some("rtsp://127.0.0.1:8554/cam-0001/main"));
        let moved = demo_city_at(7, 24, "10.0.0.9:9554");
        assert_eq!(moved.cameras[239].camera.sub_url.as_deref(), Some("rtsp://10.0.0.9:9554/cam-0240/sub"));
        // The patrols' district rectangles are the districts' polygons.
        let frame = Frame::new(BELGRADE);
        for (i, d) in a.districts.iter().enumerate() {
            assert_eq!(d.name, district_names()[i]);
            let (u0, v0, u1, v1) = district_rect(i);
            let ring = d.geometry["coordinates"][0].as_array().unwrap();
            for (corner, (u, v)) in ring.iter().zip([(u0, v0), (u1, v0), (u1, v1), (u0, v1)]) {
                let [lon, lat] = frame.lon_lat(u, v);
                assert_eq!((corner[0].as_f64(), corner[1].as_f64()), (Some(lon), Some(lat)), "district {i}");
                let (gu, gv) = frame.grid(lat, lon);
                assert!((gu - u).abs() < 0.05 && (gv - v).abs() < 0.05, "grid() inverts lon_lat(): {gu},{gv} vs {u},{v}");
            }
        }
        assert_eq!(demo_city(7, 1).cameras.iter().filter(|c| c.camera.tags.iter().any(|t| t == RECORDED_TAG)).count(), 10);
        for c in &a.cameras {
            assert!((c.camera.lat - BELGRADE.0).abs() < 0.05 && (c.camera.lon - BELGRADE.1).abs() < 0.07, "{:?}", c.camera);
        }
    }
}
