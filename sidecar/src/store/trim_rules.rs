//! The rules every agent's trim fork follows (`sessions/compress {strategy:"trim"}`), shared so
//! that Claude, Qwen, Codex and Gemini forks elide the same things and name them the same way:
//!
//! * the history is cut into turns at the user's own prompts; everything before the first prompt
//!   of the last `keepTurns` turns is "old" (`keepTurns: 0` makes every turn old, but thinking
//!   is still kept in the last turn, which the model may be continuing);
//! * an old tool result, or an old tool-call input string (a file written, a patch), larger than
//!   `minBytes` becomes one line: `[elided by session-sidecar: 48.2 KB Read result of src/app.ts]`;
//!   the call and its result both stay, so every tool call keeps its matching result;
//! * old thinking / reasoning is dropped;
//! * tokens before/after are estimated as model-visible bytes / 4.

/// Marks every placeholder the trim writes (tests and users grep for it).
pub const PLACEHOLDER_PREFIX: &str = "[elided by session-sidecar: ";

pub fn human_size(n: usize) -> String {
    if n < 1024 {
        format!("{n} bytes")
    } else if n < 1024 * 1024 {
        format!("{:.1} KB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    }
}

/// The one-line stand-in for `size` bytes of `what` ("Read result of src/app.ts").
pub fn placeholder(size: usize, what: &str) -> String {
    format!("{PLACEHOLDER_PREFIX}{} {what}]", human_size(size))
}

/// Whitespace collapsed, at most `max` characters (then "…").
pub fn one_line(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        s
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// Path relative to the session's cwd when it lies inside it.
pub fn short_path(p: &str, cwd: Option<&str>) -> String {
    if let Some(c) = cwd {
        if let Some(rest) = p.strip_prefix(c).and_then(|r| r.strip_prefix('/')) {
            if !rest.is_empty() {
                return rest.to_string();
            }
        }
    }
    p.to_string()
}

/// Where the kept turns start, given the positions of the user's prompts (ascending) in a
/// sequence of `len` items. Items at positions before `old_before` are trimmed; thinking is
/// dropped only before `thinking_before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoff {
    pub old_before: usize,
    pub thinking_before: usize,
}

pub fn cutoff(prompts: &[usize], keep_turns: u32, len: usize) -> Cutoff {
    let keep = keep_turns as usize;
    let n = prompts.len();
    if keep == 0 {
        return Cutoff {
            old_before: len,
            thinking_before: prompts.last().copied().unwrap_or(0),
        };
    }
    let at = if keep >= n { 0 } else { prompts[n - keep] };
    Cutoff {
        old_before: at,
        thinking_before: at,
    }
}

/// A short description of a tool call's target for placeholders, from its arguments: a file
/// path, else a command, else a pattern/url/query/description.
pub fn tool_target(args: &serde_json::Value) -> Option<String> {
    [
        "file_path",
        "absolute_path",
        "notebook_path",
        "path",
        "dir_path",
    ]
    .iter()
    .find_map(|k| args[*k].as_str().map(|s| one_line(s, 120)))
    .or_else(|| match &args["command"] {
        serde_json::Value::String(c) => Some(format!("`{}`", one_line(c, 60))),
        serde_json::Value::Array(parts) => {
            let c: Vec<&str> = parts.iter().filter_map(|p| p.as_str()).collect();
            (!c.is_empty()).then(|| format!("`{}`", one_line(&c.join(" "), 60)))
        }
        _ => None,
    })
    .or_else(|| {
        ["pattern", "url", "query", "description"]
            .iter()
            .find_map(|k| args[*k].as_str().map(|s| one_line(s, 60)))
    })
}

/// "<tool> result of <target>" (target shortened against the session's cwd).
pub fn describe_result(name: &str, target: Option<&str>, cwd: Option<&str>) -> String {
    match target {
        Some(t) if !t.starts_with('`') => format!("{name} result of {}", short_path(t, cwd)),
        Some(t) => format!("{name} result of {t}"),
        None => format!("{name} result"),
    }
}

/// The target as a placeholder shows it: a path relative to the cwd, a `command` as it is.
pub fn short_target(target: Option<&str>, cwd: Option<&str>) -> Option<String> {
    target.map(|t| {
        if t.starts_with('`') {
            t.to_string()
        } else {
            short_path(t, cwd)
        }
    })
}

/// Replaces every string argument of a tool call larger than `min_bytes` (a written file's
/// content, a patch) with a placeholder "<tool> <key> for <target>"; the arguments stay an
/// object with the same keys. Returns whether anything changed.
pub fn elide_input_strings(
    name: &str,
    target: Option<&str>,
    args: &mut serde_json::Map<String, serde_json::Value>,
    min_bytes: usize,
) -> bool {
    let mut changed = false;
    for (k, val) in args.iter_mut() {
        if let serde_json::Value::String(s) = val {
            if s.len() > min_bytes {
                let what = match target {
                    Some(t) => format!("{name} {k} for {t}"),
                    None => format!("{name} {k}"),
                };
                *val = serde_json::Value::String(placeholder(s.len(), &what));
                changed = true;
            }
        }
    }
    changed
}

/// The record a trim appends to its fork: the estimated context, which the summary uses until the
/// agent records a turn of its own. Every CLI ignores it: a Claude metadata row of unknown type; for
/// Qwen and Gemini a line without `uuid`/`id`; for Codex a record of unknown type without an
/// ordinal (Codex numbers its next line after its own last one, so an ordinal here would only be
/// repeated). It always starts with this prefix.
pub const ESTIMATE_PREFIX: &str = "{\"type\":\"session-sidecar-trim\",\"estimatedTokens\":";

/// The estimate record for a fork of `agent` (Claude rows carry the session id, as all of its
/// metadata rows do).
pub fn estimate_record(agent: crate::protocol::Agent, session_id: &str, tokens: u64) -> String {
    let now = serde_json::Value::from(crate::time::now_iso());
    match agent {
        crate::protocol::Agent::Claude => format!(
            "{ESTIMATE_PREFIX}{tokens},\"sessionId\":{},\"timestamp\":{now}}}",
            serde_json::Value::from(session_id)
        ),
        _ => format!("{ESTIMATE_PREFIX}{tokens},\"timestamp\":{now}}}"),
    }
}

/// Appends the estimate record to a fork the trim just wrote (one write; nobody else has the file).
pub fn append_estimate(file: &super::SessionFile, tokens: u64) -> crate::error::Result<()> {
    let line = estimate_record(file.agent, &file.id, tokens);
    super::agent_util::append_record(&file.path, line.as_bytes())
}

/// The estimated tokens of a line written by `estimate_record`.
pub fn estimate_in(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(ESTIMATE_PREFIX.as_bytes())?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// Tokens estimated from model-visible bytes.
pub fn estimate_tokens(bytes: u64) -> u64 {
    bytes / 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cutoff_keeps_the_last_turns() {
        let p = [0, 5, 9, 14];
        assert_eq!(cutoff(&p, 4, 20).old_before, 0);
        assert_eq!(cutoff(&p, 9, 20).old_before, 0);
        assert_eq!(cutoff(&p, 1, 20).old_before, 14);
        assert_eq!(cutoff(&p, 2, 20).old_before, 9);
        let all = cutoff(&p, 0, 20);
        assert_eq!(all.old_before, 20);
        assert_eq!(all.thinking_before, 14);
        assert_eq!(
            cutoff(&[], 0, 7),
            Cutoff {
                old_before: 7,
                thinking_before: 0
            }
        );
        assert_eq!(cutoff(&[], 3, 7).old_before, 0);
    }

    #[test]
    fn estimate_records_read_back() {
        use crate::protocol::Agent;
        for agent in [Agent::Claude, Agent::Qwen, Agent::Codex, Agent::Gemini] {
            let line = estimate_record(agent, "abc", 1234);
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["type"], "session-sidecar-trim");
            assert_eq!(estimate_in(line.as_bytes()), Some(1234));
            assert!(v.get("uuid").is_none() && v.get("id").is_none());
            assert_eq!(v.get("sessionId").is_some(), agent == Agent::Claude);
            assert!(v.get("ordinal").is_none());
        }
        assert_eq!(estimate_in(br#"{"type":"user","estimatedTokens":5}"#), None);
        assert_eq!(
            estimate_in(br#"{"type":"session-sidecar-trim","estimatedTokens":x}"#),
            None
        );
    }

    #[test]
    fn placeholders_name_what_was_elided() {
        assert_eq!(
            placeholder(49_357, "Read result of src/app.ts"),
            "[elided by session-sidecar: 48.2 KB Read result of src/app.ts]"
        );
        let t = tool_target(&json!({"file_path": "/home/dev/acme-webapp/src/app.ts"}));
        assert_eq!(
            describe_result("Read", t.as_deref(), Some("/home/dev/acme-webapp")),
            "Read result of src/app.ts"
        );
        let t = tool_target(&json!({"command": ["bash", "-lc", "npm   test"]}));
        assert_eq!(t.as_deref(), Some("`bash -lc npm test`"));
        assert_eq!(describe_result("shell", None, None), "shell result");
        assert_eq!(one_line("a\n\n b", 10), "a b");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
