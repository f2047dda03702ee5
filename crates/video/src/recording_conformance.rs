//! The conformance suite of [`RecordingRepo`]: what every backend must do,
//! run against each of them (SQLite in `recording_conformance_sqlite.rs`,
//! PostgreSQL in `citywatch-store-postgres`). Built only with the
//! `conformance` feature, which only tests enable.
//!
//! Each case takes a [`Backend`] holding a fresh, empty database and opens
//! as many handles to it as it needs (two handles are two connections, as
//! two nodes' disk writers, or a server and the CLI, would have).
//! [`recording_repo_conformance!`](crate::recording_repo_conformance)
//! makes one test per case.

use std::sync::{Arc, Barrier};

use citywatch_audit::{AuditRepo, MakeRowAfter, PendingEntry, Record};
use citywatch_model::recordings::{RecordingRow, RecordingSummary, RecordingTotals, RetentionOverride, StoredParams, MAX_RECORDING_SPAN_90K};
use citywatch_model::{AuditRow, ChainHead, Codec, RepoError, StreamKind};
use serde_json::{json, Value};

use crate::recording_repo::RecordingRepo;

/// One connection to the backend's database: its recording index, and
/// the audit log a camera's retention limits commit with.
pub struct Handles {
    pub recordings: Arc<dyn RecordingRepo>,
    pub audit: Arc<dyn AuditRepo>,
}

/// A fresh, empty database of one backend.
pub trait Backend {
    /// A new handle (its own connection or pool) to the same database.
    fn connect(&self) -> Handles;
}

/// One test per case of the suite, for the backend `$fresh` makes (an
/// expression evaluated anew for each test, giving a [`Backend`]).
#[macro_export]
macro_rules! recording_repo_conformance {
    ($fresh:expr) => {
        $crate::recording_repo_conformance!(@cases $fresh;
            nothing_is_indexed_at_first,
            codec_parameters_get_one_id_each,
            codec_parameters_asked_for_at_once_on_two_connections_get_one_id,
            new_recordings_get_ids_in_order_and_page_back_by_id,
            a_batch_with_a_taken_file_writes_nothing,
            an_update_changes_duration_frames_bytes_and_frame_index_only,
            updating_a_deleted_recording_changes_nothing,
            recordings_between_takes_those_overlapping_start_to_end,
            recordings_between_orders_by_start_then_id_and_keeps_to_its_stream,
            recording_totals_count_per_camera_stream_by_camera_then_stream,
            oldest_recordings_page_by_start_then_id_for_every_camera_or_one,
            deleting_recordings_queues_their_files_until_forgotten,
            retention_limits_read_back_and_each_change_writes_one_entry,
            limits_the_schema_refuses_write_nothing,
            a_change_whose_audit_row_is_refused_is_not_made,
            batches_put_at_once_on_two_connections_all_land_with_their_own_ids,
            limits_set_at_once_make_one_chain_each_entry_naming_what_it_replaced,
        );
    };
    (@cases $fresh:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let backend = $fresh;
                $crate::recording_conformance::$case(&backend);
            }
        )*
    };
}

/// 2026-11-30 in 90 kHz Unix time: far above 32 bits, as every real
/// recording's start is.
const T0: i64 = 1_796_000_000 * 90_000;
const MINUTE: i64 = 60 * 90_000;
/// An avcC body with the bytes a careless encoding loses (NUL, 0xff).
const AVCC: [u8; 12] = [0x01, 0x64, 0x00, 0x28, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x28];

fn h264(extra_data: &[u8], pixel_aspect_ratio: Option<(u32, u32)>) -> StoredParams {
    StoredParams { codec: Codec::H264, width: 1920, height: 1080, rfc6381_codec: "avc1.640028".into(), extra_data: extra_data.to_vec(), pixel_aspect_ratio }
}

/// The id of the parameters most cases' recordings name.
fn params_id(h: &Handles) -> i64 {
    h.recordings.video_params_id(&h264(&AVCC, None)).expect("store codec parameters")
}

/// A recording of `duration_90k` at 15 frames a second, with a frame index
/// of a few kilobytes holding every byte value.
fn recording(camera: &str, stream: StreamKind, start_90k: i64, duration_90k: i64, params_id: i64, file: &str) -> RecordingRow {
    RecordingRow {
        id: 0,
        camera_id: camera.into(),
        stream,
        run_id: 7,
        start_90k,
        duration_90k,
        frames: duration_90k / 6000,
        bytes: duration_90k * 50,
        params_id,
        file: file.into(),
        frame_index: (0..=255u8).cycle().take(4096 + (duration_90k % 97) as usize).collect(),
    }
}

fn put(h: &Handles, rows: &[RecordingRow]) -> Vec<i64> {
    h.recordings.put_recordings(rows).expect("put recordings")
}

/// Every recording, by id.
fn all(h: &Handles) -> Vec<RecordingRow> {
    h.recordings.recordings_after(0, usize::MAX).expect("read every recording")
}

