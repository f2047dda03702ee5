//! An append-only sample file, written around the page cache (`O_DIRECT`)
//! where the filesystem allows it.
//!
//! Why: a recorder writes every byte once and almost never reads it back
//! soon, so the page cache only costs. Buffered, each 4 KiB page is
//! allocated, copied into, reserved by the filesystem's delayed allocation
//! and later written back, and that was most of the recorder's system time
//! (see bench/results/recording-50.txt). Written direct, the device reads
//! the bytes straight from our buffer.
//!
//! `O_DIRECT` wants the buffer, the length and the file offset aligned to
//! the device's block. A file holds on to the GOPs appended to it (the
//! frames themselves, no copy) until the commit: then they are copied into
//! an aligned buffer and written in one call ([`AppendFile::write_out`]),
//! or staged into the writer's batch buffer and written together with
//! other files' ([`AppendFile::stage_write`], `aio_batch`), the partial
//! last block padded with zeros, so every byte a row names is on the
//! device. That block stays in memory too, and the next commit writes it
//! again with more bytes in it. Few writes matter: each is a device request
//! (on a VM, an exit to the host) and a wait for its completion.
//!
//! A direct file is also sized ahead of its writes with `fallocate`, about
//! a file's worth at once ([`SIZE_AHEAD_COMMITS`]): a write into
//! space the file already owns, below its size, costs the filesystem far
//! less than one that allocates blocks and moves the end (half the CPU of a
//! commit's write and sync on ext4, bench/recording/direct_writes.c). It is
//! only a saving: a filesystem that refuses it, or a full or small disk
//! ([`SIZE_AHEAD_ROOM`]), gets the writes that extend the file as before.
//!
//! The padding and the space sized ahead past the end are cut off when the
//! file is finished, or by recovery after a crash (a file longer than its
//! index is cut back to it at start). Rewriting the last block cannot
//! damage committed bytes, even torn by a power cut: the old and the new
//! block hold the same bytes up to the committed length.
//!
//! A filesystem that refuses `O_DIRECT` at open (tmpfs on older kernels)
//! or at the first write (some network filesystems) gets the ordinary
//! buffered writes.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use bytes::Bytes;

/// Alignment and size unit of direct writes: 4 KiB suits every device
/// with 512-byte or 4 KiB logical blocks.
const BLOCK: usize = 4096;

/// How far ahead of a write a direct file is sized, in writes of that
/// length (a commit's, for a stream of steady bitrate): about a whole file
/// (a minute) at 2 s commits, so one `fallocate` a file and its space in an
/// extent or two. Steps of 8 saved nothing in the recorder: the files'
/// steps interleave on the disk, and a longer extent tree costs what the
/// writes save (bench/results/recording-50.txt).
const SIZE_AHEAD_COMMITS: u64 = 32;
const MIN_SIZE_AHEAD: u64 = 1 << 20;
const MAX_SIZE_AHEAD: u64 = 64 << 20;

/// A file is sized ahead only while its filesystem has this many times the
/// step free: the space sized ahead counts as used, so on a small or nearly
/// full disk it would come out of the free-space floor retention keeps,
/// and hold recorded minutes' worth from deletion.
const SIZE_AHEAD_ROOM: u64 = 64;

/// Scratch space one writer thread copies GOPs into (whole blocks are
/// written out whenever it fills).
const SCRATCH: usize = 1 << 20;

/// A block-aligned buffer, safe code only: a `Vec` with a block of slack,
/// used from its first aligned byte.
pub struct AlignedBuf {
    raw: Vec<u8>,
    start: usize,
}

impl AlignedBuf {
    pub fn new() -> AlignedBuf {
        AlignedBuf::with_len(SCRATCH)
    }

    /// `len` bytes (rounded up to whole blocks), block-aligned.
    pub fn with_len(len: usize) -> AlignedBuf {
        let len = len.div_ceil(BLOCK) * BLOCK;
        let raw = vec![0u8; len + BLOCK];
        let start = raw.as_ptr().align_offset(BLOCK);
        AlignedBuf { raw, start }
    }

    fn as_mut(&mut self) -> &mut [u8] {
        let len = self.len();
        &mut self.raw[self.start..self.start + len]
    }

