//! Reading camera files: GeoJSON FeatureCollections of Points and CSV with a
//! header row. Field names are the API's (`id`, `name`, `lat`, `lon`,
//! `heading_deg`, ...). Every bad row is reported with where it is and which
//! field is wrong; a file that cannot be read at all is one error.

use std::fmt;

use citywatch_model::{CameraUpdate, FieldError, ImportLimits, ImportRefusal, RowErrors};
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

/// A good row: a camera to create or update, and where the file gave it.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub location: Location,
    pub update: CameraUpdate,
}

/// What a file holds: its good rows, and its bad rows' problems (the first
/// ones in full, all of them counted).
#[derive(Debug, Clone)]
pub struct ParsedCameras {
    /// Rows read (good and bad).
    pub total: usize,
    pub rows: Vec<ImportRow>,
    pub errors: RowErrors<RowError>,
}

impl ParsedCameras {
    fn new(limits: ImportLimits) -> ParsedCameras {
        ParsedCameras { total: 0, rows: Vec::new(), errors: RowErrors::new(limits.max_errors) }
    }

    /// Takes one row; `Err` once the file holds more rows than the cap.
    fn add(&mut self, location: Location, result: Result<CameraUpdate, Vec<FieldError>>, limits: ImportLimits) -> Result<(), ImportRefusal> {
        self.total += 1;
        if self.total > limits.max_rows {
            return Err(ImportRefusal::TooManyRows { max: limits.max_rows });
        }
        match result {
            Ok(update) => self.rows.push(ImportRow { location, update }),
            Err(problems) => self.errors.push_row(problems.into_iter().map(|e| RowError::new(location, e))),
        }
        Ok(())
    }
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

/// Parses a GeoJSON FeatureCollection of Point features, one feature at a
/// time (the document is never held as a whole). `progress` is called with
/// the number of features read so far.
pub fn parse_geojson(bytes: &[u8], limits: ImportLimits, mut progress: impl FnMut(usize)) -> Result<ParsedCameras, ImportRefusal> {
    let mut parsed = ParsedCameras::new(limits);
    let mut refusal = None;
    let mut on_feature = |i: usize, f: Value| -> bool {
        if let Err(e) = parsed.add(Location::Feature(i), feature_to_camera(&f), limits) {
            refusal = Some(e);
            return false;
        }
        if i.is_multiple_of(1024) {
            progress(i);
        }
        true
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let outcome = serde::de::DeserializeSeed::deserialize(stream::Collection { on_feature: &mut on_feature }, &mut de).and_then(|c| de.end().map(|()| c));
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    match outcome {
        Err(e) if e.is_data() => return Err(ImportRefusal::Unusable(e.to_string())),
        Err(e) => return Err(ImportRefusal::Unusable(format!("not valid JSON: {e}"))),
        Ok(c) if c.kind.as_deref() != Some("FeatureCollection") => {
            return Err(ImportRefusal::Unusable("expected a GeoJSON FeatureCollection (\"type\": \"FeatureCollection\")".into()))
        }
        Ok(c) if !c.has_features => return Err(ImportRefusal::Unusable("FeatureCollection has no \"features\" list".into())),
        Ok(_) => {}
    }
    progress(parsed.total);
    Ok(parsed)
}

/// A FeatureCollection read with serde, handing each feature on as it is
/// read rather than building the whole document.
mod stream {
    use std::fmt;

    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;

    /// Called with each feature's index and value; `false` stops the read.
    pub type OnFeature<'a> = &'a mut dyn FnMut(usize, Value) -> bool;

    pub struct Collection<'a> {
        pub on_feature: OnFeature<'a>,
    }

    /// What the document said besides its features.
    pub struct Read {
        pub kind: Option<String>,
        pub has_features: bool,
    }

    const EXPECTED: &str = "a GeoJSON FeatureCollection (\"type\": \"FeatureCollection\")";

    impl<'de> DeserializeSeed<'de> for Collection<'_> {
        type Value = Read;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Read, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Collection<'_> {
        type Value = Read;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(EXPECTED)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read, A::Error> {
            let mut read = Read { kind: None, has_features: false };
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "type" => read.kind = map.next_value::<Value>()?.as_str().map(str::to_owned),
                    "features" if !read.has_features => {
                        read.has_features = true;
                        map.next_value_seed(Features { on_feature: &mut *self.on_feature })?;
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(read)
        }
    }

    struct Features<'a> {
        on_feature: OnFeature<'a>,
    }

    impl<'de> DeserializeSeed<'de> for Features<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Features<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a \"features\" list")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0;
            while let Some(feature) = seq.next_element::<Value>()? {
                if !(self.on_feature)(i, feature) {
                    return Err(serde::de::Error::custom("stopped"));
                }
                i += 1;
            }
            Ok(())
        }
    }
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

