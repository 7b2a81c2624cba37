//! Claude Code writing: resume argv, fork (SDK semantics + compactMetadata remapping), rename
//! and tag records. Every file: temp + fsync + rename, 0600.

use super::claude::ClaudeStore;
use super::{ForkRequest, SessionFile, SessionStore};
use crate::error::{Result, SidecarError};
use crate::protocol::{ErrorCode, ResumeParams};

pub fn resume_argv(exe: &str, id: &str, params: &ResumeParams) -> Result<Vec<String>> {
    let _ = (exe, id, params);
    Err(SidecarError::new(
        ErrorCode::NotSupported,
        "resume is not implemented yet",
    ))
}

pub fn fork(store: &ClaudeStore, file: &SessionFile, req: &ForkRequest) -> Result<SessionFile> {
    let _ = (file, req);
    Err(store.unsupported("fork"))
}

pub fn rename(store: &ClaudeStore, file: &SessionFile, title: &str) -> Result<()> {
    let _ = (file, title);
    Err(store.unsupported("rename"))
}

pub fn tag(store: &ClaudeStore, file: &SessionFile, tag: Option<&str>) -> Result<()> {
    let _ = (file, tag);
    Err(store.unsupported("tag"))
}
