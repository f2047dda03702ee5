//! Exceptional access to video, as stored: unmask grants and legal holds.
//! The rules that decide them are `citywatch-access`'s; these are the rows
//! every backend keeps and returns.

use crate::Timestamp;

/// A grant to store: who may see faces in which cameras until when, why,
/// and who allowed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUnmaskGrant {
    pub grantee: String,
    pub cameras: Vec<String>,
    pub purpose: String,
    pub case_ref: String,
    pub created_by: String,
    pub expires_at: Timestamp,
}

/// A stored grant; revoking one keeps it, with who revoked it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmaskGrant {
    pub id: i64,
    pub grantee: String,
    pub cameras: Vec<String>,
    pub purpose: String,
    pub case_ref: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<String>,
}

impl UnmaskGrant {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A hold to place: a camera's recordings in [start, end) kept from
/// retention until the expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLegalHold {
    pub camera_id: String,
    /// Unix time in 90 kHz units, like recordings.
    pub start_90k: i64,
    pub end_90k: i64,
    pub purpose: String,
    pub case_ref: String,
    pub created_by: String,
    pub expires_at: Timestamp,
}

/// A stored hold; releasing one deletes it (the audit log keeps what it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub id: i64,
    pub camera_id: String,
    pub start_90k: i64,
    pub end_90k: i64,
    pub purpose: String,
    pub case_ref: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl LegalHold {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.expires_at > now
    }

    /// Whether a recording of this hold's camera covering [start, end) overlaps it.
    pub fn covers(&self, camera_id: &str, start_90k: i64, end_90k: i64) -> bool {
        self.camera_id == camera_id && start_90k < self.end_90k && end_90k > self.start_90k
    }
}