    pub fn len(&self) -> usize {
        self.raw.len() - BLOCK
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whole blocks from `at` (a multiple of the block size).
    pub fn blocks_mut(&mut self, at: usize, len: usize) -> &mut [u8] {
        debug_assert!(at.is_multiple_of(BLOCK));
        &mut self.as_mut()[at..at + len]
    }

    pub fn blocks(&self, at: usize, len: usize) -> &[u8] {
        &self.raw[self.start + at..self.start + at + len]
    }
}

impl Default for AlignedBuf {
    fn default() -> AlignedBuf {
        AlignedBuf::new()
    }
}

/// The state of a direct file: everything before `block_start` is on the
/// device; `tail` (shorter than a block) and then `staged` follow it.
struct Direct {
    block_start: u64,
    tail: Vec<u8>,
    /// Frames appended since the last write, held (a reference each, no
    /// copy) so that a commit interval's GOPs go out in one write.
    staged: Vec<Bytes>,
    staged_len: usize,
    /// The zero-padded tail block is on the device (the file is longer
    /// than its bytes).
    padded: bool,
    /// The file's size as `fallocate` set it (0: never sized ahead).
    sized_to: u64,
    /// `fallocate` failed once (refused, or no space): not tried again, and
    /// the file's size is whatever it left.
    size_ahead_failed: bool,
}

/// One file's part of a batch of writes (see [`AppendFile::stage_write`]):
/// `len` bytes of the batch buffer from `at`, to go at `offset` of the file.
#[derive(Debug, Clone, Copy)]
pub struct StagedWrite {
    pub at: usize,
    pub len: usize,
    pub offset: u64,
    /// The bytes that are the file's (the rest of the last block is padding).
    used: usize,
}

impl Direct {
    fn new() -> Direct {
        Direct { block_start: 0, tail: Vec::with_capacity(BLOCK), staged: Vec::new(), staged_len: 0, padded: false, sized_to: 0, size_ahead_failed: false }
    }

    /// Before a write of `len` bytes at `block_start`: sizes the file past
    /// its end, if it is not already, by [`SIZE_AHEAD_COMMITS`] such writes.
    fn size_ahead(&mut self, file: &File, len: usize) {
        let end = self.block_start + len as u64;
        if self.size_ahead_failed || end <= self.sized_to {
            return;
        }
        let step = (len as u64 * SIZE_AHEAD_COMMITS).clamp(MIN_SIZE_AHEAD, MAX_SIZE_AHEAD);
        let to = (end + step).div_ceil(BLOCK as u64) * BLOCK as u64;
        if crate::free_space::available_bytes(file).map_or(true, |free| free / SIZE_AHEAD_ROOM < to - self.sized_to) {
            return;
        }
        match fallocate(file, self.sized_to, to - self.sized_to) {
            Ok(()) => self.sized_to = to,
            Err(e) => {
                tracing::debug!("sizing a sample file ahead: {e}; it grows with its writes instead");
                self.size_ahead_failed = true;
            }
        }
    }

    /// The file may be longer than its bytes (padding, or sized ahead).
    fn longer_than_its_bytes(&self) -> bool {
        self.padded || self.sized_to > 0 || self.size_ahead_failed
    }

    fn has_unwritten(&self) -> bool {
        !self.staged.is_empty() || (!self.tail.is_empty() && !self.padded)
    }

    /// Bytes a padded write-out of everything held takes: whole blocks.
    fn padded_len(&self) -> usize {
        (self.tail.len() + self.staged_len).div_ceil(BLOCK) * BLOCK
    }

    /// Copies tail and staged frames into `buf` (of `padded_len` bytes), the
    /// last block zero-padded. Nothing changes until [`Direct::written`].
    fn stage_into(&self, buf: &mut [u8]) -> usize {
        let mut used = self.tail.len();
        buf[..used].copy_from_slice(&self.tail);
        for frame in &self.staged {
            buf[used..used + frame.len()].copy_from_slice(frame);
            used += frame.len();
        }
        buf[used..].fill(0);
        used
    }

