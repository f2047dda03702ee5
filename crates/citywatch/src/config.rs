//! `citywatch.toml`: written with its defaults, commented, into a new data
//! directory; read at every start.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

pub const FILE_NAME: &str = "citywatch.toml";

pub const DEFAULT_CONFIG: &str = r#"# Citywatch configuration. Every setting is shown with its default.

[database]
# Where cameras, users, events, dispatch, plate reads, the recording index
# and the audit log are kept. Empty: citywatch.db in this data directory
# (SQLite, one server). A PostgreSQL address, e.g.
# "postgres://citywatch@db.example.city:5432/citywatch", keeps them in
# that database instead (the schema is created and migrated at start);
# `serve --database` overrides this. The audit key, the credentials key
# and the video stay in this directory either way.
url = ""

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
# Written GOPs of all cameras are synced and indexed together this often (ms):
# a crash loses at most this much plus the GOP being held. Each commit costs
# a sync per file and a database transaction; memory grows by about this
# much video per stream (held for the commit's one write per file).
commit_interval_ms = 2000
# Writer threads for the video disk. 0: sized to the machine (half its
# cores, 1 to 4): on a small machine a second thread costs more in wake-ups
# and context switches than it saves (bench/results/recording-50.txt); a
# big one records more cameras, whose syncs then overlap.
writer_threads = 0
# Write sample files around the page cache (O_DIRECT) where the filesystem
# allows it: recorded video is seldom read back soon, and the page cache
# was most of the recorder's CPU. false: ordinary buffered writes.
direct_io = true
# A camera stream nobody watches live is read from its socket this often
# (ms) instead of packet by packet, which saves most of the recorder's CPU;
# frames wait in the kernel meanwhile and nothing is lost (a stream above
# 4 Mbps is read more often, so that at most 512 KiB wait). A viewer's
# arrival switches the stream to packet by packet at once. 0: always
# packet by packet.
read_batch_ms = 1000
# Camera sessions run on this many threads of their own, which wake on a
# tick (ms) instead of on every packet; the tick bounds the latency this
# adds to live video. 0: sized to the machine (half its cores, 1 to 4; one
# thread reads a few thousand streams).
ingest_threads = 0
ingest_tick_ms = 10
# Live video reaches viewers without an unmask grant (everyone but
# supervisors) with faces pixelated: one transcoder per camera stream they
# watch (decode, CenterFace from [analytics] models_dir, re-encode), shared
# by its viewers. At most this many at once, further cameras are refused to
# them; 0: sized to the machine (two per core beyond the first). Without
# the face model they get no live video at all. Their recorded video
# (view.mp4) is blurred the same way, at most this many recordings at once
# (counted apart from live streams).
max_blurred_streams = 0
# One blurred recording request covers at most this many minutes: it is
# made about as fast as it plays, holding a core all along. The console's
# timeline asks for the next piece when one ends.
max_blurred_minutes = 15

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

[mqtt]
# Publish events to an MQTT broker: topics citywatch/events/<type> (JSON),
# citywatch/cameras/<id>/status (retained) and citywatch/alerts. E.g.
# "mqtt://127.0.0.1:1883" (no TLS). Empty: no MQTT. An unreachable broker
# never blocks or loses stored events: up to `queue` messages wait, the
# rest are dropped and counted. Anyone who can subscribe to the broker sees
# what is published there, with no login, purpose or audit entry: unit
# positions (citywatch/events/unit_position, where every unit is) are
# published; plate reads and hotlist hits (which follow a car across the
# city) only with publish_plates = true.
url = ""
client_id = "citywatch"
queue = 10000
publish_plates = false

[dispatch]
# Speeds (km/h) for the straight-line ETA of each unit kind when ranking
# units for an incident.
car_kmh = 40.0
motorbike_kmh = 45.0
foot_kmh = 5.0
# An OSRM server (http://host:port) to rank the best straight-line
# candidates by road instead; empty: straight line only. If it does not
# answer within osrm_timeout_ms, the straight-line ranking is used.
# A road network in the data directory (roads.geojson: GeoJSON LineStrings
# with optional maxspeed in km/h and highway class; the demo writes its
# streets there) is used instead of OSRM, and routes are drawn along it.
osrm_url = ""
osrm_timeout_ms = 2000

