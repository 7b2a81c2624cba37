//! Context windows: what the agent recorded, else a model table, else the agent's default;
//! and each agent's auto-compaction point.
//!
//! Sources (the agents' own code at the versions in `formats/`):
//!
//! | agent  | window recorded?                          | table / default                                   | auto-compacts at |
//! |--------|-------------------------------------------|---------------------------------------------------|------------------|
//! | Claude | no                                        | Opus 4.6–4.8, Opus 5.x and `[1m]` models 1,000,000; every other `claude-*` 200,000 (the formats doc measured 1,000,000 for `claude-opus-5-5`; same split as Qwen Code's `tokenLimits.ts`); default 200,000 | `window − min(maxOutput, 20,000) − 13,000` = window − 33,000: Claude Code 2.1.329 reserves 20k for the summary and keeps a 13k buffer (`autocompact` threshold in the CLI; `/context` shows it as "autocompact buffer 33k") |
//! | Qwen   | `contextWindowSize` on every assistant record | Qwen Code 0.24.4 `tokenLimits.ts` (qwen3-coder-plus/flash, qwen3.x 1,000,000; qwen3-max and other qwen 262,144; …); default 200,000 | `min(0.85 × window, window − 20,000 − 13,000)` (`chatCompressionService.computeThresholds`; 0.85 = default `autoCompactThreshold`); 1M → 850,000, 40k → 7,000 |
//! | Codex  | `model_context_window` in `token_count` / `task_started` | gpt-5.x 272,000 × 95 % = 258,400; default the same (Codex uses that fallback for unknown slugs) | `model_auto_compact_token_limit`, default 90 % of the catalog window (window / 0.95 × 0.9): 258,400 → 244,800 |
//! | Gemini | no                                        | `gemma-4-*` 256,000; everything else 1,048,576 (Gemini CLI 0.61 `tokenLimit`) | `model.compressionThreshold` (default 0.5) × window = 524,288 |
//!
//! `ScanState::to_summary` and `sessions/context` both go through [`window_for`], so the list's
//! `context` and the context status always agree.

use crate::protocol::{Agent, WindowSource};
use crate::summary::{round1, ScanState};

pub const CLAUDE_DEFAULT_WINDOW: u64 = 200_000;
pub const QWEN_DEFAULT_WINDOW: u64 = 200_000;
/// 272,000 × 95 % (Codex's effective window for gpt-5.x and its fallback for unknown models).
pub const CODEX_DEFAULT_WINDOW: u64 = 258_400;
pub const GEMINI_DEFAULT_WINDOW: u64 = 1_048_576;

/// Claude Code: tokens reserved for the summary (min(maxOutputTokens, 20,000)).
const CLAUDE_SUMMARY_RESERVE: u64 = 20_000;
/// Claude Code / Qwen Code: buffer below the effective window where auto-compaction fires.
const AUTOCOMPACT_BUFFER: u64 = 13_000;
/// Qwen Code's default `autoCompactThreshold`.
const QWEN_DEFAULT_PCT: f64 = 0.85;
/// Gemini CLI's default `model.compressionThreshold`.
const GEMINI_COMPRESSION_THRESHOLD: f64 = 0.5;

/// Lower-case, provider prefix (`openrouter/…`, `models/…`) removed.
fn normalize(model: &str) -> String {
    let m = model.trim().to_ascii_lowercase();
    match m.rfind('/') {
        Some(i) => m[i + 1..].to_string(),
        None => m,
    }
}

/// The window a model has according to the agent's own model table, if the table knows it.
pub fn model_window(agent: Agent, model: &str) -> Option<u64> {
    let m = normalize(model);
    if m.is_empty() {
        return None;
    }
    match agent {
        Agent::Claude => {
            if !m.starts_with("claude-") {
                return None;
            }
            let one_m = m.ends_with("[1m]")
                || [
                    "claude-opus-4-6",
                    "claude-opus-4-7",
                    "claude-opus-4-8",
                    "claude-opus-5",
                ]
                .iter()
                .any(|p| m.starts_with(p));
            Some(if one_m { 1_000_000 } else { 200_000 })
        }
        Agent::Gemini => {
            if m.starts_with("gemma-4") {
                Some(256_000)
            } else if m.starts_with("gemini-") {
                Some(1_048_576)
            } else {
                None
            }
        }
        Agent::Codex => {
            if m.starts_with("gpt-5") || m.starts_with("codex-") {
                Some(CODEX_DEFAULT_WINDOW)
            } else {
                None
            }
        }
        Agent::Qwen => qwen_table(&m),
    }
}

