//! Where the bytes of sample files are read from, for MP4 playback and for
//! recorded frames: the local file system today, a recorder node's HTTP
//! range reads on a cluster (see `docs/design/seams.md`).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// Reads sample files by the name playback gives them (for the local
/// store, the file's path).
///
/// A reader rather than a "fill this buffer" call, so that an export
/// streams a whole segment in one request and a remote implementation can
/// answer with one ranged response. Errors are plain I/O errors; callers
/// name the file in their messages.
pub trait SampleBytes: Send + Sync {
    /// The file's length in bytes; `NotFound` when it does not exist.
    fn len(&self, file: &Path) -> io::Result<u64>;

    /// The file's bytes from `offset` on. Reading stops early (`Ok(0)`)
    /// where the file ends.
    fn open_at(&self, file: &Path, offset: u64) -> io::Result<Box<dyn Read + Send>>;
}

/// Sample files on this machine's file systems, by path.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalFiles;

impl SampleBytes for LocalFiles {
    fn len(&self, file: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(file)?.len())
    }

    fn open_at(&self, file: &Path, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        let mut f = File::open(file)?;
        f.seek(SeekFrom::Start(offset))?;
        Ok(Box::new(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_files_read_from_an_offset_and_say_when_a_file_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(LocalFiles.len(&path).unwrap(), 10);
        let mut rest = String::new();
        LocalFiles.open_at(&path, 6).unwrap().read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "6789");
        assert_eq!(LocalFiles.len(&dir.path().join("gone")).unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(LocalFiles.open_at(&dir.path().join("gone"), 0).err().map(|e| e.kind()), Some(io::ErrorKind::NotFound));
    }
}