[analytics]
# Analyse cameras' sub-streams (motion, objects, zones, lines) and raise
# events with snapshots. Off by default, to keep a recorder lean. Reads the
# frames the recorders receive, so it needs [video] record = true.
enabled = false
# Analyse only cameras carrying this tag; empty: every camera with a sub-stream.
tag = ""
# Pictures analysed per second per camera (every frame is still decoded:
# H.264 needs each frame for the next). Past what the CPU allows, frames
# are skipped, never cameras (see /metrics).
fps = 5.0
# Worker threads; 0: one per CPU core.
workers = 0
# Detect objects (NanoDet) when something moves; false: motion events only.
detect = true
# The models' directory (`citywatch models install`); empty: $CITYWATCH_MODELS.
models_dir = ""
# A JSON file of per-camera zones, lines and motion masks, e.g.
# {"cam-0001": {"zones": [{"name": "bus lane", "area": [{"x": 0.1, "y": 0.5}, ...]}],
#  "lines": [{"name": "stop line", "a": {"x": 0.2, "y": 0.6}, "b": {"x": 0.8, "y": 0.6},
#  "direction": "left_to_right"}], "motion_mask": [[{"x": 0, "y": 0}, ...]]}}
# (coordinates are fractions of the picture); empty: none.
rules_file = ""

[plates]
# Read vehicles' licence plates in the analytics pipeline (needs
# [analytics] enabled with detect = true): each vehicle track's plate is
# read on a few pictures and voted into one plate_read event, checked
# against the hotlists (hotlist_hit events), with a crop of the plate that
# is served like a snapshot (purpose and case_ref, audited). Off by default.
enabled = false
# Least vehicle box width, in pixels of the analysed sub-stream, worth
# reading (a plate is about a fifth of a car's width).
min_vehicle_width_px = 96.0
# Plate OCR runs per vehicle track at most.
reads_per_track = 6
# Share of each camera's analysis time that plate OCR may take; past it
# plate reads are skipped (counted in /metrics), never detection.
ocr_share = 0.5
# Plate reads that hit no hotlist are deleted (with their plate_read
# events) this many days after the read; hits are kept. Each purge that
# deletes anything is audited with its counts.
unhit_retention_days = 7
# How often the purge runs.
purge_interval_s = 3600
# Where the deployment is: the regions (ISO 3166 codes) whose plate layouts
# reads are fitted to, in order of preference on a tie. Letters and digits
# OCR confuses are corrected only toward these regions' layouts; a read that
# fits one as read is never changed; a read that fits none is kept as read
# (no country, lower confidence), and hotlists still match it. Known
# regions: `citywatch analyze --help`. Default: Serbia, its neighbours and
# the countries most seen in Belgrade traffic.
regions = ["RS", "DE", "HU", "IT", "HR", "BG", "BA", "ME", "MK", "AL", "XK", "RO", "SI", "AT"]

# Webhooks: each gets a POST with JSON per event of the listed types and
# per alert change, retried with exponential backoff. Repeat for more.
# Plate-bearing types (plate_read, hotlist_hit) may be listed only with
# publish_plates = true: the receiver sees plates with no purpose or audit.
# [[webhooks]]
# url = "http://127.0.0.1:9000/citywatch"
# events = ["camera_offline", "unit_position"]
# alerts = true
# publish_plates = false

[import]
# Rows one camera or hotlist import may hold (a bigger file is refused as a
# whole: split it), and how many bad-row problems an import reports in
# full (the rest are counted).
max_camera_rows = 200000
max_hotlist_rows = 200000
max_row_errors = 100
"#;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: Database,
    pub console: Console,
    pub auth: Auth,
    pub video: Video,
    pub retention: Retention,
    pub metrics: Metrics,
    pub mqtt: Mqtt,
    pub webhooks: Vec<Webhook>,
    pub dispatch: Dispatch,
    pub analytics: Analytics,
    pub plates: Plates,
    pub import: Import,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Import {
    pub max_camera_rows: usize,
    pub max_hotlist_rows: usize,
    pub max_row_errors: usize,
}

impl Default for Import {
    fn default() -> Self {
        let d = citywatch_model::ImportLimits::default();
        Import { max_camera_rows: d.max_rows, max_hotlist_rows: d.max_rows, max_row_errors: d.max_errors }
    }
}

