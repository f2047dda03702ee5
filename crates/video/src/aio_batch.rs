//! Many direct writes, to many files, in one system call (Linux AIO).
//!
//! Why: on a VM every request the block layer dispatches on its own is a
//! notification of the virtual device, an exit to the host, and that exit
//! was the largest single cost of recording (about a sixth of the process's
//! CPU, one per file per commit; bench/results/recording-50.txt). Writes
//! submitted together with `io_submit` go out under one block plug: the
//! device is told once about all of them.
//!
//! Why not a crate: no well-kept crate wraps Linux AIO, and what is needed
//! here is three system calls and two `#[repr(C)]` structs; io_uring would
//! do as well but wants a ring and a dependency for the same three steps.
//!
//! The buffers must stay untouched until the kernel is done with them:
//! [`Aio::write_all`] returns only once every write it submitted has
//! completed (or the context is torn down, which waits for them).

// Linux AIO is three raw system calls: the module is the unsafe boundary.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

/// Writes in flight at most per context (and per call).
pub const MAX_WRITES: usize = 128;

const IOCB_CMD_PWRITE: u16 = 1;

/// `struct iocb` of <linux/aio_abi.h> (little-endian layout: `aio_key`
/// before `aio_rw_flags`).
#[repr(C)]
#[derive(Default)]
struct Iocb {
    aio_data: u64,
    aio_key: u32,
    aio_rw_flags: i32,
    aio_lio_opcode: u16,
    aio_reqprio: i16,
    aio_fildes: u32,
    aio_buf: u64,
    aio_nbytes: u64,
    aio_offset: i64,
    aio_reserved2: u64,
    aio_flags: u32,
    aio_resfd: u32,
}

/// `struct io_event`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct IoEvent {
    data: u64,
    obj: u64,
    res: i64,
    res2: i64,
}

const _: () = assert!(std::mem::size_of::<Iocb>() == 64 && std::mem::size_of::<IoEvent>() == 32);
const _: () = assert!(cfg!(target_endian = "little"), "Iocb's field order is the little-endian one");

/// One write: `buf` at `offset` of `file`.
pub struct Write<'a> {
    pub file: &'a File,
    pub buf: &'a [u8],
    pub offset: u64,
}

/// An AIO context, one per writer thread.
pub struct Aio {
    ctx: u64,
}

impl Aio {
    /// `None` where the kernel offers no AIO (or no room for another
    /// context: `fs.aio-max-nr`); writes are then made one by one.
    pub fn new() -> Option<Aio> {
        let mut ctx: u64 = 0;
        // SAFETY: io_setup writes the new context's id into `ctx`, which outlives the call.
        let r = unsafe { libc::syscall(libc::SYS_io_setup, MAX_WRITES as libc::c_long, &mut ctx as *mut u64) };
        if r != 0 {
            tracing::info!("Linux AIO unavailable ({}); sample files are written one request at a time", io::Error::last_os_error());
            return None;
        }
        Some(Aio { ctx })
    }

