use citywatch_model::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum HotlistError {
    #[error("invalid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The database failed; nothing the call asked for was written.
    #[error(transparent)]
    Repo(#[from] citywatch_model::RepoError),
    #[error(transparent)]
    Audit(#[from] citywatch_audit::AuditError),
    #[error(transparent)]
    Events(#[from] citywatch_events::EventsError),
    #[error("a blocking task failed: {0}")]
    Join(String),
}
