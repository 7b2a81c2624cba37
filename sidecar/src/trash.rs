//! The sidecar's trash: `<data dir>/trash/<agent>/<id>/` holds a deleted session's files
//! (moved, never unlinked) and a `manifest.json` with where they came from.
//!
//! A move is rename(2) when source and trash share a filesystem; otherwise the file (or folder)
//! is copied into a temp name beside its destination, fsynced, renamed into place, and only
//! then is the original removed. The manifest is written before anything moves, so a crash
//! halfway leaves an entry that `restore` completes.

use crate::error::{Result, SidecarError};
use crate::fsutil;
use crate::protocol::{Agent, ErrorCode, TrashEntry};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// Where it was.
    pub original: String,
    /// Its name inside the entry folder.
    pub stored: String,
    pub is_dir: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub version: u32,
    pub agent: Agent,
    pub id: String,
    pub title: Option<String>,
    pub deleted_at: String,
    /// The main session file.
    pub original_path: String,
    /// The main file first, then its companions.
    pub items: Vec<Item>,
}

impl Manifest {
    pub fn entry(&self) -> TrashEntry {
        TrashEntry {
            id: self.id.clone(),
            agent: self.agent,
            title: self.title.clone(),
            deleted_at: self.deleted_at.clone(),
            original_path: self.original_path.clone(),
        }
    }
}

pub fn entry_dir(root: &Path, agent: Agent, id: &str) -> PathBuf {
    root.join(agent.as_str()).join(id)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn is_cross_device(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EXDEV)
}

/// Copy a tree: folders 0700, files 0600, every file fsynced.
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::DirBuilder::new().mode(0o700).create(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let ty = e.file_type()?;
        let dst = to.join(e.file_name());
        if ty.is_dir() {
            copy_tree(&e.path(), &dst)?;
        } else if ty.is_file() {
            let mut src = File::open(e.path())?;
            let mut out = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&dst)?;
            io::copy(&mut src, &mut out)?;
            out.sync_all()?;
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(e.path())?, &dst)?;
        }
    }
    sync_dir(to);
    Ok(())
}

/// Move `from` to `to` (which must not exist), across filesystems too. The original is removed
/// only once the copy is durable.
pub fn move_path(from: &Path, to: &Path) -> io::Result<()> {
    if fs::symlink_metadata(to).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", to.display()),
        ));
    }
    match fs::rename(from, to) {
        Ok(()) => {
            if let Some(p) = to.parent() {
                sync_dir(p);
            }
            if let Some(p) = from.parent() {
                sync_dir(p);
            }
            return Ok(());
        }
        Err(e) if is_cross_device(&e) => {}
        Err(e) => return Err(e),
    }
    let meta = fs::symlink_metadata(from)?;
    if meta.is_dir() {
        let dir = to.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!(
            "{}{}-{}",
            fsutil::TEMP_PREFIX,
            &uuid::Uuid::new_v4().simple().to_string()[..12],
            to.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        if let Err(e) = copy_tree(from, &tmp) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        if let Err(e) = fs::rename(&tmp, to) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        sync_dir(dir);
        fs::remove_dir_all(from)?;
    } else {
        let (tmp, mut out) = fsutil::temp_beside(to)?;
        let copied = File::open(from).and_then(|mut src| io::copy(&mut src, &mut out));
        if let Err(e) = copied {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        fsutil::commit_temp(&tmp, out, to, true)?;
        fs::remove_file(from)?;
    }
    if let Some(p) = from.parent() {
        sync_dir(p);
    }
    Ok(())
}

fn write_manifest(dir: &Path, m: &Manifest) -> io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(m).map_err(io::Error::other)?;
    bytes.push(b'\n');
    fsutil::write_atomic(&dir.join(MANIFEST), &bytes)
}

