//! The directory of sample files: `<data>/video/<camera>/<stream>/<start>.h26x`.
//! Paths in the index are relative to it, so a data directory can move.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

pub struct SampleDir {
    root: PathBuf,
}

impl SampleDir {
    pub fn open(root: &Path) -> io::Result<SampleDir> {
        fs::create_dir_all(root)?;
        Ok(SampleDir { root: root.to_owned() })
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates a new, empty sample file and makes its directory entry
    /// durable, so that a committed index row never names a file a crash
    /// could lose.
    pub fn create(&self, relative: &str) -> io::Result<File> {
        let path = self.path(relative);
        let parent = path.parent().expect("sample files live in a directory");
        fs::create_dir_all(parent)?;
        let file = fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
        File::open(parent)?.sync_all()?;
        Ok(file)
    }

    /// Every file under the root, as relative paths.
    pub fn list(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out)?;
        Ok(out)
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(())
}
