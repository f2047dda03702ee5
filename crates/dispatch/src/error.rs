use citywatch_model::{FieldError, RepoError};

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(String),
    /// The request contradicts the current state (a transition that is not
    /// allowed, an incident already closed, a unit already busy).
    #[error("{0}")]
    Conflict(String),
    /// The caller may use dispatch but not on this object (an officer
    /// reporting for another unit).
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Repo(RepoError),
    /// The change's audit entry could not be written: the change was not
    /// made, or (a checkpoint that could not be signed) was made and
    /// recorded but not yet signed.
    #[error(transparent)]
    Audit(#[from] citywatch_audit::AuditError),
}

impl DispatchError {
    pub fn field(field: &str, reason: impl Into<String>) -> DispatchError {
        DispatchError::Invalid(vec![FieldError::new(field, reason)])
    }
}

/// The repository's refusals in the workflow's words: a missing row is not
/// found, a state that changed since the workflow read it (another
/// dispatcher came first) is a conflict the caller may retry after a
/// reload.
impl From<RepoError> for DispatchError {
    fn from(e: RepoError) -> DispatchError {
        match e {
            RepoError::NotFound(what) => DispatchError::NotFound(what),
            RepoError::Stale(why) => DispatchError::Conflict(why),
            RepoError::Conflict(what) => DispatchError::Conflict(format!("{what} already exists")),
            e => DispatchError::Repo(e),
        }
    }
}