pub fn read_manifest(dir: &Path) -> Option<Manifest> {
    let bytes = fs::read(dir.join(MANIFEST)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn path_str(p: &Path) -> Result<String> {
    p.to_str().map(str::to_string).ok_or_else(|| {
        SidecarError::invalid_params(format!(
            "{} is not valid UTF-8; it cannot be moved to the trash",
            p.display()
        ))
    })
}

fn trash_failed(what: &Path, e: &io::Error) -> SidecarError {
    SidecarError::new(
        ErrorCode::WriteFailed,
        format!("cannot move {} to the trash: {e}", what.display()),
    )
}

/// Move a session (its main file, then its companions) into the trash.
pub fn trash_session(
    root: &Path,
    agent: Agent,
    id: &str,
    title: Option<String>,
    main: &Path,
    companions: &[PathBuf],
) -> Result<Manifest> {
    let dir = entry_dir(root, agent, id);
    if fs::symlink_metadata(&dir).is_ok() {
        match read_manifest(&dir) {
            // Left over from an interrupted restore: nothing of it is stored any more.
            Some(m) if m.items.iter().all(|i| !dir.join(&i.stored).exists()) => {
                fs::remove_dir_all(&dir).map_err(|e| trash_failed(&dir, &e))?;
            }
            _ => {
                return Err(SidecarError::new(
                    ErrorCode::TrashConflict,
                    format!(
                        "a session {}:{id} is already in the trash ({}); restore it first",
                        agent.as_str(),
                        dir.display()
                    ),
                ))
            }
        }
    }
    let mut items = Vec::new();
    for (i, p) in std::iter::once(main)
        .chain(companions.iter().map(PathBuf::as_path))
        .enumerate()
    {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        items.push(Item {
            original: path_str(p)?,
            stored: format!("{i}-{name}"),
            is_dir: p.is_dir(),
        });
    }
    let m = Manifest {
        version: 1,
        agent,
        id: id.to_string(),
        title,
        deleted_at: crate::time::now_iso(),
        original_path: path_str(main)?,
        items,
    };
    fsutil::create_dir_private(&dir).map_err(|e| trash_failed(main, &e))?;
    if let Err(e) = write_manifest(&dir, &m) {
        let _ = fs::remove_dir(&dir);
        return Err(trash_failed(main, &e));
    }
    for (n, item) in m.items.iter().enumerate() {
        if let Err(e) = move_path(Path::new(&item.original), &dir.join(&item.stored)) {
            if n == 0 {
                // Nothing moved: leave no trace.
                let _ = fs::remove_file(dir.join(MANIFEST));
                let _ = fs::remove_dir(&dir);
                if e.kind() == io::ErrorKind::NotFound {
                    return Err(SidecarError::not_found(format!(
                        "{}:{id} (its file {} is gone)",
                        agent.as_str(),
                        item.original
                    )));
                }
            }
            return Err(trash_failed(Path::new(&item.original), &e));
        }
    }
    Ok(m)
}

/// Every trash entry of these agents, newest deletion first.
pub fn list(root: &Path, agents: &[Agent]) -> Vec<Manifest> {
    let mut v = Vec::new();
    for a in agents {
        let Ok(rd) = fs::read_dir(root.join(a.as_str())) else {
            continue;
        };
        for e in rd.flatten() {
            if let Some(m) = read_manifest(&e.path()) {
                // A manifest whose files were never moved in (a delete killed right after
                // writing it) is no deleted session: the session is still where it was.
                let holds_files = m
                    .items
                    .iter()
                    .any(|i| fs::symlink_metadata(e.path().join(&i.stored)).is_ok());
                if m.agent == *a && e.file_name().to_str() == Some(m.id.as_str()) && holds_files {
                    v.push(m);
                }
            }
        }
    }
    v.sort_by(|a, b| {
        b.deleted_at
            .cmp(&a.deleted_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    v
}

/// The entry an id (or a prefix of ≥ 8 characters) names.
pub fn find(root: &Path, agents: &[Agent], id: &str) -> Result<Manifest> {
    let all = list(root, agents);
    if let Some(m) = all.iter().find(|m| m.id == id) {
        return Ok(m.clone());
    }
    let matches: Vec<&Manifest> = all.iter().filter(|m| m.id.starts_with(id)).collect();
    match matches.len() {
        0 => Err(SidecarError::new(
            ErrorCode::TrashConflict,
            format!("no session {id} in the trash"),
        )),
        1 => Ok(matches[0].clone()),
        n => Err(SidecarError::new(
            ErrorCode::AmbiguousSession,
            format!("{id:?} matches {n} sessions in the trash; use more characters"),
        )),
    }
}

/// Put a trashed session back where it was. Refuses (changing nothing) when any of its files
/// would overwrite something that exists now.
pub fn restore(root: &Path, m: &Manifest) -> Result<()> {
    let dir = entry_dir(root, m.agent, &m.id);
    let pending: Vec<&Item> = m
        .items
        .iter()
        .filter(|i| fs::symlink_metadata(dir.join(&i.stored)).is_ok())
        .collect();
    for i in &pending {
        if fs::symlink_metadata(&i.original).is_ok() {
            return Err(SidecarError::new(
                ErrorCode::TrashConflict,
                format!(
                    "cannot restore {}:{}: {} exists; move it away first",
                    m.agent.as_str(),
                    m.id,
                    i.original
                ),
            ));
        }
    }
    // Companions first, the main file last: the session reappears complete.
    for i in pending.iter().rev() {
        let to = Path::new(&i.original);
        if let Some(parent) = to.parent() {
            if !parent.exists() {
                fsutil::create_dir_private(parent).map_err(|e| {
                    SidecarError::new(
                        ErrorCode::WriteFailed,
                        format!("cannot recreate {}: {e}", parent.display()),
                    )
                })?;
            }
        }
        move_path(&dir.join(&i.stored), to).map_err(|e| {
            SidecarError::new(
                ErrorCode::WriteFailed,
                format!("cannot restore {}: {e}", to.display()),
            )
        })?;
    }
    let _ = fs::remove_file(dir.join(MANIFEST));
    let _ = fs::remove_dir(&dir);
    if let Some(p) = dir.parent() {
        sync_dir(p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn trash_and_restore_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let proj = d.path().join("proj");
        fs::create_dir_all(proj.join("abc/subagents")).unwrap();
        let main = proj.join("abc.jsonl");
        fs::write(&main, "x\n").unwrap();
        fs::write(proj.join("abc/subagents/a.jsonl"), "y\n").unwrap();
        let root = d.path().join("trash");
        let m = trash_session(
            &root,
            Agent::Claude,
            "abc",
            Some("T".into()),
            &main,
            &[proj.join("abc")],
        )
        .unwrap();
        assert!(!main.exists() && !proj.join("abc").exists());
        let dir = entry_dir(&root, Agent::Claude, "abc");
        assert_eq!(fs::read(dir.join("0-abc.jsonl")).unwrap(), b"x\n");
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            fs::metadata(dir.join(MANIFEST))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        assert_eq!(list(&root, &[Agent::Claude]), vec![m.clone()]);
        // A file in the way: refused, nothing moves.
        fs::write(&main, "new\n").unwrap();
        let e = restore(&root, &m).unwrap_err();
        assert_eq!(e.code, ErrorCode::TrashConflict);
        assert!(dir.join("0-abc.jsonl").exists());
        fs::remove_file(&main).unwrap();
        restore(&root, &m).unwrap();
        assert_eq!(fs::read(&main).unwrap(), b"x\n");
        assert_eq!(
            fs::read(proj.join("abc/subagents/a.jsonl")).unwrap(),
            b"y\n"
        );
        assert!(!dir.exists());
        assert!(list(&root, &[Agent::Claude]).is_empty());
    }
}
