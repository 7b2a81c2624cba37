//! Opaque history cursors. A cursor names one message by its id and the offset of its line,
//! and carries the file's identity so a cursor from a rewritten file is refused, not misread.

use crate::error::{Result, SidecarError};
use crate::protocol::ErrorCode;
use base64::Engine;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Format version.
    pub v: u8,
    /// Device and inode of the file the cursor was issued for.
    pub dev: u64,
    pub ino: u64,
    /// Offset of the line of the message the cursor points at.
    pub off: u64,
    /// The message id at that offset.
    pub id: String,
    /// Which transcript: the session itself (None) or a subagent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

const MAX_CURSOR_LEN: usize = 1024;
const MAX_ID_LEN: usize = 256;
/// Message ids up to this length go into a cursor as they are (real ids are 36-character UUIDs).
const MAX_PLAIN_ID: usize = 100;

/// How a cursor names a message id: the id itself, or for an id longer than `MAX_PLAIN_ID` (a
/// hand-made or damaged record can carry any string) `#<length>-<FNV-1a 64 hex>` of it, so every
/// cursor the sidecar issues stays within the limits `Cursor::decode` enforces. A reader
/// compares `cursor_id(id of the line)` with what the cursor holds.
pub fn cursor_id(id: &str) -> std::borrow::Cow<'_, str> {
    if id.len() <= MAX_PLAIN_ID {
        return std::borrow::Cow::Borrowed(id);
    }
    let h = crate::transcript::fnv1a64(id.as_bytes());
    std::borrow::Cow::Owned(format!("#{}-{h:016x}", id.len()))
}

impl Cursor {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("cursor serializes");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(s: &str) -> Result<Cursor> {
        let bad = || {
            SidecarError::new(
                ErrorCode::InvalidCursor,
                "invalid history cursor: not one this sidecar issued",
            )
        };
        if s.is_empty() || s.len() > MAX_CURSOR_LEN {
            return Err(bad());
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if c.v != 1 || c.id.len() > MAX_ID_LEN {
            return Err(bad());
        }
        Ok(c)
    }

    /// Check the cursor was issued for this very file.
    pub fn check_file(&self, meta: &std::fs::Metadata) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        if meta.dev() != self.dev || meta.ino() != self.ino || meta.len() <= self.off {
            return Err(SidecarError::new(
                ErrorCode::StaleCursor,
                "history cursor is stale: the session file was rewritten or truncated since it was issued; fetch the latest page again",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let c = Cursor {
            v: 1,
            dev: 1,
            ino: 2,
            off: 3,
            id: "x".into(),
            sub: None,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in ["", "!!!", "eyJ2Ijo5fQ", &"A".repeat(5000)] {
            assert_eq!(
                Cursor::decode(bad).unwrap_err().code,
                ErrorCode::InvalidCursor
            );
        }
    }

    #[test]
    fn long_message_ids_go_into_cursors_as_a_digest() {
        let uuid = "59e7b833-aace-4821-88a8-f970caa6c194";
        assert_eq!(cursor_id(uuid), uuid);
        let long = "u".repeat(5000);
        let d = cursor_id(&long);
        assert!(d.starts_with("#5000-") && d.len() <= MAX_PLAIN_ID, "{d}");
        assert_ne!(d, cursor_id(&"v".repeat(5000)));
        let c = Cursor {
            v: 1,
            dev: u64::MAX,
            ino: u64::MAX,
            off: u64::MAX,
            id: format!("{d}|{}:{d}", u64::MAX),
            sub: Some(format!("agent-{}", "a".repeat(200))),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
    }
}
