//! The hash check in front of every model load: the shipped copies pass,
//! a corrupted or missing copy is refused with the file, both hashes and
//! the command that fixes it.

mod common;

use citywatch_analytics::detect::MODEL_FILE;
use citywatch_analytics::model::{file_state, verify, FileState};
use citywatch_analytics::{manifest, Detector, ModelError};

#[test]
fn every_shipped_model_matches_the_manifest() {
    let dir = common::models();
    for spec in manifest() {
        assert_eq!(file_state(&dir, spec), FileState::Ok, "{}", spec.file);
    }
}

#[test]
fn a_corrupted_copy_is_refused_naming_the_file() {
    let dir = common::models();
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(dir.join(MODEL_FILE)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(tmp.path().join(MODEL_FILE), &bytes).unwrap();

    let err = Detector::new(tmp.path(), 1).err().expect("a corrupted model must not load");
    let msg = err.to_string();
    let spec = manifest().iter().find(|m| m.file == MODEL_FILE).unwrap();
    assert!(msg.contains(&tmp.path().join(MODEL_FILE).display().to_string()), "{msg}");
    assert!(msg.contains(&spec.sha256), "names the expected hash: {msg}");
    assert!(msg.contains("citywatch models install --dir"), "says how to fix it: {msg}");
    let citywatch_analytics::detect::DetectError::Model(ModelError::WrongHash { actual, .. }) = err else { panic!("{msg}") };
    assert_eq!(actual.len(), 64);
    assert_ne!(actual, spec.sha256);
}

#[test]
fn a_missing_file_is_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let err = verify(tmp.path(), MODEL_FILE).unwrap_err();
    assert!(matches!(err, ModelError::Missing { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(MODEL_FILE) && msg.contains("is missing") && msg.contains("citywatch models install"), "{msg}");
    assert!(matches!(verify(tmp.path(), "other.onnx"), Err(ModelError::Unknown { .. })));
}
