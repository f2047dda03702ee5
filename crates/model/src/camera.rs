use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{FieldError, StreamKind};

/// A camera id: 1 to 64 characters of `A-Z a-z 0-9 _ . -`, a letter or
/// digit first (see [`check_id`]), so it is safe in URLs, file names and MQTT
/// topics without escaping.
pub type CameraId = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum CameraStatus {
    Online,
    Offline,
    #[default]
    Unknown,
    Disabled,
}

impl CameraStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CameraStatus::Online => "online",
            CameraStatus::Offline => "offline",
            CameraStatus::Unknown => "unknown",
            CameraStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "online" => CameraStatus::Online,
            "offline" => CameraStatus::Offline,
            "unknown" => CameraStatus::Unknown,
            "disabled" => CameraStatus::Disabled,
            _ => return None,
        })
    }
}

/// A camera as the registry knows it. `main_url` and `sub_url` never carry
/// credentials: those are split off on input (see [`RtspUrl`]) and stored
/// apart, so no read path can leak them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Camera {
    pub id: CameraId,
    pub name: String,
    /// WGS84 degrees.
    pub lat: f64,
    pub lon: f64,
    pub height_m: Option<f64>,
    /// Clockwise from true north, [0, 360).
    pub heading_deg: f64,
    /// Horizontal field of view, (0, 360]; 360 is a dome that sees all round.
    pub fov_deg: f64,
    pub range_m: f64,
    pub district: Option<String>,
    pub tags: Vec<String>,
    pub main_url: Option<String>,
    pub sub_url: Option<String>,
    pub status: CameraStatus,
}

/// How a bulk write of cameras went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportOutcome {
    pub created: usize,
    pub updated: usize,
}

/// What a create, update or import row turns into: the camera, and the
/// credentials split off its URLs (kept apart from the camera record).
#[derive(Debug, Clone, PartialEq)]
pub struct CameraUpdate {
    pub camera: Camera,
    pub main_credentials: Option<String>,
    pub sub_credentials: Option<String>,
}

const FIELDS: &[&str] = &["id", "name", "lat", "lon", "height_m", "heading_deg", "fov_deg", "range_m", "district", "tags", "main_url", "sub_url", "status"];

/// Defaults for fields an import may leave out. A camera whose heading is
/// unknown is treated as seeing all round rather than guessed at.
pub const DEFAULT_FOV_DEG: f64 = 360.0;
pub const DEFAULT_RANGE_M: f64 = 50.0;

impl CameraUpdate {
    /// The streams whose stored credentials a replace keeps, given the URLs
    /// stored before it. Credentials are write-only (no read path returns
    /// them), so an editor cannot send them back: a stream whose URL stays
    /// the same and comes without credentials keeps the ones stored. A
    /// changed URL drops them, since they were given for the old address
    /// and must not follow the camera to another host.
    pub fn streams_keeping_credentials(&self, main_before: Option<&str>, sub_before: Option<&str>) -> Vec<StreamKind> {
        let unchanged = |new: &Option<String>, old: Option<&str>| new.is_some() && new.as_deref() == old;
        let mut keep = Vec::new();
        if self.main_credentials.is_none() && unchanged(&self.camera.main_url, main_before) {
            keep.push(StreamKind::Main);
        }
        if self.sub_credentials.is_none() && unchanged(&self.camera.sub_url, sub_before) {
            keep.push(StreamKind::Sub);
        }
        keep
    }

