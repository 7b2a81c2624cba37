//! Reading JSONL transcripts: complete lines only (a torn last line — an agent mid-write —
//! is left for later), from an offset, head and tail windows, and backwards from the end.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Lines longer than this are skipped (never buffered whole).
pub const MAX_LINE_BYTES: usize = 256 * 1024 * 1024;
/// The head/tail window of a cold listing, as the official SDK reads it.
pub const LITE_WINDOW: u64 = 64 * 1024;

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileKey {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
}

impl FileKey {
    pub fn of(meta: &std::fs::Metadata) -> FileKey {
        FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
        }
    }
    pub fn mtime_ms(&self) -> i64 {
        (self.mtime_ns / 1_000_000) as i64
    }
}

/// Calls `f(offset, line)` for every complete (`\n`-terminated) line starting at `from`,
/// without the newline (a trailing `\r` is stripped too). Returns the offset just past the
/// last complete line: a torn last line is not consumed. Lines over `MAX_LINE_BYTES` are
/// skipped without being held in memory.
pub fn for_each_line<F>(file: &mut File, from: u64, f: F) -> io::Result<u64>
where
    F: FnMut(u64, &[u8]) -> bool,
{
    for_each_line_with(file, from, MAX_LINE_BYTES, f)
}

/// `for_each_line` with its own line bound: a line whose bytes (without the `\n`) exceed
/// `max_line` is skipped; at most `max_line` plus one read buffer is held.
pub fn for_each_line_with<F>(
    file: &mut File,
    from: u64,
    max_line: usize,
    mut f: F,
) -> io::Result<u64>
where
    F: FnMut(u64, &[u8]) -> bool,
{
    file.seek(SeekFrom::Start(from))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut pos = from;
    let mut buf: Vec<u8> = Vec::with_capacity(max_line.min(64 * 1024));
    loop {
        buf.clear();
        let (n, complete) = read_line_bounded(&mut reader, &mut buf, max_line)?;
        if n == 0 || !complete {
            return Ok(pos);
        }
        let start = pos;
        pos += n as u64;
        if n - 1 > max_line {
            continue;
        }
        let mut line: &[u8] = &buf;
        if let Some(stripped) = line.strip_suffix(b"\n") {
            line = stripped;
        }
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        if !f(start, line) {
            return Ok(pos);
        }
    }
}

/// Reads one line into `buf` (up to `max_line` bytes; past that, bytes are counted and dropped).
/// Returns (bytes consumed, whether the line ended with `\n`).
fn read_line_bounded<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max_line: usize,
) -> io::Result<(usize, bool)> {
    let mut total = 0usize;
    loop {
        let available = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((total, false));
        }
        let (used, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if buf.len() <= max_line {
            buf.extend_from_slice(&available[..used]);
        }
        r.consume(used);
        total += used;
        if done {
            return Ok((total, true));
        }
    }
}

/// The complete lines of `[from, to)` of an in-memory chunk starting at file offset `base`.
/// With `skip_first` the first (possibly partial) line is dropped.
pub fn lines_in(chunk: &[u8], skip_first: bool) -> impl Iterator<Item = &[u8]> {
    let mut rest = chunk;
    if skip_first {
        rest = match memchr::memchr(b'\n', rest) {
            Some(i) => &rest[i + 1..],
            None => &[],
        };
    }
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let i = memchr::memchr(b'\n', rest)?;
        let mut line = &rest[..i];
        rest = &rest[i + 1..];
        if let Some(s) = line.strip_suffix(b"\r") {
            line = s;
        }
        if !line.is_empty() {
            return Some(line);
        }
    })
}

/// Head and tail windows of a file (the tail is empty when the head covers the file).
pub struct HeadTail {
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
    /// Offset just past the last complete line of the head.
    pub head_end: u64,
}

