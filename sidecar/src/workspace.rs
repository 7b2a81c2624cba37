//! The open workspace: its folders as given, their real paths, and the repository's other
//! git worktrees (sessions started in any of them belong to the workspace).

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workspace {
    /// The folders as the editor gave them.
    pub folders: Vec<PathBuf>,
    /// Every path a session of this workspace may record: folders, their real paths, worktrees.
    pub paths: Vec<PathBuf>,
}

impl Workspace {
    pub fn new(folders: Vec<PathBuf>) -> Workspace {
        let mut paths: Vec<PathBuf> = Vec::new();
        let push = |p: PathBuf, paths: &mut Vec<PathBuf>| {
            if !paths.contains(&p) {
                paths.push(p);
            }
        };
        for f in &folders {
            push(f.clone(), &mut paths);
            if let Ok(real) = std::fs::canonicalize(f) {
                push(real.clone(), &mut paths);
                for wt in git_worktrees(&real) {
                    push(wt, &mut paths);
                }
            }
        }
        Workspace { folders, paths }
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Whether `cwd` is one of the workspace paths or inside one.
    pub fn contains(&self, cwd: &Path) -> bool {
        self.paths.iter().any(|p| cwd == p || cwd.starts_with(p))
    }
}

/// `git worktree list --porcelain` (argv, no shell); empty when not a repository.
pub fn git_worktrees(dir: &Path) -> Vec<PathBuf> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["worktree", "list", "--porcelain"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("worktree "))
            .map(PathBuf::from)
            .collect(),
        _ => Vec::new(),
    }
}
