//! The key that seals camera credentials at rest. A copy of the database
//! (a backup, a stolen disk image, a support bundle) must not hand out the
//! `user:password` of every camera, so the credentials are encrypted with
//! ChaCha20-Poly1305 under a key kept in a file of its own, apart from the
//! database (`credentials.key`, 0600, made at init like the audit key).
//!
//! A sealed value is `sealed:v1:` and the hex of a random 12-byte nonce
//! followed by the ciphertext and its tag. The camera id and stream are the
//! associated data: a sealed value moved to another camera's row does not
//! open. Rows written before sealing existed hold the plain text; they are
//! sealed when a key is first given to a store.
//!
//! A crate of its own because every storage backend (SQLite and
//! PostgreSQL) seals and opens credentials the same way, and neither may
//! depend on the other.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use citywatch_model::StreamKind;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

pub const CREDENTIAL_KEY_FILE: &str = "credentials.key";

const SEALED_PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 12;

/// A 256-bit key for camera credentials. Its `Debug` shows where it came
/// from, never the key.
#[derive(Clone)]
pub struct CredentialKey {
    cipher: ChaCha20Poly1305,
    /// Where the key was read from, for error messages.
    origin: String,
}

impl std::fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CredentialKey({})", self.origin)
    }
}

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("camera credential key {path}: {reason}")]
pub struct KeyFileError {
    pub path: String,
    pub reason: String,
}

impl CredentialKey {
    /// A new random key that lives only in memory (for tests and in-memory stores).
    pub fn ephemeral() -> CredentialKey {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        CredentialKey::from_bytes(&bytes, "a key held in memory".into())
    }

    fn from_bytes(bytes: &[u8; 32], origin: String) -> CredentialKey {
        CredentialKey { cipher: ChaCha20Poly1305::new(Key::from_slice(bytes)), origin }
    }

    /// Where the key came from (its file), for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Reads the key at `path` (64 hex digits).
    pub fn load(path: &Path) -> Result<CredentialKey, KeyFileError> {
        let err = |reason: String| KeyFileError { path: path.display().to_string(), reason };
        let text = fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let bytes: [u8; 32] = hex::decode(text.trim()).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| err("is not 64 hex digits".into()))?;
        Ok(CredentialKey::from_bytes(&bytes, path.display().to_string()))
    }

    /// Makes a new random key at `path`, readable by its owner only; refuses
    /// to replace a file already there.
    pub fn create(path: &Path) -> Result<CredentialKey, KeyFileError> {
        let err = |reason: String| KeyFileError { path: path.display().to_string(), reason };
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(path).map_err(|e| err(e.to_string()))?;
        f.write_all(hex::encode(bytes).as_bytes()).and_then(|_| f.sync_all()).map_err(|e| err(e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| err(e.to_string()))?;
        }
        Ok(CredentialKey::from_bytes(&bytes, path.display().to_string()))
    }

    /// Seals `plain` for one camera stream.
    pub fn seal(&self, camera_id: &str, stream: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(camera_id, stream);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: &aad })
            .expect("ChaCha20-Poly1305 encrypts any message shorter than 256 GiB");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{SEALED_PREFIX}{}", hex::encode(out))
    }

    /// Opens a value written by [`CredentialKey::seal`] for the same stream.
    /// `None` when this key did not seal it (another key, or the value or
    /// its row was altered): never a guess.
    pub fn open(&self, camera_id: &str, stream: &str, stored: &str) -> Option<String> {
        let bytes = hex::decode(stored.strip_prefix(SEALED_PREFIX)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let aad = associated_data(camera_id, stream);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: &aad }).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// Whether a stored credential is sealed (or plain text from before sealing).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

fn associated_data(camera_id: &str, stream: &str) -> Vec<u8> {
    [camera_id.as_bytes(), b"\0", stream.as_bytes()].concat()
}

/// Where a data directory's credential key lives: `credentials.key` in it,
/// or the file `CITYWATCH_CREDENTIALS_KEY` names (to keep the key on
/// another disk than the database and its backups).
pub fn key_path(data_dir: &Path) -> PathBuf {
    match std::env::var_os("CITYWATCH_CREDENTIALS_KEY").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => data_dir.join(CREDENTIAL_KEY_FILE),
    }
}

/// A camera's stream credentials: (main, sub).
pub type StreamCredentials = (Option<String>, Option<String>);

