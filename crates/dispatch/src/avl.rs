//! AVL ingest: GPS fixes in the OsmAnd/Traccar HTTP protocol.
//!
//! Two shapes arrive: OsmAnd's query parameters (`id`, `lat`, `lon`,
//! `timestamp`, `speed`, `bearing`; Traccar reads `speed` in knots) and the
//! Traccar Client JSON body (`{"device_id", "location": {"timestamp",
//! "coords": {"latitude", "longitude", "speed" (m/s), "heading"}}}`).
//! A device has no session: it proves itself with its own token, of which
//! only the SHA-256 is stored. Every refusal and every ignored fix is
//! counted, so a misconfigured device shows up in `/metrics`. A fix that
//! cannot be where its unit was (see `plausibility.rs`) is kept in the
//! trail, flagged, and never becomes the unit's position.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDateTime, Utc};
use citywatch_model::dispatch::{Position, PositionOutcome, UnitKind};
use citywatch_model::{FieldError, RepoError};
use serde_json::Value;

use crate::{Dispatch, DispatchError};

const KNOT_MPS: f64 = 1852.0 / 3600.0;

/// One fix as a device sent it, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    pub device_id: String,
    pub lat: f64,
    pub lon: f64,
    pub time: DateTime<Utc>,
    pub speed_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum AvlError {
    #[error("a device token is required: send token=... or 'Authorization: Bearer <device token>'")]
    NoToken,
    /// Unknown devices and wrong tokens get the same answer, so the
    /// answer does not tell which device ids exist.
    #[error("device {0} is not registered or the token does not match")]
    UnknownDevice(String),
    #[error("device {0} is not registered or the token does not match")]
    BadToken(String),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// Why fixes were refused or ignored, since start.
#[derive(Debug, Default)]
pub struct AvlCounters {
    pub accepted: AtomicU64,
    pub out_of_order: AtomicU64,
    pub duplicates: AtomicU64,
    /// Kept in the trail, flagged, not the position.
    pub implausible: AtomicU64,
    pub no_token: AtomicU64,
    pub unknown_device: AtomicU64,
    pub bad_token: AtomicU64,
    pub invalid: AtomicU64,
}

impl AvlCounters {
    /// Prometheus text-format families.
    pub fn metrics_text(&self) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP citywatch_avl_positions_total GPS fixes received from unit devices, by outcome.\n# TYPE citywatch_avl_positions_total counter"
        );
        for (outcome, v) in
            [("current", &self.accepted), ("out_of_order", &self.out_of_order), ("duplicate", &self.duplicates), ("implausible", &self.implausible)]
        {
            let _ = writeln!(out, "citywatch_avl_positions_total{{outcome=\"{outcome}\"}} {}", load(v));
        }
        let _ = writeln!(out, "# HELP citywatch_avl_refused_total GPS fixes refused, by reason.\n# TYPE citywatch_avl_refused_total counter");
        for (reason, v) in [("no_token", &self.no_token), ("unknown_device", &self.unknown_device), ("bad_token", &self.bad_token), ("invalid", &self.invalid)]
        {
            let _ = writeln!(out, "citywatch_avl_refused_total{{reason=\"{reason}\"}} {}", load(v));
        }
        out
    }
}

/// A timestamp as devices send it: Unix seconds (milliseconds if it is too
/// large to be seconds), RFC 3339, or `YYYY-MM-DD HH:MM:SS` in UTC.
fn parse_time(v: &str) -> Option<DateTime<Utc>> {
    let v = v.trim();
    if let Ok(n) = v.parse::<f64>() {
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        let secs = if n > 1e11 { n / 1000.0 } else { n };
        return DateTime::from_timestamp_micros((secs * 1e6).round() as i64);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f").ok().map(|t| t.and_utc())
}

struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn number(&mut self, field: &str, v: Option<&str>) -> Option<f64> {
        let v = v.map(str::trim).filter(|v| !v.is_empty())?;
        match v.parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                self.errors.push(FieldError::new(field, format!("must be a number, got {v:?}")));
                None
            }
        }
    }

    fn required(&mut self, field: &str, v: Option<f64>, min: f64, max: f64, what: &str) -> f64 {
        match v {
            Some(n) if (min..=max).contains(&n) => n,
            Some(n) => {
                self.errors.push(FieldError::new(field, format!("{n} is out of range: must be {what} in [{min}, {max}]")));
                0.0
            }
            None => {
                // A value that was there but not a number is already reported.
                if !self.errors.iter().any(|e| e.field == field) {
                    self.errors.push(FieldError::new(field, "is required"));
                }
                0.0
            }
        }
    }
}

