//! The recorder's write order and its repair after a crash, with synthetic
//! frames (the bytes need not be decodable here; the MP4 tests use real
//! H.264).

use std::sync::Arc;

use bytes::Bytes;
use citywatch_store::Store;
use citywatch_video::frame_index;
use citywatch_video::recorder::{Recorder, Stream, MAX_RECORDING_90K};
use citywatch_video::recovery::recover;
use citywatch_video::sample_dir::SampleDir;
use citywatch_video::{Codec, Frame, VideoParams};

fn params(width: u16) -> Arc<VideoParams> {
    Arc::new(VideoParams { codec: Codec::H264, width, height: 360, rfc6381_codec: "avc1.64001e".into(), extra_data: vec![1, 2, 3], pixel_aspect_ratio: None })
}

/// Frame `n` of a 25 fps stream with a key frame every `gop` frames.
fn frame(n: i64, gop: i64, p: &Arc<VideoParams>) -> Frame {
    let size = 100 + n.rem_euclid(7) as usize;
    Frame { timestamp_90k: 1_000_000 + n * 3600, is_key: n % gop == 0, data: Bytes::from(vec![n.rem_euclid(251) as u8; size]), params: p.clone() }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    samples: Arc<SampleDir>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("db")).unwrap());
    let samples = Arc::new(SampleDir::open(&dir.path().join("video")).unwrap());
    Fixture { _dir: dir, store, samples }
}

#[test]
fn gops_are_written_before_their_index_and_nothing_before_a_key_frame() {
    let f = fixture();
    let p = params(640);
    let mut rec = Recorder::new(f.store.clone(), f.samples.clone(), "cam1", Stream::Main);
    // Two frames before the first key frame are dropped.
    for n in -2..0 {
        rec.push(Frame { is_key: false, ..frame(n, 25, &p) }, 0).unwrap();
    }
    for n in 0..60 {
        rec.push(frame(n, 25, &p), 90_000).unwrap();
    }
    // Frames 0..50 (two GOPs) are on disk; 50..60 are held until the next key frame.
    let rows = f.store.recordings_between("cam1", Stream::Main, 0, i64::MAX).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].frames, 50);
    assert_eq!(rows[0].duration_90k, 50 * 3600);
    assert_eq!(rows[0].start_90k, 90_000, "the run starts at the wall clock of its first frame");
    // An open file may end in the zero padding of a direct write (under a
    // block) and the space it is sized ahead by (1 MiB, for so slow a
    // stream) past the bytes its row names.
    let on_disk = std::fs::metadata(f.samples.path(&rows[0].file)).unwrap().len();
    assert!((rows[0].bytes as u64..rows[0].bytes as u64 + 2 * 4096 + (1 << 20)).contains(&on_disk), "{on_disk} bytes on disk, {} indexed", rows[0].bytes);
    let index = frame_index::decode(&rows[0].frame_index).unwrap();
    assert_eq!(index.iter().filter(|f| f.is_key).count(), 2);
    assert_eq!(index.iter().map(|f| i64::from(f.size)).sum::<i64>(), rows[0].bytes);

    rec.finish().unwrap();
    let rows = f.store.recordings_between("cam1", Stream::Main, 0, i64::MAX).unwrap();
    assert_eq!(rows[0].frames, 60, "finish writes the held GOP");
}

#[test]
fn recordings_rotate_and_runs_break_at_timestamp_jumps_and_new_parameters() {
    let f = fixture();
    let p = params(640);
    let mut rec = Recorder::new(f.store.clone(), f.samples.clone(), "cam1", Stream::Sub);
    let per_minute = MAX_RECORDING_90K / 3600;
    let total = per_minute * 2 + 50;
    for n in 0..total {
        rec.push(frame(n, 25, &p), 0).unwrap();
    }
    // A 30 s jump ends the run; a new resolution starts another.
    let jump = 30 * 25;
    for n in total + jump..total + jump + 50 {
        rec.push(frame(n, 25, &p), 500_000_000).unwrap();
    }
    let q = params(1280);
    for n in total + jump + 50..total + jump + 100 {
        rec.push(frame(n, 25, &q), 600_000_000).unwrap();
    }
    rec.finish().unwrap();
    let rows = f.store.recordings_between("cam1", Stream::Sub, 0, i64::MAX).unwrap();
    let runs: Vec<i64> = rows.iter().map(|r| r.run_id).collect();
    assert!(rows.len() >= 5, "{rows:?}");
    assert_eq!(runs.iter().filter(|&&r| r == runs[0]).count(), 3, "the first run is three recordings of at most a minute");
    for w in rows.windows(2).filter(|w| w[0].run_id == w[1].run_id) {
        assert_eq!(w[0].start_90k + w[0].duration_90k, w[1].start_90k, "recordings in a run are contiguous");
    }
    assert!(rows.iter().all(|r| r.duration_90k <= MAX_RECORDING_90K + 25 * 3600));
    assert_ne!(rows[rows.len() - 1].params_id, rows[0].params_id);
    let frames: i64 = rows.iter().map(|r| r.frames).sum();
    assert_eq!(frames, total + 100);
}

