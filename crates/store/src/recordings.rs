//! Rows of the recording index. The video crate decides what goes in them
//! and when (write order, recovery); this module only keeps them.

use std::str::FromStr;

pub use citywatch_model::recordings::{RecordingRow, StoredParams, MAX_RECORDING_SPAN_90K};
use citywatch_model::StreamKind;
use rusqlite::{params, OptionalExtension, Row};

use crate::{Result, Store};

pub(crate) const COLUMNS: &str = "id, camera_id, stream, run_id, start_90k, duration_90k, frames, bytes, params_id, file, frame_index";

impl Store {
    /// The id of these parameters, adding them if new.
    pub fn video_params_id(&self, p: &StoredParams) -> Result<i64> {
        let mut conn = self.conn();
        // Looked up and added under the write lock: two processes adding the
        // same parameters at once must get one id, not two.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (par_h, par_v) = p.pixel_aspect_ratio.map_or((None, None), |(h, v)| (Some(h), Some(v)));
        let found = tx
            .query_row(
                "SELECT id FROM video_params WHERE codec = ?1 AND width = ?2 AND height = ?3 AND rfc6381_codec = ?4
                 AND extra_data = ?5 AND par_h IS ?6 AND par_v IS ?7",
                params![p.codec.as_str(), p.width, p.height, p.rfc6381_codec, p.extra_data, par_h, par_v],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
        tx.execute(
            "INSERT INTO video_params (codec, width, height, rfc6381_codec, extra_data, par_h, par_v) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![p.codec.as_str(), p.width, p.height, p.rfc6381_codec, p.extra_data, par_h, par_v],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    pub fn video_params(&self, id: i64) -> Result<Option<StoredParams>> {
        Ok(self
            .conn()
            .query_row("SELECT codec, width, height, rfc6381_codec, extra_data, par_h, par_v FROM video_params WHERE id = ?1", [id], |r| {
                let par: (Option<u32>, Option<u32>) = (r.get(5)?, r.get(6)?);
                Ok(StoredParams {
                    codec: named(r, 0)?,
                    width: r.get(1)?,
                    height: r.get(2)?,
                    rfc6381_codec: r.get(3)?,
                    extra_data: r.get(4)?,
                    pixel_aspect_ratio: par.0.zip(par.1),
                })
            })
            .optional()?)
    }

    /// Inserts a new recording row (id 0 → assigned) or replaces the row
    /// with the same id (a recording grows GOP by GOP). Returns the id.
    pub fn put_recording(&self, r: &RecordingRow) -> Result<i64> {
        let conn = self.conn();
        if r.id == 0 {
            conn.execute(
                "INSERT INTO recording (camera_id, stream, run_id, start_90k, duration_90k, frames, bytes, params_id, file, frame_index)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![r.camera_id, r.stream.as_str(), r.run_id, r.start_90k, r.duration_90k, r.frames, r.bytes, r.params_id, r.file, r.frame_index],
            )?;
            return Ok(conn.last_insert_rowid());
        }
        conn.execute(
            "UPDATE recording SET duration_90k = ?2, frames = ?3, bytes = ?4, frame_index = ?5 WHERE id = ?1",
            params![r.id, r.duration_90k, r.frames, r.bytes, r.frame_index],
        )?;
        Ok(r.id)
    }

    /// Inserts or updates (as [`Store::put_recording`]) many rows in one
    /// transaction: the disk writer's commit of a batch of GOPs. Returns
    /// their ids, in order.
    pub fn put_recordings(&self, rows: &[RecordingRow]) -> Result<Vec<i64>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut ids = Vec::with_capacity(rows.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO recording (camera_id, stream, run_id, start_90k, duration_90k, frames, bytes, params_id, file, frame_index)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut update = tx.prepare_cached("UPDATE recording SET duration_90k = ?2, frames = ?3, bytes = ?4, frame_index = ?5 WHERE id = ?1")?;
            for r in rows {
                if r.id == 0 {
                    insert.execute(params![
                        r.camera_id,
                        r.stream.as_str(),
                        r.run_id,
                        r.start_90k,
                        r.duration_90k,
                        r.frames,
                        r.bytes,
                        r.params_id,
                        r.file,
                        r.frame_index
                    ])?;
                    ids.push(tx.last_insert_rowid());
                } else {
                    update.execute(params![r.id, r.duration_90k, r.frames, r.bytes, r.frame_index])?;
                    ids.push(r.id);
                }
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Inserts many finished recordings in one transaction (fixtures,
    /// benchmarks, migrations from other recorders). Returns their ids.
    pub fn insert_recordings(&self, rows: &[RecordingRow]) -> Result<Vec<i64>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut ids = Vec::with_capacity(rows.len());
        {
            let mut stmt = tx.prepare(
                "INSERT INTO recording (camera_id, stream, run_id, start_90k, duration_90k, frames, bytes, params_id, file, frame_index)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for r in rows {
                stmt.execute(params![
                    r.camera_id,
                    r.stream.as_str(),
                    r.run_id,
                    r.start_90k,
                    r.duration_90k,
                    r.frames,
                    r.bytes,
                    r.params_id,
                    r.file,
                    r.frame_index
                ])?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Recordings of a camera's stream overlapping [start, end), in time order.
    pub fn recordings_between(&self, camera_id: &str, stream: StreamKind, start_90k: i64, end_90k: i64) -> Result<Vec<RecordingRow>> {
        let conn = self.conn();
        // The lower bound on start_90k keeps this a short index range scan
        // instead of a walk over the camera's whole history: no recording
        // is longer than MAX_RECORDING_SPAN_90K.
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM recording WHERE camera_id = ?1 AND stream = ?2
             AND start_90k > ?5 AND start_90k < ?4 AND start_90k + duration_90k > ?3 ORDER BY start_90k, id"
        ))?;
        let rows = stmt.query_map(params![camera_id, stream.as_str(), start_90k, end_90k, start_90k - MAX_RECORDING_SPAN_90K], recording_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// (start, duration) of a camera's stream's recordings overlapping
    /// [start, end), in time order: `recordings_between` without the frame
    /// indexes, for summaries read often.
    pub fn recording_intervals(&self, camera_id: &str, stream: StreamKind, start_90k: i64, end_90k: i64) -> Result<Vec<(i64, i64)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT start_90k, duration_90k FROM recording WHERE camera_id = ?1 AND stream = ?2
             AND start_90k > ?5 AND start_90k < ?4 AND start_90k + duration_90k > ?3 ORDER BY start_90k, id",
        )?;
        let rows =
            stmt.query_map(params![camera_id, stream.as_str(), start_90k, end_90k, start_90k - MAX_RECORDING_SPAN_90K], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every recorded file name (for recovery: files on disk without a row are garbage).
    pub fn recording_files(&self) -> Result<Vec<(String, i64)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT file, bytes FROM recording")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The largest run id so far (new runs take the next one).
    pub fn max_run_id(&self) -> Result<i64> {
        Ok(self.conn().query_row("SELECT coalesce(max(run_id), 0) FROM recording", [], |r| r.get(0))?)
    }

    /// Removes recordings and queues their files for deletion, atomically.
    pub fn delete_recordings(&self, ids: &[i64]) -> Result<Vec<String>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut files = Vec::new();
        for id in ids {
            if let Some(file) = tx.query_row("SELECT file FROM recording WHERE id = ?1", [id], |r| r.get::<_, String>(0)).optional()? {
                tx.execute("INSERT OR IGNORE INTO garbage (file) VALUES (?1)", [&file])?;
                tx.execute("DELETE FROM recording WHERE id = ?1", [id])?;
                files.push(file);
            }
        }
        tx.commit()?;
        Ok(files)
    }

    pub fn garbage_files(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT file FROM garbage")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn forget_garbage(&self, file: &str) -> Result<()> {
        self.conn().execute("DELETE FROM garbage WHERE file = ?1", [file])?;
        Ok(())
    }
}

pub(crate) fn recording_from_row(r: &Row<'_>) -> rusqlite::Result<RecordingRow> {
    Ok(RecordingRow {
        id: r.get(0)?,
        camera_id: r.get(1)?,
        stream: named(r, 2)?,
        run_id: r.get(3)?,
        start_90k: r.get(4)?,
        duration_90k: r.get(5)?,
        frames: r.get(6)?,
        bytes: r.get(7)?,
        params_id: r.get(8)?,
        file: r.get(9)?,
        frame_index: r.get(10)?,
    })
}

/// Reads a text column holding one of the model's named values ("main",
/// "h264"); anything else is a conversion error naming the column.
pub(crate) fn named<T>(r: &Row<'_>, column: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = r.get(column)?;
    text.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e)))
}
