//! Decoding a camera's H.264 sub-stream into pictures for analysis.
//!
//! Frames arrive as the recorder stores them (NAL units with 4-byte length
//! prefixes, SPS/PPS in the stream's avcC record); OpenH264 wants Annex B
//! (start codes), so each access unit is rewritten on the way in.
//!
//! H.264 P-frames refer to the frames before them, so *every* frame is
//! decoded; only the analysis rate's worth of them (default 5 fps) are
//! converted to RGB and handed on. A decoder error or a corrupt frame is
//! reported once, the decoder is thrown away, and decoding starts again at
//! the next key frame: the frames in between cannot be decoded correctly.

use std::sync::Arc;

use citywatch_video::{Codec, Frame, VideoParams};
use image::{GrayImage, RgbImage};
use openh264::decoder::{Decoder, DecoderConfig};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

/// The default analysis rate, frames per second.
pub const DEFAULT_ANALYSIS_FPS: f64 = 5.0;

const CLOCK_90K: f64 = 90_000.0;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{codec:?} is not decoded for analysis (only H.264 sub-streams are)")]
    Unsupported { codec: Codec },
    #[error("the stream's avcC record is malformed: {0}")]
    BadConfig(String),
    #[error("frame at {timestamp_90k} (90 kHz) is malformed: {detail}; waiting for the next key frame")]
    Corrupt { timestamp_90k: i64, detail: String },
    #[error("the H.264 decoder failed on the frame at {timestamp_90k} (90 kHz): {detail}; waiting for the next key frame")]
    Decoder { timestamp_90k: i64, detail: String },
}

/// One decoded picture at the analysis rate.
#[derive(Debug, Clone)]
pub struct Picture {
    pub timestamp_90k: i64,
    pub rgb: RgbImage,
    /// The luma plane, for the motion gate (cheaper than going through RGB).
    pub luma: GrayImage,
}

/// Which frames are analysed: at most `fps` a second, evenly spaced on the
/// stream's own clock.
#[derive(Debug, Clone, Copy)]
pub struct AnalysisRate {
    interval_90k: i64,
    next_due: Option<i64>,
}

impl AnalysisRate {
    pub fn new(fps: f64) -> AnalysisRate {
        let fps = if fps.is_finite() && fps > 0.0 { fps } else { DEFAULT_ANALYSIS_FPS };
        AnalysisRate { interval_90k: (CLOCK_90K / fps).round().max(1.0) as i64, next_due: None }
    }

    /// Whether the frame at `ts` is analysed; a quarter interval of slack
    /// absorbs camera timestamp jitter without drifting the cadence.
    pub fn due(&mut self, ts: i64) -> bool {
        let slack = self.interval_90k / 4;
        match self.next_due {
            Some(next) if ts + slack < next && ts + 2 * self.interval_90k >= next => false,
            Some(next) if ts + slack >= next && ts - next < self.interval_90k => {
                self.next_due = Some(next + self.interval_90k);
                true
            }
            // First frame, a gap, or timestamps that went backwards: restart.
            _ => {
                self.next_due = Some(ts + self.interval_90k);
                true
            }
        }
    }

    pub fn reset(&mut self) {
        self.next_due = None;
    }
}

/// Counters since the decoder was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Frames that went through the decoder.
    pub decoded: u64,
    /// Pictures converted and handed on for analysis.
    pub pictures: u64,
    /// Frames dropped while waiting for a key frame (after an error or a start mid-GOP).
    pub waiting_for_key: u64,
    pub errors: u64,
}

/// Decodes one camera stream; frames must be given in stream order.
pub struct StreamDecoder {
    decoder: Option<Decoder>,
    params: Option<Arc<VideoParams>>,
    /// SPS and PPS from avcC, in Annex B, put before the first key frame.
    headers: Vec<u8>,
    length_size: usize,
    awaiting_key: bool,
    rate: AnalysisRate,
    stats: DecodeStats,
    annex_b: Vec<u8>,
}

