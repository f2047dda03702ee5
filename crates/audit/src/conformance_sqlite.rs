//! The repository conformance suite on SQLite: a fresh database file per
//! case (a file, not memory, so that two connections share it).

use std::sync::Arc;

use citywatch_store::Store;

use crate::conformance::Backend;
use crate::repo::AuditRepo;

struct SqliteFile(tempfile::TempDir);

impl Backend for SqliteFile {
    fn connect(&self) -> Arc<dyn AuditRepo> {
        Arc::new(Store::open(&self.0.path().join("citywatch.db")).expect("open the test database"))
    }
}

crate::audit_repo_conformance!(SqliteFile(tempfile::tempdir().expect("a temporary directory")));
