//! `sessions/info`: one session's summary, read whole (exact counts).

use crate::error::Result;
use crate::protocol::{SessionParams, SessionSummary};
use crate::Sidecar;

pub fn info(sc: &Sidecar, p: SessionParams) -> Result<SessionSummary> {
    let (_, entry) = sc.resolve(&p.session)?;
    let entry = if entry.state.partial || std::fs::metadata(&entry.file.path).is_err() {
        sc.refresh_file(&entry.file)?
    } else {
        entry
    };
    Ok(entry.summary())
}
