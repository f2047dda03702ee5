//! [`RecordingRepo`] on PostgreSQL: the recording index (codec parameters,
//! recordings, the files queued for deletion) and each camera's retention
//! limits.
//!
//! A disk writer's batch is one transaction of at most three statements,
//! whatever its size: the new rows' ids drawn from the sequence (as a
//! batch of events does, so each row learns its own id without relying on
//! the order of `RETURNING`), the new rows, then the updates.
//! A change of limits goes through [`PgStore::write_audited`], which locks
//! the audit chain's head first: the limits it replaces, which its entry
//! names, are read with no other audited write between that read and its
//! own write. Recordings are observations and are not audited.

use std::collections::{BTreeMap, HashMap};

use citywatch_audit::MakeRowAfter;
use citywatch_model::recordings::{RecordingRow, RecordingSummary, RecordingTotals, RetentionOverride, StoredParams, MAX_RECORDING_SPAN_90K};
use citywatch_model::{AuditRow, Codec, RepoError, StreamKind};
use citywatch_video::RecordingRepo;
use postgres::types::ToSql;
use postgres::{GenericClient, Row, Transaction};

use crate::error::pg_error;
use crate::PgStore;

/// The columns [`recording_from`] reads, in its order.
const COLUMNS: &str = "id, camera_id, stream, run_id, start_90k, duration_90k, frames, bytes, params_id, file, frame_index";
/// The columns [`summary_from`] reads, in its order.
const SUMMARY_COLUMNS: &str = "id, camera_id, stream, start_90k, duration_90k, bytes, file";
/// The set of codec parameters given as `$1` to `$7` (columns in order).
const FIND_PARAMS: &str = "SELECT id FROM video_params WHERE codec = $1 AND width = $2 AND height = $3 AND rfc6381_codec = $4 AND extra_data = $5
     AND par_h IS NOT DISTINCT FROM $6::integer AND par_v IS NOT DISTINCT FROM $7::integer";

impl RecordingRepo for PgStore {
    fn video_params_id(&self, params: &StoredParams) -> Result<i64, RepoError> {
        let (width, height, par_h, par_v) = stored_sizes(params)?;
        let key: [&(dyn ToSql + Sync); 7] = [&params.codec.as_str(), &width, &height, &params.rfc6381_codec, &params.extra_data, &par_h, &par_v];
        let mut client = self.client()?;
        if let Some(row) = client.query_opt(FIND_PARAMS, &key).map_err(pg_error)? {
            return Ok(row.get(0));
        }
        // Another node may add the same set between that read and this
        // insert: the unique key makes the insert wait for it and then do
        // nothing, and the read after it (a statement of its own, so a
        // snapshot of its own) finds the row that node committed.
        let inserted = client
            .query_opt(
                "INSERT INTO video_params (codec, width, height, rfc6381_codec, extra_data, par_h, par_v)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
                &key,
            )
            .map_err(pg_error)?;
        if let Some(row) = inserted {
            return Ok(row.get(0));
        }
        let found = client.query_opt(FIND_PARAMS, &key).map_err(pg_error)?;
        found.map(|row| row.get(0)).ok_or_else(|| RepoError::Backend("codec parameters were neither added nor found after a conflict".into()))
    }

    fn video_params(&self, id: i64) -> Result<Option<StoredParams>, RepoError> {
        let rows = self
            .client()?
            .query("SELECT id, codec, width, height, rfc6381_codec, extra_data, par_h, par_v FROM video_params WHERE id = $1", &[&id])
            .map_err(pg_error)?;
        rows.first().map(params_from).transpose()
    }

