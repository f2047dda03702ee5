//! What retention needs from the index: per-camera limits that override the
//! configured defaults, totals per camera stream, recordings oldest first
//! without their frame index, and a paged walk over every recording for
//! `citywatch check`. Deciding what to delete is the video crate's job.

use citywatch_model::{AuditRow, ChainHead};
use rusqlite::{params, Connection, OptionalExtension};

use crate::recordings::{named, recording_from_row, COLUMNS};
use crate::{RecordingRow, Result, Store};

pub use citywatch_model::recordings::{RecordingSummary, RecordingTotals, RetentionOverride};

const SUMMARY: &str = "id, camera_id, stream, start_90k, duration_90k, bytes, file";

impl Store {
    pub fn retention_overrides(&self) -> Result<Vec<RetentionOverride>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT camera_id, max_age_days, max_bytes FROM retention_override ORDER BY camera_id")?;
        let rows = stmt.query_map([], |r| Ok(RetentionOverride { camera_id: r.get(0)?, max_age_days: r.get(1)?, max_bytes: r.get(2)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn retention_override(&self, camera_id: &str) -> Result<Option<RetentionOverride>> {
        override_in(&self.conn(), camera_id)
    }

    /// Sets a camera's limits and appends the entry `audit` makes from the
    /// limits they replace, in one transaction; returns those limits.
    pub fn set_retention_override_audited(
        &self,
        o: &RetentionOverride,
        audit: impl FnOnce(&Option<RetentionOverride>, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(Option<RetentionOverride>, AuditRow)> {
        self.write_audited(
            |tx| {
                let before = override_in(tx, &o.camera_id)?;
                put_override(tx, o)?;
                Ok(before)
            },
            audit,
        )
    }

    /// Sets a camera's limits; with both `None` the camera follows the defaults again.
    pub fn set_retention_override(&self, o: &RetentionOverride) -> Result<()> {
        put_override(&self.conn(), o)
    }

    /// Recordings and bytes per camera stream.
    pub fn recording_totals(&self) -> Result<Vec<RecordingTotals>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT camera_id, stream, count(*), coalesce(sum(bytes), 0) FROM recording GROUP BY camera_id, stream ORDER BY camera_id, stream")?;
        let rows = stmt.query_map([], |r| Ok(RecordingTotals { camera_id: r.get(0)?, stream: named(r, 1)?, recordings: r.get(2)?, bytes: r.get(3)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Up to `limit` recordings, oldest first, after the (start, id) key
    /// `after` (keyset paging); only `camera_id`'s when given.
    pub fn oldest_recordings(&self, camera_id: Option<&str>, after: Option<(i64, i64)>, limit: usize) -> Result<Vec<RecordingSummary>> {
        let conn = self.conn();
        let (after_start, after_id) = after.unwrap_or((i64::MIN, i64::MIN));
        // Two statements rather than `?1 IS NULL OR ...`, so each can walk its index.
        let filter = if camera_id.is_some() { "camera_id = ?1 AND" } else { "?1 IS NULL AND" };
        let mut stmt = conn.prepare(&format!("SELECT {SUMMARY} FROM recording WHERE {filter} (start_90k, id) > (?2, ?3) ORDER BY start_90k, id LIMIT ?4"))?;
        let rows = stmt.query_map(params![camera_id, after_start, after_id, limit as i64], |r| {
            Ok(RecordingSummary {
                id: r.get(0)?,
                camera_id: r.get(1)?,
                stream: named(r, 2)?,
                start_90k: r.get(3)?,
                duration_90k: r.get(4)?,
                bytes: r.get(5)?,
                file: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Up to `limit` whole recordings with ids above `after_id`, by id.
    pub fn recordings_after(&self, after_id: i64, limit: usize) -> Result<Vec<RecordingRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM recording WHERE id > ?1 ORDER BY id LIMIT ?2"))?;
        let rows = stmt.query_map(params![after_id, limit as i64], recording_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn override_in(conn: &Connection, camera_id: &str) -> Result<Option<RetentionOverride>> {
    Ok(conn
        .query_row("SELECT camera_id, max_age_days, max_bytes FROM retention_override WHERE camera_id = ?1", [camera_id], |r| {
            Ok(RetentionOverride { camera_id: r.get(0)?, max_age_days: r.get(1)?, max_bytes: r.get(2)? })
        })
        .optional()?)
}

fn put_override(conn: &Connection, o: &RetentionOverride) -> Result<()> {
    if o.is_default() {
        conn.execute("DELETE FROM retention_override WHERE camera_id = ?1", [&o.camera_id])?;
    } else {
        conn.execute(
            "INSERT INTO retention_override (camera_id, max_age_days, max_bytes) VALUES (?1, ?2, ?3)
             ON CONFLICT(camera_id) DO UPDATE SET max_age_days = excluded.max_age_days, max_bytes = excluded.max_bytes",
            params![o.camera_id, o.max_age_days, o.max_bytes],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoredParams;
    use citywatch_model::{Codec, StreamKind};

    #[test]
    fn overrides_totals_and_paging() {
        let store = Store::open_in_memory().unwrap();
        let o = RetentionOverride { camera_id: "c1".into(), max_age_days: Some(7), max_bytes: None };
        store.set_retention_override(&o).unwrap();
        assert_eq!(store.retention_override("c1").unwrap(), Some(o.clone()));
        store.set_retention_override(&RetentionOverride { max_bytes: Some(10), ..o.clone() }).unwrap();
        assert_eq!(store.retention_overrides().unwrap()[0].max_bytes, Some(10));
        store.set_retention_override(&RetentionOverride { max_age_days: None, max_bytes: None, ..o }).unwrap();
        assert!(store.retention_overrides().unwrap().is_empty());

        let p = store
            .video_params_id(&StoredParams {
                codec: Codec::H264,
                width: 1,
                height: 1,
                rfc6381_codec: "avc1".into(),
                extra_data: vec![],
                pixel_aspect_ratio: None,
            })
            .unwrap();
        for (i, (cam, start)) in [("c1", 30), ("c2", 10), ("c1", 20), ("c1", 20)].iter().enumerate() {
            let row = RecordingRow {
                id: 0,
                camera_id: (*cam).into(),
                stream: StreamKind::Main,
                run_id: 1,
                start_90k: *start,
                duration_90k: 5,
                frames: 1,
                bytes: 100 + i as i64,
                params_id: p,
                file: format!("f{i}"),
                frame_index: vec![],
            };
            store.put_recording(&row).unwrap();
        }
        let all: Vec<_> = store.oldest_recordings(None, None, 10).unwrap().into_iter().map(|r| r.file).collect();
        assert_eq!(all, ["f1", "f2", "f3", "f0"]);
        let first = store.oldest_recordings(Some("c1"), None, 2).unwrap();
        assert_eq!(first.iter().map(|r| r.file.as_str()).collect::<Vec<_>>(), ["f2", "f3"]);
        let next = store.oldest_recordings(Some("c1"), Some((first[1].start_90k, first[1].id)), 2).unwrap();
        assert_eq!(next.iter().map(|r| r.file.as_str()).collect::<Vec<_>>(), ["f0"]);
        let totals = store.recording_totals().unwrap();
        assert_eq!(totals[0], RecordingTotals { camera_id: "c1".into(), stream: StreamKind::Main, recordings: 3, bytes: 100 + 102 + 103 });
        let paged = store.recordings_after(2, 10).unwrap();
        assert_eq!(paged.iter().map(|r| r.id).collect::<Vec<_>>(), [3, 4]);
    }
}
