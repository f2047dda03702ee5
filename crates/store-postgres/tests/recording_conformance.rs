//! The recording index's conformance suite on PostgreSQL: a fresh
//! database on the machine's server for each case, dropped after it.

use std::sync::Arc;

use citywatch_store_postgres::test_database::TestDatabase;
use citywatch_store_postgres::PgStore;
use citywatch_video::recording_conformance::{Backend, Handles};

struct Fresh(TestDatabase);

impl Backend for Fresh {
    fn connect(&self) -> Handles {
        let store = Arc::new(PgStore::connect(self.0.url()).expect("connect to the test database"));
        Handles { recordings: store.clone(), audit: store }
    }
}

citywatch_video::recording_repo_conformance!(Fresh(TestDatabase::create()));
