//! The command line: the same handlers as the server, printed as a table or, with `--json`,
//! exactly the protocol result.

use crate::config::Config;
use crate::error::SidecarError;
use crate::protocol::{self as p, Agent, InitializationOptions, SessionRef, SessionSummary};
use crate::{handlers, Sidecar};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "session-sidecar",
    version,
    about = "Tracks coding-agent sessions (Claude Code, Qwen Code, Codex, Gemini CLI) of a workspace and serves them to editors over JSON-RPC on stdio",
    long_about = None
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Treat DIR as the user's home (where .claude, .qwen, .codex, .gemini live).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The workspace folder (default: the current directory). It need not exist.
    #[arg(long, global = true, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Only these agents (repeatable): claude, qwen, codex, gemini.
    #[arg(long = "agent", global = true, value_name = "AGENT", value_parser = parse_agent)]
    pub agents: Vec<Agent>,
}

fn parse_agent(s: &str) -> Result<Agent, String> {
    Agent::parse(s)
        .ok_or_else(|| format!("unknown agent {s:?} (expected claude, qwen, codex or gemini)"))
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Speak JSON-RPC (LSP framing) on stdin/stdout (the default).
    Serve,
    /// List sessions, newest first.
    List {
        /// Every session of every project, not just the workspace's.
        #[arg(long)]
        all: bool,
        /// Only sessions on this git branch.
        #[arg(long)]
        branch: Option<String>,
        /// Case-insensitive text to look for in titles, prompts, ids and branches.
        #[arg(long)]
        query: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        /// Print the protocol result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// One session's summary.
    Info {
        /// A full id, `agent:id`, or a unique prefix of at least 8 characters.
        session: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn build_sidecar(g: &GlobalArgs) -> Arc<Sidecar> {
    let opts = InitializationOptions {
        home: g.home.as_ref().map(|h| h.to_string_lossy().into_owned()),
        agents: if g.agents.is_empty() {
            None
        } else {
            Some(g.agents.clone())
        },
        ..Default::default()
    };
    let ws = g
        .workspace
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"));
    Sidecar::new(Config::resolve(&opts, vec![ws]))
}

fn print_json<T: Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("serializable"));
}

/// Run a CLI command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let Some(cmd) = cli.command else { return 0 };
    let sc = build_sidecar(&cli.global);
    let result: Result<(), SidecarError> = (|| {
        match cmd {
            Command::Serve => unreachable!("handled by main"),
            Command::List {
                all,
                branch,
                query,
                limit,
                json,
            } => {
                let r = handlers::list::list(
                    &sc,
                    p::ListParams {
                        scope: if all {
                            p::Scope::All
                        } else {
                            p::Scope::Workspace
                        },
                        agents: None,
                        branch,
                        query,
                        limit: Some(limit.unwrap_or(handlers::list::MAX_LIMIT)),
                        cursor: None,
                    },
                )?;
                // The CLI shows exact counts: read whole what a cold list read head-and-tail.
                let r = if r.items.iter().any(|s| !s.counts_exact) {
                    sc.complete_counts();
                    handlers::list::list(
                        &sc,
                        p::ListParams {
                            scope: if all {
                                p::Scope::All
                            } else {
                                p::Scope::Workspace
                            },
                            limit: Some(limit.unwrap_or(handlers::list::MAX_LIMIT)),
                            ..Default::default()
                        },
                    )?
                } else {
                    r
                };
                if json {
                    print_json(&r);
                } else {
                    print_table(&r.items);
                }
            }
            Command::Info { session, json } => {
                let s = handlers::info::info(
                    &sc,
                    p::SessionParams {
                        session: SessionRef::Text(session),
                    },
                )?;
                if json {
                    print_json(&s);
                } else {
                    print_info(&s);
                }
            }
        }
        sc.save_cache_if_dirty();
        Ok(())
    })();
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("session-sidecar: {}", e.message);
            match e.code {
                p::ErrorCode::SessionNotFound | p::ErrorCode::NoSession => 3,
                p::ErrorCode::InvalidParams
                | p::ErrorCode::InvalidSessionId
                | p::ErrorCode::AmbiguousSession => 2,
                _ => 1,
            }
        }
    }
}

pub fn age(iso: &str) -> String {
    let Some(ms) = crate::time::parse_ms(iso) else {
        return "?".into();
    };
    let secs = ((crate::time::now_ms() - ms) / 1000).max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s if s < 86400 * 365 => format!("{}d", s / 86400),
        s => format!("{}y", s / (86400 * 365)),
    }
}

pub fn human_tokens(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{}k", n / 1000),
        n => n.to_string(),
    }
}

fn clip(s: &str, w: usize) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() <= w {
        format!("{s:<w$}")
    } else {
        let mut t: String = s.chars().take(w - 1).collect();
        t.push('…');
        t
    }
}

fn print_table(items: &[SessionSummary]) {
    if items.is_empty() {
        println!("no sessions");
        return;
    }
    println!(
        "{}  {:<6}  {:<16}  {:>5}  {:>5}  {:>7}  ID",
        clip("TITLE", 44),
        "AGENT",
        "BRANCH",
        "AGE",
        "MSGS",
        "TOKENS"
    );
    for s in items {
        let tokens =
            s.tokens.input + s.tokens.output + s.tokens.cache_read + s.tokens.cache_creation;
        println!(
            "{}  {:<6}  {}  {:>5}  {:>5}  {:>7}  {}",
            clip(s.title.as_deref().unwrap_or("(untitled)"), 44),
            s.agent.as_str(),
            clip(s.git_branch.as_deref().unwrap_or("-"), 16),
            age(&s.last_modified),
            s.message_count,
            human_tokens(tokens),
            &s.id[..s.id.len().min(8)]
        );
    }
}

fn print_info(s: &SessionSummary) {
    let row = |k: &str, v: &str| println!("{k:<14} {v}");
    row("id", &format!("{}:{}", s.agent.as_str(), s.id));
    row("title", s.title.as_deref().unwrap_or("-"));
    row("first prompt", s.first_prompt.as_deref().unwrap_or("-"));
    row("created", s.created_at.as_deref().unwrap_or("-"));
    row(
        "modified",
        &format!("{} ({} ago)", s.last_modified, age(&s.last_modified)),
    );
    row("cwd", s.cwd.as_deref().unwrap_or("-"));
    row("branch", s.git_branch.as_deref().unwrap_or("-"));
    row("tag", s.tag.as_deref().unwrap_or("-"));
    row("messages", &s.message_count.to_string());
    row("model", s.model.as_deref().unwrap_or("-"));
    row(
        "tokens",
        &format!(
            "in {} · out {} · cache read {} · cache write {}",
            s.tokens.input, s.tokens.output, s.tokens.cache_read, s.tokens.cache_creation
        ),
    );
    if let Some(c) = &s.context {
        row(
            "context",
            &match (c.context_window, c.percent) {
                (Some(w), Some(pc)) => format!(
                    "{} / {} ({pc}%)",
                    human_tokens(c.used_tokens),
                    human_tokens(w)
                ),
                _ => human_tokens(c.used_tokens),
            },
        );
    }
    if let Some(f) = &s.forked_from {
        row("forked from", &f.session_id);
    }
    row("size", &format!("{} bytes", s.size_bytes));
    row("path", &s.path);
}
