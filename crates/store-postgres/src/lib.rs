//! The PostgreSQL backend of Citywatch's repositories, for a city whose
//! state outgrows one machine: several nodes share one database, and the
//! audit chain stays one chain however many of them write to it.
//!
//! Owns the PostgreSQL schema (`migrations/`, one named SQL file per
//! version) and every PostgreSQL statement; implements the repository
//! traits the domain crates own. Today those are the audit log's
//! ([`citywatch_audit::AuditRepo`]), the accounts' ([`citywatch_audit::UserRepo`]),
//! the camera registry's ([`citywatch_registry::CameraRepo`]), the
//! events' ([`citywatch_events::EventRepo`]), the hotlists'
//! ([`citywatch_hotlists::PlateRepo`]), exceptional access's
//! ([`citywatch_access::AccessRepo`]: unmask grants, legal holds),
//! dispatch's ([`citywatch_dispatch::DispatchRepo`]) and the recording
//! index's ([`citywatch_video::RecordingRepo`]: recordings, codec
//! parameters, files to delete, retention limits); the other domains'
//! traits follow (docs/design/storage.md lists what is where).
//!
//! The client is `postgres`, the blocking face of `tokio-postgres`,
//! pooled by `r2d2`: repository calls block, as SQLite's do, and run on a
//! blocking thread (never on an async worker, where the client's own
//! runtime would refuse to start). Connections are plain TCP for now;
//! TLS to the database comes with the binary's one rustls provider.

mod access;
mod audit;
mod cameras;
mod dispatch;
mod error;
mod events;
mod migrations;
mod params;
mod plates;
mod recordings;
#[cfg(feature = "test-database")]
pub mod test_database;
mod users;

use std::sync::RwLock;
use std::time::Duration;

use citywatch_credentials::CredentialKey;
use citywatch_model::RepoError;
use r2d2_postgres::postgres::{Config, NoTls};
use r2d2_postgres::PostgresConnectionManager;

use crate::error::pool_error;

/// Connections a process keeps at most: appends serialise on the chain's
/// head anyway, and readers are few (the auditor's screen, verification).
const MAX_CONNECTIONS: u32 = 8;
/// How long a call waits for a connection before it says the database is
/// unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `s` names a PostgreSQL database (`postgres://` or
/// `postgresql://`), as opposed to a SQLite file.
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// A pool of connections to one PostgreSQL database whose schema is up to date.
pub struct PgStore {
    pool: Pool,
    /// Seals and opens camera credentials; `None` until a key is given
    /// ([`PgStore::use_credential_key`]): credentials can then be neither
    /// written nor read.
    credential_key: RwLock<Option<CredentialKey>>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/database`) and brings
    /// the schema up to date. A server that does not answer within a few
    /// seconds is `Unavailable`.
    pub fn connect(url: &str) -> Result<PgStore, RepoError> {
        let config: Config = url.parse().map_err(|e| RepoError::Backend(format!("{} is not a PostgreSQL address: {e}", redacted(url))))?;
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(MAX_CONNECTIONS)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .build(manager)
            .map_err(|e| RepoError::Unavailable(format!("cannot connect to {}: {e}", redacted(url))))?;
        let store = PgStore { pool: Pool(Some(pool)), credential_key: RwLock::new(None) };
        let applied = migrations::apply(&mut *store.client()?)?;
        if !applied.is_empty() {
            tracing::info!(versions = ?applied, "PostgreSQL schema migrated");
        }
        Ok(store)
    }

    fn client(&self) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>, RepoError> {
        self.pool.get().map_err(pool_error)
    }
}

/// The connection pool, closed on a thread of its own when dropped:
/// closing a blocking client's connection blocks, which panics on a thread
/// that drives async tasks, and the last handle to a store may well be
/// dropped on one (a server's state at shutdown, a test's body).
struct Pool(Option<r2d2::Pool<PostgresConnectionManager<NoTls>>>);

impl Pool {
    fn get(&self) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>, r2d2::Error> {
        self.0.as_ref().expect("the pool is there until the store is dropped").get()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            // Joined: the connections are closed when the store is gone.
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

/// `url` without a password, for messages and logs.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user_part = &url[scheme + 3..at];
            let user = user_part.split(':').next().unwrap_or("");
            format!("{}{}{}", &url[..scheme + 3], if user_part.contains(':') { format!("{user}:***") } else { user.to_owned() }, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{is_postgres_url, redacted};

    #[test]
    fn a_password_never_reaches_a_message() {
        assert_eq!(redacted("postgres://cw:s3cret@db:5432/city"), "postgres://cw:***@db:5432/city");
        assert_eq!(redacted("postgres://cw@db/city"), "postgres://cw@db/city");
        assert_eq!(redacted("postgresql://db/city"), "postgresql://db/city");
    }

    #[test]
    fn postgres_urls_are_told_from_files() {
        assert!(is_postgres_url("postgres://db/city"));
        assert!(is_postgres_url("postgresql://db/city"));
        assert!(!is_postgres_url("/var/lib/citywatch/citywatch.db"));
    }
}
