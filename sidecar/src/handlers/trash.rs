//! `sessions/delete`, `sessions/restore`, `sessions/trash`: a delete moves the session into the
//! sidecar's trash; nothing is ever unlinked by a plain delete.

use crate::error::{Result, SidecarError};
use crate::protocol::{
    Empty, ErrorCode, SessionParams, SessionResult, TrashListResult, TrashResult,
};
use crate::Sidecar;

pub fn delete(sc: &Sidecar, p: SessionParams) -> Result<TrashResult> {
    let _ = sc.resolve(&p.session)?;
    Err(SidecarError::new(
        ErrorCode::NotSupported,
        "delete is not implemented yet",
    ))
}

pub fn restore(sc: &Sidecar, p: SessionParams) -> Result<SessionResult> {
    let _ = (sc, p);
    Err(SidecarError::new(
        ErrorCode::NotSupported,
        "restore is not implemented yet",
    ))
}

pub fn trash(sc: &Sidecar, _p: Empty) -> Result<TrashListResult> {
    let _ = sc;
    Ok(TrashListResult { items: Vec::new() })
}
