//! [`PlateRepo`] on PostgreSQL: hotlists, their entries and plate reads.
//! An import, an entry's deletion and a purge commit with their audit
//! entry (the chain's head locked first, as every audited write here).

use chrono::{DateTime, Utc};
use citywatch_audit::MakeRowAfter;
use citywatch_hotlists::{ImportCounts, PlateRepo};
use citywatch_model::plates::{Hotlist, HotlistEntry, NewHotlistEntry, NewPlateRead, PlatePurge, PlateRead, PlateReadFilter};
use citywatch_model::{AuditRow, RepoError};
use postgres::types::ToSql;
use postgres::{Row, Transaction};

use crate::error::pg_error;
use crate::params::Params;
use crate::PgStore;

/// The columns [`entry_from`] reads, in its order.
const ENTRY_COLUMNS: &str = "e.id, e.list, h.covert, e.plate, e.plate_key, e.source, e.reason, e.priority, e.expires_at, e.created_by, e.created_at";
/// The columns [`read_from`] reads, in its order.
const READ_COLUMNS: &str = "id, time, camera_id, district, plate, plate_key, confidence, lat, lon, track_id, crop_ref, event_id, hit";
const LIST_QUERY: &str = "SELECT h.name, h.covert, h.created_by, h.created_at, (SELECT count(*) FROM hotlist_entry e WHERE e.list = h.name) FROM hotlist h";

impl PlateRepo for PgStore {
    fn hotlist(&self, name: &str) -> Result<Option<Hotlist>, RepoError> {
        let rows = self.client()?.query(&format!("{LIST_QUERY} WHERE h.name = $1"), &[&name]).map_err(pg_error)?;
        Ok(rows.first().map(list_from))
    }

    fn hotlists(&self) -> Result<Vec<Hotlist>, RepoError> {
        let rows = self.client()?.query(&format!("{LIST_QUERY} ORDER BY h.name"), &[]).map_err(pg_error)?;
        Ok(rows.iter().map(list_from).collect())
    }

    fn import_hotlist(
        &self,
        name: &str,
        covert: bool,
        entries: &[NewHotlistEntry],
        by: &str,
        now: DateTime<Utc>,
        audit: MakeRowAfter<'_, ImportCounts>,
    ) -> Result<(ImportCounts, AuditRow), RepoError> {
        let import = |tx: &mut Transaction<'_>| {
            tx.execute(
                "INSERT INTO hotlist (name, covert, created_by, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                &[&name, &covert, &by, &now],
            )
            .map_err(pg_error)?;
            let delete = tx.prepare("DELETE FROM hotlist_entry WHERE list = $1 AND plate_key = $2").map_err(pg_error)?;
            let insert = tx
                .prepare(
                    "INSERT INTO hotlist_entry (list, plate, plate_key, source, reason, priority, expires_at, created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .map_err(pg_error)?;
            // One entry at a time, as SQLite does: a plate twice in one
            // import replaces its first row, and counts as replaced.
            let (mut added, mut replaced) = (0, 0);
            for e in entries {
                let existed = tx.execute(&delete, &[&name, &e.plate_key]).map_err(pg_error)? > 0;
                let priority = i16::from(e.priority);
                tx.execute(&insert, &[&name, &e.plate, &e.plate_key, &e.source, &e.reason, &priority, &e.expires_at, &by, &now]).map_err(pg_error)?;
                if existed {
                    replaced += 1;
                } else {
                    added += 1;
                }
            }
            Ok((added, replaced))
        };
        self.write_audited(import, audit)
    }

    fn hotlist_entries(&self, list: &str) -> Result<Vec<HotlistEntry>, RepoError> {
        self.entries_where("e.list = $1 ORDER BY e.id", &[&list])
    }

    fn hotlist_entry(&self, id: i64) -> Result<Option<HotlistEntry>, RepoError> {
        Ok(self.entries_where("e.id = $1", &[&id])?.into_iter().next())
    }

    fn active_hotlist_entries(&self, plate_key: &str, now: DateTime<Utc>) -> Result<Vec<HotlistEntry>, RepoError> {
        self.entries_where("e.plate_key = $1 AND (e.expires_at IS NULL OR e.expires_at > $2) ORDER BY e.priority DESC, e.id", &[&plate_key, &now])
    }