impl Fix {
    #[allow(clippy::too_many_arguments)] // one private constructor shared by both wire shapes
    fn build(
        device_id: Option<String>,
        lat: Option<f64>,
        lon: Option<f64>,
        time: Option<&str>,
        speed_mps: Option<f64>,
        bearing: Option<f64>,
        mut c: Checker,
        now: DateTime<Utc>,
        max_future: chrono::Duration,
        id_field: &str,
        time_field: &str,
    ) -> Result<Fix, Vec<FieldError>> {
        let device_id = device_id.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
        if device_id.is_none() {
            c.errors.push(FieldError::new(id_field, "is required: the device identifier"));
        }
        let lat = c.required("lat", lat, -90.0, 90.0, "a latitude");
        let lon = c.required("lon", lon, -180.0, 180.0, "a longitude");
        let time = match time.map(str::trim).filter(|t| !t.is_empty()) {
            // OsmAnd may leave the time out; Traccar then takes the arrival time.
            None => now,
            Some(t) => match parse_time(t) {
                Some(t) if t > now + max_future => {
                    c.errors.push(FieldError::new(
                        time_field,
                        format!("{t} is more than {} s ahead of the server clock ({now}); check the device's clock", max_future.num_seconds()),
                    ));
                    now
                }
                Some(t) => t,
                None => {
                    c.errors.push(FieldError::new(time_field, format!("{t:?} is not Unix seconds or an ISO 8601 time")));
                    now
                }
            },
        };
        if speed_mps.is_some_and(|s| s < 0.0) {
            c.errors.push(FieldError::new("speed", "must not be negative"));
        }
        let bearing_deg = bearing.filter(|b| *b >= 0.0);
        if bearing.is_some_and(|b| b > 360.0) {
            c.errors.push(FieldError::new("bearing", "must be in [0, 360] degrees"));
        }
        if !c.errors.is_empty() {
            return Err(c.errors);
        }
        Ok(Fix { device_id: device_id.unwrap_or_default(), lat, lon, time, speed_mps, bearing_deg })
    }

    /// OsmAnd query parameters (`id` or `deviceid`; `speed` in knots).
    pub fn from_query(q: &HashMap<String, String>, now: DateTime<Utc>, max_future: chrono::Duration) -> Result<Fix, Vec<FieldError>> {
        let mut c = Checker { errors: Vec::new() };
        let get = |k: &str| q.get(k).map(String::as_str);
        let lat = c.number("lat", get("lat"));
        let lon = c.number("lon", get("lon"));
        let speed = c.number("speed", get("speed")).map(|kn| kn * KNOT_MPS);
        let bearing = c.number("bearing", get("bearing").or(get("heading")));
        let id = get("id").or(get("deviceid")).map(str::to_owned);
        Fix::build(id, lat, lon, get("timestamp"), speed, bearing, c, now, max_future, "id", "timestamp")
    }

    /// The Traccar Client JSON body.
    pub fn from_json(body: &Value, now: DateTime<Utc>, max_future: chrono::Duration) -> Result<Fix, Vec<FieldError>> {
        let mut c = Checker { errors: Vec::new() };
        let text = json_text;
        let loc = &body["location"];
        if !loc.is_object() {
            c.errors.push(FieldError::new("location", "is required: {\"timestamp\", \"coords\": {\"latitude\", \"longitude\", ...}}"));
        }
        let coords = &loc["coords"];
        let lat = c.number("lat", text(coords.get("latitude")).as_deref());
        let lon = c.number("lon", text(coords.get("longitude")).as_deref());
        let speed = c.number("speed", text(coords.get("speed")).as_deref());
        let bearing = c.number("bearing", text(coords.get("heading")).as_deref());
        let (lat, lon) = if loc.is_object() { (lat, lon) } else { (Some(0.0), Some(0.0)) };
        let time = text(loc.get("timestamp"));
        Fix::build(text(body.get("device_id")), lat, lon, time.as_deref(), speed, bearing, c, now, max_future, "device_id", "location.timestamp")
    }
}