    fn put_recordings(&self, rows: &[RecordingRow]) -> Result<Vec<i64>, RepoError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg_error)?;
        let new: Vec<&RecordingRow> = rows.iter().filter(|r| r.id == 0).collect();
        let new_ids = insert_recordings(&mut tx, &new)?;
        // A recording may grow twice in one batch: the last update wins, as
        // it would run last. (One UPDATE joining a batch that names a row
        // twice would apply either, at the server's choice.)
        let updates: BTreeMap<i64, &RecordingRow> = rows.iter().filter(|r| r.id != 0).map(|r| (r.id, r)).collect();
        if !updates.is_empty() {
            let ids: Vec<i64> = updates.keys().copied().collect();
            let durations: Vec<i64> = updates.values().map(|r| r.duration_90k).collect();
            let frames: Vec<i64> = updates.values().map(|r| r.frames).collect();
            let bytes: Vec<i64> = updates.values().map(|r| r.bytes).collect();
            let indexes: Vec<&[u8]> = updates.values().map(|r| r.frame_index.as_slice()).collect();
            // A row deleted meanwhile (retention) matches nothing here and
            // stays deleted.
            tx.execute(
                "UPDATE recording AS r
                 SET duration_90k = batch.duration_90k, frames = batch.frames, bytes = batch.bytes, frame_index = batch.frame_index
                 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bytea[]) AS batch (id, duration_90k, frames, bytes, frame_index)
                 WHERE r.id = batch.id",
                &[&ids, &durations, &frames, &bytes, &indexes],
            )
            .map_err(pg_error)?;
        }
        tx.commit().map_err(pg_error)?;
        let mut new_ids = new_ids.into_iter();
        rows.iter()
            .map(|r| match r.id {
                0 => new_ids.next().ok_or_else(|| RepoError::Backend("fewer ids drawn than rows inserted".into())),
                id => Ok(id),
            })
            .collect()
    }

    fn recordings_between(&self, camera_id: &str, stream: StreamKind, start_90k: i64, end_90k: i64) -> Result<Vec<RecordingRow>, RepoError> {
        // The lower bound on start_90k keeps this a short range scan of
        // recording_camera_time rather than a walk over the camera's whole
        // history: no recording is longer than MAX_RECORDING_SPAN_90K.
        let rows = self
            .client()?
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM recording WHERE camera_id = $1 AND stream = $2
                     AND start_90k > $5 AND start_90k < $4 AND start_90k + duration_90k > $3 ORDER BY start_90k, id"
                ),
                &[&camera_id, &stream.as_str(), &start_90k, &end_90k, &start_90k.saturating_sub(MAX_RECORDING_SPAN_90K)],
            )
            .map_err(pg_error)?;
        rows.iter().map(recording_from).collect()
    }

    fn recording_intervals(&self, camera_id: &str, stream: StreamKind, start_90k: i64, end_90k: i64) -> Result<Vec<(i64, i64)>, RepoError> {
        let rows = self
            .client()?
            .query(
                "SELECT start_90k, duration_90k FROM recording WHERE camera_id = $1 AND stream = $2
                 AND start_90k > $5 AND start_90k < $4 AND start_90k + duration_90k > $3 ORDER BY start_90k, id",
                &[&camera_id, &stream.as_str(), &start_90k, &end_90k, &start_90k.saturating_sub(MAX_RECORDING_SPAN_90K)],
            )
            .map_err(pg_error)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn recording_files(&self) -> Result<Vec<(String, i64)>, RepoError> {
        let rows = self.client()?.query("SELECT file, bytes FROM recording ORDER BY id", &[]).map_err(pg_error)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn recordings_after(&self, after_id: i64, limit: usize) -> Result<Vec<RecordingRow>, RepoError> {
        let rows = self
            .client()?
            .query(&format!("SELECT {COLUMNS} FROM recording WHERE id > $1 ORDER BY id LIMIT $2"), &[&after_id, &sql_limit(limit)])
            .map_err(pg_error)?;
        rows.iter().map(recording_from).collect()
    }

    fn recording_totals(&self) -> Result<Vec<RecordingTotals>, RepoError> {
        // sum() of bigints is numeric; no camera stream holds 2^63 bytes.
        let rows = self
            .client()?
            .query(
                "SELECT camera_id, stream, count(*), coalesce(sum(bytes), 0)::bigint FROM recording GROUP BY camera_id, stream ORDER BY camera_id, stream",
                &[],
            )
            .map_err(pg_error)?;
        rows.iter()
            .map(|r| Ok(RecordingTotals { camera_id: r.get(0), stream: stream_from(r, 1, "camera totals")?, recordings: r.get(2), bytes: r.get(3) }))
            .collect()
    }

    fn oldest_recordings(&self, camera_id: Option<&str>, after: Option<(i64, i64)>, limit: usize) -> Result<Vec<RecordingSummary>, RepoError> {
        let (after_start, after_id) = after.unwrap_or((i64::MIN, i64::MIN));
        let limit = sql_limit(limit);
        let mut client = self.client()?;
        // Two statements rather than `$1 IS NULL OR …`, so that each walks
        // its own index.
        let rows = match camera_id {
            Some(camera_id) => client.query(
                &format!("SELECT {SUMMARY_COLUMNS} FROM recording WHERE camera_id = $1 AND (start_90k, id) > ($2, $3) ORDER BY start_90k, id LIMIT $4"),
                &[&camera_id, &after_start, &after_id, &limit],
            ),
            None => client.query(
                &format!("SELECT {SUMMARY_COLUMNS} FROM recording WHERE (start_90k, id) > ($1, $2) ORDER BY start_90k, id LIMIT $3"),
                &[&after_start, &after_id, &limit],
            ),
        }
        .map_err(pg_error)?;
        rows.iter().map(summary_from).collect()
    }

    fn delete_recordings(&self, ids: &[i64]) -> Result<Vec<String>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg_error)?;
        let deleted = tx.query("DELETE FROM recording WHERE id = ANY($1) RETURNING id, file", &[&ids]).map_err(pg_error)?;
        let mut files: HashMap<i64, String> = deleted.iter().map(|r| (r.get(0), r.get(1))).collect();
        let queued: Vec<&String> = files.values().collect();
        // A file still queued from an earlier recording of the same name
        // stays queued once.
        tx.execute("INSERT INTO garbage (file) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", &[&queued]).map_err(pg_error)?;
        tx.commit().map_err(pg_error)?;
        // In the order the ids were given, as SQLite's backend answers.
        Ok(ids.iter().filter_map(|id| files.remove(id)).collect())
    }

    fn garbage_files(&self) -> Result<Vec<String>, RepoError> {
        let rows = self.client()?.query("SELECT file FROM garbage ORDER BY file", &[]).map_err(pg_error)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn forget_garbage(&self, file: &str) -> Result<(), RepoError> {
        self.client()?.execute("DELETE FROM garbage WHERE file = $1", &[&file]).map_err(pg_error)?;
        Ok(())
    }

    fn retention_overrides(&self) -> Result<Vec<RetentionOverride>, RepoError> {
        let rows = self.client()?.query("SELECT camera_id, max_age_days, max_bytes FROM retention_override ORDER BY camera_id", &[]).map_err(pg_error)?;
        Ok(rows.iter().map(override_from).collect())
    }

    fn retention_override(&self, camera_id: &str) -> Result<Option<RetentionOverride>, RepoError> {
        override_in(&mut *self.client()?, camera_id)
    }

    fn set_retention_override(
        &self,
        limits: &RetentionOverride,
        audit: MakeRowAfter<'_, Option<RetentionOverride>>,
    ) -> Result<(Option<RetentionOverride>, AuditRow), RepoError> {
        let set = |tx: &mut Transaction<'_>| {
            let before = override_in(tx, &limits.camera_id)?;
            if limits.is_default() {
                tx.execute("DELETE FROM retention_override WHERE camera_id = $1", &[&limits.camera_id]).map_err(pg_error)?;
            } else {
                tx.execute(
                    "INSERT INTO retention_override (camera_id, max_age_days, max_bytes) VALUES ($1, $2, $3)
                     ON CONFLICT (camera_id) DO UPDATE SET max_age_days = excluded.max_age_days, max_bytes = excluded.max_bytes",
                    &[&limits.camera_id, &limits.max_age_days, &limits.max_bytes],
                )
                .map_err(pg_error)?;
            }
            Ok(before)
        };
        self.write_audited(set, audit)
    }
}

