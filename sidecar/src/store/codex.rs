//! Codex CLI (formats/codex-cli.md): `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local time>-<uuid>.jsonl`,
//! one rollout per thread, records `{timestamp, ordinal, type, payload}`.
//!
//! * Nothing is read from or written to the SQLite files (`state_5.sqlite`, …): they are the
//!   CLI's cache of the rollouts. The workspace is matched by `session_meta.payload.cwd`.
//! * Title: the thread name when the user named it, else the first user message, as Codex's own
//!   `threads.title` / `first_user_message` (measured: the first `response_item` user message
//!   that is not injected context — `<environment_context>`, developer instructions, AGENTS.md;
//!   `content_item_kinds` tells them apart, with text prefixes as a fallback for older files).
//!   Thread names live in `$CODEX_HOME/session_index.jsonl` (`{id, thread_name, updated_at}`,
//!   append-only, last line per id wins): what Codex's own `thread/name/set` / `/rename` write
//!   and what `codex resume <name>` resolves. It is looked up when a rollout is scanned.
//! * Model from `turn_context`; tokens from `event_msg token_count` (`info.total_token_usage`),
//!   context fill = `last_token_usage.input_tokens`, window = `model_context_window`.
//! * History: `response_item`s (user/assistant messages, function/custom/local-shell calls →
//!   toolUse, their outputs → toolResult, reasoning → thinking); a `compacted` record is a
//!   system item (compaction block + the handoff summary) and the earlier items stay visible.
//!   A `history_base` fork (Codex's own `codex fork`) first shows the parent rollout's prefix
//!   (up to `end_ordinal_exclusive` / `end_byte_offset`), as Codex loads it. Item ids are the
//!   records' ordinals.
//! * Fork: a self-contained copy (parent prefix + own records, no `history_base`: it survives
//!   the parent being moved), a new UUIDv7 in today's local-time folder, every occurrence of the
//!   old thread id replaced, ordinals renumbered from 0, `forked_from_id` = the source.
//! * Rename: one line appended to `session_index.jsonl` (what Codex writes; measured:
//!   `codex exec resume "<name>"` then resolves the thread) plus an `event_msg`
//!   `thread_name_updated` record on the rollout (Codex ignores unknown event types; the
//!   sidecar reads it so the new title shows at once). The SQLite `threads.name` column is not
//!   touched, so Codex's TUI picker shows the name only after Codex itself rewrites its index.

use super::agent_util::{self as au, Located, RawObject};
use super::{
    check_root, read_dir_or_empty, Appended, ForkRequest, HistoryRequest, SessionFile,
    SessionStore, TrimOptions,
};
use crate::cursor::Cursor;
use crate::error::{Result, SidecarError};
use crate::protocol::{
    Agent, ContentBlock, ErrorCode, ForkedFrom, HistoryItem, HistoryPage, ResumeParams, Role, Usage,
};
use crate::summary::ScanState;
use crate::workspace::Workspace;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct CodexStore {
    root: PathBuf,
    names: Mutex<Names>,
}

/// The thread names of `session_index.jsonl`, reloaded when the file changes.
#[derive(Default)]
struct Names {
    key: Option<(u64, i128)>,
    map: HashMap<String, String>,
}

const INJECTED_PREFIXES: [&str; 7] = [
    "<environment_context>",
    "<user_instructions>",
    "# AGENTS.md instructions",
    "<INSTRUCTIONS>",
    "<skills_instructions>",
    "<permissions instructions>",
    "<turn_aborted>",
];

/// `rollout-…-<uuid>.jsonl` → the lower-case uuid.
fn rollout_id(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_prefix("rollout-")?.strip_suffix(".jsonl")?;
    if stem.len() < 37 {
        return None;
    }
    let id = &stem[stem.len() - 36..];
    if crate::ids::is_uuid(id) && stem.as_bytes()[stem.len() - 37] == b'-' {
        Some(id.to_ascii_lowercase())
    } else {
        None
    }
}

fn walk_rollouts(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in read_dir_or_empty(dir)? {
        let Ok(ft) = e.file_type() else { continue };
        let p = e.path();
        if ft.is_dir() && depth > 0 {
            walk_rollouts(&p, depth - 1, out)?;
        } else if ft.is_file() && rollout_id(&p).is_some() {
            out.push(p);
        }
    }
    Ok(())
}

impl CodexStore {
    pub fn new(root: PathBuf) -> CodexStore {
        CodexStore {
            root,
            names: Mutex::new(Names::default()),
        }
    }

    pub fn sessions_dir(&self) -> PathBuf {
        self.root.join("sessions")
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("session_index.jsonl")
    }

    /// The thread name Codex knows for `id` (re-reading the index when it changed).
    fn name_for(&self, id: &str) -> Option<String> {
        let path = self.index_path();
        let key = std::fs::metadata(&path).ok().map(|m| {
            let k = crate::transcript::FileKey::of(&m);
            (k.size, k.mtime_ns)
        });
        let mut names = self.names.lock().unwrap();
        if names.key != key {
            names.map = key.map(|_| load_names(&path)).unwrap_or_default();
            names.key = key;
        }
        names.map.get(id).cloned()
    }

    /// The rollout of a thread id (sessions/ or archived_sessions/).
    fn find_rollout(&self, id: &str) -> Option<PathBuf> {
        let mut all = Vec::new();
        let _ = walk_rollouts(&self.sessions_dir(), 4, &mut all);
        let _ = walk_rollouts(&self.root.join("archived_sessions"), 1, &mut all);
        all.into_iter()
            .find(|p| rollout_id(p).as_deref() == Some(id))
    }

