//! Wire types of the session-sidecar protocol: the one source of truth.
//!
//! Every request, notification, parameter and result that crosses the wire is declared here.
//! `protocol.md` documents each of them (a test fails when a method, notification, field or
//! error code named here is missing there), and the editor clients mirror them
//! (`editors/vscode/src/protocol.ts`, `editors/nvim/lua/session_sidecar/protocol.lua`).
//!
//! JSON field names are camelCase. Times are ISO 8601 UTC strings.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped on any incompatible change of this file.
pub const PROTOCOL_VERSION: u32 = 1;

/// A request: its method name and its params/result types.
pub trait Request {
    const METHOD: &'static str;
    type Params: serde::de::DeserializeOwned + Serialize;
    type Result: serde::de::DeserializeOwned + Serialize;
}

/// A server-to-client notification.
pub trait Notification {
    const METHOD: &'static str;
    type Params: serde::de::DeserializeOwned + Serialize;
}

macro_rules! request {
    ($name:ident, $method:literal, $params:ty, $result:ty) => {
        #[doc = concat!("`", $method, "`")]
        pub enum $name {}
        impl Request for $name {
            const METHOD: &'static str = $method;
            type Params = $params;
            type Result = $result;
        }
    };
}

macro_rules! notification {
    ($name:ident, $method:literal, $params:ty) => {
        #[doc = concat!("`", $method, "`")]
        pub enum $name {}
        impl Notification for $name {
            const METHOD: &'static str = $method;
            type Params = $params;
        }
    };
}

request!(ListSessions, "sessions/list", ListParams, ListResult);
request!(SessionInfo, "sessions/info", SessionParams, SessionSummary);
request!(History, "sessions/history", HistoryParams, HistoryPage);
request!(Message, "sessions/message", MessageParams, HistoryItem);
request!(
    Subscribe,
    "sessions/subscribe",
    SubscribeParams,
    SubscribeResult
);
request!(
    Unsubscribe,
    "sessions/unsubscribe",
    UnsubscribeParams,
    Empty
);
request!(
    Subagents,
    "sessions/subagents",
    SessionParams,
    SubagentsResult
);
request!(Resume, "sessions/resume", ResumeParams, LaunchCommand);
request!(
    Continue,
    "sessions/continue",
    ContinueParams,
    ContinueResult
);
request!(Fork, "sessions/fork", ForkParams, SessionResult);
request!(Rename, "sessions/rename", RenameParams, SessionResult);
request!(Tag, "sessions/tag", TagParams, SessionResult);
request!(Delete, "sessions/delete", SessionParams, TrashResult);
request!(Restore, "sessions/restore", SessionParams, SessionResult);
request!(Trash, "sessions/trash", Empty, TrashListResult);
request!(Context, "sessions/context", SessionParams, ContextStatus);
request!(
    Compress,
    "sessions/compress",
    CompressParams,
    CompressResult
);

notification!(SessionsChanged, "sessions/changed", ChangedParams);
notification!(Appended, "sessions/appended", AppendedParams);
notification!(ContextUsage, "sessions/contextUsage", ContextUsageParams);
notification!(BranchChanged, "sessions/branchChanged", BranchChangedParams);

/// Every request method this build serves, in documentation order.
pub const REQUEST_METHODS: &[&str] = &[
    ListSessions::METHOD,
    SessionInfo::METHOD,
    History::METHOD,
    Message::METHOD,
    Subscribe::METHOD,
    Unsubscribe::METHOD,
    Subagents::METHOD,
    Resume::METHOD,
    Continue::METHOD,
    Fork::METHOD,
    Rename::METHOD,
    Tag::METHOD,
    Delete::METHOD,
    Restore::METHOD,
    Trash::METHOD,
    Context::METHOD,
    Compress::METHOD,
];

/// Every notification this build sends.
pub const NOTIFICATION_METHODS: &[&str] = &[
    SessionsChanged::METHOD,
    Appended::METHOD,
    ContextUsage::METHOD,
    BranchChanged::METHOD,
];

// ---------------------------------------------------------------------------------------------
// Errors

