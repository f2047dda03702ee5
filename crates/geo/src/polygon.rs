//! Polygons and routes in longitude/latitude, parsed from GeoJSON geometry.
//!
//! Containment is planar in (lon, lat), which is what GeoJSON (RFC 7946)
//! prescribes for polygon edges; polygons crossing the antimeridian must be
//! split, as the RFC also says.

use serde_json::Value;

use crate::GeoError;

/// One polygon: the exterior ring first, then holes. Points are `[lon, lat]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub rings: Vec<Vec<[f64; 2]>>,
}

/// A Polygon or MultiPolygon.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub polygons: Vec<Polygon>,
}

impl Area {
    /// Parses a GeoJSON Polygon or MultiPolygon geometry, or a Feature holding one.
    pub fn from_geojson(v: &Value) -> Result<Area, GeoError> {
        let geometry = match v.get("type").and_then(Value::as_str) {
            Some("Feature") => v.get("geometry").ok_or(GeoError::Invalid("Feature has no geometry".into()))?,
            _ => v,
        };
        let coords = geometry.get("coordinates").ok_or(GeoError::Invalid("geometry has no coordinates".into()))?;
        match geometry.get("type").and_then(Value::as_str) {
            Some("Polygon") => Ok(Area { polygons: vec![parse_polygon(coords)?] }),
            Some("MultiPolygon") => {
                let list = coords.as_array().ok_or(GeoError::Invalid("MultiPolygon coordinates must be a list".into()))?;
                Ok(Area { polygons: list.iter().map(parse_polygon).collect::<Result<_, _>>()? })
            }
            Some(other) => Err(GeoError::Invalid(format!("expected a Polygon or MultiPolygon, got {other}"))),
            None => Err(GeoError::Invalid("geometry has no type".into())),
        }
    }

    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.polygons.iter().any(|p| p.contains(lon, lat))
    }

    /// `(min_lon, min_lat, max_lon, max_lat)` of the exterior rings.
    pub fn bbox(&self) -> [f64; 4] {
        let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for p in &self.polygons {
            for &[lon, lat] in &p.rings[0] {
                b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
            }
        }
        b
    }

    /// The mean of the exterior vertices: a reference point for distances.
    pub fn center(&self) -> (f64, f64) {
        let pts: Vec<&[f64; 2]> = self.polygons.iter().flat_map(|p| p.rings[0].iter().skip(1)).collect();
        let n = pts.len().max(1) as f64;
        (pts.iter().map(|p| p[1]).sum::<f64>() / n, pts.iter().map(|p| p[0]).sum::<f64>() / n)
    }
}

impl Polygon {
    /// Even-odd rule over all rings, so holes exclude. Points on an edge may
    /// fall either way, as with every floating-point ray cast.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let mut inside = false;
        for ring in &self.rings {
            let n = ring.len();
            let mut j = n - 1;
            for i in 0..n {
                let (xi, yi) = (ring[i][0], ring[i][1]);
                let (xj, yj) = (ring[j][0], ring[j][1]);
                if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
                    inside = !inside;
                }
                j = i;
            }
        }
        inside
    }
}

fn parse_polygon(coords: &Value) -> Result<Polygon, GeoError> {
    let rings = coords.as_array().ok_or(GeoError::Invalid("Polygon coordinates must be a list of rings".into()))?;
    if rings.is_empty() {
        return Err(GeoError::Invalid("Polygon has no rings".into()));
    }
    let rings = rings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let ring = parse_positions(r).map_err(|e| GeoError::Invalid(format!("ring {i}: {e}")))?;
            if ring.len() < 4 {
                return Err(GeoError::Invalid(format!("ring {i} has {} positions; a ring needs at least 4", ring.len())));
            }
            if ring.first() != ring.last() {
                return Err(GeoError::Invalid(format!("ring {i} is not closed (first and last positions differ)")));
            }
            Ok(ring)
        })
        .collect::<Result<_, _>>()?;
    Ok(Polygon { rings })
}

/// Parses a list of `[lon, lat]` positions, checking ranges.
pub fn parse_positions(v: &Value) -> Result<Vec<[f64; 2]>, String> {
    let list = v.as_array().ok_or("positions must be a list")?;
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let a = p.as_array().filter(|a| a.len() >= 2).ok_or(format!("position {i} must be [lon, lat]"))?;
            let lon = a[0].as_f64().ok_or(format!("position {i}: lon must be a number"))?;
            let lat = a[1].as_f64().ok_or(format!("position {i}: lat must be a number"))?;
            if !(-180.0..=180.0).contains(&lon) {
                return Err(format!("position {i}: lon {lon} outside [-180, 180]"));
            }
            if !(-90.0..=90.0).contains(&lat) {
                return Err(format!("position {i}: lat {lat} outside [-90, 90]"));
            }
            Ok([lon, lat])
        })
        .collect()
}

/// Parses a GeoJSON LineString geometry (or a Feature holding one) into `[lon, lat]` points.
pub fn route_from_geojson(v: &Value) -> Result<Vec<[f64; 2]>, GeoError> {
    let geometry = match v.get("type").and_then(Value::as_str) {
        Some("Feature") => v.get("geometry").ok_or(GeoError::Invalid("Feature has no geometry".into()))?,
        _ => v,
    };
    if geometry.get("type").and_then(Value::as_str) != Some("LineString") {
        return Err(GeoError::Invalid("expected a LineString".into()));
    }
    let pts = parse_positions(geometry.get("coordinates").unwrap_or(&Value::Null)).map_err(GeoError::Invalid)?;
    if pts.len() < 2 {
        return Err(GeoError::Invalid("a LineString needs at least 2 positions".into()));
    }
    Ok(pts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn holes_are_excluded_and_errors_say_why() {
        let a = Area::from_geojson(&json!({"type":"Polygon","coordinates":[
            [[0,0],[10,0],[10,10],[0,10],[0,0]],
            [[4,4],[6,4],[6,6],[4,6],[4,4]]]}))
        .unwrap();
        assert!(a.contains(2.0, 2.0));
        assert!(!a.contains(5.0, 5.0));
        assert!(!a.contains(11.0, 5.0));
        let e = Area::from_geojson(&json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1]]]})).unwrap_err();
        assert!(e.to_string().contains("at least 4"), "{e}");
        let e = Area::from_geojson(&json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,91],[0,0]]]})).unwrap_err();
        assert!(e.to_string().contains("lat 91"), "{e}");
    }
}
