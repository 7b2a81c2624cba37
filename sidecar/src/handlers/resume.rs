//! `sessions/resume` and `sessions/continue`: the argv to continue a session in its own agent.
//! Generic over the stores: the executable comes from `agent_exe`, the argv from the store's
//! `resume_argv`, the choice of "most recent" from its `continue_key`.

use crate::error::{Result, SidecarError};
use crate::index::IndexEntry;
use crate::protocol::{
    Agent, ContinueParams, ContinueResult, ErrorCode, LaunchCommand, ResumeParams, Scope,
    SessionRef,
};
use crate::store::SessionStore;
use crate::Sidecar;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// An option value passed to an agent: non-empty, no control characters, not option-like.
fn check_option(name: &str, v: &str) -> Result<()> {
    if v.is_empty() || v.starts_with('-') || v.chars().any(char::is_control) {
        return Err(SidecarError::invalid_params(format!(
            "{name} {v:?} is not a valid value"
        )));
    }
    Ok(())
}

fn check_params(p: &ResumeParams) -> Result<()> {
    if let Some(m) = &p.model {
        check_option("model", m)?;
    }
    if let Some(pm) = &p.permission_mode {
        check_option("permissionMode", pm)?;
    }
    if p.prompt.as_deref().is_some_and(|t| t.contains('\0')) {
        return Err(SidecarError::invalid_params(
            "the prompt must not contain NUL characters",
        ));
    }
    Ok(())
}

/// Where the agent must run: the session's recorded cwd (which must still exist), else the
/// first workspace folder that exists.
fn launch_cwd(sc: &Sidecar, entry: &IndexEntry) -> Result<String> {
    match &entry.state.cwd {
        Some(cwd) => {
            if Path::new(cwd).is_dir() {
                Ok(cwd.clone())
            } else {
                Err(SidecarError::new(
                    ErrorCode::CwdMissing,
                    format!(
                        "the session's working directory {cwd} no longer exists; restore or recreate it to resume {}:{} (started elsewhere, the agent would not find the conversation or would run in the wrong project)",
                        entry.file.agent.as_str(),
                        entry.file.id
                    ),
                ))
            }
        }
        None => sc
            .workspace()
            .folders
            .iter()
            .find(|f| f.is_dir())
            .map(|f| f.to_string_lossy().into_owned())
            .ok_or_else(|| {
                SidecarError::new(
                    ErrorCode::CwdMissing,
                    format!(
                        "session {} records no working directory and no workspace folder exists to start it from",
                        entry.file.id
                    ),
                )
            }),
    }
}

/// The launch command for one indexed session.
pub fn launch_command(
    sc: &Sidecar,
    store: &Arc<dyn SessionStore>,
    entry: &IndexEntry,
    p: &ResumeParams,
) -> Result<LaunchCommand> {
    check_params(p)?;
    let agent = entry.file.agent;
    let exe = crate::agent_exe::find(&sc.config, agent)?;
    let exe = exe.to_str().ok_or_else(|| {
        SidecarError::new(
            ErrorCode::AgentNotFound,
            format!("the {} executable path is not valid UTF-8", agent.as_str()),
        )
    })?;
    let cwd = launch_cwd(sc, entry)?;
    let argv = store.resume_argv(exe, &entry.file.id, p)?;
    Ok(LaunchCommand {
        argv,
        cwd,
        env: sc.config.agent_env.get(&agent).cloned().unwrap_or_default(),
    })
}

pub fn resume(sc: &Sidecar, p: ResumeParams) -> Result<LaunchCommand> {
    let (store, entry) = sc.resolve(&p.session)?;
    launch_command(sc, &store, &entry, &p)
}

/// The workspace folders as given and as real paths: the cwds an agent's `--continue` started
/// in the workspace would look at.
fn continue_dirs(sc: &Sidecar) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for f in &sc.workspace().folders {
        v.push(f.clone());
        if let Ok(real) = std::fs::canonicalize(f) {
            v.push(real);
        }
    }
    v
}

fn ms(t: std::io::Result<std::time::SystemTime>) -> i64 {
    t.ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The most recent session of the workspace, chosen the way the agents' own `--continue`
/// chooses: sessions started in a workspace folder itself, newest by the store's
/// `continue_key` (file mtime for Claude), ties by creation time. A 0-byte session file counts
/// (the agent picks it and starts empty); a file without any message is skipped.
pub fn continue_latest(sc: &Sidecar, p: ContinueParams) -> Result<ContinueResult> {
    let agents: Vec<Agent> = match p.agent {
        Some(a) => {
            sc.store(a)?;
            vec![a]
        }
        None => sc.stores.iter().map(|s| s.agent()).collect(),
    };
    sc.ensure_loaded(Scope::Workspace)?;
    let branch = match p.branch.as_deref() {
        Some("@current") => Some(
            crate::git::current_branch_of_workspace(&sc.workspace()).ok_or_else(|| {
                SidecarError::new(
                    ErrorCode::NoSession,
                    "the workspace is not on a git branch (not a repository, or a detached HEAD)",
                )
            })?,
        ),
        Some(b) => Some(b.to_string()),
        None => None,
    };
    let dirs = continue_dirs(sc);
    let mut best: Option<((i64, i64, String), IndexEntry)> = None;
    for e in sc.index.entries.iter() {
        if !e.in_workspace || !agents.contains(&e.file.agent) || e.state.sidechain {
            continue;
        }
        let Ok(store) = sc.store(e.file.agent) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&e.file.path) else {
            continue;
        };
        let empty = meta.len() == 0;
        if !empty && (e.state.message_count == 0 || !store.is_listable(&e.state)) {
            continue;
        }
        if let Some(cwd) = &e.state.cwd {
            if !dirs.iter().any(|d| d == Path::new(cwd)) {
                continue;
            }
        }
        if let Some(b) = &branch {
            if e.state.git_branch.as_deref() != Some(b.as_str()) {
                continue;
            }
        }
        let key = (
            store.continue_key(&e.file.path, &e.state, ms(meta.modified())),
            ms(meta.created()),
            e.file.id.clone(),
        );
        if best.as_ref().is_none_or(|(k, _)| key > *k) {
            best = Some((key, e.clone()));
        }
    }
    let Some((_, entry)) = best else {
        return Err(SidecarError::new(
            ErrorCode::NoSession,
            match &branch {
                Some(b) => format!("no session of this workspace on branch {b}"),
                None => "no session of this workspace to continue".to_string(),
            },
        ));
    };
    let store = sc.store(entry.file.agent)?.clone();
    let launch = launch_command(
        sc,
        &store,
        &entry,
        &ResumeParams {
            session: SessionRef::Qualified {
                agent: entry.file.agent,
                id: entry.file.id.clone(),
            },
            fork: false,
            prompt: None,
            model: None,
            permission_mode: None,
        },
    )?;
    Ok(ContinueResult {
        session: entry.summary(),
        argv: launch.argv,
        cwd: launch.cwd,
        env: launch.env,
    })
}
