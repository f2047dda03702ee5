//! Retention over a real store and real sample files: by age, by bytes per
//! camera, by a free-space floor (with an injected free-space reading that
//! follows the files on disk), legal holds, the recording being written,
//! and crash-safe deletion through the garbage table.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use citywatch_store::{NewLegalHold, RetentionOverride, Store};
use citywatch_video::recorder::{Recorder, Stream};
use citywatch_video::retention::{enforce, FreeSpace, RetentionPolicy};
use citywatch_video::sample_dir::SampleDir;
use citywatch_video::{Codec, Frame, VideoParams};

/// 25 fps, 100-byte frames: a 10 s recording is 25,000 bytes.
const FRAME_BYTES: usize = 100;
const REC_BYTES: i64 = 25_000;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    samples: Arc<SampleDir>,
    params: Arc<VideoParams>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("db")).unwrap());
    let samples = Arc::new(SampleDir::open(&dir.path().join("video")).unwrap());
    let params = Arc::new(VideoParams {
        codec: Codec::H264,
        width: 640,
        height: 360,
        rfc6381_codec: "avc1.64001e".into(),
        extra_data: vec![1, 2, 3],
        pixel_aspect_ratio: None,
    });
    Fixture { _dir: dir, store, samples, params }
}

fn to_90k(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros() * 9 / 100
}

impl Fixture {
    fn frame(&self, n: i64) -> Frame {
        Frame { timestamp_90k: n * 3600, is_key: n % 25 == 0, data: Bytes::from(vec![7u8; FRAME_BYTES]), params: self.params.clone() }
    }

    /// A 10 s recording of `camera` starting at `start`; returns its file.
    fn record(&self, camera: &str, start: DateTime<Utc>) -> String {
        let mut rec = Recorder::new(self.store.clone(), self.samples.clone(), camera, Stream::Main);
        for n in 0..250 {
            rec.push(self.frame(n), to_90k(start)).unwrap();
        }
        rec.finish().unwrap();
        let rows = self.store.recordings_between(camera, Stream::Main, to_90k(start), to_90k(start) + 1).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].bytes, REC_BYTES);
        rows[0].file.clone()
    }

    /// Files of `camera` still indexed, oldest first.
    fn indexed(&self, camera: &str) -> Vec<String> {
        self.store.recordings_between(camera, Stream::Main, 0, i64::MAX).unwrap().into_iter().map(|r| r.file).collect()
    }

    fn exists(&self, file: &str) -> bool {
        self.samples.path(file).exists()
    }

    /// Every indexed file exists and the garbage queue is empty.
    fn assert_consistent(&self) {
        for (file, bytes) in self.store.recording_files().unwrap() {
            let len = std::fs::metadata(self.samples.path(&file)).unwrap_or_else(|e| panic!("{file} is indexed but: {e}")).len();
            assert!(len >= bytes as u64, "{file}");
        }
        assert!(self.store.garbage_files().unwrap().is_empty(), "garbage left: {:?}", self.store.garbage_files().unwrap());
    }
}

/// Free space of a pretend disk of `capacity` bytes holding the sample files.
struct PretendDisk {
    capacity: u64,
}

impl FreeSpace for PretendDisk {
    fn free_bytes(&self, dir: &Path) -> std::io::Result<u64> {
        fn used(p: &Path) -> std::io::Result<u64> {
            let mut sum = 0;
            for e in std::fs::read_dir(p)? {
                let e = e?;
                let m = e.metadata()?;
                sum += if m.is_dir() { used(&e.path())? } else { m.len() };
            }
            Ok(sum)
        }
        Ok(self.capacity.saturating_sub(used(dir)?))
    }
}

fn no_floor() -> PretendDisk {
    PretendDisk { capacity: u64::MAX }
}

