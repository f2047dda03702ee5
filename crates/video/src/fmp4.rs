//! Fragmented MP4 for live viewing (Media Source Extensions): an *init
//! segment* (`ftyp` + `moov` with `mvex`) per set of codec parameters, then
//! *media segments* (`moof` + `mdat`) of one frame each, so a frame can leave
//! the server as soon as it arrived.
//!
//! ```text
//! init:     ftyp, moov { mvhd, trak { tkhd, mdia { mdhd, hdlr, minf {
//!                 vmhd, dinf { dref { url } }, stbl { stsd, stts, stsc, stsz, stco } } } },
//!                 mvex { trex } }
//! fragment: moof { mfhd, traf { tfhd, tfdt, trun } }, mdat
//! ```
//!
//! [`Fragmenter`] turns a viewer's sequence of frames into these bytes on one
//! monotonic timeline: a new camera session or frames skipped for a slow
//! viewer continue the timeline right after the last frame sent, so the
//! browser's buffer never has a hole to stall on.
//!
//! Like [`crate::mp4`], nothing here decodes video; samples are the frames
//! exactly as the camera sent them.

use std::sync::Arc;

use crate::frame::{Codec, Frame, VideoParams};
use crate::mp4::{boxed, full_box, put_u16, put_u32, put_u64, write_sample_entry, Mp4Error, MATRIX, TIMESCALE};

/// `trun` sample flags: a sync sample that depends on no other.
const KEY_FLAGS: u32 = 0x0200_0000;
/// `trun` sample flags: depends on others, not a sync sample.
const NON_KEY_FLAGS: u32 = 0x0101_0000;
/// Duration given to a frame before the next one tells the real one (30 fps).
const DEFAULT_DURATION_90K: u32 = 3000;
/// Gaps between frames longer than this are discontinuities (a stall), not
/// frame durations.
const MAX_DURATION_90K: i64 = 2 * TIMESCALE as i64;

/// The `type` parameter for MSE's `addSourceBuffer` / `isTypeSupported`.
pub fn mime_type(params: &VideoParams) -> String {
    format!("video/mp4; codecs=\"{}\"", params.rfc6381_codec)
}

/// Whether Chromium's MSE can play this codec: H.264 yes, H.265 no (it
/// needs a WebRTC or transcoding path, or the camera's H.264 sub-stream).
pub fn browser_playable(params: &VideoParams) -> bool {
    params.codec == Codec::H264
}

