//! The byte encodings that hashes and signatures are computed over. They
//! must never change for existing entries: a new format gets a new tag.
//! `docs/design/audit-log.md` specifies them for independent verifiers.

use citywatch_model::{AuditCheckpoint, AuditEntry, AuditRow};
use serde_json::Value;
use sha2::{Digest, Sha256};

const ENTRY_TAG: &[u8] = b"citywatch-audit-entry-v1\0";
/// Entries whose hash covers their stored text ([`stored_text_hash`]).
const ENTRY_TAG_V2: &[u8] = b"citywatch-audit-entry-v2\0";
const CHECKPOINT_TAG: &[u8] = b"citywatch-audit-checkpoint-v1\0";

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over the stored text of a row's fields (all but `hash` and the
/// encoding), hex: what entries are written with now. Nothing is parsed or
/// re-encoded, so what was hashed is exactly what a verifier reads back,
/// whatever the JSON library does with numbers.
pub fn stored_text_hash(row: &AuditRow) -> String {
    let mut h = Sha256::new();
    h.update(ENTRY_TAG_V2);
    field(&mut h, Some(row.seq.to_string().as_bytes()));
    field(&mut h, Some(row.time.as_bytes()));
    field(&mut h, Some(row.actor.as_bytes()));
    field(&mut h, Some(row.action.as_bytes()));
    field(&mut h, Some(row.target.as_bytes()));
    field(&mut h, row.purpose.as_deref().map(str::as_bytes));
    field(&mut h, row.case_ref.as_deref().map(str::as_bytes));
    field(&mut h, Some(row.result.as_bytes()));
    field(&mut h, Some(row.detail.as_bytes()));
    field(&mut h, Some(row.prev_hash.as_bytes()));
    hex::encode(h.finalize())
}

/// SHA-256 over the entry's fields (all but `hash`), hex, with the detail
/// re-encoded as canonical JSON: how entries were written before the
/// stored-text encoding. Verification still uses it for those entries.
pub fn entry_hash(e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    h.update(ENTRY_TAG);
    field(&mut h, Some(e.seq.to_string().as_bytes()));
    field(&mut h, Some(crate::log::time_text(e.time).as_bytes()));
    field(&mut h, Some(e.actor.as_bytes()));
    field(&mut h, Some(e.action.as_bytes()));
    field(&mut h, Some(e.target.as_bytes()));
    field(&mut h, e.purpose.as_deref().map(str::as_bytes));
    field(&mut h, e.case_ref.as_deref().map(str::as_bytes));
    field(&mut h, Some(e.result.as_bytes()));
    field(&mut h, Some(canonical_json(&e.detail).as_bytes()));
    field(&mut h, Some(e.prev_hash.as_bytes()));
    hex::encode(h.finalize())
}

/// The message a checkpoint's signature covers.
pub fn checkpoint_message(c: &AuditCheckpoint) -> Vec<u8> {
    let mut m = CHECKPOINT_TAG.to_vec();
    for part in [c.seq.to_string(), c.hash.clone(), crate::log::time_text(c.time)] {
        m.extend_from_slice(&(part.len() as u32).to_be_bytes());
        m.extend_from_slice(part.as_bytes());
    }
    m
}

/// Length-prefixed, with a distinct marker for "absent" so that `None` and
/// `Some("")` hash differently.
fn field(h: &mut Sha256, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => {
            h.update((b.len() as u32).to_be_bytes());
            h.update(b);
        }
        None => h.update(u32::MAX.to_be_bytes()),
    }
}

/// JSON with object keys sorted at every level and no whitespace, so the
/// hash does not depend on how a library orders maps.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_nested_keys() {
        assert_eq!(canonical_json(&json!({"b":1,"a":{"d":[1,{"z":0,"y":1}],"c":"x"}})), r#"{"a":{"c":"x","d":[1,{"y":1,"z":0}]},"b":1}"#);
    }
}
