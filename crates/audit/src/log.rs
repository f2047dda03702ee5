//! Appending to the audit log, and signing checkpoints as it grows.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use citywatch_model::{AuditCheckpoint, AuditEncoding, AuditEntry, AuditRow, ChainHead, Timestamp};
use ed25519_dalek::{Signer, SigningKey};

use crate::canonical::{canonical_json, checkpoint_message, stored_text_hash, GENESIS_HASH};
use crate::repo::AuditRepo;
use crate::AuditError;

/// A checkpoint is signed at least this often...
pub const CHECKPOINT_EVERY_ENTRIES: i64 = 64;
/// ...and at least this often while entries keep coming.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

/// What happened, as the caller knows it; the log adds seq, time and hashes.
#[derive(Debug, Clone)]
pub struct Record {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub purpose: Option<String>,
    pub case_ref: Option<String>,
    /// "ok", "denied" or "failed".
    pub result: String,
    pub detail: serde_json::Value,
}

impl Record {
    pub fn new(actor: impl Into<String>, action: impl Into<String>, target: impl Into<String>) -> Record {
        Record {
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            purpose: None,
            case_ref: None,
            result: "ok".into(),
            detail: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn result(mut self, result: &str) -> Record {
        self.result = result.into();
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Record {
        self.detail = detail;
        self
    }

    pub fn purpose(mut self, purpose: Option<String>, case_ref: Option<String>) -> Record {
        self.purpose = purpose;
        self.case_ref = case_ref;
        self
    }
}

/// An entry to append inside the transaction of the change it records, so
/// that the change and its entry commit together or not at all. The
/// repository calls [`PendingEntry::row_on`] with the locked head; the
/// caller then hands the stored row to [`AuditLog::appended`].
pub struct PendingEntry {
    record: Record,
    time: Timestamp,
}

impl PendingEntry {
    /// The entry of `record`, timed now.
    pub fn new(record: Record) -> PendingEntry {
        PendingEntry { record, time: now() }
    }

    /// The row that chains this entry to `head` (None for an empty log).
    pub fn row_on(self, head: Option<&ChainHead>) -> AuditRow {
        let r = self.record;
        let mut row = AuditRow {
            seq: head.map_or(1, |h| h.seq + 1),
            time: time_text(self.time),
            actor: r.actor,
            action: r.action,
            target: r.target,
            purpose: r.purpose,
            case_ref: r.case_ref,
            result: r.result,
            // The detail is stored as its canonical text and the hash covers
            // that text: verification hashes what it reads, never a re-encoding.
            detail: canonical_json(&r.detail),
            prev_hash: head.map_or_else(|| GENESIS_HASH.to_owned(), |h| h.hash.clone()),
            hash: String::new(),
            encoding: Some(AuditEncoding::StoredText),
        };
        row.hash = stored_text_hash(&row);
        row
    }

    /// The maker of the entry `record` makes from what a change did (the
    /// ids it gave, the rows it deleted): what a repository's write commits
    /// with the change (both or neither). Timed when it is made, inside the
    /// transaction with the head locked, so times follow the chain's order.
    pub fn after<'a, T>(record: impl FnOnce(&T) -> Record + 'a) -> crate::MakeRowAfter<'a, T> {
        Box::new(move |outcome: &T, head: Option<&ChainHead>| PendingEntry::new(record(outcome)).row_on(head))
    }

    /// [`PendingEntry::row_on`] as a repository's row maker.
    pub fn into_maker(self) -> impl FnOnce(Option<&ChainHead>) -> AuditRow {
        move |head| self.row_on(head)
    }
}

pub struct AuditLog {
    repo: Arc<dyn AuditRepo>,
    key: SigningKey,
    last_checkpoint: Mutex<Instant>,
}

impl AuditLog {
    pub fn new(repo: Arc<dyn AuditRepo>, key: SigningKey) -> AuditLog {
        AuditLog { repo, key, last_checkpoint: Mutex::new(Instant::now()) }
    }

    /// The rows and checkpoints behind the log, for reading (the
    /// auditor's screen, verification). Appends go through [`AuditLog::record`].
    pub fn repo(&self) -> &Arc<dyn AuditRepo> {
        &self.repo
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    /// The key checkpoints are verified against.
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    /// SHA-256 of the public key's 32 bytes, in hex: short enough to read
    /// out and compare with the key a court or authority was given.
    pub fn public_key_sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.key.verifying_key().to_bytes()))
    }

    /// Appends one entry, chained to the last, and signs a checkpoint when one is due.
    pub fn record(&self, r: Record) -> Result<AuditEntry, AuditError> {
        let detail = r.detail.clone();
        let pending = PendingEntry::new(r);
        let time = pending.time;
        let row = self.repo.append(Box::new(pending.into_maker()))?;
        self.appended(&row);
        Ok(AuditEntry {
            seq: row.seq,
            time,
            actor: row.actor,
            action: row.action,
            target: row.target,
            purpose: row.purpose,
            case_ref: row.case_ref,
            result: row.result,
            detail,
            prev_hash: row.prev_hash,
            hash: row.hash,
        })
    }

    /// What follows an entry appended in another write's transaction
    /// ([`PendingEntry`]): signs a checkpoint when one is due.
    ///
    /// The one rule for a checkpoint that cannot be signed: the change and
    /// its entry are committed by then, so the failure is logged and never
    /// turns a done change into an error (a caller told "failed" would
    /// retry a change that happened). The checkpoint is signed with a later
    /// entry: the time since the last one keeps it due.
    pub fn appended(&self, row: &AuditRow) {
        let due_by_time = self.last_checkpoint.lock().unwrap_or_else(|e| e.into_inner()).elapsed() >= CHECKPOINT_EVERY;
        if row.seq % CHECKPOINT_EVERY_ENTRIES == 0 || due_by_time {
            if let Err(e) = self.sign_checkpoint(row.seq, &row.hash) {
                tracing::warn!(seq = row.seq, "audit checkpoint not signed now, it will be with a later entry: {e}");
            }
        }
    }

    /// Signs a checkpoint at the current head, if it has none yet (called at
    /// shutdown and by `citywatch audit checkpoint`).
    pub fn checkpoint_now(&self) -> Result<Option<AuditCheckpoint>, AuditError> {
        match self.repo.head()? {
            Some(head) if head.seq > self.repo.last_checkpoint_seq()? => self.sign_checkpoint(head.seq, &head.hash).map(Some),
            _ => Ok(None),
        }
    }

    fn sign_checkpoint(&self, seq: i64, hash: &str) -> Result<AuditCheckpoint, AuditError> {
        let mut c = AuditCheckpoint { seq, hash: hash.to_owned(), time: now(), signature: String::new() };
        c.signature = hex::encode(self.key.sign(&checkpoint_message(&c)).to_bytes());
        self.repo.append_checkpoint(&c)?;
        *self.last_checkpoint.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Ok(c)
    }
}

/// Microsecond precision: what the store keeps, so a re-read entry hashes the same.
fn now() -> Timestamp {
    Utc::now().trunc_subsecs(6)
}

pub(crate) fn time_text(t: DateTime<Utc>) -> String {
    AuditRow::time_text(t)
}