/// Inserts `rows` (all new) in one statement; returns their ids, in order.
fn insert_recordings(tx: &mut Transaction<'_>, rows: &[&RecordingRow]) -> Result<Vec<i64>, RepoError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(rows.len()).map_err(|_| RepoError::Backend("too many recordings in one batch".into()))?;
    let mut ids: Vec<i64> = tx
        .query("SELECT nextval(pg_get_serial_sequence('recording', 'id')) FROM generate_series(1::bigint, $1::bigint)", &[&count])
        .map_err(pg_error)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Ascending, so that a batch's recordings are indexed in its order, as
    // they are on SQLite.
    ids.sort_unstable();
    let cameras: Vec<&str> = rows.iter().map(|r| r.camera_id.as_str()).collect();
    let streams: Vec<&str> = rows.iter().map(|r| r.stream.as_str()).collect();
    let column = |f: fn(&RecordingRow) -> i64| rows.iter().map(|r| f(r)).collect::<Vec<i64>>();
    let (runs, starts, durations, frames, bytes, params) =
        (column(|r| r.run_id), column(|r| r.start_90k), column(|r| r.duration_90k), column(|r| r.frames), column(|r| r.bytes), column(|r| r.params_id));
    let files: Vec<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    let indexes: Vec<&[u8]> = rows.iter().map(|r| r.frame_index.as_slice()).collect();
    tx.execute(
        "INSERT INTO recording (id, camera_id, stream, run_id, start_90k, duration_90k, frames, bytes, params_id, file, frame_index)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],
                              $9::bigint[], $10::text[], $11::bytea[])",
        &[&ids, &cameras, &streams, &runs, &starts, &durations, &frames, &bytes, &params, &files, &indexes],
    )
    .map_err(pg_error)?;
    Ok(ids)
}