pub fn read_head_tail(file: &mut File, size: u64, window: u64) -> io::Result<HeadTail> {
    file.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(window.min(size) as usize + 1);
    file.by_ref().take(window).read_to_end(&mut head)?;
    let head_end = match memchr::memrchr(b'\n', &head) {
        Some(i) => (i + 1) as u64,
        None => 0,
    };
    let mut tail = Vec::new();
    if size > window {
        let start = size.saturating_sub(window).max(head_end);
        tail.reserve_exact((size - start) as usize);
        file.seek(SeekFrom::Start(start))?;
        file.by_ref().take(window).read_to_end(&mut tail)?;
    }
    Ok(HeadTail {
        head,
        tail,
        head_end,
    })
}

/// Whether the file ends with `\n` (or is empty).
pub fn ends_with_newline(path: &Path) -> io::Result<bool> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    f.seek(SeekFrom::Start(len - 1))?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b)?;
    Ok(b[0] == b'\n')
}

/// A cheap fingerprint of the 64 bytes before `offset`, to notice a file rewritten in place.
pub fn fingerprint(file: &mut File, offset: u64) -> io::Result<u64> {
    let start = offset.saturating_sub(64);
    file.seek(SeekFrom::Start(start))?;
    let mut b = Vec::with_capacity(64);
    file.by_ref().take(offset - start).read_to_end(&mut b)?;
    Ok(fnv1a64(&b))
}

/// FNV-1a, 64 bit: a fast non-cryptographic hash (fingerprints, cache file names, cursor ids).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Reads complete lines backwards from `end`, in chunks, calling `f(offset, line)` from the
/// last line to the first, until `f` returns false or the start of the file. Memory is bounded
/// by the chunk size plus the longest line (`MAX_LINE_BYTES`; longer lines are skipped, as
/// `for_each_line` skips them). `end` should be the end of a complete line; bytes after the last
/// newline before it are read as a line.
pub fn for_each_line_rev<F>(file: &mut File, end: u64, f: F) -> io::Result<()>
where
    F: FnMut(u64, &[u8]) -> bool,
{
    for_each_line_rev_with(file, end, REV_CHUNK, MAX_LINE_BYTES, f)
}

/// The chunk `for_each_line_rev` reads at a time.
pub const REV_CHUNK: u64 = 256 * 1024;

