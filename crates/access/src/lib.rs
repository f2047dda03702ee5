//! Exceptional access to video: unmask grants (one named user sees faces in
//! chosen cameras until an expiry) and legal holds (a camera's recordings
//! kept from retention for a case).
//!
//! Owns their rules: what a request must hold (every refusal typed, naming
//! its field), the limits (a grant's length and camera count), which
//! cameras a grant for an incident reaches, and whose grants and holds a
//! caller may see. Knows nothing of HTTP (the API maps refusals to
//! statuses). Owns the repository trait [`AccessRepo`] (`repo.rs`) through
//! which the caller stores what was decided, each change committed with
//! its audit entry; SQLite's `Store` implements it here, PostgreSQL in
//! `citywatch-store-postgres`.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(test)]
mod conformance_sqlite;
mod justification;
mod legal_holds;
mod repo;
mod sqlite_repo;
mod unmask_grants;

pub use justification::JustificationProblem;
pub use legal_holds::{decide_hold, from_90k, hold_visible, to_90k, HoldProblem, HoldRefusal, HoldRequest, HoldTime};
pub use repo::AccessRepo;
pub use unmask_grants::{
    decide_grant, grant_covering, grant_visible, Directory, GrantProblem, GrantRefusal, GrantRequest, INCIDENT_RADIUS_M, MAX_CAMERAS, MAX_GRANT,
};
