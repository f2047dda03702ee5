use citywatch_model::FieldError;
use citywatch_store::StoreError;

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
    Store(#[from] StoreError),
}

impl DispatchError {
    pub fn field(field: &str, reason: impl Into<String>) -> DispatchError {
        DispatchError::Invalid(vec![FieldError::new(field, reason)])
    }
}
