//! Git: the current branch of a workspace folder, read from the repository's HEAD.

use crate::workspace::Workspace;
use std::path::{Path, PathBuf};

/// The git directory of a work tree: `.git` itself, or where a `.git` file points (worktrees).
pub fn git_dir(worktree: &Path) -> Option<PathBuf> {
    let dotgit = worktree.join(".git");
    let meta = std::fs::metadata(&dotgit).ok()?;
    if meta.is_dir() {
        return Some(dotgit);
    }
    let text = std::fs::read_to_string(&dotgit).ok()?;
    let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
    let p = PathBuf::from(target);
    Some(if p.is_absolute() { p } else { worktree.join(p) })
}

/// What HEAD says: a branch name, or None when detached or not a repository.
pub fn head_branch(git_dir: &Path) -> Option<String> {
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    head.trim()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_string)
}

pub fn current_branch(folder: &Path) -> Option<String> {
    // Walk up to the repository root like git does.
    let mut dir = Some(folder);
    while let Some(d) = dir {
        if let Some(g) = git_dir(d) {
            return head_branch(&g);
        }
        dir = d.parent();
    }
    None
}

pub fn current_branch_of_workspace(ws: &Workspace) -> Option<String> {
    ws.folders.iter().find_map(|f| current_branch(f))
}
