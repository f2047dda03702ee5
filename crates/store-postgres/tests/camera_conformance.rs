//! The camera repository's conformance suite on PostgreSQL: a fresh
//! database on the machine's server for each case, dropped after it.

use std::sync::Arc;

use citywatch_credentials::CredentialKey;
use citywatch_registry::conformance::{Backend, Handles};
use citywatch_store_postgres::test_database::TestDatabase;
use citywatch_store_postgres::PgStore;

struct Fresh {
    db: TestDatabase,
    key: CredentialKey,
}

impl Backend for Fresh {
    fn connect(&self) -> Handles {
        let store = Arc::new(PgStore::connect(self.db.url()).expect("connect to the test database"));
        store.use_credential_key(self.key.clone()).expect("the suite's key opens what it sealed");
        Handles { cameras: store.clone(), audit: store }
    }
}

citywatch_registry::camera_repo_conformance!(Fresh { db: TestDatabase::create(), key: CredentialKey::ephemeral() });
