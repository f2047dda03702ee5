//! Passwords (argon2id with the crate's recommended parameters) and opaque
//! session tokens. Only the SHA-256 of a token is stored, so a copy of the
//! database does not let anyone log in.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("the password must be at most {max} characters long")]
    TooLong { max: usize },
    #[error("the password must not be only spaces or other blank characters")]
    Blank,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Twelve characters: long enough that guessing online, at the pace login
/// throttling allows, is hopeless for anything but a very common password.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Bounds the work of hashing and the size of a login request.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// The rule every new password must meet (create-user and set-password,
/// from the API and the command line alike).
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort { min: MIN_PASSWORD_LEN });
    }
    if chars > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong { max: MAX_PASSWORD_LEN });
    }
    if password.chars().all(char::is_whitespace) {
        return Err(PasswordError::Blank);
    }
    Ok(())
}

/// Hashes a new password, after checking it against `check_new_password`.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    check_new_password(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| PasswordError::Hash(e.to_string()))
}

/// False for a wrong password and for a malformed stored hash alike.
pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash).map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()).unwrap_or(false)
}

/// 256 random bits, URL-safe base64.
pub fn new_session_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(matches!(hash_password("short"), Err(PasswordError::TooShort { .. })));
    }

    #[test]
    fn new_passwords_are_long_enough_and_not_blank() {
        assert!(matches!(check_new_password("        "), Err(PasswordError::TooShort { min: 12 })));
        assert!(matches!(check_new_password("eleven-char"), Err(PasswordError::TooShort { .. })));
        assert!(matches!(check_new_password(&" ".repeat(12)), Err(PasswordError::Blank)));
        assert!(matches!(check_new_password("\t \u{a0}\u{3000}        "), Err(PasswordError::Blank)));
        assert!(matches!(check_new_password(&"x".repeat(MAX_PASSWORD_LEN + 1)), Err(PasswordError::TooLong { .. })));
        check_new_password("twelve-chars").unwrap();
        check_new_password("  spaces inside are fine  ").unwrap();
        assert_eq!(PasswordError::Blank.to_string(), "the password must not be only spaces or other blank characters");
    }

    #[test]
    fn tokens_are_unique_and_hashed() {
        let (a, b) = (new_session_token(), new_session_token());
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
