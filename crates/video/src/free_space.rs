//! The space left on a filesystem, read with `fstatvfs(2)`: what retention's
//! free-space floor and a sample file's sizing ahead both go by.
//!
//! std has no statvfs: the module is a small unsafe boundary.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Bytes available to unprivileged users on the filesystem holding `file`
/// (a directory opened for reading will do).
pub fn available_bytes(file: &File) -> io::Result<u64> {
    // SAFETY: all-zero is a valid `statvfs` (plain integers), which the
    // call fills in; the descriptor is this `File`'s own.
    let mut buf: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatvfs(file.as_raw_fd(), &mut buf) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((buf.f_bavail as u64).saturating_mul(buf.f_frsize as u64))
}
