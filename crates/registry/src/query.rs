use citywatch_geo::{Area, GeoError, Hit};
use citywatch_model::Camera;
use citywatch_model::Scope;
use serde_json::{json, Value};

use crate::Snapshot;

/// The questions the registry answers. Every answer lists only cameras the
/// caller's scope reaches.
#[derive(Debug, Clone)]
pub enum CameraQuery {
    /// Every camera, by id.
    All,
    Near {
        lat: f64,
        lon: f64,
        radius_m: f64,
    },
    Nearest {
        lat: f64,
        lon: f64,
        k: usize,
    },
    Bbox {
        min_lon: f64,
        min_lat: f64,
        max_lon: f64,
        max_lat: f64,
    },
    Sees {
        lat: f64,
        lon: f64,
    },
    Inside(Area),
    Route {
        points: Vec<[f64; 2]>,
        within_m: f64,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct QueryHit<'a> {
    pub camera: &'a Camera,
    /// From the query point, the box or polygon centre, or the route.
    pub distance_m: Option<f64>,
}

impl CameraQuery {
    /// A short name, for the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            CameraQuery::All => "all",
            CameraQuery::Near { .. } => "near",
            CameraQuery::Nearest { .. } => "nearest",
            CameraQuery::Bbox { .. } => "bbox",
            CameraQuery::Sees { .. } => "sees",
            CameraQuery::Inside(_) => "polygon",
            CameraQuery::Route { .. } => "route",
        }
    }

    /// The query's parameters, for the audit log.
    pub fn describe(&self) -> Value {
        match self {
            CameraQuery::All => json!({}),
            CameraQuery::Near { lat, lon, radius_m } => json!({"lat": lat, "lon": lon, "radius_m": radius_m}),
            CameraQuery::Nearest { lat, lon, k } => json!({"lat": lat, "lon": lon, "k": k}),
            CameraQuery::Bbox { min_lon, min_lat, max_lon, max_lat } => json!({"bbox": [min_lon, min_lat, max_lon, max_lat]}),
            CameraQuery::Sees { lat, lon } => json!({"lat": lat, "lon": lon}),
            CameraQuery::Inside(area) => json!({"bbox": area.bbox(), "polygons": area.polygons.len()}),
            CameraQuery::Route { points, within_m } => json!({"points": points.len(), "within_m": within_m, "start": points.first(), "end": points.last()}),
        }
    }

    pub fn is_spatial(&self) -> bool {
        !matches!(self, CameraQuery::All)
    }

    pub fn run<'a>(&self, s: &'a Snapshot, scope: &Scope) -> Result<Vec<QueryHit<'a>>, GeoError> {
        let visible = |id: &str| s.cameras.get(id).is_some_and(|c| scope.covers(c.district.as_deref()));
        let hits: Vec<Hit<'_>> = match self {
            CameraQuery::All => {
                let mut all: Vec<&Camera> = s.cameras.values().filter(|c| scope.covers(c.district.as_deref())).collect();
                all.sort_by(|a, b| a.id.cmp(&b.id));
                return Ok(all.into_iter().map(|camera| QueryHit { camera, distance_m: None }).collect());
            }
            CameraQuery::Near { lat, lon, radius_m } => s.index.within_radius(*lat, *lon, *radius_m),
            CameraQuery::Nearest { lat, lon, k } => s.index.nearest(*lat, *lon, *k, visible),
            CameraQuery::Bbox { min_lon, min_lat, max_lon, max_lat } => s.index.in_bbox(*min_lon, *min_lat, *max_lon, *max_lat)?,
            CameraQuery::Sees { lat, lon } => s.index.seeing(*lat, *lon),
            CameraQuery::Inside(area) => s.index.in_area(area),
            CameraQuery::Route { points, within_m } => s.index.near_route(points, *within_m),
        };
        Ok(hits
            .into_iter()
            .filter(|h| visible(h.id))
            .filter_map(|h| s.cameras.get(h.id).map(|camera| QueryHit { camera, distance_m: Some(h.distance_m) }))
            .collect())
    }
}
