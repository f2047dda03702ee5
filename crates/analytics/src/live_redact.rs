//! Live video with faces pixelated, for viewers without an unmask grant:
//! one camera stream's H.264 frames in, the same pictures out, re-encoded
//! with every face CenterFace finds pixelated.
//!
//! Per frame: OpenH264 decodes it (every frame: P-frames need the ones
//! before); faces are found on every `detect_every`-th picture and on every
//! key frame; each face box is pixelated straight in the I420 planes; and
//! OpenH264 encodes the picture again, with an IDR wherever the camera had
//! a key frame so the output's GOPs line up with the input's (the live
//! hub's instant start and key-frame skipping work the same on both).
//!
//! CenterFace costs far more than the rest (about half a second of one core
//! per 640×360 picture with tract, against ~3 ms to decode and re-encode;
//! docs/design/live.md), so it cannot run on every picture. Instead of
//! guessing where faces went since the last detection, pictures are *held*
//! until the next one: each held picture is blurred where faces were at the
//! detection before it, where they are at the one after it, and along the
//! way between (matched boxes interpolated), all grown by a margin. A face
//! visible at either detection is covered throughout; the price is that
//! masked viewers see the video one detection interval (plus one detection)
//! later than unmasked ones, and in short bursts.
//!
//! The red line: face boxes live only in this struct between one detection
//! and the next blur; nothing about them is returned, stored or counted
//! beyond the frame they blur.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use citywatch_video::{split_annex_b, Codec, Frame, VideoParams};
use image::RgbImage;
use openh264::decoder::{Decoder, DecoderConfig};
use openh264::encoder::{BitRate, Complexity, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode, UsageType};
use openh264::formats::{YUVSlices, YUVSource};
use openh264::{OpenH264API, Timestamp};

use crate::decode::{avcc_to_annex_b, length_prefixed_to_annex_b};
use crate::redact::{pixelate_i420, FaceFinder, RedactError};
use crate::zones::Rect;

/// Faces are looked for on every this-many-th picture (and every key
/// frame): about twice a second at 15 fps, which is what one core keeps up
/// with for CenterFace at 640×360.
pub const DEFAULT_DETECT_EVERY: u32 = 8;
/// Pictures held at most before a detection is forced (memory bound).
const MAX_HELD: usize = 60;
/// Boxes reused between detections grow by this fraction of their size
/// on each side.
pub const DEFAULT_MARGIN: f32 = 0.25;

#[derive(Debug, thiserror::Error)]
pub enum LiveRedactError {
    #[error("{codec:?} cannot be blurred live (only H.264 streams are decoded)")]
    Unsupported { codec: Codec },
    #[error("the stream's avcC record is malformed: {0}")]
    BadConfig(String),
    #[error("frame at {timestamp_90k} (90 kHz) is malformed: {detail}; waiting for the next key frame")]
    Corrupt { timestamp_90k: i64, detail: String },
    #[error("the H.264 decoder failed on the frame at {timestamp_90k} (90 kHz): {detail}; waiting for the next key frame")]
    Decoder { timestamp_90k: i64, detail: String },
    #[error("the H.264 encoder failed on the frame at {timestamp_90k} (90 kHz): {detail}")]
    Encoder { timestamp_90k: i64, detail: String },
    #[error("finding faces: {0}")]
    Faces(#[from] RedactError),
}

/// CenterFace loaded once per picture size and shared by every camera's
/// redactor (a tract plan runs concurrently from several threads).
pub struct FaceModels {
    dir: PathBuf,
    threads: usize,
    finders: Mutex<HashMap<(u32, u32), Arc<FaceFinder>>>,
}

impl std::fmt::Debug for FaceModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceModels").field("dir", &self.dir).finish()
    }
}

impl FaceModels {
    /// Loads CenterFace for the common sub-stream size now, so a missing
    /// or altered model is an error at start-up rather than at the first
    /// viewer. `threads`: matrix-product threads per detection.
    pub fn new(dir: &Path, threads: usize) -> Result<FaceModels, RedactError> {
        let models = FaceModels { dir: dir.to_owned(), threads: threads.max(1), finders: Mutex::default() };
        models.finder(640, 360)?;
        Ok(models)
    }