/// What the index stores of a set of parameters in its own types:
/// width, height and the pixel aspect ratio's terms as `integer`.
fn stored_sizes(p: &StoredParams) -> Result<(i32, i32, Option<i32>, Option<i32>), RepoError> {
    let (par_h, par_v) = match p.pixel_aspect_ratio {
        None => (None, None),
        Some((h, v)) => match (i32::try_from(h), i32::try_from(v)) {
            (Ok(h), Ok(v)) => (Some(h), Some(v)),
            _ => return Err(RepoError::Backend(format!("a pixel aspect ratio of {h}:{v} is beyond what the index keeps (31 bits a term)"))),
        },
    };
    Ok((i32::from(p.width), i32::from(p.height), par_h, par_v))
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn corrupt(what: &str, value: impl std::fmt::Display) -> RepoError {
    RepoError::Corrupt(format!("{what}: {value}"))
}

fn stream_from(r: &Row, column: usize, whose: &str) -> Result<StreamKind, RepoError> {
    let text: String = r.get(column);
    text.parse().map_err(|e| corrupt(&format!("the stream of {whose}"), e))
}

fn params_from(r: &Row) -> Result<StoredParams, RepoError> {
    let id: i64 = r.get(0);
    let codec: String = r.get(1);
    let size = |column: usize| {
        let n: i32 = r.get(column);
        u16::try_from(n).map_err(|_| corrupt(&format!("codec parameters {id}"), format!("a width or height of {n}")))
    };
    let par = |column: usize| {
        r.get::<_, Option<i32>>(column)
            .map(|n| u32::try_from(n).map_err(|_| corrupt(&format!("codec parameters {id}"), format!("a pixel aspect term of {n}"))))
            .transpose()
    };
    let (par_h, par_v) = (par(6)?, par(7)?);
    Ok(StoredParams {
        codec: codec.parse::<Codec>().map_err(|e| corrupt(&format!("codec parameters {id}"), e))?,
        width: size(2)?,
        height: size(3)?,
        rfc6381_codec: r.get(4),
        extra_data: r.get(5),
        pixel_aspect_ratio: par_h.zip(par_v),
    })
}

fn recording_from(r: &Row) -> Result<RecordingRow, RepoError> {
    let id: i64 = r.get(0);
    Ok(RecordingRow {
        id,
        camera_id: r.get(1),
        stream: stream_from(r, 2, &format!("recording {id}"))?,
        run_id: r.get(3),
        start_90k: r.get(4),
        duration_90k: r.get(5),
        frames: r.get(6),
        bytes: r.get(7),
        params_id: r.get(8),
        file: r.get(9),
        frame_index: r.get(10),
    })
}

fn summary_from(r: &Row) -> Result<RecordingSummary, RepoError> {
    let id: i64 = r.get(0);
    Ok(RecordingSummary {
        id,
        camera_id: r.get(1),
        stream: stream_from(r, 2, &format!("recording {id}"))?,
        start_90k: r.get(3),
        duration_90k: r.get(4),
        bytes: r.get(5),
        file: r.get(6),
    })
}

fn override_from(r: &Row) -> RetentionOverride {
    RetentionOverride { camera_id: r.get(0), max_age_days: r.get(1), max_bytes: r.get(2) }
}

fn override_in(client: &mut impl GenericClient, camera_id: &str) -> Result<Option<RetentionOverride>, RepoError> {
    let rows = client.query("SELECT camera_id, max_age_days, max_bytes FROM retention_override WHERE camera_id = $1", &[&camera_id]).map_err(pg_error)?;
    Ok(rows.first().map(override_from))
}
