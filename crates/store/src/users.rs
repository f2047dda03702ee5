use std::collections::HashMap;

use chrono::Utc;
use citywatch_model::{AuditRow, ChainHead, Grant, GrantSpec, Role, Timestamp, User};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::{time, Result, Store, StoreError};

/// What login needs to know of a user.
pub type Credentials = citywatch_model::UserCredentials;

impl Store {
    pub fn create_user(&self, username: &str, password_hash: &str) -> Result<()> {
        create_user_in(&self.conn(), username, password_hash)
    }

    /// Sets the password and ends every session of the user (a session
    /// opened with the old password must not outlive it). Returns how many
    /// sessions ended.
    pub fn set_password_hash(&self, username: &str, password_hash: &str) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let ended = set_password_in(&tx, username, password_hash)?;
        tx.commit()?;
        Ok(ended)
    }

    /// Disables (or enables) the user; disabling ends every session of it.
    /// Returns how many sessions ended.
    pub fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let ended = set_disabled_in(&tx, username, disabled)?;
        tx.commit()?;
        Ok(ended)
    }

    /// The audited forms of the account changes a person makes: each
    /// change commits with the entry `audit` makes from its outcome.
    pub fn create_user_audited(
        &self,
        username: &str,
        password_hash: &str,
        grants: &[GrantSpec],
        audit: impl FnOnce(&Vec<Grant>, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(Vec<Grant>, AuditRow)> {
        let create = |tx: &Transaction<'_>| {
            create_user_in(tx, username, password_hash)?;
            grants.iter().map(|g| add_grant_in(tx, username, g.role, g.districts.as_deref(), g.expires_at)).collect::<Result<Vec<_>>>()
        };
        self.write_audited(create, audit)
    }

    pub fn set_password_hash_audited(
        &self,
        username: &str,
        password_hash: &str,
        audit: impl FnOnce(&usize, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(usize, AuditRow)> {
        self.write_audited(|tx| set_password_in(tx, username, password_hash), audit)
    }

    pub fn set_user_disabled_audited(
        &self,
        username: &str,
        disabled: bool,
        audit: impl FnOnce(&usize, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(usize, AuditRow)> {
        self.write_audited(|tx| set_disabled_in(tx, username, disabled), audit)
    }

    pub fn end_sessions_of_audited(&self, username: &str, audit: impl FnOnce(&usize, Option<&ChainHead>) -> AuditRow) -> Result<(usize, AuditRow)> {
        self.write_audited(|tx| end_sessions_in(tx, username), audit)
    }

    pub fn add_grant_audited(
        &self,
        username: &str,
        grant: &GrantSpec,
        audit: impl FnOnce(&Grant, Option<&ChainHead>) -> AuditRow,
    ) -> Result<(Grant, AuditRow)> {
        self.write_audited(|tx| add_grant_in(tx, username, grant.role, grant.districts.as_deref(), grant.expires_at), audit)
    }

    pub fn delete_grant_audited(&self, id: i64, audit: impl FnOnce(&Grant, Option<&ChainHead>) -> AuditRow) -> Result<(Grant, AuditRow)> {
        self.write_audited(|tx| delete_grant_in(tx, id), audit)
    }

    pub fn user_credentials(&self, username: &str) -> Result<Option<Credentials>> {
        Ok(self
            .conn()
            .query_row("SELECT password_hash, disabled FROM user WHERE username = ?1", [username], |r| {
                Ok(Credentials { password_hash: r.get(0)?, disabled: r.get(1)? })
            })
            .optional()?)
    }

    pub fn list_users(&self) -> Result<Vec<User>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT username, disabled, created_at, last_login_at FROM user ORDER BY username")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?)))?;
        rows.map(|row| {
            let (username, disabled, created, last_login) = row?;
            Ok(User { username, disabled, created_at: time::from_text(&created)?, last_login_at: last_login.as_deref().map(time::from_text).transpose()? })
        })
        .collect()
    }

    /// How many unexpired sessions each user holds (users with none are absent).
    pub fn open_session_counts(&self, now: Timestamp) -> Result<HashMap<String, usize>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT username, count(*) FROM session WHERE expires_at > ?1 GROUP BY username")?;
        let rows = stmt.query_map([time::to_text(now)], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Ends every session of the user, leaving the account as it is.
    /// Returns how many sessions ended.
    pub fn end_sessions_of(&self, username: &str) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let ended = end_sessions_in(&tx, username)?;
        tx.commit()?;
        Ok(ended)
    }

    pub fn user_count(&self) -> Result<i64> {
        Ok(self.conn().query_row("SELECT count(*) FROM user", [], |r| r.get(0))?)
    }

    pub fn add_grant(&self, username: &str, role: Role, districts: Option<&[String]>, expires_at: Option<Timestamp>) -> Result<Grant> {
        add_grant_in(&self.conn(), username, role, districts, expires_at)
    }

    /// Returns the removed grant, so the caller can audit what was taken away.
    pub fn delete_grant(&self, id: i64) -> Result<Grant> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let grant = delete_grant_in(&tx, id)?;
        tx.commit()?;
        Ok(grant)
    }

    /// Every grant of the user, expired ones included (the caller decides).
    pub fn grants_of(&self, username: &str) -> Result<Vec<Grant>> {
        self.grants_where("username = ?1", params![username])
    }

    fn grants_where(&self, condition: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<Grant>> {
        grants_where(&self.conn(), condition, args)
    }

    /// A session is made only by a successful login, so this is also
    /// when the user last logged in.
    pub fn create_session(&self, token_hash: &str, username: &str, expires_at: Timestamp) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = time::to_text(Utc::now());
        tx.execute(
            "INSERT INTO session (token_hash, username, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, username, now, time::to_text(expires_at)],
        )?;
        tx.execute("UPDATE user SET last_login_at = ?2 WHERE username = ?1", params![username, now])?;
        tx.commit()?;
        Ok(())
    }

    /// The user of a live session, if the token is known, unexpired and the
    /// user is not disabled.
    pub fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT s.username FROM session s JOIN user u ON u.username = s.username
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
                params![token_hash, time::to_text(now)],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.conn().execute("DELETE FROM session WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    /// Changes whenever another connection (another process, such as the
    /// command line, or another `Store` on the same file) commits to the
    /// database; this `Store`'s own commits leave it as it is. Lets the
    /// server notice sessions ended behind its back with one cheap query.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self.conn().query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    pub fn delete_expired_sessions(&self, now: Timestamp) -> Result<usize> {
        Ok(self.conn().execute("DELETE FROM session WHERE expires_at <= ?1", [time::to_text(now)])?)
    }
}

fn create_user_in(conn: &Connection, username: &str, password_hash: &str) -> Result<()> {
    let done = conn.execute(
        "INSERT INTO user (username, password_hash, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![username, password_hash, time::to_text(Utc::now())],
    )?;
    if done == 0 {
        return Err(StoreError::Conflict(format!("user {username}")));
    }
    Ok(())
}

fn add_grant_in(conn: &Connection, username: &str, role: Role, districts: Option<&[String]>, expires_at: Option<Timestamp>) -> Result<Grant> {
    let known = conn.query_row("SELECT 1 FROM user WHERE username = ?1", [username], |_| Ok(())).optional()?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("user {username}")));
    }
    let districts_json = districts.map(|d| serde_json::to_string(d).expect("strings serialise"));
    conn.execute(
        "INSERT INTO user_grant (username, role, districts, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![username, role.as_str(), districts_json, expires_at.map(time::to_text)],
    )?;
    Ok(Grant { id: conn.last_insert_rowid(), username: username.to_owned(), role, districts: districts.map(<[String]>::to_vec), expires_at })
}