/// `rows` as stored under `ids`, by id.
fn stored_as(rows: &[RecordingRow], ids: &[i64]) -> Vec<RecordingRow> {
    let mut stored: Vec<RecordingRow> = rows.iter().zip(ids).map(|(r, id)| RecordingRow { id: *id, ..r.clone() }).collect();
    stored.sort_by_key(|r| r.id);
    stored
}

fn files(rows: &[RecordingRow]) -> Vec<&str> {
    rows.iter().map(|r| r.file.as_str()).collect()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn limits(camera: &str, max_age_days: Option<i64>, max_bytes: Option<i64>) -> RetentionOverride {
    RetentionOverride { camera_id: camera.into(), max_age_days, max_bytes }
}

fn limits_json(o: Option<&RetentionOverride>) -> Value {
    o.map_or(Value::Null, |o| json!([o.max_age_days, o.max_bytes]))
}

/// The entry the API writes for a change of limits: what they were (from
/// what the change replaced, read in its transaction) and what they are.
fn entry(actor: &str, after: &RetentionOverride) -> MakeRowAfter<'static, Option<RetentionOverride>> {
    let (actor, after) = (actor.to_owned(), after.clone());
    Box::new(move |before: &Option<RetentionOverride>, head: Option<&ChainHead>| {
        let detail = json!({"before": limits_json(before.as_ref()), "after": limits_json((!after.is_default()).then_some(&after))});
        PendingEntry::new(Record::new(actor, "camera.retention", after.camera_id).detail(detail)).row_on(head)
    })
}

/// An entry that does not chain to the head it is given (a writer holding
/// an old head): every backend refuses it, and the change with it.
fn stale() -> MakeRowAfter<'static, Option<RetentionOverride>> {
    Box::new(|_: &Option<RetentionOverride>, head: Option<&ChainHead>| {
        assert!(head.is_some(), "the suite makes a first entry before it tries a stale one");
        PendingEntry::new(Record::new("ana", "stale", "x")).row_on(None)
    })
}

fn set(h: &Handles, to: &RetentionOverride, actor: &str) -> (Option<RetentionOverride>, AuditRow) {
    h.recordings.set_retention_override(to, entry(actor, to)).expect("set retention limits")
}

fn assert_one_chain(rows: &[AuditRow]) {
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.seq, i as i64 + 1, "seqs run 1..n without a gap");
        if i > 0 {
            assert_eq!(row.prev_hash, rows[i - 1].hash, "seq {} chains to the row before it", row.seq);
        }
    }
}

pub fn nothing_is_indexed_at_first(b: &dyn Backend) {
    let h = b.connect();
    let r = &h.recordings;
    assert_eq!(r.video_params(1).unwrap(), None);
    assert!(r.recordings_between("cam-a", StreamKind::Main, T0, T0 + MINUTE).unwrap().is_empty());
    assert!(r.recording_intervals("cam-a", StreamKind::Main, T0, T0 + MINUTE).unwrap().is_empty());
    assert!(r.recording_files().unwrap().is_empty());
    assert!(r.recordings_after(0, 100).unwrap().is_empty());
    assert!(r.recording_totals().unwrap().is_empty());
    assert!(r.oldest_recordings(None, None, 100).unwrap().is_empty());
    assert!(r.oldest_recordings(Some("cam-a"), None, 100).unwrap().is_empty());
    assert!(r.garbage_files().unwrap().is_empty());
    assert!(r.retention_overrides().unwrap().is_empty());
    assert_eq!(r.retention_override("cam-a").unwrap(), None);
    // Empty batches are what an idle disk writer and an idle retention pass send.
    assert_eq!(r.put_recordings(&[]).unwrap(), Vec::<i64>::new());
    assert_eq!(r.delete_recordings(&[]).unwrap(), Vec::<String>::new());
    assert_eq!(r.delete_recordings(&[1, 2]).unwrap(), Vec::<String>::new(), "unknown ids are skipped");
    r.forget_garbage("cam-a/1.h264").expect("forgetting a file never queued does nothing");
    assert!(h.audit.rows(0, usize::MAX).unwrap().is_empty());
}

