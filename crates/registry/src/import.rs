//! Reading camera files: GeoJSON FeatureCollections of Points and CSV with a
//! header row. Field names are the API's (`id`, `name`, `lat`, `lon`,
//! `heading_deg`, ...). Every bad row is reported with where it is and which
//! field is wrong; a file that cannot be read at all is one error.

use std::fmt;

use citywatch_model::{CameraUpdate, FieldError};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    GeoJson,
    Csv,
}

impl ImportFormat {
    /// From a file name or a media type; GeoJSON unless it says CSV.
    pub fn guess(name_or_media_type: &str) -> ImportFormat {
        let s = name_or_media_type.to_ascii_lowercase();
        if s.ends_with(".csv") || s.contains("text/csv") {
            ImportFormat::Csv
        } else {
            ImportFormat::GeoJson
        }
    }
}

/// Where a row is: a feature index (0-based, as in the array) or a CSV line (1-based, header is line 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Feature(usize),
    Line(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Feature(i) => write!(f, "feature {i}"),
            Location::Line(l) => write!(f, "line {l}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportRow {
    pub location: Location,
    pub result: Result<CameraUpdate, Vec<FieldError>>,
}

/// One problem in one row, as reported to the user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub field: String,
    pub reason: String,
}

impl RowError {
    pub fn new(location: Location, e: FieldError) -> RowError {
        let (feature, line) = match location {
            Location::Feature(i) => (Some(i), None),
            Location::Line(l) => (None, Some(l)),
        };
        RowError { feature, line, field: e.field, reason: e.reason }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.feature, self.line) {
            (Some(i), _) => write!(f, "feature {i}: {}: {}", self.field, self.reason),
            (_, Some(l)) => write!(f, "line {l}: {}: {}", self.field, self.reason),
            _ => write!(f, "{}: {}", self.field, self.reason),
        }
    }
}

/// Parses a GeoJSON FeatureCollection of Point features. `progress` is
/// called with the number of features read so far.
pub fn parse_geojson(bytes: &[u8], mut progress: impl FnMut(usize)) -> Result<Vec<ImportRow>, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err("expected a GeoJSON FeatureCollection (\"type\": \"FeatureCollection\")".into());
    }
    let features = doc.get("features").and_then(Value::as_array).ok_or("FeatureCollection has no \"features\" list")?;
    let mut rows = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        rows.push(ImportRow { location: Location::Feature(i), result: feature_to_camera(f) });
        if i % 1024 == 0 {
            progress(i);
        }
    }
    progress(features.len());
    Ok(rows)
}

fn feature_to_camera(f: &Value) -> Result<CameraUpdate, Vec<FieldError>> {
    let err = |field: &str, reason: &str| vec![FieldError::new(field, reason)];
    if f.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(err("type", "must be \"Feature\""));
    }
    let geometry = f.get("geometry").filter(|g| !g.is_null()).ok_or_else(|| err("geometry", "is required (a Point)"))?;
    if geometry.get("type").and_then(Value::as_str) != Some("Point") {
        return Err(err("geometry", "must be a Point"));
    }
    let coords = geometry
        .get("coordinates")
        .and_then(Value::as_array)
        .filter(|c| c.len() >= 2 && c[0].is_number() && c[1].is_number())
        .ok_or_else(|| err("geometry.coordinates", "must be [lon, lat] numbers"))?;
    let mut props: Map<String, Value> = match f.get("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(err("properties", "must be an object")),
    };
    for (key, value) in [("lon", &coords[0]), ("lat", &coords[1])] {
        if let Some(p) = props.get(key) {
            if p.as_f64() != value.as_f64() {
                return Err(err(key, "differs between properties and geometry"));
            }
        }
        props.insert(key.into(), value.clone());
    }
    if !props.contains_key("id") {
        if let Some(id) = f.get("id").filter(|v| v.is_string() || v.is_number()) {
            props.insert("id".into(), id.clone());
        }
    }
    CameraUpdate::from_json(&props, None)
}

