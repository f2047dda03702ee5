//! Fragmented MP4 from real H.264/H.265 (encoded by ffmpeg), written the way
//! a live viewer receives it — init segment, then one fragment per frame —
//! and read back by ffprobe and ffmpeg. Also through the live hub with a
//! viewer that fell behind: what it receives still decodes cleanly and is
//! exactly the source's frames from a key frame on.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use citywatch_video::fmp4::Fragmenter;
use citywatch_video::live::{LiveEvent, LiveHub};
use citywatch_video::recorder::Stream as RecStream;
use citywatch_video::{Codec, Frame};
use support::*;

const FPS: u32 = 25;
const FRAME_90K: i64 = 90_000 / FPS as i64;

fn frames(s: &support::Stream) -> Vec<Frame> {
    s.frames
        .iter()
        .zip(&s.keys)
        .enumerate()
        .map(|(n, (data, &is_key))| Frame { timestamp_90k: 1_000 + n as i64 * FRAME_90K, is_key, data: Bytes::from(data.clone()), params: s.params.clone() })
        .collect()
}

/// Writes what a viewer would receive: init segments and fragments in order.
fn write_fmp4(path: &Path, frames: &[Frame], f: &mut Fragmenter) -> usize {
    let mut out = Vec::new();
    let mut inits = 0;
    for frame in frames {
        let piece = f.push(frame).unwrap();
        if let Some(init) = piece.init {
            inits += 1;
            out.extend_from_slice(&init);
        }
        out.extend_from_slice(&piece.fragment);
    }
    std::fs::write(path, out).unwrap();
    inits
}

fn probe(path: &Path) -> (String, u64, u64, Vec<f64>) {
    let v = ffprobe_json(&["-count_frames", "-show_entries", "stream=codec_name,width,nb_read_frames"], path);
    let s = &v["streams"][0];
    let p = ffprobe_json(&["-show_entries", "packet=dts_time"], path);
    let dts = p["packets"].as_array().unwrap().iter().map(|k| k["dts_time"].as_str().unwrap().parse().unwrap()).collect();
    (s["codec_name"].as_str().unwrap().to_owned(), s["width"].as_u64().unwrap(), s["nb_read_frames"].as_str().unwrap().parse().unwrap(), dts)
}

fn check_codec(codec: Codec, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let src = encode(dir.path(), codec, 4, FPS, FPS);
    let frames = frames(&src);
    let file = dir.path().join("live.mp4");
    assert_eq!(write_fmp4(&file, &frames, &mut Fragmenter::new()), 1);
    let (codec_name, width, read, dts) = probe(&file);
    assert_eq!((codec_name.as_str(), width), (name, 320));
    assert_eq!(read as usize, frames.len(), "ffprobe decoded every frame");
    assert!(dts.windows(2).all(|w| (w[1] - w[0] - 1.0 / FPS as f64).abs() < 1e-6), "one frame apart: {dts:?}");
    assert_eq!(decode_errors(&file), "", "ffmpeg decodes without errors");
    assert_eq!(frame_md5s(&file), frame_md5s(&src.annexb), "the same pictures as the camera's stream");
}

#[test]
fn h264_fragments_decode_like_the_source() {
    check_codec(Codec::H264, "h264");
}

#[test]
fn h265_fragments_decode_like_the_source() {
    check_codec(Codec::H265, "hevc");
}

#[test]
fn a_viewer_that_fell_behind_receives_a_clean_stream_from_a_key_frame() {
    let dir = tempfile::tempdir().unwrap();
    let src = encode(dir.path(), Codec::H264, 6, FPS, FPS);
    let frames = frames(&src);
    let source_md5 = frame_md5s(&src.annexb);
    let hub = Arc::new(LiveHub::new(16, Duration::from_secs(3600)));
    let publisher = hub.publisher("cam", RecStream::Main);
    publisher.online();
    // Subscribes mid-GOP: starts from the cached key frame at 25.
    for f in &frames[..30] {
        publisher.frame(f.clone());
    }
    let mut viewer = hub.subscribe("cam", RecStream::Main);
    let mut received = Vec::new();
    let mut fragmenter = Fragmenter::new();
    let mut out = Vec::new();
    let mut take = |e: LiveEvent, received: &mut Vec<i64>, out: &mut Vec<u8>| match e {
        LiveEvent::Frame(f) => {
            received.push((f.frame.timestamp_90k - 1_000) / FRAME_90K);
            let piece = fragmenter.push(&f.frame).unwrap();
            out.extend(piece.init.unwrap_or_default());
            out.extend(piece.fragment);
        }
        LiveEvent::Gap { .. } => fragmenter.discontinuity(),
        other => panic!("unexpected {other:?}"),
    };
    for f in &frames[30..35] {
        publisher.frame(f.clone());
    }
    for _ in 0..10 {
        take(viewer.try_next().unwrap(), &mut received, &mut out);
    }
    // Then stops reading while 100 frames go by: the ring holds 16.
    for f in &frames[35..130] {
        publisher.frame(f.clone());
    }
    while let Some(e) = viewer.try_next() {
        take(e, &mut received, &mut out);
    }
    assert_eq!(&received[..10], &(25..35).collect::<Vec<_>>()[..]);
    let resumed = received[10];
    assert!(resumed >= 114 - 25 && resumed % 25 == 0, "resumed at {resumed}, a key frame within the ring");
    assert_eq!(&received[10..], &(resumed..130).collect::<Vec<_>>()[..], "everything after the key frame");
    let file = dir.path().join("viewer.mp4");
    std::fs::write(&file, &out).unwrap();
    assert_eq!(decode_errors(&file), "", "ffmpeg decodes what the viewer got without errors");
    let want: Vec<String> = received.iter().map(|&n| source_md5[n as usize].clone()).collect();
    assert_eq!(frame_md5s(&file), want, "the pictures are the source's, frame for frame");
    let (_, _, _, dts) = probe(&file);
    assert!(dts.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] < 0.05), "no hole in the timeline across the skip: {dts:?}");
}
