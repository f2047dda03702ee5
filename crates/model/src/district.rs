/// An administrative area that scopes grants. Its boundary is a GeoJSON
/// Polygon or MultiPolygon geometry, kept as JSON: only `geo` interprets it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct District {
    pub name: String,
    pub geometry: serde_json::Value,
}
