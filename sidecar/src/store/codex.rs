//! Codex sessions (see formats/codex*.md in the shared formats). Not implemented yet: discovers nothing.

use super::{SessionFile, SessionStore};
use crate::error::Result;
use crate::protocol::Agent;
use crate::summary::ScanState;
use crate::workspace::Workspace;
use std::path::{Path, PathBuf};

pub struct CodexStore {
    root: PathBuf,
}

impl CodexStore {
    pub fn new(root: PathBuf) -> CodexStore {
        CodexStore { root }
    }
}

impl SessionStore for CodexStore {
    fn agent(&self) -> Agent {
        Agent::Codex
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
