//! Claude Code compression: the agent's own `/compact` run headless, and the model-free trim
//! fork (old bulky tool results elided, old thinking dropped, every tool_use kept paired).
//!
//! The trim fork is written like the CLI's own `--fork-session` (formats/claude-code.md §5, §10):
//! a new `<uuid>.jsonl` next to the source, every line copied in file order with `sessionId`
//! rewritten and the uuids kept (so `parentUuid` links, `last-prompt.leafUuid` and a compaction's
//! `preservedSegment` stay valid), `forkedFrom {sessionId, messageUuid}` on every chain entry (as
//! the official SDK's fork writes it), and a final `custom-title` row "<title> (trimmed)". The
//! request/cache log rows (`api-request*`) are left out: the CLI ignores them on resume.
//!
//! Entries before the last `keepTurns` user prompts are slimmed:
//! * a `tool_result` whose content is larger than `minBytes` becomes a one-line placeholder
//!   naming what was elided ("[elided by session-sidecar: 48.2 KB Read result of src/app.ts]");
//!   its `tool_use_id` and `is_error` stay, so every tool_use keeps its result; the entry's
//!   `toolUseResult` copy (not sent to the model) is dropped;
//! * string fields of a `tool_use` input larger than `minBytes` (a Write's `content`, an Edit's
//!   strings) and big re-read `file` attachments become placeholders the same way;
//! * `thinking` / `redacted_thinking` blocks are dropped (the API needs them, with their
//!   signatures, only in the turn being continued, which is never trimmed); an entry left
//!   without blocks is dropped and its children are re-parented to its parent.
//!
//! Token estimate (before/after): bytes / 4 of what the CLI sends on resume — the `content` of
//! the user/assistant entries and the `rendered` text of attachments on the chain from the leaf
//! (the last `last-prompt.leafUuid`, else the last chain entry) back to the root or the last
//! compaction boundary.

use super::claude::ClaudeStore;
use super::trim_rules::{
    cutoff, describe_result, elide_input_strings, placeholder, short_target, tool_target,
};
use super::{SessionFile, SessionStore, TrimOptions};
use crate::error::{Result, SidecarError};
use crate::protocol::{Agent, ErrorCode};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

pub fn compress_argv(exe: &str, id: &str) -> Result<Vec<String>> {
    crate::ids::validate_id(id)?;
    Ok(vec![
        exe.to_string(),
        "--resume".into(),
        id.to_string(),
        "-p".into(),
        "/compact".into(),
    ])
}

/// The fields of a line the trim needs to look at without parsing the content.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    parent_uuid: Option<Cow<'a, str>>,
    is_sidechain: Option<bool>,
    is_meta: Option<bool>,
    is_compact_summary: Option<bool>,
    #[serde(borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    leaf_uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<&'a RawValue>,
    #[serde(borrow)]
    compact_metadata: Option<&'a RawValue>,
    #[serde(borrow)]
    rendered: Option<&'a RawValue>,
    #[serde(borrow)]
    forked_from: Option<&'a RawValue>,
}

impl Line<'_> {
    fn ty(&self) -> &str {
        self.ty.as_deref().unwrap_or("")
    }
    fn is_chain(&self) -> bool {
        self.uuid.is_some() && matches!(self.ty(), "user" | "assistant" | "system" | "attachment")
    }
    fn main_chain(&self) -> bool {
        self.is_chain() && self.is_sidechain != Some(true)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MessageContent<'a> {
    #[serde(borrow)]
    content: Option<&'a RawValue>,
}

fn content_of<'a>(l: &Line<'a>) -> Option<&'a RawValue> {
    l.message
        .and_then(|m| serde_json::from_str::<MessageContent>(m.get()).ok())
        .and_then(|m| m.content)
}

const LOG_ROWS: [&str; 4] = [
    "api-request",
    "api-request-blob",
    "api-request-shape",
    "api-request-resumed",
];

/// How many lines, or bytes, a trim reads between two looks at the request's cancellation.
const CANCEL_CHECK_LINES: usize = 4096;
const CANCEL_CHECK_BYTES: usize = 16 << 20;