impl Import {
    /// The limits of a camera import and of a hotlist import.
    pub fn limits(&self) -> (citywatch_model::ImportLimits, citywatch_model::ImportLimits) {
        let limits = |max_rows| citywatch_model::ImportLimits { max_rows, max_errors: self.max_row_errors };
        (limits(self.max_camera_rows), limits(self.max_hotlist_rows))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Plates {
    pub enabled: bool,
    pub min_vehicle_width_px: f32,
    pub reads_per_track: u32,
    pub ocr_share: f64,
    pub unhit_retention_days: u32,
    pub purge_interval_s: u64,
    /// ISO 3166 codes of the regions whose plate layouts reads are fitted to.
    pub regions: Vec<String>,
}

impl Default for Plates {
    fn default() -> Self {
        let regions = ["RS", "DE", "HU", "IT", "HR", "BG", "BA", "ME", "MK", "AL", "XK", "RO", "SI", "AT"].map(String::from).to_vec();
        Plates { enabled: false, min_vehicle_width_px: 96.0, reads_per_track: 6, ocr_share: 0.5, unhit_retention_days: 7, purge_interval_s: 3600, regions }
    }
}

impl Plates {
    /// The configured regions' plate layouts.
    pub fn layouts(&self) -> anyhow::Result<citywatch_analytics::plates::Layouts> {
        anyhow::ensure!(!self.regions.is_empty(), "plates.regions is empty: name at least the country the cameras are in (ISO 3166 codes, e.g. [\"RS\"])");
        citywatch_analytics::plates::Layouts::for_regions(&self.regions).map_err(|e| anyhow::anyhow!("plates.regions: {e}"))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Analytics {
    pub enabled: bool,
    pub tag: String,
    pub fps: f64,
    pub workers: usize,
    pub detect: bool,
    pub models_dir: String,
    pub rules_file: String,
}

impl Default for Analytics {
    fn default() -> Self {
        Analytics { enabled: false, tag: String::new(), fps: 5.0, workers: 0, detect: true, models_dir: String::new(), rules_file: String::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dispatch {
    pub car_kmh: f64,
    pub motorbike_kmh: f64,
    pub foot_kmh: f64,
    pub osrm_url: String,
    pub osrm_timeout_ms: u64,
}

impl Default for Dispatch {
    fn default() -> Self {
        Dispatch { car_kmh: 40.0, motorbike_kmh: 45.0, foot_kmh: 5.0, osrm_url: String::new(), osrm_timeout_ms: 2000 }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mqtt {
    pub url: String,
    pub client_id: String,
    pub queue: usize,
    pub publish_plates: bool,
}

impl Default for Mqtt {
    fn default() -> Self {
        Mqtt { url: String::new(), client_id: "citywatch".into(), queue: 10_000, publish_plates: false }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default = "yes")]
    pub alerts: bool,
    #[serde(default)]
    pub publish_plates: bool,
}

fn yes() -> bool {
    true
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
pub struct Database {
    pub url: String,
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
    pub commit_interval_ms: u64,
    pub writer_threads: usize,
    pub direct_io: bool,
    pub read_batch_ms: u64,
    pub ingest_threads: usize,
    pub ingest_tick_ms: u64,
    pub max_blurred_streams: usize,
    pub max_blurred_minutes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RtspTransport {
    Tcp,
    Udp,
}

impl Default for Video {
    fn default() -> Self {
        Video {
            record: true,
            rtsp_transport: RtspTransport::Tcp,
            record_tag: String::new(),
            commit_interval_ms: 2000,
            writer_threads: 0,
            direct_io: true,
            read_batch_ms: 1000,
            ingest_threads: 0,
            ingest_tick_ms: 10,
            max_blurred_streams: 0,
            max_blurred_minutes: 15,
        }
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
        let m = config.video.max_blurred_minutes;
        anyhow::ensure!((1..=24 * 60).contains(&m), "{}: video.max_blurred_minutes must be 1 to 1440", path.display());
        let t = &config.metrics.token;
        anyhow::ensure!(t.is_empty() || t.len() >= 16, "{}: metrics.token must be at least 16 characters (or empty for sessions only)", path.display());
        let fps = config.analytics.fps;
        anyhow::ensure!(fps > 0.0 && fps <= 30.0, "{}: analytics.fps must be above 0 and at most 30", path.display());
        let p = &config.plates;
        anyhow::ensure!(p.ocr_share > 0.0 && p.ocr_share <= 1.0, "{}: plates.ocr_share must be above 0 and at most 1", path.display());
        anyhow::ensure!(p.reads_per_track >= 1, "{}: plates.reads_per_track must be at least 1", path.display());
        anyhow::ensure!(
            p.min_vehicle_width_px.is_finite() && p.min_vehicle_width_px >= 0.0,
            "{}: plates.min_vehicle_width_px must be a number of pixels",
            path.display()
        );
        p.layouts().with_context(|| format!("{}", path.display()))?;
        config.events_config().with_context(|| format!("{}", path.display()))?;
        Ok(config)
    }

    /// The `[mqtt]` and `[[webhooks]]` sections for the events service.
    pub fn events_config(&self) -> anyhow::Result<citywatch_events::EventsConfig> {
        use citywatch_events::{mqtt::MqttConfig, webhook::WebhookConfig};
        let mqtt = (!self.mqtt.url.is_empty()).then(|| MqttConfig {
            url: self.mqtt.url.clone(),
            client_id: self.mqtt.client_id.clone(),
            queue: self.mqtt.queue.max(1),
            publish_plates: self.mqtt.publish_plates,
        });
        if let Some(m) = &mqtt {
            m.host_port().map_err(|e| anyhow::anyhow!("mqtt.url: {e}"))?;
        }
        let mut webhooks = Vec::new();
        for (i, w) in self.webhooks.iter().enumerate() {
            anyhow::ensure!(w.url.starts_with("http://"), "webhooks[{i}].url must start with http:// (TLS is not built in)");
            let events = w
                .events
                .iter()
                .map(|t| citywatch_model::EventType::parse(t).ok_or_else(|| anyhow::anyhow!("webhooks[{i}].events: unknown event type {t:?}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if let Some(t) = events.iter().find(|t| t.carries_plate() && !w.publish_plates) {
                anyhow::bail!(
                    "webhooks[{i}].events lists {}, which carries licence plates: add publish_plates = true to this webhook if its receiver is meant to get them",
                    t.as_str()
                );
            }
            webhooks.push(WebhookConfig { events, alerts: w.alerts, publish_plates: w.publish_plates, ..WebhookConfig::new(w.url.clone()) });
        }
        Ok(citywatch_events::EventsConfig { mqtt, webhooks })
    }

    /// The `[dispatch]` section: unit speeds and the optional OSRM router.
    pub fn dispatch_config(&self) -> anyhow::Result<citywatch_dispatch::DispatchConfig> {
        let d = &self.dispatch;
        let speeds = citywatch_dispatch::Speeds { car_kmh: d.car_kmh, motorbike_kmh: d.motorbike_kmh, foot_kmh: d.foot_kmh };
        speeds.validate().map_err(|e| anyhow::anyhow!("dispatch.{e}"))?;
        let mut config = citywatch_dispatch::DispatchConfig { speeds, ..Default::default() };
        if !d.osrm_url.is_empty() {
            let timeout = std::time::Duration::from_millis(d.osrm_timeout_ms.max(1));
            let osrm = citywatch_dispatch::osrm::Osrm::new(&d.osrm_url, timeout).map_err(|e| anyhow::anyhow!("dispatch.osrm_url: {e}"))?;
            config.router = std::sync::Arc::new(osrm);
        }
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

    #[test]
    fn plates_leave_for_brokers_and_webhooks_only_when_asked_for() {
        let c: Config = toml::from_str("[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n").unwrap();
        assert!(!c.events_config().unwrap().mqtt.unwrap().publish_plates, "off by default");
        let hook = "[[webhooks]]\nurl = \"http://127.0.0.1:9000/\"\nevents = [\"hotlist_hit\"]\n";
        let refused: Config = toml::from_str(hook).unwrap();
        assert!(refused.events_config().unwrap_err().to_string().contains("publish_plates = true"));
        let asked: Config = toml::from_str(&format!("{hook}publish_plates = true\n")).unwrap();
        assert!(asked.events_config().unwrap().webhooks[0].publish_plates);
    }

    #[test]
    fn plate_regions_are_iso_codes_with_layouts() {
        let c = Config::default();
        assert_eq!(c.plates.layouts().unwrap().codes()[0], "RS", "the demo city is Belgrade");
        let c: Config = toml::from_str("[plates]\nregions = [\"br\", \"US\"]\n").unwrap();
        assert_eq!(c.plates.layouts().unwrap().codes(), ["BR", "US"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "[plates]\nregions = [\"RS\", \"Serbia\", \"QQ\"]\n").unwrap();
        let e = format!("{:#}", Config::load(&path).unwrap_err());
        assert!(e.contains("plates.regions: no plate layouts for SERBIA, QQ; known regions: RS, "), "{e}");
        std::fs::write(&path, "[plates]\nregions = []\n").unwrap();
        assert!(format!("{:#}", Config::load(&path).unwrap_err()).contains("plates.regions is empty"));
    }

    #[test]
    fn dispatch_settings_are_checked() {
        let c: Config = toml::from_str("[dispatch]\nfoot_kmh = 6.5\nosrm_url = \"http://127.0.0.1:5000\"\n").unwrap();
        let d = c.dispatch_config().unwrap();
        assert_eq!((d.speeds.foot_kmh, d.router.name()), (6.5, "osrm"));
        let bad: Config = toml::from_str("[dispatch]\ncar_kmh = 0\n").unwrap();
        assert!(bad.dispatch_config().unwrap_err().to_string().contains("dispatch.car_kmh"));
        let tls: Config = toml::from_str("[dispatch]\nosrm_url = \"https://osrm\"\n").unwrap();
        assert!(tls.dispatch_config().unwrap_err().to_string().contains("dispatch.osrm_url"));
    }
}
