//! `sessions/compress`: the agent's own compaction run headless, or a model-free trim fork.

mod codex_app_server;
mod runner;

use super::RequestControl;
use crate::error::{Result, SidecarError};
use crate::protocol::{Agent, CompressParams, CompressResult, CompressStrategy, ErrorCode};
use crate::store::TrimOptions;
use crate::Sidecar;
use std::collections::HashSet;
use std::sync::Mutex;

pub const DEFAULT_KEEP_TURNS: u32 = 4;
pub const DEFAULT_MIN_BYTES: u64 = 2048;
const MAX_KEEP_TURNS: u32 = 100_000;

/// Sessions with a compression under way (one at a time per session).
static RUNNING: Mutex<Option<HashSet<(Agent, String)>>> = Mutex::new(None);

struct RunningGuard((Agent, String));

impl RunningGuard {
    fn claim(agent: Agent, id: &str) -> Result<RunningGuard> {
        let mut g = RUNNING.lock().unwrap();
        let set = g.get_or_insert_with(HashSet::new);
        if !set.insert((agent, id.to_string())) {
            return Err(SidecarError::invalid_params(format!(
                "a compression of {}:{id} is already running",
                agent.as_str()
            )));
        }
        Ok(RunningGuard((agent, id.to_string())))
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        if let Some(set) = RUNNING.lock().unwrap().as_mut() {
            set.remove(&self.0);
        }
    }
}

pub fn compress(sc: &Sidecar, p: CompressParams, ctl: &RequestControl) -> Result<CompressResult> {
    let (store, entry) = sc.resolve(&p.session)?;
    ctl.check()?;
    match p.strategy {
        CompressStrategy::Trim => {
            let keep_turns = p.keep_turns.unwrap_or(DEFAULT_KEEP_TURNS);
            if keep_turns > MAX_KEEP_TURNS {
                return Err(SidecarError::invalid_params(format!(
                    "keepTurns must be at most {MAX_KEEP_TURNS}"
                )));
            }
            let opts = TrimOptions {
                keep_turns,
                min_bytes: p.min_bytes.unwrap_or(DEFAULT_MIN_BYTES),
                title: entry.state.title(),
            };
            let _running = RunningGuard::claim(entry.file.agent, &entry.file.id)?;
            ctl.report("Writing a trimmed copy", None);
            let (file, history_before, history_after) = store.trim(&entry.file, &opts)?;
            // In the frame of the context gauge: the source's used tokens as the agent recorded
            // them (system prompt and tools included), less what the trim removed from the
            // history (bytes / 4), but never a larger share than the history shrank by; the
            // history estimates themselves when the agent recorded no usage.
            let (before, after) = match entry.state.context_used {
                Some(used) if used > 0 && history_before > 0 => {
                    let removed = history_before.saturating_sub(history_after);
                    let proportional =
                        (used as u128 * history_after as u128 / history_before as u128) as u64;
                    (used, used.saturating_sub(removed).max(proportional))
                }
                _ => (history_before, history_after),
            };
            // The fork's context gauge shows the estimate until the agent records a turn.
            if let Err(e) = crate::store::trim_rules::append_estimate(&file, after) {
                tracing::warn!("could not record the trim's estimate: {e}");
            }
            let new = sc.refresh_file(&file)?;
            ctl.report("Done", Some(100));
            Ok(CompressResult {
                session: new.summary(),
                tokens_before: before,
                tokens_after: after,
                estimated: true,
            })
        }
        CompressStrategy::Agent => {
            // Unsupported agents answer so before anything is looked up.
            store.compress_argv(entry.file.agent.as_str(), &entry.file.id)?;
            let _running = RunningGuard::claim(entry.file.agent, &entry.file.id)?;
            let exe = runner::find_executable(&sc.config, entry.file.agent)?;
            let argv = store.compress_argv(&exe.to_string_lossy(), &entry.file.id)?;
            let cwd = match entry.state.cwd.as_deref() {
                Some(c) if std::path::Path::new(c).is_dir() => c.to_string(),
                Some(c) => {
                    return Err(SidecarError::new(
                        ErrorCode::CwdMissing,
                        format!("the session's working directory {c} no longer exists"),
                    ))
                }
                None => {
                    return Err(SidecarError::new(
                        ErrorCode::CwdMissing,
                        "the session has no recorded working directory",
                    ))
                }
            };
            let tokens_before = entry.state.context_used.unwrap_or(0);
            let size_before = std::fs::metadata(&entry.file.path)
                .map(|m| m.len())
                .map_err(|e| SidecarError::unreadable(&entry.file.path, &e))?;
            let env = sc
                .config
                .agent_env
                .get(&entry.file.agent)
                .cloned()
                .unwrap_or_default();
            let spec = runner::RunSpec {
                argv,
                cwd: cwd.into(),
                env,
                timeout: runner::DEFAULT_TIMEOUT,
                label: format!(
                    "{} {}",
                    entry.file.agent.as_str(),
                    compaction_command(entry.file.agent)
                ),
            };
            // Codex compacts only when asked over its app-server protocol.
            let mut codex = (entry.file.agent == Agent::Codex)
                .then(|| codex_app_server::Compaction::new(&entry.file.id));
            let conversation = codex.as_mut().map(|c| c as &mut dyn runner::Conversation);
            let output = runner::run(&spec, conversation, ctl)?;
            if !runner::appended_contains(
                &entry.file.path,
                size_before,
                compaction_marker(entry.file.agent),
            )? {
                let said = output.gist();
                return Err(SidecarError::new(
                    ErrorCode::AgentFailed,
                    format!(
                        "{} finished but recorded no compaction in the session{}",
                        spec.label,
                        if said.is_empty() {
                            String::new()
                        } else {
                            format!("; it said: {said}")
                        }
                    ),
                ));
            }
            let new = sc.refresh_file(&entry.file)?;
            Ok(CompressResult {
                tokens_before,
                tokens_after: new.state.context_used.unwrap_or(0),
                session: new.summary(),
                estimated: false,
            })
        }
    }
}

fn compaction_command(agent: Agent) -> &'static str {
    match agent {
        Agent::Claude => "/compact",
        Agent::Qwen => "/compress",
        Agent::Codex => "app-server thread/compact/start",
        Agent::Gemini => "compaction",
    }
}

/// The record the agent appends when it compacts (formats: Claude §5, Qwen §5, Codex §5).
fn compaction_marker(agent: Agent) -> &'static [u8] {
    match agent {
        Agent::Claude => b"\"compact_boundary\"",
        Agent::Qwen => b"\"chat_compression\"",
        Agent::Codex => b"\"compacted\"",
        Agent::Gemini => b"<state_snapshot>",
    }
}
