//! The recording index's conformance suite on SQLite: a fresh database
//! file per case (a file, not memory, so that two connections share it,
//! as the concurrency cases need).

use std::sync::Arc;

use citywatch_store::Store;

use crate::recording_conformance::{Backend, Handles};

struct SqliteFile(tempfile::TempDir);

impl Backend for SqliteFile {
    fn connect(&self) -> Handles {
        let store = Arc::new(Store::open(&self.0.path().join("citywatch.db")).expect("open the test database"));
        Handles { recordings: store.clone(), audit: store }
    }
}

crate::recording_repo_conformance!(SqliteFile(tempfile::tempdir().expect("a temporary directory")));
