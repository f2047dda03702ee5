use serde::{Deserialize, Serialize};

use crate::{RepoError, Timestamp};

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

/// The last entry's `seq` and `hash`: what the next entry chains to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl ChainHead {
    /// Why `row` cannot be appended after `head` (None for an empty log),
    /// or None if it can: it must take the next seq and chain to the
    /// head's hash. Every backend checks this inside the append's
    /// transaction, so a writer that read an older head cannot fork the
    /// chain. (The first row's `prev_hash` is the audit crate's genesis
    /// hash, which it alone checks.)
    pub fn refuses(head: Option<&ChainHead>, row: &AuditRow) -> Option<String> {
        let next = head.map_or(1, |h| h.seq + 1);
        if row.seq != next {
            return Some(format!("audit entry seq {} does not follow the log's head (the next seq is {next}); nothing was written", row.seq));
        }
        match head {
            Some(h) if row.prev_hash != h.hash => Some(format!("audit entry seq {} does not chain to the hash of seq {}; nothing was written", row.seq, h.seq)),
            _ => None,
        }
    }
}

/// How an entry's hash covers its fields (docs/design/audit-log.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEncoding {
    /// Entries written before the `encoding` column: the hash covers the
    /// time formatted from the parsed timestamp and the detail re-encoded as
    /// canonical JSON. Kept readable so that old logs still verify.
    ReEncoded,
    /// The hash covers the stored text of every field, byte for byte: a
    /// verifier never parses and re-encodes anything.
    StoredText,
}

impl AuditEncoding {
    /// The number a database keeps for the encoding.
    pub fn code(self) -> i64 {
        match self {
            AuditEncoding::ReEncoded => 1,
            AuditEncoding::StoredText => 2,
        }
    }

    /// None for a code no version ever wrote: a verifier reports the row as altered.
    pub fn from_code(code: i64) -> Option<AuditEncoding> {
        match code {
            1 => Some(AuditEncoding::ReEncoded),
            2 => Some(AuditEncoding::StoredText),
            _ => None,
        }
    }
}

/// One audit entry exactly as stored: the text the hash covers, unparsed.
/// Only `citywatch-audit` makes these; everyone else reads [`AuditEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    /// RFC 3339, UTC, microseconds (`2026-12-07T08:41:06.123456Z`).
    pub time: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub purpose: Option<String>,
    pub case_ref: Option<String>,
    pub result: String,
    /// Canonical JSON text (for [`AuditEncoding::StoredText`] entries).
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
    /// None when the stored code is unknown: a verifier reports it as altered.
    pub encoding: Option<AuditEncoding>,
}

impl AuditRow {
    /// The one text form of [`AuditRow::time`] (RFC 3339, UTC,
    /// microseconds): what the hash covers, and what every backend must
    /// give back byte for byte.
    pub fn time_text(t: Timestamp) -> String {
        t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }

    /// The row parsed into an entry (time and detail read as values); an
    /// error names the seq and what no longer parses.
    pub fn to_entry(&self) -> Result<AuditEntry, RepoError> {
        let time = chrono::DateTime::parse_from_rfc3339(&self.time)
            .map_err(|e| RepoError::Corrupt(format!("audit seq {} time {:?}: {e}", self.seq, self.time)))?
            .with_timezone(&chrono::Utc);
        let detail = serde_json::from_str(&self.detail).map_err(|e| RepoError::Corrupt(format!("audit seq {} detail: {e}", self.seq)))?;
        Ok(AuditEntry {
            seq: self.seq,
            time,
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            purpose: self.purpose.clone(),
            case_ref: self.case_ref.clone(),
            result: self.result.clone(),
            detail,
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        })
    }
}

/// The views made under one unmask grant: how many, and the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantUses {
    pub count: u64,
    pub last_used: Timestamp,
}

/// Which entries the auditor asks for; `None` matches everything. Text
/// fields match exactly; `from` is inclusive, `to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub case_ref: Option<String>,
    pub result: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}
