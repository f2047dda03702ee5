//! Progressive ("faststart") MP4 files built on request from sample files.
//!
//! A recording is stored as a *sample file* — the frames' AVCC/HVCC data
//! concatenated exactly as the camera sent it, no container — plus a
//! per-frame index ([`Sample`]: size, duration, key flag). To serve any time
//! range as an `.mp4`, [`VirtualMp4::build`] writes only the *head* (`ftyp`,
//! `moov`, the `mdat` header) into memory; the rest of the file is slices of
//! the sample files, read when someone asks for those bytes. Nothing is
//! decoded or transcoded (Moonfire NVR's design).
//!
//! Layout of the virtual file:
//!
//! ```text
//! ftyp
//! moov { mvhd, trak { tkhd, [edts { elst }], mdia { mdhd, hdlr, minf {
//!        vmhd, dinf { dref { url } },
//!        stbl { stsd, stts, [stss], stsc, stsz, stco | co64 } } } } }
//! mdat header (8 bytes, or 16 with a 64-bit size when the payload needs it)
//! segment 0's bytes, segment 1's bytes, ...   (one chunk per segment)
//! ```
//!
//! Every time value uses the 90 kHz media clock: `mvhd`, `mdhd` and `elst`
//! all have timescale 90000. Samples carry no composition offsets (no
//! `ctts`): presentation order is the stored order, as from cameras that
//! send no B-frames.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::frame::{Codec, VideoParams};
use crate::sample_bytes::{LocalFiles, SampleBytes};

/// The media and movie timescale: the 90 kHz clock.
pub const TIMESCALE: u32 = 90_000;

/// Seconds from 1904-01-01 (the MP4 epoch) to 1970-01-01.
const MP4_EPOCH_OFFSET: i64 = 2_082_844_800;

/// One frame in a sample file's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Bytes of the frame in the sample file (length-prefixed NAL units).
    pub size: u32,
    /// How long the frame is shown, on the 90 kHz clock.
    pub duration_90k: u32,
    /// Decoding can start at this frame (IDR / IRAP).
    pub is_key: bool,
}

/// Consecutive samples stored contiguously in one file, starting at
/// `file_offset`. In the MP4 a segment is one chunk.
#[derive(Debug, Clone)]
pub struct Segment {
    pub params: Arc<VideoParams>,
    pub samples: Vec<Sample>,
    /// The sample file, as the [`SampleBytes`] that reads it names it.
    pub file: PathBuf,
    pub file_offset: u64,
}

/// Why an MP4 could not be built from the given segments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mp4Error {
    #[error("no segments: an MP4 needs at least one sample")]
    NoSegments,
    #[error("segment {index} has no samples")]
    EmptySegment { index: usize },
    #[error("the first sample is not a key frame; playback must start at one")]
    FirstSampleNotKey,
    #[error("segment {index} changes the video parameters but does not start with a key frame")]
    ParamsChangeWithoutKey { index: usize },
    #[error("segment {index} has video parameters with empty extra_data (no avcC/hvcC)")]
    MissingExtraData { index: usize },
    #[error("skip of {skip_90k} ticks is not inside the first segment, which lasts {segment_90k} ticks")]
    SkipOutOfRange { skip_90k: u32, segment_90k: u64 },
    #[error("creation time {0} s since 1970 cannot be written in an MP4")]
    BadCreationTime(i64),
    #[error("{0} overflows what an MP4 can hold")]
    Overflow(&'static str),
}

/// Where a range of the virtual file's bytes comes from.
#[derive(Debug, Clone)]
enum Source {
    /// `head[..]`, from the start of the part.
    Head,
    /// A sample file's bytes from `offset` on.
    File { path: Arc<Path>, offset: u64 },
}

#[derive(Debug, Clone)]
struct Part {
    /// Position of the part's first byte in the virtual file.
    start: u64,
    len: u64,
    source: Source,
}

/// An MP4 whose bytes are the in-memory head (`ftyp` + `moov` + `mdat`
/// header) followed by slices of sample files.
///
/// Building touches no file; reading ([`read_range`](Self::read_range),
/// [`write_all`](Self::write_all)) opens the sample files and reads only the
/// bytes asked for. A sample file shorter than its index says is reported as
/// an [`io::ErrorKind::UnexpectedEof`] error naming the file.
pub struct VirtualMp4 {
    /// Where the sample files' bytes are read.
    bytes: Arc<dyn SampleBytes>,
    head: Vec<u8>,
    /// Sorted by `start`, contiguous, covering `[0, len)`; `parts[0]` is the head.
    parts: Vec<Part>,
    len: u64,
    duration_90k: u64,
    mime_type: String,
}

impl std::fmt::Debug for VirtualMp4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualMp4")
            .field("len", &self.len)
            .field("head_len", &self.head.len())
            .field("parts", &(self.parts.len() - 1))
            .field("duration_90k", &self.duration_90k)
            .field("mime_type", &self.mime_type)
            .finish()
    }
}

impl VirtualMp4 {
    /// Builds the MP4 for `segments`, played in order.
    ///
    /// `skip_90k`: play from this far into the first segment. The first
    /// segment must begin with a key frame; an edit list hides the lead-in,
    /// so players (and ffprobe) report the requested span as the duration.
    /// `creation_time`: seconds since 1970, for `mvhd`/`tkhd`/`mdhd`.
    pub fn build(segments: Vec<Segment>, skip_90k: u32, creation_time: i64) -> Result<VirtualMp4, Mp4Error> {
        VirtualMp4::build_from(Arc::new(LocalFiles), segments, skip_90k, creation_time)
    }

