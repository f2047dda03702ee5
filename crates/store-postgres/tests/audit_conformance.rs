//! The audit repository's conformance suite on PostgreSQL: a fresh
//! database on the machine's server for each case, dropped after it.

use std::sync::Arc;

use citywatch_audit::conformance::Backend;
use citywatch_audit::AuditRepo;
use citywatch_store_postgres::test_database::TestDatabase;
use citywatch_store_postgres::PgStore;

struct Fresh(TestDatabase);

impl Backend for Fresh {
    fn connect(&self) -> Arc<dyn AuditRepo> {
        Arc::new(PgStore::connect(self.0.url()).expect("connect to the test database"))
    }
}

citywatch_audit::audit_repo_conformance!(Fresh(TestDatabase::create()));
