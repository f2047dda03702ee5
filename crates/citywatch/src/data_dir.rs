//! A data directory: the SQLite database, the audit signing key, the key
//! that seals camera credentials (`credentials.key`), the configuration and
//! (for the demo) the base map. Opening one creates what is missing,
//! including the first admin account.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use citywatch_audit::{hash_password, load_or_create_signing_key, AuditLog, Record};
use citywatch_model::Role;
use citywatch_store::{credential_key_path, CredentialKey, Store};
use rand::distributions::{Alphanumeric, DistString};

use crate::config::{self, Config};

pub const DB_FILE: &str = "citywatch.db";
pub const BASEMAP_FILE: &str = "basemap.geojson";
/// The road network for routing units (GeoJSON LineStrings, optional
/// `maxspeed`/`highway` properties), loaded at start if present.
pub const ROADS_FILE: &str = "roads.geojson";

pub struct DataDir {
    pub path: PathBuf,
    pub store: Arc<Store>,
    pub audit: Arc<AuditLog>,
    pub config: Config,
}

impl DataDir {
    /// Opens (creating if needed) the data directory.
    pub fn open(path: &Path) -> anyhow::Result<DataDir> {
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
        let db = path.join(DB_FILE);
        let store = Arc::new(Store::open(&db).with_context(|| format!("opening database {}", db.display()))?);
        open_credentials(&store, path)?;
        let key = load_or_create_signing_key(path)?;
        let audit = Arc::new(AuditLog::new(store.clone(), key));
        Ok(DataDir { path: path.to_owned(), store, audit, config })
    }

    /// Opens an existing data directory without creating anything (for
    /// commands that only read, such as `audit verify`).
    pub fn open_existing_store(path: &Path) -> anyhow::Result<Store> {
        let db = path.join(DB_FILE);
        anyhow::ensure!(db.exists(), "{} has no {DB_FILE}; is --data the directory the server uses?", path.display());
        Store::open(&db).with_context(|| format!("opening database {}", db.display()))
    }

    /// Makes the first admin (all districts) if there are no users. Returns
    /// the password when it was generated, to be shown once.
    pub fn ensure_admin(&self, password: Option<&str>) -> anyhow::Result<Option<String>> {
        if self.store.user_count()? > 0 {
            return Ok(None);
        }
        let (password, generated) = match password {
            Some(p) => (p.to_owned(), false),
            None => (Alphanumeric.sample_string(&mut rand::thread_rng(), 20), true),
        };
        let hash = hash_password(&password).context("the admin password")?;
        self.store.create_user("admin", &hash)?;
        let grant = self.store.add_grant("admin", Role::Admin, None, None)?;
        self.audit.record(Record::new("citywatch", "user.create", "admin").detail(serde_json::json!({"grants": [grant], "first_admin": true})))?;
        Ok(generated.then_some(password))
    }
}

/// Gives the store the key that seals camera credentials (made on first
/// use), after checking that it opens the ones already sealed; credentials
/// an older release stored in plain text are sealed now.
fn open_credentials(store: &Store, data_dir: &Path) -> anyhow::Result<()> {
    let key_path = credential_key_path(data_dir);
    let restore = "Restore the credentials.key of this data directory from its backup (or set CITYWATCH_CREDENTIALS_KEY to where it is kept); \
        without it the cameras' user names and passwords must be entered again";
    let key = if key_path.exists() {
        CredentialKey::load(&key_path)?
    } else {
        let sealed = store.sealed_credential_count()?;
        anyhow::ensure!(
            sealed == 0,
            "{sealed} camera credentials in this database are sealed, but the key that opens them, {}, is missing. {restore}.",
            key_path.display()
        );
        CredentialKey::create(&key_path)?
    };
    let sealed_now = store.use_credential_key(key).map_err(|e| anyhow::anyhow!("{e}. {restore}."))?;
    if sealed_now > 0 {
        tracing::info!("sealed {sealed_now} camera credentials that were stored in plain text, with the key in {}", key_path.display());
    }
    Ok(())
}

/// The audit log's actor for changes made from the command line, which
/// bypass the API's sessions: the operating-system user.
pub fn cli_actor() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}