    /// [`build`](Self::build) with the segments' files read through `bytes`
    /// (the recording source's) instead of from local paths.
    pub fn build_from(bytes: Arc<dyn SampleBytes>, segments: Vec<Segment>, skip_90k: u32, creation_time: i64) -> Result<VirtualMp4, Mp4Error> {
        let plan = Plan::new(&segments, skip_90k, creation_time)?;

        // The chunk offsets depend on the head's length, which depends on
        // whether they need 64 bits. Try 32 bits first; rebuild with `co64`
        // only when the last chunk starts past 4 GiB.
        let mut co64 = false;
        let (head, chunk_offsets) = loop {
            let (mut head, offsets_pos) = write_moov(&segments, &plan, co64)?;
            let head_len = head.len() as u64 + plan.mdat_header_len;
            let last_chunk = head_len + plan.payload_len - plan.last_segment_len;
            if !co64 && last_chunk > u64::from(u32::MAX) {
                co64 = true;
                continue;
            }
            // Fill in the chunk offsets and append the mdat header.
            let mut offset = head_len;
            let mut offsets = Vec::with_capacity(segments.len());
            let mut pos = offsets_pos;
            for &seg_len in &plan.segment_lens {
                offsets.push(offset);
                if co64 {
                    head[pos..pos + 8].copy_from_slice(&offset.to_be_bytes());
                    pos += 8;
                } else {
                    head[pos..pos + 4].copy_from_slice(&(offset as u32).to_be_bytes());
                    pos += 4;
                }
                offset += seg_len;
            }
            if plan.mdat_header_len == 16 {
                put_u32(&mut head, 1);
                head.extend_from_slice(b"mdat");
                put_u64(&mut head, plan.payload_len + 16);
            } else {
                put_u32(&mut head, (plan.payload_len + 8) as u32);
                head.extend_from_slice(b"mdat");
            }
            break (head, offsets);
        };

        let mut parts = Vec::with_capacity(segments.len() + 1);
        parts.push(Part { start: 0, len: head.len() as u64, source: Source::Head });
        // Consecutive segments usually share a file; share the path too.
        let mut last_path: Option<Arc<Path>> = None;
        for ((seg, &seg_len), &start) in segments.iter().zip(&plan.segment_lens).zip(&chunk_offsets) {
            if seg_len == 0 {
                continue;
            }
            let path = match &last_path {
                Some(p) if **p == *seg.file => p.clone(),
                _ => {
                    let p: Arc<Path> = Arc::from(seg.file.as_path());
                    last_path = Some(p.clone());
                    p
                }
            };
            parts.push(Part { start, len: seg_len, source: Source::File { path, offset: seg.file_offset } });
        }
        let len = head.len() as u64 + plan.payload_len;

        let mut codecs: Vec<&str> = Vec::new();
        for p in &plan.entries {
            if !codecs.contains(&p.rfc6381_codec.as_str()) {
                codecs.push(&p.rfc6381_codec);
            }
        }
        let mime_type = format!("video/mp4; codecs=\"{}\"", codecs.join(", "));

        Ok(VirtualMp4 { bytes, head, parts, len, duration_90k: plan.media_duration - u64::from(skip_90k), mime_type })
    }

    /// Length of the whole file in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Always false: an MP4 has at least its head.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The presented duration (the requested span, after the edit list's
    /// skip), on the 90 kHz clock.
    pub fn duration_90k(&self) -> u64 {
        self.duration_90k
    }

    /// The `Content-Type`, e.g. `video/mp4; codecs="avc1.64001f"`.
    pub fn mime_type(&self) -> String {
        self.mime_type.clone()
    }

    /// The in-memory head: `ftyp`, `moov` and the `mdat` header.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Bytes `[start, end)` of the file, e.g. for an HTTP range request.
    /// Reads only the parts of the sample files that the range covers.
    pub fn read_range(&self, start: u64, end: u64) -> io::Result<Vec<u8>> {
        if start > end || end > self.len {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("range {start}..{end} is not within the MP4's {} bytes", self.len)));
        }
        let mut out = vec![0u8; usize::try_from(end - start).map_err(|_| { io::Error::new(io::ErrorKind::InvalidInput, "range too large for memory") })?];
        let first = self.parts.partition_point(|p| p.start + p.len <= start);
        let mut pos = start;
        for part in &self.parts[first..] {
            if pos >= end {
                break;
            }
            let from = pos - part.start;
            let to = (end - part.start).min(part.len);
            let dst = &mut out[(pos - start) as usize..(part.start + to - start) as usize];
            match &part.source {
                Source::Head => dst.copy_from_slice(&self.head[from as usize..to as usize]),
                Source::File { path, offset } => read_file_at(&*self.bytes, path, offset + from, dst)?,
            }
            pos = part.start + to;
        }
        debug_assert_eq!(pos, end);
        Ok(out)
    }

    /// Writes the whole file to `out`.
    pub fn write_all(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.head)?;
        for part in &self.parts[1..] {
            let Source::File { path, offset } = &part.source else { unreachable!("only parts[0] is the head") };
            let f = self.bytes.open_at(path, *offset).map_err(|e| name_file(e, path))?;
            let copied = io::copy(&mut f.take(part.len), out)?;
            if copied != part.len {
                return Err(short_file(path, *offset, part.len, copied));
            }
        }
        Ok(())
    }
}