    /// CenterFace for `width`×`height` pictures (loaded on first use).
    pub fn finder(&self, width: u32, height: u32) -> Result<Arc<FaceFinder>, RedactError> {
        let mut finders = self.finders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = finders.get(&(width, height)) {
            return Ok(f.clone());
        }
        let f = Arc::new(FaceFinder::new(&self.dir, width, height, self.threads)?);
        finders.insert((width, height), f.clone());
        Ok(f)
    }
}

/// How often faces are looked for.
#[derive(Debug, Clone, Copy)]
pub struct LiveRedactConfig {
    /// Run CenterFace on every Nth picture (and every key frame); 1: all.
    pub detect_every: u32,
    /// Growth of reused boxes per side, as a fraction of their size.
    pub margin: f32,
}

impl Default for LiveRedactConfig {
    fn default() -> Self {
        LiveRedactConfig { detect_every: DEFAULT_DETECT_EVERY, margin: DEFAULT_MARGIN }
    }
}

/// Work done so far, for measurements and `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveRedactStats {
    pub frames_in: u64,
    pub frames_out: u64,
    /// Pictures CenterFace ran on.
    pub detections: u64,
    pub errors: u64,
    pub decode_ns: u64,
    pub detect_ns: u64,
    pub blur_ns: u64,
    pub encode_ns: u64,
}

/// One camera stream's frames with faces pixelated; frames must be given
/// in stream order.
pub struct LiveRedactor {
    models: Arc<FaceModels>,
    config: LiveRedactConfig,
    finder: Option<(u32, u32, Arc<FaceFinder>)>,
    decoder: Option<Decoder>,
    in_params: Option<Arc<VideoParams>>,
    headers: Vec<u8>,
    length_size: usize,
    awaiting_key: bool,
    encoder: Option<(usize, usize, Encoder)>,
    force_idr: bool,
    sps: Vec<u8>,
    pps: Vec<u8>,
    out_params: Option<Arc<VideoParams>>,
    /// Faces at the last detection.
    boxes: Vec<Rect>,
    /// Decoded pictures since the last detection, waiting for the next.
    held: Vec<Held>,
    last_ts: Option<i64>,
    annex_b: Vec<u8>,
    /// See [`LiveRedactor::skip_until`].
    output_from_90k: i64,
    stats: LiveRedactStats,
}

impl std::fmt::Debug for LiveRedactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRedactor").field("awaiting_key", &self.awaiting_key).field("stats", &self.stats).finish()
    }
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

impl LiveRedactor {
    pub fn new(models: Arc<FaceModels>, config: LiveRedactConfig) -> LiveRedactor {
        LiveRedactor {
            models,
            config: LiveRedactConfig { detect_every: config.detect_every.max(1), margin: config.margin.clamp(0.0, 2.0) },
            finder: None,
            decoder: None,
            in_params: None,
            headers: Vec::new(),
            length_size: 4,
            awaiting_key: true,
            encoder: None,
            force_idr: true,
            sps: Vec::new(),
            pps: Vec::new(),
            out_params: None,
            boxes: Vec::new(),
            held: Vec::new(),
            last_ts: None,
            annex_b: Vec::new(),
            output_from_90k: i64::MIN,
            stats: LiveRedactStats::default(),
        }
    }

    pub fn stats(&self) -> LiveRedactStats {
        self.stats
    }

    /// The input was interrupted (frames skipped, a new camera session):
    /// decoding restarts at the next key frame, which is encoded as an IDR
    /// and searched for faces afresh.
    pub fn reset(&mut self) {
        self.decoder = None;
        self.awaiting_key = true;
        self.force_idr = true;
        self.boxes.clear();
        self.held.clear();
        self.last_ts = None;
    }

    /// Frames before `timestamp_90k` are decoded (the pictures after them
    /// need them) but not given out; the first one at or after it comes
    /// out as an IDR. For a recorded range that starts between key frames.
    pub fn skip_until(&mut self, timestamp_90k: i64) {
        self.output_from_90k = timestamp_90k;
    }