pub fn codec_parameters_get_one_id_each(b: &dyn Backend) {
    let h = b.connect();
    let base = h264(&AVCC, None);
    let id = h.recordings.video_params_id(&base).unwrap();
    assert_eq!(h.recordings.video_params_id(&base.clone()).unwrap(), id, "the same parameters, the same id");
    assert_eq!(b.connect().recordings.video_params_id(&base).unwrap(), id, "on another connection too");
    assert_eq!(h.recordings.video_params(id).unwrap(), Some(base.clone()), "extra data reads back byte for byte");
    let mut longer = AVCC.to_vec();
    longer.push(0x00);
    let variants = [
        StoredParams { codec: Codec::H265, rfc6381_codec: "hvc1.1.6.L120.90".into(), ..base.clone() },
        StoredParams { codec: Codec::H265, ..base.clone() },
        StoredParams { width: 1280, ..base.clone() },
        StoredParams { height: 720, ..base.clone() },
        StoredParams { width: u16::MAX, height: u16::MAX, ..base.clone() },
        StoredParams { rfc6381_codec: "avc1.4d401f".into(), ..base.clone() },
        h264(&longer, None),
        h264(&[], None),
        h264(&AVCC, Some((1, 1))),
        h264(&AVCC, Some((4, 3))),
        h264(&AVCC, Some((3, 4))),
        h264(&longer, Some((4, 3))),
    ];
    let mut ids = vec![id];
    for v in &variants {
        let vid = h.recordings.video_params_id(v).unwrap();
        assert!(!ids.contains(&vid), "{v:?} differs from every earlier set, yet got an id already given ({vid})");
        assert_eq!(h.recordings.video_params(vid).unwrap().as_ref(), Some(v));
        ids.push(vid);
    }
    for (v, vid) in variants.iter().zip(&ids[1..]) {
        assert_eq!(h.recordings.video_params_id(v).unwrap(), *vid, "{v:?} asked again");
    }
    assert_eq!(h.recordings.video_params(ids.iter().max().unwrap() + 1000).unwrap(), None);
}

pub fn new_recordings_get_ids_in_order_and_page_back_by_id(b: &dyn Backend) {
    let h = b.connect();
    let p = params_id(&h);
    let first = [
        recording("cam-b", StreamKind::Main, T0 + MINUTE, MINUTE, p, "cam-b/main/2.h264"),
        recording("cam-a", StreamKind::Sub, T0, MINUTE - 1, p, "cam-a/sub/1.h264"),
        recording("cam-a", StreamKind::Main, T0, MINUTE + 1, p, "cam-a/main/1.h264"),
    ];
    let second =
        [recording("cam-c", StreamKind::Main, T0 - MINUTE, MINUTE, p, "cam-c/main/1.h264"), recording("cam-c", StreamKind::Main, T0, 90, p, "ćam/ж.h264")];
    let first_ids = put(&h, &first);
    let second_ids = put(&h, &second);
    let ids: Vec<i64> = first_ids.iter().chain(&second_ids).copied().collect();
    assert_eq!((first_ids.len(), second_ids.len()), (3, 2), "one id per row");
    assert_eq!(sorted(ids.clone()).windows(2).filter(|w| w[0] == w[1]).count(), 0, "ids are never given twice: {ids:?}");
    assert!(ids.iter().all(|id| *id > 0), "{ids:?}");
    let rows: Vec<RecordingRow> = first.iter().chain(&second).cloned().collect();
    let expected = stored_as(&rows, &ids);
    assert_eq!(all(&h), expected, "each row is stored whole, under the id returned in its place");
    // `citywatch check` walks the index two at a time.
    let mut walked = Vec::new();
    let mut after = 0;
    loop {
        let page = h.recordings.recordings_after(after, 2).unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = last.id;
        walked.extend(page);
    }
    assert_eq!(walked, expected);
    assert_eq!(h.recordings.recordings_after(expected[2].id, 1).unwrap(), vec![expected[3].clone()], "ids above the one given, not at it");
    assert_eq!(
        sorted(h.recordings.recording_files().unwrap()),
        sorted(rows.iter().map(|r| (r.file.clone(), r.bytes)).collect::<Vec<_>>()),
        "every indexed file with its length"
    );
}

/// A batch is one transaction: a row the index refuses (a file another
/// recording holds) takes the batch's other inserts and updates with it.
pub fn a_batch_with_a_taken_file_writes_nothing(b: &dyn Backend) {
    let h = b.connect();
    let p = params_id(&h);
    let held = recording("cam-a", StreamKind::Main, T0, MINUTE / 2, p, "cam-a/main/1.h264");
    let held = RecordingRow { id: put(&h, std::slice::from_ref(&held))[0], ..held };
    let batch = [
        RecordingRow { duration_90k: MINUTE, frames: 900, bytes: 1, ..held.clone() },
        recording("cam-a", StreamKind::Main, T0 + MINUTE, MINUTE, p, "cam-a/main/2.h264"),
        recording("cam-b", StreamKind::Main, T0, MINUTE, p, "cam-a/main/1.h264"),
    ];
    let refused = h.recordings.put_recordings(&batch);
    assert!(matches!(refused, Err(RepoError::Conflict(_))), "a taken file is a conflict: {refused:?}");
    assert_eq!(all(&h), vec![held], "neither the update nor the other insert of the batch was kept");
}

