//! The per-disk writer pool: GOPs of many streams are written, synced and
//! indexed in batches, and the index never names bytes that are not in the
//! file.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use citywatch_store::Store;
use citywatch_video::disk_writer::{DiskWriter, WriterConfig};
use citywatch_video::frame_index;
use citywatch_video::recorder::{Recorder, Stream};
use citywatch_video::sample_dir::SampleDir;
use citywatch_video::{Codec, Frame, VideoParams};

fn params() -> Arc<VideoParams> {
    Arc::new(VideoParams {
        codec: Codec::H264,
        width: 640,
        height: 360,
        rfc6381_codec: "avc1.64001e".into(),
        extra_data: vec![1, 2, 3],
        pixel_aspect_ratio: None,
    })
}

fn frame(n: i64, p: &Arc<VideoParams>) -> Frame {
    Frame { timestamp_90k: n * 3600, is_key: n % 25 == 0, data: Bytes::from(vec![(n % 251) as u8; 200 + (n % 13) as usize]), params: p.clone() }
}

#[test]
fn many_streams_share_batched_commits_and_every_row_matches_its_file() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&tmp.path().join("db")).unwrap());
    let dir = Arc::new(SampleDir::open(&tmp.path().join("video")).unwrap());
    let config = WriterConfig { threads: 2, commit_interval: Duration::from_secs(3600), ..WriterConfig::default() };
    let writer = DiskWriter::spawn(store.clone(), dir.clone(), config);
    let p = params();
    let mut recorders: Vec<Recorder> = (0..20).map(|i| Recorder::with_writer(writer.clone(), &format!("cam{i}"), Stream::Main)).collect();
    for n in 0..101 {
        for r in &mut recorders {
            r.push(frame(n, &p), 90_000).unwrap();
        }
    }
    // With an hour's interval nothing is committed until asked.
    assert!(store.recordings_between("cam0", Stream::Main, 0, i64::MAX).unwrap().is_empty(), "nothing is indexed before its batch is synced");
    writer.flush();
    let stats = writer.stats();
    assert_eq!(stats.gops_written.load(Ordering::Relaxed), 20 * 4);
    assert!(stats.commits.load(Ordering::Relaxed) <= 2, "one transaction per writer thread, not one per GOP");
    for i in 0..20 {
        let rows = store.recordings_between(&format!("cam{i}"), Stream::Main, 0, i64::MAX).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].frames, 100, "four GOPs; the fifth is still held");
        // Open files may end in the zero padding of a direct write, and in
        // the space they are sized ahead by (1 MiB, for so slow a stream).
        let on_disk = std::fs::metadata(dir.path(&rows[0].file)).unwrap().len();
        assert!((rows[0].bytes as u64..rows[0].bytes as u64 + 2 * 4096 + (1 << 20)).contains(&on_disk), "{on_disk} on disk, {} indexed", rows[0].bytes);
        let sizes: i64 = frame_index::decode(&rows[0].frame_index).unwrap().iter().map(|f| i64::from(f.size)).sum();
        assert_eq!(sizes, rows[0].bytes);
        assert!(dir.is_being_written(&rows[0].file), "the open recording is kept from retention");
    }
    // Closing hands over the held GOP; after the flush the files are released.
    for r in &mut recorders {
        r.finish().unwrap();
    }
    writer.flush();
    for i in 0..20 {
        let rows = store.recordings_between(&format!("cam{i}"), Stream::Main, 0, i64::MAX).unwrap();
        assert_eq!(rows[0].frames, 101);
        assert!(!dir.is_being_written(&rows[0].file), "a finished, committed file is released to retention");
        let on_disk = std::fs::metadata(dir.path(&rows[0].file)).unwrap().len();
        assert_eq!(on_disk as i64, rows[0].bytes, "a finished file loses its padding and the space sized ahead");
    }
}