    /// Takes one frame; gives the blurred frames that are ready (none while
    /// pictures are held for the next detection or a key frame is awaited,
    /// several when a detection completes). After an error the redactor
    /// waits for the next key frame; held pictures are dropped.
    pub fn push(&mut self, frame: &Frame) -> Result<Vec<Frame>, LiveRedactError> {
        let r = self.push_inner(frame);
        if r.is_err() {
            self.stats.errors += 1;
            self.reset();
        }
        r
    }

    fn push_inner(&mut self, frame: &Frame) -> Result<Vec<Frame>, LiveRedactError> {
        let ts = frame.timestamp_90k;
        if frame.params.codec != Codec::H264 {
            return Err(LiveRedactError::Unsupported { codec: frame.params.codec });
        }
        if self.in_params.as_ref().is_none_or(|p| !Arc::ptr_eq(p, &frame.params) && **p != *frame.params) {
            self.reset();
            self.in_params = None;
            let (headers, length_size) = avcc_to_annex_b(&frame.params.extra_data).map_err(|e| LiveRedactError::BadConfig(e.to_string()))?;
            self.headers = headers;
            self.length_size = length_size;
            self.in_params = Some(frame.params.clone());
        }
        if self.awaiting_key && !frame.is_key {
            return Ok(Vec::new());
        }
        self.stats.frames_in += 1;
        let started = Instant::now();
        self.annex_b.clear();
        if self.awaiting_key {
            self.annex_b.extend_from_slice(&self.headers);
        }
        length_prefixed_to_annex_b(&frame.data, self.length_size, &mut self.annex_b)
            .map_err(|detail| LiveRedactError::Corrupt { timestamp_90k: ts, detail })?;
        if self.decoder.is_none() {
            let d = Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new())
                .map_err(|e| LiveRedactError::Decoder { timestamp_90k: ts, detail: format!("creating the decoder: {e}") })?;
            self.decoder = Some(d);
        }
        self.awaiting_key = false;
        let decoder = self.decoder.as_mut().expect("made above");
        let yuv = match decoder.decode(&self.annex_b) {
            Ok(Some(yuv)) => yuv,
            Ok(None) => return Ok(Vec::new()),
            Err(e) => return Err(LiveRedactError::Decoder { timestamp_90k: ts, detail: e.to_string() }),
        };
        if ts < self.output_from_90k {
            // Lead-in to a range that starts between key frames: decoded
            // for the pictures after it, never shown.
            self.stats.decode_ns += started.elapsed().as_nanos() as u64;
            return Ok(Vec::new());
        }
        // The encoder wants even sizes; an odd last row or column is dropped.
        let (dw, dh) = yuv.dimensions();
        let (w, h) = (dw & !1, dh & !1);
        if w < 16 || h < 16 {
            return Err(LiveRedactError::Decoder { timestamp_90k: ts, detail: format!("a {dw}×{dh} picture is too small") });
        }
        let mut picture = Vec::with_capacity(w * h * 3 / 2);
        copy_i420(&yuv, w, h, &mut picture);
        // Detection needs RGB; converted only on pictures searched. The
        // first picture out (an IDR even when the camera's was not, after a
        // lead-in) is searched too: there is no detection before it.
        let first_out = self.force_idr && self.held.is_empty();
        let detect = frame.is_key || first_out || self.held.len() + 1 >= (self.config.detect_every as usize).min(MAX_HELD);
        let rgb = if detect {
            let mut rgb = vec![0; dw * dh * 3];
            yuv.write_rgb8(&mut rgb);
            Some(RgbImage::from_raw(dw as u32, dh as u32, rgb).expect("sized above"))
        } else {
            None
        };
        let decoded = Instant::now();
        self.stats.decode_ns += (decoded - started).as_nanos() as u64;

