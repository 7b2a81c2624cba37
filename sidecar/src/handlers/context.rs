//! `sessions/context` and the `sessions/contextUsage` pushes.

use crate::error::Result;
use crate::protocol::{ContextStatus, SessionParams};
use crate::store::SessionFile;
use crate::Sidecar;

pub fn context(sc: &Sidecar, p: SessionParams) -> Result<ContextStatus> {
    let (store, _entry) = sc.resolve(&p.session)?;
    Err(store.unsupported("context"))
}

/// A session file was written: push its context usage if it is the active session.
pub fn on_session_written(sc: &Sidecar, file: &SessionFile) {
    let _ = (sc, file);
}