pub fn an_update_changes_duration_frames_bytes_and_frame_index_only(b: &dyn Backend) {
    let h = b.connect();
    let p = params_id(&h);
    let other_params = h.recordings.video_params_id(&h264(&AVCC, Some((4, 3)))).unwrap();
    let started = recording("cam-a", StreamKind::Main, T0, MINUTE / 4, p, "cam-a/main/1.h264");
    let id = put(&h, std::slice::from_ref(&started))[0];
    let grown = RecordingRow { id, duration_90k: MINUTE / 2, frames: 450, bytes: 12_345_678_901, frame_index: vec![0xff; 9000], ..started.clone() };
    // What an update does not touch, changed in the row given: the index keeps what it has.
    let given = RecordingRow {
        camera_id: "cam-z".into(),
        stream: StreamKind::Sub,
        run_id: 99,
        start_90k: T0 + 1,
        params_id: other_params,
        file: "elsewhere.h264".into(),
        ..grown.clone()
    };
    assert_eq!(put(&h, &[given]), vec![id]);
    assert_eq!(all(&h), vec![grown.clone()]);
    // The disk writer's batch: the recording grows twice (the last wins)
    // and the next one starts.
    let once = RecordingRow { duration_90k: MINUTE * 3 / 4, frames: 675, bytes: 3, frame_index: vec![1, 2, 3], ..grown.clone() };
    let twice = RecordingRow { duration_90k: MINUTE, frames: 900, bytes: 4, frame_index: vec![0, 0, 0, 0], ..grown.clone() };
    let next = recording("cam-a", StreamKind::Main, T0 + MINUTE, MINUTE / 4, p, "cam-a/main/2.h264");
    let ids = put(&h, &[once, next.clone(), twice.clone()]);
    assert_eq!((ids[0], ids[2]), (id, id), "an update returns the id it was given, in its place");
    assert_ne!(ids[1], id);
    assert_eq!(all(&h), stored_as(&[twice, next], &[id, ids[1]]));
}

pub fn updating_a_deleted_recording_changes_nothing(b: &dyn Backend) {
    let h = b.connect();
    let p = params_id(&h);
    let rows = [
        recording("cam-a", StreamKind::Main, T0, MINUTE / 2, p, "cam-a/main/1.h264"),
        recording("cam-a", StreamKind::Sub, T0, MINUTE / 2, p, "cam-a/sub/1.h264"),
    ];
    let ids = put(&h, &rows);
    assert_eq!(h.recordings.delete_recordings(&[ids[0]]).unwrap(), vec!["cam-a/main/1.h264".to_owned()]);
    // Retention deleted the first while the disk writer was growing both.
    let late = [RecordingRow { id: ids[0], duration_90k: MINUTE, ..rows[0].clone() }, RecordingRow { id: ids[1], duration_90k: MINUTE, ..rows[1].clone() }];
    let never = RecordingRow { id: ids[1] + 1000, ..rows[1].clone() };
    assert_eq!(put(&h, &[late[0].clone(), late[1].clone(), never]), vec![ids[0], ids[1], ids[1] + 1000]);
    assert_eq!(all(&h), vec![late[1].clone()], "the deleted recording is not back, no row is made for an unknown id, the other grew");
    assert_eq!(h.recordings.recording_files().unwrap(), vec![("cam-a/sub/1.h264".to_owned(), late[1].bytes)]);
    assert_eq!(h.recordings.garbage_files().unwrap(), vec!["cam-a/main/1.h264".to_owned()], "its file stays queued for deletion");
}

pub fn recordings_between_takes_those_overlapping_start_to_end(b: &dyn Backend) {
    let h = b.connect();
    let p = params_id(&h);
    let (start, end) = (T0 + 10 * MINUTE, T0 + 11 * MINUTE);
    let main = |s: i64, d: i64, file: &str| recording("cam-a", StreamKind::Main, s, d, p, file);
    let rows = [
        main(start - MINUTE, MINUTE, "ends-at-start"),
        main(start - MINUTE, MINUTE + 1, "ends-just-after-start"),
        main(start, 10, "starts-at-start"),
        main(start + 10, 100, "inside"),
        main(end - 1, MINUTE, "starts-just-before-end"),
        main(end, MINUTE, "starts-at-end"),
        // The longest a recording can be, starting as early as one can and
        // still reach into the range: the query's lower bound on the start
        // (for its index) must not lose it.
        main(start - MAX_RECORDING_SPAN_90K + 1, MAX_RECORDING_SPAN_90K, "longest"),
        main(start - MAX_RECORDING_SPAN_90K, MAX_RECORDING_SPAN_90K, "longest-ending-at-start"),
        main(start - 3 * MINUTE, MINUTE, "long-before"),
        main(end + MINUTE, MINUTE, "long-after"),
    ];
    let ids = put(&h, &rows);
    let found = h.recordings.recordings_between("cam-a", StreamKind::Main, start, end).unwrap();
    assert_eq!(files(&found), ["longest", "ends-just-after-start", "starts-at-start", "inside", "starts-just-before-end"]);
    let longest = RecordingRow { id: ids[6], ..rows[6].clone() };
    assert_eq!(found[0], longest, "whole rows, frame index and all");
    let intervals = h.recordings.recording_intervals("cam-a", StreamKind::Main, start, end).unwrap();
    assert_eq!(intervals, found.iter().map(|r| (r.start_90k, r.duration_90k)).collect::<Vec<_>>(), "the same recordings, without their frame indexes");
    let first_tick = h.recordings.recordings_between("cam-a", StreamKind::Main, start, start + 1).unwrap();
    assert_eq!(files(&first_tick), ["longest", "ends-just-after-start", "starts-at-start"], "a range one tick long");
    assert!(h.recordings.recordings_between("cam-a", StreamKind::Main, end + 2 * MINUTE, end + 3 * MINUTE).unwrap().is_empty(), "a gap");
}