#[test]
fn recordings_older_than_the_maximum_age_go_and_overrides_apply() {
    let f = fixture();
    let now = Utc::now();
    let ages = [10, 5, 1];
    let c1: Vec<String> = ages.iter().map(|d| f.record("c1", now - Duration::days(*d))).collect();
    let c2: Vec<String> = ages.iter().map(|d| f.record("c2", now - Duration::days(*d))).collect();
    let recent = f.record("c1", now - Duration::hours(1));
    // c2 keeps 30 days.
    f.store.set_retention_override(&RetentionOverride { camera_id: "c2".into(), max_age_days: Some(30), max_bytes: None }).unwrap();

    let policy = RetentionPolicy { max_age_days: Some(3), ..Default::default() };
    let report = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &no_floor(), now).unwrap();
    assert_eq!((report.by_age.recordings, report.by_age.bytes), (2, 2 * REC_BYTES as u64));
    assert_eq!(report.deleted().recordings, 2);
    assert_eq!(report.per_camera.keys().collect::<Vec<_>>(), ["c1"]);
    assert_eq!(f.indexed("c1"), vec![c1[2].clone(), recent]);
    assert!(!f.exists(&c1[0]) && !f.exists(&c1[1]), "the files are gone");
    assert_eq!(f.indexed("c2"), c2, "the override keeps c2's month");
    f.assert_consistent();

    // A second run finds nothing to do.
    let again = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &no_floor(), now).unwrap();
    assert_eq!(again.deleted().recordings, 0);
}

#[test]
fn a_camera_over_its_bytes_loses_its_oldest_first() {
    let f = fixture();
    let now = Utc::now();
    let c1: Vec<String> = (0..5).map(|i| f.record("c1", now - Duration::minutes(50 - i * 10))).collect();
    let c2: Vec<String> = (0..2).map(|i| f.record("c2", now - Duration::minutes(60 - i * 10))).collect();
    // 5 × 25,000 = 125,000 bytes against 60,000: the three oldest go.
    let policy = RetentionPolicy { max_bytes_per_camera: Some(60_000), ..Default::default() };
    let report = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &no_floor(), now).unwrap();
    assert_eq!(report.by_bytes.recordings, 3);
    assert_eq!(report.by_age.recordings + report.by_free_space.recordings, 0);
    assert_eq!(f.indexed("c1"), c1[3..]);
    assert_eq!(f.indexed("c2"), c2, "c2 is within its quota (and holds the oldest recordings)");
    f.assert_consistent();

    // An override shrinks c1 further.
    f.store.set_retention_override(&RetentionOverride { camera_id: "c1".into(), max_age_days: None, max_bytes: Some(REC_BYTES) }).unwrap();
    enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &no_floor(), now).unwrap();
    assert_eq!(f.indexed("c1"), c1[4..]);
}

#[test]
fn below_the_free_space_floor_the_oldest_of_any_camera_go() {
    let f = fixture();
    let now = Utc::now();
    // Interleaved in time: a1 b1 a2 b2 a3 b3 (oldest first).
    let mut all = Vec::new();
    for i in 0..3 {
        all.push(f.record("a", now - Duration::minutes(60 - i * 20)));
        all.push(f.record("b", now - Duration::minutes(50 - i * 20)));
    }
    // 150,000 bytes on a 200,000-byte disk: 50,000 free, floor 100,000.
    let disk = PretendDisk { capacity: 200_000 };
    let policy = RetentionPolicy { min_free_bytes: 100_000, ..Default::default() };
    let report = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &disk, now).unwrap();
    assert_eq!(report.by_free_space.recordings, 2);
    assert_eq!(report.free_bytes, Some(100_000));
    assert!(!report.floor_unmet);
    let left: Vec<String> = f.store.oldest_recordings(None, None, 100).unwrap().into_iter().map(|r| r.file).collect();
    assert_eq!(left, all[2..], "the two oldest, one of each camera, went first");
    f.assert_consistent();

    // A floor above the whole disk: everything goes, and the run says the floor is unmet.
    let policy = RetentionPolicy { min_free_bytes: 1_000_000, ..Default::default() };
    let report = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &disk, now).unwrap();
    assert_eq!(report.by_free_space.recordings, 4);
    assert!(report.floor_unmet);
    assert!(f.store.oldest_recordings(None, None, 100).unwrap().is_empty());
    f.assert_consistent();
}

