//! The ed25519 key that signs audit checkpoints: made at init in the data
//! directory, private half readable only by the owner. The public half is
//! written beside it so that it can be copied off the machine and used to
//! verify a log offline.

use std::fs;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::AuditError;

pub const SIGNING_KEY_FILE: &str = "audit-signing.key";
pub const VERIFYING_KEY_FILE: &str = "audit-signing.pub";

pub fn load_or_create_signing_key(data_dir: &Path) -> Result<SigningKey, AuditError> {
    let path = data_dir.join(SIGNING_KEY_FILE);
    let err = |reason: String| AuditError::Key { path: path.display().to_string(), reason };
    if path.exists() {
        let text = fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
        let bytes: [u8; 32] = hex::decode(text.trim()).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| err("is not 64 hex digits".into()))?;
        return Ok(SigningKey::from_bytes(&bytes));
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&path).map_err(|e| err(e.to_string()))?;
    f.write_all(hex::encode(key.to_bytes()).as_bytes()).and_then(|_| f.sync_all()).map_err(|e| err(e.to_string()))?;
    fs::write(data_dir.join(VERIFYING_KEY_FILE), hex::encode(key.verifying_key().to_bytes()) + "\n").map_err(|e| err(e.to_string()))?;
    Ok(key)
}

/// Reads a public key given as 64 hex digits, or from a file holding them.
pub fn read_public_key(hex_or_path: &str) -> Result<VerifyingKey, AuditError> {
    let text = if Path::new(hex_or_path).exists() {
        fs::read_to_string(hex_or_path).map_err(|e| AuditError::Key { path: hex_or_path.into(), reason: e.to_string() })?
    } else {
        hex_or_path.to_owned()
    };
    let bad = |reason: &str| AuditError::Key { path: hex_or_path.into(), reason: reason.into() };
    let bytes: [u8; 32] = hex::decode(text.trim()).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| bad("is not 64 hex digits"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad("is not a valid ed25519 public key"))
}
