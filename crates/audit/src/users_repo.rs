//! The accounts' repository: users, their grants and their sessions, what
//! authentication and authorization need of a database, whatever the
//! database is.
//!
//! This crate owns the trait because it owns the rules that read it: the
//! policy (a principal's permissions from its grants in force), the
//! separation of duties, passwords and session tokens (only their SHA-256
//! reaches a repository). Two backends implement it: SQLite (`Store`, in
//! `sqlite_users_repo.rs`) and PostgreSQL (`citywatch-store-postgres`);
//! `users_conformance.rs` is the one suite both pass.

use std::collections::HashMap;

use citywatch_model::{AuditRow, Grant, GrantSpec, RepoError, Role, Timestamp, User, UserCredentials};

use crate::repo::MakeRowAfter;

/// Accounts, grants and sessions, as stored.
///
/// Every change a person makes to an account (create, password, disable,
/// grants, ending sessions) commits in one transaction with the audit
/// entry recording it, which `audit` makes from the change's outcome: both
/// or neither. A refused change (`Conflict`, `NotFound`) writes neither.
/// Sessions are made and ended by logins and logouts, which the API
/// records itself.
pub trait UserRepo: Send + Sync {
    /// Creates a user with its grants in one transaction: an account never
    /// exists without the roles it was made with. `Conflict` if the name is
    /// taken.
    fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        grants: &[GrantSpec],
        audit: MakeRowAfter<'_, Vec<Grant>>,
    ) -> Result<(Vec<Grant>, AuditRow), RepoError>;

    /// Sets the password hash and ends every session of the user (a
    /// session opened with the old password must not outlive it); how many
    /// ended. `NotFound` for an unknown user.
    fn set_password_hash(&self, username: &str, password_hash: &str, audit: MakeRowAfter<'_, usize>) -> Result<(usize, AuditRow), RepoError>;

    /// Disables (ending every session) or enables the user; how many
    /// sessions ended. `NotFound` for an unknown user.
    fn set_user_disabled(&self, username: &str, disabled: bool, audit: MakeRowAfter<'_, usize>) -> Result<(usize, AuditRow), RepoError>;

    /// What login checks; None for an unknown user.
    fn user_credentials(&self, username: &str) -> Result<Option<UserCredentials>, RepoError>;

    /// Every user, by name.
    fn users(&self) -> Result<Vec<User>, RepoError>;

    fn user_count(&self) -> Result<i64, RepoError>;

    /// Adds a grant to an existing user (`NotFound` otherwise). Separation
    /// of duties is checked before, by [`crate::add_grant`].
    fn add_grant(&self, username: &str, grant: &GrantSpec, audit: MakeRowAfter<'_, Grant>) -> Result<(Grant, AuditRow), RepoError>;

    /// Removes a grant and returns it, for the audit entry; `NotFound` if
    /// there is none with that id.
    fn delete_grant(&self, id: i64, audit: MakeRowAfter<'_, Grant>) -> Result<(Grant, AuditRow), RepoError>;

    /// Every grant of the user, expired ones included, in the order given.
    fn grants_of(&self, username: &str) -> Result<Vec<Grant>, RepoError>;

    /// Opens a session (by its token's hash) and records the login time.
    fn create_session(&self, token_hash: &str, username: &str, expires_at: Timestamp) -> Result<(), RepoError>;

    /// The user of a live session: the token is known, unexpired at `now`,
    /// and its user not disabled.
    fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<String>, RepoError>;

    /// Ends one session (logout); ending an unknown one is not an error.
    fn delete_session(&self, token_hash: &str) -> Result<(), RepoError>;

    /// Ends every session of the user, the account left as it is.
    /// `NotFound` for an unknown user.
    fn end_sessions_of(&self, username: &str, audit: MakeRowAfter<'_, usize>) -> Result<(usize, AuditRow), RepoError>;

    /// How many unexpired sessions each user holds (users with none absent).
    fn open_session_counts(&self, now: Timestamp) -> Result<HashMap<String, usize>, RepoError>;

    /// Removes sessions expired at `now`; how many.
    fn delete_expired_sessions(&self, now: Timestamp) -> Result<usize, RepoError>;

    /// A number that moves when a writer other than this handle ends
    /// sessions or disables a user (the CLI, another node): the server then
    /// re-checks its open streams at once. A backend may also move it on
    /// its own writes (a re-check too many, never one missed).
    fn sessions_marker(&self) -> Result<i64, RepoError>;

    /// The roles of the user's grants in force at `now`.
    fn roles_held(&self, username: &str, now: Timestamp) -> Result<Vec<Role>, RepoError> {
        Ok(self.grants_of(username)?.into_iter().filter(|g| g.is_active(now)).map(|g| g.role).collect())
    }
}