/// The subset of Qwen Code 0.24.4 `tokenLimits.ts` PATTERNS (first match wins).
fn qwen_table(m: &str) -> Option<u64> {
    const K256: u64 = 262_144;
    const M1: u64 = 1_000_000;
    let starts = |p: &str| m.starts_with(p);
    let w = if starts("gemini-") {
        M1
    } else if starts("gpt-5") {
        272_000
    } else if starts("gpt-") {
        131_072
    } else if m.len() > 1 && m.starts_with('o') && m.as_bytes()[1].is_ascii_digit() {
        200_000
    } else if [
        "claude-opus-4-6",
        "claude-opus-4-7",
        "claude-opus-4-8",
        "claude-opus-5",
    ]
    .iter()
    .any(|p| starts(p))
    {
        M1
    } else if starts("claude-") {
        200_000
    } else if starts("qwen3-coder-plus")
        || starts("qwen3-coder-flash")
        || (starts("qwen3.") && m.as_bytes().get(6).is_some_and(|b| b.is_ascii_digit()))
        || m == "qwen-plus-latest"
        || m == "qwen-flash-latest"
        || m == "coder-model"
    {
        M1
    } else if starts("qwen") {
        K256
    } else if starts("deepseek-v4") || starts("deepseek-flash") {
        M1
    } else if starts("deepseek") {
        131_072
    } else if starts("kimi-") {
        K256
    } else {
        return None;
    };
    Some(w)
}

pub fn default_window(agent: Agent) -> u64 {
    match agent {
        Agent::Claude => CLAUDE_DEFAULT_WINDOW,
        Agent::Qwen => QWEN_DEFAULT_WINDOW,
        Agent::Codex => CODEX_DEFAULT_WINDOW,
        Agent::Gemini => GEMINI_DEFAULT_WINDOW,
    }
}

/// The session's window: recorded by the agent, else the model table, else the agent default.
pub fn window_for(agent: Agent, state: &ScanState) -> (u64, WindowSource) {
    if let Some(w) = state.context_window.filter(|w| *w > 0) {
        return (w, WindowSource::Recorded);
    }
    if let Some(w) = state.model.as_deref().and_then(|m| model_window(agent, m)) {
        return (w, WindowSource::ModelTable);
    }
    (default_window(agent), WindowSource::Default)
}

/// Tokens at which the agent compacts by itself under its default settings.
pub fn auto_compact_at(agent: Agent, window: u64, state: &ScanState) -> Option<u64> {
    let _ = state;
    if window == 0 {
        return None;
    }
    let at = match agent {
        Agent::Claude => window.saturating_sub(CLAUDE_SUMMARY_RESERVE + AUTOCOMPACT_BUFFER),
        Agent::Qwen => qwen_auto_compact(window, QWEN_DEFAULT_PCT),
        Agent::Codex => codex_auto_compact(window),
        Agent::Gemini => (window as f64 * GEMINI_COMPRESSION_THRESHOLD).floor() as u64,
    };
    Some(at).filter(|a| *a > 0)
}

/// Qwen Code `computeThresholds(window, pct).auto`.
pub fn qwen_auto_compact(window: u64, pct: f64) -> u64 {
    let proportional = (pct.clamp(0.0, 1.0) * window as f64).floor() as u64;
    let effective = window.saturating_sub(CLAUDE_SUMMARY_RESERVE);
    let ceiling = effective.saturating_sub(AUTOCOMPACT_BUFFER);
    if ceiling > 0 {
        proportional.min(ceiling)
    } else {
        proportional
    }
}

/// Codex: 90 % of the catalog window; the recorded window is 95 % of the catalog window.
pub fn codex_auto_compact(window: u64) -> u64 {
    window * 100 / 95 * 9 / 10
}

/// Where each agent keeps the settings that move its auto-compaction point.
#[derive(Debug, Clone, Default)]
pub struct SettingsPaths {
    /// The agent's store root (`~/.claude`, `~/.qwen`, `CODEX_HOME`, `~/.gemini`).
    pub root: std::path::PathBuf,
    /// The user's home (Claude's global `~/.claude.json`).
    pub home: std::path::PathBuf,
    /// Workspace folders (project-level `.qwen/settings.json`, `.gemini/settings.json`).
    pub workspace: Vec<std::path::PathBuf>,
}

fn read_json(p: &std::path::Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(p).ok()?;
    serde_json::from_str(&text).ok()
}

