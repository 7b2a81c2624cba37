//! Writing files the safe way: temp file in the same directory, fsync, rename; 0600 files,
//! 0700 folders. Originals are never rewritten in place.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Prefix of every temp file the sidecar creates (cleaned at the next start).
pub const TEMP_PREFIX: &str = ".session-sidecar-tmp-";

pub fn create_dir_private(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// A temp file next to `target`, created 0600 with O_EXCL.
pub fn temp_beside(target: &Path) -> io::Result<(PathBuf, File)> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for _ in 0..16 {
        let tmp = dir.join(format!(
            "{TEMP_PREFIX}{}-{name}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => {
                // Held until the file is committed: `clean_temp_files` of another sidecar
                // process skips temp files that are still being written.
                lock(&f, false);
                return Ok((tmp, f));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("could not create a unique temp file"))
}

/// Finish a temp file: fsync it, move it onto `target` (refusing to replace an existing file
/// when `no_clobber`), fsync the directory. On error the temp file is removed.
/// A request the client cancelled (`$/cancelRequest`) commits nothing: the temp file is removed
/// and the error is `Interrupted`.
pub fn commit_temp(tmp: &Path, mut file: File, target: &Path, no_clobber: bool) -> io::Result<()> {
    let result = (|| {
        file.flush()?;
        file.sync_all()?;
        if crate::handlers::current_cancelled() {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the request was cancelled",
            ));
        }
        // The file stays open (and locked) until its temp name is gone.
        if no_clobber {
            // link(2) fails with EEXIST instead of replacing; then drop the temp name.
            fs::hard_link(tmp, target)?;
            fs::remove_file(tmp)?;
        } else {
            fs::rename(tmp, target)?;
        }
        drop(file);
        if let Some(dir) = target.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// Write `bytes` to `target` atomically (replacing it).
pub fn write_atomic(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let (tmp, mut f) = temp_beside(target)?;
    if let Err(e) = f.write_all(bytes) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    commit_temp(&tmp, f, target, false)
}

/// Append one whole line with a single write(2) to an existing file (never creates it).
pub fn append_line(target: &Path, line: &[u8]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line);
    buf.push(b'\n');
    let f = OpenOptions::new().append(true).open(target)?;
    let len = f.metadata()?.len();
    append_whole(&f, &buf, len)?;
    f.sync_data()
}

/// Append `buf` to `f` (opened with O_APPEND, `len_before` bytes long a moment ago): all of
/// it or nothing. The blocks are reserved first (`fallocate`, keeping the size), so a full
/// disk or a file-size limit fails before anything is written; where that is not supported
/// and a write still stops part-way, the partial bytes are cut off again, provided nobody else
/// appended meanwhile (the file is exactly `len_before` + what was written).
pub fn append_whole(f: &File, buf: &[u8], len_before: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = f.as_raw_fd();
    // SAFETY: fallocate on a descriptor this File owns; KEEP_SIZE changes no visible byte.
    let r = unsafe {
        libc::fallocate(
            fd,
            libc::FALLOC_FL_KEEP_SIZE,
            len_before as libc::off_t,
            buf.len() as libc::off_t,
        )
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EFBIG) | Some(libc::EDQUOT) => return Err(e),
            // Not supported here (or some other reason): rely on the rollback below.
            _ => {}
        }
    }
    let mut written = 0usize;
    while written < buf.len() {
        // SAFETY: writing from a live slice to a descriptor this File owns.
        let n = unsafe {
            libc::write(
                fd,
                buf[written..].as_ptr() as *const libc::c_void,
                buf.len() - written,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if written > 0
                && f.metadata().map(|m| m.len()).ok() == Some(len_before + written as u64)
            {
                let _ = f.set_len(len_before);
            }
            return Err(e);
        }
        written += n as usize;
    }
    Ok(())
}

/// `flock` the file (exclusive); `nonblocking`: fail instead of waiting. Advisory only.
fn lock(f: &File, nonblocking: bool) -> bool {
    use std::os::fd::AsRawFd;
    let op = libc::LOCK_EX | if nonblocking { libc::LOCK_NB } else { 0 };
    // SAFETY: flock on a descriptor this File owns.
    unsafe { libc::flock(f.as_raw_fd(), op) == 0 }
}

/// Remove temp files a killed sidecar left in `dir` (not recursive). A temp file another live
/// process is still writing (it holds its lock) is left alone.
pub fn clean_temp_files(dir: &Path) -> usize {
    let mut n = 0;
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if !e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                continue;
            }
            if !e.file_type().map(|t| t.is_file()).unwrap_or(false) {
                continue;
            }
            let Ok(f) = File::open(e.path()) else {
                continue;
            };
            if lock(&f, true) && fs::remove_file(e.path()).is_ok() {
                n += 1;
            }
        }
    }
    n
}
