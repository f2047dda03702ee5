//! Offline verification of the audit log: the chain of hashes from the first
//! entry to the last, and the signature of every checkpoint.

use citywatch_model::AuditEncoding;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

use crate::canonical::{checkpoint_message, entry_hash, stored_text_hash, GENESIS_HASH};
use crate::repo::AuditRepo;
use crate::AuditError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: i64,
    pub checkpoints: usize,
    pub last_checkpoint_seq: i64,
    /// Entries written before the stored-text encoding, checked by
    /// re-encoding their detail as canonical JSON (as they were hashed).
    pub re_encoded_entries: i64,
}

/// The first thing found wrong, by sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyFailure {
    pub seq: i64,
    pub reason: String,
}

impl std::fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "audit log broken at seq {}: {}", self.seq, self.reason)
    }
}

const PAGE: usize = 10_000;
const ALTERED: &str = "entry content does not match its hash (altered)";

pub fn verify_log(store: &dyn AuditRepo, key: &VerifyingKey) -> Result<Result<VerifyReport, VerifyFailure>, AuditError> {
    let fail = |seq: i64, reason: String| Ok(Err(VerifyFailure { seq, reason }));
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut after = 0;
    let mut hashes = std::collections::HashMap::new();
    let mut re_encoded_entries = 0;
    let mut seen_stored_text = false;
    loop {
        let page = store.rows(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in page {
            if row.seq != expected_seq {
                return fail(expected_seq, format!("entry is missing (the next stored entry is seq {})", row.seq));
            }
            if row.prev_hash != prev_hash {
                return fail(row.seq, "prev_hash does not match the previous entry (removed, inserted or reordered)".into());
            }
            let recomputed = match row.encoding {
                Some(AuditEncoding::StoredText) => {
                    seen_stored_text = true;
                    stored_text_hash(&row)
                }
                // The old encoding only ever precedes the new one: an old
                // entry after a new one was relabelled.
                Some(AuditEncoding::ReEncoded) if seen_stored_text => {
                    return fail(row.seq, format!("{ALTERED}: marked as written in the old encoding after entries in the new one"));
                }
                Some(AuditEncoding::ReEncoded) => {
                    re_encoded_entries += 1;
                    match row.to_entry() {
                        Ok(entry) => entry_hash(&entry),
                        Err(_) => return fail(row.seq, format!("{ALTERED}: its time or detail no longer parses")),
                    }
                }
                None => return fail(row.seq, format!("{ALTERED}: its encoding code is unknown")),
            };
            if recomputed != row.hash {
                return fail(row.seq, ALTERED.into());
            }
            prev_hash = row.hash.clone();
            hashes.insert(row.seq, row.hash);
            expected_seq += 1;
        }
    }
    let entries = expected_seq - 1;
    let checkpoints = store.checkpoints()?;
    for c in &checkpoints {
        let signature = hex::decode(&c.signature).ok().and_then(|b| <[u8; 64]>::try_from(b).ok());
        let valid = signature.is_some_and(|s| key.verify(&checkpoint_message(c), &Signature::from_bytes(&s)).is_ok());
        if !valid {
            return fail(c.seq, "checkpoint signature is invalid".into());
        }
        match hashes.get(&c.seq) {
            None => return fail(c.seq, format!("signed checkpoint names an entry that is gone (log ends at seq {entries}): entries were removed")),
            Some(h) if *h != c.hash => return fail(c.seq, "entry hash differs from the signed checkpoint (log rewritten)".into()),
            Some(_) => {}
        }
    }
    Ok(Ok(VerifyReport { entries, checkpoints: checkpoints.len(), last_checkpoint_seq: checkpoints.last().map_or(0, |c| c.seq), re_encoded_entries }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditLog, Record};
    use citywatch_store::Store;
    use ed25519_dalek::SigningKey;
    use std::sync::Arc;

    #[test]
    fn a_fresh_log_verifies_and_a_wrong_key_does_not() {
        let store = Arc::new(Store::open_in_memory().unwrap());
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let log = AuditLog::new(store.clone(), key.clone());
        for i in 0..70 {
            log.record(Record::new("alice", "camera.search", format!("q{i}"))).unwrap();
        }
        log.checkpoint_now().unwrap();
        let report = verify_log(&*store, &key.verifying_key()).unwrap().unwrap();
        assert_eq!(report.entries, 70);
        assert_eq!(report.checkpoints, 2);
        assert_eq!(report.last_checkpoint_seq, 70);
        let other = SigningKey::from_bytes(&[8u8; 32]).verifying_key();
        assert_eq!(verify_log(&*store, &other).unwrap().unwrap_err().seq, 64);
    }
}
