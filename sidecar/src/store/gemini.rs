//! Gemini CLI (formats/gemini-cli.md): `<GEMINI_CLI_HOME or ~>/.gemini/tmp/<slug>/chats/
//! session-<UTC minute>-<id8>.jsonl`, an append-only event log folded like the CLI does
//! (`gemini_fold.rs`). The slug of a project comes from `.gemini/projects.json`
//! (`{"projects": {path: slug}}`); pre-0.61 `tmp/<sha256(path)>/` folders are read too.
//!
//! * The session id is the header's `sessionId` (files are named by its first 8 characters).
//!   Several files with one id (a resume in a later minute leaves a header-only stub) count as
//!   one session: the resumable one with the newest `lastUpdated`, as `--list-sessions` picks.
//!   Files without resumable content (stubs) and `kind: "subagent"` files are not listed.
//!   Legacy single-object `.json` sessions are not read.
//! * Title: the sidecar's rename, else `summary` (the CLI's generated one), else the first real
//!   user prompt (whitespace folded). `createdAt` = the first header's `startTime`; the
//!   `--resume latest` order (`continue_key`) is the merged `startTime`. Tokens from `tokens` on
//!   gemini messages (each message once), context fill = the last gemini `tokens.input`; the CLI
//!   records no window. `cwd` = the first "Workspace Directories" entry of the stored
//!   `<session_context>` when its sha256 equals the header's `projectHash` (the project root).
//! * History: the folded messages, i.e. what the CLI resumes with: `<session_context>` /
//!   `<hook_context>` are left out, a `<state_snapshot>` message (auto-compression) becomes a
//!   system item with a compaction block, tool calls are toolUse blocks and the separate
//!   functionResponse user messages tool items; `info`/`error`/`warning` messages (shown by
//!   the CLI, never sent to the model) are system items.
//! * Fork: a new file with a fresh UUIDv4 whose 8-character prefix no existing file of the
//!   project uses (the retention cleanup deletes by that prefix), a header (`kind: "main"`,
//!   `startTime` now, the source's `projectHash`, `forkedFrom`), then the folded messages as
//!   records, then the title.
//! * Rename: `{"$set":{"summary":…},"customTitle":…}` — the CLI shows `summary` in
//!   `--list-sessions` and never overwrites an existing one; `customTitle` (ignored by the CLI)
//!   tells the sidecar it is the user's title.
//! * Retention: with the CLI's default `general.sessionRetention`, a startup deletes every
//!   `session-*-<id8>.json[l]` of a session it judges invalid, including a stub's real session;
//!   users should disable it. The sidecar never writes a stub and never reuses an id8.

use super::agent_util::{self as au, Located, RawObject};
use super::gemini_fold::{self as gf, Folded};
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
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

pub struct GeminiStore {
    root: PathBuf,
}

// Bits of a message's kind in the scan scratch.
const COUNTED: u64 = 1;
const RESUMABLE: u64 = 2;

fn is_session_file_name(name: &str) -> bool {
    name.starts_with("session-") && name.ends_with(".jsonl")
}

/// The `<id8>` of `session-<time>-<id8>.jsonl`.
fn id8_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".jsonl")?;
    stem.rsplit('-').next().map(str::to_string)
}

/// The `sessionId` of the file's first header (the first line, else any line).
fn header_session_id(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 64 * 1024];
    let n = f.read(&mut buf).ok()?;
    let first = buf[..n].split(|b| *b == b'\n').next()?;
    let from_first = serde_json::from_slice::<Value>(first)
        .ok()
        .and_then(|v| v["sessionId"].as_str().map(str::to_string));
    from_first.or_else(|| gf::fold_file(path).ok()?.meta.session_id)
}

/// The call ids of a user message made only of functionResponse parts (else empty).
fn response_ids(m: &Value) -> Vec<String> {
    if m["type"] != "user" {
        return Vec::new();
    }
    let Some(parts) = m["content"].as_array() else {
        return Vec::new();
    };
    let ids: Vec<String> = parts
        .iter()
        .filter_map(|p| p["functionResponse"]["id"].as_str().map(str::to_string))
        .collect();
    if ids.len() == parts.len() {
        ids
    } else {
        Vec::new()
    }
}

/// Whether a tool-response message only repeats responses an earlier message of the list
/// already holds: after a resume the CLI's snapshot carries each response twice (`<id>_response`
/// from the call's result, and the original user message); shown and counted once.
fn is_repeated_response(m: &Value, seen: &Map<String, Value>) -> bool {
    let id = m["id"].as_str().unwrap_or_default();
    let calls = response_ids(m);
    !calls.is_empty()
        && calls.iter().all(|c| {
            seen.get(c)
                .and_then(|v| v.as_str())
                .is_some_and(|owner| owner != id)
        })
}