/// Calls `f(index, line)` for every line (a last line without `\n` included), newline stripped.
/// A request the client cancelled stops here, every `CANCEL_CHECK_LINES` lines or
/// `CANCEL_CHECK_BYTES` bytes, rather than at the commit after the whole file was read and
/// written.
fn each_line(path: &Path, mut f: impl FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
    let file = File::open(path).map_err(|e| SidecarError::unreadable(path, &e))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::with_capacity(1 << 16);
    let mut i = 0;
    let mut since_check = 0;
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| SidecarError::unreadable(path, &e))?;
        if n == 0 {
            return Ok(());
        }
        since_check += n;
        if i % CANCEL_CHECK_LINES == 0 || since_check >= CANCEL_CHECK_BYTES {
            since_check = 0;
            if crate::handlers::current_cancelled() {
                return Err(SidecarError::new(
                    ErrorCode::RequestCancelled,
                    "request cancelled",
                ));
            }
        }
        let mut line: &[u8] = &buf;
        if let Some(s) = line.strip_suffix(b"\n") {
            line = s;
        }
        if let Some(s) = line.strip_suffix(b"\r") {
            line = s;
        }
        f(i, line)?;
        i += 1;
    }
}

/// What a tool_use was: its name and what it acted on, for placeholders.
#[derive(Debug, Clone)]
struct ToolInfo {
    name: String,
    target: Option<String>,
}

/// Sums the model-visible bytes along the chain the CLI resumes.
#[derive(Default)]
struct ChainSizer {
    nodes: HashMap<String, (Option<String>, u64)>,
    last_chain: Option<String>,
    leaf_hint: Option<String>,
}

impl ChainSizer {
    fn feed(&mut self, l: &Line) {
        if l.ty() == "last-prompt" {
            if let Some(leaf) = &l.leaf_uuid {
                self.leaf_hint = Some(leaf.to_string());
            }
            return;
        }
        if !l.main_chain() {
            return;
        }
        let bytes = match l.ty() {
            "user" | "assistant" => content_of(l).map(|c| c.get().len()).unwrap_or(0),
            "attachment" => l.rendered.map(|r| r.get().len()).unwrap_or(0),
            _ => 0,
        } as u64;
        let uuid = l.uuid.as_deref().unwrap_or("").to_string();
        self.nodes.insert(
            uuid.clone(),
            (l.parent_uuid.as_deref().map(str::to_string), bytes),
        );
        self.last_chain = Some(uuid);
    }

    fn tokens(&self) -> u64 {
        let leaf = self
            .leaf_hint
            .as_ref()
            .filter(|l| self.nodes.contains_key(*l))
            .or(self.last_chain.as_ref());
        let mut total = 0u64;
        let mut cur = leaf.cloned();
        let mut steps = 0usize;
        while let Some(u) = cur {
            let Some((parent, bytes)) = self.nodes.get(&u) else {
                break;
            };
            total += bytes;
            cur = parent.clone();
            steps += 1;
            if steps > self.nodes.len() {
                break; // a cycle
            }
        }
        total / 4
    }
}

/// The first pass: prompts, tool names, uuids a compaction refers to, the size before.
struct Analysis {
    prompt_lines: Vec<usize>,
    tools: HashMap<String, ToolInfo>,
    protected: HashSet<String>,
    tokens_before: u64,
}

fn is_prompt(l: &Line) -> bool {
    if l.ty() != "user"
        || !l.main_chain()
        || l.is_meta == Some(true)
        || l.is_compact_summary == Some(true)
    {
        return false;
    }
    let Some(c) = content_of(l) else {
        return false;
    };
    let raw = c.get();
    let text: Option<String> = if raw.starts_with('"') {
        serde_json::from_str::<String>(raw).ok()
    } else {
        let blocks: Vec<Value> = serde_json::from_str(raw).unwrap_or_default();
        if blocks.iter().any(|b| b["type"] == "tool_result") {
            return false;
        }
        blocks
            .iter()
            .find_map(|b| b["text"].as_str().map(str::to_string))
    };
    match text {
        Some(t) => {
            let t = t.trim_start();
            !(t.starts_with("<command-")
                || t.starts_with("<local-command")
                || t.starts_with("[Request interrupted"))
        }
        None => false,
    }
}