    fn delete_hotlist_entry(&self, id: i64, audit: MakeRowAfter<'_, HotlistEntry>) -> Result<(HotlistEntry, AuditRow), RepoError> {
        let delete = |tx: &mut Transaction<'_>| {
            let rows = tx
                .query(&format!("SELECT {ENTRY_COLUMNS} FROM hotlist_entry e JOIN hotlist h ON h.name = e.list WHERE e.id = $1 FOR UPDATE OF e"), &[&id])
                .map_err(pg_error)?;
            let entry = rows.first().map(entry_from).transpose()?.ok_or_else(|| RepoError::NotFound(format!("hotlist entry {id}")))?;
            tx.execute("DELETE FROM hotlist_entry WHERE id = $1", &[&id]).map_err(pg_error)?;
            Ok(entry)
        };
        self.write_audited(delete, audit)
    }

    fn add_plate_read(&self, r: &NewPlateRead) -> Result<i64, RepoError> {
        let row = self
            .client()?
            .query_one(
                "INSERT INTO plate_read (time, camera_id, district, plate, plate_key, confidence, lat, lon, track_id, crop_ref, event_id, hit)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                &[&r.time, &r.camera_id, &r.district, &r.plate, &r.plate_key, &r.confidence, &r.lat, &r.lon, &r.track_id, &r.crop_ref, &r.event_id, &r.hit],
            )
            .map_err(pg_error)?;
        Ok(row.get(0))
    }

    fn plate_reads(&self, f: &PlateReadFilter) -> Result<Vec<PlateRead>, RepoError> {
        // The key holds only A-Z and 0-9, so LIKE's own wildcards (and its
        // escape, the backslash) cannot come from it.
        let like: String = f.pattern.chars().map(|c| if c == '*' { '%' } else { c }).collect();
        let mut p = Params::default();
        let mut sql = format!("SELECT {READ_COLUMNS} FROM plate_read WHERE plate_key LIKE {}", p.push(like));
        if let Some(s) = f.start {
            sql.push_str(&format!(" AND time >= {}", p.push(s)));
        }
        if let Some(e) = f.end {
            sql.push_str(&format!(" AND time < {}", p.push(e)));
        }
        if let Some(ds) = &f.districts {
            sql.push_str(&format!(" AND district = ANY({})", p.push(ds.clone())));
        }
        sql.push_str(&format!(" ORDER BY time DESC, id DESC LIMIT {}", p.push(i64::try_from(f.limit).unwrap_or(i64::MAX))));
        let rows = self.client()?.query(&sql, &p.refs()).map_err(pg_error)?;
        Ok(rows.iter().map(read_from).collect())
    }

    fn purge_plate_reads(&self, before: DateTime<Utc>, audit: MakeRowAfter<'_, PlatePurge>) -> Result<(PlatePurge, Option<AuditRow>), RepoError> {
        let purge = |tx: &mut Transaction<'_>| {
            let events = tx
                .execute(
                    "DELETE FROM event WHERE type = 'plate_read'
                       AND id IN (SELECT event_id FROM plate_read WHERE NOT hit AND time < $1 AND event_id IS NOT NULL)
                       AND NOT EXISTS (SELECT 1 FROM alert_event a WHERE a.event_id = event.id)",
                    &[&before],
                )
                .map_err(pg_error)?;
            let reads = tx.execute("DELETE FROM plate_read WHERE NOT hit AND time < $1", &[&before]).map_err(pg_error)?;
            let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
            Ok(PlatePurge { reads: count(reads), events: count(events) })
        };
        self.write_audited_when(purge, audit, |p| p.reads > 0 || p.events > 0)
    }
}

impl PgStore {
    fn entries_where(&self, clause: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<HotlistEntry>, RepoError> {
        let rows = self
            .client()?
            .query(&format!("SELECT {ENTRY_COLUMNS} FROM hotlist_entry e JOIN hotlist h ON h.name = e.list WHERE {clause}"), params)
            .map_err(pg_error)?;
        rows.iter().map(entry_from).collect()
    }
}

fn list_from(r: &Row) -> Hotlist {
    let entries: i64 = r.get(4);
    Hotlist { name: r.get(0), covert: r.get(1), created_by: r.get(2), created_at: r.get(3), entries: u64::try_from(entries).unwrap_or(0) }
}

fn entry_from(r: &Row) -> Result<HotlistEntry, RepoError> {
    let id: i64 = r.get(0);
    let priority: i16 = r.get(7);
    Ok(HotlistEntry {
        id,
        list: r.get(1),
        covert: r.get(2),
        plate: r.get(3),
        plate_key: r.get(4),
        source: r.get(5),
        reason: r.get(6),
        priority: u8::try_from(priority).map_err(|_| RepoError::Corrupt(format!("hotlist entry {id}: priority {priority}")))?,
        expires_at: r.get(8),
        created_by: r.get(9),
        created_at: r.get(10),
    })
}

fn read_from(r: &Row) -> PlateRead {
    PlateRead {
        id: r.get(0),
        read: NewPlateRead {
            time: r.get(1),
            camera_id: r.get(2),
            district: r.get(3),
            plate: r.get(4),
            plate_key: r.get(5),
            confidence: r.get(6),
            lat: r.get(7),
            lon: r.get(8),
            track_id: r.get(9),
            crop_ref: r.get(10),
            event_id: r.get(11),
            hit: r.get(12),
        },
    }
}