/// `ftyp` + `moov` for one video track (id 1, 90 kHz) with no samples and
/// an `mvex`, announcing that the media come in fragments.
pub fn init_segment(params: &VideoParams) -> Result<Vec<u8>, Mp4Error> {
    if params.extra_data.is_empty() {
        return Err(Mp4Error::MissingExtraData { index: 0 });
    }
    let (h, v) = match params.pixel_aspect_ratio {
        Some((h, v)) if h > 0 && v > 0 => (u64::from(h), u64::from(v)),
        _ => (1, 1),
    };
    let fixed = |pixels: u64, num: u64, den: u64| u32::try_from((pixels << 16) * num / den).unwrap_or(u32::MAX);
    let (display_w, display_h) = (fixed(u64::from(params.width), h, v), fixed(u64::from(params.height), 1, 1));

    let mut buf = Vec::with_capacity(params.extra_data.len() + 700);
    boxed(&mut buf, b"ftyp", |b| {
        b.extend_from_slice(b"isom");
        put_u32(b, 0x200);
        for brand in [b"isom", b"iso6", b"avc1", b"mp41"] {
            b.extend_from_slice(brand);
        }
        Ok(())
    })?;
    boxed(&mut buf, b"moov", |b| {
        full_box(b, b"mvhd", 0, 0, |b| {
            put_u32(b, 0); // creation_time
            put_u32(b, 0); // modification_time
            put_u32(b, TIMESCALE);
            put_u32(b, 0); // duration: unknown, it is live
            put_u32(b, 0x0001_0000); // rate 1.0
            put_u16(b, 0x0100); // volume 1.0
            put_u16(b, 0);
            put_u64(b, 0);
            MATRIX.iter().for_each(|&m| put_u32(b, m));
            b.extend_from_slice(&[0; 24]);
            put_u32(b, 2); // next_track_ID
            Ok(())
        })?;
        boxed(b, b"trak", |b| {
            full_box(b, b"tkhd", 0, 7, |b| {
                put_u32(b, 0);
                put_u32(b, 0);
                put_u32(b, 1); // track_ID
                put_u32(b, 0);
                put_u32(b, 0); // duration
                put_u64(b, 0);
                put_u16(b, 0); // layer
                put_u16(b, 0); // alternate_group
                put_u16(b, 0); // volume
                put_u16(b, 0);
                MATRIX.iter().for_each(|&m| put_u32(b, m));
                put_u32(b, display_w);
                put_u32(b, display_h);
                Ok(())
            })?;
            boxed(b, b"mdia", |b| {
                full_box(b, b"mdhd", 0, 0, |b| {
                    put_u32(b, 0);
                    put_u32(b, 0);
                    put_u32(b, TIMESCALE);
                    put_u32(b, 0);
                    put_u16(b, 0x55c4); // "und"
                    put_u16(b, 0);
                    Ok(())
                })?;
                full_box(b, b"hdlr", 0, 0, |b| {
                    put_u32(b, 0);
                    b.extend_from_slice(b"vide");
                    b.extend_from_slice(&[0; 12]);
                    b.extend_from_slice(b"VideoHandler\0");
                    Ok(())
                })?;
                boxed(b, b"minf", |b| {
                    full_box(b, b"vmhd", 0, 1, |b| {
                        put_u16(b, 0);
                        b.extend_from_slice(&[0; 6]);
                        Ok(())
                    })?;
                    boxed(b, b"dinf", |b| {
                        full_box(b, b"dref", 0, 0, |b| {
                            put_u32(b, 1);
                            full_box(b, b"url ", 0, 1, |_| Ok(()))
                        })
                    })?;
                    boxed(b, b"stbl", |b| {
                        full_box(b, b"stsd", 0, 0, |b| {
                            put_u32(b, 1);
                            write_sample_entry(b, params)
                        })?;
                        // Empty tables: every sample is in a fragment.
                        for kind in [b"stts", b"stsc", b"stco"] {
                            full_box(b, kind, 0, 0, |b| {
                                put_u32(b, 0);
                                Ok(())
                            })?;
                        }
                        full_box(b, b"stsz", 0, 0, |b| {
                            put_u32(b, 0); // sample_size
                            put_u32(b, 0); // sample_count
                            Ok(())
                        })
                    })
                })
            })
        })?;
        boxed(b, b"mvex", |b| {
            full_box(b, b"trex", 0, 0, |b| {
                put_u32(b, 1); // track_ID
                put_u32(b, 1); // default_sample_description_index
                put_u32(b, 0); // default_sample_duration
                put_u32(b, 0); // default_sample_size
                put_u32(b, 0); // default_sample_flags
                Ok(())
            })
        })
    })?;
    Ok(buf)
}

/// One sample of a media segment.
#[derive(Debug, Clone, Copy)]
pub struct FragmentSample<'a> {
    /// Length-prefixed NAL units, as in [`Frame::data`].
    pub data: &'a [u8],
    pub duration_90k: u32,
    pub is_key: bool,
}

/// `moof` + `mdat` holding `samples` back to back, the first decoded at
/// `base_decode_time_90k`. `sequence` must increase from fragment to
/// fragment (MSE does not check it; ffmpeg warns when it does not).
pub fn media_segment(sequence: u32, base_decode_time_90k: u64, samples: &[FragmentSample<'_>]) -> Result<Vec<u8>, Mp4Error> {
    if samples.is_empty() {
        return Err(Mp4Error::NoSegments);
    }
    let payload: usize = samples.iter().map(|s| s.data.len()).sum();
    let mut buf = Vec::with_capacity(payload + 80 + samples.len() * 12);
    let mut data_offset_pos = 0;
    boxed(&mut buf, b"moof", |b| {
        full_box(b, b"mfhd", 0, 0, |b| {
            put_u32(b, sequence);
            Ok(())
        })?;
        boxed(b, b"traf", |b| {
            // default-base-is-moof: data offsets count from this moof.
            full_box(b, b"tfhd", 0, 0x02_0000, |b| {
                put_u32(b, 1);
                Ok(())
            })?;
            full_box(b, b"tfdt", 1, 0, |b| {
                put_u64(b, base_decode_time_90k);
                Ok(())
            })?;
            // data-offset, sample-duration, sample-size, sample-flags.
            full_box(b, b"trun", 0, 0x0701, |b| {
                put_u32(b, u32::try_from(samples.len()).map_err(|_| Mp4Error::Overflow("sample count"))?);
                data_offset_pos = b.len();
                put_u32(b, 0);
                for s in samples {
                    put_u32(b, s.duration_90k);
                    put_u32(b, u32::try_from(s.data.len()).map_err(|_| Mp4Error::Overflow("sample size"))?);
                    put_u32(b, if s.is_key { KEY_FLAGS } else { NON_KEY_FLAGS });
                }
                Ok(())
            })
        })
    })?;
    // The first sample starts after the moof and the 8-byte mdat header.
    let data_offset = u32::try_from(buf.len() + 8).map_err(|_| Mp4Error::Overflow("moof size"))?;
    buf[data_offset_pos..data_offset_pos + 4].copy_from_slice(&data_offset.to_be_bytes());
    let mdat_size = u32::try_from(payload + 8).map_err(|_| Mp4Error::Overflow("mdat size"))?;
    put_u32(&mut buf, mdat_size);
    buf.extend_from_slice(b"mdat");
    for s in samples {
        buf.extend_from_slice(s.data);
    }
    Ok(buf)
}

/// What [`Fragmenter::push`] produced for one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragmented {
    /// A new init segment, when the frame's parameters differ from the last
    /// one's (the first frame, a new resolution, a new camera session).
    pub init: Option<Vec<u8>>,
    /// `moof` + `mdat` for the frame.
    pub fragment: Vec<u8>,
    /// Where the frame sits on the viewer's timeline (90 kHz).
    pub decode_time_90k: u64,
}

