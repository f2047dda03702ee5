use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use citywatch_audit::{AuditLog, PendingEntry, Record};
use citywatch_credentials::StreamCredentials;
use citywatch_geo::{CameraGeometry, CameraIndex};
use citywatch_model::{Camera, CameraUpdate, ChainHead, District, FieldError, ImportOutcome, RepoError, RowErrors, Scope};

use crate::import::{ImportRow, Location, ParsedCameras, RowError};
use crate::repo::CameraRepo;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error("camera {0} not found")]
    NotFound(String),
    #[error("camera {0} already exists")]
    Conflict(String),
    #[error("{0}")]
    OutOfScope(String),
    /// The change's audit entry could not be written: the change was not made.
    #[error(transparent)]
    Audit(#[from] citywatch_audit::AuditError),
}

/// An immutable view of all cameras and their index. Readers take an `Arc`
/// and never wait for writers.
pub struct Snapshot {
    /// Shared between snapshots that differ only in non-spatial fields.
    pub index: Arc<CameraIndex>,
    pub cameras: HashMap<String, Camera>,
}

impl Snapshot {
    fn build(cameras: Vec<Camera>) -> Snapshot {
        let index = Arc::new(CameraIndex::build(cameras.iter().map(geometry)));
        Snapshot { index, cameras: cameras.into_iter().map(|c| (c.id.clone(), c)).collect() }
    }

    fn with_changes(&self, upserts: &[Camera], removed: &[String]) -> Snapshot {
        let index = Arc::new(self.index.with_changes(upserts.iter().map(geometry).collect(), removed));
        let mut cameras = self.cameras.clone();
        for id in removed {
            cameras.remove(id);
        }
        for c in upserts {
            cameras.insert(c.id.clone(), c.clone());
        }
        Snapshot { index, cameras }
    }

    /// Cameras the scope reaches, by id.
    pub fn visible<'a>(&'a self, scope: &'a Scope) -> impl Iterator<Item = &'a Camera> + 'a {
        self.cameras.values().filter(|c| scope.covers(c.district.as_deref()))
    }

    /// The camera if it exists and the scope reaches it. A camera out of
    /// scope does not exist for the caller.
    pub fn get(&self, id: &str, scope: &Scope) -> Option<&Camera> {
        self.cameras.get(id).filter(|c| scope.covers(c.district.as_deref()))
    }
}

fn geometry(c: &Camera) -> CameraGeometry {
    CameraGeometry { id: c.id.clone(), lat: c.lat, lon: c.lon, heading_deg: c.heading_deg, fov_deg: c.fov_deg, range_m: c.range_m }
}

/// What an import did: how many rows the file held, what was applied, and
/// the rows not applied (the first problems in full, all counted).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub atomic: bool,
    #[serde(flatten)]
    pub errors: RowErrors<RowError>,
}

pub struct Registry {
    repo: Arc<dyn CameraRepo>,
    current: RwLock<Arc<Snapshot>>,
    /// Serialises writers so each applies its change to the latest snapshot.
    write_lock: std::sync::Mutex<()>,
}

impl Registry {
    /// Loads every camera from `repo` (SQLite's `Store`, or PostgreSQL's
    /// `PgStore`) and indexes them.
    pub fn load(repo: Arc<dyn CameraRepo>) -> Result<Registry, RegistryError> {
        let snapshot = Snapshot::build(repo.cameras()?);
        Ok(Registry { repo, current: RwLock::new(Arc::new(snapshot)), write_lock: Default::default() })
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn publish(&self, s: Snapshot) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(s);
    }

    /// Rebuilds from the repository if another process changed it. Returns
    /// whether it did.
    pub fn reload_if_changed(&self, last_version: &mut Option<i64>) -> Result<bool, RegistryError> {
        let version = self.repo.change_marker()?;
        if *last_version == Some(version) {
            return Ok(false);
        }
        let first = last_version.is_none();
        *last_version = Some(version);
        if first {
            return Ok(false);
        }
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.publish(Snapshot::build(self.repo.cameras()?));
        Ok(true)
    }

    /// Every camera's stream credentials, for the recorders only.
    pub fn stream_credentials(&self) -> Result<HashMap<String, StreamCredentials>, RegistryError> {
        Ok(self.repo.all_camera_credentials()?)
    }

    /// Every district, by name.
    pub fn districts(&self) -> Result<Vec<District>, RegistryError> {
        Ok(self.repo.districts()?)
    }

    /// Adds a district or replaces its geometry; `record` is its audit
    /// entry, committed with it.
    pub fn put_district(&self, district: &District, audit: &AuditLog, record: Record) -> Result<(), RegistryError> {
        let row = self.repo.put_district(district, Box::new(PendingEntry::new(record).into_maker()))?;
        audit.appended(&row);
        Ok(())
    }

