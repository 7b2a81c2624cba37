//! The incremental summary of one session file: a state fed complete lines in file order,
//! persisted in the index cache so an append is read from the last indexed offset only.

use crate::protocol::{Agent, ContextFill, ForkedFrom, SessionSummary, TokenTotals};
use crate::transcript::FileKey;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ScanState {
    // (Serialized into the persistent index cache: absent fields are skipped to keep it small.)
    /// Offset just past the last complete line consumed.
    #[serde(skip_serializing_if = "is_zero")]
    pub offset: u64,
    /// Fingerprint of the bytes before `offset` (see `transcript::fingerprint`).
    #[serde(skip_serializing_if = "is_zero")]
    pub fingerprint: u64,
    /// Only the head and tail were read; counts are lower bounds.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    #[serde(skip_serializing_if = "is_zero")]
    pub lines: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub bad_lines: u64,
    /// The first line says this is a sidechain (not a session of its own).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sidechain: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_fallback: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub message_count: u64,
    /// Main-chain model turns (assistant messages).
    #[serde(skip_serializing_if = "is_zero")]
    pub model_turns: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub tokens: TokenTotals,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_used: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<ForkedFrom>,
    /// The id of the last counted assistant message (Claude writes one entry per block).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_message_id: Option<String>,
    /// Agent-specific scratch (Gemini's message ids, Codex ordinals, …).
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
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

    /// The session's tag; an empty tag row (the SDK's way to clear it) means none.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref().filter(|t| !t.is_empty())
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
            tag: self.tag().map(str::to_string),
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

fn is_zero(n: &u64) -> bool {
    *n == 0
}