fn analyze(path: &Path) -> Result<Analysis> {
    let mut a = Analysis {
        prompt_lines: Vec::new(),
        tools: HashMap::new(),
        protected: HashSet::new(),
        tokens_before: 0,
    };
    let mut sizer = ChainSizer::default();
    each_line(path, |i, raw| {
        let Ok(l) = serde_json::from_slice::<Line>(raw) else {
            return Ok(());
        };
        sizer.feed(&l);
        if is_prompt(&l) {
            a.prompt_lines.push(i);
        }
        if l.ty() == "assistant" {
            if let Some(c) = content_of(&l) {
                if memchr::memmem::find(c.get().as_bytes(), b"tool_use").is_some() {
                    let blocks: Vec<Value> = serde_json::from_str(c.get()).unwrap_or_default();
                    for b in blocks.iter().filter(|b| b["type"] == "tool_use") {
                        if let Some(id) = b["id"].as_str() {
                            a.tools.insert(id.to_string(), tool_info(b));
                        }
                    }
                }
            }
        }
        if let Some(cm) = l.compact_metadata {
            collect_uuids(
                &serde_json::from_str::<Value>(cm.get()).unwrap_or_default(),
                &mut a.protected,
            );
        }
        Ok(())
    })?;
    a.tokens_before = sizer.tokens();
    Ok(a)
}

fn collect_uuids(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::String(s) if crate::ids::is_uuid(s) => {
            out.insert(s.to_ascii_lowercase());
        }
        Value::Array(a) => a.iter().for_each(|x| collect_uuids(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_uuids(x, out)),
        _ => {}
    }
}

fn tool_info(b: &Value) -> ToolInfo {
    ToolInfo {
        name: b["name"].as_str().unwrap_or("tool").to_string(),
        target: tool_target(&b["input"]),
    }
}

fn json_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        other => serde_json::to_string(other).map(|s| s.len()).unwrap_or(0),
    }
}

struct Trimmer<'a> {
    a: &'a Analysis,
    min_bytes: usize,
    /// Dropped entry → the parent its children move to.
    reparent: HashMap<String, Option<String>>,
    elided: u64,
}

impl Trimmer<'_> {
    fn resolve_parent(&self, mut p: Option<String>) -> Option<String> {
        let mut n = 0;
        while let Some(u) = &p {
            match self.reparent.get(u) {
                Some(next) if n < 10_000 => {
                    p = next.clone();
                    n += 1;
                }
                _ => break,
            }
        }
        p
    }

    fn describe(&self, tool_use_id: &str, cwd: Option<&str>) -> String {
        match self.a.tools.get(tool_use_id) {
            Some(t) => describe_result(&t.name, t.target.as_deref(), cwd),
            None => "tool result".to_string(),
        }
    }

    /// Slim an old user entry's tool results. Returns whether anything changed.
    fn slim_user(&mut self, v: &mut Value) -> bool {
        let cwd = v["cwd"].as_str().map(str::to_string);
        let Some(blocks) = v["message"]["content"].as_array_mut() else {
            return false;
        };
        let mut changed = false;
        for b in blocks.iter_mut() {
            match b["type"].as_str() {
                Some("tool_result") => {
                    let size = json_len(&b["content"]);
                    if size > self.min_bytes {
                        let id = b["tool_use_id"].as_str().unwrap_or("").to_string();
                        let what = self.describe(&id, cwd.as_deref());
                        b["content"] = Value::String(placeholder(size, &what));
                        changed = true;
                    }
                }
                Some("image") => {
                    let size = json_len(b);
                    if size > self.min_bytes {
                        *b = json!({"type": "text", "text": placeholder(size, "image")});
                        changed = true;
                    }
                }
                Some("document") => {
                    let size = json_len(b);
                    if size > self.min_bytes {
                        *b = json!({"type": "text", "text": placeholder(size, "document")});
                        changed = true;
                    }
                }
                _ => {}
            }
        }
        if changed {
            if let Some(o) = v.as_object_mut() {
                o.remove("toolUseResult");
            }
            self.elided += 1;
        }
        changed
    }

    /// Drop thinking and slim big tool_use inputs of an old assistant entry.
    /// Returns (changed, now empty).
    fn slim_assistant(&mut self, v: &mut Value) -> (bool, bool) {
        let cwd = v["cwd"].as_str().map(str::to_string);
        let Some(blocks) = v["message"]["content"].as_array_mut() else {
            return (false, false);
        };
        let before = blocks.len();
        blocks.retain(|b| !matches!(b["type"].as_str(), Some("thinking" | "redacted_thinking")));
        let mut changed = blocks.len() != before;
        for b in blocks.iter_mut() {
            if b["type"] != "tool_use" {
                continue;
            }
            let info = tool_info(b);
            let target = short_target(info.target.as_deref(), cwd.as_deref());
            if let Some(input) = b["input"].as_object_mut() {
                changed |=
                    elide_input_strings(&info.name, target.as_deref(), input, self.min_bytes);
            }
        }
        if changed {
            self.elided += 1;
        }
        (changed, blocks.is_empty())
    }

    /// Slim a re-read file attachment (its content and rendered text).
    fn slim_attachment(&mut self, v: &mut Value) -> bool {
        if v["attachment"]["type"] != "file" {
            return false;
        }
        let name = v["attachment"]["displayPath"]
            .as_str()
            .or_else(|| v["attachment"]["filename"].as_str())
            .unwrap_or("a file")
            .to_string();
        let mut changed = false;
        let min = self.min_bytes;
        if let Some(c) = v["attachment"]["content"]["file"]["content"].as_str() {
            if c.len() > min {
                let p = placeholder(c.len(), &format!("contents of {name}"));
                v["attachment"]["content"]["file"]["content"] = Value::String(p);
                changed = true;
            }
        }
        if let Some(r) = v["rendered"].as_array_mut() {
            for item in r.iter_mut() {
                if let Some(c) = item["content"].as_str() {
                    if c.len() > min {
                        let p = placeholder(c.len(), &format!("contents of {name}"));
                        item["content"] =
                            Value::String(format!("<system-reminder>\n{p}\n</system-reminder>"));
                        changed = true;
                    }
                }
            }
        }
        if changed {
            self.elided += 1;
        }
        changed
    }
}

