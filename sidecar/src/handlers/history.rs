//! `sessions/history`, `sessions/message`, `sessions/subagents`.

use crate::error::Result;
use crate::protocol::{
    HistoryItem, HistoryPage, HistoryParams, MessageParams, SessionParams, SubagentsResult,
};
use crate::Sidecar;

pub fn history(sc: &Sidecar, p: HistoryParams) -> Result<HistoryPage> {
    let (store, _entry) = sc.resolve(&p.session)?;
    Err(store.unsupported("history"))
}

pub fn message(sc: &Sidecar, p: MessageParams) -> Result<HistoryItem> {
    let (store, _entry) = sc.resolve(&p.session)?;
    Err(store.unsupported("message"))
}

pub fn subagents(sc: &Sidecar, p: SessionParams) -> Result<SubagentsResult> {
    let (store, entry) = sc.resolve(&p.session)?;
    Ok(SubagentsResult {
        items: store.subagents(&entry.file)?,
    })
}
