//! Finding an agent's executable: the configured path (`initializationOptions.agentPaths`,
//! the editor setting `sessionSidecar.agentPaths.<agent>`), else a lookup of the agent's
//! command name on `PATH`. A missing executable is an `AgentNotFound` error naming the setting.

use crate::config::Config;
use crate::error::{Result, SidecarError};
use crate::protocol::{Agent, ErrorCode};
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The command an agent is started with.
pub fn command_name(agent: Agent) -> &'static str {
    match agent {
        Agent::Claude => "claude",
        Agent::Qwen => "qwen",
        Agent::Codex => "codex",
        Agent::Gemini => "gemini",
    }
}

fn is_executable_file(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Look `name` up in a `PATH`-style list of directories (empty entries are skipped: they would
/// mean the current directory, which is never searched).
pub fn search_path(name: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    let path_var = path_var?;
    std::env::split_paths(path_var)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|c| is_executable_file(c))
}

fn setting_name(agent: Agent) -> String {
    format!(
        "sessionSidecar.agentPaths.{a} (initializationOptions.agentPaths.{a})",
        a = agent.as_str()
    )
}

/// The executable to run for `agent`.
pub fn find(config: &Config, agent: Agent) -> Result<PathBuf> {
    if let Some(p) = config.agent_paths.get(&agent) {
        if is_executable_file(p) {
            return Ok(p.clone());
        }
        let why = match std::fs::metadata(p) {
            Err(e) => e.to_string(),
            Ok(m) if !m.is_file() => "not a file".to_string(),
            Ok(_) => "not executable".to_string(),
        };
        return Err(SidecarError::new(
            ErrorCode::AgentNotFound,
            format!(
                "the {} executable configured in {} is unusable: {}: {why}",
                agent.as_str(),
                setting_name(agent),
                p.display()
            ),
        ));
    }
    let name = command_name(agent);
    search_path(name, std::env::var_os("PATH").as_deref()).ok_or_else(|| {
        SidecarError::new(
            ErrorCode::AgentNotFound,
            format!(
                "`{name}` was not found on PATH; install it or set its path in {}",
                setting_name(agent)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn path_lookup_needs_an_executable_file() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        let b = d.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(b.join("claude")).unwrap(); // a directory named claude
        let plain = a.join("claude");
        std::fs::write(&plain, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let var = std::env::join_paths([b.as_path(), a.as_path()]).unwrap();
        assert_eq!(search_path("claude", Some(&var)), None);
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(search_path("claude", Some(&var)), Some(plain));
        // Relative entries (the current directory) are never searched.
        assert_eq!(search_path("claude", Some(OsStr::new(":."))), None);
    }
}
