//! [`CameraRepo`] on PostgreSQL: cameras, their sealed credentials and the
//! districts. Each change runs in one transaction with its audit entry
//! (`audit::append_in`, which locks the chain's head), so a node that dies
//! between the two leaves neither.

use std::collections::HashMap;

use citywatch_audit::MakeRow;
use citywatch_credentials::{is_sealed, open_stored, seal_for_storage, CredentialError, CredentialKey, StreamCredentials};
use citywatch_model::{AuditRow, Camera, CameraStatus, CameraUpdate, District, ImportOutcome, RepoError, StreamKind};
use citywatch_registry::{CameraRepo, MakeImportRow};
use postgres::{Row, Transaction};

use crate::error::pg_error;
use crate::PgStore;

/// The columns [`camera_from`] reads, in its order.
const COLUMNS: &str = "id, name, lat, lon, height_m, heading_deg, fov_deg, range_m, district, tags::text, main_url, sub_url, status";

impl PgStore {
    /// Seals and opens camera credentials with `key` from now on, after
    /// checking that it opens every sealed credential already stored (a
    /// wrong key is refused at start, not at a recorder's first connect).
    /// Credentials stored in plain text (none are, unless written behind
    /// Citywatch's back) are sealed in the same transaction. Returns how
    /// many it sealed.
    pub fn use_credential_key(&self, key: CredentialKey) -> Result<usize, RepoError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg_error)?;
        let rows = tx.query("SELECT camera_id, stream, credentials FROM camera_credential ORDER BY camera_id, stream FOR UPDATE", &[]).map_err(pg_error)?;
        let mut sealed_now = 0;
        for row in &rows {
            let (camera, stream, stored): (String, String, String) = (row.get(0), row.get(1), row.get(2));
            if is_sealed(&stored) {
                if key.open(&camera, &stream, &stored).is_none() {
                    return Err(credential_error(CredentialError::wrong_key(&key, &camera, &stream)));
                }
                continue;
            }
            tx.execute(
                "UPDATE camera_credential SET credentials = $3 WHERE camera_id = $1 AND stream = $2",
                &[&camera, &stream, &key.seal(&camera, &stream, &stored)],
            )
            .map_err(pg_error)?;
            sealed_now += 1;
        }
        tx.commit().map_err(pg_error)?;
        *self.credential_key.write().unwrap_or_else(|e| e.into_inner()) = Some(key);
        Ok(sealed_now)
    }

    /// How many stored credentials are sealed: a database with any cannot
    /// be used without the key that sealed them.
    pub fn sealed_credential_count(&self) -> Result<usize, RepoError> {
        let n: i64 = self.client()?.query_one("SELECT count(*) FROM camera_credential WHERE credentials LIKE 'sealed:v1:%'", &[]).map_err(pg_error)?.get(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn credential_key(&self) -> Option<CredentialKey> {
        self.credential_key.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// [`PgStore::write_audited`] for a change that seals or opens credentials.
    fn write_audited_keyed<T>(
        &self,
        change: impl FnOnce(&mut Transaction<'_>, Option<&CredentialKey>) -> Result<T, RepoError>,
        audit: impl FnOnce(&T, Option<&citywatch_model::ChainHead>) -> AuditRow,
    ) -> Result<(T, AuditRow), RepoError> {
        let key = self.credential_key();
        let change = |tx: &mut Transaction<'_>| {
            lock_registry_change(tx)?;
            change(tx, key.as_ref())
        };
        self.write_audited(change, audit)
    }
}

impl CameraRepo for PgStore {
    fn cameras(&self) -> Result<Vec<Camera>, RepoError> {
        let rows = self.client()?.query(&format!("SELECT {COLUMNS} FROM camera ORDER BY id"), &[]).map_err(pg_error)?;
        rows.iter().map(camera_from).collect()
    }

    fn camera(&self, id: &str) -> Result<Option<Camera>, RepoError> {
        let rows = self.client()?.query(&format!("SELECT {COLUMNS} FROM camera WHERE id = $1"), &[&id]).map_err(pg_error)?;
        rows.first().map(camera_from).transpose()
    }

    fn create_camera(&self, update: &CameraUpdate, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        let create = |tx: &mut Transaction<'_>, key: Option<&CredentialKey>| {
            if exists(tx, &update.camera.id)? {
                return Err(RepoError::Conflict(format!("camera {}", update.camera.id)));
            }
            write_camera(tx, update, key, &[])
        };
        Ok(self.write_audited_keyed(create, |(), head| audit(head))?.1)
    }

    fn replace_camera(&self, update: &CameraUpdate, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        let replace = |tx: &mut Transaction<'_>, key: Option<&CredentialKey>| {
            let c = &update.camera;
            let before = tx.query("SELECT main_url, sub_url FROM camera WHERE id = $1 FOR UPDATE", &[&c.id]).map_err(pg_error)?;
            let Some(before) = before.first() else {
                return Err(RepoError::NotFound(format!("camera {}", c.id)));
            };
            let (main_before, sub_before): (Option<String>, Option<String>) = (before.get(0), before.get(1));
            let keep = update.streams_keeping_credentials(main_before.as_deref(), sub_before.as_deref());
            write_camera(tx, update, key, &keep)
        };
        Ok(self.write_audited_keyed(replace, |(), head| audit(head))?.1)
    }

    fn delete_camera(&self, id: &str, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        let delete = |tx: &mut Transaction<'_>, _: Option<&CredentialKey>| match tx.execute("DELETE FROM camera WHERE id = $1", &[&id]).map_err(pg_error)? {
            0 => Err(RepoError::NotFound(format!("camera {id}"))),
            _ => Ok(()),
        };
        Ok(self.write_audited_keyed(delete, |(), head| audit(head))?.1)
    }

    fn upsert_cameras(&self, updates: &[CameraUpdate], audit: MakeImportRow<'_>) -> Result<(ImportOutcome, AuditRow), RepoError> {
        let upsert = |tx: &mut Transaction<'_>, key: Option<&CredentialKey>| {
            let mut outcome = ImportOutcome::default();
            for u in updates {
                if exists(tx, &u.camera.id)? {
                    outcome.updated += 1;
                } else {
                    outcome.created += 1;
                }
                write_camera(tx, u, key, &[])?;
            }
            Ok(outcome)
        };
        self.write_audited_keyed(upsert, audit)
    }

    fn set_camera_status(&self, id: &str, status: CameraStatus) -> Result<bool, RepoError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg_error)?;
        lock_registry_change(&mut tx)?;
        let n = tx.execute("UPDATE camera SET status = $2 WHERE id = $1", &[&id, &status.as_str()]).map_err(pg_error)?;
        tx.commit().map_err(pg_error)?;
        Ok(n > 0)
    }

    fn camera_credentials(&self, id: &str) -> Result<StreamCredentials, RepoError> {
        let rows = self.client()?.query("SELECT camera_id, stream, credentials FROM camera_credential WHERE camera_id = $1", &[&id]).map_err(pg_error)?;
        Ok(open_rows(&rows, self.credential_key().as_ref())?.remove(id).unwrap_or_default())
    }

    fn all_camera_credentials(&self) -> Result<HashMap<String, StreamCredentials>, RepoError> {
        let rows = self.client()?.query("SELECT camera_id, stream, credentials FROM camera_credential", &[]).map_err(pg_error)?;
        open_rows(&rows, self.credential_key().as_ref())
    }

    /// `registry_change.version`, moved by a trigger on every committed
    /// change to a camera or district, this node's own included.
    fn change_marker(&self) -> Result<i64, RepoError> {
        Ok(self.client()?.query_one("SELECT version FROM registry_change", &[]).map_err(pg_error)?.get(0))
    }

    fn districts(&self) -> Result<Vec<District>, RepoError> {
        let rows = self.client()?.query("SELECT name, geometry::text FROM district ORDER BY name", &[]).map_err(pg_error)?;
        rows.iter()
            .map(|r| {
                let (name, geometry): (String, String) = (r.get(0), r.get(1));
                let geometry = serde_json::from_str(&geometry).map_err(|e| RepoError::Corrupt(format!("district {name} geometry: {e}")))?;
                Ok(District { name, geometry })
            })
            .collect()
    }

    fn put_district(&self, district: &District, audit: MakeRow<'_>) -> Result<AuditRow, RepoError> {
        let put = |tx: &mut Transaction<'_>, _: Option<&CredentialKey>| {
            tx.execute(
                "INSERT INTO district (name, geometry) VALUES ($1, $2::text::jsonb) ON CONFLICT (name) DO UPDATE SET geometry = excluded.geometry",
                &[&district.name, &district.geometry.to_string()],
            )
            .map_err(pg_error)?;
            Ok(())
        };
        Ok(self.write_audited_keyed(put, |(), head| audit(head))?.1)
    }
}

