//! Claude Code compression: the agent's own `/compact` run headless, and the model-free trim
//! fork (old bulky tool results elided, old thinking dropped, every tool_use kept paired).

use super::claude::ClaudeStore;
use super::{SessionFile, SessionStore, TrimOptions};
use crate::error::{Result, SidecarError};
use crate::protocol::ErrorCode;

pub fn compress_argv(exe: &str, id: &str) -> Result<Vec<String>> {
    let _ = (exe, id);
    Err(SidecarError::new(
        ErrorCode::NotSupported,
        "compress is not implemented yet",
    ))
}

pub fn trim(
    store: &ClaudeStore,
    file: &SessionFile,
    opts: &TrimOptions,
) -> Result<(SessionFile, u64, u64)> {
    let _ = (file, opts);
    Err(store.unsupported("compress (trim strategy)"))
}