/// Rewrite `"sessionId":"<old>"` in place when it is written compactly, else None.
fn replace_session_id(raw: &[u8], old: &str, new: &str) -> Option<Vec<u8>> {
    // The id must occur once (then it is the top-level sessionId the caller saw parsed), written
    // compactly; anything else is re-serialised.
    if memchr::memmem::find_iter(raw, old.as_bytes()).count() != 1 {
        return None;
    }
    let pat = format!("\"sessionId\":\"{old}\"");
    let pos = memchr::memmem::find(raw, pat.as_bytes())?;
    let mut out = Vec::with_capacity(raw.len() + 8);
    out.extend_from_slice(&raw[..pos]);
    out.extend_from_slice(format!("\"sessionId\":\"{new}\"").as_bytes());
    out.extend_from_slice(&raw[pos + pat.len()..]);
    Some(out)
}

pub fn trim(
    store: &ClaudeStore,
    file: &SessionFile,
    opts: &TrimOptions,
) -> Result<(SessionFile, u64, u64)> {
    let _ = store.agent();
    let a = analyze(&file.path)?;
    // Entries before `cutoff` are slimmed; thinking is never dropped from the last turn.
    let c = cutoff(&a.prompt_lines, opts.keep_turns, usize::MAX);
    let (cutoff, thinking_cutoff) = (c.old_before, c.thinking_before);

    let new_id = uuid::Uuid::new_v4().to_string();
    let target = file.path.with_file_name(format!("{new_id}.jsonl"));
    let (tmp, out) =
        crate::fsutil::temp_beside(&target).map_err(|e| SidecarError::write_failed(&target, &e))?;
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let mut t = Trimmer {
        a: &a,
        min_bytes: opts.min_bytes as usize,
        reparent: HashMap::new(),
        elided: 0,
    };
    let mut after = ChainSizer::default();
    let old_id = file.id.as_str();
    let forked_from = |uuid: &str| json!({"sessionId": old_id, "messageUuid": uuid});

    let result = (|| -> Result<()> {
        let mut write = |bytes: &[u8], after: &mut ChainSizer| -> Result<()> {
            if let Ok(l) = serde_json::from_slice::<Line>(bytes) {
                after.feed(&l);
            }
            w.write_all(bytes)
                .and_then(|_| w.write_all(b"\n"))
                .map_err(|e| SidecarError::write_failed(&target, &e))
        };
        each_line(&file.path, |i, raw| {
            let Ok(l) = serde_json::from_slice::<Line>(raw) else {
                return Ok(()); // garbage and torn lines are not copied
            };
            if LOG_ROWS.contains(&l.ty()) {
                return Ok(());
            }
            let main = l.main_chain();
            let old = i < cutoff && main;
            let has = |needle: &[u8]| memchr::memmem::find(raw, needle).is_some();
            let big = raw.len() > t.min_bytes;
            let may_slim = old
                && match l.ty() {
                    "user" => {
                        big && (has(b"tool_result") || has(b"\"image\"") || has(b"\"document\""))
                    }
                    "attachment" => big && has(b"\"file\""),
                    "assistant" => {
                        (i < thinking_cutoff && has(b"thinking")) || (big && has(b"tool_use"))
                    }
                    _ => false,
                };
            let parent_moved = l
                .parent_uuid
                .as_deref()
                .is_some_and(|p| t.reparent.contains_key(p));
            let leaf_moved = l
                .leaf_uuid
                .as_deref()
                .is_some_and(|p| t.reparent.contains_key(p));
            let add_forked = l.is_chain() && l.forked_from.is_none();
            let structural = parent_moved
                || leaf_moved
                || (l.is_chain() && l.forked_from.is_some())
                || l.session_id.as_deref().is_some_and(|s| s != old_id);

            let mut slimmed: Option<Value> = None;
            if may_slim {
                let mut v: Value = match serde_json::from_slice(raw) {
                    Ok(v) => v,
                    Err(_) => return Ok(()),
                };
                let changed = match l.ty() {
                    "user" => t.slim_user(&mut v),
                    "assistant" if i >= thinking_cutoff => {
                        // Only inputs; the thinking of the turn being continued stays.
                        let saved = v["message"]["content"].clone();
                        let (changed, _) = t.slim_assistant(&mut v);
                        restore_thinking(&mut v, &saved);
                        changed
                    }
                    "assistant" => {
                        let (changed, empty) = t.slim_assistant(&mut v);
                        let uuid = l.uuid.as_deref().unwrap_or("").to_string();
                        if empty && !a.protected.contains(&uuid) {
                            let parent =
                                t.resolve_parent(l.parent_uuid.as_deref().map(str::to_string));
                            t.reparent.insert(uuid, parent);
                            return Ok(());
                        }
                        changed
                    }
                    "attachment" => t.slim_attachment(&mut v),
                    _ => false,
                };
                if changed {
                    slimmed = Some(v);
                }
            }

            if slimmed.is_none() && !structural {
                // Byte-preserving copy: only sessionId (and forkedFrom) change.
                let mut bytes = match &l.session_id {
                    Some(_) => match replace_session_id(raw, old_id, &new_id) {
                        Some(b) => b,
                        None => {
                            return write_value(
                                raw,
                                &l,
                                &new_id,
                                &forked_from,
                                &mut write,
                                &mut after,
                            )
                        }
                    },
                    None => raw.to_vec(),
                };
                if add_forked && bytes.first() == Some(&b'{') {
                    let uuid = l.uuid.as_deref().unwrap_or("");
                    let ff = format!(
                        "{{\"forkedFrom\":{},",
                        serde_json::to_string(&forked_from(uuid)).unwrap_or_default()
                    );
                    bytes.splice(0..1, ff.into_bytes());
                }
                return write(&bytes, &mut after);
            }

            let mut v = match slimmed {
                Some(v) => v,
                None => match serde_json::from_slice(raw) {
                    Ok(v) => v,
                    Err(_) => return Ok(()),
                },
            };
            if parent_moved {
                let p = t.resolve_parent(l.parent_uuid.as_deref().map(str::to_string));
                v["parentUuid"] = p.map(Value::String).unwrap_or(Value::Null);
            }
            if leaf_moved {
                if let Some(p) = t.resolve_parent(l.leaf_uuid.as_deref().map(str::to_string)) {
                    v["leafUuid"] = Value::String(p);
                }
            }
            let obj = v.as_object_mut().expect("a JSON object line");
            finish_object(obj, &l, &new_id, &forked_from);
            let bytes =
                serde_json::to_vec(&v).map_err(|e| SidecarError::internal(e.to_string()))?;
            write(&bytes, &mut after)
        })?;
        let title = format!(
            "{} (trimmed)",
            opts.title.as_deref().unwrap_or("Trimmed session")
        );
        let row = json!({"type": "custom-title", "customTitle": title, "sessionId": new_id});
        write(row.to_string().as_bytes(), &mut after)?;
        w.flush()
            .map_err(|e| SidecarError::write_failed(&target, &e))
    })();
    if let Err(e) = result {
        drop(w);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let out = w
        .into_inner()
        .map_err(|e| SidecarError::write_failed(&target, e.error()))?;
    crate::fsutil::commit_temp(&tmp, out, &target, true)
        .map_err(|e| SidecarError::write_failed(&target, &e))?;
    tracing::info!(
        "trimmed {} into {new_id}: {} entries slimmed, {} dropped",
        file.id,
        t.elided,
        t.reparent.len()
    );
    Ok((
        SessionFile {
            agent: Agent::Claude,
            id: new_id,
            path: target,
        },
        a.tokens_before,
        after.tokens(),
    ))
}

/// Set sessionId and forkedFrom on a parsed line.
fn finish_object(
    obj: &mut Map<String, Value>,
    l: &Line,
    new_id: &str,
    forked_from: &dyn Fn(&str) -> Value,
) {
    if obj.contains_key("sessionId") {
        obj.insert("sessionId".into(), Value::String(new_id.to_string()));
    }
    if l.is_chain() {
        obj.insert(
            "forkedFrom".into(),
            forked_from(l.uuid.as_deref().unwrap_or("")),
        );
    }
}

/// Re-serialise a line that could not be rewritten byte for byte.
fn write_value(
    raw: &[u8],
    l: &Line,
    new_id: &str,
    forked_from: &dyn Fn(&str) -> Value,
    write: &mut dyn FnMut(&[u8], &mut ChainSizer) -> Result<()>,
    after: &mut ChainSizer,
) -> Result<()> {
    let mut v: Value = match serde_json::from_slice(raw) {
        Ok(v) => v,
        Err(_) => return Ok(()),
    };
    if let Some(obj) = v.as_object_mut() {
        finish_object(obj, l, new_id, forked_from);
    }
    let bytes = serde_json::to_vec(&v).map_err(|e| SidecarError::internal(e.to_string()))?;
    write(&bytes, after)
}

/// Put back the thinking blocks `slim_assistant` removed (for the turn that must keep them).
fn restore_thinking(v: &mut Value, saved: &Value) {
    let Some(orig) = saved.as_array() else {
        return;
    };
    let slimmed = v["message"]["content"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut it = slimmed.into_iter();
    let merged: Vec<Value> = orig
        .iter()
        .map(|b| {
            if matches!(b["type"].as_str(), Some("thinking" | "redacted_thinking")) {
                b.clone()
            } else {
                it.next().unwrap_or_else(|| b.clone())
            }
        })
        .collect();
    v["message"]["content"] = Value::Array(merged);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_is_rewritten_in_place() {
        let raw = br#"{"type":"user","sessionId":"aaaa","uuid":"x"}"#;
        let out = replace_session_id(raw, "aaaa", "bbbb").unwrap();
        assert_eq!(out, br#"{"type":"user","sessionId":"bbbb","uuid":"x"}"#);
        assert!(replace_session_id(br#"{"sessionId": "aaaa"}"#, "aaaa", "b").is_none());
        // Also in the content: not the byte rewrite.
        assert!(replace_session_id(
            br#"{"sessionId": "aaaa","message":{"content":"{"sessionId":"aaaa"}"}}"#,
            "aaaa",
            "b"
        )
        .is_none());
    }

    #[test]
    fn a_cancelled_request_stops_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let lines = CANCEL_CHECK_LINES * 2 + 10;
        std::fs::write(&path, "{}\n".repeat(lines)).unwrap();
        let ctl = crate::handlers::RequestControl::default();
        let mut seen = 0;
        ctl.enter(|| {
            each_line(&path, |_, _| {
                seen += 1;
                Ok(())
            })
        })
        .unwrap();
        assert_eq!(seen, lines);
        // Cancelled part-way: it stops at the next check.
        let mut seen = 0;
        let e = ctl
            .enter(|| {
                each_line(&path, |i, _| {
                    if i == 10 {
                        ctl.cancelled
                            .store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    seen += 1;
                    Ok(())
                })
            })
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::RequestCancelled);
        assert_eq!(seen, CANCEL_CHECK_LINES);
    }

    #[test]
    fn compress_argv_is_the_cli_compact() {
        assert_eq!(
            compress_argv("/usr/bin/claude", "f8b620d5-3e65-440f-b212-18ee553a6a7b").unwrap(),
            vec![
                "/usr/bin/claude",
                "--resume",
                "f8b620d5-3e65-440f-b212-18ee553a6a7b",
                "-p",
                "/compact"
            ]
        );
        assert!(compress_argv("claude", "../etc").is_err());
    }
}
