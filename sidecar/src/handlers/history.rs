//! `sessions/history`, `sessions/message`, `sessions/subagents`.

use crate::cursor::Cursor;
use crate::error::{Result, SidecarError};
use crate::protocol::{
    HistoryItem, HistoryPage, HistoryParams, MessageParams, SessionParams, SubagentsResult,
};
use crate::store::HistoryRequest;
use crate::Sidecar;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// Checks the page parameters (before the session is looked up: cheap errors first).
pub fn request(sc: &Sidecar, p: &HistoryParams) -> Result<HistoryRequest> {
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(SidecarError::invalid_params(format!(
            "limit must be between 1 and {MAX_LIMIT} (got {limit})"
        )));
    }
    if p.before.is_some() && p.after.is_some() {
        return Err(SidecarError::invalid_params(
            "give at most one of before and after",
        ));
    }
    if let Some(s) = &p.subagent {
        if s.is_empty() || s.len() > 128 || s.contains(['/', '\\', '\0']) || s.contains("..") {
            return Err(SidecarError::invalid_params(format!(
                "invalid subagent id {s:?}"
            )));
        }
    }
    Ok(HistoryRequest {
        limit: limit as usize,
        before: p.before.as_deref().map(Cursor::decode).transpose()?,
        after: p.after.as_deref().map(Cursor::decode).transpose()?,
        truncate_bytes: sc.config.truncate_bytes,
        subagent: p.subagent.clone(),
    })
}

pub fn history(sc: &Sidecar, p: HistoryParams) -> Result<HistoryPage> {
    let req = request(sc, &p)?;
    let (store, entry) = sc.resolve(&p.session)?;
    store.history(&entry.file, &req)
}

pub fn message(sc: &Sidecar, p: MessageParams) -> Result<HistoryItem> {
    let (store, entry) = sc.resolve(&p.session)?;
    store.message(&entry.file, &p.id, p.subagent.as_deref())
}

pub fn subagents(sc: &Sidecar, p: SessionParams) -> Result<SubagentsResult> {
    let (store, entry) = sc.resolve(&p.session)?;
    Ok(SubagentsResult {
        items: store.subagents(&entry.file)?,
    })
}
