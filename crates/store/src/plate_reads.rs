//! Plate reads: every plate a camera read, kept for plate-history search;
//! those that hit no hotlist are purged after a short window. Matching,
//! permissions and audit are the callers'; this module only keeps the rows.

use chrono::{DateTime, Utc};
use citywatch_model::{AuditRow, ChainHead};
use rusqlite::{params, Row};

pub use citywatch_model::plates::{NewPlateRead, PlatePurge, PlateRead, PlateReadFilter};

use crate::time::{from_text, to_text};
use crate::{Result, Store};

const COLUMNS: &str = "id, time, camera_id, district, plate, plate_key, confidence, lat, lon, track_id, crop_ref, event_id, hit";

impl Store {
    pub fn add_plate_read(&self, r: &NewPlateRead) -> Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO plate_read (time, camera_id, district, plate, plate_key, confidence, lat, lon, track_id, crop_ref, event_id, hit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                to_text(r.time),
                r.camera_id,
                r.district,
                r.plate,
                r.plate_key,
                r.confidence as f64,
                r.lat,
                r.lon,
                r.track_id,
                r.crop_ref,
                r.event_id,
                r.hit
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Matching reads, newest first.
    pub fn plate_reads(&self, f: &PlateReadFilter) -> Result<Vec<PlateRead>> {
        // The key holds only A-Z and 0-9, so LIKE's own wildcards cannot come from it.
        let like: String = f.pattern.chars().map(|c| if c == '*' { '%' } else { c }).collect();
        let mut sql = format!("SELECT {COLUMNS} FROM plate_read WHERE plate_key LIKE ?1");
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(like)];
        if let Some(s) = f.start {
            args.push(Box::new(to_text(s)));
            sql.push_str(&format!(" AND time >= ?{}", args.len()));
        }
        if let Some(e) = f.end {
            args.push(Box::new(to_text(e)));
            sql.push_str(&format!(" AND time < ?{}", args.len()));
        }
        if let Some(ds) = &f.districts {
            let mut marks = Vec::new();
            for d in ds {
                args.push(Box::new(d.clone()));
                marks.push(format!("?{}", args.len()));
            }
            sql.push_str(&format!(" AND district IN ({})", marks.join(", ")));
        }
        sql.push_str(&format!(" ORDER BY time DESC, id DESC LIMIT {}", f.limit));
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter().map(|a| a.as_ref())), raw_read)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish_read).collect()
    }

    /// Deletes reads that hit no hotlist and are older than `before`, with
    /// their `plate_read` events unless an alert holds them, in one
    /// transaction; when anything was deleted, the audit entry `audit`
    /// makes of the counts commits with it (a purge that found nothing
    /// leaves no entry: it runs every few minutes).
    pub fn purge_plate_reads_audited(
        &self,
        before: DateTime<Utc>,
        audit: impl FnOnce(&PlatePurge, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(PlatePurge, Option<AuditRow>)> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let cutoff = to_text(before);
        let events = tx.execute(
            "DELETE FROM event WHERE type = 'plate_read'
               AND id IN (SELECT event_id FROM plate_read WHERE hit = 0 AND time < ?1 AND event_id IS NOT NULL)
               AND id NOT IN (SELECT event_id FROM alert_event)",
            [&cutoff],
        )?;
        let reads = tx.execute("DELETE FROM plate_read WHERE hit = 0 AND time < ?1", [&cutoff])?;
        let purged = PlatePurge { reads, events };
        let row = if reads > 0 || events > 0 { Some(crate::audit_rows::append_in(&tx, |head| audit(&purged, head))?) } else { None };
        tx.commit()?;
        Ok((purged, row))
    }
}

type RawRead = (i64, String, String, Option<String>, String, String, f64, Option<f64>, Option<f64>, Option<i64>, Option<String>, Option<i64>, bool);

fn raw_read(r: &Row) -> rusqlite::Result<RawRead> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?))
}

fn finish_read(r: RawRead) -> Result<PlateRead> {
    let (id, time, camera_id, district, plate, plate_key, confidence, lat, lon, track_id, crop_ref, event_id, hit) = r;
    Ok(PlateRead {
        id,
        read: NewPlateRead {
            time: from_text(&time)?,
            camera_id,
            district,
            plate,
            plate_key,
            confidence: confidence as f32,
            lat,
            lon,
            track_id,
            crop_ref,
            event_id,
            hit,
        },
    })
}