    /// Validates one camera given as a JSON object (an API body, a GeoJSON
    /// feature's properties plus its coordinates, or a CSV row already turned
    /// into JSON). Every problem is reported, not just the first, each naming
    /// its field. Unknown fields are refused: a typo must not silently drop data.
    ///
    /// `id_fallback` is used when the object has no `id` (the API path, for
    /// which the server makes one).
    pub fn from_json(obj: &Map<String, Value>, id_fallback: Option<&str>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        for key in obj.keys() {
            if !FIELDS.contains(&key.as_str()) {
                errors.push(FieldError::new(key.clone(), format!("unknown field; expected one of {}", FIELDS.join(", "))));
            }
        }
        let mut r = Reader { obj, errors: &mut errors };
        let id = match r.string("id") {
            Some(id) => Some(id),
            None => id_fallback.map(str::to_owned),
        };
        let id = match id {
            Some(id) => {
                if let Err(reason) = check_id(&id) {
                    r.errors.push(FieldError::new("id", reason));
                }
                id
            }
            None => {
                r.errors.push(FieldError::new("id", "is required"));
                String::new()
            }
        };
        let name = r.string("name").unwrap_or_else(|| id.clone());
        let lat = r.required_number("lat", -90.0, 90.0, "must be a latitude in [-90, 90]");
        let lon = r.required_number("lon", -180.0, 180.0, "must be a longitude in [-180, 180]");
        let height_m = r.number("height_m");
        if let Some(h) = height_m {
            if !(-500.0..=10_000.0).contains(&h) {
                r.errors.push(FieldError::new("height_m", "must be in [-500, 10000] metres"));
            }
        }
        let heading_deg = r.number("heading_deg").unwrap_or(0.0);
        if !(0.0..=360.0).contains(&heading_deg) {
            r.errors.push(FieldError::new("heading_deg", "must be in [0, 360] degrees clockwise from north"));
        }
        let fov_deg = r.number("fov_deg").unwrap_or(DEFAULT_FOV_DEG);
        if !(fov_deg > 0.0 && fov_deg <= 360.0) {
            r.errors.push(FieldError::new("fov_deg", "must be in (0, 360] degrees"));
        }
        let range_m = r.number("range_m").unwrap_or(DEFAULT_RANGE_M);
        if !(0.0..=50_000.0).contains(&range_m) {
            r.errors.push(FieldError::new("range_m", "must be in [0, 50000] metres (not negative)"));
        }
        let district = r.string("district").filter(|d| !d.is_empty());
        let tags = r.tags("tags");
        let (main_url, main_credentials) = r.rtsp_url("main_url");
        let (sub_url, sub_credentials) = r.rtsp_url("sub_url");
        let status = match r.string("status") {
            None => CameraStatus::Unknown,
            Some(s) => CameraStatus::parse(&s).unwrap_or_else(|| {
                r.errors.push(FieldError::new("status", "must be one of online, offline, unknown, disabled"));
                CameraStatus::Unknown
            }),
        };
        if name.chars().count() > 200 {
            r.errors.push(FieldError::new("name", "must be at most 200 characters"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CameraUpdate {
            camera: Camera { id, name, lat, lon, height_m, heading_deg: heading_deg % 360.0, fov_deg, range_m, district, tags, main_url, sub_url, status },
            main_credentials,
            sub_credentials,
        })
    }
}

/// Camera ids travel in URLs, file names (`video/<camera>/…`) and MQTT
/// topics, so only a safe alphabet is allowed: a letter or digit first, then
/// up to 63 of letters, digits, `.`, `_` and `-`. A leading letter or digit
/// rules out `.`, `..` and hidden names, so an id joined to a directory can
/// never leave it.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty: 1 to 64 characters".into());
    }
    if id.len() > 64 {
        return Err(format!("is {} characters long; at most 64 are allowed", id.chars().count()));
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') {
        return Err("may contain only letters, digits, '.', '_' and '-' (no '/', '%', spaces or other characters)".into());
    }
    if !id.as_bytes()[0].is_ascii_alphanumeric() {
        return Err("must start with a letter or a digit (so '.' and '..' are not ids)".into());
    }
    Ok(())
}

struct Reader<'a> {
    obj: &'a Map<String, Value>,
    errors: &'a mut Vec<FieldError>,
}

impl Reader<'_> {
    fn present(&self, field: &str) -> Option<&Value> {
        self.obj.get(field).filter(|v| !v.is_null())
    }

    fn string(&mut self, field: &str) -> Option<String> {
        match self.present(field)? {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => {
                self.errors.push(FieldError::new(field, "must be a string"));
                None
            }
        }
    }

    fn number(&mut self, field: &str) -> Option<f64> {
        let v = match self.present(field)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if s.trim().is_empty() => return None,
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match v {
            Some(v) if v.is_finite() => Some(v),
            _ => {
                self.errors.push(FieldError::new(field, "must be a number"));
                None
            }
        }
    }

    fn required_number(&mut self, field: &str, min: f64, max: f64, range_reason: &str) -> f64 {
        match self.number(field) {
            Some(v) if (min..=max).contains(&v) => v,
            Some(_) => {
                self.errors.push(FieldError::new(field, range_reason));
                0.0
            }
            None => {
                if self.present(field).is_none() {
                    self.errors.push(FieldError::new(field, "is required"));
                }
                0.0
            }
        }
    }

    /// Tags come as a JSON array of strings or, from CSV, one string split on `;` or `|`.
    fn tags(&mut self, field: &str) -> Vec<String> {
        let tags: Vec<String> = match self.present(field) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item.as_str() {
                        Some(s) => out.push(s.trim().to_owned()),
                        None => {
                            self.errors.push(FieldError::new(field, "must be a list of strings"));
                            return Vec::new();
                        }
                    }
                }
                out
            }
            Some(Value::String(s)) => s.split([';', '|']).map(|t| t.trim().to_owned()).collect(),
            Some(_) => {
                self.errors.push(FieldError::new(field, "must be a list of strings"));
                Vec::new()
            }
        };
        let mut tags: Vec<String> = tags.into_iter().filter(|t| !t.is_empty()).collect();
        tags.sort();
        tags.dedup();
        tags
    }

    fn rtsp_url(&mut self, field: &str) -> (Option<String>, Option<String>) {
        let Some(raw) = self.string(field).filter(|s| !s.is_empty()) else {
            return (None, None);
        };
        match RtspUrl::parse(&raw) {
            Ok(url) => (Some(url.public), url.credentials),
            Err(reason) => {
                self.errors.push(FieldError::new(field, reason));
                (None, None)
            }
        }
    }
}

