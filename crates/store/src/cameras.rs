use std::collections::HashMap;

use chrono::Utc;
use citywatch_credentials::{is_sealed, open_stored, seal_for_storage, CredentialError, CredentialKey, StreamCredentials};
use citywatch_model::{AuditRow, Camera, CameraStatus, CameraUpdate, ChainHead, ImportOutcome, StreamKind};
use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::{time, Result, Store, StoreError};

const COLUMNS: &str = "id, name, lat, lon, height_m, heading_deg, fov_deg, range_m, district, tags, main_url, sub_url, status";

impl Store {
    pub fn list_cameras(&self) -> Result<Vec<Camera>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM camera ORDER BY id"))?;
        let rows = stmt.query_map([], camera_from_row)?;
        rows.map(|r| r?.map_err(StoreError::Corrupt)).collect()
    }

    pub fn get_camera(&self, id: &str) -> Result<Option<Camera>> {
        let conn = self.conn();
        let found = conn.query_row(&format!("SELECT {COLUMNS} FROM camera WHERE id = ?1"), [id], camera_from_row).optional()?;
        found.transpose().map_err(StoreError::Corrupt)
    }

    /// Adds a new camera; `Conflict` if the id is taken.
    pub fn create_camera(&self, update: &CameraUpdate) -> Result<()> {
        let key = self.credential_key();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        create_in(&tx, update, key.as_ref())?;
        tx.commit()?;
        Ok(())
    }

    /// [`Store::create_camera`] and its audit entry, in one transaction.
    pub fn create_camera_audited(&self, update: &CameraUpdate, audit: impl FnOnce(Option<&ChainHead>) -> AuditRow) -> Result<AuditRow> {
        let key = self.credential_key();
        Ok(self.write_audited(|tx| create_in(tx, update, key.as_ref()), |(), head| audit(head))?.1)
    }

    /// Replaces an existing camera; `NotFound` if there is none. Stored
    /// credentials are kept or dropped per stream as
    /// [`CameraUpdate::streams_keeping_credentials`] says.
    pub fn replace_camera(&self, update: &CameraUpdate) -> Result<()> {
        let key = self.credential_key();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        replace_in(&tx, update, key.as_ref())?;
        tx.commit()?;
        Ok(())
    }

    /// [`Store::replace_camera`] and its audit entry, in one transaction.
    pub fn replace_camera_audited(&self, update: &CameraUpdate, audit: impl FnOnce(Option<&ChainHead>) -> AuditRow) -> Result<AuditRow> {
        let key = self.credential_key();
        Ok(self.write_audited(|tx| replace_in(tx, update, key.as_ref()), |(), head| audit(head))?.1)
    }

    /// Creates or replaces every camera in one transaction: all or nothing.
    pub fn upsert_cameras(&self, updates: &[CameraUpdate]) -> Result<ImportOutcome> {
        let key = self.credential_key();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let outcome = upsert_in(&tx, updates, key.as_ref())?;
        tx.commit()?;
        Ok(outcome)
    }

    /// [`Store::upsert_cameras`] and its audit entry (made knowing what
    /// was created and updated), in one transaction.
    pub fn upsert_cameras_audited(
        &self,
        updates: &[CameraUpdate],
        audit: impl FnOnce(&ImportOutcome, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(ImportOutcome, AuditRow)> {
        let key = self.credential_key();
        self.write_audited(|tx| upsert_in(tx, updates, key.as_ref()), audit)
    }

    pub fn delete_camera(&self, id: &str) -> Result<bool> {
        Ok(self.conn().execute("DELETE FROM camera WHERE id = ?1", [id])? > 0)
    }

    /// Deletes a camera and appends its audit entry, in one transaction;
    /// `NotFound` (and no entry) if there is no such camera.
    pub fn delete_camera_audited(&self, id: &str, audit: impl FnOnce(Option<&ChainHead>) -> AuditRow) -> Result<AuditRow> {
        let delete = |tx: &Transaction<'_>| match tx.execute("DELETE FROM camera WHERE id = ?1", [id])? {
            0 => Err(StoreError::NotFound(format!("camera {id}"))),
            _ => Ok(()),
        };
        Ok(self.write_audited(delete, |(), head| audit(head))?.1)
    }

    pub fn set_camera_status(&self, id: &str, status: CameraStatus) -> Result<bool> {
        Ok(self.conn().execute("UPDATE camera SET status = ?2 WHERE id = ?1", params![id, status.as_str()])? > 0)
    }

    /// `user:password` for the camera's main and sub streams. Only the
    /// recorder may ask; no API route returns these.
    pub fn camera_credentials(&self, id: &str) -> Result<StreamCredentials> {
        let key = self.credential_key();
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT camera_id, stream, credentials FROM camera_credential WHERE camera_id = ?1")?;
        let rows = stmt.query_map([id], credential_from_row)?;
        Ok(collect_credentials(rows, key.as_ref())?.remove(id).unwrap_or_default())
    }

    /// Every camera's credentials, by camera id (cameras without any are
    /// absent); like [`Store::camera_credentials`], for the recorder only.
    /// One query: the recorders' periodic pass over all cameras reads them
    /// all, and a query per camera would cost a thousand a pass.
    pub fn all_camera_credentials(&self) -> Result<HashMap<String, StreamCredentials>> {
        let key = self.credential_key();
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT camera_id, stream, credentials FROM camera_credential")?;
        let rows = stmt.query_map([], credential_from_row)?;
        collect_credentials(rows, key.as_ref())
    }

    /// Seals and opens camera credentials with `key` from now on. First
    /// checks that it opens every sealed credential already stored (a wrong
    /// key is refused here, at start, not at a recorder's first connect), and
    /// seals the credentials an older release stored in plain text, all in
    /// one transaction. Returns how many it sealed.
    pub fn use_credential_key(&self, key: CredentialKey) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let rows: Vec<(String, String, String)> = {
            let mut stmt = tx.prepare("SELECT camera_id, stream, credentials FROM camera_credential ORDER BY camera_id, stream")?;
            let rows = stmt.query_map([], credential_from_row)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut sealed_now = 0;
        for (camera, stream, stored) in rows {
            if is_sealed(&stored) {
                if key.open(&camera, &stream, &stored).is_none() {
                    return Err(CredentialError::wrong_key(&key, &camera, &stream).into());
                }
                continue;
            }
            tx.execute(
                "UPDATE camera_credential SET credentials = ?3 WHERE camera_id = ?1 AND stream = ?2",
                params![camera, stream, key.seal(&camera, &stream, &stored)],
            )?;
            sealed_now += 1;
        }
        tx.commit()?;
        drop(conn);
        *self.credential_key.write().unwrap_or_else(|e| e.into_inner()) = Some(key);
        Ok(sealed_now)
    }

    /// How many stored credentials are sealed: a data directory with any
    /// cannot go on without the key that sealed them.
    pub fn sealed_credential_count(&self) -> Result<usize> {
        let n: i64 = self.conn().query_row("SELECT count(*) FROM camera_credential WHERE credentials LIKE 'sealed:v1:%'", [], |r| r.get(0))?;
        Ok(n as usize)
    }

    fn credential_key(&self) -> Option<CredentialKey> {
        self.credential_key.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn credential_from_row(r: &Row<'_>) -> rusqlite::Result<(String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

/// Opens the rows a credential query read.
fn collect_credentials(
    rows: impl Iterator<Item = rusqlite::Result<(String, String, String)>>,
    key: Option<&CredentialKey>,
) -> Result<HashMap<String, StreamCredentials>> {
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(open_stored(rows, key)?)
}

fn create_in(tx: &Transaction<'_>, update: &CameraUpdate, key: Option<&CredentialKey>) -> Result<()> {
    if exists(tx, &update.camera.id)? {
        return Err(StoreError::Conflict(format!("camera {}", update.camera.id)));
    }
    write_camera(tx, update, key, &[])
}

fn replace_in(tx: &Transaction<'_>, update: &CameraUpdate, key: Option<&CredentialKey>) -> Result<()> {
    let before: Option<(Option<String>, Option<String>)> =
        tx.query_row("SELECT main_url, sub_url FROM camera WHERE id = ?1", [&update.camera.id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    let Some((main_before, sub_before)) = before else {
        return Err(StoreError::NotFound(format!("camera {}", update.camera.id)));
    };
    let keep = update.streams_keeping_credentials(main_before.as_deref(), sub_before.as_deref());
    write_camera(tx, update, key, &keep)
}

fn upsert_in(tx: &Transaction<'_>, updates: &[CameraUpdate], key: Option<&CredentialKey>) -> Result<ImportOutcome> {
    let mut outcome = ImportOutcome { created: 0, updated: 0 };
    for u in updates {
        if exists(tx, &u.camera.id)? {
            outcome.updated += 1;
        } else {
            outcome.created += 1;
        }
        write_camera(tx, u, key, &[])?;
    }
    Ok(outcome)
}

fn exists(tx: &Transaction<'_>, id: &str) -> Result<bool> {
    Ok(tx.query_row("SELECT 1 FROM camera WHERE id = ?1", [id], |_| Ok(())).optional()?.is_some())
}

/// Writes the camera and its credentials; the streams in `keep` keep the
/// credentials already stored.
fn write_camera(tx: &Transaction<'_>, u: &CameraUpdate, key: Option<&CredentialKey>, keep: &[StreamKind]) -> Result<()> {
    let c = &u.camera;
    let tags = serde_json::to_string(&c.tags).expect("a list of strings serialises");
    tx.execute(
        "INSERT INTO camera (id, name, lat, lon, height_m, heading_deg, fov_deg, range_m, district, tags, main_url, sub_url, status, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, lat = excluded.lat, lon = excluded.lon,
            height_m = excluded.height_m, heading_deg = excluded.heading_deg, fov_deg = excluded.fov_deg,
            range_m = excluded.range_m, district = excluded.district, tags = excluded.tags,
            main_url = excluded.main_url, sub_url = excluded.sub_url, status = excluded.status,
            updated_at = excluded.updated_at",
        params![
            c.id,
            c.name,
            c.lat,
            c.lon,
            c.height_m,
            c.heading_deg,
            c.fov_deg,
            c.range_m,
            c.district,
            tags,
            c.main_url,
            c.sub_url,
            c.status.as_str(),
            time::to_text(Utc::now())
        ],
    )?;
    for (kind, cred) in [(StreamKind::Main, &u.main_credentials), (StreamKind::Sub, &u.sub_credentials)] {
        if keep.contains(&kind) {
            continue;
        }
        let stream = kind.as_str();
        tx.execute("DELETE FROM camera_credential WHERE camera_id = ?1 AND stream = ?2", params![c.id, stream])?;
        if let Some(cred) = cred {
            tx.execute(
                "INSERT INTO camera_credential (camera_id, stream, credentials) VALUES (?1, ?2, ?3)",
                params![c.id, stream, seal_for_storage(key, &c.id, kind, cred)?],
            )?;
        }
    }
    Ok(())
}

/// The outer `Result` is SQLite's; the inner one says whether the row's
/// contents make sense.
fn camera_from_row(r: &Row<'_>) -> rusqlite::Result<std::result::Result<Camera, String>> {
    let tags: String = r.get(9)?;
    let status: String = r.get(12)?;
    let id: String = r.get(0)?;
    let tags = match serde_json::from_str(&tags) {
        Ok(t) => t,
        Err(e) => return Ok(Err(format!("camera {id}: tags {tags:?}: {e}"))),
    };
    let Some(status) = CameraStatus::parse(&status) else {
        return Ok(Err(format!("camera {id}: status {status:?}")));
    };
    Ok(Ok(Camera {
        id,
        name: r.get(1)?,
        lat: r.get(2)?,
        lon: r.get(3)?,
        height_m: r.get(4)?,
        heading_deg: r.get(5)?,
        fov_deg: r.get(6)?,
        range_m: r.get(7)?,
        district: r.get(8)?,
        tags,
        main_url: r.get(10)?,
        sub_url: r.get(11)?,
        status,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(v: serde_json::Value) -> CameraUpdate {
        CameraUpdate::from_json(v.as_object().unwrap(), None).unwrap()
    }

    #[test]
    fn camera_round_trip_keeps_credentials_apart() {
        let store = Store::open_in_memory().unwrap();
        let u = update(json!({"id":"c1","lat":44.8,"lon":20.4,"main_url":"rtsp://u:p@h/main","tags":["x"]}));
        store.create_camera(&u).unwrap();
        assert!(matches!(store.create_camera(&u), Err(StoreError::Conflict(_))));
        let got = store.get_camera("c1").unwrap().unwrap();
        assert_eq!(got, u.camera);
        assert_eq!(got.main_url.as_deref(), Some("rtsp://h/main"));
        assert_eq!(store.camera_credentials("c1").unwrap(), (Some("u:p".into()), None));
        store.create_camera(&update(json!({"id":"c2","lat":44.8,"lon":20.4,"main_url":"rtsp://h/main","sub_url":"rtsp://v:q@h/sub"}))).unwrap();
        store.create_camera(&update(json!({"id":"c3","lat":44.8,"lon":20.4,"main_url":"rtsp://h/main"}))).unwrap();
        let all = store.all_camera_credentials().unwrap();
        assert_eq!(all.len(), 2, "a camera without credentials is absent: {all:?}");
        assert_eq!((&all["c1"], &all["c2"]), (&(Some("u:p".into()), None), &(None, Some("v:q".into()))));
        assert!(store.delete_camera("c1").unwrap());
        assert_eq!(store.camera_credentials("c1").unwrap(), (None, None));
        assert!(!store.all_camera_credentials().unwrap().contains_key("c1"));
    }

    #[test]
    fn upsert_counts_created_and_updated() {
        let store = Store::open_in_memory().unwrap();
        let a = update(json!({"id":"a","lat":1,"lon":1}));
        let b = update(json!({"id":"b","lat":2,"lon":2}));
        assert_eq!(store.upsert_cameras(std::slice::from_ref(&a)).unwrap(), ImportOutcome { created: 1, updated: 0 });
        assert_eq!(store.upsert_cameras(&[a, b]).unwrap(), ImportOutcome { created: 1, updated: 1 });
        assert_eq!(store.list_cameras().unwrap().len(), 2);
    }
}