/// Parses CSV with a header row naming the fields, one row at a time.
/// Empty cells are absent values; `tags` are separated by `;` or `|`.
pub fn parse_csv(input: impl std::io::Read, limits: ImportLimits, mut progress: impl FnMut(usize)) -> Result<ParsedCameras, ImportRefusal> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(input);
    let headers = reader.headers().map_err(|e| ImportRefusal::Unusable(format!("cannot read the CSV header: {e}")))?.clone();
    for required in ["lat", "lon"] {
        if !headers.iter().any(|h| h == required) {
            return Err(ImportRefusal::Unusable(format!(
                "the CSV header has no \"{required}\" column (columns: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let mut parsed = ParsedCameras::new(limits);
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() as usize;
        let (line, result) = match reader.read_record(&mut record) {
            Ok(false) => break,
            Err(e) => (e.position().map_or(line, |p| p.line() as usize), Err(vec![FieldError::new("row", e.to_string())])),
            Ok(true) => {
                let obj: Map<String, Value> =
                    headers.iter().zip(record.iter()).filter(|(_, v)| !v.is_empty()).map(|(h, v)| (h.to_owned(), Value::String(v.to_owned()))).collect();
                (record.position().map_or(line, |p| p.line() as usize), CameraUpdate::from_json(&obj, None))
            }
        };
        parsed.add(Location::Line(line), result, limits)?;
        if parsed.total.is_multiple_of(1024) {
            progress(parsed.total);
        }
    }
    progress(parsed.total);
    Ok(parsed)
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
        let parsed = parse_geojson(doc, ImportLimits::default(), |_| {}).unwrap();
        assert_eq!((parsed.total, parsed.rows.len()), (3, 1));
        assert_eq!(parsed.rows[0].update.camera.id, "a");
        let errors: Vec<_> = parsed.errors.errors.iter().map(|e| (e.feature, e.field.as_str())).collect();
        assert_eq!(errors, [(Some(1), "lon"), (Some(2), "geometry")]);
        let refused = |doc: &[u8]| parse_geojson(doc, ImportLimits::default(), |_| {}).unwrap_err().to_string();
        assert!(refused(b"{").contains("not valid JSON"));
        assert!(refused(br#"{"type":"Feature"}"#).contains("FeatureCollection"));
        assert!(refused(br#"[1]"#).contains("FeatureCollection"));
        assert!(refused(br#"{"type":"FeatureCollection"}"#).contains("\"features\""));
        assert!(refused(br#"{"type":"FeatureCollection","features":[]} x"#).contains("not valid JSON"));
        // "type" may come after the features.
        let late =
            br#"{"features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[20.4,44.8]},"properties":{"id":"z"}}],"type":"FeatureCollection"}"#;
        assert_eq!(parse_geojson(late, ImportLimits::default(), |_| {}).unwrap().rows.len(), 1);
        let capped = ImportLimits { max_rows: 2, max_errors: 10 };
        assert_eq!(parse_geojson(doc, capped, |_| {}).unwrap_err(), ImportRefusal::TooManyRows { max: 2 });
    }

    #[test]
    fn csv_rows_name_their_lines() {
        let csv = b"id,lat,lon,fov_deg,tags\na,44.8,20.4,90,x;y\nb,95,20.4,90,\nc,44.8,20.4,0,\n";
        let parsed = parse_csv(&csv[..], ImportLimits::default(), |_| {}).unwrap();
        assert_eq!((parsed.total, parsed.rows.len()), (3, 1));
        assert_eq!(parsed.rows[0].update.camera.tags, vec!["x", "y"]);
        let errors: Vec<_> = parsed.errors.errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(errors, [(Some(3), "lat"), (Some(4), "fov_deg")]);
        assert!(parse_csv(&b"id,x\n1,2\n"[..], ImportLimits::default(), |_| {}).unwrap_err().to_string().contains("\"lat\""));
        let capped = ImportLimits { max_rows: 2, max_errors: 10 };
        assert_eq!(parse_csv(&csv[..], capped, |_| {}).unwrap_err(), ImportRefusal::TooManyRows { max: 2 });
    }

    #[test]
    fn unsafe_camera_ids_are_bad_rows_named_by_line() {
        let long = "a".repeat(65);
        let csv = format!("id,lat,lon\ncam-0001,44.8,20.4\n..,44.8,20.4\na/b,44.8,20.4\n%2e%2e,44.8,20.4\n{long},44.8,20.4\n.,44.8,20.4\n");
        let parsed = parse_csv(csv.as_bytes(), ImportLimits::default(), |_| {}).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].update.camera.id, "cam-0001");
        assert_eq!(parsed.errors.errors.len(), 5);
        for (i, says) in
            [(1, "must start with a letter or a digit"), (2, "may contain only"), (3, "may contain only"), (4, "at most 64"), (5, "must start with")]
        {
            let shown = parsed.errors.errors[i - 1].to_string();
            assert!(shown.starts_with(&format!("line {}: id: ", i + 2)) && shown.contains(says), "row {i}: {shown}");
        }
    }
}