        self.held.push(Held { timestamp_90k: ts, is_key: frame.is_key, yuv: picture, width: w, height: h });
        let Some(rgb) = rgb else {
            return Ok(Vec::new());
        };
        let finder = self.finder(dw as u32, dh as u32)?;
        let found = finder.faces(&rgb)?;
        self.stats.detections += 1;
        self.stats.detect_ns += decoded.elapsed().as_nanos() as u64;
        self.release(found)
    }

    /// No more frames will come (the end of a recorded range): the held
    /// pictures are searched for faces at the last of them and given out.
    /// The redactor can take frames again afterwards, from a key frame.
    pub fn finish(&mut self) -> Result<Vec<Frame>, LiveRedactError> {
        let r = self.finish_inner();
        if r.is_err() {
            self.stats.errors += 1;
        }
        self.reset();
        r
    }

    fn finish_inner(&mut self) -> Result<Vec<Frame>, LiveRedactError> {
        let Some(last) = self.held.last() else { return Ok(Vec::new()) };
        let started = Instant::now();
        let (w, h) = (last.width, last.height);
        let rgb = held_to_rgb(last)?;
        let finder = self.finder(w as u32, h as u32)?;
        let found = finder.faces(&rgb)?;
        self.stats.detections += 1;
        self.stats.detect_ns += started.elapsed().as_nanos() as u64;
        self.release(found)
    }

    /// Blurs and encodes the held pictures, now that `found` (the faces at
    /// the last of them) is known.
    fn release(&mut self, found: Vec<Rect>) -> Result<Vec<Frame>, LiveRedactError> {
        let before = std::mem::replace(&mut self.boxes, found);
        let held = std::mem::take(&mut self.held);
        let n = held.len();
        let margin = self.config.margin;
        let mut out = Vec::with_capacity(n);
        for (i, mut pic) in held.into_iter().enumerate() {
            let t0 = Instant::now();
            // From the detection before (i = 0 just after it) to this one (the last).
            let t = (i + 1) as f32 / n as f32;
            let mut blur: Vec<Rect> = before.iter().chain(&self.boxes).map(|r| grow(r, margin)).collect();
            blur.extend(self.boxes.iter().filter_map(|r| between(&before, r, t)).map(|r| grow(&r, margin)));
            for r in &blur {
                pixelate_i420(&mut pic.yuv, pic.width, pic.height, r);
            }
            let t1 = Instant::now();
            self.stats.blur_ns += (t1 - t0).as_nanos() as u64;
            if let Some(f) = self.encode(&pic)? {
                out.push(f);
            }
            self.stats.encode_ns += t1.elapsed().as_nanos() as u64;
        }
        self.stats.frames_out += out.len() as u64;
        Ok(out)
    }

    fn finder(&mut self, w: u32, h: u32) -> Result<Arc<FaceFinder>, RedactError> {
        match &self.finder {
            Some((fw, fh, f)) if (*fw, *fh) == (w, h) => Ok(f.clone()),
            _ => {
                let f = self.models.finder(w, h)?;
                self.finder = Some((w, h, f.clone()));
                Ok(f)
            }
        }
    }

    fn encode(&mut self, pic: &Held) -> Result<Option<Frame>, LiveRedactError> {
        let (ts, w, h) = (pic.timestamp_90k, pic.width, pic.height);
        let fail = |detail: String| LiveRedactError::Encoder { timestamp_90k: ts, detail };
        // The camera's frame rate, from its timestamps (rate control needs
        // it to share the bit rate between frames).
        let interval = self.last_ts.map(|last| ts - last).filter(|d| (300..=90_000).contains(d));
        self.last_ts = Some(ts);
        if self.encoder.as_ref().is_none_or(|(ew, eh, _)| (*ew, *eh) != (w, h)) {
            let fps = interval.map_or(15.0, |d| 90_000.0 / d as f32);
            self.encoder = Some((w, h, new_encoder(w, h, fps).map_err(fail)?));
            self.force_idr = true;
        }
        let (_, _, encoder) = self.encoder.as_mut().expect("made above");
        if pic.is_key || self.force_idr {
            encoder.force_intra_frame();
        }
        let (cw, ch) = (w / 2, h / 2);
        let (y, uv) = pic.yuv.split_at(w * h);
        let (u, v) = uv.split_at(cw * ch);
        let src = YUVSlices::new((y, u, v), (w, h), (w, cw, cw));
        let stream = encoder.encode_at(&src, Timestamp::from_millis(ts.max(0) as u64 / 90)).map_err(|e| fail(e.to_string()))?.to_vec();
        let mut data = Vec::with_capacity(stream.len() + 16);
        let (mut is_key, mut params_changed) = (false, false);
        for nal in split_annex_b(&stream) {
            match nal[0] & 0x1f {
                NAL_SPS => {
                    params_changed |= self.sps != nal;
                    self.sps = nal.to_vec();
                }
                NAL_PPS => {
                    params_changed |= self.pps != nal;
                    self.pps = nal.to_vec();
                }
                kind => {
                    is_key |= kind == NAL_IDR;
                    data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                    data.extend_from_slice(nal);
                }
            }
        }
        if data.is_empty() {
            // The encoder skipped the picture (rate control).
            return Ok(None);
        }
        if self.sps.len() < 4 || self.pps.is_empty() {
            return Err(fail("the encoder gave no SPS/PPS".into()));
        }
        if params_changed || self.out_params.is_none() {
            let pixel_aspect_ratio = self.in_params.as_ref().and_then(|p| p.pixel_aspect_ratio);
            self.out_params = Some(Arc::new(VideoParams {
                codec: Codec::H264,
                width: w as u16,
                height: h as u16,
                rfc6381_codec: format!("avc1.{:02x}{:02x}{:02x}", self.sps[1], self.sps[2], self.sps[3]),
                extra_data: avcc(&self.sps, &self.pps),
                pixel_aspect_ratio,
            }));
        }
        if is_key {
            self.force_idr = false;
        } else if self.force_idr {
            // A picture the viewers could not start from: wait for the IDR.
            return Ok(None);
        }
        Ok(Some(Frame { timestamp_90k: ts, is_key, data: Bytes::from(data), params: self.out_params.clone().expect("set above") }))
    }
}