fn message_kind(m: &Value) -> u64 {
    let text = gf::content_text(&m["content"]);
    let counted = match m["type"].as_str() {
        Some("user") => !gf::is_injected_context(text.trim_start()),
        Some("gemini") => true,
        _ => false,
    };
    (if counted { COUNTED } else { 0 }) | (if gf::is_resumable(m) { RESUMABLE } else { 0 })
}

/// "- **Workspace Directories:**\n  - /path" in a `<session_context>` text.
pub(super) fn workspace_dir_from_context(text: &str) -> Option<String> {
    let i = text.find("**Workspace Directories:**")?;
    text[i..]
        .lines()
        .skip(1)
        .map(str::trim)
        .take_while(|l| l.starts_with("- "))
        .map(|l| l[2..].trim().to_string())
        .next()
}

static NULL: Value = Value::Null;

/// A scratch field (Null when absent: `Map` indexing would panic).
fn fld<'a>(sc: &'a Map<String, Value>, k: &str) -> &'a Value {
    sc.get(k).unwrap_or(&NULL)
}

fn scratch(st: &mut ScanState) -> &mut Map<String, Value> {
    if !st.extra.is_object() {
        st.extra = json!({"ids": [], "k": {}, "t": {}, "res": 0});
    }
    st.extra.as_object_mut().expect("object")
}

/// Recount message_count and resumable messages from the scratch kinds.
fn recount(st: &mut ScanState) {
    let (mut counted, mut res) = (0u64, 0u64);
    if let Some(k) = fld(scratch(st), "k").as_object() {
        for v in k.values() {
            let c = v.as_u64().unwrap_or(0);
            counted += c & COUNTED;
            res += (c & RESUMABLE) >> 1;
        }
    }
    st.message_count = counted;
    scratch(st).insert("res".into(), json!(res));
}

fn scan_message(st: &mut ScanState, m: &Value) {
    let Some(id) = m["id"].as_str() else {
        return;
    };
    let mut code = message_kind(m);
    {
        let sc = scratch(st);
        if !fld(sc, "fr").is_object() {
            sc.insert("fr".into(), json!({}));
        }
        if is_repeated_response(m, fld(sc, "fr").as_object().expect("object")) {
            code = 0;
        } else if let Some(fr) = sc.get_mut("fr").and_then(|f| f.as_object_mut()) {
            for c in response_ids(m) {
                fr.insert(c, json!(id));
            }
        }
        let old = fld(sc, "k").get(id).and_then(|v| v.as_u64());
        if old.is_none() {
            if let Some(ids) = sc.get_mut("ids").and_then(|i| i.as_array_mut()) {
                ids.push(json!(id));
            }
        }
        if let Some(k) = sc.get_mut("k").and_then(|k| k.as_object_mut()) {
            k.insert(id.to_string(), json!(code));
        }
        let old = old.unwrap_or(0);
        let res = fld(sc, "res").as_u64().unwrap_or(0) + ((code & RESUMABLE) >> 1);
        sc.insert(
            "res".into(),
            json!(res.saturating_sub((old & RESUMABLE) >> 1)),
        );
        st.message_count = (st.message_count + (code & COUNTED)).saturating_sub(old & COUNTED);
    }
    let text = gf::content_text(&m["content"]);
    match m["type"].as_str() {
        Some("user") => {
            if st.first_prompt.is_none() && code & RESUMABLE != 0 {
                let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
                st.first_prompt = au::prompt_title(&folded);
            }
            if st.cwd.is_none() && text.trim_start().starts_with("<session_context>") {
                if let Some(dir) = workspace_dir_from_context(&text) {
                    let ph = fld(scratch(st), "ph").as_str().map(str::to_string);
                    if ph.as_deref() == Some(au::sha256_hex(&dir).as_str()) {
                        st.cwd = Some(dir);
                    }
                }
            }
        }
        Some("gemini") => {
            if let Some(model) = m["model"].as_str().filter(|s| !s.is_empty()) {
                st.model = Some(model.to_string());
            }
            let t = &m["tokens"];
            if t.is_object() {
                let u = usage_of(t);
                let first_time = {
                    let sc = scratch(st);
                    let seen = fld(sc, "t").get(id).is_some();
                    if let Some(tm) = sc.get_mut("t").and_then(|t| t.as_object_mut()) {
                        tm.insert(id.to_string(), json!(1));
                    }
                    !seen
                };
                if first_time {
                    st.model_turns += 1;
                    st.tokens.input += u.input_tokens;
                    st.tokens.output += u.output_tokens;
                    st.tokens.cache_read += u.cache_read_tokens;
                }
                if let Some(i) = t["input"].as_u64() {
                    st.context_used = Some(i);
                }
            }
        }
        _ => {}
    }
}

