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
"#;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub console: Console,
    pub auth: Auth,
    pub video: Video,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RtspTransport {
    Tcp,
    Udp,
}

impl Default for Video {
    fn default() -> Self {
        Video { record: true, rtsp_transport: RtspTransport::Tcp }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config { console: Console::default(), auth: Auth::default(), video: Video::default() }
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
