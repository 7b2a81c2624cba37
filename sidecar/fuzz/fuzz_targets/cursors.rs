//! Cursor and session-reference decoding: history cursors (`Cursor::decode`), list cursors,
//! session references and ids. No panic; a cursor that decodes re-encodes to one that decodes
//! to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use session_sidecar::cursor::Cursor;
use session_sidecar::protocol::{ErrorCode, SessionRef};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    match Cursor::decode(&s) {
        Ok(c) => assert_eq!(Cursor::decode(&c.encode()).unwrap(), c),
        Err(e) => assert_eq!(e.code, ErrorCode::InvalidCursor),
    }
    if let Err(e) = session_sidecar::handlers::list::decode_cursor(&s) {
        assert_eq!(e.code, ErrorCode::InvalidCursor);
    }
    // A cursor the sidecar issues (any file identity, a message id as the agents write them:
    // up to 64 printable ASCII characters) decodes to itself.
    if data.len() >= 24 {
        let n = |i: usize| u64::from_le_bytes(data[i..i + 8].try_into().unwrap());
        let id: String = data[24..]
            .iter()
            .take(64)
            .map(|b| (b' ' + b % 95) as char)
            .collect();
        let c = Cursor {
            v: 1,
            dev: n(0),
            ino: n(8),
            off: n(16),
            sub: (data[0] & 1 == 1).then(|| id.chars().rev().collect()),
            id,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
    }
    match session_sidecar::ids::parse_ref(&SessionRef::Text(s.to_string())) {
        Ok(q) => {
            // Nothing that could leave a store folder gets through.
            assert!(q.id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
            assert!(q.id.len() >= 8 && q.id.len() <= 64);
        }
        Err(e) => assert_eq!(e.code, ErrorCode::InvalidSessionId),
    }
    let _ = session_sidecar::ids::is_uuid(&s);
});
