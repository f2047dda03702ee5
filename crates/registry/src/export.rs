use citywatch_model::Camera;
use serde_json::{json, Value};

/// A GeoJSON FeatureCollection of Point features whose properties are the
/// camera's fields: the same shape [`crate::parse_geojson`] reads, so an
/// export can be imported again unchanged.
pub fn to_geojson<'a>(cameras: impl IntoIterator<Item = &'a Camera>) -> Value {
    let features: Vec<Value> = cameras
        .into_iter()
        .map(|c| {
            let mut props = serde_json::to_value(c).expect("a camera serialises");
            let map = props.as_object_mut().expect("a camera is an object");
            map.remove("lat");
            map.remove("lon");
            json!({"type": "Feature", "id": c.id, "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]}, "properties": props})
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_geojson;
    use citywatch_model::CameraUpdate;

    #[test]
    fn export_imports_back_unchanged() {
        let obj = json!({"id":"c1","name":"N","lat":44.81,"lon":20.46,"heading_deg":90,"fov_deg":60,"range_m":80,"district":"D","tags":["t"],"main_url":"rtsp://h/main"});
        let cam = CameraUpdate::from_json(obj.as_object().unwrap(), None).unwrap().camera;
        let doc = to_geojson([&cam]);
        let parsed = parse_geojson(doc.to_string().as_bytes(), Default::default(), |_| {}).unwrap();
        assert_eq!(parsed.rows[0].update.camera, cam);
    }
}
