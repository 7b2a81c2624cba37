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
        if c.v != 1 || c.id.len() > 256 {
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
}
