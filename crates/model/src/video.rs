//! The names of a camera's video streams and of the codecs they carry, as
//! the database, the API and the configuration spell them ("main", "sub",
//! "h264", "h265"). Every crate converts through these, so a spelling
//! lives in one place.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which of a camera's two RTSP streams: the full-resolution main stream or
/// the smaller sub-stream (live tiles, analytics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    Main,
    Sub,
}

impl StreamKind {
    pub const ALL: [StreamKind; 2] = [StreamKind::Main, StreamKind::Sub];

    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::Main => "main",
            StreamKind::Sub => "sub",
        }
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stream name that is neither "main" nor "sub". The message is the
/// one the API has always given for a bad `stream` field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be main or sub, got {0:?}")]
pub struct UnknownStreamKind(pub String);

impl FromStr for StreamKind {
    type Err = UnknownStreamKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StreamKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownStreamKind(s.to_owned()))
    }
}

/// The video codecs Citywatch records and serves, without decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    H264,
    H265,
}

impl Codec {
    pub const ALL: [Codec; 2] = [Codec::H264, Codec::H265];

    /// The stored name, which is also the RTSP (SDP) encoding name in
    /// lower case and the sample files' extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::H265 => "h265",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported codec {0:?}; expected h264 or h265")]
pub struct UnknownCodec(pub String);

impl FromStr for Codec {
    type Err = UnknownCodec;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Codec::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| UnknownCodec(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_kind_round_trips_through_its_stored_and_json_forms() {
        for (kind, text) in [(StreamKind::Main, "main"), (StreamKind::Sub, "sub")] {
            assert_eq!(kind.to_string(), text);
            assert_eq!(text.parse::<StreamKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(text));
            assert_eq!(serde_json::from_value::<StreamKind>(serde_json::json!(text)).unwrap(), kind);
        }
    }

    #[test]
    fn an_unknown_stream_name_is_refused_with_what_was_given() {
        let err = "Main".parse::<StreamKind>().unwrap_err();
        assert_eq!(err.to_string(), r#"must be main or sub, got "Main""#);
        assert!(serde_json::from_value::<StreamKind>(serde_json::json!("auto")).is_err());
    }

    #[test]
    fn every_codec_round_trips_through_its_stored_and_json_forms() {
        for (codec, text) in [(Codec::H264, "h264"), (Codec::H265, "h265")] {
            assert_eq!(codec.to_string(), text);
            assert_eq!(text.parse::<Codec>(), Ok(codec));
            assert_eq!(serde_json::to_value(codec).unwrap(), serde_json::json!(text));
            assert_eq!(serde_json::from_value::<Codec>(serde_json::json!(text)).unwrap(), codec);
        }
    }

    #[test]
    fn an_unknown_codec_is_refused_with_what_was_given() {
        let err = "mjpeg".parse::<Codec>().unwrap_err();
        assert_eq!(err.to_string(), r#"unsupported codec "mjpeg"; expected h264 or h265"#);
        assert!(serde_json::from_value::<Codec>(serde_json::json!("hevc")).is_err());
    }
}
