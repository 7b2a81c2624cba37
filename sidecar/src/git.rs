//! Git: the current branch of a workspace folder, read from the repository's HEAD, and the
//! markers of an operation in progress (rebase, merge, cherry-pick, revert, bisect) whose
//! intermediate HEAD moves are not branch switches.
//!
//! Everything here reads files; `git` itself is run only for a reftable repository, whose HEAD
//! file is a placeholder.

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
    let dir = if p.is_absolute() { p } else { worktree.join(p) };
    dir.is_dir().then_some(dir)
}

/// A folder's repository: its work tree root (the folder or the nearest ancestor holding a
/// `.git`) and git directory. None when the folder is not inside a git work tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub worktree: PathBuf,
    pub git_dir: PathBuf,
}

pub fn find_repo(folder: &Path) -> Option<Repo> {
    folder.ancestors().find_map(|d| {
        git_dir(d).map(|g| Repo {
            worktree: d.to_path_buf(),
            git_dir: g,
        })
    })
}

/// Where HEAD points.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Head {
    /// `ref: refs/heads/<name>` (the branch may be unborn: a repository with no commits).
    Branch(String),
    /// A commit id.
    Detached,
    /// HEAD is missing or unreadable.
    Unknown,
}

impl Head {
    pub fn branch(&self) -> Option<&str> {
        match self {
            Head::Branch(b) => Some(b),
            _ => None,
        }
    }
}

/// Parse the text of a HEAD file.
pub fn parse_head(text: &str) -> Head {
    let t = text.trim();
    if let Some(r) = t.strip_prefix("ref:") {
        return match r.trim().strip_prefix("refs/heads/") {
            Some(b) if !b.is_empty() => Head::Branch(b.to_string()),
            _ => Head::Unknown,
        };
    }
    if (t.len() == 40 || t.len() == 64) && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Head::Detached;
    }
    Head::Unknown
}

/// The reftable backend keeps HEAD in its tables and leaves this placeholder in the HEAD file.
const REFTABLE_PLACEHOLDER: &str = "refs/heads/.invalid";

/// What HEAD of the repository says.
pub fn read_head(repo: &Repo) -> Head {
    let Ok(text) = std::fs::read_to_string(repo.git_dir.join("HEAD")) else {
        return Head::Unknown;
    };
    if text.trim() == format!("ref: {REFTABLE_PLACEHOLDER}") {
        return head_via_git(&repo.worktree);
    }
    parse_head(&text)
}

/// `git symbolic-ref -q HEAD` (argv, no shell), for reftable repositories.
fn head_via_git(worktree: &Path) -> Head {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(worktree)
        .args(["symbolic-ref", "-q", "HEAD"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => parse_head(&format!(
            "ref: {}",
            String::from_utf8_lossy(&o.stdout).trim()
        )),
        // Exit 1: HEAD is not a symbolic ref, i.e. detached.
        Ok(o) if o.status.code() == Some(1) => Head::Detached,
        _ => Head::Unknown,
    }
}

/// What HEAD says: a branch name, or None when detached or not a repository.
pub fn head_branch(git_dir: &Path) -> Option<String> {
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    match parse_head(&head) {
        Head::Branch(b) => Some(b),
        _ => None,
    }
}

/// A git operation that moves HEAD through intermediate states before it ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Operation {
    /// `rebase`, `am`, `merge`, `cherry-pick`, `revert`, `bisect`, `sequencer`.
    pub kind: &'static str,
    /// The branch HEAD was on when the operation started, when git recorded it.
    pub orig_branch: Option<String>,
}

