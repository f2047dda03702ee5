//! Which inference engine runs a model: tract (pure Rust, the default) or,
//! with the `ort` feature, ONNX Runtime loaded from the operator's
//! `libonnxruntime.so`. Both take and give tract tensors so the models'
//! pre- and post-processing is the same code whichever engine runs.
//!
//! The choice comes from the caller ([`Backend`]) or, for callers that do
//! not pass one, from `$CITYWATCH_BACKEND` (`tract` | `ort`). The library
//! is `$ORT_DYLIB_PATH` when set, else `libonnxruntime.so` in the model
//! directory (where `scripts/install-onnxruntime.sh` puts it).

use std::path::{Path, PathBuf};

use tract_onnx::prelude::*;

use crate::model::{load_onnx, Model, ModelError};

/// Names the engine when the caller does not.
pub const BACKEND_ENV: &str = "CITYWATCH_BACKEND";
/// The ONNX Runtime library to load (the variable `ort` itself reads).
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";
/// The library's name in the model directory.
pub const ORT_LIB_FILE: &str = "libonnxruntime.so";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Backend {
    #[default]
    Tract,
    /// ONNX Runtime; `None` = `$ORT_DYLIB_PATH`, else the model directory's copy.
    Ort { dylib: Option<PathBuf> },
}

impl Backend {
    /// `tract` or `ort` (as in `[analytics] backend`).
    pub fn parse(name: &str, dylib: Option<PathBuf>) -> Result<Backend, ModelError> {
        match name.trim() {
            "" | "tract" => Ok(Backend::Tract),
            "ort" | "onnxruntime" => Ok(Backend::Ort { dylib }),
            other => Err(ModelError::Backend(format!("unknown inference backend {other:?}: use \"tract\" or \"ort\""))),
        }
    }

    /// `$CITYWATCH_BACKEND`, tract when unset.
    pub fn from_env() -> Result<Backend, ModelError> {
        Backend::parse(&std::env::var(BACKEND_ENV).unwrap_or_default(), None)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Tract => "tract",
            Backend::Ort { .. } => "ort",
        }
    }

    /// The ONNX Runtime library this backend would load for `model_dir`.
    pub fn ort_dylib(&self, model_dir: &Path) -> Option<PathBuf> {
        match self {
            Backend::Tract => None,
            Backend::Ort { dylib: Some(p) } => Some(p.clone()),
            Backend::Ort { dylib: None } => Some(match std::env::var_os(ORT_DYLIB_ENV) {
                Some(v) if !v.is_empty() => PathBuf::from(v),
                _ => model_dir.join(ORT_LIB_FILE),
            }),
        }
    }
}

/// A model loaded on one backend, ready for one input shape.
pub enum Net {
    Tract(Model),
    #[cfg(feature = "ort")]
    Ort(crate::backend_ort::OrtModel),
}

impl Net {
    /// Loads `file` from `dir` (hash-checked) on `backend`, its single f32
    /// input fixed to `shape`, using up to `threads` threads per run.
    pub fn load(backend: &Backend, dir: &Path, file: &str, shape: &[usize], threads: usize) -> Result<Net, ModelError> {
        match backend {
            Backend::Tract => Ok(Net::Tract(load_onnx(dir, file, shape, threads)?)),
            #[cfg(feature = "ort")]
            Backend::Ort { .. } => {
                let dylib = backend.ort_dylib(dir).expect("ort backend has a library path");
                Ok(Net::Ort(crate::backend_ort::OrtModel::load(&dylib, dir, file, shape, threads)?))
            }
            #[cfg(not(feature = "ort"))]
            Backend::Ort { .. } => Err(ModelError::Backend(
                "the \"ort\" inference backend is not compiled into this build: rebuild with the `ort` feature (`cargo build --release -p citywatch --features ort`), or use backend \"tract\"".into(),
            )),
        }
    }

    /// [`Net::load`] for a fully convolutional model whose file declares a
    /// fixed input size other than `shape` (CenterFace: 32×32). tract
    /// takes `shape` whatever the file says; ONNX Runtime checks the
    /// declared size, so it gets a copy of the model with `shape` written
    /// in (see [`crate::backend_ort::OrtModel::load_resized`]).
    pub fn load_resized(backend: &Backend, dir: &Path, file: &str, shape: &[usize], threads: usize) -> Result<Net, ModelError> {
        #[cfg(feature = "ort")]
        if let Backend::Ort { .. } = backend {
            let dylib = backend.ort_dylib(dir).expect("ort backend has a library path");
            return Ok(Net::Ort(crate::backend_ort::OrtModel::load_resized(&dylib, dir, file, shape, threads)?));
        }
        Net::load(backend, dir, file, shape, threads)
    }

    /// Runs the model on one input; outputs in the model's order.
    pub fn run(&self, input: Tensor) -> Result<TVec<TValue>, String> {
        match self {
            Net::Tract(m) => m.run(tvec!(input.into_tvalue())).map_err(|e| format!("{e:#}")),
            #[cfg(feature = "ort")]
            Net::Ort(m) => m.run(&input),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Net::Tract(_) => "tract",
            #[cfg(feature = "ort")]
            Net::Ort(_) => "ort",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_bad_names_are_refused() {
        assert_eq!(Backend::parse("tract", None).unwrap(), Backend::Tract);
        assert_eq!(Backend::parse("", None).unwrap(), Backend::Tract);
        assert_eq!(Backend::parse("ort", None).unwrap(), Backend::Ort { dylib: None });
        let e = Backend::parse("cuda", None).unwrap_err().to_string();
        assert!(e.contains("\"cuda\"") && e.contains("tract"), "{e}");
    }

    #[test]
    fn configured_library_wins_over_the_model_directory() {
        let b = Backend::Ort { dylib: Some("/opt/ort/libonnxruntime.so".into()) };
        assert_eq!(b.ort_dylib(Path::new("/m")).unwrap(), PathBuf::from("/opt/ort/libonnxruntime.so"));
        assert_eq!(Backend::Tract.ort_dylib(Path::new("/m")), None);
    }

    #[cfg(not(feature = "ort"))]
    #[test]
    fn ort_without_the_feature_is_a_clear_error() {
        let dir = crate::model::test_models(crate::detect::MODEL_FILE);
        let e = Net::load(&Backend::Ort { dylib: None }, &dir, crate::detect::MODEL_FILE, &[1, 3, 416, 416], 1).err().expect("must refuse").to_string();
        assert!(e.contains("not compiled") && e.contains("--features"), "{e}");
    }
}
