//! Claude Code history: pages of the conversation chain as the CLI resumes it, read backwards
//! from the end (O(page)), plus live appends and subagent transcripts.

use super::claude::ClaudeStore;
use super::{Appended, HistoryRequest, SessionFile, SessionStore};
use crate::cursor::Cursor;
use crate::error::Result;
use crate::protocol::{HistoryItem, HistoryPage, SubagentSummary};

pub fn history(
    store: &ClaudeStore,
    file: &SessionFile,
    req: &HistoryRequest,
) -> Result<HistoryPage> {
    let _ = (file, req);
    Err(store.unsupported("history"))
}

pub fn message(
    store: &ClaudeStore,
    file: &SessionFile,
    id: &str,
    subagent: Option<&str>,
) -> Result<HistoryItem> {
    let _ = (file, id, subagent);
    Err(store.unsupported("message"))
}

pub fn appended(
    store: &ClaudeStore,
    file: &SessionFile,
    offset: u64,
    truncate_bytes: usize,
) -> Result<Appended> {
    let _ = (file, offset, truncate_bytes);
    Err(store.unsupported("subscribe"))
}

pub fn subscription_start(
    store: &ClaudeStore,
    file: &SessionFile,
    after: Option<&Cursor>,
) -> Result<u64> {
    let _ = (file, after);
    Err(store.unsupported("subscribe"))
}

pub fn subagents(store: &ClaudeStore, file: &SessionFile) -> Result<Vec<SubagentSummary>> {
    let _ = file;
    Err(store.unsupported("subagents"))
}
