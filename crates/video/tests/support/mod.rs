//! Test support: real H.264/H.265 from ffmpeg, split into access units and
//! stored as sample files, the way the recorder stores what a camera sends.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use citywatch_video::mp4::{Sample, Segment};
use citywatch_video::{Codec, VideoParams};

/// Encoded frames in MP4 sample form (4-byte length-prefixed NAL units).
pub struct Stream {
    pub params: Arc<VideoParams>,
    pub frames: Vec<Vec<u8>>,
    pub keys: Vec<bool>,
    /// The Annex B elementary stream that ffmpeg wrote.
    pub annexb: PathBuf,
}

/// Runs a command and returns its stdout; panics with its stderr on failure.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?} (are ffmpeg and ffprobe installed?): {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Encodes `seconds` of ffmpeg's test pattern at `fps`, 320x240, a key frame
/// every `gop` frames, no B-frames, with access unit delimiters.
pub fn encode(dir: &Path, codec: Codec, seconds: u32, fps: u32, gop: u32) -> Stream {
    let (name, lib, params_flag, params) = match codec {
        Codec::H264 => ("in.h264", "libx264", "-x264-params", format!("aud=1:keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0")),
        Codec::H265 => ("in.h265", "libx265", "-x265-params", format!("aud=1:keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:open-gop=0:log-level=error")),
    };
    let path = dir.join(name);
    let format = if codec == Codec::H264 { "h264" } else { "hevc" };
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size=320x240:rate={fps}"))
        .args(["-t", &seconds.to_string(), "-c:v", lib, "-pix_fmt", "yuv420p"])
        .args([params_flag, &params, "-f", format])
        .arg(&path));
    let data = std::fs::read(&path).unwrap();
    let mut s = match codec {
        Codec::H264 => split_h264(&data),
        Codec::H265 => split_h265(&data),
    };
    s.annexb = path;
    s
}

/// The NAL units of an Annex B stream (start codes and trailing zeros removed).
pub fn nal_units(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new(); // (start code position, payload start)
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push((i, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &(_, begin)) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(data.len(), |&(sc, _)| sc);
        while end > begin && data[end - 1] == 0 {
            end -= 1;
        }
        nals.push(&data[begin..end]);
    }
    nals
}

/// Removes emulation prevention bytes (00 00 03 -> 00 00).
fn rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Groups NAL units into access units at each AUD; parameter sets and AUDs
/// are left out of the samples (they go into the decoder configuration).
fn group(
    data: &[u8],
    nal_type: impl Fn(&[u8]) -> u8,
    aud: u8,
    is_param_set: impl Fn(u8) -> bool,
    is_key: impl Fn(u8) -> bool,
) -> (Vec<Vec<u8>>, Vec<bool>, Vec<Vec<u8>>) {
    let mut frames = Vec::new();
    let mut keys = Vec::new();
    let mut param_sets: Vec<Vec<u8>> = Vec::new();
    let mut cur: Option<(Vec<u8>, bool)> = None;
    for nal in nal_units(data) {
        let t = nal_type(nal);
        if t == aud {
            if let Some((f, k)) = cur.take() {
                frames.push(f);
                keys.push(k);
            }
            cur = Some((Vec::new(), false));
            continue;
        }
        if is_param_set(t) {
            if !param_sets.iter().any(|p| p == nal) {
                param_sets.push(nal.to_vec());
            }
            continue;
        }
        let (f, k) = cur.as_mut().expect("stream starts with an AUD");
        f.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        f.extend_from_slice(nal);
        *k |= is_key(t);
    }
    if let Some((f, k)) = cur {
        frames.push(f);
        keys.push(k);
    }
    (frames, keys, param_sets)
}

pub fn split_h264(data: &[u8]) -> Stream {
    let (frames, keys, ps) = group(data, |n| n[0] & 0x1f, 9, |t| t == 7 || t == 8, |t| t == 5);
    let sps: Vec<&[u8]> = ps.iter().filter(|n| n[0] & 0x1f == 7).map(|n| &n[..]).collect();
    let pps: Vec<&[u8]> = ps.iter().filter(|n| n[0] & 0x1f == 8).map(|n| &n[..]).collect();
    let sps0 = sps[0];
    Stream {
        params: Arc::new(VideoParams {
            codec: Codec::H264,
            width: 320,
            height: 240,
            rfc6381_codec: format!("avc1.{:02x}{:02x}{:02x}", sps0[1], sps0[2], sps0[3]),
            extra_data: avc_decoder_config(&sps, &pps),
            pixel_aspect_ratio: None,
        }),
        frames,
        keys,
        annexb: PathBuf::new(),
    }
}

