//! [`UserRepo`] on PostgreSQL: users (`app_user`: `user` is a reserved
//! word there), grants and sessions.

use std::collections::HashMap;

use citywatch_audit::{MakeRowAfter, UserRepo};
use citywatch_model::{AuditRow, Grant, GrantSpec, RepoError, Role, Timestamp, User, UserCredentials};
use postgres::{GenericClient, Row, Transaction};

use crate::error::pg_error;
use crate::PgStore;

const GRANT_COLUMNS: &str = "id, username, role, districts::text, expires_at";

impl UserRepo for PgStore {
    fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        grants: &[GrantSpec],
        audit: MakeRowAfter<'_, Vec<Grant>>,
    ) -> Result<(Vec<Grant>, AuditRow), RepoError> {
        let create = |tx: &mut Transaction<'_>| {
            let made = tx
                .execute("INSERT INTO app_user (username, password_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&username, &password_hash])
                .map_err(pg_error)?;
            if made == 0 {
                return Err(RepoError::Conflict(format!("user {username}")));
            }
            grants.iter().map(|g| insert_grant(tx, username, g)).collect::<Result<Vec<_>, _>>()
        };
        self.write_audited_accounts(create, audit)
    }

    fn set_password_hash(&self, username: &str, password_hash: &str, audit: MakeRowAfter<'_, usize>) -> Result<(usize, AuditRow), RepoError> {
        let change = |tx: &mut Transaction<'_>| {
            update_user_ending_sessions(tx, username, "UPDATE app_user SET password_hash = $2 WHERE username = $1", &password_hash, true)
        };
        self.write_audited_accounts(change, audit)
    }

    fn set_user_disabled(&self, username: &str, disabled: bool, audit: MakeRowAfter<'_, usize>) -> Result<(usize, AuditRow), RepoError> {
        let change =
            |tx: &mut Transaction<'_>| update_user_ending_sessions(tx, username, "UPDATE app_user SET disabled = $2 WHERE username = $1", &disabled, disabled);
        self.write_audited_accounts(change, audit)
    }

    fn user_credentials(&self, username: &str) -> Result<Option<UserCredentials>, RepoError> {
        let rows = self.client()?.query("SELECT password_hash, disabled FROM app_user WHERE username = $1", &[&username]).map_err(pg_error)?;
        Ok(rows.first().map(|r| UserCredentials { password_hash: r.get(0), disabled: r.get(1) }))
    }

    fn users(&self) -> Result<Vec<User>, RepoError> {
        let rows = self.client()?.query("SELECT username, disabled, created_at, last_login_at FROM app_user ORDER BY username", &[]).map_err(pg_error)?;
        Ok(rows.iter().map(|r| User { username: r.get(0), disabled: r.get(1), created_at: r.get(2), last_login_at: r.get(3) }).collect())
    }

    fn user_count(&self) -> Result<i64, RepoError> {
        Ok(self.client()?.query_one("SELECT count(*) FROM app_user", &[]).map_err(pg_error)?.get(0))
    }

    fn add_grant(&self, username: &str, grant: &GrantSpec, audit: MakeRowAfter<'_, Grant>) -> Result<(Grant, AuditRow), RepoError> {
        let add = |tx: &mut Transaction<'_>| {
            if tx.query("SELECT 1 FROM app_user WHERE username = $1 FOR SHARE", &[&username]).map_err(pg_error)?.is_empty() {
                return Err(RepoError::NotFound(format!("user {username}")));
            }
            insert_grant(tx, username, grant)
        };
        self.write_audited_accounts(add, audit)
    }

    fn delete_grant(&self, id: i64, audit: MakeRowAfter<'_, Grant>) -> Result<(Grant, AuditRow), RepoError> {
        let delete = |tx: &mut Transaction<'_>| {
            let rows = tx.query(&format!("DELETE FROM user_grant WHERE id = $1 RETURNING {GRANT_COLUMNS}"), &[&id]).map_err(pg_error)?;
            rows.first().map(grant_from).ok_or_else(|| RepoError::NotFound(format!("grant {id}")))?
        };
        self.write_audited_accounts(delete, audit)
    }

    fn grants_of(&self, username: &str) -> Result<Vec<Grant>, RepoError> {
        let rows = self.client()?.query(&format!("SELECT {GRANT_COLUMNS} FROM user_grant WHERE username = $1 ORDER BY id"), &[&username]).map_err(pg_error)?;
        rows.iter().map(grant_from).collect()
    }

    fn create_session(&self, token_hash: &str, username: &str, expires_at: Timestamp) -> Result<(), RepoError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg_error)?;
        tx.execute("INSERT INTO session (token_hash, username, expires_at) VALUES ($1, $2, $3)", &[&token_hash, &username, &expires_at]).map_err(pg_error)?;
        tx.execute("UPDATE app_user SET last_login_at = now() WHERE username = $1", &[&username]).map_err(pg_error)?;
        tx.commit().map_err(pg_error)
    }

    fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<String>, RepoError> {
        let rows = self
            .client()?
            .query(
                "SELECT s.username FROM session s JOIN app_user u ON u.username = s.username
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled",
                &[&token_hash, &now],
            )
            .map_err(pg_error)?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    fn delete_session(&self, token_hash: &str) -> Result<(), RepoError> {
        self.accounts_transaction(|tx| {
            tx.execute("DELETE FROM session WHERE token_hash = $1", &[&token_hash]).map_err(pg_error)?;
            Ok(())
        })
    }

    fn end_sessions_of(&self, username: &str, audit: MakeRowAfter<'_, usize>) -> Result<(usize, AuditRow), RepoError> {
        let end = |tx: &mut Transaction<'_>| {
            if tx.query("SELECT 1 FROM app_user WHERE username = $1", &[&username]).map_err(pg_error)?.is_empty() {
                return Err(RepoError::NotFound(format!("user {username}")));
            }
            Ok(count(tx.execute("DELETE FROM session WHERE username = $1", &[&username]).map_err(pg_error)?))
        };
        self.write_audited_accounts(end, audit)
    }

    fn open_session_counts(&self, now: Timestamp) -> Result<HashMap<String, usize>, RepoError> {
        let rows = self.client()?.query("SELECT username, count(*) FROM session WHERE expires_at > $1 GROUP BY username", &[&now]).map_err(pg_error)?;
        Ok(rows.iter().map(|r| (r.get::<_, String>(0), usize::try_from(r.get::<_, i64>(1)).unwrap_or(0))).collect())
    }

    fn delete_expired_sessions(&self, now: Timestamp) -> Result<usize, RepoError> {
        self.accounts_transaction(|tx| Ok(count(tx.execute("DELETE FROM session WHERE expires_at <= $1", &[&now]).map_err(pg_error)?)))
    }

    /// `sessions_change.version`, moved by triggers whenever sessions end,
    /// a user's password or disabled flag changes, or grants change.
    fn sessions_marker(&self) -> Result<i64, RepoError> {
        Ok(self.client()?.query_one("SELECT version FROM sessions_change", &[]).map_err(pg_error)?.get(0))
    }
}