pub fn recordings_between_orders_by_start_then_id_and_keeps_to_its_stream(b: &dyn Backend) {
    let h = b.connect();
    let p = params_id(&h);
    let (start, end) = (T0, T0 + 10 * MINUTE);
    let rec = |camera: &str, stream: StreamKind, s: i64, file: &str| recording(camera, stream, s, MINUTE, p, file);
    put(&h, &[rec("cam-a", StreamKind::Main, start + 3 * MINUTE, "a-3"), rec("cam-a", StreamKind::Main, start + MINUTE, "a-1")]);
    put(&h, &[rec("cam-a", StreamKind::Sub, start + MINUTE, "a-sub-1"), rec("cam-b", StreamKind::Main, start + MINUTE, "b-1")]);
    put(&h, &[rec("cam-a", StreamKind::Main, start + MINUTE, "a-1-again"), rec("cam-a", StreamKind::Main, start, "a-0")]);
    put(&h, &[rec("cam-a2", StreamKind::Main, start + 2 * MINUTE, "a2-2"), rec("cam-", StreamKind::Main, start + 2 * MINUTE, "dash-2")]);
    let main = h.recordings.recordings_between("cam-a", StreamKind::Main, start, end).unwrap();
    assert_eq!(files(&main), ["a-0", "a-1", "a-1-again", "a-3"], "by start, then by id (the order they were indexed)");
    assert!(main[1].id < main[2].id);
    assert_eq!(
        h.recordings.recording_intervals("cam-a", StreamKind::Main, start, end).unwrap(),
        main.iter().map(|r| (r.start_90k, r.duration_90k)).collect::<Vec<_>>()
    );
    assert_eq!(files(&h.recordings.recordings_between("cam-a", StreamKind::Sub, start, end).unwrap()), ["a-sub-1"]);
    assert_eq!(h.recordings.recording_intervals("cam-a", StreamKind::Sub, start, end).unwrap(), [(start + MINUTE, MINUTE)]);
    assert_eq!(files(&h.recordings.recordings_between("cam-b", StreamKind::Main, start, end).unwrap()), ["b-1"]);
    assert!(h.recordings.recordings_between("cam-b", StreamKind::Sub, start, end).unwrap().is_empty());
    assert!(h.recordings.recordings_between("CAM-A", StreamKind::Main, start, end).unwrap().is_empty(), "camera ids are compared exactly");
}

pub fn recording_totals_count_per_camera_stream_by_camera_then_stream(b: &dyn Backend) {
    let h = b.connect();
    let p = params_id(&h);
    let big = 3_000_000_000; // each over 32 bits; their sum too
    let rec = |camera: &str, stream: StreamKind, i: i64, bytes: i64| RecordingRow {
        bytes,
        ..recording(camera, stream, T0 + i * MINUTE, MINUTE, p, &format!("{camera}/{}/{i}", stream.as_str()))
    };
    let ids = put(
        &h,
        &[
            rec("cam-b", StreamKind::Main, 0, 10),
            rec("cam-a", StreamKind::Sub, 0, 7),
            rec("cam-b", StreamKind::Main, 1, 20),
            rec("cam-a", StreamKind::Main, 0, big),
            rec("cam-a", StreamKind::Main, 1, big),
            rec("cam-a", StreamKind::Main, 2, big + 1),
        ],
    );
    let totals = |camera: &str, stream: StreamKind, recordings: i64, bytes: i64| RecordingTotals { camera_id: camera.into(), stream, recordings, bytes };
    assert_eq!(
        h.recordings.recording_totals().unwrap(),
        [totals("cam-a", StreamKind::Main, 3, 3 * big + 1), totals("cam-a", StreamKind::Sub, 1, 7), totals("cam-b", StreamKind::Main, 2, 30)]
    );
    h.recordings.delete_recordings(&[ids[1], ids[2]]).unwrap();
    assert_eq!(h.recordings.recording_totals().unwrap(), [totals("cam-a", StreamKind::Main, 3, 3 * big + 1), totals("cam-b", StreamKind::Main, 1, 10)]);
}

