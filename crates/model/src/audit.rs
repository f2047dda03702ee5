use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// One line of the audit log. `hash` is the SHA-256 of `prev_hash` and the
/// entry's other fields in a canonical encoding (`citywatch-audit` defines it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub time: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub purpose: Option<String>,
    pub case_ref: Option<String>,
    pub result: String,
    /// What else an auditor needs to judge the access: query parameters,
    /// counts, the reason of a refusal.
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// A signed statement that the log up to `seq` ended in `hash`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditCheckpoint {
    pub seq: i64,
    pub hash: String,
    pub time: Timestamp,
    /// ed25519 signature, hex, over the checkpoint's canonical encoding.
    pub signature: String,
}
