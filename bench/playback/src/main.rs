//! Playback benchmark: time to first byte of a `view.mp4` at a random point
//! of a large recording index, and export throughput of a one-hour MP4 from
//! the page cache, each beside a reference measured in the same run (the
//! bare index query; a plain read of the same sample files).
//!
//!   citywatch-bench-playback [--cameras 100] [--days 30] [--fps 15] [--mbps 2]
//!                            [--queries 500] [--export-minutes 60] [--dir PATH]

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use citywatch_store::{RecordingRow, Store, StoredParams};
use citywatch_video::mp4::{Sample, Segment, VirtualMp4};
use citywatch_video::playback::build_mp4;
use citywatch_video::recorder::Stream;
use citywatch_video::sample_dir::SampleDir;
use rand::{Rng, SeedableRng};

struct Args {
    cameras: usize,
    days: usize,
    fps: u32,
    mbps: f64,
    queries: usize,
    export_minutes: usize,
    dir: Option<String>,
}

fn args() -> Args {
    let mut a = Args { cameras: 100, days: 30, fps: 15, mbps: 2.0, queries: 500, export_minutes: 60, dir: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--cameras" => a.cameras = val().parse().unwrap(),
            "--days" => a.days = val().parse().unwrap(),
            "--fps" => a.fps = val().parse().unwrap(),
            "--mbps" => a.mbps = val().parse().unwrap(),
            "--queries" => a.queries = val().parse().unwrap(),
            "--export-minutes" => a.export_minutes = val().parse().unwrap(),
            "--dir" => a.dir = Some(val()),
            "--help" | "-h" => {
                println!("citywatch-bench-playback [--cameras N] [--days D] [--fps F] [--mbps M] [--queries Q] [--export-minutes X] [--dir PATH]");
                std::process::exit(0);
            }
            other => panic!("unknown flag {other}; see --help"),
        }
    }
    a
}

/// One minute of sample bytes and its frames (size, key frame).
type MinuteOfFrames = (Vec<u8>, Vec<(u32, bool)>);

