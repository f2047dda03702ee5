//! The directory of sample files: `<data>/video/<camera>/<stream>/<start>.h26x`.
//! Paths in the index are relative to it, so a data directory can move.
//! It also knows which files a recorder is still writing, so that retention
//! never deletes a recording under a recorder's feet, and lets retention ask
//! a recorder to close its file early when it needs that file's space.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::append_file::AppendFile;

/// Files being written → whether retention asked for them to be closed.
type WritingSet = Arc<Mutex<HashMap<String, bool>>>;

pub struct SampleDir {
    root: PathBuf,
    writing: WritingSet,
}

/// Marks a file as being written until dropped.
pub struct Writing {
    file: String,
    set: WritingSet,
}

impl Drop for Writing {
    fn drop(&mut self) {
        self.set.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.file);
    }
}

impl SampleDir {
    pub fn open(root: &Path) -> io::Result<SampleDir> {
        fs::create_dir_all(root)?;
        Ok(SampleDir { root: root.to_owned(), writing: Arc::default() })
    }

    /// Marks `relative` as being written (by a recorder) while the guard lives.
    pub fn begin_writing(&self, relative: &str) -> Writing {
        self.writing.lock().unwrap_or_else(|e| e.into_inner()).insert(relative.to_owned(), false);
        Writing { file: relative.to_owned(), set: self.writing.clone() }
    }

    /// Whether a recorder of this process is still writing `relative`.
    pub fn is_being_written(&self, relative: &str) -> bool {
        self.writing.lock().unwrap_or_else(|e| e.into_inner()).contains_key(relative)
    }

    /// Asks the recorder writing `relative` to close it at its next key
    /// frame (the run goes on in a new file), so that retention can delete
    /// it. `false` if nobody is writing it.
    pub fn request_close(&self, relative: &str) -> bool {
        match self.writing.lock().unwrap_or_else(|e| e.into_inner()).get_mut(relative) {
            Some(wanted) => {
                *wanted = true;
                true
            }
            None => false,
        }
    }

    /// Whether retention asked for `relative` to be closed.
    pub fn close_requested(&self, relative: &str) -> bool {
        self.writing.lock().unwrap_or_else(|e| e.into_inner()).get(relative).copied().unwrap_or(false)
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// `relative` under the root, refused unless every part of it is a plain
    /// name: a file is only ever created inside the video directory, whatever
    /// a camera id (checked on input, but maybe from an older release) holds.
    fn path_inside(&self, relative: &str) -> io::Result<PathBuf> {
        let rel = Path::new(relative);
        let plain = rel.components().count() > 0 && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !plain {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{relative:?} is not a plain path inside the video directory; a camera id may hold only letters, digits, '.', '_' and '-'"),
            ));
        }
        Ok(self.root.join(rel))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates a new, empty sample file and makes its directory entry
    /// durable, so that a committed index row never names a file a crash
    /// could lose.
    pub fn create(&self, relative: &str) -> io::Result<File> {
        let path = self.path_inside(relative)?;
        let parent = path.parent().expect("sample files live in a directory");
        fs::create_dir_all(parent)?;
        let file = fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
        File::open(parent)?.sync_all()?;
        Ok(file)
    }

    /// Creates a new, empty sample file without syncing its directory: the
    /// caller (the disk writer) syncs the directories of a whole batch of
    /// new files before any row names them. `direct`: written around the
    /// page cache where the filesystem allows it (see `append_file`).
    pub fn create_unsynced(&self, relative: &str, direct: bool) -> io::Result<AppendFile> {
        let path = self.path_inside(relative)?;
        let parent = path.parent().expect("sample files live in a directory");
        fs::create_dir_all(parent)?;
        AppendFile::create_new(&path, direct)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_created_only_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = SampleDir::open(&tmp.path().join("video")).unwrap();
        for bad in ["../main/1.h264", "../../x", "/tmp/x.h264", "./cam/main/1.h264", "cam/../../x", ""] {
            let err = dir.create(bad).expect_err(bad);
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}");
            assert!(dir.create_unsynced(bad, false).is_err(), "{bad}");
        }
        assert!(!tmp.path().join("main").exists(), "nothing was made beside the video directory");
        dir.create("cam-0001/main/1.h264").unwrap();
        assert!(tmp.path().join("video/cam-0001/main/1.h264").exists());
    }
}
