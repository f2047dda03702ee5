//! The hotlists repository's conformance suite on PostgreSQL: a fresh
//! database on the machine's server for each case, dropped after it.

use std::sync::Arc;

use citywatch_hotlists::conformance::{Backend, Handles};
use citywatch_store_postgres::test_database::TestDatabase;
use citywatch_store_postgres::PgStore;

struct Fresh {
    db: TestDatabase,
}

impl Backend for Fresh {
    fn connect(&self) -> Handles {
        let store = Arc::new(PgStore::connect(self.db.url()).expect("connect to the test database"));
        Handles { plates: store.clone(), events: store.clone(), audit: store }
    }
}

citywatch_hotlists::plate_repo_conformance!(Fresh { db: TestDatabase::create() });