impl std::fmt::Debug for StreamDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDecoder").field("awaiting_key", &self.awaiting_key).field("stats", &self.stats).finish()
    }
}

impl StreamDecoder {
    pub fn new(analysis_fps: f64) -> StreamDecoder {
        StreamDecoder {
            decoder: None,
            params: None,
            headers: Vec::new(),
            length_size: 4,
            awaiting_key: true,
            rate: AnalysisRate::new(analysis_fps),
            stats: DecodeStats::default(),
            annex_b: Vec::new(),
        }
    }

    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// Forget the stream (a new camera session, or frames were dropped):
    /// decoding restarts at the next key frame.
    pub fn reset(&mut self) {
        self.decoder = None;
        self.awaiting_key = true;
        self.rate.reset();
    }

    /// Decodes `frame`; returns a picture when the frame is due for
    /// analysis. `Ok(None)` also while waiting for a key frame.
    pub fn decode(&mut self, frame: &Frame) -> Result<Option<Picture>, DecodeError> {
        let ts = frame.timestamp_90k;
        if frame.params.codec != Codec::H264 {
            self.stats.waiting_for_key += 1;
            return Err(DecodeError::Unsupported { codec: frame.params.codec });
        }
        if self.params.as_ref().is_none_or(|p| !Arc::ptr_eq(p, &frame.params) && **p != *frame.params) {
            // New parameters (first frame, or the camera changed resolution).
            self.reset();
            self.params = None;
            let (headers, length_size) = match avcc_to_annex_b(&frame.params.extra_data) {
                Ok(v) => v,
                Err(e) => {
                    self.stats.errors += 1;
                    return Err(e);
                }
            };
            self.headers = headers;
            self.length_size = length_size;
            self.params = Some(frame.params.clone());
        }
        if self.awaiting_key && !frame.is_key {
            self.stats.waiting_for_key += 1;
            return Ok(None);
        }
        let fail = |this: &mut Self, e: DecodeError| {
            this.stats.errors += 1;
            this.decoder = None;
            this.awaiting_key = true;
            Err(e)
        };
        self.annex_b.clear();
        if self.awaiting_key {
            let headers = std::mem::take(&mut self.headers);
            self.annex_b.extend_from_slice(&headers);
            self.headers = headers;
        }
        if let Err(detail) = length_prefixed_to_annex_b(&frame.data, self.length_size, &mut self.annex_b) {
            return fail(self, DecodeError::Corrupt { timestamp_90k: ts, detail });
        }
        if self.decoder.is_none() {
            match Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new()) {
                Ok(d) => self.decoder = Some(d),
                Err(e) => return fail(self, DecodeError::Decoder { timestamp_90k: ts, detail: format!("creating the decoder: {e}") }),
            }
        }
        self.awaiting_key = false;
        self.stats.decoded += 1;
        let due = self.rate.due(ts);
        let decoder = self.decoder.as_mut().expect("made above");
        let picture = match decoder.decode(&self.annex_b) {
            Ok(Some(yuv)) if due => Some(to_picture(&yuv, ts)),
            Ok(_) => None,
            Err(e) => return fail(self, DecodeError::Decoder { timestamp_90k: ts, detail: e.to_string() }),
        };
        if picture.is_some() {
            self.stats.pictures += 1;
        }
        Ok(picture)
    }
}

fn to_picture(yuv: &openh264::decoder::DecodedYUV<'_>, ts: i64) -> Picture {
    let (w, h) = yuv.dimensions();
    let mut rgb = vec![0; w * h * 3];
    yuv.write_rgb8(&mut rgb);
    let stride = yuv.strides().0;
    let mut luma = Vec::with_capacity(w * h);
    for row in yuv.y().chunks(stride).take(h) {
        luma.extend_from_slice(&row[..w]);
    }
    Picture {
        timestamp_90k: ts,
        rgb: RgbImage::from_raw(w as u32, h as u32, rgb).expect("sized above"),
        luma: GrayImage::from_raw(w as u32, h as u32, luma).expect("sized above"),
    }
}