    /// Records a camera's health as seen by its recorder.
    pub fn set_status(&self, id: &str, status: citywatch_model::CameraStatus) -> Result<(), RegistryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let snapshot = self.snapshot();
        let Some(camera) = snapshot.cameras.get(id) else { return Ok(()) };
        if camera.status == status || camera.status == citywatch_model::CameraStatus::Disabled {
            return Ok(());
        }
        self.repo.set_camera_status(id, status)?;
        let mut cameras = snapshot.cameras.clone();
        if let Some(c) = cameras.get_mut(id) {
            c.status = status;
        }
        self.publish(Snapshot { index: Arc::clone(&snapshot.index), cameras });
        Ok(())
    }

    /// Adds a camera in the scope; `record` is its audit entry, committed
    /// with it (both or neither).
    pub fn create(&self, update: &CameraUpdate, scope: &Scope, audit: &AuditLog, record: Record) -> Result<(), RegistryError> {
        check_district(&update.camera, scope)?;
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let row = match self.repo.create_camera(update, Box::new(PendingEntry::new(record).into_maker())) {
            Err(RepoError::Conflict(_)) => return Err(RegistryError::Conflict(update.camera.id.clone())),
            other => other?,
        };
        self.publish(self.snapshot().with_changes(std::slice::from_ref(&update.camera), &[]));
        audit.appended(&row);
        Ok(())
    }

    /// Replaces a camera the scope reaches; it may not move it out of
    /// scope. `record` makes the audit entry from the camera as it was;
    /// the entry commits with the change.
    pub fn replace(&self, update: &CameraUpdate, scope: &Scope, audit: &AuditLog, record: impl FnOnce(&Camera) -> Record) -> Result<Camera, RegistryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let snapshot = self.snapshot();
        let before = snapshot.get(&update.camera.id, scope).cloned().ok_or_else(|| RegistryError::NotFound(update.camera.id.clone()))?;
        check_district(&update.camera, scope)?;
        let row = match self.repo.replace_camera(update, Box::new(PendingEntry::new(record(&before)).into_maker())) {
            Err(RepoError::NotFound(_)) => return Err(RegistryError::NotFound(update.camera.id.clone())),
            other => other?,
        };
        self.publish(snapshot.with_changes(std::slice::from_ref(&update.camera), &[]));
        audit.appended(&row);
        Ok(before)
    }

    /// Deletes a camera the scope reaches; `record` makes the audit entry
    /// from the camera as it was, committed with the deletion.
    pub fn delete(&self, id: &str, scope: &Scope, audit: &AuditLog, record: impl FnOnce(&Camera) -> Record) -> Result<Camera, RegistryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let snapshot = self.snapshot();
        let before = snapshot.get(id, scope).cloned().ok_or_else(|| RegistryError::NotFound(id.to_owned()))?;
        let row = match self.repo.delete_camera(id, Box::new(PendingEntry::new(record(&before)).into_maker())) {
            Err(RepoError::NotFound(_)) => return Err(RegistryError::NotFound(id.to_owned())),
            other => other?,
        };
        self.publish(snapshot.with_changes(&[], &[id.to_owned()]));
        audit.appended(&row);
        Ok(before)
    }

    /// Applies the good rows of an import in one transaction and reports the
    /// bad ones; with `atomic`, applies nothing if any row is bad. Rows that
    /// repeat an earlier row's id, or that touch cameras outside `scope`,
    /// are bad rows.
    ///
    /// `record` makes the audit entry from the report; it commits with the
    /// rows applied (an atomic import refused applies nothing, and its
    /// entry says so).
    pub fn import(
        &self,
        parsed: ParsedCameras,
        scope: &Scope,
        atomic: bool,
        audit: &AuditLog,
        record: impl FnOnce(&ImportReport) -> Record,
    ) -> Result<ImportReport, RegistryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let snapshot = self.snapshot();
        let ParsedCameras { total, rows, mut errors } = parsed;
        // This pass's problems are kept apart and merged by position, so
        // the report still shows the file's first problems.
        let mut more = RowErrors::new(errors.keep());
        let mut first_seen: HashMap<String, Location> = HashMap::new();
        let mut good = Vec::with_capacity(rows.len());
        for ImportRow { location, update } in rows {
            let id = update.camera.id.clone();
            let refuse = |field: &str, reason: String| RowError::new(location, FieldError::new(field, reason));
            if let Some(first) = first_seen.get(&id) {
                more.push_row([refuse("id", format!("duplicate id {id}; first given at {first}"))]);
                continue;
            }
            first_seen.insert(id.clone(), location);
            if let Some(existing) = snapshot.cameras.get(&id) {
                if !scope.covers(existing.district.as_deref()) {
                    more.push_row([refuse("id", format!("camera {id} exists in a district you may not manage"))]);
                    continue;
                }
            }
            if let Err(RegistryError::OutOfScope(reason)) = check_district(&update.camera, scope) {
                more.push_row([refuse("district", reason)]);
                continue;
            }
            good.push(update);
        }
        errors.merge(more, |e| (e.feature, e.line));
        let mut report = ImportReport { rows: total, created: 0, updated: 0, atomic, errors };
        if atomic && !report.errors.is_empty() {
            audit.record(record(&report))?;
            return Ok(report);
        }
        let (_, row) = self.repo.upsert_cameras(
            &good,
            Box::new(|outcome: &ImportOutcome, head: Option<&ChainHead>| {
                report.created = outcome.created;
                report.updated = outcome.updated;
                PendingEntry::new(record(&report)).row_on(head)
            }),
        )?;
        let cameras: Vec<Camera> = good.into_iter().map(|u| u.camera).collect();
        self.publish(snapshot.with_changes(&cameras, &[]));
        audit.appended(&row);
        Ok(report)
    }
}