/// Stable error codes. JSON-RPC reserves -32768..-32000 and LSP -32899..-32800, so the
/// sidecar's own codes are positive; the standard ones keep their standard numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorCode {
    /// -32602: a parameter is missing, of the wrong type or out of range.
    InvalidParams,
    /// -32603: a bug in the sidecar; the message says what.
    InternalError,
    /// -32800: the client cancelled the request.
    RequestCancelled,
    /// 1001: no session with that id (or prefix) in the enabled stores.
    SessionNotFound,
    /// 1002: a prefix or bare id matches more than one session.
    AmbiguousSession,
    /// 1003: the session id is malformed (path separators, `..`, NUL, too long, not hex).
    InvalidSessionId,
    /// 1004: a history cursor that was not issued by this sidecar or is malformed.
    InvalidCursor,
    /// 1005: a history cursor from a file that was since rewritten or truncated.
    StaleCursor,
    /// 1006: a store or session file could not be read.
    StoreUnreadable,
    /// 1007: the session file ends in a torn (unterminated) line; appending now would glue onto it.
    TornLastLine,
    /// 1008: writing failed (read-only store, disk full, permissions); nothing was changed.
    WriteFailed,
    /// 1009: the agent's executable was not found (the message names the setting).
    AgentNotFound,
    /// 1010: the session's recorded working directory no longer exists.
    CwdMissing,
    /// 1011: this agent does not support the operation.
    NotSupported,
    /// 1012: the agent's own process failed (compression run); the message has its stderr tail.
    AgentFailed,
    /// 1013: the agent is disabled in initializationOptions.
    AgentDisabled,
    /// 1014: the trash has no such session, or restoring would overwrite an existing file.
    TrashConflict,
    /// 1015: the message id is not in that session.
    MessageNotFound,
    /// 1016: no session matches (continue with no candidate).
    NoSession,
}

impl ErrorCode {
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidParams,
        ErrorCode::InternalError,
        ErrorCode::RequestCancelled,
        ErrorCode::SessionNotFound,
        ErrorCode::AmbiguousSession,
        ErrorCode::InvalidSessionId,
        ErrorCode::InvalidCursor,
        ErrorCode::StaleCursor,
        ErrorCode::StoreUnreadable,
        ErrorCode::TornLastLine,
        ErrorCode::WriteFailed,
        ErrorCode::AgentNotFound,
        ErrorCode::CwdMissing,
        ErrorCode::NotSupported,
        ErrorCode::AgentFailed,
        ErrorCode::AgentDisabled,
        ErrorCode::TrashConflict,
        ErrorCode::MessageNotFound,
        ErrorCode::NoSession,
    ];

    pub fn code(self) -> i64 {
        match self {
            ErrorCode::InvalidParams => -32602,
            ErrorCode::InternalError => -32603,
            ErrorCode::RequestCancelled => -32800,
            ErrorCode::SessionNotFound => 1001,
            ErrorCode::AmbiguousSession => 1002,
            ErrorCode::InvalidSessionId => 1003,
            ErrorCode::InvalidCursor => 1004,
            ErrorCode::StaleCursor => 1005,
            ErrorCode::StoreUnreadable => 1006,
            ErrorCode::TornLastLine => 1007,
            ErrorCode::WriteFailed => 1008,
            ErrorCode::AgentNotFound => 1009,
            ErrorCode::CwdMissing => 1010,
            ErrorCode::NotSupported => 1011,
            ErrorCode::AgentFailed => 1012,
            ErrorCode::AgentDisabled => 1013,
            ErrorCode::TrashConflict => 1014,
            ErrorCode::MessageNotFound => 1015,
            ErrorCode::NoSession => 1016,
        }
    }

    /// The stable name carried in `error.data.kind`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidParams => "invalidParams",
            ErrorCode::InternalError => "internalError",
            ErrorCode::RequestCancelled => "requestCancelled",
            ErrorCode::SessionNotFound => "sessionNotFound",
            ErrorCode::AmbiguousSession => "ambiguousSession",
            ErrorCode::InvalidSessionId => "invalidSessionId",
            ErrorCode::InvalidCursor => "invalidCursor",
            ErrorCode::StaleCursor => "staleCursor",
            ErrorCode::StoreUnreadable => "storeUnreadable",
            ErrorCode::TornLastLine => "tornLastLine",
            ErrorCode::WriteFailed => "writeFailed",
            ErrorCode::AgentNotFound => "agentNotFound",
            ErrorCode::CwdMissing => "cwdMissing",
            ErrorCode::NotSupported => "notSupported",
            ErrorCode::AgentFailed => "agentFailed",
            ErrorCode::AgentDisabled => "agentDisabled",
            ErrorCode::TrashConflict => "trashConflict",
            ErrorCode::MessageNotFound => "messageNotFound",
            ErrorCode::NoSession => "noSession",
        }
    }
}

/// `error.data` of every sidecar error: `{"kind": "<ErrorCode name>"}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorData {
    pub kind: String,
}

// ---------------------------------------------------------------------------------------------
// initialize