pub fn oldest_recordings_page_by_start_then_id_for_every_camera_or_one(b: &dyn Backend) {
    let h = b.connect();
    let p = params_id(&h);
    let rows = [
        recording("cam-a", StreamKind::Main, T0 + 30, MINUTE, p, "a-30"),
        recording("cam-b", StreamKind::Main, T0 + 10, MINUTE, p, "b-10"),
        recording("cam-a", StreamKind::Main, T0 + 20, MINUTE, p, "a-20"),
        recording("cam-a", StreamKind::Sub, T0 + 20, MINUTE, p, "a-sub-20"),
        recording("cam-b", StreamKind::Sub, T0 + 5, MINUTE, p, "b-sub-5"),
    ];
    let ids = put(&h, &rows);
    let summary = |i: usize| {
        let r = &rows[i];
        RecordingSummary {
            id: ids[i],
            camera_id: r.camera_id.clone(),
            stream: r.stream,
            start_90k: r.start_90k,
            duration_90k: r.duration_90k,
            bytes: r.bytes,
            file: r.file.clone(),
        }
    };
    // Retention pages through with the (start, id) of the last one it saw.
    let pages = |camera: Option<&str>, limit: usize| {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = h.recordings.oldest_recordings(camera, after, limit).unwrap();
            assert!(page.len() <= limit);
            let Some(last) = page.last() else { return out };
            after = Some((last.start_90k, last.id));
            out.push(page);
        }
    };
    // Two of cam-a's start together: the one with the lower id comes first.
    let (first_20, second_20) = if ids[2] < ids[3] { (summary(2), summary(3)) } else { (summary(3), summary(2)) };
    // Three at a time: the first page ends between the two.
    assert_eq!(pages(None, 3), [vec![summary(4), summary(1), first_20.clone()], vec![second_20.clone(), summary(0)]]);
    assert_eq!(pages(Some("cam-a"), 1), [vec![first_20.clone()], vec![second_20], vec![summary(0)]]);
    assert_eq!(pages(Some("cam-b"), 10), [vec![summary(4), summary(1)]]);
    assert!(pages(Some("cam-c"), 10).is_empty());
    assert_eq!(h.recordings.oldest_recordings(None, Some((T0 + 20, 0)), 1).unwrap(), [first_20], "after a key no row has");
}

pub fn deleting_recordings_queues_their_files_until_forgotten(b: &dyn Backend) {
    let h = b.connect();
    let p = params_id(&h);
    let rows: Vec<RecordingRow> = (0..3).map(|i| recording("cam-a", StreamKind::Main, T0 + i * MINUTE, MINUTE, p, &format!("cam-a/main/{i}.h264"))).collect();
    let ids = put(&h, &rows);
    let deleted = h.recordings.delete_recordings(&[ids[2], ids[2] + 1000, ids[0]]).unwrap();
    assert_eq!(sorted(deleted), ["cam-a/main/0.h264", "cam-a/main/2.h264"], "the files of the rows that were there");
    assert_eq!(all(&h), stored_as(&rows[1..2], &ids[1..2]));
    assert_eq!(h.recordings.recording_files().unwrap(), [(rows[1].file.clone(), rows[1].bytes)]);
    assert_eq!(sorted(h.recordings.garbage_files().unwrap()), ["cam-a/main/0.h264", "cam-a/main/2.h264"]);
    assert_eq!(h.recordings.delete_recordings(&[ids[0]]).unwrap(), Vec::<String>::new(), "a recording is deleted once");
    assert_eq!(h.recordings.garbage_files().unwrap().len(), 2);
    h.recordings.forget_garbage("cam-a/main/0.h264").unwrap();
    assert_eq!(h.recordings.garbage_files().unwrap(), ["cam-a/main/2.h264"]);
    h.recordings.forget_garbage("cam-a/main/0.h264").expect("forgetting twice does nothing");
    h.recordings.forget_garbage("never/queued.h264").expect("forgetting a file never queued does nothing");
    assert_eq!(h.recordings.garbage_files().unwrap(), ["cam-a/main/2.h264"]);
    // A new recording in a file still queued (the name came round again
    // before the old file was confirmed gone): deleted, it is queued once.
    let again = recording("cam-a", StreamKind::Main, T0 + 5 * MINUTE, MINUTE, p, "cam-a/main/2.h264");
    let again_id = put(&h, &[again])[0];
    assert_eq!(h.recordings.delete_recordings(&[again_id]).unwrap(), ["cam-a/main/2.h264"]);
    assert_eq!(h.recordings.garbage_files().unwrap(), ["cam-a/main/2.h264"]);
    h.recordings.forget_garbage("cam-a/main/2.h264").unwrap();
    assert!(h.recordings.garbage_files().unwrap().is_empty());
}