/// An AVCDecoderConfigurationRecord (body of `avcC`) with 4-byte lengths.
pub fn avc_decoder_config(sps: &[&[u8]], pps: &[&[u8]]) -> Vec<u8> {
    let mut c = vec![1, sps[0][1], sps[0][2], sps[0][3], 0xfc | 3, 0xe0 | sps.len() as u8];
    for s in sps {
        c.extend_from_slice(&(s.len() as u16).to_be_bytes());
        c.extend_from_slice(s);
    }
    c.push(pps.len() as u8);
    for p in pps {
        c.extend_from_slice(&(p.len() as u16).to_be_bytes());
        c.extend_from_slice(p);
    }
    c
}

pub fn split_h265(data: &[u8]) -> Stream {
    let (frames, keys, ps) = group(data, |n| (n[0] >> 1) & 0x3f, 35, |t| (32..=34).contains(&t), |t| (16..=23).contains(&t));
    Stream {
        params: Arc::new(VideoParams {
            codec: Codec::H265,
            width: 320,
            height: 240,
            rfc6381_codec: "hvc1.1.6.L60.90".into(),
            extra_data: hevc_decoder_config(&ps),
            pixel_aspect_ratio: None,
        }),
        frames,
        keys,
        annexb: PathBuf::new(),
    }
}

/// An HEVCDecoderConfigurationRecord (body of `hvcC`), 4:2:0 8-bit, with
/// the profile fields copied from the SPS's profile_tier_level.
pub fn hevc_decoder_config(param_sets: &[Vec<u8>]) -> Vec<u8> {
    let sps = param_sets.iter().find(|n| (n[0] >> 1) & 0x3f == 33).expect("an SPS");
    let sps = rbsp(sps);
    // 2 bytes of NAL header, 1 of vps id/max sub layers/nesting, then
    // profile_space..profile_idc (1), compatibility (4), constraints (6), level (1).
    let ptl = &sps[3..15];
    let mut c = vec![1];
    c.extend_from_slice(ptl);
    c.extend_from_slice(&[0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f]);
    let mut arrays: Vec<(u8, Vec<&Vec<u8>>)> = Vec::new();
    for t in 32..=34u8 {
        let nals: Vec<_> = param_sets.iter().filter(|n| (n[0] >> 1) & 0x3f == t).collect();
        if !nals.is_empty() {
            arrays.push((t, nals));
        }
    }
    c.push(arrays.len() as u8);
    for (t, nals) in arrays {
        c.push(0x80 | t);
        c.extend_from_slice(&(nals.len() as u16).to_be_bytes());
        for n in nals {
            c.extend_from_slice(&(n.len() as u16).to_be_bytes());
            c.extend_from_slice(n);
        }
    }
    c
}

/// Writes frames `range` of `s` to `path` after `junk` bytes of filler and
/// returns the segment that indexes them.
pub fn write_segment(s: &Stream, range: std::ops::Range<usize>, path: &Path, junk: usize, duration_90k: u32) -> Segment {
    let mut data = vec![0xa5u8; junk];
    let mut samples = Vec::new();
    for i in range {
        data.extend_from_slice(&s.frames[i]);
        samples.push(Sample { size: s.frames[i].len() as u32, duration_90k, is_key: s.keys[i] });
    }
    std::fs::write(path, &data).unwrap();
    Segment { params: s.params.clone(), samples, file: path.to_path_buf(), file_offset: junk as u64 }
}

pub fn ffprobe_json(args: &[&str], file: &Path) -> serde_json::Value {
    let out = run(Command::new("ffprobe").args(["-v", "error", "-of", "json"]).args(args).arg(file));
    serde_json::from_str(&out).unwrap()
}

/// The MD5 of every decoded frame, in output order (`ffmpeg -f framemd5`).
pub fn frame_md5s(file: &Path) -> Vec<String> {
    let out = run(Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(file).args(["-map", "0:v", "-f", "framemd5", "-"]));
    out.lines().filter(|l| !l.starts_with('#')).map(|l| l.rsplit(',').next().unwrap().trim().to_string()).collect()
}

/// Decodes the whole file; returns what ffmpeg printed at `-v error`.
pub fn decode_errors(file: &Path) -> String {
    let out = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(file).args(["-f", "null", "-"]).output().expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).into_owned()
}
