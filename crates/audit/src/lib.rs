//! Accountability: who may do what, and the tamper-evident record of what
//! they did.
//!
//! Owns the authorization policy (roles → permissions, district scopes),
//! password hashing and session tokens, and the audit log: its canonical
//! encoding, hash chain, signed checkpoints and offline verification.
//! Nothing outside this crate writes audit entries; this crate knows
//! nothing of HTTP (callers translate its answers into status codes).

mod accounts;
mod canonical;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(test)]
mod conformance_sqlite;
mod duties;
mod keys;
mod log;
mod policy;
mod repo;
mod sqlite_repo;
mod sqlite_users_repo;
#[cfg(any(test, feature = "conformance"))]
pub mod users_conformance;
#[cfg(test)]
mod users_conformance_sqlite;
mod users_repo;
mod verify;

pub use accounts::{check_new_password, hash_password, new_session_token, token_hash, verify_password, PasswordError, MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};
pub use canonical::{canonical_json, entry_hash, stored_text_hash, GENESIS_HASH};
pub use citywatch_model::Scope;
pub use duties::{add_grant, check_grant, GrantError, GrantRefused, Granter};
pub use keys::{load_or_create_signing_key, read_public_key, SIGNING_KEY_FILE, VERIFYING_KEY_FILE};
pub use log::{AuditLog, PendingEntry, Record, CHECKPOINT_EVERY_ENTRIES};
pub use policy::{Permission, Principal};
pub use repo::{AuditRepo, MakeRow, MakeRowAfter};
pub use users_repo::UserRepo;
pub use verify::{verify_log, VerifyFailure, VerifyReport};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] citywatch_store::StoreError),
    /// The audit log's database failed (SQLite or PostgreSQL alike).
    #[error(transparent)]
    Repo(#[from] citywatch_model::RepoError),
    #[error("audit key {path}: {reason}")]
    Key { path: String, reason: String },
}
