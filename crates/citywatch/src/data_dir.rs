//! A data directory: the SQLite database (or the address of the PostgreSQL
//! one, `[database] url`), the audit signing key, the key
//! that seals camera credentials (`credentials.key`), the configuration and
//! (for the demo) the base map. Opening one creates what is missing,
//! including the first admin account.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use citywatch_audit::{hash_password, load_or_create_signing_key, AuditLog, PendingEntry, Record};
use citywatch_model::{Grant, GrantSpec, Role};
use citywatch_store::Store;
use citywatch_store_postgres::{is_postgres_url, PgStore};
use citywatch_video::RecordingRepo;
use rand::distributions::{Alphanumeric, DistString};

use crate::config::{self, Config};
use citywatch_api::Repos;

use crate::database::Database;

pub const DB_FILE: &str = "citywatch.db";
pub const BASEMAP_FILE: &str = "basemap.geojson";
/// The road network for routing units (GeoJSON LineStrings, optional
/// `maxspeed`/`highway` properties), loaded at start if present.
pub const ROADS_FILE: &str = "roads.geojson";

pub struct DataDir {
    pub path: PathBuf,
    /// The database every domain's repository is in.
    pub database: Database,
    pub repos: Repos,
    pub audit: Arc<AuditLog>,
    pub config: Config,
}

impl DataDir {
    /// Opens (creating if needed) the data directory, on the database its
    /// configuration names (`[database] url`; empty: its own SQLite).
    pub fn open(path: &Path) -> anyhow::Result<DataDir> {
        DataDir::open_on(path, None)
    }

    /// [`DataDir::open`], on the database `database` names instead of the
    /// configured one when given (`serve --database`).
    pub fn open_on(path: &Path, database: Option<&str>) -> anyhow::Result<DataDir> {
        std::fs::create_dir_all(path).with_context(|| format!("creating data directory {}", path.display()))?;
        // Made private by the umask when new; one from an older release may
        // still be readable by every local user.
        let tightened = crate::private_files::tighten(path).with_context(|| format!("making {} readable only by its owner", path.display()))?;
        if !tightened.changed.is_empty() {
            tracing::warn!("{}", tightened.summary(path));
        }
        let config_path = path.join(config::FILE_NAME);
        if !config_path.exists() {
            std::fs::write(&config_path, config::DEFAULT_CONFIG).with_context(|| format!("writing {}", config_path.display()))?;
        }
        let config = Config::load(&config_path)?;
        let url = database.or(Some(config.database.url.as_str())).filter(|u| !u.is_empty());
        let database = Database::open(url, &path.join(DB_FILE), path)?;
        let repos = database.repos();
        let key = load_or_create_signing_key(path)?;
        let audit = Arc::new(AuditLog::new(repos.audit.clone(), key));
        Ok(DataDir { path: path.to_owned(), database, repos, audit, config })
    }

    /// The embedded SQLite database, for the demo, which populates only
    /// that; a clear refusal when this directory's server runs on
    /// PostgreSQL.
    pub fn sqlite(&self, command: &str) -> anyhow::Result<&Arc<Store>> {
        match &self.database {
            Database::Embedded(store) => Ok(store),
            Database::Postgres(_) => {
                anyhow::bail!("{command} works on the embedded database only, and this data directory's server runs on PostgreSQL ([database] url)")
            }
        }
    }

    /// The PostgreSQL database an existing data directory's configuration
    /// names (`[database] url`), connected (which brings its schema up to
    /// date, as a server start would); `None` when it uses its own SQLite.
    pub fn configured_postgres(path: &Path) -> anyhow::Result<Option<PgStore>> {
        let config = Config::load(&path.join(config::FILE_NAME))?;
        let url = config.database.url.as_str();
        if url.is_empty() {
            return Ok(None);
        }
        anyhow::ensure!(is_postgres_url(url), "[database] url {url:?} is not a postgres:// address; leave it empty to use citywatch.db in the data directory");
        Ok(Some(PgStore::connect(url).context("opening the PostgreSQL database ([database] url)")?))
    }

    /// The recording index of an existing data directory, for `citywatch
    /// check` (which only reads): its PostgreSQL database's, or its
    /// citywatch.db's (never created here: a directory without one is
    /// refused, naming it).
    pub fn open_existing_index(path: &Path) -> anyhow::Result<Arc<dyn RecordingRepo>> {
        Ok(match DataDir::configured_postgres(path)? {
            Some(pg) => Arc::new(pg),
            None => Arc::new(DataDir::open_existing_store(path)?),
        })
    }

    /// Opens an existing data directory without creating anything (for
    /// commands that only read, such as `audit verify`).
    pub fn open_existing_store(path: &Path) -> anyhow::Result<Store> {
        let db = path.join(DB_FILE);
        anyhow::ensure!(db.exists(), "{} has no {DB_FILE}; is --data the directory the server uses?", path.display());
        Store::open(&db).with_context(|| format!("opening database {}", db.display()))
    }

    /// Makes the first admin (all districts) if there are no users. Returns
    /// the password when it was generated, to be shown once. The account,
    /// its grant and its audit entry commit together.
    pub fn ensure_admin(&self, password: Option<&str>) -> anyhow::Result<Option<String>> {
        if self.repos.users.user_count()? > 0 {
            return Ok(None);
        }
        let (password, generated) = match password {
            Some(p) => (p.to_owned(), false),
            None => (Alphanumeric.sample_string(&mut rand::thread_rng(), 20), true),
        };
        let hash = hash_password(&password).context("the admin password")?;
        let spec = GrantSpec { role: Role::Admin, districts: None, expires_at: None };
        let record = |grants: &Vec<Grant>| Record::new("citywatch", "user.create", "admin").detail(serde_json::json!({"grants": grants, "first_admin": true}));
        let (_, row) = self.repos.users.create_user("admin", &hash, &[spec], PendingEntry::after(record))?;
        self.audit.appended(&row);
        Ok(generated.then_some(password))
    }
}

/// The audit log's actor for changes made from the command line, which
/// bypass the API's sessions: the operating-system user.
pub fn cli_actor() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}