fn grants_where(conn: &Connection, condition: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<Grant>> {
    let mut stmt = conn.prepare(&format!("SELECT id, username, role, districts, expires_at FROM user_grant WHERE {condition} ORDER BY id"))?;
    let rows = stmt.query_map(args, |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, Option<String>>(4)?))
    })?;
    rows.map(|row| {
        let (id, username, role, districts, expires) = row?;
        let role = Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("grant {id}: role {role:?}")))?;
        let districts = districts.map(|d| serde_json::from_str(&d).map_err(|e| StoreError::Corrupt(format!("grant {id}: districts: {e}")))).transpose()?;
        let expires_at = expires.as_deref().map(time::from_text).transpose()?;
        Ok(Grant { id, username, role, districts, expires_at })
    })
    .collect()
}

fn set_password_in(conn: &Connection, username: &str, password_hash: &str) -> Result<usize> {
    let n = conn.execute("UPDATE user SET password_hash = ?2 WHERE username = ?1", params![username, password_hash])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {username}")));
    }
    Ok(conn.execute("DELETE FROM session WHERE username = ?1", [username])?)
}

fn set_disabled_in(conn: &Connection, username: &str, disabled: bool) -> Result<usize> {
    let n = conn.execute("UPDATE user SET disabled = ?2 WHERE username = ?1", params![username, disabled])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {username}")));
    }
    Ok(if disabled { conn.execute("DELETE FROM session WHERE username = ?1", [username])? } else { 0 })
}

fn end_sessions_in(conn: &Connection, username: &str) -> Result<usize> {
    let known = conn.query_row("SELECT 1 FROM user WHERE username = ?1", [username], |_| Ok(())).optional()?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("user {username}")));
    }
    Ok(conn.execute("DELETE FROM session WHERE username = ?1", [username])?)
}

fn delete_grant_in(conn: &Connection, id: i64) -> Result<Grant> {
    let grant = grants_where(conn, "id = ?1", params![id])?.pop().ok_or_else(|| StoreError::NotFound(format!("grant {id}")))?;
    conn.execute("DELETE FROM user_grant WHERE id = ?1", [id])?;
    Ok(grant)
}
