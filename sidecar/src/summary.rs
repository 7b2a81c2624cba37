//! The incremental summary of one session file: a state fed complete lines in file order,
//! persisted in the index cache so an append is read from the last indexed offset only.

use crate::protocol::{Agent, ContextFill, ForkedFrom, SessionSummary, TokenTotals};
use crate::transcript::FileKey;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ScanState {
    /// Offset just past the last complete line consumed.
    pub offset: u64,
    /// Fingerprint of the bytes before `offset` (see `transcript::fingerprint`).
    pub fingerprint: u64,
    /// Only the head and tail were read; counts are lower bounds.
    pub partial: bool,
    pub lines: u64,
    pub bad_lines: u64,
    /// The first line says this is a sidechain (not a session of its own).
    pub sidechain: bool,
    pub session_id: Option<String>,
    pub first_prompt: Option<String>,
    pub command_fallback: Option<String>,
    pub custom_title: Option<String>,
    pub ai_title: Option<String>,
    pub last_prompt: Option<String>,
    pub summary: Option<String>,
    pub created_at: Option<String>,
    pub cwd: Option<String>,
    pub git_branch: Option<String>,
    pub tag: Option<String>,
    pub message_count: u64,
    /// Main-chain model turns (assistant messages).
    pub model_turns: u64,
    pub model: Option<String>,
    pub tokens: TokenTotals,
    pub context_used: Option<u64>,
    pub context_window: Option<u64>,
    pub forked_from: Option<ForkedFrom>,
    /// The id of the last counted assistant message (Claude writes one entry per block).
    pub last_message_id: Option<String>,
    /// Agent-specific scratch (Gemini's message ids, Codex ordinals, …).
    pub extra: serde_json::Value,
}

impl ScanState {
    /// The title with the official SDK's precedence:
    /// custom title > AI title > last prompt > summary > first prompt.
    pub fn title(&self) -> Option<String> {
        self.custom_title
            .clone()
            .or_else(|| self.ai_title.clone())
            .or_else(|| self.last_prompt.clone())
            .or_else(|| self.summary.clone())
            .or_else(|| self.first_prompt())
    }

    pub fn first_prompt(&self) -> Option<String> {
        self.first_prompt
            .clone()
            .or_else(|| self.command_fallback.clone())
    }

    pub fn to_summary(&self, agent: Agent, id: &str, path: &Path, key: &FileKey) -> SessionSummary {
        // The same window `sessions/context` reports (recorded, else model table, else default).
        let context = self.context_used.map(|used| {
            let (window, _) = crate::context_window::window_for(agent, self);
            ContextFill {
                used_tokens: used,
                context_window: Some(window),
                percent: Some(crate::context_window::percent(used, window)),
            }
        });
        SessionSummary {
            id: id.to_string(),
            agent,
            title: self.title(),
            custom_title: self.custom_title.clone(),
            first_prompt: self.first_prompt(),
            created_at: self.created_at.clone(),
            last_modified: crate::time::iso_from_ms(key.mtime_ms()),
            size_bytes: key.size,
            cwd: self.cwd.clone(),
            git_branch: self.git_branch.clone(),
            tag: self.tag.clone().filter(|t| !t.is_empty()),
            message_count: self.message_count,
            counts_exact: !self.partial,
            model: self.model.clone(),
            tokens: self.tokens.clone(),
            context,
            forked_from: self.forked_from.clone(),
            skipped_lines: self.bad_lines,
            path: path.to_string_lossy().into_owned(),
        }
    }
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Cut to `max` characters the way the SDK does: trim the end, then `…`.
pub fn cut_title(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{}\u{2026}", cut.trim_end())
}
