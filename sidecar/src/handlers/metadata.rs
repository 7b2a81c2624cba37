//! `sessions/rename` and `sessions/tag`: append the agent's own title/tag records.

use crate::error::Result;
use crate::protocol::{RenameParams, SessionResult, TagParams};
use crate::Sidecar;

pub fn rename(sc: &Sidecar, p: RenameParams) -> Result<SessionResult> {
    let (store, _entry) = sc.resolve(&p.session)?;
    Err(store.unsupported("rename"))
}

pub fn tag(sc: &Sidecar, p: TagParams) -> Result<SessionResult> {
    let (store, _entry) = sc.resolve(&p.session)?;
    Err(store.unsupported("tag"))
}
