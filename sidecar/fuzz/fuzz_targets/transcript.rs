//! The transcript line readers on a real file made from the input: torn lines, CRLF, NUL,
//! invalid UTF-8, and (amplified) lines of megabytes. Forward (`for_each_line`), backward
//! (`for_each_line_rev`, with small chunks so the carry logic is exercised), the in-memory
//! splitter (`lines_in`) and the head/tail reader must agree with a plain model of the file.
//!
//! Input: byte 0 = chunk size for the backward reader, byte 1 = line bound, byte 2 = window;
//! then segments: `0xFF n b` repeats byte `b` (not a newline) `n * 16 KiB` times (up to 11 MiB in all:
//! three segments in a row make a 10 MB line), any other byte is itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use session_sidecar::transcript::{
    for_each_line_rev_with, for_each_line_with, lines_in, read_head_tail,
};

const AMP: usize = 16 * 1024;
const MAX_FILE: usize = 11 * 1024 * 1024;

fn expand(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        if data[i] == 0xFF && i + 2 < data.len() {
            let n = data[i + 1] as usize * AMP;
            let n = n.min(MAX_FILE.saturating_sub(out.len()));
            // Long lines, not millions of empty ones (those are slow, not interesting).
            let b = if data[i + 2] == b'\n' {
                b'x'
            } else {
                data[i + 2]
            };
            out.resize(out.len() + n, b);
            i += 3;
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// The model: complete lines (offset, bytes without `\n` and one trailing `\r`), non-empty,
/// at most `max` bytes long before the `\r` is stripped.
fn model(file: &[u8], from: usize, max: usize) -> (Vec<(u64, Vec<u8>)>, usize) {
    let mut v = Vec::new();
    let mut start = from;
    let mut end = from;
    while let Some(i) = memchr_nl(&file[start..]) {
        let line = &file[start..start + i];
        if line.len() <= max {
            let l = line.strip_suffix(b"\r").unwrap_or(line);
            if !l.is_empty() {
                v.push((start as u64, l.to_vec()));
            }
        }
        start += i + 1;
        end = start;
    }
    (v, end)
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', b)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let chunk_param = 1 + data[0] as u64 * 97;
    let max = match data[1] {
        0..=15 => data[1] as usize,
        16..=127 => data[1] as usize * 131,
        _ => session_sidecar::transcript::MAX_LINE_BYTES,
    };
    let window = 1 + data[2] as u64 * 61;
    let bytes = expand(&data[3..]);
    // Small chunks exercise the carry logic; at most 4096 reads per pass keep big files fast.
    let chunk = chunk_param.max(bytes.len() as u64 / 4096);

    let path = session_sidecar_fuzz::scratch_file("t.jsonl", &bytes);
    let mut f = std::fs::File::open(&path).unwrap();

    let (want, want_end) = model(&bytes, 0, max);
    let mut fwd = Vec::new();
    let end = for_each_line_with(&mut f, 0, max, |o, l| {
        if !l.is_empty() {
            fwd.push((o, l.to_vec()));
        }
        true
    })
    .unwrap();
    assert_eq!(end as usize, want_end, "forward end");
    assert_eq!(fwd, want, "forward lines");

    // From an arbitrary offset: the lines starting there (the first may be a fragment).
    let from = (data[0] as usize * 7919) % (bytes.len() + 1);
    let (want_from, _) = model(&bytes, from, max);
    let mut got_from = Vec::new();
    for_each_line_with(&mut f, from as u64, max, |o, l| {
        if !l.is_empty() {
            got_from.push((o, l.to_vec()));
        }
        true
    })
    .unwrap();
    assert_eq!(got_from, want_from, "forward from {from}");

    let mut rev = Vec::new();
    for_each_line_rev_with(&mut f, end, chunk, max, |o, l| {
        rev.push((o, l.to_vec()));
        true
    })
    .unwrap();
    rev.reverse();
    assert_eq!(rev, want, "backward lines (chunk {chunk})");

    // Stopping early stops.
    let mut n = 0;
    for_each_line_rev_with(&mut f, end, chunk, max, |_, _| {
        n += 1;
        n < 2
    })
    .unwrap();
    assert!(n <= 2);

    // In memory: complete non-empty lines, no bound.
    let (all, _) = model(&bytes, 0, usize::MAX);
    let mem: Vec<Vec<u8>> = lines_in(&bytes, false).map(|l| l.to_vec()).collect();
    assert_eq!(
        mem,
        all.iter().map(|(_, l)| l.clone()).collect::<Vec<_>>(),
        "lines_in"
    );
    let skipped: Vec<Vec<u8>> = lines_in(&bytes[from..], true).map(|l| l.to_vec()).collect();
    let after_first = match memchr_nl(&bytes[from..]) {
        Some(i) => model(&bytes, from + i + 1, usize::MAX).0,
        None => Vec::new(),
    };
    assert_eq!(
        skipped,
        after_first
            .iter()
            .map(|(_, l)| l.clone())
            .collect::<Vec<_>>(),
        "lines_in skipping the first"
    );

    // Head and tail windows, also when the size passed is stale (the file shrank or grew).
    let size = bytes.len() as u64;
    let ht = read_head_tail(&mut f, size, window).unwrap();
    let head_len = (window.min(size)) as usize;
    assert_eq!(ht.head, &bytes[..head_len]);
    let head_end = memchr::memrchr(b'\n', &ht.head).map_or(0, |i| i + 1);
    assert_eq!(ht.head_end, head_end as u64);
    if size > window {
        let start = (size - window).max(head_end as u64) as usize;
        assert_eq!(ht.tail, &bytes[start..]);
    } else {
        assert!(ht.tail.is_empty());
    }
    for stale in [size / 2, size + 1000] {
        let _ = read_head_tail(&mut f, stale, window);
        let _ = session_sidecar::transcript::fingerprint(&mut f, stale);
        let _ = for_each_line_rev_with(&mut f, stale, chunk, max, |_, _| true);
    }
});