#[test]
fn a_writer_that_is_behind_refuses_gops_and_the_recorder_starts_a_new_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&tmp.path().join("db")).unwrap());
    let dir = Arc::new(SampleDir::open(&tmp.path().join("video")).unwrap());
    // Room for about one GOP (25 frames of ~206 bytes) in the queue.
    let config = WriterConfig { threads: 1, commit_interval: Duration::from_secs(3600), max_queued_bytes: 6_000, ..WriterConfig::default() };
    let writer = DiskWriter::spawn(store.clone(), dir.clone(), config);
    let p = params();
    let mut rec = Recorder::with_writer(writer.clone(), "cam", Stream::Main);
    let mut refused_frames = 0;
    let mut note = |r: Result<(), citywatch_video::recorder::RecordError>| match r {
        Ok(()) => {}
        Err(citywatch_video::recorder::RecordError::DiskBehind { frames }) => refused_frames += frames as i64,
        Err(e) => panic!("unexpected {e}"),
    };
    for n in 0..1001 {
        note(rec.push(frame(n, &p), 90_000));
    }
    note(rec.finish());
    writer.flush();
    let stats = writer.stats();
    assert_eq!(stats.gops_written.load(Ordering::Relaxed) + stats.gops_refused.load(Ordering::Relaxed), 41, "every GOP is either written or refused");
    let rows = store.recordings_between("cam", Stream::Main, 0, i64::MAX).unwrap();
    let indexed: i64 = rows.iter().map(|r| r.frames).sum();
    assert_eq!(indexed + refused_frames, 1001, "the index holds exactly the frames not refused");
    for r in &rows {
        let on_disk = std::fs::metadata(dir.path(&r.file)).unwrap().len();
        assert_eq!(on_disk as i64, r.bytes, "{}", r.file);
    }
}

/// More files and bytes at one commit than one batched submission takes
/// (128 writes, 2 MiB): every file still holds exactly its own frames, also
/// across a second commit that rewrites each file's partial last block.
#[test]
fn a_commit_larger_than_one_batch_writes_every_file_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&tmp.path().join("db")).unwrap());
    let dir = Arc::new(SampleDir::open(&tmp.path().join("video")).unwrap());
    let config = WriterConfig { threads: 1, commit_interval: Duration::from_secs(3600), max_queued_bytes: 256 << 20, ..WriterConfig::default() };
    let writer = DiskWriter::spawn(store.clone(), dir.clone(), config);
    let p = params();
    let cameras = 140;
    let frame = |cam: usize, n: i64| Frame {
        timestamp_90k: n * 3600,
        is_key: n % 25 == 0,
        data: Bytes::from((0..3001 + (n % 7) as usize * 113).map(|j| (j as u64 * 31 + cam as u64 * 7 + n as u64) as u8).collect::<Vec<u8>>()),
        params: p.clone(),
    };
    let mut recorders: Vec<Recorder> = (0..cameras).map(|i| Recorder::with_writer(writer.clone(), &format!("cam{i}"), Stream::Main)).collect();
    let mut sent = 0;
    for until in [51, 101] {
        for n in sent..until {
            for (i, r) in recorders.iter_mut().enumerate() {
                r.push(frame(i, n), 90_000).unwrap();
            }
        }
        sent = until;
        writer.flush();
        assert_eq!(writer.stats().write_errors.load(Ordering::Relaxed), 0);
        for i in [0, 1, 77, 128, 139] {
            let rows = store.recordings_between(&format!("cam{i}"), Stream::Main, 0, i64::MAX).unwrap();
            assert_eq!(rows[0].frames as i64, until - 1, "every closed GOP is committed");
            let want: Vec<u8> = (0..until - 1).flat_map(|n| frame(i, n).data.to_vec()).collect();
            let on_disk = std::fs::read(dir.path(&rows[0].file)).unwrap();
            assert_eq!(rows[0].bytes as usize, want.len());
            // Open: the zero padding of the last block, and the space sized
            // ahead: 32 writes' worth (a write is at most every byte and a
            // block), 1 MiB at least.
            let ahead = (32 * (want.len() + 4096)).max(1 << 20);
            assert!(on_disk.len() >= want.len() && on_disk.len() < want.len() + 2 * 4096 + ahead, "{} on disk for {}", on_disk.len(), want.len());
            assert!(on_disk[..want.len()] == want[..], "camera {i}'s file holds other bytes than its frames");
        }
    }
    for r in &mut recorders {
        r.finish().unwrap();
    }
    writer.flush();
    for i in 0..cameras {
        let rows = store.recordings_between(&format!("cam{i}"), Stream::Main, 0, i64::MAX).unwrap();
        let want: Vec<u8> = (0..101).flat_map(|n| frame(i, n).data.to_vec()).collect();
        assert!(std::fs::read(dir.path(&rows[0].file)).unwrap() == want, "camera {i}'s finished file is exactly its frames");
    }
}
