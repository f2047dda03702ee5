//! Recognising a model that was converted to ONNX on this machine.
//!
//! tf2onnx does not write the same bytes twice: with the same input,
//! versions and machine, two runs of `tf2onnx.convert` (1.17.0 on
//! TensorFlow 2.15.1) gave files of different sha256, because the names
//! it gives folded constants (`const_fold_opt__NNN`) and the order of its
//! initializers change from run to run, and other TensorFlow versions
//! fold a few more or fewer small constants. So the manifest's sha256 of a
//! converted file can only vouch for the copy shipped beside the project,
//! never for one made by `citywatch models install`.
//!
//! A converted file whose sha256 differs is therefore accepted only when
//! both of these hold, each against a value compiled in from the manifest:
//!
//! - **weights**: the sha256 over its float weights (every FLOAT
//!   initializer of 16 or more values, each hashed on its own, the hex
//!   digests sorted and joined by newlines) is `weights_sha256`. The
//!   weights are the published ones, bit for bit, whatever the names and
//!   order tf2onnx gave them.
//! - **probe**: on a fixed input (value *i* = (i mod 251) / 125 − 1) each
//!   output's mean and mean absolute value match `probe` to 1e-3
//!   (relative, plus 1e-4). The weights are wired into the same network.
//!
//! This is weaker than a hash: a file made to pass both (the right
//! weights, a graph that differs only off the probe input) would be
//! accepted. It is what a conversion that cannot be reproduced byte for
//! byte allows; the installer also checks the package's source files
//! against `source_sha256` before converting them.

use std::path::Path;

use sha2::{Digest, Sha256};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::prelude::*;

use crate::model::ModelSpec;

/// Initializers smaller than this (shapes, axes, pads) are what tf2onnx
/// folds differently from one TensorFlow version to another.
const MIN_WEIGHT_VALUES: i64 = 16;

/// The sha256 of the float weights of the ONNX file at `path`, independent
/// of their names and order (see the module doc).
pub fn weights_sha256(path: &Path) -> Result<String, String> {
    let proto = tract_onnx::onnx().proto_model_for_path(path).map_err(|e| format!("parsing {}: {e:#}", path.display()))?;
    let graph = proto.graph.ok_or_else(|| format!("{} has no graph", path.display()))?;
    let mut digests: Vec<String> = Vec::new();
    for t in &graph.initializer {
        let values: i64 = t.dims.iter().product();
        if t.data_type != DataType::Float as i32 || values < MIN_WEIGHT_VALUES {
            continue;
        }
        let bytes: Vec<u8> = if t.raw_data.is_empty() { t.float_data.iter().flat_map(|v| v.to_le_bytes()).collect() } else { t.raw_data.to_vec() };
        if bytes.len() as i64 != values * 4 {
            return Err(format!("initializer {} of {}: {} bytes for {values} floats (external data is not supported)", t.name, path.display(), bytes.len()));
        }
        digests.push(hex::encode(Sha256::digest(&bytes)));
    }
    digests.sort();
    Ok(hex::encode(Sha256::digest(digests.join("\n").as_bytes())))
}

/// The fixed probe input of `shape`.
fn probe_input(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|i| (i % 251) as f32 / 125.0 - 1.0).collect();
    tract_ndarray::ArrayD::from_shape_vec(shape, values).expect("length is the product of the shape").into()
}

/// Each output's (mean, mean absolute value) on the probe input, run with
/// tract.
pub fn probe(path: &Path, shape: &[usize]) -> Result<Vec<[f64; 2]>, String> {
    let run = || -> TractResult<Vec<[f64; 2]>> {
        let model = tract_onnx::onnx().model_for_path(path)?.with_input_fact(0, f32::fact(shape).into())?.into_optimized()?.into_runnable()?;
        let outputs = model.run(tvec!(probe_input(shape).into()))?;
        outputs
            .iter()
            .map(|o| {
                let v = o.as_slice::<f32>()?;
                let n = v.len().max(1) as f64;
                Ok([v.iter().map(|&x| x as f64).sum::<f64>() / n, v.iter().map(|&x| (x as f64).abs()).sum::<f64>() / n])
            })
            .collect()
    };
    run().map_err(|e| format!("running {} on the probe input: {e:#}", path.display()))
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-4 + 1e-3 * expected.abs()
}