/// A decoded picture waiting for the detection after it.
struct Held {
    timestamp_90k: i64,
    is_key: bool,
    /// I420 without padding.
    yuv: Vec<u8>,
    width: usize,
    height: usize,
}

fn new_encoder(w: usize, h: usize, fps: f32) -> Result<Encoder, String> {
    // About 0.1 bit per pixel: a sub-stream's usual rate (640×360 at 15 fps
    // ≈ 350 kbit/s); pixelated blocks cost next to nothing.
    let bps = ((w * h) as f32 * fps * 0.1).clamp(150_000.0, 4_000_000.0) as u32;
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(bps))
        .max_frame_rate(FrameRate::from_hz(fps.clamp(1.0, 60.0)))
        .rate_control_mode(RateControlMode::Bitrate)
        .usage_type(UsageType::CameraVideoRealTime)
        .complexity(Complexity::Low)
        // Every picture comes out, IDRs only where the camera had key frames.
        .skip_frames(false)
        .scene_change_detect(false)
        .intra_frame_period(IntraFramePeriod::auto())
        .num_threads(1);
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config).map_err(|e| format!("creating the encoder: {e}"))?;
    let mut quiet: u32 = openh264_sys2::WELS_LOG_QUIET as u32;
    // SAFETY: the trace level is an option OpenH264 accepts at any time;
    // `quiet` outlives the call. (Without it, it warns on stderr that the
    // rate cannot be held without skipping frames; we want every frame.)
    #[allow(unsafe_code)] // the crate exposes the option only through its raw API
    unsafe {
        encoder.raw_api().set_option(openh264_sys2::ENCODER_OPTION_TRACE_LEVEL, std::ptr::addr_of_mut!(quiet).cast());
    }
    Ok(encoder)
}

/// A held picture (packed I420, as `copy_i420` lays it out) as RGB, for a
/// detection on a picture that was not converted when decoded.
fn held_to_rgb(held: &Held) -> Result<RgbImage, LiveRedactError> {
    let (w, h) = (held.width, held.height);
    let (y, uv) = held.yuv.split_at(w * h);
    let (u, v) = uv.split_at((w / 2) * (h / 2));
    crate::frame::rgb_from_i420(w, h, y, u, v).map_err(|e| LiveRedactError::Decoder { timestamp_90k: held.timestamp_90k, detail: e.to_string() })
}

