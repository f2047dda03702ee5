//! PostgreSQL's errors in the repositories' words ([`RepoError`]): a
//! unique key is a conflict, a server that cannot be reached is
//! unavailable (the caller may retry), as is a transaction the server
//! rolled back to break a deadlock, anything else a backend error with
//! the server's own message.

use citywatch_model::RepoError;
use postgres::error::SqlState;

pub(crate) fn pg_error(e: postgres::Error) -> RepoError {
    if let Some(db) = e.as_db_error() {
        let message = match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        };
        let code = db.code();
        return if *code == SqlState::UNIQUE_VIOLATION {
            RepoError::Conflict(message)
        } else if [SqlState::T_R_DEADLOCK_DETECTED, SqlState::T_R_SERIALIZATION_FAILURE].contains(code) {
            // The transaction was rolled back whole; running it again is
            // the server's own advice.
            RepoError::Unavailable(format!("{message}; nothing was written, try again"))
        } else if code.code().starts_with("08")
            || [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW, SqlState::TOO_MANY_CONNECTIONS].contains(code)
        {
            RepoError::Unavailable(message)
        } else {
            RepoError::Backend(message)
        };
    }
    if e.is_closed() || source_is_io(&e) {
        return RepoError::Unavailable(e.to_string());
    }
    RepoError::Backend(e.to_string())
}

/// A pool that could not hand out a connection in time: the server is
/// down, unreachable or out of connections.
pub(crate) fn pool_error(e: r2d2::Error) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

fn source_is_io(e: &postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}