/// One viewer's fMP4 writer: numbers fragments and keeps the timeline
/// monotonic and gap-free across camera sessions and skipped frames.
#[derive(Debug, Default)]
pub struct Fragmenter {
    params: Option<Arc<VideoParams>>,
    sequence: u32,
    /// Camera timestamp of the last frame and where it was placed.
    last: Option<(i64, u64)>,
    last_duration: u32,
    /// The next frame does not follow the last one in camera time.
    discontinuity: bool,
}

impl Fragmenter {
    pub fn new() -> Self {
        Fragmenter::default()
    }

    /// The next frame does not continue the last one (frames were skipped,
    /// or the camera started a new session): place it right after the last
    /// frame sent instead of by its timestamp.
    pub fn discontinuity(&mut self) {
        self.discontinuity = true;
    }

    /// The parameters of the last init segment, if any.
    pub fn params(&self) -> Option<&Arc<VideoParams>> {
        self.params.as_ref()
    }

    /// The fragment for `frame`, preceded by an init segment when needed.
    /// After an init segment the frame must be a key frame; the hub makes
    /// sure of that, and this refuses otherwise rather than send a stream
    /// the browser cannot decode.
    pub fn push(&mut self, frame: &Frame) -> Result<Fragmented, Mp4Error> {
        let new_params = match &self.params {
            Some(p) => !Arc::ptr_eq(p, &frame.params) && **p != *frame.params,
            None => true,
        };
        let init = if new_params {
            if !frame.is_key {
                return Err(Mp4Error::FirstSampleNotKey);
            }
            let init = init_segment(&frame.params)?;
            self.params = Some(frame.params.clone());
            Some(init)
        } else {
            None
        };
        let decode_time = match self.last {
            None => 0,
            Some((last_ts, last_at)) => {
                let delta = frame.timestamp_90k - last_ts;
                if self.discontinuity || new_params || delta <= 0 || delta > MAX_DURATION_90K {
                    last_at + u64::from(self.last_duration)
                } else {
                    // The real duration of the previous frame is now known; the
                    // browser already has it with the estimate, and a small
                    // overlap or gap between frames is harmless for MSE.
                    self.last_duration = delta as u32;
                    last_at + delta as u64
                }
            }
        };
        if self.last_duration == 0 {
            self.last_duration = DEFAULT_DURATION_90K;
        }
        self.discontinuity = false;
        self.sequence = self.sequence.wrapping_add(1);
        let sample = FragmentSample { data: &frame.data, duration_90k: self.last_duration, is_key: frame.is_key };
        let fragment = media_segment(self.sequence, decode_time, &[sample])?;
        self.last = Some((frame.timestamp_90k, decode_time));
        Ok(Fragmented { init, fragment, decode_time_90k: decode_time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn params(w: u16) -> Arc<VideoParams> {
        Arc::new(VideoParams {
            codec: Codec::H264,
            width: w,
            height: 360,
            rfc6381_codec: "avc1.64001e".into(),
            extra_data: vec![1, 0x64, 0, 0x1e, 0xff, 0xe0, 0],
            pixel_aspect_ratio: None,
        })
    }

    fn frame(p: &Arc<VideoParams>, ts: i64, key: bool) -> Frame {
        Frame { timestamp_90k: ts, is_key: key, data: Bytes::from_static(&[0, 0, 0, 2, 0x65, 0x88]), params: p.clone() }
    }

    /// Top-level boxes as (type, start, size).
    fn boxes(buf: &[u8]) -> Vec<([u8; 4], usize, usize)> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos + 8 <= buf.len() {
            let size = u32::from_be_bytes(buf[pos..pos + 4].try_into().unwrap()) as usize;
            out.push((buf[pos + 4..pos + 8].try_into().unwrap(), pos, size));
            assert!(size >= 8, "box at {pos} has size {size}");
            pos += size;
        }
        assert_eq!(pos, buf.len(), "boxes do not tile the buffer");
        out
    }

    fn find(buf: &[u8], kind: &[u8; 4]) -> usize {
        buf.windows(4).position(|w| w == kind).unwrap_or_else(|| panic!("no {}", String::from_utf8_lossy(kind)))
    }

    fn u32_at(buf: &[u8], pos: usize) -> u32 {
        u32::from_be_bytes(buf[pos..pos + 4].try_into().unwrap())
    }

    #[test]
    fn init_segment_has_mvex_and_the_codec_config() {
        let p = params(640);
        let init = init_segment(&p).unwrap();
        let top: Vec<[u8; 4]> = boxes(&init).iter().map(|b| b.0).collect();
        assert_eq!(top, [*b"ftyp", *b"moov"]);
        let trex = find(&init, b"trex");
        assert_eq!(u32_at(&init, trex + 8), 1, "track 1");
        let avcc = find(&init, b"avcC");
        assert_eq!(&init[avcc + 4..avcc + 4 + p.extra_data.len()], &p.extra_data[..]);
        assert_eq!(mime_type(&p), "video/mp4; codecs=\"avc1.64001e\"");
        let mut no_config = (*p).clone();
        no_config.extra_data.clear();
        assert!(init_segment(&no_config).is_err());
    }

    #[test]
    fn media_segment_offsets_point_at_the_samples() {
        let a = [0u8, 0, 0, 2, 0x65, 1];
        let b = [0u8, 0, 0, 3, 0x41, 2, 3];
        let seg = media_segment(
            7,
            1 << 40,
            &[FragmentSample { data: &a, duration_90k: 3000, is_key: true }, FragmentSample { data: &b, duration_90k: 3003, is_key: false }],
        )
        .unwrap();
        let top = boxes(&seg);
        assert_eq!(top.iter().map(|b| b.0).collect::<Vec<_>>(), [*b"moof", *b"mdat"]);
        assert_eq!(u32_at(&seg, find(&seg, b"mfhd") + 8), 7);
        let tfdt = find(&seg, b"tfdt");
        assert_eq!(seg[tfdt + 4], 1, "64-bit tfdt");
        assert_eq!(u64::from_be_bytes(seg[tfdt + 8..tfdt + 16].try_into().unwrap()), 1 << 40);
        let trun = find(&seg, b"trun");
        assert_eq!(u32_at(&seg, trun + 8), 2, "sample count");
        let data_offset = u32_at(&seg, trun + 12) as usize;
        assert_eq!(&seg[data_offset..data_offset + a.len()], &a);
        assert_eq!(&seg[data_offset + a.len()..], &b);
        assert_eq!(u32_at(&seg, trun + 16), 3000);
        assert_eq!(u32_at(&seg, trun + 24), KEY_FLAGS);
        assert_eq!(u32_at(&seg, trun + 36), NON_KEY_FLAGS);
        assert!(media_segment(1, 0, &[]).is_err());
    }

    fn tfdt_of(fragment: &[u8]) -> u64 {
        let tfdt = find(fragment, b"tfdt");
        u64::from_be_bytes(fragment[tfdt + 8..tfdt + 16].try_into().unwrap())
    }

    #[test]
    fn fragmenter_keeps_one_gap_free_timeline() {
        let p = params(640);
        let mut f = Fragmenter::new();
        assert!(f.push(&frame(&p, 5000, false)).is_err(), "cannot start at a P frame");
        let first = f.push(&frame(&p, 5000, true)).unwrap();
        assert!(first.init.is_some());
        assert_eq!(first.decode_time_90k, 0);
        let second = f.push(&frame(&p, 11_000, false)).unwrap();
        assert!(second.init.is_none());
        assert_eq!(second.decode_time_90k, 6000);
        assert_eq!(tfdt_of(&second.fragment), 6000);
        // Frames skipped for a slow viewer: continue after the last frame.
        f.discontinuity();
        let resumed = f.push(&frame(&p, 500_000, true)).unwrap();
        assert_eq!(resumed.decode_time_90k, 12_000);
        // A new camera session restarts its clock near 0: still forward.
        let restarted = f.push(&frame(&p, 10, true)).unwrap();
        assert_eq!(restarted.decode_time_90k, 18_000);
        // New parameters: a new init segment, timeline continues.
        let p2 = params(1280);
        let changed = f.push(&frame(&p2, 6010, true)).unwrap();
        assert!(changed.init.is_some());
        assert_eq!(changed.decode_time_90k, 24_000);
        // Equal parameters in a new Arc are not a change.
        let p3 = params(1280);
        assert!(f.push(&frame(&p3, 12_010, false)).unwrap().init.is_none());
        let seqs: Vec<u32> = [&first, &second, &resumed, &restarted, &changed].iter().map(|x| u32_at(&x.fragment, find(&x.fragment, b"mfhd") + 8)).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
    }
}
