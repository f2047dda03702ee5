//! Dispatch's repository conformance suite on SQLite: a fresh database
//! file per case (a file, not memory, so that two connections share it,
//! as the concurrency case needs).

use std::sync::Arc;

use citywatch_store::Store;

use crate::conformance::{Backend, Handles};

struct SqliteFile {
    dir: tempfile::TempDir,
}

impl Backend for SqliteFile {
    fn connect(&self) -> Handles {
        let store = Arc::new(Store::open(&self.dir.path().join("citywatch.db")).expect("open the test database"));
        Handles { dispatch: store.clone(), audit: store }
    }
}

crate::dispatch_repo_conformance!(SqliteFile { dir: tempfile::tempdir().expect("a temporary directory") });
