//! Qwen sessions (see formats/qwen*.md in the shared formats). Not implemented yet: discovers nothing.

use super::{SessionFile, SessionStore};
use crate::error::Result;
use crate::protocol::Agent;
use crate::summary::ScanState;
use crate::workspace::Workspace;
use std::path::{Path, PathBuf};

pub struct QwenStore {
    root: PathBuf,
}

impl QwenStore {
    pub fn new(root: PathBuf) -> QwenStore {
        QwenStore { root }
    }
}

impl SessionStore for QwenStore {
    fn agent(&self) -> Agent {
        Agent::Qwen
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn watch_roots(&self) -> Vec<PathBuf> {
        Vec::new()
    }

    fn discover(&self, _workspace: Option<&Workspace>) -> Result<Vec<SessionFile>> {
        Ok(Vec::new())
    }

    fn session_id_of(&self, _path: &Path) -> Option<String> {
        None
    }

    fn in_workspace(&self, _path: &Path, _state: &ScanState, _workspace: &Workspace) -> bool {
        false
    }

    fn scan_line(&self, state: &mut ScanState, _line: &[u8]) {
        state.lines += 1;
    }
}
