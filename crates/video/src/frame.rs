//! What flows from ingest to the recorder and the live hub.

use std::sync::Arc;

use bytes::Bytes;

pub use citywatch_model::Codec;

/// A video stream's codec parameters: what an MP4 sample entry needs.
/// A camera may change them mid-stream (a new resolution); a new
/// `VideoParams` then starts a new recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoParams {
    pub codec: Codec,
    pub width: u16,
    pub height: u16,
    /// e.g. "avc1.64001f", for MSE and the MP4 `codecs` parameter.
    pub rfc6381_codec: String,
    /// The AVCDecoderConfigurationRecord (H.264, the body of an `avcC` box)
    /// or HEVCDecoderConfigurationRecord (H.265, body of `hvcC`).
    pub extra_data: Vec<u8>,
    /// Pixel aspect ratio (h_spacing, v_spacing), if the stream says.
    pub pixel_aspect_ratio: Option<(u32, u32)>,
}

/// One encoded picture (an access unit) as the camera sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Presentation time on the 90 kHz clock, increasing within one session.
    pub timestamp_90k: i64,
    /// An IDR / IRAP picture: decoding can start here.
    pub is_key: bool,
    /// NAL units, each prefixed by its 4-byte big-endian length (the MP4
    /// sample format), not Annex B start codes.
    pub data: Bytes,
    pub params: Arc<VideoParams>,
}

/// Splits an H.264/H.265 Annex B byte stream (what encoders emit) into NAL
/// units without their start codes.
pub fn split_annex_b(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(data.len(), |&n| n - 3);
        // Zeros before a start code (four-byte start codes, trailing_zero_8bits)
        // are not part of the NAL unit, whose last byte is never zero.
        while end > s && data[end - 1] == 0 {
            end -= 1;
        }
        if end > s {
            out.push(&data[s..end]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annex_b_splits_on_three_and_four_byte_start_codes() {
        let data = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 0];
        let nals = split_annex_b(&data);
        assert_eq!(nals, vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4][..]]);
    }
}
