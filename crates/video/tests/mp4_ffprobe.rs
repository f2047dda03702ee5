//! MP4s built from real H.264/H.265 sample files, checked by ffprobe and
//! ffmpeg (installed at test time; see scripts/setup and CI).

mod support;

use std::path::Path;

use citywatch_video::mp4::{Mp4Error, Segment, VirtualMp4};
use citywatch_video::Codec;
use serde_json::Value;
use support::*;

const FPS: u32 = 25;
const FRAME_90K: u32 = 90_000 / FPS;

fn write_mp4(mp4: &VirtualMp4, path: &Path) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    mp4.write_all(&mut f).unwrap();
    std::io::Write::flush(&mut f).unwrap();
    assert_eq!(std::fs::metadata(path).unwrap().len(), mp4.len());
}

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not a number: {s}")),
        Value::Number(n) => n.as_f64().unwrap(),
        _ => panic!("not a number: {v}"),
    }
}

/// What ffprobe says about the one video stream and the container.
struct Probe {
    codec: String,
    width: u64,
    height: u64,
    nb_frames: u64,
    nb_read_frames: u64,
    stream_duration: f64,
    format_duration: f64,
    /// (pts_time, flags) of every packet, in file order.
    packets: Vec<(f64, String)>,
}

fn probe(path: &Path) -> Probe {
    let v = ffprobe_json(
        &["-count_frames", "-show_entries", "stream=codec_name,width,height,nb_frames,nb_read_frames,duration", "-show_entries", "format=duration"],
        path,
    );
    eprintln!("ffprobe {}: {v}", path.display());
    let streams = v["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1, "one stream: {v}");
    let s = &streams[0];
    let p = ffprobe_json(&["-select_streams", "v", "-show_entries", "packet=pts_time,flags"], path);
    let packets = p["packets"].as_array().unwrap().iter().map(|k| (num(&k["pts_time"]), k["flags"].as_str().unwrap().to_string())).collect();
    Probe {
        codec: s["codec_name"].as_str().unwrap().to_string(),
        width: s["width"].as_u64().unwrap(),
        height: s["height"].as_u64().unwrap(),
        nb_frames: num(&s["nb_frames"]) as u64,
        nb_read_frames: num(&s["nb_read_frames"]) as u64,
        stream_duration: num(&s["duration"]),
        format_duration: num(&v["format"]["duration"]),
        packets,
    }
}

fn assert_close(what: &str, got: f64, want: f64) {
    let tolerance = f64::from(FRAME_90K) / 90_000.0;
    assert!((got - want).abs() <= tolerance + 1e-9, "{what}: got {got}, want {want} ± {tolerance}");
}

/// Packets are in increasing presentation order (no B-frames) and the
/// ones that are shown start at 0 (or, after a skip that is not on a frame
/// boundary, within one frame of it).
fn assert_monotonic(p: &Probe) {
    for w in p.packets.windows(2) {
        assert!(w[0].0 < w[1].0, "pts not increasing: {:?}", w);
    }
    assert!(p.packets[0].1.contains('K'), "first packet is a key frame: {:?}", p.packets[0]);
    let first_shown = p.packets.iter().find(|(_, f)| !f.contains('D')).unwrap();
    assert!(first_shown.0 > -1e-6 && first_shown.0 < f64::from(FRAME_90K) / 90_000.0, "first shown frame within a frame of 0: {first_shown:?}");
}

/// Two segments in two files (the second after some filler bytes, so its
/// file offset is not 0), split at a key frame.
fn two_segments(dir: &Path, codec: Codec) -> (Stream, Vec<Segment>) {
    let s = encode(dir, codec, 4, FPS, FPS);
    assert_eq!(s.frames.len(), 100);
    assert_eq!(s.keys.iter().enumerate().filter(|(_, &k)| k).map(|(i, _)| i).collect::<Vec<_>>(), [0, 25, 50, 75], "key frames where asked for");
    let a = write_segment(&s, 0..50, &dir.join("a.sample"), 0, FRAME_90K);
    let b = write_segment(&s, 50..100, &dir.join("b.sample"), 37, FRAME_90K);
    (s, vec![a, b])
}

fn check_full_file(codec: Codec, codec_name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (s, segs) = two_segments(dir.path(), codec);
    let mp4 = VirtualMp4::build(segs, 0, 1_700_000_000).unwrap();
    assert_eq!(mp4.duration_90k(), 100 * u64::from(FRAME_90K));
    let out = dir.path().join("out.mp4");
    write_mp4(&mp4, &out);

    let p = probe(&out);
    assert_eq!(p.codec, codec_name);
    assert_eq!((p.width, p.height), (320, 240));
    assert_eq!(p.nb_frames, 100);
    assert_eq!(p.nb_read_frames, 100);
    assert_close("stream duration", p.stream_duration, 4.0);
    assert_close("format duration", p.format_duration, 4.0);
    assert_eq!(p.packets.len(), 100);
    assert_monotonic(&p);
    let keys: Vec<usize> = p.packets.iter().enumerate().filter(|(_, (_, f))| f.contains('K')).map(|(i, _)| i).collect();
    assert_eq!(keys, [0, 25, 50, 75]);
    for (i, (pts, _)) in p.packets.iter().enumerate() {
        assert_close("pts", *pts, i as f64 * 0.04);
    }

    let errors = decode_errors(&out);
    assert!(errors.is_empty(), "ffmpeg decode errors: {errors}");
    // The very same pictures as decoding the camera's elementary stream.
    assert_eq!(frame_md5s(&out), frame_md5s(&s.annexb));
}

#[test]
fn h264_two_files_play_in_ffprobe() {
    check_full_file(Codec::H264, "h264");
}

#[test]
fn h265_two_files_play_in_ffprobe() {
    check_full_file(Codec::H265, "hevc");
}

#[test]
fn skip_hides_the_lead_in() {
    let dir = tempfile::tempdir().unwrap();
    let (s, segs) = two_segments(dir.path(), Codec::H264);
    let all = frame_md5s(&s.annexb);
    // Skip 1 s of the 4 s (into the middle of the first GOP's successor),
    // then 1.5 frames past a key frame: the edit list hides what precedes.
    for (skip, shown) in [(90_000u32, 75usize), (90_000 + FRAME_90K * 3 / 2, 73)] {
        let mp4 = VirtualMp4::build(segs.clone(), skip, 1_700_000_000).unwrap();
        let want = f64::from(100 * FRAME_90K - skip) / 90_000.0;
        assert_eq!(mp4.duration_90k(), u64::from(100 * FRAME_90K - skip));
        let out = dir.path().join(format!("skip{skip}.mp4"));
        write_mp4(&mp4, &out);
        let p = probe(&out);
        assert_close("stream duration", p.stream_duration, want);
        assert_close("format duration", p.format_duration, want);
        assert_eq!(p.nb_frames, 100, "all samples are in the file");
        assert_eq!(p.nb_read_frames as usize, shown, "frames shown after the skip");
        assert_monotonic(&p);
        let decoded = frame_md5s(&out);
        assert_eq!(decoded, all[100 - shown..], "the frames after the skip");
        assert!(decode_errors(&out).is_empty());
    }

    // A skip must stay inside the first segment.
    assert_eq!(
        VirtualMp4::build(segs.clone(), 50 * FRAME_90K, 0).unwrap_err(),
        Mp4Error::SkipOutOfRange { skip_90k: 50 * FRAME_90K, segment_90k: 50 * u64::from(FRAME_90K) }
    );
}

#[test]
fn one_file_skip_one_second_of_four() {
    let dir = tempfile::tempdir().unwrap();
    let s = encode(dir.path(), Codec::H264, 4, FPS, FPS);
    let seg = write_segment(&s, 0..100, &dir.path().join("all.sample"), 0, FRAME_90K);
    let mp4 = VirtualMp4::build(vec![seg], 90_000, 0).unwrap();
    let out = dir.path().join("out.mp4");
    write_mp4(&mp4, &out);
    let p = probe(&out);
    assert_close("duration", p.format_duration, 3.0);
    assert_close("duration", p.stream_duration, 3.0);
}

/// A small deterministic generator (no dependency for the sake of a test).
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn range_reads_equal_write_all() {
    let dir = tempfile::tempdir().unwrap();
    let (_, segs) = two_segments(dir.path(), Codec::H264);
    let mp4 = VirtualMp4::build(segs, 0, 1_700_000_000).unwrap();
    let mut whole = Vec::new();
    mp4.write_all(&mut whole).unwrap();
    assert_eq!(whole.len() as u64, mp4.len());
    assert_eq!(mp4.read_range(0, mp4.len()).unwrap(), whole);

    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..50 {
        // Random cut points, plus the interesting ones on some rounds.
        let mut cuts: Vec<u64> = (0..1 + rng.next() % 20).map(|_| rng.next() % mp4.len()).collect();
        if round % 5 == 0 {
            let h = mp4.head().len() as u64;
            cuts.extend([h - 1, h, h + 1]);
        }
        cuts.extend([0, mp4.len()]);
        cuts.sort_unstable();
        let mut joined = Vec::with_capacity(whole.len());
        for w in cuts.windows(2) {
            let piece = mp4.read_range(w[0], w[1]).unwrap();
            assert_eq!(piece.len() as u64, w[1] - w[0]);
            joined.extend_from_slice(&piece);
        }
        assert!(joined == whole, "round {round}: cuts {cuts:?}");
    }
    // Single random ranges against the whole.
    for _ in 0..200 {
        let a = rng.next() % mp4.len();
        let b = a + rng.next() % (mp4.len() - a + 1);
        assert_eq!(mp4.read_range(a, b).unwrap(), &whole[a as usize..b as usize]);
    }
}

#[test]
fn truncated_sample_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_, segs) = two_segments(dir.path(), Codec::H264);
    let b = segs[1].file.clone();
    let b_len = std::fs::metadata(&b).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&b).unwrap().set_len(b_len - 10).unwrap();
    let mp4 = VirtualMp4::build(segs, 0, 0).unwrap();

    let mut sink = Vec::new();
    let err = mp4.write_all(&mut sink).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    assert!(err.to_string().contains("b.sample"), "{err}");

    let err = mp4.read_range(mp4.len() - 20, mp4.len()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    assert!(err.to_string().contains("b.sample"), "{err}");
    // Ranges that stop short of the missing bytes still work.
    mp4.read_range(0, mp4.len() - 10).unwrap();

    std::fs::remove_file(&b).unwrap();
    let err = mp4.read_range(mp4.len() - 20, mp4.len()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("b.sample"), "{err}");
}

#[test]
fn first_sample_must_be_key() {
    let dir = tempfile::tempdir().unwrap();
    let s = encode(dir.path(), Codec::H264, 2, FPS, FPS);
    let seg = write_segment(&s, 10..50, &dir.path().join("mid.sample"), 0, FRAME_90K);
    assert_eq!(VirtualMp4::build(vec![seg], 0, 0).unwrap_err(), Mp4Error::FirstSampleNotKey);
    assert_eq!(VirtualMp4::build(vec![], 0, 0).unwrap_err(), Mp4Error::NoSegments);
}
