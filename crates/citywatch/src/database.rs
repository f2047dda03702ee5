//! Which database a server runs on, and the repositories it hands out.
//!
//! Every domain reads and writes through its own repository trait; a
//! deployment picks one backend for all of them, so that a change and its
//! audit entry are always in the same database (they commit in one
//! transaction). SQLite in the data directory is the default; a
//! `postgres://` address (`[database] url`, or `serve --database`) puts
//! everything in PostgreSQL, as a city's cluster needs.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use citywatch_api::Repos;
use citywatch_store::{credential_key_path, CredentialKey, Store};
use citywatch_store_postgres::{is_postgres_url, PgStore};

/// The database a data directory's server uses.
pub enum Database {
    /// `citywatch.db` in the data directory.
    Embedded(Arc<Store>),
    /// A PostgreSQL database, shared by every node of a cluster.
    Postgres(Arc<PgStore>),
}

impl Database {
    /// Opens the embedded database at `db` or connects to the PostgreSQL
    /// database `url`, and gives it the key that seals camera credentials
    /// (kept in `data_dir`, made on first use).
    pub fn open(url: Option<&str>, db: &Path, data_dir: &Path) -> anyhow::Result<Database> {
        let database = match url {
            Some(url) if is_postgres_url(url) => {
                let pg = PgStore::connect(url).with_context(|| "opening the PostgreSQL database (--database or [database] url)".to_owned())?;
                Database::Postgres(Arc::new(pg))
            }
            Some(other) => anyhow::bail!(
                "the database address {other:?} is not a postgres:// address; leave [database] url empty to use citywatch.db in the data directory"
            ),
            None => Database::Embedded(Arc::new(Store::open(db).with_context(|| format!("opening database {}", db.display()))?)),
        };
        database.open_credentials(data_dir)?;
        Ok(database)
    }

    pub fn repos(&self) -> Repos {
        match self {
            Database::Embedded(store) => Repos::of(store.clone()),
            Database::Postgres(pg) => Repos::of(pg.clone()),
        }
    }

    /// Where the data is, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Database::Embedded(_) => "SQLite in the data directory",
            Database::Postgres(_) => "PostgreSQL",
        }
    }

    /// Gives the database the key that seals camera credentials (made on
    /// first use), after checking that it opens the ones already sealed;
    /// credentials an older release stored in plain text are sealed now.
    fn open_credentials(&self, data_dir: &Path) -> anyhow::Result<()> {
        let key_path = credential_key_path(data_dir);
        let restore = "Restore the credentials.key of this data directory from its backup (or set CITYWATCH_CREDENTIALS_KEY to where it is kept); \
            without it the cameras' user names and passwords must be entered again";
        let key = if key_path.exists() {
            CredentialKey::load(&key_path)?
        } else {
            let sealed = match self {
                Database::Embedded(store) => store.sealed_credential_count()?,
                Database::Postgres(pg) => pg.sealed_credential_count()?,
            };
            anyhow::ensure!(
                sealed == 0,
                "{sealed} camera credentials in this database are sealed, but the key that opens them, {}, is missing. {restore}.",
                key_path.display()
            );
            CredentialKey::create(&key_path)?
        };
        let sealed_now = match self {
            Database::Embedded(store) => store.use_credential_key(key).map_err(|e| anyhow::anyhow!("{e}. {restore}."))?,
            Database::Postgres(pg) => pg.use_credential_key(key).map_err(|e| anyhow::anyhow!("{e}. {restore}."))?,
        };
        if sealed_now > 0 {
            tracing::info!("sealed {sealed_now} camera credentials that were stored in plain text, with the key in {}", key_path.display());
        }
        Ok(())
    }
}
