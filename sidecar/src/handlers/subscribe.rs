//! `sessions/subscribe` / `sessions/unsubscribe` and the `sessions/appended` pushes.

use crate::store::SessionFile;
use crate::Sidecar;

/// Push what was appended to `file` to every subscription on it.
pub fn push_appended(sc: &Sidecar, file: &SessionFile) {
    let _ = (sc, file);
}
