//! A fresh PostgreSQL database for one test, dropped when the test ends:
//! tests never share a database or leave one behind. The server is the
//! one at `CITYWATCH_TEST_POSTGRES` (a `postgres://` address of a role
//! allowed to create databases), by default the machine's own at
//! 127.0.0.1:5432 as `postgres`.

use std::sync::atomic::{AtomicU32, Ordering};

use postgres::{Client, NoTls};

/// The server's maintenance database, where databases are created and dropped.
pub fn admin_url() -> String {
    std::env::var("CITYWATCH_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database created for one test; dropped (with any connection still
/// open to it) when this is dropped.
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates an empty database. Panics with what to do when no server answers.
    pub fn create() -> TestDatabase {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("citywatch_test_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let create = format!("CREATE DATABASE {name}");
        off_async(move || admin().batch_execute(&create)).unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        let admin = admin_url();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        TestDatabase { name, url }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A plain client on the database, for what a test does behind the
    /// repositories' back (an attacker's UPDATE, say).
    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.name))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = off_async(move || admin().batch_execute(&drop)) {
            eprintln!("warning: could not drop the test database {}: {e}", self.name);
        }
    }
}

/// Runs `f` on a thread of its own: the blocking client panics on a thread
/// that drives async tasks, and a test (or its server's state) may create
/// or drop its database from one.
fn off_async<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().unwrap_or_else(|e| std::panic::resume_unwind(e))
}

fn admin() -> Client {
    let url = admin_url();
    Client::connect(&url, NoTls).unwrap_or_else(|e| {
        panic!("the tests need a PostgreSQL server at {url} (set CITYWATCH_TEST_POSTGRES to another address; scripts/setup.sh starts the machine's own): {e}")
    })
}
