//! Encoding a scene's loop once with OpenH264, and the cache that makes a
//! thousand cameras share a handful of encodes.
//!
//! The loop starts with an IDR picture and has one every
//! `key_interval_frames`, each preceded by SPS and PPS in-band, so playback
//! can start at any key frame and wrap from the last frame back to frame 0.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use citywatch_video::split_annex_b;
use openh264::encoder::{BitRate, Complexity, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode, UsageType};
use openh264::formats::YUVSlices;
use openh264::OpenH264API;

use crate::render::{frame_truth, road_rows, Renderer};
use crate::rtp;
use crate::scene::Scene;
use crate::truth::SceneTruth;
use crate::SimError;

/// What one encode is made of; also the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncodeParams {
    pub scene: usize,
    pub seed: u64,
    pub width: u16,
    pub height: u16,
    pub fps: u32,
    pub bitrate_bps: u32,
    pub loop_frames: u32,
    pub key_interval_frames: u32,
}

/// One encoded picture: its NAL units (no start codes) and their RTP payloads.
#[derive(Debug)]
pub struct EncodedFrame {
    pub is_key: bool,
    pub nals: Vec<Bytes>,
    /// RFC 6184 payloads; the last one of the frame gets the marker bit.
    pub payloads: Vec<Bytes>,
}

/// A scene's whole loop, encoded.
#[derive(Debug)]
pub struct EncodedLoop {
    pub params: EncodeParams,
    pub sps: Bytes,
    pub pps: Bytes,
    pub frames: Vec<EncodedFrame>,
}

impl EncodedLoop {
    /// The AVCDecoderConfigurationRecord (ISO 14496-15 `avcC`) for the SPS
    /// and PPS, as MP4 and the recorder's `VideoParams` carry them.
    pub fn avcc(&self) -> Vec<u8> {
        let mut avcc = vec![1, self.sps[1], self.sps[2], self.sps[3], 0xff, 0xe1];
        avcc.extend_from_slice(&(self.sps.len() as u16).to_be_bytes());
        avcc.extend_from_slice(&self.sps);
        avcc.push(1);
        avcc.extend_from_slice(&(self.pps.len() as u16).to_be_bytes());
        avcc.extend_from_slice(&self.pps);
        avcc
    }

    /// `profile-level-id` for the SDP: the SPS's profile, constraints and level, in hex.
    pub fn profile_level_id(&self) -> String {
        self.sps.get(1..4).map(|b| format!("{:02x}{:02x}{:02x}", b[0], b[1], b[2])).unwrap_or_else(|| "42c01f".into())
    }

    /// Total encoded bytes (for logs).
    pub fn bytes(&self) -> usize {
        self.frames.iter().flat_map(|f| &f.nals).map(Bytes::len).sum()
    }