/// Frame sizes for one minute: a key frame every second, five times the
/// size of the others, averaging `mbps`.
fn minute_of_frames(a: &Args, rng: &mut impl Rng) -> MinuteOfFrames {
    let frames = a.fps as usize * 60;
    let mean = a.mbps * 1e6 / 8.0 / f64::from(a.fps);
    let p_frame = mean * f64::from(a.fps) / (f64::from(a.fps) + 4.0);
    let mut index = Vec::new();
    let mut sizes = Vec::with_capacity(frames);
    for i in 0..frames {
        let key = i % a.fps as usize == 0;
        let size = ((if key { 5.0 } else { 1.0 }) * p_frame * rng.gen_range(0.8..1.2)) as u32;
        citywatch_video::frame_index::append(&mut index, citywatch_video::frame_index::IndexedFrame { size, duration_90k: 90_000 / a.fps, is_key: key });
        sizes.push((size, key));
    }
    (index, sizes)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let a = args();
    let tmp;
    let root = match &a.dir {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir().unwrap();
            tmp.path().to_owned()
        }
    };
    let store = Arc::new(Store::open(&root.join("citywatch.db")).unwrap());
    let samples = Arc::new(SampleDir::open(&root.join("video")).unwrap());
    let recordings = citywatch_video::recording_source::LocalRecordings::new(store.clone(), samples.clone());
    let params_id = store
        .video_params_id(&StoredParams {
            codec: citywatch_model::Codec::H264,
            width: 1920,
            height: 1080,
            rfc6381_codec: "avc1.640028".into(),
            extra_data: vec![1, 0x64, 0, 0x28, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x28, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80],
            pixel_aspect_ratio: None,
        })
        .unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let variants: Vec<MinuteOfFrames> = (0..8).map(|_| minute_of_frames(&a, &mut rng)).collect();
    let minute_90k = 60 * 90_000i64;
    let end_90k = 1_795_000_000i64 * 90_000; // a fixed "now" (2026-11-18) for repeatability
    let start_90k = end_90k - a.days as i64 * 1440 * minute_90k;
    let total_rows = a.cameras * a.days * 1440;
    eprintln!("writing an index of {} cameras x {} days = {} one-minute recordings ...", a.cameras, a.days, total_rows);
    let t = Instant::now();
    let mut batch = Vec::with_capacity(20_000);
    for cam in 0..a.cameras {
        for m in 0..a.days * 1440 {
            let (index, sizes) = &variants[(cam + m) % variants.len()];
            let bytes: i64 = sizes.iter().map(|s| i64::from(s.0)).sum();
            batch.push(RecordingRow {
                id: 0,
                camera_id: format!("cam-{cam:04}"),
                stream: citywatch_model::StreamKind::Main,
                run_id: start_90k,
                start_90k: start_90k + m as i64 * minute_90k,
                duration_90k: minute_90k,
                frames: sizes.len() as i64,
                bytes,
                params_id,
                file: format!("cam-{cam:04}/main/{m}.h264"),
                frame_index: index.clone(),
            });
            if batch.len() == batch.capacity() {
                store.insert_recordings(&batch).unwrap();
                batch.clear();
            }
        }
    }
    store.insert_recordings(&batch).unwrap();
    let db_bytes = std::fs::metadata(root.join("citywatch.db")).map(|m| m.len()).unwrap_or(0);
    eprintln!("done in {:.1} s", t.elapsed().as_secs_f64());

    // Time to first byte: the MP4's head (ftyp + moov + mdat header) is the
    // first thing a client receives; the rest streams from the files.
    let mut ttfb = Vec::new();
    let mut query_only = Vec::new();
    for _ in 0..a.queries {
        let cam = format!("cam-{:04}", rng.gen_range(0..a.cameras));
        let t0 = start_90k + rng.gen_range(0..(end_90k - start_90k - minute_90k));
        // Playback checks that each sample file is there and long enough;
        // give the recordings in range sparse files of their length (untimed).
        for r in store.recordings_between(&cam, citywatch_model::StreamKind::Main, t0, t0 + minute_90k).unwrap() {
            let path = samples.path(&r.file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::File::create(&path).unwrap().set_len(r.bytes as u64).unwrap();
        }
        let t = Instant::now();
        let mp4 = build_mp4(&recordings, &cam, Stream::Main, t0, t0 + minute_90k).unwrap();
        std::hint::black_box(mp4.head().len());
        ttfb.push(t.elapsed().as_secs_f64() * 1e3);
        // The same query again, alone (its pages now cached, as they were
        // for the second half of the measurement above).
        let t = Instant::now();
        let rows = store.recordings_between(&cam, citywatch_model::StreamKind::Main, t0, t0 + minute_90k).unwrap();
        query_only.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(!rows.is_empty());
    }

    // Export: real sample files for one camera, warmed into the page cache.
    let cam = "cam-0000";
    let export_start = end_90k - a.export_minutes as i64 * minute_90k;
    let rows = store.recordings_between(cam, citywatch_model::StreamKind::Main, export_start, end_90k).unwrap();
    let mut payload = 0u64;
    for r in &rows {
        let path = samples.path(&r.file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let data: Vec<u8> = (0..r.bytes).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        payload += data.len() as u64;
    }
    let files: Vec<_> = rows.iter().map(|r| samples.path(&r.file)).collect();
    struct Sink(u64);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len() as u64;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let read_files = || {
        let mut n = 0u64;
        for f in &files {
            n += std::io::copy(&mut std::fs::File::open(f).unwrap(), &mut Sink(0)).unwrap();
        }
        n
    };
    read_files(); // warm the page cache
    let mut export_gbps = Vec::new();
    let mut raw_gbps = Vec::new();
    let mut mp4_len = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let mp4 = build_mp4(&recordings, cam, Stream::Main, export_start, end_90k).unwrap();
        let mut sink = Sink(0);
        mp4.write_all(&mut sink).unwrap();
        mp4_len = sink.0;
        export_gbps.push(sink.0 as f64 / t.elapsed().as_secs_f64() / 1e9);
        let t = Instant::now();
        let n = read_files();
        raw_gbps.push(n as f64 / t.elapsed().as_secs_f64() / 1e9);
    }

    // The MP4 head for one hour at 30 fps with jittery durations (the
    // worst case for `stts`): what a one-hour export costs before its first byte.
    let params = Arc::new(citywatch_video::VideoParams {
        codec: citywatch_video::Codec::H264,
        width: 1920,
        height: 1080,
        rfc6381_codec: "avc1.640028".into(),
        extra_data: vec![1, 0x64, 0, 0x28],
        pixel_aspect_ratio: None,
    });
    let hour = || -> Vec<Segment> {
        (0..60u32)
            .map(|m| Segment {
                params: params.clone(),
                samples: (0..1800u32)
                    .map(|i| Sample { size: 20_000 + (i * 7919 + m) % 30_000, duration_90k: 3000 + (i % 3) - 1, is_key: i % 60 == 0 })
                    .collect(),
                file: std::path::PathBuf::from(format!("/recordings/{m}")),
                file_offset: 0,
            })
            .collect()
    };
    let mut head_ms = Vec::new();
    for _ in 0..20 {
        let segments = hour();
        let t = Instant::now();
        let mp4 = VirtualMp4::build(segments, 0, 1_700_000_000).unwrap();
        head_ms.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(mp4.head().len());
    }

    let (q50, q99) = (percentile(&mut query_only, 0.5), percentile(&mut query_only, 0.99));
    let (t50, t99) = (percentile(&mut ttfb, 0.5), percentile(&mut ttfb, 0.99));
    let export = percentile(&mut export_gbps, 0.5);
    let raw = percentile(&mut raw_gbps, 0.5);
    println!("Citywatch playback benchmark");
    println!(
        "  index: {} cameras x {} days of one-minute recordings at {} fps, {} Mbps = {} rows, database {:.2} GB",
        a.cameras,
        a.days,
        a.fps,
        a.mbps,
        total_rows,
        db_bytes as f64 / 1e9
    );
    println!("  time to first byte of view.mp4 (one minute at a random point), {} queries:", a.queries);
    println!("    index query alone (reference)  p50 {q50:8.3} ms  p99 {q99:8.3} ms");
    println!("    query + MP4 head (first byte)  p50 {t50:8.3} ms  p99 {t99:8.3} ms   goal p50 < 50 ms: {}", if t50 < 50.0 { "PASS" } else { "FAIL" });
    println!("  MP4 head for one hour at 30 fps (108,000 samples), median of 20: {:.3} ms", percentile(&mut head_ms, 0.5));
    println!(
        "  export of {} minutes ({:.2} GB MP4, {:.2} GB of samples) from the page cache, median of 5:",
        a.export_minutes,
        mp4_len as f64 / 1e9,
        payload as f64 / 1e9
    );
    println!("    plain read of the same files (reference)  {raw:6.2} GB/s");
    println!(
        "    view.mp4 export                            {export:6.2} GB/s  ({:.0}% of the plain read)   goal >= 1 GB/s: {}",
        export / raw * 100.0,
        if export >= 1.0 { "PASS" } else { "FAIL" }
    );
}