/// SPS and PPS of an AVCDecoderConfigurationRecord as Annex B, and the
/// NAL length size the stream's frames use.
pub fn avcc_to_annex_b(avcc: &[u8]) -> Result<(Vec<u8>, usize), DecodeError> {
    let bad = |s: &str| DecodeError::BadConfig(s.to_owned());
    if avcc.len() < 7 || avcc[0] != 1 {
        return Err(bad("shorter than 7 bytes or not version 1"));
    }
    let length_size = usize::from(avcc[4] & 0x03) + 1;
    if length_size == 3 {
        return Err(bad("NAL length size 3 is not allowed"));
    }
    let mut out = Vec::new();
    let mut pos = 5;
    for (what, mask) in [("SPS", 0x1f), ("PPS", 0xff)] {
        let count = *avcc.get(pos).ok_or_else(|| bad(&format!("ends before the {what} count")))? & mask;
        pos += 1;
        for _ in 0..count {
            let len =
                avcc.get(pos..pos + 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))).ok_or_else(|| bad(&format!("ends inside an {what} length")))?;
            let nal = avcc.get(pos + 2..pos + 2 + len).ok_or_else(|| bad(&format!("an {what} runs past the end")))?;
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
            pos += 2 + len;
        }
    }
    Ok((out, length_size))
}