    /// Lines of a rollout with the parent prefix of a `history_base` fork first (`own` = false).
    pub(super) fn load_lines(&self, path: &Path, depth: usize) -> Result<(Vec<CodexLine>, u64)> {
        let (raw, end) = au::read_lines(path)?;
        let mut own = Vec::with_capacity(raw.len());
        for (i, (off, bytes)) in raw.into_iter().enumerate() {
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if !v.is_object() {
                continue;
            }
            own.push(CodexLine {
                off,
                ordinal: v["ordinal"].as_u64().unwrap_or(i as u64),
                own: true,
                text,
                v,
            });
        }
        let base = own
            .iter()
            .find(|l| l.ty() == "session_meta")
            .map(|l| l.v["payload"]["history_base"].clone())
            .filter(|b| b.is_object());
        let Some(base) = base else {
            return Ok((own, end));
        };
        if depth == 0 {
            return Err(SidecarError::new(
                ErrorCode::StoreUnreadable,
                "fork lineage of this Codex thread is too deep",
            ));
        }
        let parent_id = base["thread_id"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let parent = self.find_rollout(&parent_id).ok_or_else(|| {
            SidecarError::new(
                ErrorCode::StoreUnreadable,
                format!(
                    "this Codex fork needs its parent rollout {parent_id}, which is missing (Codex cannot resume it either)"
                ),
            )
        })?;
        let end_ord = base["end_ordinal_exclusive"].as_u64().unwrap_or(u64::MAX);
        let end_off = base["end_byte_offset"].as_u64().unwrap_or(u64::MAX);
        let (parent_lines, _) = self.load_lines(&parent, depth - 1)?;
        let mut lines: Vec<CodexLine> = parent_lines
            .into_iter()
            .filter(|l| !l.own || (l.off < end_off && l.ordinal < end_ord))
            .map(|mut l| {
                l.own = false;
                l.off = 0;
                l
            })
            .collect();
        lines.extend(own);
        Ok((lines, end))
    }

    fn view(&self, path: &Path) -> Result<(Vec<Located>, u64)> {
        let (lines, end) = self.load_lines(path, 8)?;
        Ok((build_items(&lines), end))
    }

    fn today_dir(&self, unix_secs: i64) -> (PathBuf, String) {
        let (y, mo, d, h, mi, s) = au::local_parts(unix_secs);
        (
            self.sessions_dir()
                .join(format!("{y:04}"))
                .join(format!("{mo:02}"))
                .join(format!("{d:02}")),
            format!("{y:04}-{mo:02}-{d:02}T{h:02}-{mi:02}-{s:02}"),
        )
    }

    /// Append `{id, thread_name, updated_at}` to Codex's name index, under its lock file.
    fn write_name(&self, id: &str, name: &str) -> Result<()> {
        let path = self.index_path();
        let line = serde_json::json!({
            "id": id,
            "thread_name": name,
            "updated_at": crate::time::now_iso(),
        })
        .to_string();
        let lock_path = self.root.join("session_index.jsonl.lock");
        let lock = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode_private()
            .open(&lock_path)
            .map_err(|e| SidecarError::write_failed(&lock_path, &e))?;
        let _guard = FileLock::acquire(&lock, std::time::Duration::from_secs(3))
            .map_err(|e| SidecarError::write_failed(&lock_path, &e))?;
        if path.exists() {
            au::check_appendable(&path)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode_private()
            .open(&path)
            .map_err(|e| SidecarError::write_failed(&path, &e))?;
        f.write_all(format!("{line}\n").as_bytes())
            .and_then(|_| f.sync_data())
            .map_err(|e| SidecarError::write_failed(&path, &e))
    }

    /// Write `lines` (a thread's records as `load_lines` gives them, possibly edited) as a new
    /// self-contained thread: the fork machinery `fork` and the trim share.
    pub(super) fn write_fork(
        &self,
        file: &SessionFile,
        req: &ForkRequest,
        lines: &[CodexLine],
    ) -> Result<SessionFile> {
        let own_meta = lines
            .iter()
            .find(|l| l.own && l.ty() == "session_meta")
            .ok_or_else(|| {
                SidecarError::new(
                    ErrorCode::StoreUnreadable,
                    format!("{} has no session_meta record", file.path.display()),
                )
            })?;
        // Old ids to replace: this thread's and its history_base ancestors'.
        let mut old_ids = vec![file.id.clone()];
        for l in lines.iter().filter(|l| l.ty() == "session_meta") {
            if let Some(i) = l.v["payload"]["id"].as_str() {
                if !old_ids.iter().any(|o| o.eq_ignore_ascii_case(i)) {
                    old_ids.push(i.to_string());
                }
            }
        }
        let mut body: Vec<&CodexLine> = lines.iter().filter(|l| l.ty() != "session_meta").collect();
        if let Some(up_to) = &req.up_to_message {
            let items = build_items(lines);
            if !items.iter().any(|l| &l.item.id == up_to) {
                return Err(SidecarError::new(
                    ErrorCode::MessageNotFound,
                    format!("no message {up_to:?} in that session"),
                ));
            }
            let cut = body
                .iter()
                .position(|l| l.ordinal.to_string() == *up_to && l.ty() != "session_meta")
                .map(|i| i + 1)
                .unwrap_or(body.len());
            body.truncate(cut);
        }
        if !body.iter().any(|l| l.ty() == "response_item") {
            return Err(SidecarError::invalid_params(
                "the session has no conversation to fork",
            ));
        }
        let now_ms = crate::time::now_ms();
        let now = crate::time::iso_from_ms(now_ms);
        let new_id = uuid::Uuid::now_v7().to_string();
        let (dir, stamp) = self.today_dir(now_ms.div_euclid(1000));
        let target = dir.join(format!("rollout-{stamp}-{new_id}.jsonl"));

        let replace_ids = |s: &str| -> String {
            let mut s = s.to_string();
            for o in &old_ids {
                s = s.replace(o.as_str(), &new_id);
            }
            s
        };
        let mut out = String::new();
        // session_meta: the source's own, made a self-contained thread of its own.
        let mut meta = RawObject::parse(&own_meta.text)
            .ok_or_else(|| SidecarError::internal("unparsable session_meta"))?;
        let mut payload = meta
            .get("payload")
            .and_then(|p| RawObject::parse(p.get()))
            .ok_or_else(|| SidecarError::internal("session_meta without payload"))?;
        payload.set("id", &new_id);
        payload.set("session_id", &new_id);
        payload.set("timestamp", &now);
        payload.set("forked_from_id", &file.id);
        payload.remove("forked_from_ordinal_exclusive");
        payload.remove("history_base");
        if let Some(cw) = payload.get("context_window").map(|r| r.get().to_string()) {
            if let Ok(raw) = RawValue::from_string(replace_ids(&cw)) {
                payload.set_raw("context_window", raw);
            }
        }
        if let Some(b) = &req.branch {
            let mut git = payload
                .get("git")
                .and_then(|g| RawObject::parse(g.get()))
                .unwrap_or_default();
            git.set("branch", b);
            payload.set_raw("git", git.into_raw());
        }
        meta.set("timestamp", &now);
        meta.set("ordinal", &0u64);
        meta.set_raw("payload", payload.into_raw());
        out.push_str(&meta.to_json());
        out.push('\n');
        let mut ordinal = 1u64;
        for l in &body {
            let Some(mut o) = RawObject::parse(&replace_ids(&l.text)) else {
                continue;
            };
            o.set("ordinal", &ordinal);
            ordinal += 1;
            out.push_str(&o.to_json());
            out.push('\n');
        }
        let title = req
            .title
            .clone()
            .or_else(|| req.source_title.as_ref().map(|t| format!("{t} (fork)")));
        let title = title.map(|t| au::clean_title(&t)).transpose()?;
        if let Some(t) = &title {
            out.push_str(&name_record(&now, ordinal, &new_id, t));
            out.push('\n');
        }
        au::write_new_file(&target, out.as_bytes())?;
        if let Some(t) = &title {
            if let Err(e) = self.write_name(&new_id, t) {
                tracing::warn!(
                    "fork written, but its name could not be added to Codex's index: {e}"
                );
            }
        }
        Ok(SessionFile {
            agent: Agent::Codex,
            id: new_id,
            path: target,
        })
    }
}

trait PrivateMode {
    fn mode_private(&mut self) -> &mut Self;
}
impl PrivateMode for std::fs::OpenOptions {
    fn mode_private(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

/// An exclusive flock(2), released on drop.
struct FileLock<'a>(&'a std::fs::File);
impl<'a> FileLock<'a> {
    fn acquire(
        f: &'a std::fs::File,
        timeout: std::time::Duration,
    ) -> std::io::Result<FileLock<'a>> {
        use std::os::unix::io::AsRawFd;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            // SAFETY: a valid open descriptor; flock has no memory effects.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(FileLock(f));
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) || std::time::Instant::now() > deadline {
                return Err(e);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        use std::os::unix::io::AsRawFd;
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// The `cwd` of a rollout's `session_meta` from its first 16 KB (it precedes the long
/// `base_instructions`), without parsing the whole line.
fn meta_cwd(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut buf = vec![0u8; 16 * 1024];
    let n = std::fs::File::open(path).ok()?.read(&mut buf).ok()?;
    let head = std::str::from_utf8(&buf[..n])
        .unwrap_or_else(|e| std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or_default());
    let first = head.split('\n').next()?;
    if !first.contains("\"type\":\"session_meta\"") {
        return None;
    }
    let at = first.find("\"cwd\":")? + 6;
    let rest = first[at..].trim_start();
    // the JSON string literal: up to the first unescaped quote
    let bytes = rest.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return serde_json::from_str(&rest[..=i]).ok(),
            _ => i += 1,
        }
    }
    None
}

fn load_names(path: &Path) -> HashMap<String, String> {
    let mut map = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(path) {
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let (Some(id), Some(name)) = (v["id"].as_str(), v["thread_name"].as_str()) else {
                continue;
            };
            let id = id.to_ascii_lowercase();
            if name.trim().is_empty() {
                map.remove(&id);
            } else {
                map.insert(id, name.to_string());
            }
        }
    }
    map
}

/// One rollout line, for history and forks.
pub(super) struct CodexLine {
    pub(super) off: u64,
    pub(super) ordinal: u64,
    /// False for lines of a `history_base` parent.
    pub(super) own: bool,
    pub(super) text: String,
    pub(super) v: Value,
}

impl CodexLine {
    pub(super) fn ty(&self) -> &str {
        self.v["type"].as_str().unwrap_or("")
    }
}

fn texts_of(content: &Value) -> Vec<String> {
    content
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .map(str::to_string)
        .collect()
}

/// Whether a user `message` is context the CLI injected rather than what the user typed.
pub(super) fn is_injected_user(p: &Value) -> bool {
    if let Some(kinds) =
        p["internal_chat_message_metadata_passthrough"]["content_item_kinds"].as_array()
    {
        if !kinds.is_empty() {
            return !kinds
                .iter()
                .any(|k| k.as_str().is_some_and(|k| k.starts_with("user.")));
        }
    }
    let texts = texts_of(&p["content"]);
    !texts.is_empty()
        && texts.iter().all(|t| {
            let t = t.trim_start();
            INJECTED_PREFIXES.iter().any(|p| t.starts_with(p))
        })
}

fn output_text(o: &Value) -> (String, bool) {
    match o {
        Value::String(s) => (s.clone(), false),
        Value::Object(m) => {
            let failed = m.get("success").and_then(|s| s.as_bool()) == Some(false);
            match m.get("content") {
                Some(Value::String(s)) => (s.clone(), failed),
                Some(c @ Value::Array(_)) => (texts_of(c).join("\n"), failed),
                _ => (o.to_string(), failed),
            }
        }
        Value::Array(_) => (texts_of(o).join("\n"), false),
        Value::Null => (String::new(), false),
        other => (other.to_string(), false),
    }
}

/// A `response_item` payload as (role, blocks); None for what is not conversation.
fn classify(p: &Value) -> Option<(Role, Vec<ContentBlock>)> {
    let call_id = || {
        p["call_id"]
            .as_str()
            .or_else(|| p["id"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    match p["type"].as_str()? {
        "message" => match p["role"].as_str()? {
            "user" if !is_injected_user(p) => {
                let blocks = p["content"]
                    .as_array()?
                    .iter()
                    .filter_map(|c| match c["type"].as_str()? {
                        "input_text" | "text" => Some(ContentBlock::Text {
                            text: c["text"].as_str()?.to_string(),
                        }),
                        "input_image" => Some(ContentBlock::Image { media_type: None }),
                        _ => None,
                    })
                    .collect();
                Some((Role::User, blocks))
            }
            "assistant" => Some((
                Role::Assistant,
                texts_of(&p["content"])
                    .into_iter()
                    .map(|text| ContentBlock::Text { text })
                    .collect(),
            )),
            _ => None,
        },
        "function_call" => {
            let args = p["arguments"].as_str().unwrap_or_default();
            Some((
                Role::Assistant,
                vec![ContentBlock::ToolUse {
                    id: call_id(),
                    name: p["name"].as_str().unwrap_or_default().to_string(),
                    input: serde_json::from_str(args)
                        .unwrap_or_else(|_| Value::String(args.into())),
                }],
            ))
        }
        "custom_tool_call" => Some((
            Role::Assistant,
            vec![ContentBlock::ToolUse {
                id: call_id(),
                name: p["name"].as_str().unwrap_or_default().to_string(),
                input: p["input"].clone(),
            }],
        )),
        "local_shell_call" => Some((
            Role::Assistant,
            vec![ContentBlock::ToolUse {
                id: call_id(),
                name: "local_shell".into(),
                input: p["action"].clone(),
            }],
        )),
        "web_search_call" => Some((
            Role::Assistant,
            vec![ContentBlock::ToolUse {
                id: call_id(),
                name: "web_search".into(),
                input: p["action"].clone(),
            }],
        )),
        "function_call_output" | "custom_tool_call_output" => {
            let (content, is_error) = output_text(&p["output"]);
            Some((
                Role::Tool,
                vec![ContentBlock::ToolResult {
                    tool_use_id: call_id(),
                    content,
                    is_error,
                }],
            ))
        }
        "reasoning" => {
            let mut texts = texts_of(&p["summary"]);
            texts.extend(texts_of(&p["content"]));
            let text = texts.join("\n\n");
            if text.trim().is_empty() {
                None
            } else {
                Some((Role::Assistant, vec![ContentBlock::Thinking { text }]))
            }
        }
        _ => None,
    }
}

fn usage_of(u: &Value) -> Usage {
    let n = |k: &str| u[k].as_u64().unwrap_or(0);
    Usage {
        input_tokens: n("input_tokens").saturating_sub(n("cached_input_tokens")),
        output_tokens: n("output_tokens"),
        cache_read_tokens: n("cached_input_tokens"),
        cache_creation_tokens: n("cache_write_input_tokens"),
    }
}

fn build_items(lines: &[CodexLine]) -> Vec<Located> {
    let mut items: Vec<Located> = Vec::new();
    let mut model: Option<String> = None;
    let mut pending_usage: Option<usize> = None;
    for l in lines {
        let p = &l.v["payload"];
        let ts = l.v["timestamp"].as_str().and_then(crate::time::normalize);
        let parent = items.last().map(|x| x.item.id.clone());
        match l.ty() {
            "turn_context" => {
                if let Some(m) = p["model"].as_str() {
                    model = Some(m.to_string());
                }
            }
            "response_item" => {
                if let Some((role, content)) = classify(p) {
                    let is_asst = role == Role::Assistant;
                    items.push(Located {
                        off: l.off,
                        item: HistoryItem {
                            id: l.ordinal.to_string(),
                            parent_id: parent,
                            role,
                            timestamp: ts,
                            model: if is_asst { model.clone() } else { None },
                            usage: None,
                            content,
                            truncated: false,
                        },
                    });
                    if is_asst {
                        pending_usage = Some(items.len() - 1);
                    }
                }
            }
            "compacted" => {
                let mut content = vec![ContentBlock::Compaction {
                    trigger: None,
                    pre_tokens: None,
                    post_tokens: None,
                }];
                if let Some(m) = p["message"].as_str().filter(|m| !m.is_empty()) {
                    content.push(ContentBlock::Text {
                        text: m.to_string(),
                    });
                }
                items.push(Located {
                    off: l.off,
                    item: HistoryItem {
                        id: l.ordinal.to_string(),
                        parent_id: parent,
                        role: Role::System,
                        timestamp: ts,
                        model: None,
                        usage: None,
                        content,
                        truncated: false,
                    },
                });
            }
            "token_usage_record" => {
                if let Some(i) = pending_usage.take() {
                    items[i].item.usage = Some(usage_of(&p["usage"]));
                }
            }
            _ => {}
        }
    }
    items
}

#[derive(Deserialize)]
struct LineHead<'a> {
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
}

impl SessionStore for CodexStore {
    fn agent(&self) -> Agent {
        Agent::Codex
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn watch_roots(&self) -> Vec<PathBuf> {
        vec![self.sessions_dir()]
    }

    /// Rollouts, for a workspace those whose `session_meta.cwd` (read from the first few KB)
    /// is one of its paths; a rollout whose cwd is not found there is kept (`in_workspace`
    /// decides after the scan).
    fn discover(&self, workspace: Option<&Workspace>) -> Result<Vec<SessionFile>> {
        check_root(&self.sessions_dir())?;
        let mut paths = Vec::new();
        walk_rollouts(&self.sessions_dir(), 4, &mut paths)?;
        if let Some(ws) = workspace {
            paths.retain(|p| match meta_cwd(p) {
                Some(cwd) => ws.paths.iter().any(|w| Path::new(&cwd) == w),
                None => true,
            });
        }
        Ok(paths
            .into_iter()
            .filter_map(|p| {
                rollout_id(&p).map(|id| SessionFile {
                    agent: Agent::Codex,
                    id,
                    path: p,
                })
            })
            .collect())
    }

    fn session_id_of(&self, path: &Path) -> Option<String> {
        if !path.starts_with(self.sessions_dir()) {
            return None;
        }
        rollout_id(path)
    }

    fn in_workspace(&self, _path: &Path, state: &ScanState, workspace: &Workspace) -> bool {
        state
            .cwd
            .as_deref()
            .is_some_and(|c| workspace.paths.iter().any(|p| Path::new(c) == p))
    }

    fn scan_line(&self, st: &mut ScanState, line: &[u8]) {
        st.lines += 1;
        let h: LineHead = match serde_json::from_slice(line) {
            Ok(h) => h,
            Err(_) => {
                st.bad_lines += 1;
                return;
            }
        };
        if st.created_at.is_none() {
            st.created_at = h.timestamp.as_deref().and_then(crate::time::normalize);
        }
        let ty = h.ty.as_deref().unwrap_or("");
        let payload = || -> Value {
            h.payload
                .and_then(|p| serde_json::from_str(p.get()).ok())
                .unwrap_or(Value::Null)
        };
        let mut lookup_name = false;
        match ty {
            "session_meta" if st.session_id.is_none() => {
                let p = payload();
                st.session_id = p["id"].as_str().map(|s| s.to_ascii_lowercase());
                st.cwd = p["cwd"].as_str().map(str::to_string);
                if let Some(t) = p["timestamp"].as_str().and_then(crate::time::normalize) {
                    st.created_at = Some(t);
                }
                if let Some(b) = p["git"]["branch"].as_str() {
                    st.git_branch = Some(b.to_string());
                }
                if let Some(f) = p["forked_from_id"].as_str() {
                    st.forked_from = Some(ForkedFrom {
                        session_id: f.to_ascii_lowercase(),
                        message_uuid: None,
                    });
                }
                if p["source"].is_object() && p["source"].get("subagent").is_some() {
                    st.sidechain = true;
                }
                lookup_name = true;
            }
            "turn_context" => {
                let p = payload();
                if let Some(m) = p["model"].as_str() {
                    st.model = Some(m.to_string());
                }
                lookup_name = true;
            }
            "response_item" => {
                let p = payload();
                if let Some((role, blocks)) = classify(&p) {
                    st.message_count += 1;
                    if role == Role::Assistant {
                        st.model_turns += 1;
                    }
                    if role == Role::User && st.first_prompt.is_none() {
                        st.first_prompt = blocks.iter().find_map(|b| match b {
                            ContentBlock::Text { text } => au::prompt_title(text),
                            _ => None,
                        });
                    }
                }
            }
            "event_msg" => {
                let p = payload();
                match p["type"].as_str() {
                    Some("token_count") if p["info"].is_object() => {
                        let i = &p["info"];
                        let t = usage_of(&i["total_token_usage"]);
                        st.tokens.input = t.input_tokens;
                        st.tokens.output = t.output_tokens;
                        st.tokens.cache_read = t.cache_read_tokens;
                        st.tokens.cache_creation = t.cache_creation_tokens;
                        if let Some(n) = i["last_token_usage"]["input_tokens"].as_u64() {
                            st.context_used = Some(n);
                        }
                        if let Some(w) = i["model_context_window"].as_u64().filter(|w| *w > 0) {
                            st.context_window = Some(w);
                        }
                    }
                    Some("task_started") => {
                        if let Some(w) = p["model_context_window"].as_u64().filter(|w| *w > 0) {
                            st.context_window = Some(w);
                        }
                    }
                    Some("user_message") if st.first_prompt.is_none() => {
                        st.first_prompt = p["message"].as_str().and_then(au::prompt_title);
                    }
                    Some("thread_name_updated") => {
                        st.custom_title = p["thread_name"]
                            .as_str()
                            .filter(|n| !n.trim().is_empty())
                            .map(str::to_string);
                        lookup_name = true;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        if lookup_name {
            if let Some(id) = &st.session_id {
                if let Some(n) = self.name_for(id) {
                    st.custom_title = Some(n);
                }
            }
        }
    }

    fn is_listable(&self, st: &ScanState) -> bool {
        !st.sidechain && st.session_id.is_some() && st.title().is_some()
    }

    /// A cold read must not skip the sidecar's thread-name records.
    fn lite_metadata_line(&self, line: &[u8]) -> bool {
        memchr::memmem::find(line, b"\"thread_name_updated\"").is_some()
    }

    fn history(&self, file: &SessionFile, req: &HistoryRequest) -> Result<HistoryPage> {
        let (items, _) = self.view(&file.path)?;
        au::page(&file.path, items, req, "Codex")
    }

    fn message(&self, file: &SessionFile, id: &str, subagent: Option<&str>) -> Result<HistoryItem> {
        if subagent.is_some() {
            return Err(self.unsupported("subagent transcripts"));
        }
        au::find_message(self.view(&file.path)?.0, id)
    }

    fn appended(&self, file: &SessionFile, offset: u64, truncate_bytes: usize) -> Result<Appended> {
        let (items, end) = self.view(&file.path)?;
        // Parent-prefix items carry offset 0 and are never "appended".
        let items = items.into_iter().filter(|l| l.off > 0).collect();
        au::appended_since(&file.path, items, offset, end, truncate_bytes)
    }

    fn subscription_start(&self, file: &SessionFile, after: Option<&Cursor>) -> Result<u64> {
        au::subscription_start(file, after)
    }

    fn resume_argv(&self, exe: &str, id: &str, params: &ResumeParams) -> Result<Vec<String>> {
        let mut argv = vec![
            exe.to_string(),
            if params.fork { "fork" } else { "resume" }.to_string(),
        ];
        if let Some(m) = params.model.as_deref().filter(|m| !m.is_empty()) {
            argv.push(format!("--model={m}"));
        }
        match params.permission_mode.as_deref() {
            None | Some("default") => {}
            Some("acceptEdits") => argv.extend(
                ["--sandbox=workspace-write", "--ask-for-approval=on-request"].map(String::from),
            ),
            Some("plan") => argv.push("--sandbox=read-only".into()),
            Some("bypassPermissions") => {
                argv.push("--dangerously-bypass-approvals-and-sandbox".into())
            }
            Some(other) => {
                return Err(SidecarError::invalid_params(format!(
                    "permission mode {other:?} has no Codex equivalent (use default, acceptEdits, plan or bypassPermissions)"
                )))
            }
        }
        match params.prompt.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => argv.extend(["--".to_string(), id.to_string(), p.to_string()]),
            None => argv.push(id.to_string()),
        }
        Ok(argv)
    }

    /// `codex app-server`: compaction is its `thread/compact/start` request (`codex exec` has no
    /// slash commands); `handlers/compress/codex_app_server.rs` holds the conversation.
    fn compress_argv(&self, exe: &str, id: &str) -> Result<Vec<String>> {
        let _ = id;
        Ok(vec![exe.to_string(), "app-server".into()])
    }

    fn fork(&self, file: &SessionFile, req: &ForkRequest) -> Result<SessionFile> {
        let (lines, _) = self.load_lines(&file.path, 8)?;
        self.write_fork(file, req, &lines)
    }

    fn trim(&self, file: &SessionFile, opts: &TrimOptions) -> Result<(SessionFile, u64, u64)> {
        super::codex_trim::trim(self, file, opts)
    }

    fn rename(&self, file: &SessionFile, title: &str) -> Result<()> {
        let title = au::clean_title(title)?;
        au::check_appendable(&file.path)?;
        let last_ordinal = au::last_record(&file.path, |v| v["ordinal"].is_u64())?
            .and_then(|v| v["ordinal"].as_u64());
        self.write_name(&file.id, &title)?;
        let line = name_record(
            &crate::time::now_iso(),
            last_ordinal.map(|o| o + 1).unwrap_or(0),
            &file.id,
            &title,
        );
        au::append_record(&file.path, line.as_bytes())
    }

    /// Temp files of a killed fork writer sit in a day folder: clean every day folder.
    fn clean_temp_files(&self, _workspace: &Workspace) {
        for y in read_dir_or_empty(&self.sessions_dir()).unwrap_or_default() {
            for m in read_dir_or_empty(&y.path()).unwrap_or_default() {
                for d in read_dir_or_empty(&m.path()).unwrap_or_default() {
                    if d.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        crate::fsutil::clean_temp_files(&d.path());
                    }
                }
            }
        }
    }
}

/// The rollout record of a thread name (an `event_msg` type Codex ignores).
fn name_record(ts: &str, ordinal: u64, id: &str, name: &str) -> String {
    let mut o = RawObject::default();
    o.set("timestamp", ts);
    o.set("ordinal", &ordinal);
    o.set("type", "event_msg");
    o.set(
        "payload",
        &serde_json::json!({"type": "thread_name_updated", "thread_id": id, "thread_name": name}),
    );
    o.to_json()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    const S1: &str = "01a1fcc8-d54e-7ed0-a7e2-b111c75d7f37";

    /// A copy of the fixture rollouts in a temp dir, and a store on it.
    pub(in crate::store) fn fixture() -> (tempfile::TempDir, CodexStore) {
        let d = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/home/.codex/sessions/2026/11/21");
        let dst = d.path().join("sessions/2026/11/21");
        std::fs::create_dir_all(&dst).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
        let store = CodexStore::new(d.path().to_path_buf());
        (d, store)
    }

    fn scan(store: &CodexStore, path: &Path) -> ScanState {
        let mut st = ScanState::default();
        for l in std::fs::read(path).unwrap().split(|b| *b == b'\n') {
            if !l.is_empty() {
                store.scan_line(&mut st, l);
            }
        }
        st
    }

    pub(in crate::store) fn file_of(store: &CodexStore, id: &str) -> SessionFile {
        store
            .discover(None)
            .unwrap()
            .into_iter()
            .find(|f| f.id == id)
            .unwrap()
    }

    #[test]
    fn summary_of_a_fixture_thread() {
        let (_d, store) = fixture();
        let f = file_of(&store, S1);
        let st = scan(&store, &f.path);
        assert_eq!(st.session_id.as_deref(), Some(S1));
        assert_eq!(st.cwd.as_deref(), Some("/home/dev/acme-webapp"));
        assert_eq!(
            st.first_prompt.as_deref(),
            Some("session 1 turn 1: hello, please remember the number 7")
        );
        assert_eq!(st.model.as_deref(), Some("gpt-5.5"));
        assert_eq!(st.message_count, 8);
        assert_eq!(st.context_window, Some(258_400));
        assert_eq!(st.context_used, Some(7245));
        assert_eq!(st.tokens.input, 28373);
        assert_eq!(st.tokens.output, 36);
        assert_eq!(st.git_branch.as_deref(), Some("main"));
    }

    #[test]
    fn history_items() {
        let (_d, store) = fixture();
        let f = file_of(&store, S1);
        let (items, _) = store.view(&f.path).unwrap();
        let ids: Vec<&str> = items.iter().map(|l| l.item.id.as_str()).collect();
        assert_eq!(ids, vec!["7", "10", "17", "19", "22", "25", "32", "35"]);
        assert!(matches!(&items[3].item.content[0],
            ContentBlock::ToolUse { name, input, .. } if name == "exec_command" && input["cmd"] == "ls -a"));
        assert!(matches!(&items[4].item.content[0],
            ContentBlock::ToolResult { tool_use_id, .. } if tool_use_id == "call_mock_2"));
        assert_eq!(items[1].item.model.as_deref(), Some("gpt-5.5"));
        assert_eq!(
            items[1].item.usage.as_ref().map(|u| u.input_tokens),
            Some(6942)
        );
        assert_eq!(items[1].item.parent_id.as_deref(), Some("7"));
    }

    #[test]
    fn fork_is_self_contained_and_renamed() {
        let (_d, store) = fixture();
        let f = file_of(&store, S1);
        let new = store
            .fork(
                &f,
                &ForkRequest {
                    source_title: Some("T".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        let text = std::fs::read_to_string(&new.path).unwrap();
        let recs: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(recs[0]["payload"]["id"], new.id.as_str());
        assert_eq!(recs[0]["payload"]["forked_from_id"], S1);
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(r["ordinal"], i as u64);
        }
        assert_eq!(
            text.matches(S1).count(),
            1,
            "only forked_from_id names the source"
        );
        let st = scan(&store, &new.path);
        assert_eq!(st.custom_title.as_deref(), Some("T (fork)"));
        assert_eq!(st.message_count, 8);
        assert_eq!(st.forked_from.unwrap().session_id, S1);
        let a: Vec<_> = store
            .view(&f.path)
            .unwrap()
            .0
            .into_iter()
            .map(|l| l.item.content)
            .collect();
        let b: Vec<_> = store
            .view(&new.path)
            .unwrap()
            .0
            .into_iter()
            .map(|l| l.item.content)
            .collect();
        assert_eq!(a, b);
        assert_eq!(
            load_names(&store.index_path())
                .get(&new.id)
                .map(String::as_str),
            Some("T (fork)")
        );
        let name = new.path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("rollout-") && name.ends_with(&format!("-{}.jsonl", new.id)));
    }

    #[test]
    fn history_base_forks_load_their_parent_prefix() {
        let (d, store) = fixture();
        let parent = file_of(&store, S1);
        let parent_text = std::fs::read_to_string(&parent.path).unwrap();
        // A fork as `codex exec fork` writes it: parent prefix up to ordinal 28 (end of turn 2).
        let end_off: usize = parent_text.lines().take(29).map(|l| l.len() + 1).sum();
        let child_id = "01a1fd00-0000-7000-8000-000000000001";
        let meta = serde_json::json!({"timestamp":"2026-11-21T07:00:00.000Z","ordinal":29,"type":"session_meta",
            "payload":{"id":child_id,"session_id":child_id,"cwd":"/home/dev/acme-webapp","forked_from_id":S1,
            "forked_from_ordinal_exclusive":29,"history_base":{"thread_id":S1,"end_ordinal_exclusive":29,"end_byte_offset":end_off}}});
        let user = serde_json::json!({"timestamp":"2026-11-21T07:00:01.000Z","ordinal":30,"type":"response_item",
            "payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"in the fork"}]}});
        let p = d.path().join(format!(
            "sessions/2026/11/21/rollout-2026-11-21T07-00-00-{child_id}.jsonl"
        ));
        std::fs::write(&p, format!("{meta}\n{user}\n")).unwrap();
        let child = SessionFile {
            agent: Agent::Codex,
            id: child_id.into(),
            path: p,
        };
        let (items, _) = store.view(&child.path).unwrap();
        let ids: Vec<&str> = items.iter().map(|l| l.item.id.as_str()).collect();
        assert_eq!(ids, vec!["7", "10", "17", "19", "22", "25", "30"]);
        // our fork of it is self-contained: the same items, no history_base
        let new = store.fork(&child, &ForkRequest::default()).unwrap();
        let text = std::fs::read_to_string(&new.path).unwrap();
        assert!(!text.contains("history_base"));
        let b: Vec<_> = store
            .view(&new.path)
            .unwrap()
            .0
            .into_iter()
            .map(|l| l.item.content)
            .collect();
        let a: Vec<_> = items.into_iter().map(|l| l.item.content).collect();
        assert_eq!(a, b);
        // a missing parent is a clear error
        std::fs::remove_file(&parent.path).unwrap();
        assert_eq!(
            store.view(&child.path).unwrap_err().code,
            ErrorCode::StoreUnreadable
        );
    }

    #[test]
    fn rename_appends_to_index_and_rollout() {
        let (_d, store) = fixture();
        let f = file_of(&store, S1);
        store.rename(&f, "Login bug").unwrap();
        let st = scan(&store, &f.path);
        assert_eq!(st.custom_title.as_deref(), Some("Login bug"));
        assert_eq!(st.title().as_deref(), Some("Login bug"));
        let last: Value = serde_json::from_str(
            std::fs::read_to_string(&f.path)
                .unwrap()
                .lines()
                .last()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(last["ordinal"], 39);
        // a name Codex itself wrote later wins
        let mut idx = std::fs::OpenOptions::new()
            .append(true)
            .open(store.index_path())
            .unwrap();
        writeln!(idx, "{}", serde_json::json!({"id": S1, "thread_name": "From Codex", "updated_at": "2026-11-21T08:00:00Z"})).unwrap();
        let other = file_of(&store, "01a1fcc8-dbed-7162-9f63-e94ce6f49ed1");
        assert_eq!(scan(&store, &other.path).custom_title, None);
        assert_eq!(
            scan(&store, &f.path).custom_title.as_deref(),
            Some("From Codex")
        );
    }

    #[test]
    fn unknown_and_garbage_lines_are_tolerated() {
        let (_d, store) = fixture();
        let f = file_of(&store, S1);
        let mut text = std::fs::read_to_string(&f.path).unwrap();
        text.push_str("garbage\n{\"type\":\"x_unknown_record\"}\n{\"timestamp\":\"2026-11-21T07:00:00Z\",\"ordinal\":39,\"type\":\"response_item\",\"payload\":{\"type\":\"x_new_kind\"}}\n");
        std::fs::write(&f.path, text).unwrap();
        let st = scan(&store, &f.path);
        assert_eq!(st.bad_lines, 1);
        assert_eq!(st.message_count, 8);
        assert_eq!(store.view(&f.path).unwrap().0.len(), 8);
    }

    #[test]
    fn discovery_reads_only_the_meta_cwd() {
        let (d, store) = fixture();
        let f = file_of(&store, S1);
        assert_eq!(meta_cwd(&f.path).as_deref(), Some("/home/dev/acme-webapp"));
        let ws = |p: &str| Workspace {
            folders: vec![p.into()],
            paths: vec![p.into()],
        };
        assert_eq!(
            store
                .discover(Some(&ws("/home/dev/acme-webapp")))
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            store.discover(Some(&ws("/home/dev/other"))).unwrap().len(),
            0
        );
        // a rollout without a readable session_meta head is kept for the scan to decide
        let odd = d.path().join("sessions/2026/11/21/rollout-2026-11-21T07-00-00-01a1fd00-0000-7000-8000-000000000009.jsonl");
        std::fs::write(&odd, "garbage\n").unwrap();
        assert_eq!(
            store.discover(Some(&ws("/home/dev/other"))).unwrap().len(),
            1
        );
    }

    #[test]
    fn cold_reads_of_large_rollouts() {
        let (_d, store) = fixture();
        let f = file_of(&store, S1);
        // the name record ends up in the middle: neither head nor tail window holds it
        store.rename(&f, "Named").unwrap();
        // only the rollout's own record can name it now
        std::fs::remove_file(store.index_path()).unwrap();
        let mut text = std::fs::read_to_string(&f.path).unwrap();
        for i in 0..60 {
            text.push_str(&format!(
                "{{\"timestamp\":\"2026-11-21T06:30:00.000Z\",\"ordinal\":{},\"type\":\"event_msg\",\"payload\":{{\"type\":\"x_pad\",\"pad\":\"{}\"}}}}\n",
                40 + i,
                "x".repeat(4000)
            ));
        }
        std::fs::write(&f.path, text).unwrap();
        let (_, lite) =
            crate::index::scan_file(&store, &f.path, None, crate::index::ReadMode::Lite).unwrap();
        assert!(lite.partial);
        assert!(store.is_listable(&lite));
        assert_eq!(lite.custom_title.as_deref(), Some("Named"));
        assert_eq!(lite.cwd.as_deref(), Some("/home/dev/acme-webapp"));
        let (_, full) =
            crate::index::scan_file(&store, &f.path, None, crate::index::ReadMode::Full).unwrap();
        assert_eq!(full.message_count, 8);
        assert_eq!(full.title(), lite.title());
    }

    #[test]
    fn argv() {
        let store = CodexStore::new(PathBuf::new());
        let mut p = ResumeParams {
            session: crate::protocol::SessionRef::Text("x".into()),
            fork: false,
            prompt: None,
            model: None,
            permission_mode: None,
        };
        assert_eq!(
            store.resume_argv("codex", S1, &p).unwrap(),
            vec!["codex", "resume", S1]
        );
        p.fork = true;
        p.prompt = Some("-go".into());
        p.model = Some("gpt-5.5".into());
        assert_eq!(
            store.resume_argv("codex", S1, &p).unwrap(),
            vec!["codex", "fork", "--model=gpt-5.5", "--", S1, "-go"]
        );
        assert_eq!(
            store.compress_argv("codex", S1).unwrap(),
            vec!["codex", "app-server"]
        );
    }
}