/// `for_each_line_rev` with its own chunk size and line bound. Empty lines are not reported.
pub fn for_each_line_rev_with<F>(
    file: &mut File,
    end: u64,
    chunk_size: u64,
    max_line: usize,
    mut f: F,
) -> io::Result<()>
where
    F: FnMut(u64, &[u8]) -> bool,
{
    let chunk_size = chunk_size.max(1);
    // The end of the line that continues past the current chunk, as pieces in reverse file
    // order (assembled once its start is found: no quadratic copying of long lines).
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut carried = 0usize;
    // The carried line is longer than `max_line`: its bytes are dropped up to its start.
    let mut skipping = false;
    let mut first = true;
    let mut pos = end;
    let mut chunk = Vec::new();
    // Reports one line: `head` (in this chunk) followed by the carried pieces.
    let mut emit = |off: u64,
                    head: &[u8],
                    parts: &mut Vec<Vec<u8>>,
                    carried: &mut usize,
                    skipping: &mut bool|
     -> bool {
        let total = head.len() + *carried;
        let skip = std::mem::take(skipping) || total > max_line;
        let whole: Vec<u8>;
        let mut line: &[u8] = if parts.is_empty() {
            head
        } else {
            let mut v = Vec::with_capacity(if skip { 0 } else { total });
            if !skip {
                v.extend_from_slice(head);
                for p in parts.iter().rev() {
                    v.extend_from_slice(p);
                }
            }
            whole = v;
            &whole
        };
        parts.clear();
        *carried = 0;
        if skip {
            return true;
        }
        if let Some(s) = line.strip_suffix(b"\r") {
            line = s;
        }
        line.is_empty() || f(off, line)
    };
    while pos > 0 {
        let start = pos.saturating_sub(chunk_size);
        chunk.clear();
        chunk.resize((pos - start) as usize, 0);
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        let mut line_end = chunk.len();
        // The final newline of the region ends the last line; it starts none.
        if first {
            first = false;
            if chunk[line_end - 1] == b'\n' {
                line_end -= 1;
            }
        }
        loop {
            match memchr::memrchr(b'\n', &chunk[..line_end]) {
                Some(i) => {
                    let off = start + i as u64 + 1;
                    let head = &chunk[i + 1..line_end];
                    if !emit(off, head, &mut parts, &mut carried, &mut skipping) {
                        return Ok(());
                    }
                    line_end = i;
                }
                None => {
                    let head = &chunk[..line_end];
                    if start == 0 {
                        if !emit(0, head, &mut parts, &mut carried, &mut skipping) {
                            return Ok(());
                        }
                    } else if !skipping {
                        if carried + head.len() > max_line {
                            // Too long to hold: drop it, and the rest of it up to its start.
                            skipping = true;
                            parts.clear();
                            carried = 0;
                        } else if !head.is_empty() {
                            parts.push(head.to_vec());
                            carried += head.len();
                        }
                    }
                    break;
                }
            }
        }
        pos = start;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.jsonl");
        File::create(&p).unwrap().write_all(bytes).unwrap();
        (d, File::open(&p).unwrap())
    }

    #[test]
    fn torn_last_line_is_not_consumed() {
        let (_d, mut f) = file_with(b"{\"a\":1}\n{\"b\":2}\r\n{\"c\":");
        let mut seen = vec![];
        let end = for_each_line(&mut f, 0, |off, l| {
            seen.push((off, l.to_vec()));
            true
        })
        .unwrap();
        assert_eq!(end, 17);
        assert_eq!(
            seen,
            vec![(0, b"{\"a\":1}".to_vec()), (8, b"{\"b\":2}".to_vec())]
        );
    }

    #[test]
    fn reverse_matches_forward() {
        let mut data = Vec::new();
        for i in 0..5000 {
            data.extend_from_slice(
                format!("{{\"i\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 300)).as_bytes(),
            );
        }
        let (_d, mut f) = file_with(&data);
        let mut fwd = vec![];
        let end = for_each_line(&mut f, 0, |o, l| {
            fwd.push((o, l.to_vec()));
            true
        })
        .unwrap();
        let mut rev = vec![];
        for_each_line_rev(&mut f, end, |o, l| {
            rev.push((o, l.to_vec()));
            true
        })
        .unwrap();
        rev.reverse();
        assert_eq!(fwd, rev);
    }

    /// Forward and backward reads agree line for line (non-empty lines, the same offsets, the
    /// same over-long lines skipped), whatever the chunk size.
    #[test]
    fn reverse_matches_forward_with_long_lines_and_small_chunks() {
        let data = b"abc\n\r\n0123456789ABCDEF\nxy\r\n\n0123456789\nq\n0123456789A\ntorn";
        let (_d, mut f) = file_with(data);
        for max in [0usize, 1, 3, 10, 11, 16, 100] {
            let mut fwd = vec![];
            let end = for_each_line_with(&mut f, 0, max, |o, l| {
                if !l.is_empty() {
                    fwd.push((o, l.to_vec()));
                }
                true
            })
            .unwrap();
            assert_eq!(end, (data.len() - 4) as u64);
            for chunk in 1..=20 {
                let mut rev = vec![];
                for_each_line_rev_with(&mut f, end, chunk, max, |o, l| {
                    rev.push((o, l.to_vec()));
                    true
                })
                .unwrap();
                rev.reverse();
                assert_eq!(fwd, rev, "max {max} chunk {chunk}");
            }
        }
    }

    #[test]
    fn lines_in_skips_partial_first() {
        let v: Vec<_> = lines_in(b"tial\n{\"a\":1}\n{\"b\"", true).collect();
        assert_eq!(v, vec![b"{\"a\":1}".as_slice()]);
    }
}
