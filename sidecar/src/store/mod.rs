//! Each agent's on-disk format behind one trait. A store knows where its sessions live,
//! which of them belong to a workspace, how to fold a line into a summary, how to page a
//! conversation, and how to write the files its own CLI resumes.

pub mod agent_util;
pub mod claude;
pub mod claude_history;
pub mod claude_trim;
pub mod claude_write;
pub mod codex;
pub mod codex_trim;
pub mod gemini;
pub mod gemini_fold;
pub mod gemini_trim;
pub mod qwen;
pub mod qwen_trim;
pub mod trim_rules;

use crate::error::{Result, SidecarError};
use crate::protocol::{Agent, ErrorCode, HistoryItem, HistoryPage, ResumeParams, SubagentSummary};
use crate::summary::ScanState;
use crate::workspace::Workspace;
use std::path::{Path, PathBuf};

/// One main session file of a store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionFile {
    pub agent: Agent,
    pub id: String,
    pub path: PathBuf,
}

/// A page request as the store sees it (cursors already decoded).
#[derive(Debug, Clone)]
pub struct HistoryRequest {
    pub limit: usize,
    pub before: Option<crate::cursor::Cursor>,
    pub after: Option<crate::cursor::Cursor>,
    pub truncate_bytes: usize,
    /// A subagent transcript of the session instead of the session itself.
    pub subagent: Option<String>,
}