/// A decoded picture's top-left `w`×`h` as packed I420.
fn copy_i420(yuv: &impl YUVSource, w: usize, h: usize, out: &mut Vec<u8>) {
    let (ys, us, vs) = yuv.strides();
    out.clear();
    for row in yuv.y().chunks(ys).take(h) {
        out.extend_from_slice(&row[..w]);
    }
    for (plane, stride) in [(yuv.u(), us), (yuv.v(), vs)] {
        for row in plane.chunks(stride).take(h / 2) {
            out.extend_from_slice(&row[..w / 2]);
        }
    }
}

/// Where face `r` (found now) was a fraction `t` of the way from the
/// previous detection to now: matched to the previous box nearest to it,
/// within a box's size (a face further away is another face).
fn between(before: &[Rect], r: &Rect, t: f32) -> Option<Rect> {
    let centre = |b: &Rect| ((b.x0 + b.x1) / 2.0, (b.y0 + b.y1) / 2.0);
    let (cx, cy) = centre(r);
    let reach = (r.x1 - r.x0).max(r.y1 - r.y0);
    let p = before
        .iter()
        .map(|p| {
            let (px, py) = centre(p);
            (p, (cx - px).hypot(cy - py))
        })
        .filter(|(_, d)| *d <= reach)
        .min_by(|a, b| a.1.total_cmp(&b.1))?
        .0;
    let lerp = |a: f32, b: f32| a + (b - a) * t;
    Some(Rect { x0: lerp(p.x0, r.x0), y0: lerp(p.y0, r.y0), x1: lerp(p.x1, r.x1), y1: lerp(p.y1, r.y1) })
}

/// `r` grown by `margin` of its size on each side, within the picture.
fn grow(r: &Rect, margin: f32) -> Rect {
    let (mx, my) = ((r.x1 - r.x0) * margin, (r.y1 - r.y0) * margin);
    Rect { x0: (r.x0 - mx).max(0.0), y0: (r.y0 - my).max(0.0), x1: (r.x1 + mx).min(1.0), y1: (r.y1 + my).min(1.0) }
}

/// The AVCDecoderConfigurationRecord for one SPS and PPS.
fn avcc(sps: &[u8], pps: &[u8]) -> Vec<u8> {
    let mut out = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe1];
    out.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    out.extend_from_slice(sps);
    out.push(1);
    out.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    out.extend_from_slice(pps);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moving_face_is_blurred_along_its_way() {
        let before = [Rect { x0: 0.10, y0: 0.2, x1: 0.20, y1: 0.4 }];
        let now = Rect { x0: 0.16, y0: 0.2, x1: 0.26, y1: 0.4 };
        let mid = between(&before, &now, 0.5).unwrap();
        assert!((mid.x0 - 0.13).abs() < 1e-6 && (mid.x1 - 0.23).abs() < 1e-6, "{mid:?}");
        assert!(between(&[Rect { x0: 0.7, y0: 0.2, x1: 0.8, y1: 0.4 }], &now, 0.5).is_none(), "too far to be the same face");
        let g = grow(&now, 0.25);
        assert!((g.x0 - 0.135).abs() < 1e-6 && (g.y1 - 0.45).abs() < 1e-6, "{g:?}");
    }

    #[test]
    fn a_held_picture_converts_as_openh264_does() {
        // Left 2×2 block: mid grey with red chroma; right one: white.
        let (w, h) = (4, 2);
        let mut yuv = vec![126, 126, 235, 235, 126, 126, 235, 235];
        yuv.extend([128, 128]); // U
        yuv.extend([240, 128]); // V
        let rgb = held_to_rgb(&Held { timestamp_90k: 0, is_key: true, yuv, width: w, height: h }).unwrap();
        let px = |x, y| rgb.get_pixel(x, y).0;
        assert_eq!(px(2, 1), [255, 255, 255]);
        let red = px(0, 0);
        assert!(red[0] > 250 && red[1] < 60 && red[2] < 130, "{red:?}");
        // An odd width has chroma planes this layout does not hold: an error, not a panic.
        let odd = Held { timestamp_90k: 9, is_key: true, yuv: vec![16; 3 * 2 + 2], width: 3, height: 2 };
        assert!(matches!(held_to_rgb(&odd), Err(LiveRedactError::Decoder { timestamp_90k: 9, .. })));
    }
}