fn check_district(camera: &Camera, scope: &Scope) -> Result<(), RegistryError> {
    if scope.covers(camera.district.as_deref()) {
        return Ok(());
    }
    Err(RegistryError::OutOfScope(match &camera.district {
        Some(d) => format!("district {d} is outside the districts you may manage"),
        None => "a camera without a district needs a grant over all districts".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(id: &str, district: &str) -> CameraUpdate {
        let obj = json!({"id": id, "lat": 44.8, "lon": 20.4, "district": district});
        CameraUpdate::from_json(obj.as_object().unwrap(), None).unwrap()
    }

    use citywatch_store::Store;

    fn log(store: &Arc<Store>) -> AuditLog {
        AuditLog::new(store.clone(), ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]))
    }

    fn entries(store: &Store) -> Vec<(String, String)> {
        store.audit_entries(0, usize::MAX).unwrap().into_iter().map(|e| (e.action, e.target)).collect()
    }

    #[test]
    fn each_change_commits_with_its_audit_entry_and_a_refused_one_writes_neither() {
        let store = Arc::new(Store::open_in_memory().unwrap());
        let (registry, log) = (Registry::load(store.clone()).unwrap(), log(&store));
        let a_only = Scope::Districts(["A".to_owned()].into());
        registry.create(&update("a1", "A"), &a_only, &log, Record::new("ana", "camera.create", "a1")).unwrap();
        let conflict = registry.create(&update("a1", "A"), &a_only, &log, Record::new("ana", "camera.create", "a1"));
        assert!(matches!(conflict, Err(RegistryError::Conflict(_))));
        let before = registry.replace(&update("a1", "A"), &a_only, &log, |before| Record::new("ana", "camera.update", &before.id)).unwrap();
        assert_eq!(before.id, "a1");
        registry.delete("a1", &a_only, &log, |before| Record::new("ana", "camera.delete", &before.id)).unwrap();
        assert!(matches!(registry.delete("a1", &a_only, &log, |_| unreachable!("no entry for a refused delete")), Err(RegistryError::NotFound(_))));
        let expected = [("camera.create", "a1"), ("camera.update", "a1"), ("camera.delete", "a1")].map(|(a, t)| (a.to_owned(), t.to_owned()));
        assert_eq!(entries(&store), expected, "one entry per change made, none for the refused ones");
        assert!(store.get_camera("a1").unwrap().is_none());
    }

    #[test]
    fn writes_by_another_process_are_picked_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("citywatch.db");
        let store = Arc::new(Store::open(&path).unwrap());
        let (registry, log) = (Registry::load(store.clone()).unwrap(), log(&store));
        let mut version = None;
        assert!(!registry.reload_if_changed(&mut version).unwrap(), "the first call only notes the version");
        // Our own writes do not count as external...
        registry.create(&update("own", "A"), &Scope::All, &log, Record::new("ana", "camera.create", "own")).unwrap();
        assert!(!registry.reload_if_changed(&mut version).unwrap());
        // ...a second connection's (the `citywatch import` CLI) do.
        let other = Store::open(&path).unwrap();
        other.upsert_cameras(&[update("theirs", "A")]).unwrap();
        assert!(registry.reload_if_changed(&mut version).unwrap());
        let snapshot = registry.snapshot();
        assert!(snapshot.cameras.contains_key("theirs") && snapshot.cameras.contains_key("own"));
        assert_eq!(snapshot.index.within_radius(44.8, 20.4, 1.0).len(), 2);
    }

    #[test]
    fn scoped_writes_stay_in_scope() {
        let store = Arc::new(Store::open_in_memory().unwrap());
        let (registry, log) = (Registry::load(store.clone()).unwrap(), log(&store));
        let a_only = Scope::Districts(["A".to_owned()].into());
        let record = |id: &str| Record::new("ana", "camera.create", id);
        registry.create(&update("a1", "A"), &a_only, &log, record("a1")).unwrap();
        assert!(matches!(registry.create(&update("b1", "B"), &a_only, &log, record("b1")), Err(RegistryError::OutOfScope(_))));
        let moved = registry.replace(&update("a1", "B"), &a_only, &log, |c| record(&c.id));
        assert!(matches!(moved, Err(RegistryError::OutOfScope(_))), "may not move a camera out of scope");
        registry.create(&update("b2", "B"), &Scope::All, &log, record("b2")).unwrap();
        assert!(matches!(registry.delete("b2", &a_only, &log, |c| record(&c.id)), Err(RegistryError::NotFound(_))), "out of scope is not found");
        assert_eq!(registry.snapshot().cameras.len(), 2);
    }
}