impl PgStore {
    /// [`PgStore::write_audited`] for an account change: the sessions
    /// counter is locked before any row (see [`lock_sessions_change`]).
    fn write_audited_accounts<T>(
        &self,
        change: impl FnOnce(&mut Transaction<'_>) -> Result<T, RepoError>,
        audit: MakeRowAfter<'_, T>,
    ) -> Result<(T, AuditRow), RepoError> {
        let change = |tx: &mut Transaction<'_>| {
            lock_sessions_change(tx)?;
            change(tx)
        };
        self.write_audited(change, audit)
    }

    /// A transaction that ends sessions, the sessions counter locked first.
    fn accounts_transaction<T>(&self, change: impl FnOnce(&mut Transaction<'_>) -> Result<T, RepoError>) -> Result<T, RepoError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg_error)?;
        lock_sessions_change(&mut tx)?;
        let outcome = change(&mut tx)?;
        tx.commit().map_err(pg_error)?;
        Ok(outcome)
    }
}

/// Takes the sessions' change counter before any account or session row:
/// its triggers would otherwise take it after the first row, and a
/// password change (user row, counter, then the user's sessions) and a
/// logout of one of those sessions (session row, then counter) would each
/// wait for the other. Every account write takes its locks in one order:
/// the audit head (audited writes), this counter, then rows.
fn lock_sessions_change(tx: &mut Transaction<'_>) -> Result<(), RepoError> {
    tx.execute("SELECT 1 FROM sessions_change FOR UPDATE", &[]).map_err(pg_error)?;
    Ok(())
}

/// Runs `update` on the user (`NotFound` if unknown) and, with
/// `end_sessions`, ends all its sessions; how many ended.
fn update_user_ending_sessions(
    tx: &mut Transaction<'_>,
    username: &str,
    update: &str,
    value: &(dyn postgres::types::ToSql + Sync),
    end_sessions: bool,
) -> Result<usize, RepoError> {
    if tx.execute(update, &[&username, value]).map_err(pg_error)? == 0 {
        return Err(RepoError::NotFound(format!("user {username}")));
    }
    let ended = if end_sessions { tx.execute("DELETE FROM session WHERE username = $1", &[&username]).map_err(pg_error)? } else { 0 };
    Ok(count(ended))
}

fn insert_grant(client: &mut impl GenericClient, username: &str, g: &GrantSpec) -> Result<Grant, RepoError> {
    let districts = g.districts.as_ref().map(|d| serde_json::to_string(d).expect("strings serialise"));
    let row = client
        .query_one(
            &format!("INSERT INTO user_grant (username, role, districts, expires_at) VALUES ($1, $2, $3::text::jsonb, $4) RETURNING {GRANT_COLUMNS}"),
            &[&username, &g.role.as_str(), &districts, &g.expires_at],
        )
        .map_err(|e| match pg_error(e) {
            // The user went away between the check and the insert.
            RepoError::Backend(m) if m.contains("foreign key") => RepoError::NotFound(format!("user {username}")),
            other => other,
        })?;
    grant_from(&row)
}

fn grant_from(r: &Row) -> Result<Grant, RepoError> {
    let id: i64 = r.get(0);
    let role: String = r.get(2);
    let districts: Option<String> = r.get(3);
    Ok(Grant {
        id,
        username: r.get(1),
        role: Role::parse(&role).ok_or_else(|| RepoError::Corrupt(format!("grant {id}: role {role:?}")))?,
        districts: districts.map(|d| serde_json::from_str(&d).map_err(|e| RepoError::Corrupt(format!("grant {id}: districts: {e}")))).transpose()?,
        expires_at: r.get(4),
    })
}

fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