/// Parses CSV with a header row naming the fields. Empty cells are absent
/// values; `tags` are separated by `;` or `|`.
pub fn parse_csv(bytes: &[u8], mut progress: impl FnMut(usize)) -> Result<Vec<ImportRow>, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(bytes);
    let headers = reader.headers().map_err(|e| format!("cannot read the CSV header: {e}"))?.clone();
    for required in ["lat", "lon"] {
        if !headers.iter().any(|h| h == required) {
            return Err(format!("the CSV header has no \"{required}\" column (columns: {})", headers.iter().collect::<Vec<_>>().join(", ")));
        }
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let result = match record {
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line() as usize);
                rows.push(ImportRow { location: Location::Line(line), result: Err(vec![FieldError::new("row", e.to_string())]) });
                continue;
            }
            Ok(record) => {
                let line = record.position().map_or(line, |p| p.line() as usize);
                let obj: Map<String, Value> = headers
                    .iter()
                    .zip(record.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(h, v)| (h.to_owned(), Value::String(v.to_owned())))
                    .collect();
                ImportRow { location: Location::Line(line), result: CameraUpdate::from_json(&obj, None) }
            }
        };
        rows.push(result);
        if i % 1024 == 0 {
            progress(i);
        }
    }
    progress(rows.len());
    Ok(rows)
}

/// Parses a GeoJSON FeatureCollection of district boundaries: Polygon or
/// MultiPolygon features with a `name` property. All or nothing: a bad
/// feature fails the file, naming the feature.
pub fn parse_districts(bytes: &[u8]) -> Result<Vec<citywatch_model::District>, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let features = doc
        .get("features")
        .and_then(Value::as_array)
        .filter(|_| doc.get("type").and_then(Value::as_str) == Some("FeatureCollection"))
        .ok_or("expected a GeoJSON FeatureCollection of district polygons")?;
    let mut seen = std::collections::HashSet::new();
    features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let name = f
                .pointer("/properties/name")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .ok_or(format!("feature {i}: name: a district needs a \"name\" property"))?;
            if !seen.insert(name.to_owned()) {
                return Err(format!("feature {i}: name: duplicate district {name:?}"));
            }
            let geometry = f.get("geometry").cloned().unwrap_or(Value::Null);
            citywatch_geo::Area::from_geojson(&geometry).map_err(|e| format!("feature {i}: geometry: {e}"))?;
            Ok(citywatch_model::District { name: name.to_owned(), geometry })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geojson_rows_and_errors() {
        let doc = br#"{"type":"FeatureCollection","features":[
            {"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[20.4,44.8]},"properties":{"fov_deg":90}},
            {"type":"Feature","geometry":{"type":"Point","coordinates":[200,44.8]},"properties":{"id":"b"}},
            {"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":{"id":"c"}}
        ]}"#;
        let rows = parse_geojson(doc, |_| {}).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].result.as_ref().unwrap().camera.id, "a");
        assert_eq!(rows[1].result.as_ref().unwrap_err()[0].field, "lon");
        assert_eq!(rows[2].result.as_ref().unwrap_err()[0].field, "geometry");
        assert!(parse_geojson(b"{", |_| {}).unwrap_err().contains("not valid JSON"));
        assert!(parse_geojson(br#"{"type":"Feature"}"#, |_| {}).unwrap_err().contains("FeatureCollection"));
    }

    #[test]
    fn csv_rows_name_their_lines() {
        let csv = b"id,lat,lon,fov_deg,tags\na,44.8,20.4,90,x;y\nb,95,20.4,90,\nc,44.8,20.4,0,\n";
        let rows = parse_csv(csv, |_| {}).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].result.as_ref().unwrap().camera.tags, vec!["x", "y"]);
        assert_eq!(rows[1].location, Location::Line(3));
        assert_eq!(rows[1].result.as_ref().unwrap_err()[0].field, "lat");
        assert_eq!(rows[2].result.as_ref().unwrap_err()[0].field, "fov_deg");
        assert!(parse_csv(b"id,x\n1,2\n", |_| {}).unwrap_err().contains("\"lat\""));
    }

    #[test]
    fn unsafe_camera_ids_are_bad_rows_named_by_line() {
        let long = "a".repeat(65);
        let csv = format!("id,lat,lon\ncam-0001,44.8,20.4\n..,44.8,20.4\na/b,44.8,20.4\n%2e%2e,44.8,20.4\n{long},44.8,20.4\n.,44.8,20.4\n");
        let rows = parse_csv(csv.as_bytes(), |_| {}).unwrap();
        assert_eq!(rows[0].result.as_ref().unwrap().camera.id, "cam-0001");
        for (i, says) in [(1, "must start with a letter or a digit"), (2, "may contain only"), (3, "may contain only"), (4, "at most 64"), (5, "must start with")] {
            let errs = rows[i].result.as_ref().unwrap_err();
            let shown = RowError::new(rows[i].location, errs[0].clone()).to_string();
            assert!(shown.starts_with(&format!("line {}: id: ", i + 2)) && shown.contains(says), "row {i}: {shown}");
        }
    }
}