    /// The loop as an Annex B elementary stream (start codes before every
    /// NAL unit), e.g. for a decoder in tests.
    pub fn annex_b(&self, frame: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for nal in &self.frames[frame].nals {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
        out
    }
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// Renders and encodes the loop of `p.scene`. Takes a second or two at
/// 640×360; callers run several on threads.
pub fn encode_loop(p: EncodeParams) -> Result<EncodedLoop, SimError> {
    let fail = |detail: String| SimError::Encode { scene: p.scene, width: p.width, height: p.height, detail };
    if !p.width.is_multiple_of(2) || !p.height.is_multiple_of(2) || p.width < 16 || p.height < 16 {
        return Err(fail("width and height must be even and at least 16".into()));
    }
    let scene = Scene::new(p.scene, p.seed, p.loop_frames);
    let renderer = Renderer::new(&scene, p.width as usize, p.height as usize);
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(p.bitrate_bps))
        .max_frame_rate(FrameRate::from_hz(p.fps as f32))
        .rate_control_mode(RateControlMode::Bitrate)
        .usage_type(UsageType::CameraVideoRealTime)
        .complexity(Complexity::Low)
        // Every frame must come out (constant frame rate) and key frames
        // only where planned (playback starts at them).
        .skip_frames(false)
        .scene_change_detect(false)
        .intra_frame_period(IntraFramePeriod::from_num_frames(p.key_interval_frames))
        // Parallelism comes from encoding several loops at once.
        .num_threads(1);
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config).map_err(|e| fail(format!("creating the encoder: {e}")))?;
    // OpenH264 warns on stderr, before the crate quietens it, that a bit rate
    // cannot be held without frame skipping; we want every frame and accept
    // an approximate rate. Quieten it before it initialises.
    let mut quiet: u32 = openh264_sys2::WELS_LOG_QUIET as u32;
    // SAFETY: the trace level is one of the options OpenH264 accepts before
    // initialisation; `quiet` outlives the call.
    #[allow(unsafe_code)] // the crate exposes the option only through its raw API
    unsafe {
        encoder.raw_api().set_option(openh264_sys2::ENCODER_OPTION_TRACE_LEVEL, std::ptr::addr_of_mut!(quiet).cast());
    }
    let (mut sps, mut pps): (Option<Bytes>, Option<Bytes>) = (None, None);
    let mut frames = Vec::with_capacity(p.loop_frames as usize);
    for i in 0..p.loop_frames {
        let img = renderer.frame(i);
        let key = i % p.key_interval_frames == 0;
        if key {
            encoder.force_intra_frame();
        }
        let (w, h) = (img.width, img.height);
        let yuv = YUVSlices::new((&img.y, &img.u, &img.v), (w, h), (w, w / 2, w / 2));
        let stream = encoder.encode(&yuv).map_err(|e| fail(format!("frame {i}: {e}")))?.to_vec();
        let mut nals = Vec::new();
        let mut is_key = false;
        for nal in split_annex_b(&stream) {
            match nal[0] & 0x1f {
                NAL_SPS => sps = Some(Bytes::copy_from_slice(nal)),
                NAL_PPS => pps = Some(Bytes::copy_from_slice(nal)),
                NAL_IDR => is_key = true,
                _ => {}
            }
            nals.push(Bytes::copy_from_slice(nal));
        }
        if nals.iter().all(|n| !matches!(n[0] & 0x1f, 1..=5)) {
            return Err(fail(format!("frame {i} came out without a picture")));
        }
        if key != is_key {
            return Err(fail(format!("frame {i}: expected key frame {key}, the encoder made {is_key}")));
        }
        if is_key {
            // SPS and PPS before every IDR, so a client may join at any key frame.
            let (Some(s), Some(q)) = (&sps, &pps) else {
                return Err(fail(format!("key frame {i} without SPS/PPS")));
            };
            nals.retain(|n| !matches!(n[0] & 0x1f, NAL_SPS | NAL_PPS));
            nals.splice(0..0, [s.clone(), q.clone()]);
        }
        let payloads = rtp::payloads(&nals);
        frames.push(EncodedFrame { is_key, nals, payloads });
    }
    let (Some(sps), Some(pps)) = (sps, pps) else {
        return Err(fail("no SPS/PPS in the stream".into()));
    };
    Ok(EncodedLoop { params: p, sps, pps, frames })
}

/// Ground truth for every frame of a scene's loop at the main stream's size.
pub fn scene_truth(p: EncodeParams) -> SceneTruth {
    let scene = Scene::new(p.scene, p.seed, p.loop_frames);
    let (w, h) = (p.width as usize, p.height as usize);
    SceneTruth {
        scene: p.scene,
        width: w as u32,
        height: h as u32,
        fps: p.fps,
        loop_frames: p.loop_frames,
        key_interval_frames: p.key_interval_frames,
        road_y: road_rows(h),
        frames: (0..p.loop_frames).map(|i| frame_truth(&scene, i, w, h)).collect(),
    }
}

/// Encodes shared by every camera in the process: one per distinct
/// [`EncodeParams`], made on first request.
#[derive(Default)]
pub struct EncodeCache {
    done: Mutex<HashMap<EncodeParams, Arc<EncodedLoop>>>,
}

impl EncodeCache {
    /// The encodes for all of `wanted`, making the missing ones in parallel
    /// (one thread each, as many at once as there are CPUs).
    pub fn get_all(&self, wanted: &[EncodeParams]) -> Result<Vec<Arc<EncodedLoop>>, SimError> {
        let mut missing: Vec<EncodeParams> = {
            let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
            wanted.iter().copied().filter(|p| !done.contains_key(p)).collect()
        };
        missing.sort_by_key(|p| (p.scene, p.width));
        missing.dedup();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        for chunk in missing.chunks(threads) {
            let results: Vec<Result<EncodedLoop, SimError>> = std::thread::scope(|s| {
                let handles: Vec<_> = chunk.iter().map(|p| s.spawn(move || encode_loop(*p))).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err(SimError::Encode { scene: 0, width: 0, height: 0, detail: "the encoder thread panicked".into() })))
                    .collect()
            });
            let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
            for r in results {
                let l = r?;
                done.insert(l.params, Arc::new(l));
            }
        }
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        Ok(wanted.iter().map(|p| done[p].clone()).collect())
    }
}