    /// The staged bytes (`buf`, `used` of them the file's) are on the device.
    fn written(&mut self, buf: &[u8], used: usize) {
        let whole = used / BLOCK * BLOCK;
        self.padded = used > whole;
        self.block_start += whole as u64;
        self.tail.clear();
        self.tail.extend_from_slice(&buf[whole..used]);
        self.staged.clear();
        self.staged_len = 0;
    }

    /// Copies tail and staged frames into `scratch` and writes them at
    /// `block_start`: whole blocks, and with `pad` the partial last block
    /// too, zero-padded. The state changes only once every write is done,
    /// so a failed call leaves nothing to undo (writes are positional: the
    /// next try writes the same bytes at the same places).
    fn write_out(&mut self, file: &File, scratch: &mut AlignedBuf, pad: bool) -> io::Result<()> {
        self.size_ahead(file, if pad { self.padded_len() } else { self.tail.len() + self.staged_len });
        let buf = scratch.as_mut();
        let mut at = self.block_start;
        let mut used = self.tail.len();
        buf[..used].copy_from_slice(&self.tail);
        for frame in &self.staged {
            let mut rest: &[u8] = frame;
            while !rest.is_empty() {
                let n = rest.len().min(SCRATCH - used);
                buf[used..used + n].copy_from_slice(&rest[..n]);
                used += n;
                rest = &rest[n..];
                if used == SCRATCH {
                    file.write_all_at(buf, at)?;
                    at += SCRATCH as u64;
                    used = 0;
                }
            }
        }
        let whole = used / BLOCK * BLOCK;
        let padded = pad && used > whole;
        let end = if padded { whole + BLOCK } else { whole };
        buf[used..end.max(used)].fill(0);
        if end > 0 {
            file.write_all_at(&buf[..end], at)?;
        }
        if at > self.block_start || end > 0 {
            self.padded = padded;
        }
        self.block_start = at + whole as u64;
        self.tail.clear();
        self.tail.extend_from_slice(&buf[whole..used]);
        self.staged.clear();
        self.staged_len = 0;
        Ok(())
    }
}

pub struct AppendFile {
    file: File,
    path: PathBuf,
    direct: Option<Direct>,
}

impl AppendFile {
    /// Creates a new file (failing if it exists), direct when `direct` is
    /// asked for and the filesystem takes it.
    pub fn create_new(path: &Path, direct: bool) -> io::Result<AppendFile> {
        if direct {
            match OpenOptions::new().write(true).create_new(true).custom_flags(libc::O_DIRECT).open(path) {
                Ok(file) => {
                    return Ok(AppendFile { file, path: path.to_owned(), direct: Some(Direct::new()) });
                }
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
                Err(e) => return Err(e),
            }
        }
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        Ok(AppendFile { file, path: path.to_owned(), direct: None })
    }

    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// Appends the frames. Direct: they are held until
    /// [`AppendFile::write_out`] (before a sync), or until a scratch
    /// buffer's worth is held, when its whole blocks are written.
    pub fn append(&mut self, frames: &[Bytes], scratch: &mut AlignedBuf) -> io::Result<()> {
        let Some(d) = &mut self.direct else {
            return write_all_vectored(&mut self.file, frames);
        };
        d.staged.extend(frames.iter().cloned());
        d.staged_len += frames.iter().map(|f| f.len()).sum::<usize>();
        if d.tail.len() + d.staged_len < SCRATCH {
            return Ok(());
        }
        let result = d.write_out(&self.file, scratch, false);
        self.fall_back_if_refused(result)
    }

    /// Direct: writes every byte appended so far, the partial last block
    /// padded with zeros, so that all of them are on the device once the
    /// file is synced.
    pub fn write_out(&mut self, scratch: &mut AlignedBuf) -> io::Result<()> {
        let Some(d) = &mut self.direct else { return Ok(()) };
        if !d.has_unwritten() {
            return Ok(());
        }
        let result = d.write_out(&self.file, scratch, true);
        self.fall_back_if_refused(result)
    }

    /// What [`AppendFile::write_out`] would write, in bytes (whole blocks);
    /// `None` if it would write nothing (not direct, or nothing new).
    pub fn write_out_len(&self) -> Option<usize> {
        self.direct.as_ref().filter(|d| d.has_unwritten()).map(Direct::padded_len)
    }