fn usage_of(t: &Value) -> Usage {
    let n = |k: &str| t[k].as_u64().unwrap_or(0);
    Usage {
        input_tokens: n("input").saturating_sub(n("cached")),
        output_tokens: n("output") + n("thoughts"),
        cache_read_tokens: n("cached"),
        cache_creation_tokens: 0,
    }
}

fn apply_meta(st: &mut ScanState, m: &Map<String, Value>, header: bool) {
    let s = |k: &str| m.get(k).and_then(|v| v.as_str()).map(str::to_string);
    if let Some(id) = s("sessionId") {
        st.session_id = Some(id.to_ascii_lowercase());
    }
    if let Some(ph) = s("projectHash") {
        scratch(st).insert("ph".into(), json!(ph));
    }
    if let Some(t) = s("startTime") {
        if header && st.created_at.is_none() {
            st.created_at = crate::time::normalize(&t);
        }
        scratch(st).insert("st".into(), json!(t));
    }
    if let Some(t) = s("lastUpdated") {
        scratch(st).insert("lu".into(), json!(t));
    }
    if let Some(k) = s("kind") {
        st.sidechain = k == "subagent";
    }
    if let Some(v) = m.get("summary") {
        st.summary = v
            .as_str()
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string);
    }
    if header && st.forked_from.is_none() {
        if let Some(sid) = m.get("forkedFrom").and_then(|f| f["sessionId"].as_str()) {
            st.forked_from = Some(ForkedFrom {
                session_id: sid.to_string(),
                message_uuid: m["forkedFrom"]["messageUuid"].as_str().map(str::to_string),
            });
        }
    }
}

