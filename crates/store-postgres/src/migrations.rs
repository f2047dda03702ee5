//! Named, versioned migrations of the PostgreSQL schema: one SQL file per
//! version in `migrations/`, applied in order inside one transaction, and
//! recorded in `schema_migration` (version, name, when).
//!
//! Nodes of a cluster may start together: a transaction-scoped advisory
//! lock makes one of them migrate while the others wait, then find the
//! work done. A database migrated by a newer Citywatch is refused rather
//! than used with a schema this binary does not know.

use postgres::Client;

use crate::error::pg_error;
use citywatch_model::RepoError;

struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "audit_log", sql: include_str!("../migrations/0001_audit_log.sql") },
    Migration { version: 2, name: "registry", sql: include_str!("../migrations/0002_registry.sql") },
    Migration { version: 3, name: "users", sql: include_str!("../migrations/0003_users.sql") },
    Migration { version: 4, name: "events", sql: include_str!("../migrations/0004_events.sql") },
    Migration { version: 5, name: "plates", sql: include_str!("../migrations/0005_plates.sql") },
    Migration { version: 6, name: "access", sql: include_str!("../migrations/0006_access.sql") },
    Migration { version: 7, name: "dispatch", sql: include_str!("../migrations/0007_dispatch.sql") },
    Migration { version: 8, name: "recordings", sql: include_str!("../migrations/0008_recordings.sql") },
];

/// The advisory lock key migrations hold (any constant; "citywatc" in ASCII).
const MIGRATION_LOCK: i64 = 0x6369_7479_7761_7463;

/// Brings the schema up to date; returns the versions it applied.
pub(crate) fn apply(client: &mut Client) -> Result<Vec<i32>, RepoError> {
    let mut tx = client.transaction().map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(pg_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migration (
             version integer PRIMARY KEY,
             name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(pg_error)?;
    let applied: Vec<i32> = tx.query("SELECT version FROM schema_migration ORDER BY version", &[]).map_err(pg_error)?.iter().map(|r| r.get(0)).collect();
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(newer) = applied.iter().find(|v| **v > known) {
        return Err(RepoError::Backend(format!(
            "the database's schema is at version {newer}, newer than this Citywatch knows (up to {known}): upgrade Citywatch before using this database"
        )));
    }
    let mut done = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        tx.batch_execute(m.sql).map_err(|e| RepoError::Backend(format!("migration {} ({}): {}", m.version, m.name, pg_error(e))))?;
        tx.execute("INSERT INTO schema_migration (version, name) VALUES ($1, $2)", &[&m.version, &m.name]).map_err(pg_error)?;
        done.push(m.version);
    }
    tx.commit().map_err(pg_error)?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    fn versions_run_one_to_n_and_names_match_their_files() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i32 + 1, "versions are 1..n without a gap");
            assert!(!m.sql.trim().is_empty());
            assert!(m.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}", m.name);
        }
    }
}