    /// The first half of a batched [`AppendFile::write_out`]: copies what it
    /// would write into `batch` at `at` (a block boundary, with
    /// [`AppendFile::write_out_len`] bytes of room), and sizes the file
    /// ahead of the write. The caller writes [`AppendFile::staged_bytes`]
    /// at its offset, then calls [`AppendFile::staged_written`] with the
    /// result.
    pub fn stage_write(&mut self, batch: &mut AlignedBuf, at: usize) -> Option<StagedWrite> {
        let d = self.direct.as_mut().filter(|d| d.has_unwritten())?;
        let len = d.padded_len();
        d.size_ahead(&self.file, len);
        let used = d.stage_into(batch.blocks_mut(at, len));
        Some(StagedWrite { at, len, offset: d.block_start, used })
    }

    pub fn staged_bytes<'a>(batch: &'a AlignedBuf, w: &StagedWrite) -> &'a [u8] {
        batch.blocks(w.at, w.len)
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// The second half of a batched write-out: on success the file's state
    /// moves on; a filesystem that refuses direct writes gets the bytes
    /// buffered instead; any other error is returned, nothing changed.
    pub fn staged_written(&mut self, batch: &AlignedBuf, w: &StagedWrite, result: io::Result<()>) -> io::Result<()> {
        let Some(d) = &mut self.direct else { return result };
        match result {
            Ok(()) => {
                d.written(Self::staged_bytes(batch, w), w.used);
                Ok(())
            }
            Err(e) => self.fall_back_if_refused(Err(e)),
        }
    }

    /// A filesystem that opened the file direct but will not write it so
    /// (`EINVAL`): go on buffered, with nothing lost.
    fn fall_back_if_refused(&mut self, result: io::Result<()>) -> io::Result<()> {
        match result {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => self.fall_back_to_buffered(&e),
            other => other,
        }
    }

    /// Reopens the file buffered, writes what the direct state still held
    /// (tail and staged frames) and appends buffered from then on.
    fn fall_back_to_buffered(&mut self, why: &io::Error) -> io::Result<()> {
        let Some(d) = self.direct.take() else { return Ok(()) };
        tracing::warn!("{}: direct writes refused ({why}); writing this file through the page cache", self.path.display());
        let mut file = OpenOptions::new().write(true).open(&self.path)?;
        file.set_len(d.block_start)?;
        file.seek(SeekFrom::End(0))?;
        file.write_all(&d.tail)?;
        write_all_vectored(&mut file, &d.staged)?;
        self.file = file;
        Ok(())
    }

    pub fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// The bytes appended so far (the tests compare it with the file).
    #[cfg(test)]
    fn bytes_appended(&self) -> io::Result<u64> {
        match &self.direct {
            Some(d) => Ok(d.block_start + (d.tail.len() + d.staged_len) as u64),
            None => Ok(self.file.metadata()?.len()),
        }
    }

    /// Cuts the file back to `len` bytes (a failed write: back to what the
    /// index names) and syncs it. The file takes no more appends.
    pub fn cut_back(self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_data()
    }

    /// The file is complete: drops the zero padding and the space sized
    /// ahead after its last written byte (frames still staged were never
    /// committed: they are dropped). Not synced: if a crash undoes the cut,
    /// recovery makes it again.
    pub fn finish(self) -> io::Result<()> {
        if let Some(d) = &self.direct {
            if d.longer_than_its_bytes() {
                // An unpadded tail was never written.
                self.file.set_len(d.block_start + if d.padded { d.tail.len() as u64 } else { 0 })?;
            }
        }
        Ok(())
    }
}