/// Whether the probe outputs `actual` match `expected`; the text says
/// where they first differ.
pub fn probe_matches(actual: &[[f64; 2]], expected: &[[f64; 2]]) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!("{} outputs, the manifest expects {}", actual.len(), expected.len()));
    }
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        if !(close(a[0], e[0]) && close(a[1], e[1])) {
            return Err(format!(
                "output {i} has mean {:.6} and mean |x| {:.6} on the probe input, the manifest expects {:.6} and {:.6}",
                a[0], a[1], e[0], e[1]
            ));
        }
    }
    Ok(())
}

/// Whether the file at `path` is a faithful conversion of `spec`'s source:
/// its weights and its probe outputs match the manifest.
pub fn check(path: &Path, spec: &ModelSpec) -> Result<(), String> {
    let (Some(weights), Some(shape)) = (&spec.weights_sha256, &spec.probe_shape) else {
        return Err(format!("the manifest has no weights_sha256 and probe_shape for {}", spec.file));
    };
    let actual = weights_sha256(path)?;
    if &actual != weights {
        return Err(format!("its weights hash to {actual}, the manifest expects {weights}"));
    }
    probe_matches(&probe(path, shape)?, &spec.probe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{spec, test_models, Conversion};

    /// The reference conversions shipped beside the project pass the check
    /// that a local conversion must pass: the manifest's weights hash and
    /// probe values describe the same models its sha256 does.
    #[test]
    fn shipped_conversions_pass_the_conversion_check() {
        for s in crate::manifest().iter().filter(|s| s.convert != Conversion::None) {
            let dir = test_models(&s.file);
            check(&dir.join(&s.file), s).unwrap_or_else(|e| panic!("{}: {e}", s.file));
        }
    }

    /// One changed weight is refused even though the graph still loads and
    /// runs.
    #[test]
    fn a_changed_weight_is_refused() {
        let s = spec("face_detection_short_range.onnx").unwrap();
        let src = test_models(&s.file).join(&s.file);
        let mut bytes = std::fs::read(&src).unwrap();
        // The largest initializer's first 64 bytes, found in the file and
        // changed in the last bit of one float.
        let proto = tract_onnx::onnx().proto_model_for_path(&src).unwrap();
        let big = proto.graph.unwrap().initializer.into_iter().max_by_key(|t| t.raw_data.len()).unwrap();
        let needle = &big.raw_data[..64];
        let at = bytes.windows(64).position(|w| w == needle).expect("raw weights are stored verbatim");
        bytes[at + 4] ^= 0x01;
        let tmp = tempfile::tempdir().unwrap();
        let changed = tmp.path().join(&s.file);
        std::fs::write(&changed, &bytes).unwrap();

        let err = check(&changed, s).unwrap_err();
        assert!(err.contains("weights hash to") && err.contains(s.weights_sha256.as_deref().unwrap()), "{err}");
        // It still runs, and a one-bit change does not move the probe
        // summary: the weights hash is what catches it.
        assert!(probe_matches(&probe(&changed, s.probe_shape.as_deref().unwrap()).unwrap(), &s.probe).is_ok());
    }

    #[test]
    fn probe_values_must_match_in_number_and_value() {
        let expected = [[0.5, 0.5], [-2.0, 3.0]];
        assert!(probe_matches(&[[0.5002, 0.4999], [-2.001, 3.0]], &expected).is_ok());
        let e = probe_matches(&[[0.5, 0.5], [-2.01, 3.0]], &expected).unwrap_err();
        assert!(e.starts_with("output 1 has mean -2.010000"), "{e}");
        assert!(probe_matches(&[[0.5, 0.5]], &expected).unwrap_err().contains("1 outputs, the manifest expects 2"));
    }

    #[test]
    fn probe_input_is_fixed_and_in_range() {
        let t = probe_input(&[1, 2, 3, 100]);
        let v = t.as_slice::<f32>().unwrap();
        assert_eq!(v.len(), 600);
        assert_eq!((v[0], v[125], v[250], v[251]), (-1.0, 0.0, 1.0, -1.0));
    }
}
