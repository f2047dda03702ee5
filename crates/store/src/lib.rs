//! Persistence: the SQLite database of the embedded deployment.
//!
//! Owns the schema and its migrations, and every SQL statement. Other crates
//! get typed rows and never see SQL. The audit table is written only through
//! [`Store::append_audit`], which `citywatch-audit` alone calls: it owns the
//! hashing and signing, this crate only keeps the rows.
//!
//! One connection behind a mutex: SQLite serialises writers anyway, and
//! callers run queries on a blocking thread pool. WAL mode keeps readers of
//! other processes (`citywatch audit verify`) from blocking the server.

mod audit_rows;
mod audited;
mod cameras;
mod dispatch;
mod districts;
mod events;
mod hotlists;
mod legal_holds;
mod migrations;
mod plate_reads;
mod recordings;
mod retention;
mod time;
mod unmask_grants;
mod users;

pub use users::Credentials;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, RwLock};

use rusqlite::Connection;

pub use citywatch_credentials::{key_path as credential_key_path, CredentialKey, KeyFileError, StreamCredentials, CREDENTIAL_KEY_FILE};
pub use citywatch_model::ImportOutcome;
pub use dispatch::{IncidentChange, PositionOutcome, TrailPoint};
pub use events::{AlertChange, EventFilter};
pub use hotlists::{Hotlist, HotlistEntry, NewHotlistEntry};
// Unmask grants and legal holds are `citywatch-model`'s types (every backend
// keeps them); named here too for the callers that still read them from the store.
pub use citywatch_model::{LegalHold, NewLegalHold, NewUnmaskGrant, UnmaskGrant};
pub use plate_reads::{NewPlateRead, PlatePurge, PlateRead, PlateReadFilter};
pub use recordings::{RecordingRow, StoredParams, MAX_RECORDING_SPAN_90K};
pub use retention::{RecordingSummary, RecordingTotals, RetentionOverride};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    /// A write against a state that changed since it was read; nothing written.
    #[error("{0}")]
    Stale(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// Camera credentials that cannot be sealed or opened: no key, or not
    /// the key they were sealed with. Says which, never shows a credential.
    #[error(transparent)]
    Credentials(#[from] citywatch_credentials::CredentialError),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// What a repository trait's caller sees of a SQLite failure: the same
/// words a PostgreSQL backend uses for the same thing.
impl From<StoreError> for citywatch_model::RepoError {
    fn from(e: StoreError) -> citywatch_model::RepoError {
        use citywatch_model::RepoError;
        match e {
            StoreError::Conflict(m) => RepoError::Conflict(m),
            StoreError::NotFound(m) => RepoError::NotFound(m),
            StoreError::Stale(m) => RepoError::Stale(m),
            StoreError::Corrupt(m) => RepoError::Corrupt(m),
            StoreError::Db(rusqlite::Error::SqliteFailure(code, msg))
                if matches!(code.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
            {
                RepoError::Unavailable(msg.unwrap_or_else(|| "the database is busy".into()))
            }
            StoreError::Db(rusqlite::Error::SqliteFailure(code, msg)) if code.code == rusqlite::ErrorCode::ConstraintViolation => {
                RepoError::Conflict(msg.unwrap_or_else(|| "a row with that key".into()))
            }
            e @ (StoreError::Db(_) | StoreError::Credentials(_)) => RepoError::Backend(e.to_string()),
        }
    }
}

pub struct Store {
    conn: Mutex<Connection>,
    /// Seals and opens camera credentials; `None` until the data directory's
    /// key is given ([`Store::use_credential_key`]): credentials can then be
    /// neither written nor read.
    credential_key: RwLock<Option<CredentialKey>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        Self::from_connection(conn)
    }

    /// A private in-memory database, for tests; its credentials are sealed
    /// with a key that lives as long as it does.
    pub fn open_in_memory() -> Result<Store> {
        let store = Self::from_connection(Connection::open_in_memory()?)?;
        store.use_credential_key(CredentialKey::ephemeral())?;
        Ok(store)
    }

    fn from_connection(mut conn: Connection) -> Result<Store> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::apply(&mut conn)?;
        Ok(Store { conn: Mutex::new(conn), credential_key: RwLock::new(None) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent
        // (transactions roll back on drop), so the poison can be ignored.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes every commit wait for the WAL to reach the disk
    /// (`synchronous = FULL`): a commit then survives power loss, not only
    /// a crash of the process as with the default `NORMAL`. For
    /// measurements and deployments that want it.
    pub fn set_synchronous_full(&self) -> Result<()> {
        self.conn().pragma_update(None, "synchronous", "FULL")?;
        Ok(())
    }

    /// A small key/value table for settings made at init (e.g. the console's
    /// map centre).
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self.conn().query_row("SELECT value FROM setting WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn().execute("INSERT INTO setting (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, value])?;
        Ok(())
    }
}

impl Store {
    /// Changes when another connection (another process) commits to the
    /// database; unchanged by this connection's own writes.
    pub fn external_change_counter(&self) -> Result<i64> {
        Ok(self.conn().pragma_query_value(None, "data_version", |r| r.get(0))?)
    }
}