fn env_f64(name: &str) -> Option<f64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

fn env_truthy(name: &str) -> bool {
    std::env::var(name)
        .map(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false)
}

/// The auto-compaction point as the agent's own settings move it: `Some(None)` = the user
/// turned it off, `Some(Some(n))` = moved to `n`, `None` = the defaults of [`auto_compact_at`].
///
/// * Claude: `autoCompactEnabled: false` in `.claude.json` (config dir, else home), or
///   `DISABLE_AUTO_COMPACT` / `DISABLE_COMPACT` → off; `CLAUDE_AUTOCOMPACT_PCT_OVERRIDE` (1–100)
///   lowers it to that share of the effective window. (Environment: the sidecar's own, which is
///   the user's when an editor starts it.)
/// * Qwen: `context.autoCompactThreshold` (0–1) in `<root>/settings.json`, the workspace's
///   `.qwen/settings.json` winning.
/// * Codex: `model_auto_compact_token_limit` in `<CODEX_HOME>/config.toml`.
/// * Gemini: `model.compressionThreshold` (0–1) in `<root>/settings.json`, the workspace's
///   `.gemini/settings.json` winning.
pub fn configured_auto_compact(
    agent: Agent,
    window: u64,
    paths: &SettingsPaths,
) -> Option<Option<u64>> {
    let layered = |rel: &str, pointer: &str| -> Option<f64> {
        let mut files = vec![paths.root.join("settings.json")];
        files.extend(
            paths
                .workspace
                .iter()
                .map(|w| w.join(rel).join("settings.json")),
        );
        files
            .iter()
            .rev()
            .filter_map(|f| read_json(f))
            .find_map(|v| v.pointer(pointer).and_then(|x| x.as_f64()))
    };
    match agent {
        Agent::Claude => {
            if env_truthy("DISABLE_AUTO_COMPACT") || env_truthy("DISABLE_COMPACT") {
                return Some(None);
            }
            let global = [
                paths.root.join(".claude.json"),
                paths.home.join(".claude.json"),
            ]
            .iter()
            .find_map(|p| read_json(p));
            if global
                .as_ref()
                .and_then(|g| g.get("autoCompactEnabled"))
                .and_then(|v| v.as_bool())
                == Some(false)
            {
                return Some(None);
            }
            let pct =
                env_f64("CLAUDE_AUTOCOMPACT_PCT_OVERRIDE").filter(|p| *p > 0.0 && *p <= 100.0)?;
            let effective = window.saturating_sub(CLAUDE_SUMMARY_RESERVE);
            let by_pct = (effective as f64 * pct / 100.0).floor() as u64;
            Some(Some(
                by_pct.min(effective.saturating_sub(AUTOCOMPACT_BUFFER)),
            ))
        }
        Agent::Qwen => {
            let pct = layered(".qwen", "/context/autoCompactThreshold")
                .filter(|p| *p > 0.0 && *p <= 1.0)?;
            Some(Some(qwen_auto_compact(window, pct)))
        }
        Agent::Gemini => {
            let t = layered(".gemini", "/model/compressionThreshold")
                .filter(|p| *p > 0.0 && *p <= 1.0)?;
            Some(Some((window as f64 * t).floor() as u64))
        }
        Agent::Codex => {
            let text = std::fs::read_to_string(paths.root.join("config.toml")).ok()?;
            // A top-level key: before the first [table].
            text.lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with('['))
                .find_map(|l| {
                    let (k, v) = l.split_once('=')?;
                    (k.trim() == "model_auto_compact_token_limit")
                        .then(|| {
                            v.split('#')
                                .next()?
                                .trim()
                                .replace('_', "")
                                .parse::<u64>()
                                .ok()
                        })
                        .flatten()
                })
                .map(Some)
        }
    }
}

pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round1(part as f64 * 100.0 / whole as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(model: Option<&str>, window: Option<u64>) -> ScanState {
        ScanState {
            model: model.map(str::to_string),
            context_window: window,
            ..Default::default()
        }
    }

    #[test]
    fn windows_come_from_the_record_then_the_table_then_the_default() {
        assert_eq!(
            window_for(Agent::Qwen, &st(Some("qwen3-coder-plus"), Some(40_000))),
            (40_000, WindowSource::Recorded)
        );
        assert_eq!(
            window_for(Agent::Claude, &st(Some("claude-opus-5-5"), None)),
            (1_000_000, WindowSource::ModelTable)
        );
        assert_eq!(
            window_for(Agent::Claude, &st(Some("claude-sonnet-4-5-20250929"), None)),
            (200_000, WindowSource::ModelTable)
        );
        assert_eq!(
            window_for(Agent::Claude, &st(Some("claude-sonnet-4-5[1m]"), None)),
            (1_000_000, WindowSource::ModelTable)
        );
        assert_eq!(
            window_for(Agent::Claude, &st(None, None)),
            (200_000, WindowSource::Default)
        );
        assert_eq!(
            window_for(Agent::Gemini, &st(Some("gemini-3.8-flash"), None)),
            (1_048_576, WindowSource::ModelTable)
        );
        assert_eq!(
            window_for(Agent::Gemini, &st(Some("gemma-4-31b-it"), None)),
            (256_000, WindowSource::ModelTable)
        );
        assert_eq!(
            window_for(Agent::Codex, &st(Some("gpt-5.5"), None)),
            (258_400, WindowSource::ModelTable)
        );
        assert_eq!(
            window_for(Agent::Codex, &st(Some("my-local-model"), None)),
            (258_400, WindowSource::Default)
        );
        assert_eq!(
            window_for(Agent::Qwen, &st(Some("qwen3-max-preview"), None)),
            (262_144, WindowSource::ModelTable)
        );
        assert_eq!(
            window_for(Agent::Qwen, &st(Some("qwen3.5-plus"), None)),
            (1_000_000, WindowSource::ModelTable)
        );
    }

    #[test]
    fn agent_settings_move_the_auto_compaction_point() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        let ws = d.path().join("ws");
        std::fs::create_dir_all(root.join("x")).unwrap();
        std::fs::create_dir_all(ws.join(".qwen")).unwrap();
        let paths = SettingsPaths {
            root: root.clone(),
            home: d.path().to_path_buf(),
            workspace: vec![ws.clone()],
        };
        // Nothing configured: the defaults apply.
        for a in [Agent::Qwen, Agent::Codex, Agent::Gemini] {
            assert_eq!(configured_auto_compact(a, 1_000_000, &paths), None);
        }
        std::fs::write(
            root.join("settings.json"),
            r#"{"context":{"autoCompactThreshold":0.5},"model":{"compressionThreshold":0.7}}"#,
        )
        .unwrap();
        assert_eq!(
            configured_auto_compact(Agent::Qwen, 1_000_000, &paths),
            Some(Some(500_000))
        );
        assert_eq!(
            configured_auto_compact(Agent::Gemini, 1_048_576, &paths),
            Some(Some(734_003))
        );
        // The workspace's settings win.
        std::fs::write(
            ws.join(".qwen/settings.json"),
            r#"{"context":{"autoCompactThreshold":0.6}}"#,
        )
        .unwrap();
        assert_eq!(
            configured_auto_compact(Agent::Qwen, 1_000_000, &paths),
            Some(Some(600_000))
        );
        std::fs::write(root.join("config.toml"), "model = \"gpt-5.5\"\nmodel_auto_compact_token_limit = 100_000 # small\n[tools]\nx = 1\n").unwrap();
        assert_eq!(
            configured_auto_compact(Agent::Codex, 258_400, &paths),
            Some(Some(100_000))
        );
        std::fs::write(
            d.path().join(".claude.json"),
            r#"{"autoCompactEnabled":false}"#,
        )
        .unwrap();
        assert_eq!(
            configured_auto_compact(Agent::Claude, 1_000_000, &paths),
            Some(None)
        );
    }

    #[test]
    fn auto_compaction_follows_each_agent() {
        let s = ScanState::default();
        assert_eq!(auto_compact_at(Agent::Claude, 1_000_000, &s), Some(967_000));
        assert_eq!(auto_compact_at(Agent::Claude, 200_000, &s), Some(167_000));
        assert_eq!(auto_compact_at(Agent::Qwen, 1_000_000, &s), Some(850_000));
        // The fixture that auto-compressed: 40k window, last prompt 8,876 tokens ≥ 7,000.
        assert_eq!(auto_compact_at(Agent::Qwen, 40_000, &s), Some(7_000));
        assert_eq!(auto_compact_at(Agent::Codex, 258_400, &s), Some(244_800));
        assert_eq!(auto_compact_at(Agent::Gemini, 1_048_576, &s), Some(524_288));
        assert_eq!(percent(5_512, 1_000_000), 0.6);
        assert_eq!(percent(1, 0), 0.0);
    }
}