/// `initializationOptions` of the `initialize` request. Every field is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct InitializationOptions {
    /// Treat this directory as the user's home (where `.claude`, `.qwen`, … live).
    pub home: Option<String>,
    /// Agents to serve; all four when absent.
    pub agents: Option<Vec<Agent>>,
    /// Per-agent store roots (the directory that holds `projects/` for Claude and Qwen,
    /// `sessions/` for Codex, `tmp/` + `projects.json` for Gemini). Win over `home` and env.
    pub store_roots: BTreeMap<Agent, String>,
    /// Per-agent executable paths for resume/compress; else looked up on PATH.
    pub agent_paths: BTreeMap<Agent, String>,
    /// Workspace folder override; else the initialize `workspaceFolders` / `rootUri`.
    pub workspace: Option<String>,
    /// What to do when the workspace's git branch changes.
    pub fork_on_checkout: Option<ForkOnCheckout>,
    /// History text blocks longer than this many bytes are truncated (default 16384).
    pub truncate_bytes: Option<usize>,
    /// Log message content at debug level (default false: logs never carry conversation text).
    pub log_content: Option<bool>,
}

/// `capabilities.experimental.sessionSidecar` in the initialize result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SidecarCapabilities {
    pub protocol_version: u32,
    pub version: String,
    pub methods: Vec<String>,
    pub notifications: Vec<String>,
    pub agents: Vec<Agent>,
}

/// `workspace/didChangeConfiguration` settings: `{"settings": {"sessionSidecar": {...}}}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct SidecarSettings {
    pub fork_on_checkout: Option<ForkOnCheckout>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ForkOnCheckout {
    Off,
    #[default]
    Ask,
    Auto,
}

// ---------------------------------------------------------------------------------------------
// Sessions

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Agent {
    Claude,
    Qwen,
    Codex,
    Gemini,
}