/// A JSON string or number as text (devices send both); anything else is absent.
fn json_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The device id under which an officer's terminal (the browser's
/// geolocation) files its fixes: the trail then says where each fix came from.
pub fn terminal_device_id(username: &str) -> String {
    format!("terminal:{username}")
}

impl Fix {
    /// A fix from the officer's terminal: `{"lat", "lon", "speed" (m/s),
    /// "bearing", "timestamp", "unit_id"}` (the browser's geolocation), under
    /// the same checks as a device's. Unknown fields are refused by name.
    pub fn from_terminal(body: &Value, username: &str, now: DateTime<Utc>, max_future: chrono::Duration) -> Result<Fix, Vec<FieldError>> {
        let mut c = Checker { errors: Vec::new() };
        let Some(obj) = body.as_object() else {
            return Err(vec![FieldError::new("body", "must be a JSON object {\"lat\", \"lon\", \"speed\", \"bearing\", \"timestamp\"}")]);
        };
        for key in obj.keys() {
            if !["lat", "lon", "speed", "bearing", "timestamp", "unit_id"].contains(&key.as_str()) {
                c.errors.push(FieldError::new(key, "unknown field; expected lat, lon, speed, bearing, timestamp, unit_id"));
            }
        }
        let lat = c.number("lat", json_text(obj.get("lat")).as_deref());
        let lon = c.number("lon", json_text(obj.get("lon")).as_deref());
        let speed = c.number("speed", json_text(obj.get("speed")).as_deref());
        let bearing = c.number("bearing", json_text(obj.get("bearing")).as_deref());
        let time = json_text(obj.get("timestamp"));
        Fix::build(Some(terminal_device_id(username)), lat, lon, time.as_deref(), speed, bearing, c, now, max_future, "device_id", "timestamp")
    }
}

impl Dispatch {
    /// Stores a fix from the terminal of `username`, who must crew the unit:
    /// `unit_id`, or else the unit of their assignment, or else their only
    /// unit. The officer's session stands in for a device token; the store
    /// path, outcomes and counters are the devices'. Blocking.
    pub fn ingest_from_officer(
        &self,
        username: &str,
        unit_id: Option<&str>,
        fix: &Fix,
        now: DateTime<Utc>,
    ) -> Result<(PositionOutcome, String), DispatchError> {
        let unit_id = self.officer_unit(username, unit_id)?;
        let p = Position { unit_id, lat: fix.lat, lon: fix.lon, time: fix.time, speed_mps: fix.speed_mps, bearing_deg: fix.bearing_deg };
        let outcome = self.store_fix(&fix.device_id, &p, now)?;
        if outcome == PositionOutcome::Current {
            self.announce_id(&p.unit_id);
        }
        self.count(outcome);
        Ok((outcome, p.unit_id))
    }

    /// Which of the units `username` crews a terminal fix belongs to.
    fn officer_unit(&self, username: &str, unit_id: Option<&str>) -> Result<String, DispatchError> {
        let units = self.units_of_officer(username)?;
        if let Some(id) = unit_id.map(str::trim) {
            self.unit(id)?;
            return match units.iter().any(|u| u.id == id) {
                true => Ok(id.to_owned()),
                false => Err(DispatchError::Forbidden(format!("{username} is not an officer of unit {id}"))),
            };
        }
        match units.as_slice() {
            [] => Err(DispatchError::Forbidden(format!("{username} crews no unit: only a unit's officers report positions"))),
            [one] => Ok(one.id.clone()),
            _ => match self.assignment_of(username)? {
                Some((unit, _)) => Ok(unit.id),
                None => Err(DispatchError::field("unit_id", format!("{username} crews {} units: name the one this position is for", units.len()))),
            },
        }
    }