fn name_file(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("sample file {}: {e}", path.display()))
}

fn short_file(path: &Path, offset: u64, wanted: u64, got: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("sample file {} is shorter than its index says: needed {wanted} bytes at offset {offset}, found {got}", path.display()),
    )
}

/// Fills `dst` from `path` at `offset`; a short file is an error naming it.
fn read_file_at(bytes: &dyn SampleBytes, path: &Path, offset: u64, dst: &mut [u8]) -> io::Result<()> {
    let mut f = bytes.open_at(path, offset).map_err(|e| name_file(e, path))?;
    let mut filled = 0;
    while filled < dst.len() {
        match f.read(&mut dst[filled..]) {
            Ok(0) => {
                return Err(short_file(path, offset, dst.len() as u64, filled as u64));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(name_file(e, path)),
        }
    }
    Ok(())
}

/// What `build` works out from the segments before writing anything.
struct Plan {
    /// Distinct parameters, in order of first use; sample description
    /// index `i + 1`.
    entries: Vec<Arc<VideoParams>>,
    /// For each segment, its 1-based sample description index.
    segment_entry: Vec<u32>,
    /// For each segment, the bytes of its samples.
    segment_lens: Vec<u64>,
    last_segment_len: u64,
    payload_len: u64,
    mdat_header_len: u64,
    sample_count: u32,
    key_count: u32,
    media_duration: u64,
    skip_90k: u32,
    /// Seconds since 1904.
    mp4_time: u64,
    /// Use version 1 (64-bit) time fields.
    v1: bool,
    /// Display size, 16.16 fixed point (pixel aspect ratio applied).
    display_width: u32,
    display_height: u32,
}

impl Plan {
    fn new(segments: &[Segment], skip_90k: u32, creation_time: i64) -> Result<Plan, Mp4Error> {
        if segments.is_empty() {
            return Err(Mp4Error::NoSegments);
        }
        let mut entries: Vec<Arc<VideoParams>> = Vec::new();
        let mut segment_entry = Vec::with_capacity(segments.len());
        let mut segment_lens = Vec::with_capacity(segments.len());
        let mut payload_len = 0u64;
        let mut sample_count = 0u32;
        let mut key_count = 0u32;
        let mut media_duration = 0u64;
        let mut first_segment_duration = 0u64;
        for (index, seg) in segments.iter().enumerate() {
            let Some(first) = seg.samples.first() else {
                return Err(Mp4Error::EmptySegment { index });
            };
            if index == 0 && !first.is_key {
                return Err(Mp4Error::FirstSampleNotKey);
            }
            if seg.params.extra_data.is_empty() {
                return Err(Mp4Error::MissingExtraData { index });
            }
            let entry = match entries.iter().position(|p| Arc::ptr_eq(p, &seg.params) || **p == *seg.params) {
                Some(i) => i,
                None => {
                    entries.push(seg.params.clone());
                    entries.len() - 1
                }
            };
            let entry = entry as u32 + 1;
            if index > 0 && segment_entry[index - 1] != entry && !first.is_key {
                return Err(Mp4Error::ParamsChangeWithoutKey { index });
            }
            segment_entry.push(entry);

            let mut len = 0u64;
            let mut dur = 0u64;
            let mut keys = 0u32;
            for s in &seg.samples {
                len += u64::from(s.size);
                dur += u64::from(s.duration_90k);
                keys += u32::from(s.is_key);
            }
            let n = u32::try_from(seg.samples.len()).map_err(|_| Mp4Error::Overflow("sample count"))?;
            sample_count = sample_count.checked_add(n).ok_or(Mp4Error::Overflow("sample count"))?;
            key_count += keys;
            seg.file_offset.checked_add(len).ok_or(Mp4Error::Overflow("segment end offset"))?;
            payload_len = payload_len.checked_add(len).ok_or(Mp4Error::Overflow("mdat size"))?;
            media_duration = media_duration.checked_add(dur).ok_or(Mp4Error::Overflow("duration"))?;
            if index == 0 {
                first_segment_duration = dur;
            }
            segment_lens.push(len);
        }
        if skip_90k > 0 && u64::from(skip_90k) >= first_segment_duration {
            return Err(Mp4Error::SkipOutOfRange { skip_90k, segment_90k: first_segment_duration });
        }
        // The mdat header plus the head must also fit; leave slack for it.
        if payload_len > u64::MAX / 2 {
            return Err(Mp4Error::Overflow("mdat size"));
        }
        let mdat_header_len = if payload_len + 8 > u64::from(u32::MAX) { 16 } else { 8 };
        let mp4_time = creation_time.checked_add(MP4_EPOCH_OFFSET).and_then(|t| u64::try_from(t).ok()).ok_or(Mp4Error::BadCreationTime(creation_time))?;
        let v1 = mp4_time > u64::from(u32::MAX) || media_duration > u64::from(u32::MAX) || skip_90k > i32::MAX as u32;

        let width = entries.iter().map(|p| p.width).max().unwrap_or(0);
        let height = entries.iter().map(|p| p.height).max().unwrap_or(0);
        // Display size from the first entry's pixel aspect ratio, if any.
        let (h_spacing, v_spacing) = match entries[0].pixel_aspect_ratio {
            Some((h, v)) if h > 0 && v > 0 => (u64::from(h), u64::from(v)),
            _ => (1, 1),
        };
        let fixed = |pixels: u64, num: u64, den: u64| -> u32 { u32::try_from((pixels << 16) * num / den).unwrap_or(u32::MAX) };
        Ok(Plan {
            segment_entry,
            last_segment_len: *segment_lens.last().expect("non-empty"),
            segment_lens,
            payload_len,
            mdat_header_len,
            sample_count,
            key_count,
            media_duration,
            skip_90k,
            mp4_time,
            v1,
            display_width: fixed(u64::from(width), h_spacing, v_spacing),
            display_height: fixed(u64::from(height), 1, 1),
            entries,
        })
    }
}

// ---- box writing -----------------------------------------------------------

#[inline]
pub(crate) fn put_u16(buf: &mut Vec<u8>, v: u16) {
    buf.extend_from_slice(&v.to_be_bytes());
}
#[inline]
pub(crate) fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_be_bytes());
}
#[inline]
pub(crate) fn put_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_be_bytes());
}