#[test]
fn a_legal_hold_keeps_what_it_covers_until_it_expires() {
    let f = fixture();
    let now = Utc::now();
    let files: Vec<String> = (0..4).map(|i| f.record("c1", now - Duration::days(10) + Duration::minutes(i * 10))).collect();
    let other = f.record("c2", now - Duration::days(10) + Duration::minutes(10));
    // The hold covers the middle of the second recording only, on c1 only.
    let held_start = now - Duration::days(10) + Duration::minutes(10) + Duration::seconds(3);
    let hold = NewLegalHold {
        camera_id: "c1".into(),
        start_90k: to_90k(held_start),
        end_90k: to_90k(held_start + Duration::seconds(2)),
        purpose: "assault investigation".into(),
        case_ref: "CASE-2026-17".into(),
        created_by: "sup".into(),
        expires_at: now + Duration::days(1),
    };
    f.store.add_legal_hold(&hold, now).unwrap();
    // Everything is past its age, and over every quota and floor.
    let policy = RetentionPolicy { max_age_days: Some(1), max_bytes_per_camera: Some(1), min_free_bytes: 1 << 40 };
    let report = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &PretendDisk { capacity: 1 }, now).unwrap();
    assert_eq!(report.held, 1);
    assert_eq!(f.indexed("c1"), vec![files[1].clone()], "only the held recording is left");
    assert!(f.indexed("c2").is_empty(), "a hold on c1 does not protect c2 ({other})");
    assert!(report.floor_unmet);
    f.assert_consistent();

    // A day and a minute later the hold has expired: the recording goes.
    let later = now + Duration::days(1) + Duration::minutes(1);
    let report = enforce(&*f.store, f.store.active_legal_holds(later).unwrap(), &f.samples, &policy, &no_floor(), later).unwrap();
    assert_eq!((report.held, report.by_age.recordings), (0, 1));
    assert!(f.indexed("c1").is_empty());
    assert!(!f.exists(&files[1]));
}

#[test]
fn held_bytes_do_not_count_against_the_quota() {
    let f = fixture();
    let now = Utc::now();
    let files: Vec<String> = (0..4).map(|i| f.record("c1", now - Duration::minutes(40 - i * 10))).collect();
    let first = f.store.oldest_recordings(Some("c1"), None, 1).unwrap().remove(0);
    f.store
        .add_legal_hold(
            &NewLegalHold {
                camera_id: "c1".into(),
                start_90k: first.start_90k,
                end_90k: first.end_90k(),
                purpose: "p".into(),
                case_ref: "c".into(),
                created_by: "sup".into(),
                expires_at: now + Duration::days(1),
            },
            now,
        )
        .unwrap();
    // 100,000 bytes, 25,000 of them held: 75,000 count against 50,000 → one goes.
    let policy = RetentionPolicy { max_bytes_per_camera: Some(50_000), ..Default::default() };
    let report = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &no_floor(), now).unwrap();
    assert_eq!(report.by_bytes.recordings, 1);
    assert_eq!(f.indexed("c1"), vec![files[0].clone(), files[2].clone(), files[3].clone()]);
}