/// An RTSP URL split into the part that may be shown and the `user:password`
/// that must not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtspUrl {
    pub public: String,
    pub credentials: Option<String>,
}

impl RtspUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let rest = raw.strip_prefix("rtsp://").or_else(|| raw.strip_prefix("rtsps://")).ok_or_else(|| "must be an rtsp:// or rtsps:// URL".to_string())?;
        let scheme = &raw[..raw.len() - rest.len()];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let (credentials, host) = match authority.rfind('@') {
            Some(at) => (Some(authority[..at].to_owned()), &authority[at + 1..]),
            None => (None, authority),
        };
        if host.is_empty() {
            return Err("has no host".into());
        }
        if host.chars().any(|c| c.is_whitespace()) || path.chars().any(|c| c.is_whitespace()) {
            return Err("must not contain spaces".into());
        }
        Ok(RtspUrl { public: format!("{scheme}{host}{path}"), credentials: credentials.filter(|c| !c.is_empty()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<CameraUpdate, Vec<FieldError>> {
        CameraUpdate::from_json(v.as_object().unwrap(), None)
    }

    #[test]
    fn valid_camera_with_credentials_split_off() {
        let u = parse(json!({"id":"c1","lat":44.8,"lon":20.4,"heading_deg":90,"fov_deg":60,"range_m":80,
            "main_url":"rtsp://admin:secret@10.0.0.5:554/main","tags":["b","a","a"]}))
        .unwrap();
        assert_eq!(u.camera.main_url.as_deref(), Some("rtsp://10.0.0.5:554/main"));
        assert_eq!(u.main_credentials.as_deref(), Some("admin:secret"));
        assert_eq!(u.camera.tags, vec!["a", "b"]);
        assert_eq!(u.camera.name, "c1");
    }

    #[test]
    fn every_bad_field_is_named() {
        let errs = parse(json!({"id":"bad id","lat":91,"lon":-181,"fov_deg":0,"range_m":-1,"colour":"red"})).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in ["id", "lat", "lon", "fov_deg", "range_m", "colour"] {
            assert!(fields.contains(&f), "{f} missing from {errs:?}");
        }
    }

    #[test]
    fn ids_that_could_leave_a_directory_are_refused_with_a_reason() {
        for (id, says) in [
            ("..", "must start with a letter or a digit"),
            (".", "must start with a letter or a digit"),
            (".hidden", "must start with a letter or a digit"),
            ("-x", "must start with a letter or a digit"),
            ("a/b", "may contain only"),
            ("..%2f", "may contain only"),
            ("%2e%2e", "may contain only"),
            ("a\\b", "may contain only"),
            ("", "must not be empty"),
            (&"a".repeat(65), "is 65 characters long"),
        ] {
            let reason = check_id(id).expect_err(id);
            assert!(reason.contains(says), "{id:?}: {reason}");
            let errs = parse(json!({"id": id, "lat": 0, "lon": 0})).unwrap_err();
            assert!(errs.iter().any(|e| e.field == "id"), "{id:?}: {errs:?}");
        }
        for id in ["cam-0001", "c1", "A.b_c-9", "0", &"a".repeat(64), "cam-a1b2c3d4e5"] {
            assert_eq!(check_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn fov_360_is_allowed_and_above_is_not() {
        assert!(parse(json!({"id":"c","lat":0,"lon":0,"fov_deg":360})).is_ok());
        assert!(parse(json!({"id":"c","lat":0,"lon":0,"fov_deg":360.5})).is_err());
    }

    #[test]
    fn missing_coordinates_are_required() {
        let errs = parse(json!({"id":"c"})).unwrap_err();
        assert!(errs.iter().any(|e| e.field == "lat" && e.reason == "is required"));
    }
}