/// The conversation items of a folded session (see the module doc).
fn view(f: &Folded) -> Vec<Located> {
    let answered: HashSet<String> = f
        .messages
        .iter()
        .filter(|m| m.v["type"] == "user")
        .flat_map(|m| m.v["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["functionResponse"]["id"].as_str().map(str::to_string))
        .collect();
    let mut out: Vec<Located> = Vec::new();
    let mut seen_calls = Map::new();
    for m in &f.messages {
        let v = &m.v;
        if is_repeated_response(v, &seen_calls) {
            continue;
        }
        for c in response_ids(v) {
            seen_calls.insert(c, json!(m.id));
        }
        let ts = v["timestamp"].as_str().and_then(crate::time::normalize);
        let parent = out.last().map(|l| l.item.id.clone());
        let mut item = HistoryItem {
            id: m.id.clone(),
            parent_id: parent,
            role: Role::User,
            timestamp: ts.clone(),
            model: None,
            usage: None,
            content: Vec::new(),
            truncated: false,
        };
        let text = gf::content_text(&v["content"]);
        match v["type"].as_str() {
            Some("user") => {
                let t = text.trim_start();
                if gf::is_injected_context(t) {
                    continue;
                }
                if t.starts_with("<state_snapshot>") {
                    item.role = Role::System;
                    item.content = vec![
                        ContentBlock::Compaction {
                            trigger: None,
                            pre_tokens: None,
                            post_tokens: None,
                        },
                        ContentBlock::Text { text },
                    ];
                } else {
                    item.content = au::parts_to_blocks(&v["content"]);
                    if au::all_tool_results(&item.content) {
                        item.role = Role::Tool;
                    }
                }
                out.push(Located { off: m.off, item });
            }
            Some("gemini") => {
                item.role = Role::Assistant;
                let rec = f.recorded.get(&m.id);
                let field = |k: &str| {
                    Some(&v[k])
                        .filter(|x| !x.is_null())
                        .or_else(|| rec.map(|r| &r[k]).filter(|x| !x.is_null()))
                };
                item.model = field("model").and_then(|x| x.as_str()).map(str::to_string);
                item.usage = field("tokens").filter(|t| t.is_object()).map(usage_of);
                for th in v["thoughts"].as_array().into_iter().flatten() {
                    let subject = th["subject"].as_str().unwrap_or_default();
                    let desc = th["description"].as_str().unwrap_or_default();
                    let text = [subject, desc]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join("\n");
                    if !text.is_empty() {
                        item.content.push(ContentBlock::Thinking { text });
                    }
                }
                item.content.extend(au::parts_to_blocks(&v["content"]));
                let mut unanswered = Vec::new();
                for tc in v["toolCalls"].as_array().into_iter().flatten() {
                    let id = tc["id"].as_str().unwrap_or_default().to_string();
                    item.content.push(ContentBlock::ToolUse {
                        id: id.clone(),
                        name: tc["name"].as_str().unwrap_or_default().to_string(),
                        input: tc.get("args").cloned().unwrap_or(Value::Null),
                    });
                    if !answered.contains(&id) && tc["result"].is_array() {
                        unanswered.extend(au::parts_to_blocks(&tc["result"]));
                    }
                }
                let off = m.off;
                let gid = item.id.clone();
                out.push(Located { off, item });
                if !unanswered.is_empty() {
                    out.push(Located {
                        off,
                        item: HistoryItem {
                            id: format!("{gid}_response"),
                            parent_id: Some(gid),
                            role: Role::Tool,
                            timestamp: ts,
                            model: None,
                            usage: None,
                            content: unanswered,
                            truncated: false,
                        },
                    });
                }
            }
            Some("info" | "error" | "warning") => {
                item.role = Role::System;
                item.content = vec![ContentBlock::Text {
                    text: format!("[{}] {text}", v["type"].as_str().unwrap_or_default()),
                }];
                out.push(Located { off: m.off, item });
            }
            _ => {}
        }
    }
    out
}

impl GeminiStore {
    pub fn new(root: PathBuf) -> GeminiStore {
        GeminiStore { root }
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// `projects.json`: absolute project path → slug.
    fn slugs(&self) -> HashMap<String, String> {
        let p = self.root.join("projects.json");
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| {
                v["projects"].as_object().map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                        .collect()
                })
            })
            .unwrap_or_default()
    }

    /// The `chats/` folders of the workspace's projects that exist.
    fn workspace_dirs(&self, ws: &Workspace) -> Vec<PathBuf> {
        let slugs = self.slugs();
        let mut dirs = Vec::new();
        for p in &ws.paths {
            let ps = p.to_string_lossy();
            let mut names = Vec::new();
            if let Some(s) = slugs.get(ps.as_ref()) {
                names.push(s.clone());
            }
            names.push(au::sha256_hex(&ps));
            for n in names {
                if n.contains('/') || n == ".." || n.is_empty() {
                    continue;
                }
                let d = self.tmp_dir().join(n).join("chats");
                if d.is_dir() && !dirs.contains(&d) {
                    dirs.push(d);
                }
            }
        }
        dirs
    }

    fn scan_path(&self, path: &Path) -> Option<ScanState> {
        crate::index::scan_file(self, path, None, crate::index::ReadMode::Full)
            .ok()
            .map(|(_, st)| st)
    }

    /// Among files sharing one session id: the resumable one with the newest `lastUpdated`.
    fn winner(&self, paths: &[PathBuf]) -> Option<PathBuf> {
        paths
            .iter()
            .filter_map(|p| self.scan_path(p).map(|st| (p, st)))
            .max_by_key(|(p, st)| {
                (
                    self.is_listable(st),
                    st.extra["lu"]
                        .as_str()
                        .and_then(crate::time::parse_ms)
                        .unwrap_or(0),
                    p.to_path_buf(),
                )
            })
            .map(|(p, _)| p.clone())
    }

    fn sessions_in(&self, dir: &Path, out: &mut Vec<SessionFile>) -> Result<()> {
        let mut by_id: HashMap<String, Vec<PathBuf>> = HashMap::new();
        for e in read_dir_or_empty(dir)? {
            let name = e.file_name().to_string_lossy().into_owned();
            if !is_session_file_name(&name) || !e.file_type().map(|t| t.is_file()).unwrap_or(false)
            {
                continue;
            }
            if let Some(id) = header_session_id(&e.path()) {
                by_id
                    .entry(id.to_ascii_lowercase())
                    .or_default()
                    .push(e.path());
            }
        }
        for (id, paths) in by_id {
            let path = if paths.len() == 1 {
                paths.into_iter().next()
            } else {
                self.winner(&paths)
            };
            if let Some(path) = path {
                out.push(SessionFile {
                    agent: Agent::Gemini,
                    id,
                    path,
                });
            }
        }
        Ok(())
    }

    fn new_session_id(&self, chats: &Path) -> String {
        let taken: HashSet<String> = read_dir_or_empty(chats)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                let stem = n
                    .strip_suffix(".jsonl")
                    .or_else(|| n.strip_suffix(".json"))?;
                stem.rsplit('-').next().map(|s| s.to_ascii_lowercase())
            })
            .collect();
        loop {
            let id = uuid::Uuid::new_v4().to_string();
            if !taken.contains(&id[..8]) {
                return id;
            }
        }
    }

    /// Writes a new session next to `file` holding `messages` (message records as JSON, in
    /// order): a fresh id whose 8-character prefix no file of the project uses, a header with
    /// the source's `projectHash` and `forkedFrom`, then the records, then the title (if any).
    /// Used by fork and by the trim fork (gemini_trim.rs).
    pub(super) fn write_copy(
        &self,
        file: &SessionFile,
        folded: &Folded,
        messages: &[&str],
        last_message: Option<String>,
        title: Option<String>,
    ) -> Result<SessionFile> {
        let chats = file
            .path
            .parent()
            .ok_or_else(|| SidecarError::internal("session file has no folder"))?;
        let new_id = self.new_session_id(chats);
        let now_ms = crate::time::now_ms();
        let now = crate::time::iso_from_ms(now_ms);
        // session-<UTC YYYY-MM-DDTHH-MM>-<id8>.jsonl
        let minute = now[..16].replace(':', "-");
        let target = chats.join(format!("session-{minute}-{}.jsonl", &new_id[..8]));
        let project_hash = folded.meta.project_hash.clone().ok_or_else(|| {
            SidecarError::new(
                ErrorCode::StoreUnreadable,
                format!("{} has no header with a projectHash", file.path.display()),
            )
        })?;
        let mut header = RawObject::default();
        header.set("sessionId", &new_id);
        header.set("projectHash", &project_hash);
        header.set("startTime", &now);
        header.set("lastUpdated", &now);
        header.set("kind", "main");
        if let Some(d) = &folded.meta.directories {
            header.set("directories", d);
        }
        header.set(
            "forkedFrom",
            &json!({"sessionId": folded.meta.session_id.clone().unwrap_or(file.id.clone()),
                    "messageUuid": last_message}),
        );
        let mut out = header.to_json();
        out.push('\n');
        for m in messages {
            out.push_str(m);
            out.push('\n');
        }
        if let Some(t) = title {
            let t = au::clean_title(&t)?;
            out.push_str(&json!({"$set": {"summary": t}, "customTitle": t}).to_string());
            out.push('\n');
        }
        au::write_new_file(&target, out.as_bytes())?;
        Ok(SessionFile {
            agent: Agent::Gemini,
            id: new_id,
            path: target,
        })
    }
}