    /// Counts a fix refused before it reached `ingest` (no token, or a body
    /// that did not parse).
    pub fn count_refused(&self, err: &AvlError) {
        let c = &self.avl;
        let counter = match err {
            AvlError::NoToken => &c.no_token,
            AvlError::UnknownDevice(_) => &c.unknown_device,
            AvlError::BadToken(_) => &c.bad_token,
            AvlError::Invalid(_) => &c.invalid,
            AvlError::Repo(_) => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Stores a fix from a device that presented a token with SHA-256
    /// `token_hash` (hex); answers what became of it and the device's unit.
    /// Blocking.
    pub fn ingest(&self, fix: &Fix, token_hash: &str, now: DateTime<Utc>) -> Result<(PositionOutcome, String), AvlError> {
        let result = self.ingest_inner(fix, token_hash, now);
        if let Ok((PositionOutcome::Current, unit_id)) = &result {
            self.announce_id(unit_id);
        }
        match &result {
            Ok((outcome, _)) => self.count(*outcome),
            Err(e) => self.count_refused(e),
        }
        result
    }

    fn ingest_inner(&self, fix: &Fix, token_hash: &str, now: DateTime<Utc>) -> Result<(PositionOutcome, String), AvlError> {
        let Some((unit_id, stored_hash)) = self.repo.unit_device(&fix.device_id)? else {
            return Err(AvlError::UnknownDevice(fix.device_id.clone()));
        };
        if !same(stored_hash.as_bytes(), token_hash.as_bytes()) {
            return Err(AvlError::BadToken(fix.device_id.clone()));
        }
        let p = Position { unit_id, lat: fix.lat, lon: fix.lon, time: fix.time, speed_mps: fix.speed_mps, bearing_deg: fix.bearing_deg };
        Ok((self.store_fix(&fix.device_id, &p, now)?, p.unit_id))
    }

    /// Trails the fix and, if it is plausible for the unit's kind and the
    /// unit's newest, makes it the position.
    fn store_fix(&self, device_id: &str, p: &Position, now: DateTime<Utc>) -> Result<PositionOutcome, RepoError> {
        let kind = self.repo.unit(&p.unit_id)?.map_or(UnitKind::Car, |u| u.kind);
        let plausibility = self.config.plausibility;
        self.repo.add_position(device_id, p, now, Box::new(|current: Option<&Position>| plausibility.judge(p, kind, current, now)))
    }

    fn count(&self, outcome: PositionOutcome) {
        let counter = match outcome {
            PositionOutcome::Current => &self.avl.accepted,
            PositionOutcome::OutOfOrder => &self.avl.out_of_order,
            PositionOutcome::Duplicate => &self.avl.duplicates,
            PositionOutcome::Implausible(_) => &self.avl.implausible,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl From<AvlError> for DispatchError {
    fn from(e: AvlError) -> DispatchError {
        match e {
            AvlError::Invalid(f) => DispatchError::Invalid(f),
            AvlError::Repo(e) => e.into(),
            other => DispatchError::Forbidden(other.to_string()),
        }
    }
}

/// Constant-time comparison of the stored and presented token hashes.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_form_devices_send() {
        let t = parse_time("1764230400").unwrap();
        assert_eq!(t, parse_time("1764230400000").unwrap());
        assert_eq!(t, parse_time("2025-11-27T08:00:00Z").unwrap());
        assert_eq!(t, parse_time("2025-11-27 08:00:00").unwrap());
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("-5"), None);
    }

    #[test]
    fn terminal_fixes_get_the_device_checks_and_name_bad_fields() {
        let now = parse_time("2025-11-27T08:00:00Z").unwrap();
        let skew = chrono::Duration::minutes(5);
        let body = serde_json::json!({"lat": 44.8, "lon": 20.46, "speed": null, "bearing": 90.0, "timestamp": 1764230400000u64});
        let fix = Fix::from_terminal(&body, "ana", now, skew).unwrap();
        assert_eq!((fix.device_id.as_str(), fix.time, fix.speed_mps, fix.bearing_deg), ("terminal:ana", now, None, Some(90.0)));
        let bad = serde_json::json!({"lat": 95.0, "lon": "east", "altitude": 3, "timestamp": 1764240400});
        let fields: Vec<String> = Fix::from_terminal(&bad, "ana", now, skew).unwrap_err().into_iter().map(|e| e.field).collect();
        for f in ["altitude", "lat", "lon", "timestamp"] {
            assert!(fields.iter().any(|x| x == f), "{f} not named in {fields:?}");
        }
    }
}