/// Writes a box: size placeholder, type, then `body`, then patches the size.
pub(crate) fn boxed(buf: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>) -> Result<(), Mp4Error>) -> Result<(), Mp4Error> {
    let pos = buf.len();
    put_u32(buf, 0);
    buf.extend_from_slice(kind);
    body(buf)?;
    let size = u32::try_from(buf.len() - pos).map_err(|_| Mp4Error::Overflow("box size"))?;
    buf[pos..pos + 4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

/// A "full box": a box whose body starts with version and flags.
pub(crate) fn full_box(
    buf: &mut Vec<u8>,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), Mp4Error>,
) -> Result<(), Mp4Error> {
    boxed(buf, kind, |buf| {
        put_u32(buf, (u32::from(version) << 24) | (flags & 0x00ff_ffff));
        body(buf)
    })
}

pub(crate) const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// Writes `ftyp` and `moov`. Returns the head and the position of the first
/// chunk offset (zeros, for the caller to fill in).
fn write_moov(segments: &[Segment], plan: &Plan, co64: bool) -> Result<(Vec<u8>, usize), Mp4Error> {
    let n = plan.sample_count as usize;
    // stsz: 4 bytes a sample; stts: at most 8 a sample but usually a few
    // entries; stss: 4 a key frame; stsc and chunk offsets: per segment.
    let estimate = 2048
        + plan.entries.iter().map(|p| p.extra_data.len() + 128).sum::<usize>()
        + n * 4
        + n.min(4096) * 8
        + plan.key_count as usize * 4
        + segments.len() * 20;
    let mut buf = Vec::with_capacity(estimate);
    let mut offsets_pos = 0;

    boxed(&mut buf, b"ftyp", |b| {
        b.extend_from_slice(b"isom");
        put_u32(b, 0x200);
        for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
            b.extend_from_slice(brand);
        }
        Ok(())
    })?;

    let v: u8 = if plan.v1 { 1 } else { 0 };
    let presented = plan.media_duration - u64::from(plan.skip_90k);
    let put_time = |b: &mut Vec<u8>, t: u64| {
        if plan.v1 {
            put_u64(b, t)
        } else {
            put_u32(b, t as u32)
        }
    };

    boxed(&mut buf, b"moov", |b| {
        full_box(b, b"mvhd", v, 0, |b| {
            put_time(b, plan.mp4_time); // creation_time
            put_time(b, plan.mp4_time); // modification_time
            put_u32(b, TIMESCALE);
            put_time(b, presented);
            put_u32(b, 0x0001_0000); // rate 1.0
            put_u16(b, 0x0100); // volume 1.0
            put_u16(b, 0); // reserved
            put_u64(b, 0); // reserved
            MATRIX.iter().for_each(|&m| put_u32(b, m));
            b.extend_from_slice(&[0; 24]); // pre_defined
            put_u32(b, 2); // next_track_ID
            Ok(())
        })?;
        boxed(b, b"trak", |b| {
            // flags: enabled, in movie, in preview.
            full_box(b, b"tkhd", v, 7, |b| {
                put_time(b, plan.mp4_time);
                put_time(b, plan.mp4_time);
                put_u32(b, 1); // track_ID
                put_u32(b, 0); // reserved
                put_time(b, presented);
                put_u64(b, 0); // reserved
                put_u16(b, 0); // layer
                put_u16(b, 0); // alternate_group
                put_u16(b, 0); // volume (video: 0)
                put_u16(b, 0); // reserved
                MATRIX.iter().for_each(|&m| put_u32(b, m));
                put_u32(b, plan.display_width);
                put_u32(b, plan.display_height);
                Ok(())
            })?;
            if plan.skip_90k > 0 {
                boxed(b, b"edts", |b| {
                    full_box(b, b"elst", v, 0, |b| {
                        put_u32(b, 1); // entry_count
                        put_time(b, presented); // segment_duration (movie timescale)
                        put_time(b, u64::from(plan.skip_90k)); // media_time
                        put_u16(b, 1); // media_rate_integer
                        put_u16(b, 0); // media_rate_fraction
                        Ok(())
                    })
                })?;
            }
            boxed(b, b"mdia", |b| {
                full_box(b, b"mdhd", v, 0, |b| {
                    put_time(b, plan.mp4_time);
                    put_time(b, plan.mp4_time);
                    put_u32(b, TIMESCALE);
                    put_time(b, plan.media_duration);
                    put_u16(b, 0x55c4); // language "und"
                    put_u16(b, 0); // pre_defined
                    Ok(())
                })?;
                full_box(b, b"hdlr", 0, 0, |b| {
                    put_u32(b, 0); // pre_defined
                    b.extend_from_slice(b"vide");
                    b.extend_from_slice(&[0; 12]); // reserved
                    b.extend_from_slice(b"VideoHandler\0");
                    Ok(())
                })?;
                boxed(b, b"minf", |b| {
                    full_box(b, b"vmhd", 0, 1, |b| {
                        put_u16(b, 0); // graphicsmode
                        b.extend_from_slice(&[0; 6]); // opcolor
                        Ok(())
                    })?;
                    boxed(b, b"dinf", |b| {
                        full_box(b, b"dref", 0, 0, |b| {
                            put_u32(b, 1); // entry_count
                            full_box(b, b"url ", 0, 1, |_| Ok(())) // self-contained
                        })
                    })?;
                    boxed(b, b"stbl", |b| write_stbl(b, segments, plan, co64, &mut offsets_pos))
                })
            })
        })
    })?;
    Ok((buf, offsets_pos))
}