pub fn retention_limits_read_back_and_each_change_writes_one_entry(b: &dyn Backend) {
    let h = b.connect();
    let week = limits("cam-a", Some(7), None);
    let (before, first) = set(&h, &week, "ana");
    assert_eq!(before, None, "the camera followed the defaults");
    assert_eq!(h.recordings.retention_override("cam-a").unwrap(), Some(week.clone()));
    assert_eq!((first.seq, first.actor.as_str(), first.action.as_str(), first.target.as_str()), (1, "ana", "camera.retention", "cam-a"));
    let both = limits("cam-a", Some(30), Some(5_000_000_000_000));
    let (before, _) = set(&h, &both, "bob");
    assert_eq!(before, Some(week.clone()), "the limits replaced");
    assert_eq!(h.recordings.retention_override("cam-a").unwrap(), Some(both.clone()));
    let bytes_only = limits("cam-0", None, Some(1));
    set(&h, &bytes_only, "ana");
    assert_eq!(h.recordings.retention_overrides().unwrap(), [bytes_only.clone(), both.clone()], "by camera");
    let (before, _) = set(&h, &limits("cam-a", None, None), "ana");
    assert_eq!(before, Some(both.clone()));
    assert_eq!(h.recordings.retention_override("cam-a").unwrap(), None, "both None: back to the defaults");
    assert_eq!(h.recordings.retention_overrides().unwrap(), [bytes_only]);
    // Clearing limits a camera does not have changes nothing, and is still
    // a person's act the log records.
    let (before, last) = set(&h, &limits("cam-a", None, None), "bob");
    assert_eq!(before, None);
    assert_eq!(last.seq, 5);
    assert_eq!(h.recordings.retention_override("cam-a").unwrap(), None);
    let rows = h.audit.rows(0, usize::MAX).unwrap();
    assert_eq!(rows.len(), 5, "one entry per change");
    assert_eq!((&rows[0], &rows[4]), (&first, &last), "the rows returned are the rows stored");
    assert_one_chain(&rows);
    let details: Vec<Value> = h.audit.entries(0, usize::MAX).unwrap().into_iter().map(|e| e.detail).collect();
    assert_eq!(details[1], json!({"before": [7, null], "after": [30, 5_000_000_000_000_i64]}), "each entry made from what the change replaced");
    assert_eq!(details[3], json!({"before": [30, 5_000_000_000_000_i64], "after": null}));
}

pub fn limits_the_schema_refuses_write_nothing(b: &dyn Backend) {
    let h = b.connect();
    // The API refuses these first; the schema is the last line, for any
    // other writer of the database.
    for refused in [limits("cam-a", Some(0), None), limits("cam-a", None, Some(0)), limits("cam-a", Some(-1), Some(10)), limits("cam-a", Some(7), Some(-5))] {
        let outcome = h.recordings.set_retention_override(&refused, entry("ana", &refused));
        assert!(outcome.is_err(), "{refused:?} was stored: {outcome:?}");
    }
    assert_eq!(h.recordings.retention_override("cam-a").unwrap(), None);
    assert!(h.recordings.retention_overrides().unwrap().is_empty());
    assert!(h.audit.rows(0, usize::MAX).unwrap().is_empty(), "no entry for a change not made");
}

pub fn a_change_whose_audit_row_is_refused_is_not_made(b: &dyn Backend) {
    let h = b.connect();
    let week = limits("cam-a", Some(7), None);
    set(&h, &week, "ana");
    for change in [limits("cam-a", Some(30), Some(1_000)), limits("cam-a", None, None), limits("cam-b", Some(1), None)] {
        let refused = h.recordings.set_retention_override(&change, stale());
        assert!(matches!(refused, Err(RepoError::Stale(_))), "{change:?}: {refused:?}");
    }
    assert_eq!(h.recordings.retention_overrides().unwrap(), [week], "no change without its entry");
    assert_eq!(h.audit.rows(0, usize::MAX).unwrap().len(), 1);
    // The refused writes left the chain usable.
    set(&h, &limits("cam-b", Some(1), None), "ana");
    let rows = h.audit.rows(0, usize::MAX).unwrap();
    assert_eq!(rows.len(), 2);
    assert_one_chain(&rows);
}