impl SessionStore for GeminiStore {
    fn agent(&self) -> Agent {
        Agent::Gemini
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn watch_roots(&self) -> Vec<PathBuf> {
        vec![self.tmp_dir()]
    }

    fn discover(&self, workspace: Option<&Workspace>) -> Result<Vec<SessionFile>> {
        check_root(&self.tmp_dir())?;
        let mut out = Vec::new();
        match workspace {
            Some(ws) => {
                for d in self.workspace_dirs(ws) {
                    self.sessions_in(&d, &mut out)?;
                }
            }
            None => {
                for chats in super::project_chat_dirs(&self.tmp_dir())? {
                    self.sessions_in(&chats, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    fn session_id_of(&self, path: &Path) -> Option<String> {
        let name = path.file_name()?.to_str()?;
        let chats = path.parent()?;
        if !is_session_file_name(name)
            || chats.file_name()? != "chats"
            || chats.parent()?.parent()? != self.tmp_dir()
        {
            return None;
        }
        let id = header_session_id(path)?.to_ascii_lowercase();
        let id8 = id8_of(path)?;
        let siblings: Vec<PathBuf> = read_dir_or_empty(chats)
            .ok()?
            .into_iter()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(is_session_file_name)
                    && id8_of(p).as_deref() == Some(id8.as_str())
                    && header_session_id(p)
                        .map(|s| s.to_ascii_lowercase())
                        .as_deref()
                        == Some(id.as_str())
            })
            .collect();
        if siblings.len() > 1 && self.winner(&siblings).as_deref() != Some(path) {
            return None;
        }
        Some(id)
    }

    fn in_workspace(&self, path: &Path, st: &ScanState, workspace: &Workspace) -> bool {
        let ph = st.extra["ph"].as_str();
        let slug = path
            .parent()
            .and_then(|c| c.parent())
            .and_then(|s| s.file_name())
            .map(|s| s.to_string_lossy().into_owned());
        let slugs = self.slugs();
        workspace.paths.iter().any(|p| {
            let ps = p.to_string_lossy();
            ph == Some(au::sha256_hex(&ps).as_str())
                || (slug.is_some() && slugs.get(ps.as_ref()) == slug.as_ref())
        })
    }

    fn scan_line(&self, st: &mut ScanState, line: &[u8]) {
        st.lines += 1;
        let v: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(_) => {
                st.bad_lines += 1;
                return;
            }
        };
        let Some(obj) = v.as_object() else {
            return;
        };
        match gf::line_kind(obj) {
            gf::LineKind::Rewind(target) => {
                let sc = scratch(st);
                let ids: Vec<String> = fld(sc, "ids")
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let keep = ids.iter().position(|i| i == target).unwrap_or(0);
                for gone in &ids[keep..] {
                    if let Some(k) = sc.get_mut("k").and_then(|k| k.as_object_mut()) {
                        k.remove(gone);
                    }
                }
                let gone: HashSet<&String> = ids[keep..].iter().collect();
                if let Some(fr) = sc.get_mut("fr").and_then(|f| f.as_object_mut()) {
                    fr.retain(|_, owner| {
                        !owner
                            .as_str()
                            .is_some_and(|o| gone.contains(&o.to_string()))
                    });
                }
                sc.insert("ids".into(), json!(ids[..keep]));
                recount(st);
            }
            gf::LineKind::Message => scan_message(st, &v),
            gf::LineKind::Set(set) => {
                if let Some(msgs) = set.get("messages").and_then(|m| m.as_array()) {
                    {
                        let sc = scratch(st);
                        sc.insert("ids".into(), json!([]));
                        sc.insert("k".into(), json!({}));
                        sc.insert("fr".into(), json!({}));
                    }
                    st.message_count = 0;
                    for m in msgs {
                        scan_message(st, m);
                    }
                    recount(st);
                }
                apply_meta(st, set, false);
                if let Some(title) = gf::title_beside_summary(obj, set) {
                    st.custom_title = title;
                }
            }
            gf::LineKind::Header => {
                apply_meta(st, obj, true);
                if let Some(msgs) = obj.get("messages").and_then(|m| m.as_array()) {
                    for m in msgs {
                        scan_message(st, m);
                    }
                }
            }
            gf::LineKind::Other => {}
        }
    }

    fn is_listable(&self, st: &ScanState) -> bool {
        !st.sidechain && st.session_id.is_some() && st.extra["res"].as_u64().unwrap_or(0) > 0
    }

    fn continue_key(&self, _path: &Path, st: &ScanState, mtime_ms: i64) -> i64 {
        st.extra["st"]
            .as_str()
            .and_then(crate::time::parse_ms)
            .unwrap_or(mtime_ms)
    }

    fn companion_paths(&self, file: &SessionFile) -> Vec<PathBuf> {
        let Some(chats) = file.path.parent() else {
            return Vec::new();
        };
        let mut v = vec![chats.join(&file.id)];
        if let Some(project) = chats.parent() {
            v.push(
                project
                    .join("tool-outputs")
                    .join(format!("session-{}", file.id)),
            );
        }
        v.retain(|p| p.exists());
        v
    }

    fn history(&self, file: &SessionFile, req: &HistoryRequest) -> Result<HistoryPage> {
        let f = gf::fold_file(&file.path)?;
        au::page(&file.path, view(&f), req, "Gemini")
    }

    fn message(&self, file: &SessionFile, id: &str, subagent: Option<&str>) -> Result<HistoryItem> {
        if subagent.is_some() {
            return Err(self.unsupported("subagent transcripts"));
        }
        au::find_message(view(&gf::fold_file(&file.path)?), id)
    }

    /// Messages written at or after `offset`; a message the CLI rewrites (the same id again,
    /// e.g. with its tool calls attached) is pushed again with that id: replace it.
    fn appended(&self, file: &SessionFile, offset: u64, truncate_bytes: usize) -> Result<Appended> {
        let f = gf::fold_file(&file.path)?;
        let end = f.end;
        au::appended_since(&file.path, view(&f), offset, end, truncate_bytes)
    }

    fn subscription_start(&self, file: &SessionFile, after: Option<&Cursor>) -> Result<u64> {
        au::subscription_start(file, after)
    }

    fn resume_argv(&self, exe: &str, id: &str, params: &ResumeParams) -> Result<Vec<String>> {
        if params.fork {
            return Err(SidecarError::new(
                ErrorCode::NotSupported,
                "Gemini CLI has no fork flag: fork with sessions/fork, then resume the new session",
            ));
        }
        let mut argv = vec![exe.to_string(), "--resume".into(), id.to_string()];
        if let Some(m) = params.model.as_deref().filter(|m| !m.is_empty()) {
            argv.push(format!("--model={m}"));
        }
        if let Some(mode) = params.permission_mode.as_deref() {
            let m = au::approval_mode(
                "Gemini",
                mode,
                &["default", "auto_edit", "yolo", "plan"],
                "auto_edit",
            )?;
            argv.push(format!("--approval-mode={m}"));
        }
        if let Some(p) = params.prompt.as_deref().filter(|p| !p.is_empty()) {
            argv.push(format!("--prompt-interactive={p}"));
        }
        Ok(argv)
    }

    fn fork(&self, file: &SessionFile, req: &ForkRequest) -> Result<SessionFile> {
        let folded = gf::fold_file(&file.path)?;
        let mut msgs = folded.messages.clone();
        if let Some(up_to) = &req.up_to_message {
            // A synthetic `<id>_response` item belongs to its gemini message.
            let pos = folded.position(up_to).or_else(|| {
                up_to
                    .strip_suffix("_response")
                    .and_then(|b| folded.position(b))
            });
            match pos {
                Some(i) => msgs.truncate(i + 1),
                None => {
                    return Err(SidecarError::new(
                        ErrorCode::MessageNotFound,
                        format!("no message {up_to:?} in that session"),
                    ))
                }
            }
        }
        if !msgs.iter().any(|m| gf::is_resumable(&m.v)) {
            return Err(SidecarError::invalid_params(
                "the session has no conversation to fork",
            ));
        }
        let title = req
            .title
            .clone()
            .or_else(|| req.source_title.as_ref().map(|t| format!("{t} (fork)")));
        let raws: Vec<&str> = msgs.iter().map(|m| m.raw.as_str()).collect();
        self.write_copy(
            file,
            &folded,
            &raws,
            msgs.last().map(|m| m.id.clone()),
            title,
        )
    }

    fn trim(&self, file: &SessionFile, opts: &TrimOptions) -> Result<(SessionFile, u64, u64)> {
        super::gemini_trim::trim(self, file, opts)
    }

    fn rename(&self, file: &SessionFile, title: &str) -> Result<()> {
        let t = au::clean_title(title)?;
        let line = json!({"$set": {"summary": t}, "customTitle": t}).to_string();
        au::append_record(&file.path, line.as_bytes())
    }

    fn clean_temp_files(&self, workspace: &Workspace) {
        for d in self.workspace_dirs(workspace) {
            crate::fsutil::clean_temp_files(&d);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    const G1: &str = "47d75b93-bf15-4461-8bef-b1f7c7e23d6b";

    /// A copy of the fixture store in a temp dir: (dir, store, the chats folder).
    pub(in crate::store) fn fixture() -> (tempfile::TempDir, GeminiStore, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/home/.gemini");
        let root = d.path().join(".gemini");
        let chats = root.join("tmp/acme-webapp/chats");
        std::fs::create_dir_all(&chats).unwrap();
        std::fs::copy(src.join("projects.json"), root.join("projects.json")).unwrap();
        for e in std::fs::read_dir(src.join("tmp/acme-webapp/chats")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), chats.join(e.file_name())).unwrap();
        }
        (d, GeminiStore::new(root), chats)
    }

    fn ws() -> Workspace {
        Workspace {
            folders: vec![PathBuf::from("/home/dev/acme-webapp")],
            paths: vec![PathBuf::from("/home/dev/acme-webapp")],
        }
    }

    pub(in crate::store) fn file(store: &GeminiStore, id: &str) -> SessionFile {
        store
            .discover(Some(&ws()))
            .unwrap()
            .into_iter()
            .find(|f| f.id == id)
            .unwrap()
    }

    #[test]
    fn summary_of_a_fixture_session() {
        let (_d, store, _) = fixture();
        let files = store.discover(Some(&ws())).unwrap();
        assert_eq!(files.len(), 2);
        let f = file(&store, G1);
        let st = store.scan_path(&f.path).unwrap();
        assert!(store.is_listable(&st));
        assert!(store.in_workspace(&f.path, &st, &ws()));
        assert_eq!(st.summary.as_deref(), Some("mock session summary"));
        assert_eq!(st.title().as_deref(), Some("mock session summary"));
        assert_eq!(
            st.first_prompt.as_deref(),
            Some("session 2 turn 1: hello, please remember the number 14")
        );
        assert_eq!(st.created_at.as_deref(), Some("2026-11-21T06:26:43.038Z"));
        assert_eq!(st.message_count, 8);
        assert_eq!(st.model.as_deref(), Some("gemini-3.8-flash"));
        assert_eq!(st.context_used, Some(479));
        assert_eq!(st.tokens.input, 219 + 260 + 384 + 479);
        assert_eq!(st.cwd.as_deref(), Some("/home/dev/acme-webapp"));
        assert_eq!(
            store.continue_key(&f.path, &st, 0),
            crate::time::parse_ms("2026-11-21T06:26:52.213Z").unwrap()
        );
    }

    #[test]
    fn history_items() {
        let (_d, store, _) = fixture();
        let f = file(&store, G1);
        let items = view(&gf::fold_file(&f.path).unwrap());
        let roles: Vec<Role> = items.iter().map(|l| l.item.role).collect();
        use Role::*;
        assert_eq!(
            roles,
            vec![User, Assistant, User, Assistant, Tool, Assistant, User, Assistant]
        );
        assert!(matches!(&items[3].item.content[0],
            ContentBlock::ToolUse { name, .. } if name == "list_directory"));
        assert!(matches!(
            &items[4].item.content[0],
            ContentBlock::ToolResult { .. }
        ));
    }

    #[test]
    fn stubs_are_not_sessions() {
        let (_d, store, chats) = fixture();
        let stub = chats.join("session-2026-11-21T07-30-47d75b93.jsonl");
        let header = r#"{"sessionId":"47d75b93-bf15-4461-8bef-b1f7c7e23d6b","projectHash":"19e327dc08fc80f2b0828a1e4db56304dc6f84d13bb61b3ebde1e7e5bda91202","startTime":"2026-11-21T07:30:00.000Z","lastUpdated":"2026-11-21T07:30:00.000Z","kind":"main"}"#;
        let ctx = r#"{"$set":{"messages":[{"id":"d0","timestamp":"2026-11-21T07:30:00.000Z","type":"user","content":[{"text":"<session_context>\nx"}]}]}}"#;
        std::fs::write(&stub, format!("{header}\n{ctx}\n")).unwrap();
        let files = store.discover(Some(&ws())).unwrap();
        assert_eq!(files.len(), 2);
        assert!(files.iter().all(|f| f.path != stub));
        assert_eq!(store.session_id_of(&stub), None);
        assert_eq!(
            store.session_id_of(&file(&store, G1).path).as_deref(),
            Some(G1)
        );
    }

    #[test]
    fn fork_and_rename() {
        let (_d, store, chats) = fixture();
        let f = file(&store, G1);
        let new = store
            .fork(
                &f,
                &ForkRequest {
                    source_title: Some("mock session summary".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_ne!(&new.id[..8], &G1[..8]);
        assert!(new
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with(&format!("-{}.jsonl", &new.id[..8])));
        assert_eq!(
            store.session_id_of(&new.path).as_deref(),
            Some(new.id.as_str())
        );
        let st = store.scan_path(&new.path).unwrap();
        assert_eq!(
            st.custom_title.as_deref(),
            Some("mock session summary (fork)")
        );
        assert_eq!(st.message_count, 8);
        assert_eq!(st.forked_from.as_ref().unwrap().session_id, G1);
        assert!(store.in_workspace(&new.path, &st, &ws()));
        let a: Vec<_> = view(&gf::fold_file(&f.path).unwrap())
            .into_iter()
            .map(|l| l.item.content)
            .collect();
        let b: Vec<_> = view(&gf::fold_file(&new.path).unwrap())
            .into_iter()
            .map(|l| l.item.content)
            .collect();
        assert_eq!(a, b);
        store.rename(&new, "Login bug").unwrap();
        let st = store.scan_path(&new.path).unwrap();
        assert_eq!(st.title().as_deref(), Some("Login bug"));
        assert_eq!(store.discover(Some(&ws())).unwrap().len(), 3);
        assert!(chats.join(new.path.file_name().unwrap()).exists());
        // up to a message
        let items = view(&gf::fold_file(&f.path).unwrap());
        let cut = store
            .fork(
                &f,
                &ForkRequest {
                    up_to_message: Some(items[4].item.id.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(view(&gf::fold_file(&cut.path).unwrap()).len(), 5);
    }

    #[test]
    fn garbage_unknown_and_info_records() {
        let (_d, store, _) = fixture();
        let f = file(&store, G1);
        let mut text = std::fs::read_to_string(&f.path).unwrap();
        text.push_str("garbage\n{\"type\":\"x_unknown_record\"}\n");
        text.push_str("{\"id\":\"i1\",\"timestamp\":\"2026-11-21T07:00:00Z\",\"type\":\"info\",\"content\":\"note\"}\n");
        std::fs::write(&f.path, text).unwrap();
        let st = store.scan_path(&f.path).unwrap();
        assert_eq!(st.bad_lines, 1);
        assert_eq!(st.message_count, 8, "info messages are not conversation");
        let items = view(&gf::fold_file(&f.path).unwrap());
        assert_eq!(items.len(), 9);
        assert_eq!(items[8].item.role, Role::System);
    }

    #[test]
    fn argv() {
        let store = GeminiStore::new(PathBuf::new());
        let mut p = ResumeParams {
            session: crate::protocol::SessionRef::Text("x".into()),
            fork: false,
            prompt: None,
            model: None,
            permission_mode: Some("bypassPermissions".into()),
        };
        assert_eq!(
            store.resume_argv("gemini", G1, &p).unwrap(),
            vec!["gemini", "--resume", G1, "--approval-mode=yolo"]
        );
        p.fork = true;
        assert_eq!(
            store.resume_argv("gemini", G1, &p).unwrap_err().code,
            ErrorCode::NotSupported
        );
    }
}
