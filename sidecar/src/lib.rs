//! session-sidecar: tracks the coding-agent sessions of a workspace (Claude Code, Qwen Code,
//! Codex, Gemini CLI) and serves them to editors over LSP-framed JSON-RPC on stdio.

pub mod agent_exe;
pub mod cache;
pub mod cli;
pub mod cli_render;
pub mod config;
pub mod context_window;
pub mod cursor;
pub mod engine;
pub mod error;
pub mod framing;
pub mod fsutil;
pub mod git;
pub mod git_watch;
pub mod handlers;
pub mod ids;
pub mod index;
pub mod json_members;
pub mod logging;
pub mod protocol;
pub mod server;
pub mod store;
pub mod summary;
pub mod time;
pub mod transcript;
pub mod trash;
pub mod unicode_strip;
pub mod watcher;
pub mod workspace;

pub use engine::Sidecar;