    /// Makes every write, all submitted before any is waited for; one
    /// result per write, in order. A write the kernel completes short is
    /// finished with `pwrite`.
    pub fn write_all(&mut self, writes: &[Write<'_>]) -> Vec<io::Result<()>> {
        assert!(writes.len() <= MAX_WRITES, "at most {MAX_WRITES} writes per call");
        let mut results: Vec<Option<io::Result<()>>> = writes.iter().map(|_| None).collect();
        let mut iocbs: Vec<Iocb> = writes
            .iter()
            .enumerate()
            .map(|(i, w)| Iocb {
                aio_data: i as u64,
                aio_lio_opcode: IOCB_CMD_PWRITE,
                aio_fildes: w.file.as_raw_fd() as u32,
                aio_buf: w.buf.as_ptr() as u64,
                aio_nbytes: w.buf.len() as u64,
                aio_offset: w.offset as i64,
                ..Iocb::default()
            })
            .collect();
        let mut pointers: Vec<*mut Iocb> = iocbs.iter_mut().map(|c| c as *mut Iocb).collect();

        let mut submitted = 0;
        while submitted < writes.len() {
            let rest = &mut pointers[submitted..];
            // SAFETY: every iocb and the buffer it names outlive the call and the
            // waits below: this function returns only when none is in flight.
            let n = unsafe { libc::syscall(libc::SYS_io_submit, self.ctx, rest.len() as libc::c_long, rest.as_mut_ptr()) };
            if n > 0 {
                submitted += n as usize;
                continue;
            }
            let e = io::Error::last_os_error();
            if n < 0 && e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // Refused (out of kernel resources, or a request it will not
            // take): the rest go one by one, each with its own result.
            tracing::debug!("io_submit: {e}; writing {} requests one by one", rest.len());
            break;
        }

        let mut waiting = submitted;
        let mut events = vec![IoEvent::default(); submitted];
        while waiting > 0 {
            // SAFETY: `events` has room for `waiting` events; no timeout.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_io_getevents,
                    self.ctx,
                    waiting as libc::c_long,
                    waiting as libc::c_long,
                    events.as_mut_ptr(),
                    std::ptr::null_mut::<libc::timespec>(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Should not happen; tearing the context down waits for what is
                // in flight, so no buffer is released under the kernel.
                tracing::error!("io_getevents: {e}; starting a new AIO context");
                self.reset();
                for r in results[..submitted].iter_mut().filter(|r| r.is_none()) {
                    *r = Some(Err(io::Error::other(format!("waiting for a direct write: {e}"))));
                }
                break;
            }
            for ev in &events[..n as usize] {
                let i = ev.data as usize;
                results[i] = Some(finish(&writes[i], ev.res));
            }
            waiting -= n as usize;
        }
        for (i, w) in writes.iter().enumerate().skip(submitted) {
            results[i] = Some(w.file.write_all_at(w.buf, w.offset));
        }
        results.into_iter().map(|r| r.expect("every write has a result")).collect()
    }

    fn reset(&mut self) {
        // SAFETY: io_destroy waits for the context's outstanding requests.
        unsafe { libc::syscall(libc::SYS_io_destroy, self.ctx) };
        self.ctx = 0;
        let mut ctx: u64 = 0;
        // SAFETY: as in `new`.
        if unsafe { libc::syscall(libc::SYS_io_setup, MAX_WRITES as libc::c_long, &mut ctx as *mut u64) } == 0 {
            self.ctx = ctx;
        }
    }
}

/// A completed write's result: an error, or the rest of a short write.
fn finish(w: &Write<'_>, res: i64) -> io::Result<()> {
    if res < 0 {
        return Err(io::Error::from_raw_os_error(-res as i32));
    }
    let done = res as usize;
    if done >= w.buf.len() {
        return Ok(());
    }
    w.file.write_all_at(&w.buf[done..], w.offset + done as u64)
}

impl Drop for Aio {
    fn drop(&mut self) {
        if self.ctx != 0 {
            // SAFETY: no request is in flight between calls of `write_all`.
            unsafe { libc::syscall(libc::SYS_io_destroy, self.ctx) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt;

    #[test]
    fn writes_to_many_files_land_each_at_its_offset() {
        let Some(mut aio) = Aio::new() else {
            panic!("Linux AIO is available on the build and CI machines");
        };
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<File> =
            (0..5).map(|i| std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(dir.path().join(format!("f{i}"))).unwrap()).collect();
        let bufs: Vec<Vec<u8>> = (0..5).map(|i| (0..1000 + i * 777).map(|j| (j * 7 + i) as u8).collect()).collect();
        let writes: Vec<Write<'_>> = files.iter().zip(&bufs).enumerate().map(|(i, (file, buf))| Write { file, buf, offset: 100 * i as u64 }).collect();
        let results = aio.write_all(&writes);
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
        for (i, buf) in bufs.iter().enumerate() {
            let on_disk = std::fs::read(dir.path().join(format!("f{i}"))).unwrap();
            assert_eq!(on_disk.len(), 100 * i + buf.len());
            assert_eq!(&on_disk[100 * i..], &buf[..], "file {i}");
        }
        // The context is reusable.
        let again = aio.write_all(&[Write { file: &files[0], buf: b"xyz", offset: 0 }]);
        assert!(again[0].is_ok());
        assert_eq!(&std::fs::read(dir.path().join("f0")).unwrap()[..3], b"xyz");
    }

    #[test]
    fn a_failed_write_is_reported_for_its_file_only() {
        let mut aio = Aio::new().expect("Linux AIO");
        let dir = tempfile::tempdir().unwrap();
        let good = std::fs::OpenOptions::new().write(true).create_new(true).open(dir.path().join("good")).unwrap();
        // Direct, but the buffer is not block-aligned in length: EINVAL.
        let direct = std::fs::OpenOptions::new().write(true).create_new(true).custom_flags(libc::O_DIRECT).open(dir.path().join("direct")).unwrap();
        let results = aio.write_all(&[Write { file: &good, buf: b"hello", offset: 0 }, Write { file: &direct, buf: b"odd length", offset: 0 }]);
        assert!(results[0].is_ok());
        assert_eq!(results[1].as_ref().unwrap_err().raw_os_error(), Some(libc::EINVAL), "{:?}", results[1]);
        assert_eq!(std::fs::read(dir.path().join("good")).unwrap(), b"hello");
    }
}
