//! Human-readable rendering of history pages for the terminal.

use crate::protocol::{ContentBlock, HistoryPage, Role};

pub fn print_history(page: &HistoryPage) {
    if page.has_older {
        if let Some(c) = &page.older_cursor {
            println!("… older messages: --before {c}\n");
        }
    }
    for item in &page.items {
        let who = match item.role {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
            Role::Tool => "tool",
        };
        let ts = item.timestamp.as_deref().unwrap_or("");
        println!("── {who} · {ts} · {}", item.id);
        for b in &item.content {
            match b {
                ContentBlock::Text { text } => println!("{text}"),
                ContentBlock::Thinking { text } => println!("(thinking) {text}"),
                ContentBlock::ToolUse { name, input, .. } => println!("→ {name} {input}"),
                ContentBlock::ToolResult {
                    content, is_error, ..
                } => {
                    println!("{} {}", if *is_error { "✗" } else { "←" }, content)
                }
                ContentBlock::Image { media_type } => {
                    println!("[image {}]", media_type.as_deref().unwrap_or(""))
                }
                ContentBlock::Compaction {
                    trigger,
                    pre_tokens,
                    post_tokens,
                } => println!(
                    "═══ compacted ({}) {} → {} tokens ═══",
                    trigger.as_deref().unwrap_or("?"),
                    pre_tokens.map(|t| t.to_string()).unwrap_or_default(),
                    post_tokens.map(|t| t.to_string()).unwrap_or_default()
                ),
            }
        }
        if item.truncated {
            println!("(truncated — session-sidecar history --json / sessions/message for the whole message)");
        }
        println!();
    }
    if page.has_newer {
        if let Some(c) = &page.newer_cursor {
            println!("… newer messages: --after {c}");
        }
    }
}
