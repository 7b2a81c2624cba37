//! `sessions/resume` and `sessions/continue`: the argv to continue a session in its own agent.

use crate::error::Result;
use crate::protocol::{ContinueParams, ContinueResult, LaunchCommand, ResumeParams};
use crate::Sidecar;

pub fn resume(sc: &Sidecar, p: ResumeParams) -> Result<LaunchCommand> {
    let (store, _entry) = sc.resolve(&p.session)?;
    Err(store.unsupported("resume"))
}

pub fn continue_latest(sc: &Sidecar, p: ContinueParams) -> Result<ContinueResult> {
    let _ = (sc, p);
    Err(crate::error::SidecarError::new(
        crate::protocol::ErrorCode::NotSupported,
        "continue is not implemented yet",
    ))
}
