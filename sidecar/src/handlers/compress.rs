//! `sessions/compress`: the agent's own compaction run headless, or a model-free trim fork.

use super::RequestControl;
use crate::error::Result;
use crate::protocol::{CompressParams, CompressResult};
use crate::Sidecar;

pub fn compress(sc: &Sidecar, p: CompressParams, ctl: &RequestControl) -> Result<CompressResult> {
    let _ = ctl;
    let (store, _entry) = sc.resolve(&p.session)?;
    Err(store.unsupported("compress"))
}