/// Two disk writers (two nodes' connections) commit their batches at the
/// same moment, each growing its last batch's recordings and starting new
/// ones: every recording is there once, under the id its batch returned,
/// with its last update.
pub fn batches_put_at_once_on_two_connections_all_land_with_their_own_ids(b: &dyn Backend) {
    const BATCHES: i64 = 20;
    const EACH: i64 = 4;
    let p = params_id(&b.connect());
    let start = Arc::new(Barrier::new(2));
    let writers: Vec<_> = ["cam-a", "cam-b"]
        .into_iter()
        .map(|camera| {
            let (h, start) = (b.connect(), start.clone());
            std::thread::spawn(move || {
                let mut growing: Vec<RecordingRow> = Vec::new();
                let mut done = Vec::new();
                for batch in 0..=BATCHES {
                    let grown: Vec<RecordingRow> = growing.drain(..).map(|r| RecordingRow { duration_90k: MINUTE, frames: 900, ..r }).collect();
                    let new: Vec<RecordingRow> = if batch < BATCHES {
                        (0..EACH)
                            .map(|i| {
                                let n = batch * EACH + i;
                                recording(camera, StreamKind::Main, T0 + n * MINUTE, MINUTE / 2, p, &format!("{camera}/main/{n}.h264"))
                            })
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let rows: Vec<RecordingRow> = grown.iter().chain(&new).cloned().collect();
                    start.wait();
                    let ids = h.recordings.put_recordings(&rows).unwrap_or_else(|e| panic!("{camera}'s batch {batch}: {e}"));
                    assert_eq!(ids.len(), rows.len());
                    assert_eq!(&ids[..grown.len()], grown.iter().map(|r| r.id).collect::<Vec<_>>(), "an update returns its own id");
                    growing = new.into_iter().zip(&ids[grown.len()..]).map(|(r, id)| RecordingRow { id: *id, ..r }).collect();
                    done.extend(grown);
                }
                done
            })
        })
        .collect();
    let mut expected: Vec<RecordingRow> = writers.into_iter().flat_map(|w| w.join().expect("a disk writer panicked")).collect();
    expected.sort_by_key(|r| r.id);
    assert_eq!(expected.len() as i64, 2 * BATCHES * EACH);
    assert!(expected.windows(2).all(|w| w[0].id < w[1].id), "no id was given to two recordings");
    assert_eq!(all(&b.connect()), expected, "every recording once, under its id, fully grown");
}

/// Two people change retention limits from two connections at once, on
/// their own cameras and on one they share: every change is stored with
/// its own entry, in one chain, and each entry on the shared camera
/// names as replaced exactly what the entry before it set.
pub fn limits_set_at_once_make_one_chain_each_entry_naming_what_it_replaced(b: &dyn Backend) {
    const EACH: i64 = 15;
    let start = Arc::new(Barrier::new(2));
    let writers: Vec<_> = [("ana", 1), ("bob", 1000)]
        .into_iter()
        .map(|(who, base)| {
            let (h, start) = (b.connect(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for i in 0..EACH {
                    set(&h, &limits(&format!("{who}-{i:02}"), Some(base + i), None), who);
                    // Every few rounds back to the defaults, so that a
                    // change also finds no limits to replace.
                    let shared = if i % 5 == 4 { limits("shared", None, None) } else { limits("shared", None, Some(base + i)) };
                    set(&h, &shared, who);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("a writer panicked");
    }
    let h = b.connect();
    assert_eq!(h.recordings.retention_overrides().unwrap().iter().filter(|o| o.camera_id != "shared").count() as i64, 2 * EACH);
    let rows = h.audit.rows(0, usize::MAX).unwrap();
    assert_eq!(rows.len() as i64, 4 * EACH, "one entry per change");
    assert_one_chain(&rows);
    let shared: Vec<Value> = h.audit.entries(0, usize::MAX).unwrap().into_iter().filter(|e| e.target == "shared").map(|e| e.detail).collect();
    assert_eq!(shared[0]["before"], Value::Null);
    for pair in shared.windows(2) {
        assert_eq!(pair[1]["before"], pair[0]["after"], "no change was lost between reading the limits it replaced and writing its own");
    }
    let last = h.recordings.retention_override("shared").unwrap();
    assert_eq!(limits_json(last.as_ref()), shared[shared.len() - 1]["after"], "the stored limits are the last entry's");
}

/// Nodes (or a server and a tool) that start recording the same camera
/// model at the same moment ask for the same codec parameters at once,
/// each on its own connection: they get one id.
pub fn codec_parameters_asked_for_at_once_on_two_connections_get_one_id(backend: &dyn Backend) {
    const ROUNDS: u8 = 50;
    let start = Arc::new(Barrier::new(2));
    let askers: Vec<_> = (0..2)
        .map(|_| {
            let (h, start) = (backend.connect(), start.clone());
            std::thread::spawn(move || {
                (0..ROUNDS)
                    .map(|round| {
                        let params = StoredParams {
                            codec: Codec::H265,
                            width: 2560,
                            height: 1440,
                            rfc6381_codec: "hvc1.1.6.L150.90".into(),
                            extra_data: vec![0x01, round, 0x00, 0xff],
                            pixel_aspect_ratio: (round % 2 == 0).then_some((1, 1)),
                        };
                        start.wait();
                        h.recordings.video_params_id(&params).unwrap_or_else(|e| panic!("round {round}: {e}"))
                    })
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let ids: Vec<Vec<i64>> = askers.into_iter().map(|a| a.join().expect("an asker panicked")).collect();
    assert_eq!(ids[0], ids[1], "both connections got the same id for each set");
    let mut distinct = ids[0].clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), usize::from(ROUNDS), "and a new id for each new set");
}