/// Items appended since an offset, for live subscriptions.
#[derive(Debug, Clone, Default)]
pub struct Appended {
    pub items: Vec<HistoryItem>,
    /// Offset just past the last complete line read.
    pub offset: u64,
    pub newer_cursor: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TrimOptions {
    pub keep_turns: u32,
    pub min_bytes: u64,
    pub title: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ForkRequest {
    pub up_to_message: Option<String>,
    pub title: Option<String>,
    pub branch: Option<String>,
    /// Title used when none is given: "<source title> (fork)".
    pub source_title: Option<String>,
}

pub trait SessionStore: Send + Sync {
    fn agent(&self) -> Agent;

    /// The store's root directory (may not exist).
    fn root(&self) -> &Path;

    /// Directories the watcher watches recursively (the nearest existing ancestor is watched
    /// when one does not exist yet).
    fn watch_roots(&self) -> Vec<PathBuf>;

    /// Main session files: of the workspace, or all of them with `None`.
    fn discover(&self, workspace: Option<&Workspace>) -> Result<Vec<SessionFile>>;

    /// The session id when `path` is a main session file of this store.
    fn session_id_of(&self, path: &Path) -> Option<String>;

    /// Whether an indexed session belongs to the workspace.
    fn in_workspace(&self, path: &Path, state: &ScanState, workspace: &Workspace) -> bool;

    /// Fold one complete line into the summary state.
    fn scan_line(&self, state: &mut ScanState, line: &[u8]);

    /// A cold read of a large file stops reading the head once this holds.
    fn lite_head_done(&self, state: &ScanState) -> bool {
        state.first_prompt.is_some() && state.created_at.is_some()
    }

    /// A cold read of a large file stops reading the tail (backwards) once this holds for the
    /// lines read so far.
    fn lite_tail_done(&self, state: &ScanState) -> bool {
        (state.custom_title.is_some() || state.last_prompt.is_some())
            && state.git_branch.is_some()
            && state.model.is_some()
    }

    /// Whether a line a cold read would otherwise skip is a title or tag record (it must be
    /// read, or the list would show an older title than the agent does). Cheap: no parsing.
    fn lite_metadata_line(&self, line: &[u8]) -> bool {
        const MARKERS: [&[u8]; 4] = [
            b"\"customTitle\"",
            b"\"aiTitle\"",
            b"\"custom_title\"",
            b"\"summary\"",
        ];
        MARKERS
            .iter()
            .any(|m| memchr::memmem::find(line, m).is_some())
    }

    /// Whether a scanned file is a session a list should show.
    fn is_listable(&self, state: &ScanState) -> bool {
        !state.sidechain
    }

    /// Other files that belong to the session (moved to the trash with it).
    fn companion_paths(&self, file: &SessionFile) -> Vec<PathBuf> {
        let _ = file;
        Vec::new()
    }

    fn history(&self, file: &SessionFile, req: &HistoryRequest) -> Result<HistoryPage> {
        let _ = (file, req);
        Err(self.unsupported("history"))
    }

    fn message(&self, file: &SessionFile, id: &str, subagent: Option<&str>) -> Result<HistoryItem> {
        let _ = (file, id, subagent);
        Err(self.unsupported("message"))
    }

    /// Complete messages appended after `offset` (the offset a page or a previous call returned).
    fn appended(&self, file: &SessionFile, offset: u64, truncate_bytes: usize) -> Result<Appended> {
        let _ = (file, offset, truncate_bytes);
        Err(self.unsupported("subscribe"))
    }

    /// The end offset a subscription starts from when the client holds `cursor` (or now).
    fn subscription_start(
        &self,
        file: &SessionFile,
        after: Option<&crate::cursor::Cursor>,
    ) -> Result<u64> {
        let _ = after;
        std::fs::metadata(&file.path)
            .map(|m| m.len())
            .map_err(|e| SidecarError::unreadable(&file.path, &e))
    }

    fn subagents(&self, file: &SessionFile) -> Result<Vec<SubagentSummary>> {
        let _ = file;
        Ok(Vec::new())
    }

    /// argv for resuming in the agent's own CLI (`exe` is the resolved executable).
    fn resume_argv(&self, exe: &str, id: &str, params: &ResumeParams) -> Result<Vec<String>> {
        let _ = (exe, id, params);
        Err(self.unsupported("resume"))
    }

    /// Writes a fork next to the source; returns the new file.
    fn fork(&self, file: &SessionFile, req: &ForkRequest) -> Result<SessionFile> {
        let _ = (file, req);
        Err(self.unsupported("fork"))
    }

    fn rename(&self, file: &SessionFile, title: &str) -> Result<()> {
        let _ = (file, title);
        Err(self.unsupported("rename"))
    }

    fn tag(&self, file: &SessionFile, tag: Option<&str>) -> Result<()> {
        let _ = (file, tag);
        Err(self.unsupported("tag"))
    }

    /// The model's context window for this session: from the file when the agent records it,
    /// else the model table, else the agent's default.
    fn context_window(&self, state: &ScanState) -> (u64, crate::protocol::WindowSource) {
        crate::context_window::window_for(self.agent(), state)
    }

    /// Tokens at which the agent compacts by itself (None if it never does).
    fn auto_compact_at(&self, window: u64, state: &ScanState) -> Option<u64> {
        crate::context_window::auto_compact_at(self.agent(), window, state)
    }

    /// argv that runs the agent's own compaction headless (`Err(NotSupported)` if it has none).
    fn compress_argv(&self, exe: &str, id: &str) -> Result<Vec<String>> {
        let _ = (exe, id);
        Err(self.unsupported("compress (agent strategy)"))
    }

    /// Model-free compression: write a new session (a fork) with old bulky tool results elided.
    /// Returns the new file and the estimated tokens before and after.
    fn trim(&self, file: &SessionFile, opts: &TrimOptions) -> Result<(SessionFile, u64, u64)> {
        let _ = (file, opts);
        Err(self.unsupported("compress (trim strategy)"))
    }

    /// How this agent's `--continue` orders the workspace's sessions: newest first.
    /// Default: file mtime. (Gemini: start time; Codex: its index's recency.)
    fn continue_key(&self, path: &Path, state: &ScanState, mtime_ms: i64) -> i64 {
        let _ = (path, state);
        mtime_ms
    }

    /// Remove temp files a killed writer left next to this store's sessions.
    fn clean_temp_files(&self, workspace: &Workspace) {
        let _ = workspace;
    }

    fn unsupported(&self, what: &str) -> SidecarError {
        SidecarError::new(
            ErrorCode::NotSupported,
            format!(
                "{what} is not supported for {} sessions",
                self.agent().as_str()
            ),
        )
    }
}

/// Reads a directory, mapping a missing one to empty and other errors to `StoreUnreadable`.
pub fn read_dir_or_empty(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(rd) => Ok(rd.filter_map(|e| e.ok()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(SidecarError::unreadable(dir, &e)),
    }
}

/// Every `<root>/<project>/chats` folder: the per-project layout Qwen and Gemini share.
pub fn project_chat_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    Ok(read_dir_or_empty(root)?
        .into_iter()
        .map(|e| e.path().join("chats"))
        .filter(|chats| chats.is_dir())
        .collect())
}

/// A store root that exists but cannot be listed is an error (a missing one is just empty).
pub fn check_root(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // `~/.claude` being a file makes `~/.claude/projects` NotADirectory or NotFound.
            match dir.ancestors().skip(1).find(|a| a.exists()) {
                Some(a) if !a.is_dir() => Err(SidecarError::unreadable(
                    dir,
                    &std::io::Error::new(
                        std::io::ErrorKind::NotADirectory,
                        format!("{} is not a directory", a.display()),
                    ),
                )),
                _ => Ok(()),
            }
        }
        Err(e) => Err(SidecarError::unreadable(dir, &e)),
    }
}

/// Build the stores for the enabled agents.
/// Every line of a JSONL file, parsed (tests: the files a store wrote).
#[cfg(test)]
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn build_stores(config: &crate::config::Config) -> Vec<std::sync::Arc<dyn SessionStore>> {
    let mut v: Vec<std::sync::Arc<dyn SessionStore>> = Vec::new();
    for agent in &config.agents {
        match agent {
            Agent::Claude => v.push(std::sync::Arc::new(claude::ClaudeStore::new(
                config.store_root(Agent::Claude).to_path_buf(),
            ))),
            Agent::Qwen => v.push(std::sync::Arc::new(qwen::QwenStore::new(
                config.store_root(Agent::Qwen).to_path_buf(),
            ))),
            Agent::Codex => v.push(std::sync::Arc::new(codex::CodexStore::new(
                config.store_root(Agent::Codex).to_path_buf(),
            ))),
            Agent::Gemini => v.push(std::sync::Arc::new(gemini::GeminiStore::new(
                config.store_root(Agent::Gemini).to_path_buf(),
            ))),
        }
    }
    v
}