#[test]
fn recovery_cuts_uncommitted_bytes_and_removes_orphans() {
    let f = fixture();
    let p = params(640);
    let mut rec = Recorder::new(f.store.clone(), f.samples.clone(), "cam1", Stream::Main);
    for n in 0..75 {
        rec.push(frame(n, 25, &p), 0).unwrap();
    }
    drop(rec); // a crash: the held GOP is lost
    let row = f.store.recordings_between("cam1", Stream::Main, 0, i64::MAX).unwrap().remove(0);
    // Bytes written for a GOP whose row never committed.
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(f.samples.path(&row.file)).unwrap().write_all(&[0u8; 999]).unwrap();
    // A new recording's file whose first row never committed.
    std::fs::write(f.samples.path("cam1/main/123.h264"), b"orphan").unwrap();
    // A recording whose file was lost.
    let mut lost = row.clone();
    lost.id = 0;
    lost.file = "cam1/main/lost.h264".into();
    f.store.put_recording(&lost).unwrap();

    let report = recover(&*f.store, &f.samples).unwrap();
    assert_eq!(report.truncated, vec![row.file.clone()]);
    assert_eq!(report.orphans_deleted, vec!["cam1/main/123.h264".to_string()]);
    assert_eq!(report.damaged, vec!["cam1/main/lost.h264".to_string()]);
    assert_eq!(std::fs::metadata(f.samples.path(&row.file)).unwrap().len() as i64, row.bytes);
    assert_eq!(row.frames, 50, "at most the unflushed GOP was lost");
    // Recovery is idempotent.
    let again = recover(&*f.store, &f.samples).unwrap();
    assert!(again.truncated.is_empty() && again.orphans_deleted.is_empty());
}

#[test]
fn deletions_go_through_the_garbage_table() {
    let f = fixture();
    let p = params(640);
    let mut rec = Recorder::new(f.store.clone(), f.samples.clone(), "cam1", Stream::Main);
    for n in 0..30 {
        rec.push(frame(n, 25, &p), 0).unwrap();
    }
    rec.finish().unwrap();
    let row = f.store.recordings_between("cam1", Stream::Main, 0, i64::MAX).unwrap().remove(0);
    let files = f.store.delete_recordings(&[row.id]).unwrap();
    assert_eq!(files, vec![row.file.clone()]);
    assert!(f.samples.path(&row.file).exists(), "the file stays until the deletion is finished");
    let report = recover(&*f.store, &f.samples).unwrap();
    assert_eq!(report.garbage_deleted, 1);
    assert!(!f.samples.path(&row.file).exists());
    assert!(f.store.garbage_files().unwrap().is_empty());
}

#[test]
fn a_gop_without_end_is_cut_so_recordings_stay_within_the_index_bound() {
    let f = fixture();
    let p = params(640);
    let mut rec = Recorder::new(f.store.clone(), f.samples.clone(), "cam1", Stream::Main);
    // One key frame, then 4 minutes of frames without another.
    let frames = 4 * 60 * 25;
    for n in 0..frames {
        rec.push(frame(n, frames + 1, &p), 0).unwrap();
    }
    rec.push(frame(frames, 1, &p), 0).unwrap(); // a key frame at last
    rec.finish().unwrap();
    let rows = f.store.recordings_between("cam1", Stream::Main, 0, i64::MAX).unwrap();
    assert!(rows.iter().all(|r| r.duration_90k < citywatch_store::MAX_RECORDING_SPAN_90K), "{rows:?}");
    assert!(rows[0].duration_90k >= citywatch_video::recorder::MAX_GOP_90K, "the long GOP is kept, not dropped");
    // A query anywhere in the range finds the recording that covers it.
    let mid = rows[0].start_90k + rows[0].duration_90k - 90_000;
    assert_eq!(f.store.recordings_between("cam1", Stream::Main, mid, mid + 1).unwrap().len(), 1);
}