/// Allocates `len` bytes of the file from `offset`, moving its size past
/// them if it was shorter (`fallocate` mode 0).
#[allow(unsafe_code)] // std has no fallocate
fn fallocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return Err(io::ErrorKind::InvalidInput.into());
    };
    // SAFETY: a plain system call on a descriptor this `File` owns.
    if unsafe { libc::fallocate(file.as_raw_fd(), 0, offset, len) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Writes every buffer, in order, with as few system calls as the kernel
/// allows (std's `write_all_vectored` is not stable yet).
fn write_all_vectored(file: &mut File, frames: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = frames.iter().map(|f| IoSlice::new(f)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(sizes: &[usize], seed: u8) -> Vec<Bytes> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| Bytes::from((0..n).map(|j| (j as u8).wrapping_mul(31).wrapping_add(i as u8 ^ seed)).collect::<Vec<u8>>()))
            .collect()
    }

    fn concat(all: &[Vec<Bytes>]) -> Vec<u8> {
        all.iter().flatten().flat_map(|f| f.iter().copied()).collect()
    }

    /// Whatever the sizes (smaller than a block, across the scratch buffer,
    /// exact blocks), the file holds exactly the appended bytes once
    /// finished, and every byte once the tail is written.
    fn round_trip(direct: bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.h264");
        let mut f = AppendFile::create_new(&path, direct).unwrap();
        let mut scratch = AlignedBuf::new();
        let gops = vec![frames(&[10, 200], 1), frames(&[BLOCK - 210], 2), frames(&[SCRATCH + 5000, 3], 3), frames(&[1], 4), frames(&[7 * BLOCK], 5)];
        let mut done = Vec::new();
        for gop in gops {
            f.append(&gop, &mut scratch).unwrap();
            done.push(gop);
            f.write_out(&mut scratch).unwrap();
            f.sync_data().unwrap();
            let want = concat(&done);
            assert_eq!(f.bytes_appended().unwrap(), want.len() as u64);
            let on_disk = std::fs::read(&path).unwrap();
            let slack = if direct { BLOCK as u64 + MIN_SIZE_AHEAD.max(SIZE_AHEAD_COMMITS * (SCRATCH as u64 + 5000)) } else { 1 };
            assert!(on_disk.len() >= want.len() && (on_disk.len() as u64) < want.len() as u64 + slack, "file {} bytes for {}", on_disk.len(), want.len());
            assert_eq!(&on_disk[..want.len()], &want[..], "bytes differ after {} GOPs", done.len());
        }
        let want = concat(&done);
        f.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), want);
    }

    #[test]
    fn direct_file_holds_exactly_the_appended_bytes() {
        round_trip(true);
    }

    #[test]
    fn buffered_file_holds_exactly_the_appended_bytes() {
        round_trip(false);
    }

    #[test]
    fn direct_writes_are_used_on_a_filesystem_that_takes_them() {
        // The test directory is on the build machine's disk (ext4 here and in CI).
        let dir = tempfile::tempdir().unwrap();
        let f = AppendFile::create_new(&dir.path().join("f"), true).unwrap();
        let fs_takes_direct = OpenOptions::new().write(true).create(true).custom_flags(libc::O_DIRECT).open(dir.path().join("probe")).is_ok();
        assert_eq!(f.is_direct(), fs_takes_direct);
    }

    #[test]
    fn direct_appends_wait_for_the_commit_unless_a_scratch_buffer_is_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = AppendFile::create_new(&path, true).unwrap();
        assert!(f.is_direct(), "the test directory's filesystem takes O_DIRECT (ext4 here and in CI)");
        let mut scratch = AlignedBuf::new();
        let all = [frames(&[3 * BLOCK + 10], 1), frames(&[SCRATCH], 2)];
        let want = concat(&all);
        let on_disk = |n: usize| {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.resize(n, 0);
            bytes
        };
        f.append(&all[0], &mut scratch).unwrap();
        assert_ne!(on_disk(BLOCK), want[..BLOCK], "held until the commit");
        f.append(&all[1], &mut scratch).unwrap();
        let whole = SCRATCH + 3 * BLOCK;
        assert_eq!(on_disk(whole), want[..whole], "whole blocks go out once a scratch buffer's worth is held");
        assert_ne!(on_disk(want.len())[whole..], want[whole..], "the partial last block waits for the commit");
        f.write_out(&mut scratch).unwrap();
        assert_eq!(on_disk(want.len()), want);
    }

    /// A direct file owns space past its end before its writes reach it,
    /// and is cut to its bytes when finished; a file that cannot be sized
    /// ahead is written all the same.
    #[test]
    fn a_direct_file_is_sized_ahead_of_its_writes_and_cut_to_its_bytes_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = AppendFile::create_new(&path, true).unwrap();
        assert!(f.is_direct());
        let mut scratch = AlignedBuf::new();
        let mut done = Vec::new();
        let mut sizes = Vec::new();
        for i in 0..40u8 {
            let gop = frames(&[60_000, 7_000], i);
            f.append(&gop, &mut scratch).unwrap();
            done.push(gop);
            f.write_out(&mut scratch).unwrap();
            sizes.push(std::fs::metadata(&path).unwrap().len());
        }
        let bytes = concat(&done).len() as u64;
        let first = sizes[0];
        assert!(first >= MIN_SIZE_AHEAD, "sized ahead at the first write: {first} bytes");
        assert!(sizes.windows(2).filter(|w| w[0] != w[1]).count() < 5, "sized a few times, not at every write: {sizes:?}");
        assert!(*sizes.last().unwrap() > bytes);
        f.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), concat(&done));

        // Sizing refused (here: a file opened without write access to its
        // size, i.e. read-only): the writes go on without it.
        let mut d = Direct::new();
        let read_only = File::open(&path).unwrap();
        d.size_ahead(&read_only, 10 * BLOCK);
        assert!(d.size_ahead_failed && d.sized_to == 0);
        assert!(d.longer_than_its_bytes(), "finish cuts whatever a failed fallocate may have left");
    }

    /// The batched write-out in its two halves: staged at a block boundary
    /// of a shared buffer, written by the caller, then accounted; a refusal
    /// of direct writes at that point loses nothing either.
    #[test]
    fn staged_writes_hold_exactly_the_appended_bytes_and_survive_a_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = AppendFile::create_new(&path, true).unwrap();
        assert!(f.is_direct());
        let mut scratch = AlignedBuf::new();
        let mut batch = AlignedBuf::with_len(64 * BLOCK);
        let mut done = Vec::new();
        for (i, sizes) in [&[100usize, 5000][..], &[2 * BLOCK - 5100], &[3 * BLOCK + 1]].into_iter().enumerate() {
            let gop = frames(sizes, i as u8);
            f.append(&gop, &mut scratch).unwrap();
            done.push(gop);
            let at = 8 * BLOCK;
            let len = f.write_out_len().expect("something to write");
            let w = f.stage_write(&mut batch, at).unwrap();
            assert_eq!((w.at, w.len), (at, len));
            let result = f.file().write_all_at(AppendFile::staged_bytes(&batch, &w), w.offset);
            f.staged_written(&batch, &w, result).unwrap();
            assert!(f.write_out_len().is_none(), "nothing left to write");
            let want = concat(&done);
            assert_eq!(&std::fs::read(&path).unwrap()[..want.len()], &want[..]);
        }
        let refused = frames(&[777, 9], 7);
        f.append(&refused, &mut scratch).unwrap();
        done.push(refused);
        let w = f.stage_write(&mut batch, 0).unwrap();
        f.staged_written(&batch, &w, Err(io::Error::from_raw_os_error(libc::EINVAL))).unwrap();
        assert!(!f.is_direct(), "refused direct writes: the file goes on buffered");
        f.sync_data().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), concat(&done));
    }

    #[test]
    fn cut_back_drops_uncommitted_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = AppendFile::create_new(&path, true).unwrap();
        let mut scratch = AlignedBuf::new();
        f.append(&frames(&[5000], 1), &mut scratch).unwrap();
        f.write_out(&mut scratch).unwrap();
        f.append(&frames(&[9000], 2), &mut scratch).unwrap();
        f.cut_back(5000).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), concat(&[frames(&[5000], 1)]));
    }

    #[test]
    fn a_file_refused_direct_mid_way_goes_on_buffered_with_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = AppendFile::create_new(&path, true).unwrap();
        let mut scratch = AlignedBuf::new();
        let first = frames(&[BLOCK + 300], 1);
        f.append(&first, &mut scratch).unwrap();
        f.write_out(&mut scratch).unwrap();
        // Staged, not yet written, when the filesystem refuses.
        let second = frames(&[40, 2000], 2);
        f.append(&second, &mut scratch).unwrap();
        f.fall_back_to_buffered(&io::Error::from_raw_os_error(libc::EINVAL)).unwrap();
        assert!(!f.is_direct());
        let third = frames(&[777, 5], 3);
        f.append(&third, &mut scratch).unwrap();
        f.sync_data().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), concat(&[first, second, third]));
    }
}