impl Agent {
    pub const ALL: [Agent; 4] = [Agent::Claude, Agent::Qwen, Agent::Codex, Agent::Gemini];
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Qwen => "qwen",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
        }
    }
    pub fn parse(s: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// How a request names a session: `"agent:id"`, a full id, a unique prefix of at least 8
/// characters, or `{"agent": …, "id": …}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum SessionRef {
    Text(String),
    Qualified { agent: Agent, id: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionParams {
    pub session: SessionRef,
}

/// One session, as lists show it. Fields an agent does not record are null.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    pub id: String,
    pub agent: Agent,
    /// custom title > AI title > last prompt > summary > first prompt (the SDK's precedence).
    pub title: Option<String>,
    /// The user's title only (rename / `-n`), null when none.
    pub custom_title: Option<String>,
    pub first_prompt: Option<String>,
    pub created_at: Option<String>,
    pub last_modified: String,
    pub size_bytes: u64,
    pub cwd: Option<String>,
    pub git_branch: Option<String>,
    pub tag: Option<String>,
    /// User and assistant messages on the file (exact once `countsExact`).
    pub message_count: u64,
    /// False while only the head and tail of a large file were read; an update follows.
    pub counts_exact: bool,
    pub model: Option<String>,
    pub tokens: TokenTotals,
    /// The latest context fill the agent recorded, null before the first model turn.
    pub context: Option<ContextFill>,
    pub forked_from: Option<ForkedFrom>,
    /// Lines that could not be parsed (garbage, torn mid-file, invalid UTF-8) and were skipped.
    pub skipped_lines: u64,
    pub path: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenTotals {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_creation: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContextFill {
    pub used_tokens: u64,
    pub context_window: Option<u64>,
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ForkedFrom {
    pub session_id: String,
    pub message_uuid: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    #[default]
    Workspace,
    All,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ListParams {
    pub scope: Scope,
    pub agents: Option<Vec<Agent>>,
    /// Only sessions on this git branch; `"@current"` = the workspace's current branch.
    pub branch: Option<String>,
    /// Case-insensitive substring of title, first prompt, id or branch.
    pub query: Option<String>,
    /// Page size, 1..=1000 (default 200).
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListResult {
    pub items: Vec<SessionSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionKey {
    pub agent: Agent,
    pub id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChangedParams {
    pub added: Vec<SessionSummary>,
    pub updated: Vec<SessionSummary>,
    pub removed: Vec<SessionKey>,
}

// ---------------------------------------------------------------------------------------------
// History

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryParams {
    pub session: SessionRef,
    /// 1..=1000, default 100.
    pub limit: Option<u32>,
    /// Page of items older than this cursor.
    pub before: Option<String>,
    /// Page of items newer than this cursor.
    pub after: Option<String>,
    /// A subagent transcript of the session (id from `sessions/subagents`).
    pub subagent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    /// Chronological within the page.
    pub items: Vec<HistoryItem>,
    pub older_cursor: Option<String>,
    pub newer_cursor: Option<String>,
    pub has_older: bool,
    pub has_newer: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
    Tool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryItem {
    /// The agent's own message id (Claude/Qwen uuid, Codex ordinal-based id, Gemini id).
    pub id: String,
    pub parent_id: Option<String>,
    pub role: Role,
    pub timestamp: Option<String>,
    pub model: Option<String>,
    pub usage: Option<Usage>,
    pub content: Vec<ContentBlock>,
    /// True when a block body was cut to the configured size; `sessions/message` returns it whole.
    pub truncated: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_creation_tokens: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    Thinking {
        text: String,
    },
    #[serde(rename_all = "camelCase")]
    ToolUse {
        id: String,
        name: String,
        input: serde_json::Value,
    },
    #[serde(rename_all = "camelCase")]
    ToolResult {
        tool_use_id: String,
        content: String,
        is_error: bool,
    },
    #[serde(rename_all = "camelCase")]
    Image {
        media_type: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Compaction {
        trigger: Option<String>,
        pre_tokens: Option<u64>,
        post_tokens: Option<u64>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MessageParams {
    pub session: SessionRef,
    pub id: String,
    pub subagent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeParams {
    pub session: SessionRef,
    /// The newest cursor the client holds; messages after it are pushed first. Default: now.
    pub after: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeResult {
    pub subscription: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UnsubscribeParams {
    pub subscription: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Empty {}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppendedParams {
    pub subscription: String,
    pub session: SessionKey,
    pub items: Vec<HistoryItem>,
    pub newer_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SubagentSummary {
    pub id: String,
    pub agent_type: Option<String>,
    pub description: Option<String>,
    pub tool_use_id: Option<String>,
    pub message_count: u64,
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SubagentsResult {
    pub items: Vec<SubagentSummary>,
}

// ---------------------------------------------------------------------------------------------
// Resume, continue, mutations

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResumeParams {
    pub session: SessionRef,
    #[serde(default)]
    pub fork: bool,
    pub prompt: Option<String>,
    pub model: Option<String>,
    pub permission_mode: Option<String>,
}

/// What to run to continue a session in its own agent: an argv array, never a shell string.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LaunchCommand {
    pub argv: Vec<String>,
    pub cwd: String,
    /// Extra environment for the agent (store overrides such as CLAUDE_CONFIG_DIR).
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ContinueParams {
    /// Only sessions on this branch; `"@current"` = the workspace's current branch.
    pub branch: Option<String>,
    pub agent: Option<Agent>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContinueResult {
    pub session: SessionSummary,
    pub argv: Vec<String>,
    pub cwd: String,
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ForkParams {
    pub session: SessionRef,
    /// Keep messages up to and including this message id.
    pub up_to_message: Option<String>,
    pub title: Option<String>,
    /// Record the fork on this git branch.
    pub branch: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionResult {
    pub session: SessionSummary,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RenameParams {
    pub session: SessionRef,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TagParams {
    pub session: SessionRef,
    /// null clears the tag.
    pub tag: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrashEntry {
    pub id: String,
    pub agent: Agent,
    pub title: Option<String>,
    pub deleted_at: String,
    pub original_path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrashResult {
    pub trashed: TrashEntry,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrashListResult {
    pub items: Vec<TrashEntry>,
}

// ---------------------------------------------------------------------------------------------
// Context and compression

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum WindowSource {
    /// The agent recorded the window in the file (Qwen, Codex).
    Recorded,
    /// The sidecar's model table.
    ModelTable,
    /// The agent's documented default.
    Default,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContextStatus {
    pub session: SessionKey,
    pub used_tokens: u64,
    pub context_window: u64,
    pub percent: f64,
    /// Tokens at which the agent compacts by itself, null if it never does.
    pub auto_compact_at: Option<u64>,
    pub auto_compact_percent: Option<f64>,
    pub model: Option<String>,
    pub source: WindowSource,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContextUsageParams {
    #[serde(flatten)]
    pub status: ContextStatus,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CompressStrategy {
    Agent,
    Trim,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CompressParams {
    pub session: SessionRef,
    pub strategy: CompressStrategy,
    /// trim: turns kept whole at the end (default 4).
    pub keep_turns: Option<u32>,
    /// trim: tool results and file contents at least this large are elided (default 2048).
    pub min_bytes: Option<u64>,
    /// LSP work-done progress token (agent strategy).
    pub work_done_token: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CompressResult {
    /// The compressed session: a new fork for `trim`, the same session for `agent`.
    pub session: SessionSummary,
    pub tokens_before: u64,
    pub tokens_after: u64,
    /// True when the figures are estimates (trim), false when read back from the agent's record.
    pub estimated: bool,
}

// ---------------------------------------------------------------------------------------------
// Git branches

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BranchChangedParams {
    pub workspace: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub detached: bool,
    /// The session the policy would fork for the new branch.
    pub candidate: Option<SessionSummary>,
    /// Under `auto`: the fork that was made.
    pub forked: Option<SessionSummary>,
}
