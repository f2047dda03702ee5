//! A data directory holds what no other local user may read: the database
//! (password hashes, plate reads, camera credentials), the keys, unblurred
//! snapshots and recordings. Everything the server writes there is for its
//! own user only: the process's umask keeps group and other bits off every
//! new file and directory, and a directory made by an older release (files
//! 0644, directories 0755) is tightened when a command opens it.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Group and other bits: none may be set on anything in a data directory.
const SHARED_BITS: u32 = 0o077;

/// New files are 0600 and new directories 0700, whatever the caller's
/// umask was: set before the commands that write a data directory do
/// anything. The previous umask is returned (for tests).
#[allow(unsafe_code)] // libc's umask has no safe wrapper in std
pub fn keep_new_files_private() -> u32 {
    // SAFETY: umask only swaps the process's file mode mask; it cannot fail.
    (unsafe { libc::umask(SHARED_BITS as libc::mode_t) }) as u32
}

/// What [`tighten`] changed: each path with its mode before and after.
#[derive(Debug, Default)]
pub struct Tightened {
    pub changed: Vec<(PathBuf, u32, u32)>,
}

impl Tightened {
    /// One line for the log, naming a few of the paths.
    pub fn summary(&self, root: &Path) -> String {
        let shown: Vec<String> = self
            .changed
            .iter()
            .take(5)
            .map(|(p, before, after)| {
                format!("{} {before:o} → {after:o}", p.strip_prefix(root).ok().filter(|r| !r.as_os_str().is_empty()).unwrap_or(p).display())
            })
            .collect();
        let more = self.changed.len().saturating_sub(shown.len());
        format!(
            "{} was readable by other local users: group and other permissions removed from {} files and directories ({}{})",
            root.display(),
            self.changed.len(),
            shown.join(", "),
            if more > 0 { format!(", and {more} more") } else { String::new() }
        )
    }
}

/// Removes group and other permissions from `root` and everything under
/// it. Symbolic links are neither changed nor followed: what they point to
/// is not the data directory's.
pub fn tighten(root: &Path) -> io::Result<Tightened> {
    let mut out = Tightened::default();
    tighten_entry(root, &mut out)?;
    Ok(out)
}

fn tighten_entry(path: &Path, out: &mut Tightened) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & SHARED_BITS != 0 {
        let private = mode & !SHARED_BITS;
        fs::set_permissions(path, fs::Permissions::from_mode(private))?;
        out.changed.push((path.to_owned(), mode, private));
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path)? {
            tighten_entry(&entry?.path(), out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_and_other_bits_go_from_everything_but_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        fs::create_dir_all(root.join("snapshots/cam-1")).unwrap();
        fs::write(root.join("citywatch.db"), b"").unwrap();
        fs::write(root.join("snapshots/cam-1/a.jpg"), b"").unwrap();
        fs::write(tmp.path().join("outside"), b"").unwrap();
        for (p, m) in [("", 0o755), ("snapshots", 0o775), ("snapshots/cam-1", 0o755), ("citywatch.db", 0o644), ("snapshots/cam-1/a.jpg", 0o664)] {
            fs::set_permissions(root.join(p), fs::Permissions::from_mode(m)).unwrap();
        }
        fs::set_permissions(tmp.path().join("outside"), fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside"), root.join("link")).unwrap();

        let t = tighten(&root).unwrap();
        assert_eq!(t.changed.len(), 5, "{t:?}");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("snapshots/cam-1")), 0o700);
        assert_eq!(mode(&root.join("citywatch.db")), 0o600);
        assert_eq!(mode(&root.join("snapshots/cam-1/a.jpg")), 0o600);
        assert_eq!(mode(&tmp.path().join("outside")), 0o644, "a link's target is left alone");
        assert!(t.summary(&root).contains("citywatch.db 644 → 600"), "{}", t.summary(&root));
        assert!(tighten(&root).unwrap().changed.is_empty(), "a second pass has nothing to do");
    }
}
