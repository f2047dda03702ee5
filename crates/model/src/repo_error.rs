//! The error of every repository trait, whatever database is behind it.
//!
//! A domain crate owns its repository trait and decides from this error
//! what to tell its caller; it never sees a backend's own error type, so
//! SQLite and PostgreSQL fail in the same vocabulary.

/// What went wrong in a repository call, in words a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// The row would duplicate one that exists (a unique key).
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    /// A write made against a state that has changed since it was read
    /// (an audit row that does not chain to the head): nothing was written.
    #[error("{0}")]
    Stale(String),
    /// Stored data that no longer reads as what was written.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database cannot be reached or refused the connection; the
    /// caller may retry later, nothing was written.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Any other failure of the database, with its message.
    #[error("database error: {0}")]
    Backend(String),
}