#[test]
fn the_recording_being_written_is_never_deleted() {
    let f = fixture();
    let now = Utc::now();
    let old = f.record("c1", now - Duration::days(5));
    // A recorder in the middle of a recording: 4 GOPs on disk, the fifth held.
    let mut rec = Recorder::new(f.store.clone(), f.samples.clone(), "c1", Stream::Main);
    let start = now - Duration::days(4);
    for n in 0..110 {
        rec.push(f.frame(n), to_90k(start)).unwrap();
    }
    let open = f.indexed("c1").pop().unwrap();
    assert_ne!(open, old);
    assert!(f.samples.is_being_written(&open));

    let policy = RetentionPolicy { max_age_days: Some(1), max_bytes_per_camera: Some(1), min_free_bytes: 1 << 40 };
    let report = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &PretendDisk { capacity: 1 }, now).unwrap();
    assert_eq!(report.deleted().recordings, 1, "only the finished recording goes: {report:?}");
    assert_eq!(f.indexed("c1"), vec![open.clone()]);
    assert!(report.floor_unmet);
    assert_eq!(report.close_requests, 1, "the recorder is asked to close the file it writes");
    assert!(f.samples.close_requested(&open));
    let written = f.store.recordings_between("c1", Stream::Main, 0, i64::MAX).unwrap()[0].clone();

    // The recorder closes it at the next GOP; the run goes on, without a
    // gap, in a new file.
    for n in 110..300 {
        rec.push(f.frame(n), to_90k(start)).unwrap();
    }
    let rows = f.store.recordings_between("c1", Stream::Main, 0, i64::MAX).unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0].file.as_str(), rows[0].frames, rows[0].bytes), (open.as_str(), 100, written.bytes), "the next GOP went to the new file");
    assert_eq!(rows[1].run_id, rows[0].run_id);
    assert_eq!(rows[1].start_90k, rows[0].start_90k + rows[0].duration_90k);
    assert_eq!(std::fs::metadata(f.samples.path(&open)).unwrap().len() as i64, rows[0].bytes);
    assert!(!f.samples.is_being_written(&open), "closed");
    assert!(f.samples.is_being_written(&rows[1].file));

    // Closed, it is fair game; the new one is not.
    let report = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &no_floor(), now).unwrap();
    assert_eq!(report.deleted().recordings, 1);
    assert_eq!(f.indexed("c1"), vec![rows[1].file.clone()]);
    rec.finish().unwrap();
    let rest = f.store.recordings_between("c1", Stream::Main, 0, i64::MAX).unwrap();
    assert_eq!(rest.iter().map(|r| r.frames).sum::<i64>(), 200, "nothing after the first file was lost: {rest:?}");
    f.assert_consistent();
}

#[test]
fn deletion_is_crash_safe_through_the_garbage_table() {
    let f = fixture();
    let now = Utc::now();
    let files: Vec<String> = (0..3).map(|i| f.record("c1", now - Duration::minutes(30 - i * 10))).collect();
    let ids: Vec<i64> = f.store.recordings_between("c1", Stream::Main, 0, i64::MAX).unwrap().iter().map(|r| r.id).collect();

    // A crash right after the transaction: rows gone, files queued, still on disk.
    let queued = f.store.delete_recordings(&ids[..2]).unwrap();
    assert_eq!(queued, files[..2]);
    assert_eq!(f.indexed("c1"), files[2..], "the index never names a file being deleted");
    assert!(f.exists(&files[0]) && f.exists(&files[1]));
    assert_eq!(f.store.garbage_files().unwrap().len(), 2);

    // The next run (even with no limits) finishes the deletion.
    let report = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &RetentionPolicy::default(), &no_floor(), now).unwrap();
    assert_eq!(report.garbage_finished, 2);
    assert!(!f.exists(&files[0]) && !f.exists(&files[1]));
    f.assert_consistent();

    // An unlink that fails leaves the file queued, and a later run finishes it.
    let path = f.samples.path(&files[2]);
    let policy = RetentionPolicy { max_bytes_per_camera: Some(1), ..Default::default() };
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("blocker"), b"x").unwrap();
    // The row says 25,000 bytes; the path is now a directory — still, the row goes first.
    let report = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &no_floor(), now).unwrap();
    assert_eq!(report.unlink_failures, vec![files[2].clone()]);
    assert!(f.indexed("c1").is_empty());
    assert_eq!(f.store.garbage_files().unwrap(), vec![files[2].clone()]);
    std::fs::remove_dir_all(&path).unwrap();
    let report = enforce(&*f.store, f.store.active_legal_holds(now).unwrap(), &f.samples, &policy, &no_floor(), now).unwrap();
    assert_eq!(report.garbage_finished, 1);
    f.assert_consistent();
}
