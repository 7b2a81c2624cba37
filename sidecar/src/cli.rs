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
    /// A page of a session's conversation (the latest by default).
    History {
        session: String,
        #[arg(long)]
        limit: Option<u32>,
        /// Page older than this cursor.
        #[arg(long)]
        before: Option<String>,
        /// Page newer than this cursor.
        #[arg(long)]
        after: Option<String>,
        /// A subagent transcript of the session.
        #[arg(long)]
        subagent: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Continue a session in its own agent, in this terminal.
    Resume {
        session: String,
        /// Resume into a new session id (the agent's own --fork-session).
        #[arg(long)]
        fork: bool,
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        permission_mode: Option<String>,
        /// Print the argv/cwd/env JSON instead of running the agent.
        #[arg(long)]
        print: bool,
        /// A prompt to send right away.
        prompt: Option<String>,
    },
    /// Continue the most recent session of the workspace (the agent's own --continue choice).
    Continue {
        #[arg(long)]
        branch: Option<String>,
        #[arg(long)]
        print: bool,
    },
    /// Copy a session into a new one (optionally up to a message).
    Fork {
        session: String,
        #[arg(long = "up-to", value_name = "MESSAGE_ID")]
        up_to: Option<String>,
        #[arg(long)]
        title: Option<String>,
        /// Record the fork on this git branch.
        #[arg(long)]
        branch: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Set a session's title (the agent's own rename record).
    Rename {
        session: String,
        title: String,
        #[arg(long)]
        json: bool,
    },
    /// Set (or with --clear, remove) a session's tag.
    Tag {
        session: String,
        tag: Option<String>,
        #[arg(long)]
        clear: bool,
        #[arg(long)]
        json: bool,
    },
    /// Move a session into the sidecar's trash.
    Delete {
        session: String,
        #[arg(long)]
        json: bool,
    },
    /// Put a trashed session back.
    Restore {
        session: String,
        #[arg(long)]
        json: bool,
    },
    /// List the trash.
    Trash {
        #[arg(long)]
        json: bool,
    },
    /// How full the model's context window is.
    Context {
        session: String,
        #[arg(long)]
        json: bool,
    },
    /// Compress a session: `agent` runs the agent's own compaction, `trim` writes a slimmer fork.
    Compress {
        session: String,
        #[arg(long, value_parser = ["agent", "trim"])]
        strategy: String,
        #[arg(long)]
        keep_turns: Option<u32>,
        #[arg(long)]
        min_bytes: Option<u64>,
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
            Command::History {
                session,
                limit,
                before,
                after,
                subagent,
                json,
            } => {
                let page = handlers::history::history(
                    &sc,
                    p::HistoryParams {
                        session: SessionRef::Text(session),
                        limit,
                        before,
                        after,
                        subagent,
                    },
                )?;
                if json {
                    print_json(&page);
                } else {
                    crate::cli_render::print_history(&page);
                }
            }
            Command::Resume {
                session,
                fork,
                model,
                permission_mode,
                print,
                prompt,
            } => {
                let cmd = handlers::resume::resume(
                    &sc,
                    p::ResumeParams {
                        session: SessionRef::Text(session),
                        fork,
                        prompt,
                        model,
                        permission_mode,
                    },
                )?;
                if print {
                    print_json(&cmd);
                } else {
                    return Err(exec_launch(&cmd));
                }
            }
            Command::Continue { branch, print } => {
                let r = handlers::resume::continue_latest(
                    &sc,
                    p::ContinueParams {
                        branch,
                        agent: None,
                    },
                )?;
                if print {
                    print_json(&r);
                } else {
                    return Err(exec_launch(&p::LaunchCommand {
                        argv: r.argv,
                        cwd: r.cwd,
                        env: r.env,
                    }));
                }
            }
            Command::Fork {
                session,
                up_to,
                title,
                branch,
                json,
            } => {
                let r = handlers::fork::fork(
                    &sc,
                    p::ForkParams {
                        session: SessionRef::Text(session),
                        up_to_message: up_to,
                        title,
                        branch,
                    },
                )?;
                print_session_result(&r, json, "forked");
            }
            Command::Rename {
                session,
                title,
                json,
            } => {
                let r = handlers::metadata::rename(
                    &sc,
                    p::RenameParams {
                        session: SessionRef::Text(session),
                        title,
                    },
                )?;
                print_session_result(&r, json, "renamed");
            }
            Command::Tag {
                session,
                tag,
                clear,
                json,
            } => {
                if tag.is_none() && !clear {
                    return Err(SidecarError::invalid_params(
                        "give a TAG, or --clear to remove the tag",
                    ));
                }
                let r = handlers::metadata::tag(
                    &sc,
                    p::TagParams {
                        session: SessionRef::Text(session),
                        tag: if clear { None } else { tag },
                    },
                )?;
                print_session_result(&r, json, "tagged");
            }
            Command::Delete { session, json } => {
                let r = handlers::trash::delete(
                    &sc,
                    p::SessionParams {
                        session: SessionRef::Text(session),
                    },
                )?;
                if json {
                    print_json(&r);
                } else {
                    println!(
                        "moved {}:{} to the trash (restore with: session-sidecar restore {})",
                        r.trashed.agent.as_str(),
                        r.trashed.id,
                        r.trashed.id
                    );
                }
            }
            Command::Restore { session, json } => {
                let r = handlers::trash::restore(
                    &sc,
                    p::SessionParams {
                        session: SessionRef::Text(session),
                    },
                )?;
                print_session_result(&r, json, "restored");
            }
            Command::Trash { json } => {
                let r = handlers::trash::trash(&sc, p::Empty {})?;
                if json {
                    print_json(&r);
                } else if r.items.is_empty() {
                    println!("the trash is empty");
                } else {
                    for t in &r.items {
                        println!(
                            "{}  {:<6}  {}  {}",
                            t.deleted_at,
                            t.agent.as_str(),
                            t.id,
                            t.title.as_deref().unwrap_or("-")
                        );
                    }
                }
            }
            Command::Context { session, json } => {
                let c = handlers::context::context(
                    &sc,
                    p::SessionParams {
                        session: SessionRef::Text(session),
                    },
                )?;
                if json {
                    print_json(&c);
                } else {
                    println!(
                        "{}% · {}/{} tokens · model {} · window from {:?}{}",
                        c.percent,
                        human_tokens(c.used_tokens),
                        human_tokens(c.context_window),
                        c.model.as_deref().unwrap_or("?"),
                        c.source,
                        c.auto_compact_at
                            .map(|a| format!(" · auto-compacts at {}", human_tokens(a)))
                            .unwrap_or_default()
                    );
                }
            }
            Command::Compress {
                session,
                strategy,
                keep_turns,
                min_bytes,
                json,
            } => {
                let strategy = if strategy == "agent" {
                    p::CompressStrategy::Agent
                } else {
                    p::CompressStrategy::Trim
                };
                // Progress (the agent's run can take a minute) goes to a terminal's stderr.
                let mut ctl = handlers::RequestControl::default();
                if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                    ctl.progress = Some(std::sync::Arc::new(
                        |m: String, pct: Option<u32>| match pct {
                            Some(p) => eprintln!("{m} ({p}%)"),
                            None => eprintln!("{m}"),
                        },
                    ));
                }
                let r = handlers::compress::compress(
                    &sc,
                    p::CompressParams {
                        session: SessionRef::Text(session),
                        strategy,
                        keep_turns,
                        min_bytes,
                        work_done_token: None,
                    },
                    &ctl,
                )?;
                if json {
                    print_json(&r);
                } else {
                    println!(
                        "{}:{} · tokens {} → {}{}",
                        r.session.agent.as_str(),
                        r.session.id,
                        human_tokens(r.tokens_before),
                        human_tokens(r.tokens_after),
                        if r.estimated { " (estimated)" } else { "" }
                    );
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

fn print_session_result(r: &p::SessionResult, json: bool, verb: &str) {
    if json {
        print_json(r);
    } else {
        println!(
            "{verb} {}:{}  {}",
            r.session.agent.as_str(),
            r.session.id,
            r.session.title.as_deref().unwrap_or("")
        );
    }
}

/// Replace this process with the agent (argv array, never a shell). Returns only on failure.
fn exec_launch(cmd: &p::LaunchCommand) -> SidecarError {
    use std::os::unix::process::CommandExt;
    let Some((exe, args)) = cmd.argv.split_first() else {
        return SidecarError::internal("empty argv");
    };
    let err = std::process::Command::new(exe)
        .args(args)
        .current_dir(&cmd.cwd)
        .envs(&cmd.env)
        .exec();
    SidecarError::new(
        p::ErrorCode::AgentNotFound,
        format!("cannot run {exe}: {err}"),
    )
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
