//! RTSP ingest: pull H.264/H.265 video from a camera and hand it on as
//! [`Frame`](crate::Frame)s, without decoding anything.
//!
//! Two layers:
//!
//! * [`open`] connects once (DESCRIBE, SETUP of the first H.264/H.265 video
//!   stream, PLAY) and returns an [`IngestSession`] whose
//!   [`next_frame`](IngestSession::next_frame) yields frames, starting at the
//!   first key frame. Any failure is an [`IngestError`] that names the camera
//!   URL (never its password) and says what went wrong.
//! * [`run_camera`] keeps one camera connected: it reconnects with
//!   exponential backoff and jitter, reports [`IngestEvent`]s on a bounded
//!   channel (a slow consumer makes it skip to the next key frame, never
//!   buffer without bound) and keeps [`StreamHealth`] counters current.
//!
//! The RTSP/RTP work is done by the `retina` crate (Moonfire NVR's client).

mod error;
mod pacing;
mod runtime;
mod session;
mod supervisor;

use std::fmt;
use std::time::Duration;

pub use error::{IngestError, Stage};
pub use pacing::{Pacing, DEFAULT_BATCH};
pub use runtime::{IngestRuntimes, DEFAULT_TICK};
pub use session::{open, IngestSession};
pub use supervisor::{run_camera, Backoff, HealthSnapshot, IngestEvent, StreamHealth, StreamState};

/// How RTP packets travel from the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// Interleaved in the RTSP TCP connection: works through NAT and
    /// firewalls, no packet loss on the wire. The default.
    #[default]
    Tcp,
    /// Separate UDP ports: less latency under loss, but only sensible on a
    /// LAN (retina has no reorder buffer and sends no receiver reports).
    Udp,
}

/// How to reach one camera stream.
#[derive(Clone)]
pub struct IngestConfig {
    /// `rtsp://host[:port]/path`, without credentials. If it carries
    /// `user:password@` anyway, [`open`] moves them out of the URL (and uses
    /// them when [`credentials`](Self::credentials) is `None`), so they never
    /// appear in requests' URLs, logs or error messages.
    pub url: url::Url,
    /// `(username, password)` for Basic/Digest authentication.
    pub credentials: Option<(String, String)>,
    pub transport: Transport,
    /// Budget for TCP connect + DESCRIBE + SETUP + PLAY together.
    pub connect_timeout: Duration,
    /// No video frame for this long while playing means the stream stalled.
    pub frame_timeout: Duration,
    /// When the playing session reads its socket (default: as packets arrive).
    pub pacing: Pacing,
}

impl IngestConfig {
    /// Defaults: TCP, 10 s connect timeout, 10 s frame timeout. Credentials
    /// in the URL are moved into [`credentials`](Self::credentials).
    pub fn new(url: url::Url) -> Self {
        let (url, credentials) = split_credentials(&url);
        IngestConfig {
            url,
            credentials,
            transport: Transport::Tcp,
            connect_timeout: Duration::from_secs(10),
            frame_timeout: Duration::from_secs(10),
            pacing: Pacing::immediate(),
        }
    }

    /// The URL as it may be shown: without any user name or password.
    pub fn display_url(&self) -> String {
        split_credentials(&self.url).0.to_string()
    }

    /// The URL to request and the credentials to use: credentials embedded
    /// in the URL are stripped from it and used unless explicit ones are set.
    pub(crate) fn effective(&self) -> (url::Url, Option<(String, String)>) {
        let (url, from_url) = split_credentials(&self.url);
        (url, self.credentials.clone().or(from_url))
    }
}

/// Never prints the password.
impl fmt::Debug for IngestConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngestConfig")
            .field("url", &self.display_url())
            .field("credentials", &self.credentials.as_ref().map(|(u, _)| (u.as_str(), "<redacted>")))
            .field("transport", &self.transport)
            .field("connect_timeout", &self.connect_timeout)
            .field("frame_timeout", &self.frame_timeout)
            .field("pacing", &self.pacing)
            .finish()
    }
}

/// Splits `rtsp://user:pass@host/path` into `rtsp://host/path` and the
/// (percent-decoded) credentials, if any.
fn split_credentials(url: &url::Url) -> (url::Url, Option<(String, String)>) {
    if url.username().is_empty() && url.password().is_none() {
        return (url.clone(), None);
    }
    let creds = (percent_decode(url.username()), percent_decode(url.password().unwrap_or("")));
    let mut clean = url.clone();
    // Only fails for URLs that cannot have credentials, which these have.
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    (clean, Some(creds))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_move_out_of_the_url() {
        let url = url::Url::parse("rtsp://admin:p%40ss%3Aw0rd@10.0.0.5:8554/Streaming/101").unwrap();
        let cfg = IngestConfig::new(url);
        assert_eq!(cfg.url.as_str(), "rtsp://10.0.0.5:8554/Streaming/101");
        assert_eq!(cfg.credentials, Some(("admin".to_owned(), "p@ss:w0rd".to_owned())));
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("p@ss"), "{dbg}");
        assert!(!dbg.contains("w0rd"), "{dbg}");
        assert!(dbg.contains("admin"), "{dbg}");
    }

    #[test]
    fn explicit_credentials_win_and_url_is_cleaned() {
        let mut cfg = IngestConfig::new(url::Url::parse("rtsp://cam/x").unwrap());
        cfg.url = url::Url::parse("rtsp://u:secret@cam/x").unwrap();
        cfg.credentials = Some(("op".into(), "other".into()));
        let (url, creds) = cfg.effective();
        assert_eq!(url.as_str(), "rtsp://cam/x");
        assert_eq!(creds, Some(("op".into(), "other".into())));
        assert_eq!(cfg.display_url(), "rtsp://cam/x");
        assert!(!format!("{cfg:?}").contains("secret"));
    }

    #[test]
    fn percent_decoding_is_tolerant() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%41%42"), "AB");
    }
}
