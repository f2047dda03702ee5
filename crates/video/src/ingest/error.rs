//! What can go wrong talking to a camera, in words an operator can act on.

use std::fmt;
use std::time::Duration;

/// Where in the RTSP exchange something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// TCP connect and the DESCRIBE request (retina does both in one call).
    Describe,
    Setup,
    Play,
    /// Receiving RTP after PLAY.
    Stream,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Describe => "connect/DESCRIBE",
            Stage::Setup => "SETUP",
            Stage::Play => "PLAY",
            Stage::Stream => "streaming",
        })
    }
}

/// An ingest failure. Every message names the camera URL (without
/// credentials) and says what happened; none ever contains a password.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("bad camera configuration for {url}: {reason}")]
    InvalidConfig { url: String, reason: String },

    /// The TCP connection could not be made (refused, unreachable, DNS).
    #[error("could not connect to RTSP server {url}: {detail}")]
    Connect { url: String, detail: String },

    /// No (complete) answer within the connect timeout.
    #[error("timed out after {after:?} waiting for RTSP server {url} during {stage}")]
    Timeout { url: String, stage: Stage, after: Duration },

    /// The reply to DESCRIBE was malformed (not RTSP, bad SDP, bad codec
    /// parameters) or the connection closed before a reply.
    #[error("malformed, unusable or missing reply from RTSP server {url} to DESCRIBE: {detail}")]
    Describe { url: String, detail: String },

    /// The server answered 401: no credentials configured, or wrong ones.
    #[error("RTSP server {url} requires authentication and {}", if *.had_credentials {
        "refused the configured username/password"
    } else {
        "no credentials are configured"
    })]
    Unauthorized { url: String, had_credentials: bool },

    /// The server answered with an error status (404, 454, 461, 500, ...).
    #[error("RTSP server {url} refused {stage} with status {status}: {detail}")]
    Rejected { url: String, stage: Stage, status: u16, detail: String },

    #[error("RTSP server {url} offers no video stream (it offers: {found})")]
    NoVideoStream { url: String, found: String },

    #[error("RTSP server {url}: unsupported {what}")]
    Unsupported { url: String, what: String },

    /// Playing, but no video frame arrived for `after`.
    #[error("no video frame from {url} for {after:?}: stream stalled")]
    Stalled { url: String, after: Duration },

    /// Anything else from the RTSP/RTP layer, including a lost connection.
    #[error("RTSP/RTP error from {url} during {stage}: {detail}")]
    Protocol { url: String, stage: Stage, detail: String },
}

impl IngestError {
    /// The camera URL (without credentials) the error is about.
    pub fn url(&self) -> &str {
        match self {
            IngestError::InvalidConfig { url, .. }
            | IngestError::Connect { url, .. }
            | IngestError::Timeout { url, .. }
            | IngestError::Describe { url, .. }
            | IngestError::Unauthorized { url, .. }
            | IngestError::Rejected { url, .. }
            | IngestError::NoVideoStream { url, .. }
            | IngestError::Unsupported { url, .. }
            | IngestError::Stalled { url, .. }
            | IngestError::Protocol { url, .. } => url,
        }
    }

    /// Errors that retrying soon will not fix (configuration, credentials,
    /// what the camera offers). A supervisor retries them slowly: cameras
    /// lock accounts after repeated failed logins.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self,
            IngestError::InvalidConfig { .. } | IngestError::Unauthorized { .. } | IngestError::NoVideoStream { .. } | IngestError::Unsupported { .. }
        )
    }

    /// Maps an (opaque) retina error to ours. retina only exposes a status
    /// code and a message, so the kind is recognised by the message's prefix
    /// (see retina's `ErrorInt` display strings).
    pub(crate) fn from_retina(e: &retina::Error, url: &str, stage: Stage, had_credentials: bool) -> IngestError {
        let url = url.to_owned();
        let msg = e.to_string();
        let detail = one_line(&msg);
        if let Some(status) = e.status_code() {
            if status == 401 {
                return IngestError::Unauthorized { url, had_credentials };
            }
            if !(200..300).contains(&status) {
                return IngestError::Rejected { url, stage, status, detail };
            }
            // A 2xx reply retina could not use (bad SDP, bad parameters).
            return match stage {
                Stage::Describe => IngestError::Describe { url, detail },
                _ => IngestError::Protocol { url, stage, detail },
            };
        }
        if let Some(rest) = msg.strip_prefix("Unable to connect to RTSP server: ") {
            return IngestError::Connect { url, detail: one_line(rest) };
        }
        if let Some(rest) = msg.strip_prefix("Invalid argument: ") {
            return IngestError::InvalidConfig { url, reason: one_line(rest) };
        }
        if let Some(rest) = msg.strip_prefix("Unsupported: ") {
            return IngestError::Unsupported { url, what: one_line(rest) };
        }
        if msg == "Timeout" {
            return IngestError::Timeout { url, stage, after: Duration::ZERO };
        }
        // Framing errors (garbage instead of RTSP) and a connection closed
        // or reset before the DESCRIBE reply: the reply is malformed/missing.
        if stage == Stage::Describe && (msg.starts_with("RTSP framing error") || msg.starts_with("Error reading from RTSP peer")) {
            return IngestError::Describe { url, detail };
        }
        IngestError::Protocol { url, stage, detail }
    }
}

/// retina's messages carry context on extra lines ("conn: ...", "msg: ...");
/// keep them, but on one line, for logs and UI.
fn one_line(s: &str) -> String {
    s.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_url_and_what_happened() {
        let url = "rtsp://10.1.2.3:554/live".to_owned();
        let cases: Vec<(IngestError, &str)> = vec![
            (IngestError::Connect { url: url.clone(), detail: "Connection refused (os error 111)".into() }, "could not connect"),
            (IngestError::Timeout { url: url.clone(), stage: Stage::Describe, after: Duration::from_secs(2) }, "timed out after 2s"),
            (IngestError::Describe { url: url.clone(), detail: "RTSP framing error".into() }, "malformed"),
            (IngestError::Unauthorized { url: url.clone(), had_credentials: true }, "refused the configured username/password"),
            (IngestError::Unauthorized { url: url.clone(), had_credentials: false }, "no credentials are configured"),
            (IngestError::Rejected { url: url.clone(), stage: Stage::Describe, status: 404, detail: "Not Found".into() }, "status 404"),
            (IngestError::Stalled { url: url.clone(), after: Duration::from_secs(10) }, "stalled"),
        ];
        for (e, what) in cases {
            let m = e.to_string();
            assert!(m.contains(&url), "{m}");
            assert!(m.contains(what), "{m}");
            assert_eq!(e.url(), url);
        }
    }

    #[test]
    fn one_line_joins_context() {
        assert_eq!(one_line("RTSP framing error: bad\n\nconn: a->b\nmsg: c"), "RTSP framing error: bad; conn: a->b; msg: c");
    }
}
