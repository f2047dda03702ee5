//! The camera repository's conformance suite on SQLite: a fresh database
//! file per case (a file, not memory, so that two connections share it).

use std::sync::Arc;

use citywatch_credentials::CredentialKey;
use citywatch_store::Store;

use crate::conformance::{Backend, Handles};

struct SqliteFile {
    dir: tempfile::TempDir,
    key: CredentialKey,
}

impl Backend for SqliteFile {
    fn connect(&self) -> Handles {
        let store = Arc::new(Store::open(&self.dir.path().join("citywatch.db")).expect("open the test database"));
        store.use_credential_key(self.key.clone()).expect("the suite's key opens what it sealed");
        Handles { cameras: store.clone(), audit: store }
    }
}

crate::camera_repo_conformance!(SqliteFile { dir: tempfile::tempdir().expect("a temporary directory"), key: CredentialKey::ephemeral() });