pub(crate) fn write_sample_entry(b: &mut Vec<u8>, p: &VideoParams) -> Result<(), Mp4Error> {
    let (kind, config) = match p.codec {
        Codec::H264 => (b"avc1", b"avcC"),
        Codec::H265 => (b"hvc1", b"hvcC"),
    };
    boxed(b, kind, |b| {
        b.extend_from_slice(&[0; 6]); // reserved
        put_u16(b, 1); // data_reference_index
        b.extend_from_slice(&[0; 16]); // pre_defined, reserved, pre_defined[3]
        put_u16(b, p.width);
        put_u16(b, p.height);
        put_u32(b, 0x0048_0000); // horizresolution 72 dpi
        put_u32(b, 0x0048_0000); // vertresolution
        put_u32(b, 0); // reserved
        put_u16(b, 1); // frame_count
        b.extend_from_slice(&[0; 32]); // compressorname
        put_u16(b, 0x0018); // depth
        put_u16(b, 0xffff); // pre_defined = -1
        boxed(b, config, |b| {
            b.extend_from_slice(&p.extra_data);
            Ok(())
        })?;
        if let Some((h, v)) = p.pixel_aspect_ratio {
            boxed(b, b"pasp", |b| {
                put_u32(b, h);
                put_u32(b, v);
                Ok(())
            })?;
        }
        Ok(())
    })
}