/// Why a credential could not be sealed or opened. Says which camera and
/// stream, never shows a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("camera {camera}'s credentials cannot be stored: no credential key was given to seal them")]
    NoKeyToSeal { camera: String },
    #[error("camera {camera}'s credentials are sealed, and no credential key was given to open them")]
    NoKeyToOpen { camera: String },
    #[error(
        "camera {camera}'s {stream} stream credentials do not open with the key {key}: it is not the key they were sealed with, or the stored value was altered"
    )]
    WrongKey { camera: String, stream: String, key: String },
    #[error("camera {camera}'s credentials are stored for an unknown stream {stream:?}")]
    UnknownStream { camera: String, stream: String },
}

impl CredentialError {
    pub fn wrong_key(key: &CredentialKey, camera: &str, stream: &str) -> CredentialError {
        CredentialError::WrongKey { camera: camera.to_owned(), stream: stream.to_owned(), key: key.origin().to_owned() }
    }
}

/// What a backend stores for `plain` on one camera stream: sealed, or an
/// error when no key was given (credentials are never stored in plain text).
pub fn seal_for_storage(key: Option<&CredentialKey>, camera_id: &str, stream: StreamKind, plain: &str) -> Result<String, CredentialError> {
    let key = key.ok_or_else(|| CredentialError::NoKeyToSeal { camera: camera_id.to_owned() })?;
    Ok(key.seal(camera_id, stream.as_str(), plain))
}

/// Opens stored rows `(camera, stream, stored)` into each camera's
/// credentials (cameras without any are absent). Rows still in plain text
/// (from before sealing, until a key is given) are returned as they are.
pub fn open_stored(
    rows: impl IntoIterator<Item = (String, String, String)>,
    key: Option<&CredentialKey>,
) -> Result<HashMap<String, StreamCredentials>, CredentialError> {
    let mut out: HashMap<String, StreamCredentials> = HashMap::new();
    for (camera, stream, stored) in rows {
        let cred = if is_sealed(&stored) {
            let key = key.ok_or_else(|| CredentialError::NoKeyToOpen { camera: camera.clone() })?;
            key.open(&camera, &stream, &stored).ok_or_else(|| CredentialError::wrong_key(key, &camera, &stream))?
        } else {
            stored
        };
        let kind: StreamKind = stream.parse().map_err(|_| CredentialError::UnknownStream { camera: camera.clone(), stream: stream.clone() })?;
        let entry = out.entry(camera).or_default();
        match kind {
            StreamKind::Main => entry.0 = Some(cred),
            StreamKind::Sub => entry.1 = Some(cred),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_for_its_stream() {
        let key = CredentialKey::ephemeral();
        let sealed = key.seal("cam-1", "main", "admin:s3cret");
        assert!(is_sealed(&sealed) && !sealed.contains("s3cret"), "{sealed}");
        assert_ne!(sealed, key.seal("cam-1", "main", "admin:s3cret"), "a fresh nonce each time");
        assert_eq!(key.open("cam-1", "main", &sealed).as_deref(), Some("admin:s3cret"));
        assert_eq!(key.open("cam-1", "sub", &sealed), None, "moved to another stream");
        assert_eq!(key.open("cam-2", "main", &sealed), None, "moved to another camera");
        assert_eq!(CredentialKey::ephemeral().open("cam-1", "main", &sealed), None, "another key");
        let mut flipped = sealed.clone();
        flipped.replace_range(sealed.len() - 1.., if sealed.ends_with('0') { "1" } else { "0" });
        assert_eq!(key.open("cam-1", "main", &flipped), None, "altered");
        assert_eq!(key.open("cam-1", "main", "sealed:v1:zz"), None);
        assert_eq!(key.open("cam-1", "main", "sealed:v1:00"), None);
    }

    #[test]
    fn a_key_file_is_private_and_reads_back() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(CREDENTIAL_KEY_FILE);
        let made = CredentialKey::create(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(CredentialKey::create(&path).is_err(), "an existing key is never replaced");
        let sealed = made.seal("c", "main", "u:p");
        assert_eq!(CredentialKey::load(&path).unwrap().open("c", "main", &sealed).as_deref(), Some("u:p"));
        fs::write(&path, "not a key").unwrap();
        assert!(CredentialKey::load(&path).unwrap_err().to_string().contains("64 hex digits"));
    }
}
