//! `sessions/subscribe` / `sessions/unsubscribe` and the `sessions/appended` pushes.

use crate::error::Result;
use crate::protocol::{Empty, SubscribeParams, SubscribeResult, UnsubscribeParams};
use crate::store::SessionFile;
use crate::Sidecar;

pub fn subscribe(sc: &Sidecar, p: SubscribeParams) -> Result<SubscribeResult> {
    let (store, _entry) = sc.resolve(&p.session)?;
    Err(store.unsupported("subscribe"))
}

pub fn unsubscribe(sc: &Sidecar, p: UnsubscribeParams) -> Result<Empty> {
    sc.subscriptions.remove(&p.subscription);
    Ok(Empty {})
}

/// Push what was appended to `file` to every subscription on it.
pub fn push_appended(sc: &Sidecar, file: &SessionFile) {
    let _ = (sc, file);
}
