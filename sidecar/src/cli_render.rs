//! Human-readable rendering of history pages for the terminal: one block per message, tool
//! calls on one line, tool output and thinking cut to a few lines (`--json` has everything).

use crate::protocol::{ContentBlock, HistoryItem, HistoryPage, Role};
use std::fmt::Write as _;

/// Lines of tool output shown per result.
const RESULT_LINES: usize = 8;
/// Lines of thinking shown per block.
const THINKING_LINES: usize = 4;
/// Characters of a tool call's input shown.
const INPUT_CHARS: usize = 160;

pub fn print_history(page: &HistoryPage) {
    print!("{}", render_history(page));
}

pub fn render_history(page: &HistoryPage) -> String {
    let mut out = String::new();
    if page.has_older {
        if let Some(c) = &page.older_cursor {
            let _ = writeln!(out, "… older messages: --before {c}\n");
        }
    }
    if page.items.is_empty() {
        out.push_str("(no messages)\n");
    }
    let mut last_day: Option<&str> = None;
    for item in &page.items {
        render_item(&mut out, item, &mut last_day);
    }
    if page.has_newer {
        if let Some(c) = &page.newer_cursor {
            let _ = writeln!(out, "… newer messages: --after {c}");
        }
    }
    out
}

fn render_item<'a>(out: &mut String, item: &'a HistoryItem, last_day: &mut Option<&'a str>) {
    if let [ContentBlock::Compaction {
        trigger,
        pre_tokens,
        post_tokens,
    }] = item.content.as_slice()
    {
        let tokens = match (pre_tokens, post_tokens) {
            (Some(a), Some(b)) => format!(": {a} → {b} tokens"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "═══ conversation compacted ({}){tokens} ═══  {}\n",
            trigger.as_deref().unwrap_or("?"),
            item.id
        );
        return;
    }
    let who = match item.role {
        Role::User => "USER",
        Role::Assistant => "ASSISTANT",
        Role::System => "SYSTEM",
        Role::Tool => "TOOL",
    };
    // "2026-11-21T06:23:04.732Z" → the date once, then the time.
    let ts = item.timestamp.as_deref().unwrap_or("");
    let (day, time) = ts.split_once('T').unwrap_or(("", ts));
    let time = time.get(..8).unwrap_or(time);
    let when = if Some(day) != *last_day && !day.is_empty() {
        *last_day = Some(day);
        format!("{day} {time}")
    } else {
        time.to_string()
    };
    let model = item
        .model
        .as_deref()
        .map(|m| format!(" · {m}"))
        .unwrap_or_default();
    let _ = writeln!(out, "── {who} · {when}{model} · {}", item.id);
    for b in &item.content {
        match b {
            ContentBlock::Text { text } => indent(out, "", text, usize::MAX),
            ContentBlock::Thinking { text } => indent(out, "(thinking) ", text, THINKING_LINES),
            ContentBlock::ToolUse { name, input, .. } => {
                let _ = writeln!(out, "  → {name}  {}", summarize_input(input));
            }
            ContentBlock::ToolResult {
                content, is_error, ..
            } => {
                let mark = if *is_error { "✗ " } else { "← " };
                indent(out, mark, content, RESULT_LINES);
            }
            ContentBlock::Image { media_type } => {
                let _ = writeln!(out, "  [image {}]", media_type.as_deref().unwrap_or(""));
            }
            ContentBlock::Compaction { .. } => {}
        }
    }
    if item.truncated {
        let _ = writeln!(
            out,
            "  (cut here: `--json` with sessions/message {} shows it whole)",
            item.id
        );
    }
    out.push('\n');
}

/// Indent `text` by two spaces, the first line prefixed, at most `max` lines.
fn indent(out: &mut String, first: &str, text: &str, max: usize) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().take(max).enumerate() {
        let p = if i == 0 { first } else { "" };
        let _ = writeln!(out, "  {p}{l}");
    }
    if lines.len() > max {
        let _ = writeln!(out, "  … {} more lines", lines.len() - max);
    }
    if lines.is_empty() && !first.is_empty() {
        let _ = writeln!(out, "  {}", first.trim_end());
    }
}

/// A tool call's input on one line: its command, path or pattern when it has one, else JSON.
fn summarize_input(input: &serde_json::Value) -> String {
    let pick = [
        "command",
        "file_path",
        "path",
        "pattern",
        "url",
        "query",
        "description",
    ]
    .iter()
    .find_map(|k| input.get(*k).and_then(|v| v.as_str()));
    let s = match pick {
        Some(s) => s.replace('\n', " ⏎ "),
        None => input.to_string(),
    };
    if s.chars().count() > INPUT_CHARS {
        let cut: String = s.chars().take(INPUT_CHARS).collect();
        format!("{cut}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_tools_compaction_and_hints() {
        let item = |id: &str, role, content| HistoryItem {
            id: id.into(),
            parent_id: None,
            role,
            timestamp: Some("2026-11-21T06:23:04.732Z".into()),
            model: None,
            usage: None,
            content,
            truncated: false,
        };
        let page = HistoryPage {
            items: vec![
                item(
                    "a",
                    Role::Assistant,
                    vec![ContentBlock::ToolUse {
                        id: "t".into(),
                        name: "Bash".into(),
                        input: serde_json::json!({"command": "npm test", "description": "x"}),
                    }],
                ),
                item(
                    "b",
                    Role::Tool,
                    vec![ContentBlock::ToolResult {
                        tool_use_id: "t".into(),
                        content: (0..20).map(|i| format!("line {i}\n")).collect(),
                        is_error: false,
                    }],
                ),
                item(
                    "c",
                    Role::System,
                    vec![ContentBlock::Compaction {
                        trigger: Some("auto".into()),
                        pre_tokens: Some(10),
                        post_tokens: Some(2),
                    }],
                ),
            ],
            older_cursor: Some("OLD".into()),
            newer_cursor: None,
            has_older: true,
            has_newer: false,
        };
        let s = render_history(&page);
        assert!(s.contains("--before OLD"), "{s}");
        assert!(s.contains("→ Bash  npm test"), "{s}");
        assert!(s.contains("… 12 more lines"), "{s}");
        assert!(s.contains("compacted (auto): 10 → 2 tokens"), "{s}");
        assert_eq!(s.matches("2026-11-21").count(), 1, "{s}");
    }
}
