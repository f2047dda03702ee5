use citywatch_model::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("invalid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(String),
    /// The request is well-formed but the thing is not in a state that allows it.
    #[error("{0}")]
    Conflict(String),
    /// The ingest queue is full: the store cannot keep up.
    #[error("event ingest is overloaded; retry shortly")]
    Busy,
    #[error("event ingest has stopped")]
    Closed,
    /// The database failed; nothing the call asked for was written.
    #[error(transparent)]
    Repo(#[from] citywatch_model::RepoError),
}
