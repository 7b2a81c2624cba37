//! `sessions/context` and the `sessions/contextUsage` pushes.

use crate::store::SessionFile;
use crate::Sidecar;

/// A session file was written: push its context usage if it is the active session.
pub fn on_session_written(sc: &Sidecar, file: &SessionFile) {
    let _ = (sc, file);
}
