//! Claude Code writing: resume argv, fork (SDK semantics + compactMetadata remapping), rename
//! and tag records, trim-compression forks. Every file: temp + fsync + rename, 0600.

use super::claude::ClaudeStore;
use super::{ForkRequest, SessionFile, SessionStore, TrimOptions};
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
