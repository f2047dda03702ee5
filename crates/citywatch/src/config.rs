//! `citywatch.toml`: written with its defaults, commented, into a new data
//! directory; read at every start.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

pub const FILE_NAME: &str = "citywatch.toml";

pub const DEFAULT_CONFIG: &str = r#"# Citywatch configuration. Every setting is shown with its default.

[console]
# A MapLibre style URL served by the city's own tile server, e.g.
# "https://tiles.example.city/styles/basic/style.json". Empty: the console
# draws an offline base layer (streets and districts) served by Citywatch.
style_url = ""
# Initial map view: [lon, lat] and zoom level.
center = [20.4612, 44.8125]
zoom = 13.0

[auth]
# How long a login session lasts, in hours.
session_hours = 12

[video]
# Record every camera's main and sub streams (RTSP, without transcoding).
record = true
# RTSP transport: "tcp" (interleaved, default) or "udp".
rtsp_transport = "tcp"
# Record only cameras carrying this tag (e.g. "recorded"); empty: record all.
record_tag = ""

[retention]
# Recordings are deleted oldest first when any limit is passed; recording
# never stops because the disk filled. Recordings under a legal hold and the
# recording being written are never deleted. 0 turns a limit off.
# Per camera, max_age_days and max_bytes can be overridden with
# PUT /api/v1/cameras/{id}/retention.
# Delete a camera's recordings older than this many days.
max_age_days = 30
# Delete a camera's oldest recordings beyond this many bytes (held ones not counted).
max_bytes_per_camera = 0
# Keep at least this many bytes free on the video directory's filesystem
# (deleting the oldest recordings of any camera). Default 1 GiB.
min_free_bytes = 1073741824
# How often retention runs, in seconds.
interval_s = 60

[metrics]
# GET /metrics (Prometheus text format) is readable with an admin or
# supervisor session over all districts. A scraper may instead send
# "Authorization: Bearer <token>" with this token (at least 16 characters);
# empty: sessions only.
token = ""
"#;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub console: Console,
    pub auth: Auth,
    pub video: Video,
    pub retention: Retention,
    pub metrics: Metrics,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    pub max_age_days: i64,
    pub max_bytes_per_camera: i64,
    pub min_free_bytes: u64,
    pub interval_s: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { max_age_days: 30, max_bytes_per_camera: 0, min_free_bytes: 1 << 30, interval_s: 60 }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metrics {
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Console {
    pub style_url: String,
    pub center: [f64; 2],
    pub zoom: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    pub session_hours: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Video {
    pub record: bool,
    pub rtsp_transport: RtspTransport,
    pub record_tag: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RtspTransport {
    Tcp,
    Udp,
}

impl Default for Video {
    fn default() -> Self {
        Video { record: true, rtsp_transport: RtspTransport::Tcp, record_tag: String::new() }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config { console: Console::default(), auth: Auth::default(), video: Video::default(), retention: Retention::default(), metrics: Metrics::default() }
    }
}

impl Default for Console {
    fn default() -> Self {
        Console { style_url: String::new(), center: [20.4612, 44.8125], zoom: 13.0 }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Auth { session_hours: 12 }
    }
}

impl Config {
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        if !path.exists() {
            return Ok(Config::default());
        }
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config: Config = toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        anyhow::ensure!(config.auth.session_hours > 0, "{}: auth.session_hours must be positive", path.display());
        let r = &config.retention;
        anyhow::ensure!(r.max_age_days >= 0 && r.max_bytes_per_camera >= 0, "{}: retention limits must not be negative (0 turns a limit off)", path.display());
        anyhow::ensure!(r.interval_s > 0, "{}: retention.interval_s must be positive", path.display());
        let t = &config.metrics.token;
        anyhow::ensure!(t.is_empty() || t.len() >= 16, "{}: metrics.token must be at least 16 characters (or empty for sessions only)", path.display());
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_unknown_keys_are_refused() {
        let c: Config = toml::from_str(DEFAULT_CONFIG).unwrap();
        assert_eq!(c, Config::default(), "the documented defaults are the defaults");
        assert!(toml::from_str::<Config>("[console]\nstyle_ur = \"x\"\n").is_err());
    }
}