/// Takes the registry's change counter before any camera or district row:
/// its trigger would otherwise take it after the first row a statement
/// touched, and a batch (an import) holding it while waiting for a row
/// that a recorder's status update holds, waiting for the counter, would
/// deadlock. Every registry write takes its locks in one order: the audit
/// head (audited writes), this counter, then rows.
fn lock_registry_change(tx: &mut Transaction<'_>) -> Result<(), RepoError> {
    tx.execute("SELECT 1 FROM registry_change FOR UPDATE", &[]).map_err(pg_error)?;
    Ok(())
}

fn exists(tx: &mut Transaction<'_>, id: &str) -> Result<bool, RepoError> {
    Ok(!tx.query("SELECT 1 FROM camera WHERE id = $1", &[&id]).map_err(pg_error)?.is_empty())
}

/// Writes the camera and its credentials; the streams in `keep` keep the
/// credentials already stored.
fn write_camera(tx: &mut Transaction<'_>, u: &CameraUpdate, key: Option<&CredentialKey>, keep: &[StreamKind]) -> Result<(), RepoError> {
    let c = &u.camera;
    let tags = serde_json::to_string(&c.tags).expect("a list of strings serialises");
    tx.execute(
        "INSERT INTO camera (id, name, lat, lon, height_m, heading_deg, fov_deg, range_m, district, tags, main_url, sub_url, status, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, $11, $12, $13, now())
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, lat = excluded.lat, lon = excluded.lon,
            height_m = excluded.height_m, heading_deg = excluded.heading_deg, fov_deg = excluded.fov_deg,
            range_m = excluded.range_m, district = excluded.district, tags = excluded.tags,
            main_url = excluded.main_url, sub_url = excluded.sub_url, status = excluded.status,
            updated_at = excluded.updated_at",
        &[&c.id, &c.name, &c.lat, &c.lon, &c.height_m, &c.heading_deg, &c.fov_deg, &c.range_m, &c.district, &tags, &c.main_url, &c.sub_url, &c.status.as_str()],
    )
    .map_err(pg_error)?;
    for (kind, cred) in [(StreamKind::Main, &u.main_credentials), (StreamKind::Sub, &u.sub_credentials)] {
        if keep.contains(&kind) {
            continue;
        }
        let stream = kind.as_str();
        tx.execute("DELETE FROM camera_credential WHERE camera_id = $1 AND stream = $2", &[&c.id, &stream]).map_err(pg_error)?;
        if let Some(cred) = cred {
            let sealed = seal_for_storage(key, &c.id, kind, cred).map_err(credential_error)?;
            tx.execute("INSERT INTO camera_credential (camera_id, stream, credentials) VALUES ($1, $2, $3)", &[&c.id, &stream, &sealed]).map_err(pg_error)?;
        }
    }
    Ok(())
}

fn open_rows(rows: &[Row], key: Option<&CredentialKey>) -> Result<HashMap<String, StreamCredentials>, RepoError> {
    open_stored(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))), key).map_err(credential_error)
}

/// Credentials that cannot be sealed or opened: the node's key is missing
/// or is not the one they were sealed with, a setup fault, not bad input.
fn credential_error(e: CredentialError) -> RepoError {
    RepoError::Backend(e.to_string())
}

fn camera_from(r: &Row) -> Result<Camera, RepoError> {
    let id: String = r.get(0);
    let tags: String = r.get(9);
    let status: String = r.get(12);
    let tags = serde_json::from_str(&tags).map_err(|e| RepoError::Corrupt(format!("camera {id}: tags {tags:?}: {e}")))?;
    let status = CameraStatus::parse(&status).ok_or_else(|| RepoError::Corrupt(format!("camera {id}: status {status:?}")))?;
    Ok(Camera {
        id,
        name: r.get(1),
        lat: r.get(2),
        lon: r.get(3),
        height_m: r.get(4),
        heading_deg: r.get(5),
        fov_deg: r.get(6),
        range_m: r.get(7),
        district: r.get(8),
        tags,
        main_url: r.get(10),
        sub_url: r.get(11),
        status,
    })
}