/// The operation in progress in this git directory (per worktree), if any.
pub fn operation_in_progress(git_dir: &Path) -> Option<Operation> {
    let head_name = |dir: &str| {
        std::fs::read_to_string(git_dir.join(dir).join("head-name"))
            .ok()
            .and_then(|t| t.trim().strip_prefix("refs/heads/").map(str::to_string))
    };
    if git_dir.join("rebase-merge").is_dir() {
        return Some(Operation {
            kind: "rebase",
            orig_branch: head_name("rebase-merge"),
        });
    }
    if git_dir.join("rebase-apply").is_dir() {
        let kind = if git_dir.join("rebase-apply/applying").exists() {
            "am"
        } else {
            "rebase"
        };
        return Some(Operation {
            kind,
            orig_branch: head_name("rebase-apply"),
        });
    }
    if git_dir.join("BISECT_LOG").exists() {
        // BISECT_START holds the branch (or commit) bisect started from.
        let orig = std::fs::read_to_string(git_dir.join("BISECT_START"))
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty() && !matches!(parse_head(t), Head::Detached));
        return Some(Operation {
            kind: "bisect",
            orig_branch: orig,
        });
    }
    for (file, kind) in [
        ("MERGE_HEAD", "merge"),
        ("CHERRY_PICK_HEAD", "cherry-pick"),
        ("REVERT_HEAD", "revert"),
    ] {
        if git_dir.join(file).exists() {
            return Some(Operation {
                kind,
                orig_branch: None,
            });
        }
    }
    if git_dir.join("sequencer").is_dir() {
        return Some(Operation {
            kind: "sequencer",
            orig_branch: None,
        });
    }
    None
}

pub fn current_branch(folder: &Path) -> Option<String> {
    // Walk up to the repository root like git does.
    let repo = find_repo(folder)?;
    match read_head(&repo) {
        Head::Branch(b) => Some(b),
        _ => None,
    }
}

/// The branch of the first workspace folder that is in a git work tree (None when detached,
/// or when no folder is in a repository).
pub fn current_branch_of_workspace(ws: &Workspace) -> Option<String> {
    ws.folders
        .iter()
        .find(|f| find_repo(f).is_some())
        .and_then(|f| current_branch(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_texts() {
        assert_eq!(
            parse_head("ref: refs/heads/main\n"),
            Head::Branch("main".into())
        );
        assert_eq!(
            parse_head("ref: refs/heads/feature/login\n"),
            Head::Branch("feature/login".into())
        );
        assert_eq!(
            parse_head("0123456789abcdef0123456789abcdef01234567\n"),
            Head::Detached
        );
        assert_eq!(parse_head(""), Head::Unknown);
        assert_eq!(parse_head("ref: refs/remotes/x"), Head::Unknown);
        assert_eq!(parse_head("garbage"), Head::Unknown);
    }

    #[test]
    fn worktree_git_file_and_markers() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("repo/.git/worktrees/wt");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::write(real.join("HEAD"), "ref: refs/heads/feature\n").unwrap();
        let wt = t.path().join("wt");
        std::fs::create_dir_all(wt.join("src/deep")).unwrap();
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", real.display())).unwrap();
        let repo = find_repo(&wt.join("src/deep")).unwrap();
        assert_eq!(repo.worktree, wt);
        assert_eq!(repo.git_dir, real);
        assert_eq!(current_branch(&wt.join("src")).as_deref(), Some("feature"));
        assert_eq!(operation_in_progress(&real), None);
        std::fs::create_dir_all(real.join("rebase-merge")).unwrap();
        std::fs::write(real.join("rebase-merge/head-name"), "refs/heads/feature\n").unwrap();
        assert_eq!(
            operation_in_progress(&real),
            Some(Operation {
                kind: "rebase",
                orig_branch: Some("feature".into())
            })
        );
        std::fs::remove_dir_all(real.join("rebase-merge")).unwrap();
        std::fs::write(real.join("BISECT_LOG"), "").unwrap();
        std::fs::write(real.join("BISECT_START"), "feature\n").unwrap();
        assert_eq!(
            operation_in_progress(&real).unwrap().orig_branch.as_deref(),
            Some("feature")
        );
        // A .git file pointing nowhere is not a repository.
        let broken = t.path().join("broken");
        std::fs::create_dir_all(&broken).unwrap();
        std::fs::write(broken.join(".git"), "gitdir: /nonexistent/x\n").unwrap();
        assert_eq!(git_dir(&broken), None);
    }
}
