//! A real face on video for the blurring tests: NASA's portrait of Eileen
//! Collins (public domain, see crates/analytics/tests/data/README.md)
//! drifting across a grey street-camera-sized frame, encoded with OpenH264
//! as a camera would send it; the face-blurring set-up of the server; and
//! ffmpeg/ffprobe to look at what came back.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use citywatch_analytics::live_redact::{FaceModels, LiveRedactConfig};
use citywatch_api::LiveRedaction;
use citywatch_video::{split_annex_b, Codec, Frame, VideoParams};
use image::RgbImage;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, RateControlMode, UsageType};
use openh264::formats::{RgbSliceU8, YUVBuffer};
use openh264::OpenH264API;
use serde_json::Value;

pub const W: u32 = 640;
pub const H: u32 = 360;
pub const FPS: i64 = 15;
pub const GOP: usize = 15;

/// Live and playback redaction with the face models, at most
/// `max_streams` blurred streams at once.
pub fn redaction(max_streams: usize) -> LiveRedaction {
    LiveRedaction {
        faces: Some(Arc::new(FaceModels::new(&crate::common::models(), 1).unwrap())),
        max_streams,
        detect: LiveRedactConfig::default(),
        max_playback_span: LiveRedaction::DEFAULT_MAX_PLAYBACK_SPAN,
    }
}

/// `n` 640×360 pictures of the portrait drifting, so P-frames carry motion.
pub fn pictures(n: usize) -> Vec<RgbImage> {
    let portrait = image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../analytics/tests/data/astronaut-320.jpg")).unwrap().to_rgb8();
    (0..n)
        .map(|i| {
            let mut img = RgbImage::from_pixel(W, H, image::Rgb([110, 112, 108]));
            image::imageops::overlay(&mut img, &portrait, 100 + (i as i64 * 3) % 200, 20);
            img
        })
        .collect()
}

/// The pictures as a camera would send them: H.264 (OpenH264), a key
/// frame every `GOP`, NAL units length-prefixed, SPS/PPS in the avcC;
/// timestamps from 0 at `FPS`.
pub fn camera_frames(pics: &[RgbImage]) -> Vec<Frame> {
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(1_500_000))
        .max_frame_rate(FrameRate::from_hz(FPS as f32))
        .rate_control_mode(RateControlMode::Bitrate)
        .usage_type(UsageType::CameraVideoRealTime)
        .skip_frames(false);
    let mut enc = Encoder::with_api_config(OpenH264API::from_source(), config).unwrap();
    let (mut sps, mut pps) = (Vec::new(), Vec::new());
    let mut out = Vec::new();
    let mut params: Option<Arc<VideoParams>> = None;
    for (i, pic) in pics.iter().enumerate() {
        if i % GOP == 0 {
            enc.force_intra_frame();
        }
        let yuv = YUVBuffer::from_rgb8_source(RgbSliceU8::new(pic.as_raw(), (W as usize, H as usize)));
        // Real timestamps: rate control starves P-frames without them.
        let stream = enc.encode_at(&yuv, openh264::Timestamp::from_millis(i as u64 * 1000 / FPS as u64)).unwrap().to_vec();
        let (mut data, mut is_key) = (Vec::new(), false);
        for nal in split_annex_b(&stream) {
            match nal[0] & 0x1f {
                7 => sps = nal.to_vec(),
                8 => pps = nal.to_vec(),
                t => {
                    is_key |= t == 5;
                    data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                    data.extend_from_slice(nal);
                }
            }
        }
        assert_eq!(is_key, i % GOP == 0, "frame {i}");
        let p = params.get_or_insert_with(|| {
            let mut avcc = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe1];
            avcc.extend_from_slice(&(sps.len() as u16).to_be_bytes());
            avcc.extend_from_slice(&sps);
            avcc.push(1);
            avcc.extend_from_slice(&(pps.len() as u16).to_be_bytes());
            avcc.extend_from_slice(&pps);
            let codec = format!("avc1.{:02x}{:02x}{:02x}", sps[1], sps[2], sps[3]);
            Arc::new(VideoParams { codec: Codec::H264, width: W as u16, height: H as u16, rfc6381_codec: codec, extra_data: avcc, pixel_aspect_ratio: None })
        });
        out.push(Frame { timestamp_90k: i as i64 * 90_000 / FPS, is_key, data: Bytes::from(data), params: p.clone() });
    }
    out
}

/// Mean absolute difference of two pictures over `rows`.
pub fn diff(a: &RgbImage, b: &RgbImage, rows: std::ops::Range<u32>) -> f64 {
    let (mut sum, mut n) = (0u64, 0u64);
    for y in rows {
        for x in 0..W {
            let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
            sum += (0..3).map(|c| u64::from(p[c].abs_diff(q[c]))).sum::<u64>();
            n += 3;
        }
    }
    sum as f64 / n as f64
}

/// Every picture of an MP4 file, decoded by ffmpeg.
pub fn decode_all(path: &Path) -> Vec<RgbImage> {
    let out = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(path).args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]).output().expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    let size = (W * H * 3) as usize;
    assert_eq!(out.stdout.len() % size, 0, "whole 640×360 pictures");
    out.stdout.chunks(size).map(|c| RgbImage::from_raw(W, H, c.to_vec()).unwrap()).collect()
}

/// ffprobe's view of the file: codec, size and how many frames decode.
pub fn probe(path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["streams"][0].clone()
}