fn write_stbl(b: &mut Vec<u8>, segments: &[Segment], plan: &Plan, co64: bool, offsets_pos: &mut usize) -> Result<(), Mp4Error> {
    full_box(b, b"stsd", 0, 0, |b| {
        put_u32(b, plan.entries.len() as u32);
        for p in &plan.entries {
            write_sample_entry(b, p)?;
        }
        Ok(())
    })?;

    // stts: run-length (count, delta).
    full_box(b, b"stts", 0, 0, |b| {
        let count_pos = b.len();
        put_u32(b, 0);
        let mut entries = 0u32;
        let mut run: Option<(u32, u32)> = None;
        for s in segments.iter().flat_map(|s| &s.samples) {
            match &mut run {
                Some((count, delta)) if *delta == s.duration_90k => *count += 1,
                _ => {
                    if let Some((count, delta)) = run {
                        put_u32(b, count);
                        put_u32(b, delta);
                        entries += 1;
                    }
                    run = Some((1, s.duration_90k));
                }
            }
        }
        if let Some((count, delta)) = run {
            put_u32(b, count);
            put_u32(b, delta);
            entries += 1;
        }
        b[count_pos..count_pos + 4].copy_from_slice(&entries.to_be_bytes());
        Ok(())
    })?;

    // stss: 1-based numbers of key frames; absent means all are key.
    if plan.key_count < plan.sample_count {
        full_box(b, b"stss", 0, 0, |b| {
            put_u32(b, plan.key_count);
            let mut number = 0u32;
            for s in segments.iter().flat_map(|s| &s.samples) {
                number += 1;
                if s.is_key {
                    put_u32(b, number);
                }
            }
            Ok(())
        })?;
    }

    // stsc: one chunk per segment, run-length over (samples, entry).
    full_box(b, b"stsc", 0, 0, |b| {
        let count_pos = b.len();
        put_u32(b, 0);
        let mut entries = 0u32;
        let mut prev: Option<(u32, u32)> = None;
        for (i, (seg, &entry)) in segments.iter().zip(&plan.segment_entry).enumerate() {
            let cur = (seg.samples.len() as u32, entry);
            if prev != Some(cur) {
                put_u32(b, i as u32 + 1); // first_chunk
                put_u32(b, cur.0); // samples_per_chunk
                put_u32(b, cur.1); // sample_description_index
                entries += 1;
                prev = Some(cur);
            }
        }
        b[count_pos..count_pos + 4].copy_from_slice(&entries.to_be_bytes());
        Ok(())
    })?;

    full_box(b, b"stsz", 0, 0, |b| {
        put_u32(b, 0); // sample_size: sizes vary
        put_u32(b, plan.sample_count);
        b.reserve(plan.sample_count as usize * 4);
        for s in segments.iter().flat_map(|s| &s.samples) {
            put_u32(b, s.size);
        }
        Ok(())
    })?;

    let (kind, width) = if co64 { (b"co64", 8) } else { (b"stco", 4) };
    full_box(b, kind, 0, 0, |b| {
        put_u32(b, segments.len() as u32);
        *offsets_pos = b.len();
        b.resize(b.len() + segments.len() * width, 0);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(codec: Codec, width: u16, height: u16) -> Arc<VideoParams> {
        Arc::new(VideoParams {
            codec,
            width,
            height,
            rfc6381_codec: match codec {
                Codec::H264 => "avc1.64001f".into(),
                Codec::H265 => "hvc1.1.6.L93.B0".into(),
            },
            extra_data: vec![1, 0x64, 0, 0x1f, 0xff, 0xe0, 0],
            pixel_aspect_ratio: None,
        })
    }

    fn seg(p: &Arc<VideoParams>, samples: Vec<Sample>, file: &str) -> Segment {
        Segment { params: p.clone(), samples, file: PathBuf::from(file), file_offset: 0 }
    }

    fn gop(n: usize, size: u32, dur: u32) -> Vec<Sample> {
        (0..n).map(|i| Sample { size, duration_90k: dur, is_key: i == 0 }).collect()
    }

    /// A parsed box: type, body range in the buffer, children (for containers).
    #[derive(Debug)]
    struct Bx {
        kind: [u8; 4],
        body: std::ops::Range<usize>,
        children: Vec<Bx>,
    }

    const CONTAINERS: [&[u8; 4]; 8] = [b"moov", b"trak", b"edts", b"mdia", b"minf", b"dinf", b"stbl", b"mvex"];

    /// Parses boxes in `buf[range]`, checking that sizes tile it exactly.
    /// `mdat` may extend past the buffer (its payload is not in the head).
    fn parse(buf: &[u8], range: std::ops::Range<usize>) -> Vec<Bx> {
        let mut out = Vec::new();
        let mut pos = range.start;
        while pos < range.end {
            let size32 = u32::from_be_bytes(buf[pos..pos + 4].try_into().unwrap()) as u64;
            let kind: [u8; 4] = buf[pos + 4..pos + 8].try_into().unwrap();
            let (size, hdr) = if size32 == 1 { (u64::from_be_bytes(buf[pos + 8..pos + 16].try_into().unwrap()), 16) } else { (size32, 8) };
            if &kind == b"mdat" {
                out.push(Bx { kind, body: pos + hdr..pos + hdr, children: vec![] });
                assert_eq!(pos + hdr, range.end, "mdat header ends the head");
                // Record the declared size in the body range end via a check below.
                out.last_mut().unwrap().body.end = (pos as u64 + size) as usize;
                return out;
            }
            let end = pos + size as usize;
            assert!(end <= range.end, "box {:?} overruns", String::from_utf8_lossy(&kind));
            let children = if CONTAINERS.contains(&&kind) {
                parse(buf, pos + hdr..end)
            } else if &kind == b"stsd" || &kind == b"dref" {
                // Full box header and entry count, then child boxes.
                parse(buf, pos + hdr + 8..end)
            } else {
                vec![]
            };
            out.push(Bx { kind, body: pos + hdr..end, children });
            pos = end;
        }
        assert_eq!(pos, range.end);
        out
    }

    fn find<'a>(boxes: &'a [Bx], path: &[&[u8; 4]]) -> Option<&'a Bx> {
        let b = boxes.iter().find(|b| &b.kind == path[0])?;
        if path.len() == 1 {
            Some(b)
        } else {
            find(&b.children, &path[1..])
        }
    }

    fn u32_at(buf: &[u8], pos: usize) -> u32 {
        u32::from_be_bytes(buf[pos..pos + 4].try_into().unwrap())
    }

    const STBL: [&[u8; 4]; 5] = [b"moov", b"trak", b"mdia", b"minf", b"stbl"];

    fn stbl_box<'a>(boxes: &'a [Bx], kind: &[u8; 4]) -> Option<&'a Bx> {
        let mut path = STBL.to_vec();
        path.push(kind);
        find(boxes, &path)
    }

    #[test]
    fn box_tree_and_tables() {
        let p = params(Codec::H264, 320, 240);
        let mut a = gop(25, 1000, 3600);
        a.extend(gop(25, 500, 3600));
        a[49].duration_90k = 3000; // breaks the stts run
        let b = gop(10, 700, 3600);
        let mp4 = VirtualMp4::build(vec![seg(&p, a, "/a"), seg(&p, b, "/b")], 0, 1_700_000_000).unwrap();
        let head = mp4.head();
        let boxes = parse(head, 0..head.len());
        let kinds: Vec<_> = boxes.iter().map(|b| b.kind).collect();
        assert_eq!(kinds, [*b"ftyp", *b"moov", *b"mdat"]);
        let mdat = &boxes[2];
        assert_eq!(mdat.body.end as u64, mp4.len());
        assert_eq!(mp4.len(), head.len() as u64 + 25 * 1000 + 25 * 500 + 10 * 700);
        assert!(find(&boxes, &[b"moov", b"trak", b"edts"]).is_none(), "no edit list without skip");

        let stts = stbl_box(&boxes, b"stts").unwrap();
        let s = stts.body.start + 4;
        assert_eq!(u32_at(head, s), 3);
        assert_eq!((u32_at(head, s + 4), u32_at(head, s + 8)), (49, 3600));
        assert_eq!((u32_at(head, s + 12), u32_at(head, s + 16)), (1, 3000));
        assert_eq!((u32_at(head, s + 20), u32_at(head, s + 24)), (10, 3600));

        let stss = stbl_box(&boxes, b"stss").unwrap();
        let s = stss.body.start + 4;
        assert_eq!(u32_at(head, s), 3);
        assert_eq!([u32_at(head, s + 4), u32_at(head, s + 8), u32_at(head, s + 12)], [1, 26, 51]);

        let stsc = stbl_box(&boxes, b"stsc").unwrap();
        let s = stsc.body.start + 4;
        assert_eq!(u32_at(head, s), 2);
        assert_eq!([u32_at(head, s + 4), u32_at(head, s + 8), u32_at(head, s + 12)], [1, 50, 1]);
        assert_eq!([u32_at(head, s + 16), u32_at(head, s + 20), u32_at(head, s + 24)], [2, 10, 1]);

        let stsz = stbl_box(&boxes, b"stsz").unwrap();
        assert_eq!(u32_at(head, stsz.body.start + 8), 60);
        assert_eq!(stsz.body.len(), 12 + 60 * 4);

        let stco = stbl_box(&boxes, b"stco").unwrap();
        let s = stco.body.start + 4;
        assert_eq!(u32_at(head, s), 2);
        assert_eq!(u32_at(head, s + 4) as usize, head.len());
        assert_eq!(u32_at(head, s + 8) as usize, head.len() + 37_500);
        assert!(stbl_box(&boxes, b"co64").is_none());

        let stsd = stbl_box(&boxes, b"stsd").unwrap();
        assert_eq!(stsd.children.len(), 1);
        assert_eq!(&stsd.children[0].kind, b"avc1");
        assert_eq!(mp4.mime_type(), "video/mp4; codecs=\"avc1.64001f\"");
        assert_eq!(mp4.duration_90k(), 59 * 3600 + 3000);
    }

    #[test]
    fn all_key_omits_stss_and_skip_adds_elst() {
        let p = params(Codec::H265, 640, 480);
        let samples: Vec<Sample> = (0..10).map(|_| Sample { size: 10, duration_90k: 9000, is_key: true }).collect();
        let mp4 = VirtualMp4::build(vec![seg(&p, samples, "/x")], 4500, 0).unwrap();
        let head = mp4.head();
        let boxes = parse(head, 0..head.len());
        assert!(stbl_box(&boxes, b"stss").is_none());
        let elst = find(&boxes, &[b"moov", b"trak", b"edts", b"elst"]).unwrap();
        let s = elst.body.start + 4;
        assert_eq!(u32_at(head, s), 1);
        assert_eq!(u32_at(head, s + 4), 90_000 - 4500);
        assert_eq!(u32_at(head, s + 8), 4500);
        assert_eq!(mp4.duration_90k(), 90_000 - 4500);
        let stsd = stbl_box(&boxes, b"stsd").unwrap();
        assert_eq!(&stsd.children[0].kind, b"hvc1");
    }

    #[test]
    fn distinct_params_get_distinct_entries() {
        let p1 = params(Codec::H264, 320, 240);
        let p1_copy = Arc::new((*p1).clone());
        let mut p2 = (*params(Codec::H264, 640, 480)).clone();
        p2.rfc6381_codec = "avc1.4d401e".into();
        p2.pixel_aspect_ratio = Some((4, 3));
        let p2 = Arc::new(p2);
        let segs =
            vec![seg(&p1, gop(5, 10, 3000), "/a"), seg(&p1_copy, gop(5, 10, 3000), "/a"), seg(&p2, gop(5, 10, 3000), "/b"), seg(&p1, gop(5, 10, 3000), "/a")];
        let mp4 = VirtualMp4::build(segs, 0, 0).unwrap();
        let head = mp4.head();
        let boxes = parse(head, 0..head.len());
        let stsd = stbl_box(&boxes, b"stsd").unwrap();
        assert_eq!(stsd.children.len(), 2);
        let pasp: Vec<_> = parse(head, stsd.children[1].body.start + 78..stsd.children[1].body.end);
        assert_eq!(pasp.iter().map(|b| b.kind).collect::<Vec<_>>(), [*b"avcC", *b"pasp"]);
        let stsc = stbl_box(&boxes, b"stsc").unwrap();
        let s = stsc.body.start + 4;
        assert_eq!(u32_at(head, s), 3);
        let rows: Vec<[u32; 3]> = (0..3)
            .map(|i| {
                let r = s + 4 + i * 12;
                [u32_at(head, r), u32_at(head, r + 4), u32_at(head, r + 8)]
            })
            .collect();
        assert_eq!(rows, [[1, 5, 1], [3, 5, 2], [4, 5, 1]]);
        assert_eq!(mp4.mime_type(), "video/mp4; codecs=\"avc1.64001f, avc1.4d401e\"");
    }

    #[test]
    fn over_4_gib_uses_co64_and_largesize() {
        // Building touches no file, so huge sample sizes cost nothing.
        let p = params(Codec::H264, 1920, 1080);
        let big = |key| Sample { size: 0x8000_0000, duration_90k: 3000, is_key: key };
        let segs = vec![seg(&p, vec![big(true), big(false)], "/a"), seg(&p, vec![big(true)], "/b")];
        let mp4 = VirtualMp4::build(segs, 0, 0).unwrap();
        let head = mp4.head();
        let boxes = parse(head, 0..head.len());
        assert!(stbl_box(&boxes, b"stco").is_none());
        let co64 = stbl_box(&boxes, b"co64").unwrap();
        let s = co64.body.start + 4;
        let off = |i: usize| u64::from_be_bytes(head[s + 4 + 8 * i..s + 12 + 8 * i].try_into().unwrap());
        assert_eq!(off(0), head.len() as u64);
        assert_eq!(off(1), head.len() as u64 + 0x1_0000_0000);
        assert_eq!(u32_at(head, head.len() - 16), 1, "largesize mdat header");
        assert_eq!(mp4.len(), head.len() as u64 + 3 * 0x8000_0000);
        assert_eq!(boxes[2].body.end as u64, mp4.len());
    }

    #[test]
    fn stco_to_co64_boundary() {
        // Payload just under 4 GiB: the last chunk starts below 4 GiB, so stco.
        let p = params(Codec::H264, 1920, 1080);
        let s = |size, key| Sample { size, duration_90k: 3000, is_key: key };
        let segs = vec![seg(&p, vec![s(u32::MAX - 100_000, true)], "/a"), seg(&p, vec![s(200_000, true)], "/b")];
        let mp4 = VirtualMp4::build(segs, 0, 0).unwrap();
        let boxes = parse(mp4.head(), 0..mp4.head().len());
        assert!(stbl_box(&boxes, b"stco").is_some());
        // mdat payload + 8 exceeds u32: 64-bit mdat header even with stco.
        assert_eq!(u32_at(mp4.head(), mp4.head().len() - 16), 1);
    }

    #[test]
    fn bad_input() {
        let p = params(Codec::H264, 320, 240);
        assert_eq!(VirtualMp4::build(vec![], 0, 0).unwrap_err(), Mp4Error::NoSegments);
        assert_eq!(VirtualMp4::build(vec![seg(&p, gop(3, 1, 1), "/a"), seg(&p, vec![], "/a")], 0, 0).unwrap_err(), Mp4Error::EmptySegment { index: 1 });
        let mut not_key = gop(3, 1, 1);
        not_key[0].is_key = false;
        assert_eq!(VirtualMp4::build(vec![seg(&p, not_key.clone(), "/a")], 0, 0).unwrap_err(), Mp4Error::FirstSampleNotKey);
        let p2 = params(Codec::H264, 640, 480);
        assert_eq!(
            VirtualMp4::build(vec![seg(&p, gop(3, 1, 1), "/a"), seg(&p2, not_key.clone(), "/b")], 0, 0).unwrap_err(),
            Mp4Error::ParamsChangeWithoutKey { index: 1 }
        );
        // Same params: a segment may continue mid-GOP.
        VirtualMp4::build(vec![seg(&p, gop(3, 1, 1), "/a"), seg(&p, not_key, "/b")], 0, 0).unwrap();
        assert_eq!(VirtualMp4::build(vec![seg(&p, gop(3, 1, 100), "/a")], 300, 0).unwrap_err(), Mp4Error::SkipOutOfRange { skip_90k: 300, segment_90k: 300 });
        assert!(matches!(VirtualMp4::build(vec![seg(&p, gop(3, 1, 1), "/a")], 0, -3_000_000_000).unwrap_err(), Mp4Error::BadCreationTime(_)));
        let mut no_extra = (*p).clone();
        no_extra.extra_data.clear();
        assert_eq!(VirtualMp4::build(vec![seg(&Arc::new(no_extra), gop(3, 1, 1), "/a")], 0, 0).unwrap_err(), Mp4Error::MissingExtraData { index: 0 });
        let huge = Segment { file_offset: u64::MAX - 1, ..seg(&p, gop(3, 1, 1), "/a") };
        assert_eq!(VirtualMp4::build(vec![huge], 0, 0).unwrap_err(), Mp4Error::Overflow("segment end offset"));
    }

    #[test]
    fn long_durations_use_version_1() {
        let p = params(Codec::H264, 320, 240);
        // 14 hours of one-second frames: more than u32::MAX ticks.
        let samples: Vec<Sample> = (0..14 * 3600).map(|i| Sample { size: 1, duration_90k: 90_000, is_key: i % 60 == 0 }).collect();
        let mp4 = VirtualMp4::build(vec![seg(&p, samples, "/a")], 0, 1_700_000_000).unwrap();
        let head = mp4.head();
        let boxes = parse(head, 0..head.len());
        let mvhd = find(&boxes, &[b"moov", b"mvhd"]).unwrap();
        assert_eq!(head[mvhd.body.start], 1);
        let dur = u64::from_be_bytes(head[mvhd.body.start + 24..mvhd.body.start + 32].try_into().unwrap());
        assert_eq!(dur, 14 * 3600 * 90_000);
    }

    #[test]
    fn reads_touch_only_needed_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, [7u8; 30]).unwrap();
        let p = params(Codec::H264, 320, 240);
        let segs = vec![
            Segment { file: a.clone(), ..seg(&p, gop(3, 10, 3000), "") },
            // Does not exist: reads that stay out of it must still work.
            Segment { file: dir.path().join("missing"), ..seg(&p, gop(3, 10, 3000), "") },
        ];
        let mp4 = VirtualMp4::build(segs, 0, 0).unwrap();
        let h = mp4.head().len() as u64;
        assert_eq!(mp4.read_range(0, h).unwrap(), mp4.head());
        assert_eq!(mp4.read_range(h - 4, h + 30).unwrap()[4..], [7u8; 30]);
        let err = mp4.read_range(h + 29, h + 31).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert!(mp4.read_range(0, mp4.len() + 1).is_err());
        assert!(mp4.read_range(5, 4).is_err());
        assert!(mp4.read_range(h + 3, h + 3).unwrap().is_empty());
    }
}
