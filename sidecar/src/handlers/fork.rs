//! `sessions/fork`: a new session file in the agent's own format; the source is untouched.

use crate::error::Result;
use crate::protocol::{ForkParams, SessionResult};
use crate::Sidecar;

pub fn fork(sc: &Sidecar, p: ForkParams) -> Result<SessionResult> {
    let (store, _entry) = sc.resolve(&p.session)?;
    Err(store.unsupported("fork"))
}