/// Rewrites length-prefixed NAL units as Annex B, appending to `out`.
pub fn length_prefixed_to_annex_b(data: &[u8], length_size: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let mut pos = 0;
    if data.is_empty() {
        return Err("no NAL units".into());
    }
    while pos < data.len() {
        let prefix = data.get(pos..pos + length_size).ok_or_else(|| format!("a NAL length at byte {pos} is cut off"))?;
        let len = prefix.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        pos += length_size;
        let nal =
            data.get(pos..pos + len).ok_or_else(|| format!("a NAL unit of {len} bytes at byte {pos} runs past the frame's end ({} bytes)", data.len()))?;
        if nal.is_empty() {
            return Err(format!("an empty NAL unit at byte {pos}"));
        }
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
        pos += len;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bytes::Bytes;
    use citywatch_sim::encode::{encode_loop, EncodeParams};

    /// A short simulated scene as recorder frames: 15 fps, key frame every 15.
    pub(crate) fn sim_frames(width: u16, height: u16, frames: u32) -> Vec<Frame> {
        let p = EncodeParams { scene: 0, seed: 7, width, height, fps: 15, bitrate_bps: 300_000, loop_frames: frames, key_interval_frames: 15 };
        let l = encode_loop(p).expect("encode");
        let avcc = l.avcc();
        let params =
            Arc::new(VideoParams { codec: Codec::H264, width, height, rfc6381_codec: "avc1.42c01f".into(), extra_data: avcc, pixel_aspect_ratio: None });
        l.frames
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut data = Vec::new();
                // In-band SPS/PPS stay in the frame, as a camera would send them.
                for nal in &f.nals {
                    data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                    data.extend_from_slice(nal);
                }
                Frame { timestamp_90k: i as i64 * 6000, is_key: f.is_key, data: Bytes::from(data), params: params.clone() }
            })
            .collect()
    }

    #[test]
    fn decodes_at_the_analysis_rate() {
        let frames = sim_frames(320, 180, 30);
        let mut d = StreamDecoder::new(5.0);
        let mut pictures = Vec::new();
        for f in &frames {
            if let Some(p) = d.decode(f).unwrap() {
                pictures.push(p);
            }
        }
        // 30 frames at 15 fps = 2 s; 5 fps gives every third frame.
        assert_eq!(pictures.len(), 10);
        assert_eq!(pictures.iter().map(|p| p.timestamp_90k).collect::<Vec<_>>(), (0..10).map(|i| i * 18_000).collect::<Vec<_>>());
        let p = &pictures[4];
        assert_eq!((p.rgb.width(), p.rgb.height()), (320, 180));
        assert_eq!((p.luma.width(), p.luma.height()), (320, 180));
        // A real picture, not a flat buffer.
        let lo = p.luma.pixels().map(|l| l.0[0]).min().unwrap();
        let hi = p.luma.pixels().map(|l| l.0[0]).max().unwrap();
        assert!(hi - lo > 50, "luma range {lo}..{hi}");
        assert_eq!(d.stats().decoded, 30);
        assert_eq!(d.stats().errors, 0);
    }

    #[test]
    fn a_corrupt_frame_is_an_error_and_decoding_resumes_at_the_next_key_frame() {
        let mut frames = sim_frames(320, 180, 30);
        // Frame 3: a NAL length that runs past the end.
        let mut bad = frames[3].data.to_vec();
        bad[0..4].copy_from_slice(&100_000u32.to_be_bytes());
        frames[3].data = Bytes::from(bad);
        let mut d = StreamDecoder::new(15.0);
        let mut outcomes = Vec::new();
        for f in &frames {
            outcomes.push(d.decode(f));
        }
        let err = outcomes[3].as_ref().unwrap_err().to_string();
        assert!(err.contains("runs past the frame's end") && err.contains("next key frame"), "{err}");
        // Frames 4..15 wait for the key frame at 15; from there pictures again.
        assert!(outcomes[4..15].iter().all(|o| matches!(o, Ok(None))));
        assert!(outcomes[15..].iter().all(|o| matches!(o, Ok(Some(_)))));
        assert_eq!(d.stats().waiting_for_key, 11);
        assert_eq!(d.stats().errors, 1);
    }

    #[test]
    fn starting_mid_gop_waits_for_a_key_frame_and_h265_is_refused() {
        let frames = sim_frames(320, 180, 20);
        let mut d = StreamDecoder::new(15.0);
        let got: Vec<bool> = frames[5..].iter().map(|f| d.decode(f).unwrap().is_some()).collect();
        assert!(got[..10].iter().all(|g| !g));
        assert!(got[10..].iter().all(|g| *g));
        let mut h265 = frames[0].clone();
        h265.params = Arc::new(VideoParams { codec: Codec::H265, ..(*frames[0].params).clone() });
        assert!(matches!(d.decode(&h265), Err(DecodeError::Unsupported { codec: Codec::H265 })));
    }

    #[test]
    fn avcc_is_checked() {
        assert!(avcc_to_annex_b(&[1, 2, 3]).is_err());
        assert!(avcc_to_annex_b(&[1, 0x42, 0, 0x1f, 0xff, 0xe1, 0, 9, 1]).unwrap_err().to_string().contains("SPS runs past the end"));
        let (annex_b, len) = avcc_to_annex_b(&[1, 0x42, 0, 0x1f, 0xff, 0xe1, 0, 2, 0x67, 0x42, 1, 0, 1, 0x68]).unwrap();
        assert_eq!(len, 4);
        assert_eq!(annex_b, [0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68]);
    }

    #[test]
    fn rate_keeps_its_cadence_through_jitter() {
        let mut r = AnalysisRate::new(5.0);
        // 15 fps with ±1 ms jitter (90 ticks).
        let ts: Vec<i64> = (0..15).map(|i| i * 6000 + if i % 2 == 0 { 90 } else { -90 }).collect();
        let due: Vec<usize> = ts.iter().enumerate().filter(|(_, &t)| r.due(t)).map(|(i, _)| i).collect();
        assert_eq!(due, [0, 3, 6, 9, 12]);
        // Timestamps restart (a new session): analysed at once.
        assert!(r.due(0));
    }
}
