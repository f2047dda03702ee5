//! [`UserRepo`] on the embedded SQLite database: `Store` keeps the SQL.

use std::collections::HashMap;

use citywatch_model::{AuditRow, Grant, GrantSpec, RepoError, Timestamp, User, UserCredentials};
use citywatch_store::Store;

use crate::repo::MakeRowAfter;
use crate::users_repo::UserRepo;

impl UserRepo for Store {
    fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        grants: &[GrantSpec],
        audit: MakeRowAfter<'_, Vec<Grant>>,
    ) -> Result<(Vec<Grant>, AuditRow), RepoError> {
        Ok(self.create_user_audited(username, password_hash, grants, audit)?)
    }

    fn set_password_hash(&self, username: &str, password_hash: &str, audit: MakeRowAfter<'_, usize>) -> Result<(usize, AuditRow), RepoError> {
        Ok(self.set_password_hash_audited(username, password_hash, audit)?)
    }

    fn set_user_disabled(&self, username: &str, disabled: bool, audit: MakeRowAfter<'_, usize>) -> Result<(usize, AuditRow), RepoError> {
        Ok(self.set_user_disabled_audited(username, disabled, audit)?)
    }

    fn user_credentials(&self, username: &str) -> Result<Option<UserCredentials>, RepoError> {
        Ok(Store::user_credentials(self, username)?)
    }

    fn users(&self) -> Result<Vec<User>, RepoError> {
        Ok(self.list_users()?)
    }

    fn user_count(&self) -> Result<i64, RepoError> {
        Ok(Store::user_count(self)?)
    }

    fn add_grant(&self, username: &str, grant: &GrantSpec, audit: MakeRowAfter<'_, Grant>) -> Result<(Grant, AuditRow), RepoError> {
        Ok(self.add_grant_audited(username, grant, audit)?)
    }

    fn delete_grant(&self, id: i64, audit: MakeRowAfter<'_, Grant>) -> Result<(Grant, AuditRow), RepoError> {
        Ok(self.delete_grant_audited(id, audit)?)
    }

    fn grants_of(&self, username: &str) -> Result<Vec<Grant>, RepoError> {
        Ok(Store::grants_of(self, username)?)
    }

    fn create_session(&self, token_hash: &str, username: &str, expires_at: Timestamp) -> Result<(), RepoError> {
        Ok(Store::create_session(self, token_hash, username, expires_at)?)
    }

    fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<String>, RepoError> {
        Ok(Store::session_user(self, token_hash, now)?)
    }

    fn delete_session(&self, token_hash: &str) -> Result<(), RepoError> {
        Ok(Store::delete_session(self, token_hash)?)
    }

    fn end_sessions_of(&self, username: &str, audit: MakeRowAfter<'_, usize>) -> Result<(usize, AuditRow), RepoError> {
        Ok(self.end_sessions_of_audited(username, audit)?)
    }

    fn open_session_counts(&self, now: Timestamp) -> Result<HashMap<String, usize>, RepoError> {
        Ok(Store::open_session_counts(self, now)?)
    }

    fn delete_expired_sessions(&self, now: Timestamp) -> Result<usize, RepoError> {
        Ok(Store::delete_expired_sessions(self, now)?)
    }

    /// SQLite's `data_version`: it moves only on other connections' commits.
    fn sessions_marker(&self) -> Result<i64, RepoError> {
        Ok(self.data_version()?)
    }
}
