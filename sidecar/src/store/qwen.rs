//! Qwen Code (formats/qwen-code.md): `<runtime>/projects/<sanitizeCwd(cwd)>/chats/<id>.jsonl`,
//! one linear parentUuid chain of user / assistant / tool_result / system records per file.
//!
//! * Discovery: the workspace's project folders (`sanitizeCwd` of each workspace path, plus the
//!   CLI's own `<project>/.qwen/worktrees/*` folders); `archive/` is not listed (the CLI's
//!   `--resume` picker and `--continue` ignore it too).
//! * Title: the last `system/custom_title` record (`titleSource: "auto"` counts as an AI title),
//!   else the first real prompt. Context: `contextWindowSize` and `usageMetadata.promptTokenCount`
//!   of the last assistant record, or `info.newTokenCount` of a later `chat_compression`.
//! * History: the chain the CLI resumes (leaf = last conversation record in file order, walked
//!   back through `parentUuid`). A `chat_compression` record becomes a system item with a
//!   `compaction` block and the snapshot text; the earlier records stay visible before it (the
//!   CLI resumes from the snapshot, the view keeps the whole conversation, as for Claude).
//!   `parentId` is the record's own `parentUuid` (which may name a system record not shown).
//! * Fork: like `--fork-session`: the active chain copied with the same uuids, `sessionId`
//!   rewritten, `forkedFrom {sessionId, messageUuid}` on every copied record, first record's
//!   parent null, then a `system/custom_title` record; a new lower-case v4 id as file name.
//! * Rename: a `system/custom_title` record parented to the last record.

use super::agent_util::{self as au, Located, RawObject};
use super::{
    check_root, read_dir_or_empty, Appended, ForkRequest, HistoryRequest, SessionFile, SessionStore,
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
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

pub struct QwenStore {
    root: PathBuf,
}

/// Qwen's `sanitizeCwd`: every UTF-16 code unit outside `[A-Za-z0-9]` becomes `-` (no limit).
pub fn sanitize_cwd(cwd: &str) -> String {
    cwd.encode_utf16()
        .map(|u| match char::from_u32(u as u32) {
            Some(c) if c.is_ascii_alphanumeric() => c,
            _ => '-',
        })
        .collect()
}

/// `^[0-9a-fA-F-]{32,36}\.jsonl$` → the lower-case id.
fn session_file_id(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".jsonl")?;
    if (32..=36).contains(&stem.len()) && stem.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        Some(stem.to_ascii_lowercase())
    } else {
        None
    }
}

const WORKTREES: &str = "/.qwen/worktrees/";

impl QwenStore {
    pub fn new(root: PathBuf) -> QwenStore {
        QwenStore { root }
    }

    pub fn projects_dir(&self) -> PathBuf {
        self.root.join("projects")
    }

    /// The `chats/` folders of the workspace's projects (and their CLI worktrees) that exist.
    fn workspace_dirs(&self, ws: &Workspace) -> Vec<PathBuf> {
        let projects = self.projects_dir();
        let names: Vec<String> = ws
            .paths
            .iter()
            .map(|p| sanitize_cwd(&p.to_string_lossy()))
            .collect();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for e in read_dir_or_empty(&projects).unwrap_or_default() {
            let n = e.file_name().to_string_lossy().into_owned();
            let ours = names.iter().any(|name| {
                n == *name || n.starts_with(&format!("{name}{}", sanitize_cwd(WORKTREES)))
            });
            let chats = e.path().join("chats");
            if ours && chats.is_dir() && !dirs.contains(&chats) {
                dirs.push(chats);
            }
        }
        dirs
    }

    fn sessions_in(&self, dir: &Path, out: &mut Vec<SessionFile>) -> Result<()> {
        for e in read_dir_or_empty(dir)? {
            let path = e.path();
            if let Some(id) = session_file_id(&path) {
                if e.file_type().map(|t| t.is_file()).unwrap_or(false) {
                    out.push(SessionFile {
                        agent: Agent::Qwen,
                        id,
                        path,
                    });
                }
            }
        }
        Ok(())
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Rec<'a> {
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subtype: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cwd: Option<Cow<'a, str>>,
    #[serde(borrow)]
    git_branch: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<&'a RawValue>,
    #[serde(borrow)]
    system_payload: Option<&'a RawValue>,
    usage_metadata: Option<UsageMeta>,
    context_window_size: Option<u64>,
    #[serde(borrow)]
    forked_from: Option<&'a RawValue>,
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(rename_all = "camelCase", default)]
pub struct UsageMeta {
    pub prompt_token_count: u64,
    pub candidates_token_count: u64,
    pub thoughts_token_count: u64,
    pub cached_content_token_count: u64,
}

impl UsageMeta {
    /// Gemini-style counts as the protocol's usage: the prompt count includes cached tokens.
    pub fn to_usage(&self) -> Usage {
        Usage {
            input_tokens: self
                .prompt_token_count
                .saturating_sub(self.cached_content_token_count),
            output_tokens: self.candidates_token_count + self.thoughts_token_count,
            cache_read_tokens: self.cached_content_token_count,
            cache_creation_tokens: 0,
        }
    }
}

pub(super) fn is_conversation(ty: &str) -> bool {
    matches!(ty, "user" | "assistant" | "tool_result")
}

fn first_text_part(message: &RawValue) -> Option<String> {
    let v: Value = serde_json::from_str(message.get()).ok()?;
    v["parts"]
        .as_array()?
        .iter()
        .filter(|p| p.get("thought").and_then(|b| b.as_bool()) != Some(true))
        .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
        .find(|t| !t.trim().is_empty())
        .map(str::to_string)
}

/// One parsed record of a file, for history and forks.
pub(super) struct Parsed {
    pub(super) off: u64,
    /// The line itself, kept for forks only.
    pub(super) text: Option<String>,
    pub(super) v: Value,
}

impl Parsed {
    pub(super) fn ty(&self) -> &str {
        self.v["type"].as_str().unwrap_or("")
    }
    pub(super) fn uuid(&self) -> &str {
        self.v["uuid"].as_str().unwrap_or("")
    }
    fn parent(&self) -> Option<&str> {
        self.v["parentUuid"].as_str()
    }
    pub(super) fn is_compression(&self) -> bool {
        self.ty() == "system" && self.v["subtype"] == "chat_compression"
    }
}

/// Every record the CLI's reader accepts (uuid, parentUuid string|null, sessionId, known type);
/// `keep_text` keeps each line for copying.
pub(super) fn parse_file(path: &Path, keep_text: bool) -> Result<(Vec<Parsed>, u64)> {
    let (lines, end) = au::read_lines(path)?;
    let mut out = Vec::with_capacity(lines.len());
    for (off, line) in lines {
        let Ok(s) = std::str::from_utf8(&line) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(s) else {
            continue;
        };
        let ok = v["uuid"].as_str().is_some_and(|u| !u.is_empty())
            && (v["parentUuid"].is_null() || v["parentUuid"].is_string())
            && v["sessionId"].as_str().is_some_and(|u| !u.is_empty())
            && matches!(
                v["type"].as_str(),
                Some("user" | "assistant" | "tool_result" | "system")
            );
        if !ok {
            continue;
        }
        out.push(Parsed {
            off,
            text: keep_text.then(|| s.to_string()),
            v,
        });
    }
    Ok((out, end))
}

/// Indexes of the active chain, oldest first: from `leaf` (default: the last conversation
/// record in file order) back through `parentUuid` until a missing parent or a cycle.
pub(super) fn active_chain(recs: &[Parsed], leaf: Option<&str>) -> Result<Vec<usize>> {
    let by_uuid: HashMap<&str, usize> = recs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.uuid(), i))
        .collect();
    let start = match leaf {
        Some(id) => match by_uuid.get(id) {
            Some(i) => Some(*i),
            None => {
                return Err(SidecarError::new(
                    ErrorCode::MessageNotFound,
                    format!("no message {id:?} in that session"),
                ))
            }
        },
        None => recs
            .iter()
            .rposition(|r| is_conversation(r.ty()) || r.is_compression()),
    };
    let mut chain = Vec::new();
    let mut seen = HashSet::new();
    let mut cur = start;
    while let Some(i) = cur {
        if !seen.insert(i) {
            break;
        }
        chain.push(i);
        cur = recs[i].parent().and_then(|p| by_uuid.get(p).copied());
    }
    chain.reverse();
    if let Some(id) = leaf {
        // The message must be on the active chain, not on an abandoned branch.
        let active = active_chain(recs, None)?;
        if !active.contains(chain.last().unwrap_or(&usize::MAX)) {
            return Err(SidecarError::new(
                ErrorCode::MessageNotFound,
                format!("message {id:?} is not on the session's active conversation"),
            ));
        }
    }
    Ok(chain)
}

fn item_of(r: &Parsed) -> Option<HistoryItem> {
    let ts = r.v["timestamp"].as_str().and_then(crate::time::normalize);
    let base = |role, content| HistoryItem {
        id: r.uuid().to_string(),
        parent_id: r.parent().map(str::to_string),
        role,
        timestamp: ts.clone(),
        model: None,
        usage: None,
        content,
        truncated: false,
    };
    match r.ty() {
        "user" | "tool_result" => {
            let mut blocks = au::parts_to_blocks(&r.v["message"]["parts"]);
            if r.ty() == "tool_result" && r.v["toolCallResult"]["status"] == "error" {
                for b in &mut blocks {
                    if let ContentBlock::ToolResult { is_error, .. } = b {
                        *is_error = true;
                    }
                }
            }
            let role = if r.ty() == "tool_result" || au::all_tool_results(&blocks) {
                Role::Tool
            } else {
                Role::User
            };
            Some(base(role, blocks))
        }
        "assistant" => {
            let mut it = base(
                Role::Assistant,
                au::parts_to_blocks(&r.v["message"]["parts"]),
            );
            it.model = r.v["model"].as_str().map(str::to_string);
            it.usage = serde_json::from_value::<UsageMeta>(r.v["usageMetadata"].clone())
                .ok()
                .filter(|_| r.v["usageMetadata"].is_object())
                .map(|u| u.to_usage());
            Some(it)
        }
        _ if r.is_compression() => {
            let p = &r.v["systemPayload"];
            let info = &p["info"];
            let trigger = info["triggerReason"].as_str().map(|t| match t {
                "token_limit" => "auto".to_string(),
                other => other.to_string(),
            });
            let mut content = vec![ContentBlock::Compaction {
                trigger,
                pre_tokens: info["originalTokenCount"].as_u64(),
                post_tokens: info["newTokenCount"].as_u64(),
            }];
            if let Some(text) = p["compressedHistory"].as_array().and_then(|h| {
                h.iter()
                    .filter(|c| c["role"] == "user")
                    .flat_map(|c| c["parts"].as_array().into_iter().flatten())
                    .find_map(|p| p["text"].as_str())
            }) {
                content.push(ContentBlock::Text {
                    text: text.to_string(),
                });
            }
            Some(base(Role::System, content))
        }
        _ => None,
    }
}

/// The conversation as the CLI resumes it (see the module doc), and the end of the last line.
fn view(path: &Path) -> Result<(Vec<Located>, u64)> {
    let (recs, end) = parse_file(path, false)?;
    let chain = active_chain(&recs, None)?;
    let items = chain
        .into_iter()
        .filter_map(|i| {
            item_of(&recs[i]).map(|item| Located {
                off: recs[i].off,
                item,
            })
        })
        .collect();
    Ok((items, end))
}

fn now_iso() -> String {
    crate::time::now_iso()
}

/// A `system/custom_title` record in the CLI's field order.
fn title_record(
    session_id: &str,
    parent: Option<&str>,
    last: Option<&Value>,
    title: &str,
    branch: Option<&str>,
) -> String {
    let mut o = RawObject::default();
    o.set("uuid", &uuid::Uuid::new_v4().to_string());
    o.set("parentUuid", &parent);
    o.set("sessionId", session_id);
    o.set("timestamp", &now_iso());
    o.set("type", "system");
    o.set("provenance", "system");
    if let Some(l) = last {
        if let Some(c) = l["cwd"].as_str() {
            o.set("cwd", c);
        }
        if let Some(v) = l["version"].as_str() {
            o.set("version", v);
        }
    }
    if let Some(b) = branch.or_else(|| last.and_then(|l| l["gitBranch"].as_str())) {
        o.set("gitBranch", b);
    }
    o.set("subtype", "custom_title");
    o.set(
        "systemPayload",
        &serde_json::json!({"customTitle": title, "titleSource": "manual"}),
    );
    o.to_json()
}

/// Writes a fork of `file`: the records `chain` names (indexes into `recs`, oldest first) copied
/// like the CLI's `--fork-session` (same uuids, `sessionId` rewritten, `forkedFrom` on every
/// record, first record's parent null), then a `custom_title` record when `title` is given.
/// `edit(chain_position, record)` may change a copied record first (the trim uses it).
pub(super) fn write_fork(
    file: &SessionFile,
    recs: &[Parsed],
    chain: &[usize],
    title: Option<&str>,
    branch: Option<&str>,
    mut edit: impl FnMut(usize, &mut RawObject),
) -> Result<SessionFile> {
    if !chain.iter().any(|i| is_conversation(recs[*i].ty())) {
        return Err(SidecarError::invalid_params(
            "the session has no conversation to fork",
        ));
    }
    let dir = file
        .path
        .parent()
        .ok_or_else(|| SidecarError::internal("session file has no folder"))?;
    let new_id = uuid::Uuid::new_v4().to_string();
    let target = dir.join(format!("{new_id}.jsonl"));
    let project_cwd = recs
        .iter()
        .find_map(|r| r.v["cwd"].as_str())
        .map(str::to_string);
    let mut out = String::new();
    let mut last_uuid = None;
    let mut last_v = None;
    for (k, i) in chain.iter().enumerate() {
        let r = &recs[*i];
        let Some(mut o) = r.text.as_deref().and_then(RawObject::parse) else {
            continue;
        };
        edit(k, &mut o);
        o.set("sessionId", &new_id);
        if k == 0 {
            o.set("parentUuid", &Value::Null);
            if r.v["cwd"].as_str().is_none() {
                if let Some(c) = &project_cwd {
                    o.set("cwd", c);
                }
            }
        }
        o.set(
            "forkedFrom",
            &serde_json::json!({"sessionId": file.id, "messageUuid": r.uuid()}),
        );
        out.push_str(&o.to_json());
        out.push('\n');
        last_uuid = Some(r.uuid().to_string());
        last_v = Some(&r.v);
    }
    if let Some(t) = title {
        let t = au::clean_title(t)?;
        out.push_str(&title_record(
            &new_id,
            last_uuid.as_deref(),
            last_v,
            &t,
            branch,
        ));
        out.push('\n');
    }
    au::write_new_file(&target, out.as_bytes())?;
    Ok(SessionFile {
        agent: Agent::Qwen,
        id: new_id,
        path: target,
    })
}

impl SessionStore for QwenStore {
    fn agent(&self) -> Agent {
        Agent::Qwen
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn watch_roots(&self) -> Vec<PathBuf> {
        vec![self.projects_dir()]
    }

    fn discover(&self, workspace: Option<&Workspace>) -> Result<Vec<SessionFile>> {
        check_root(&self.projects_dir())?;
        let mut out = Vec::new();
        match workspace {
            Some(ws) => {
                for dir in self.workspace_dirs(ws) {
                    self.sessions_in(&dir, &mut out)?;
                }
            }
            None => {
                for chats in super::project_chat_dirs(&self.projects_dir())? {
                    self.sessions_in(&chats, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    fn session_id_of(&self, path: &Path) -> Option<String> {
        let chats = path.parent()?;
        if chats.file_name()? != "chats" || chats.parent()?.parent()? != self.projects_dir() {
            return None;
        }
        session_file_id(path)
    }

    fn in_workspace(&self, path: &Path, state: &ScanState, workspace: &Workspace) -> bool {
        let dir_name = path
            .parent()
            .and_then(|c| c.parent())
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned());
        workspace.paths.iter().any(|p| {
            let ps = p.to_string_lossy();
            let name = sanitize_cwd(&ps);
            let by_dir = dir_name.as_deref().is_some_and(|d| {
                d == name || d.starts_with(&format!("{name}{}", sanitize_cwd(WORKTREES)))
            });
            let by_cwd = state.cwd.as_deref().is_some_and(|c| {
                c == ps || c.starts_with(&format!("{}{WORKTREES}", ps.trim_end_matches('/')))
            });
            by_dir || by_cwd
        })
    }

    fn scan_line(&self, st: &mut ScanState, line: &[u8]) {
        st.lines += 1;
        let r: Rec = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(_) => {
                st.bad_lines += 1;
                return;
            }
        };
        if st.session_id.is_none() {
            st.session_id = r.session_id.as_deref().map(str::to_string);
        }
        if st.cwd.is_none() {
            st.cwd = r.cwd.as_deref().map(str::to_string);
        }
        if st.created_at.is_none() {
            st.created_at = r.timestamp.as_deref().and_then(crate::time::normalize);
        }
        if let Some(b) = r.git_branch.as_deref().filter(|b| !b.is_empty()) {
            st.git_branch = Some(b.to_string());
        }
        if st.forked_from.is_none() {
            if let Some(ff) = r
                .forked_from
                .and_then(|f| serde_json::from_str::<Value>(f.get()).ok())
            {
                if let Some(sid) = ff["sessionId"].as_str() {
                    st.forked_from = Some(ForkedFrom {
                        session_id: sid.to_string(),
                        message_uuid: ff["messageUuid"].as_str().map(str::to_string),
                    });
                }
            }
        }
        let ty = r.ty.as_deref().unwrap_or("");
        if is_conversation(ty) && r.uuid.is_some() {
            st.message_count += 1;
        }
        match ty {
            "user" if st.first_prompt.is_none() && r.subtype.is_none() => {
                if let Some(t) = r.message.and_then(first_text_part) {
                    st.first_prompt = au::prompt_title(&t);
                }
            }
            "assistant" => {
                if let Some(m) = r.model.as_deref().filter(|m| !m.is_empty()) {
                    st.model = Some(m.to_string());
                }
                if let Some(u) = &r.usage_metadata {
                    let usage = u.to_usage();
                    st.model_turns += 1;
                    st.tokens.input += usage.input_tokens;
                    st.tokens.output += usage.output_tokens;
                    st.tokens.cache_read += usage.cache_read_tokens;
                    st.context_used = Some(u.prompt_token_count);
                }
                if let Some(w) = r.context_window_size.filter(|w| *w > 0) {
                    st.context_window = Some(w);
                }
            }
            "system" => {
                let payload = || {
                    r.system_payload
                        .and_then(|p| serde_json::from_str::<Value>(p.get()).ok())
                        .unwrap_or(Value::Null)
                };
                match r.subtype.as_deref() {
                    Some("custom_title") => {
                        let p = payload();
                        if let Some(t) = p["customTitle"].as_str().filter(|t| !t.trim().is_empty())
                        {
                            if p["titleSource"] == "auto" {
                                st.ai_title = Some(t.to_string());
                            } else {
                                st.custom_title = Some(t.to_string());
                            }
                        }
                    }
                    Some("chat_compression") => {
                        if let Some(n) = payload()["info"]["newTokenCount"].as_u64() {
                            st.context_used = Some(n);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn is_listable(&self, st: &ScanState) -> bool {
        !st.sidechain && st.session_id.is_some() && st.title().is_some()
    }

    fn companion_paths(&self, file: &SessionFile) -> Vec<PathBuf> {
        let Some(chats) = file.path.parent() else {
            return Vec::new();
        };
        let mut v = vec![
            chats.join(format!("{}.worktree.json", file.id)),
            chats.join(format!("{}.pr.json", file.id)),
            chats.join(format!("{}.ledger.jsonl", file.id)),
        ];
        if let Some(project) = chats.parent() {
            v.push(project.join("subagents").join(sanitize_cwd(&file.id)));
        }
        v.retain(|p| p.exists());
        v
    }

    fn history(&self, file: &SessionFile, req: &HistoryRequest) -> Result<HistoryPage> {
        let (items, _) = view(&file.path)?;
        au::page(&file.path, items, req, "Qwen")
    }

    fn message(&self, file: &SessionFile, id: &str, subagent: Option<&str>) -> Result<HistoryItem> {
        if subagent.is_some() {
            return Err(self.unsupported("subagent transcripts"));
        }
        au::find_message(view(&file.path)?.0, id)
    }

    fn appended(&self, file: &SessionFile, offset: u64, truncate_bytes: usize) -> Result<Appended> {
        let (items, end) = view(&file.path)?;
        au::appended_since(&file.path, items, offset, end, truncate_bytes)
    }

    fn subscription_start(&self, file: &SessionFile, after: Option<&Cursor>) -> Result<u64> {
        au::subscription_start(file, after)
    }

    fn resume_argv(&self, exe: &str, id: &str, params: &ResumeParams) -> Result<Vec<String>> {
        let mut argv = vec![exe.to_string(), "--resume".into(), id.to_string()];
        if params.fork {
            argv.push("--fork-session".into());
        }
        if let Some(m) = params.model.as_deref().filter(|m| !m.is_empty()) {
            argv.push(format!("--model={m}"));
        }
        if let Some(mode) = params.permission_mode.as_deref() {
            let m = au::approval_mode(
                "Qwen",
                mode,
                &["default", "plan", "auto-edit", "auto", "yolo"],
                "auto-edit",
            )?;
            argv.push(format!("--approval-mode={m}"));
        }
        if let Some(p) = params.prompt.as_deref().filter(|p| !p.is_empty()) {
            // `=` keeps a prompt that starts with '-' from being read as a flag.
            argv.push(format!("--prompt-interactive={p}"));
        }
        Ok(argv)
    }

    fn compress_argv(&self, exe: &str, id: &str) -> Result<Vec<String>> {
        Ok(vec![
            exe.to_string(),
            "--resume".into(),
            id.to_string(),
            "-p".into(),
            "/compress".into(),
        ])
    }

    fn fork(&self, file: &SessionFile, req: &ForkRequest) -> Result<SessionFile> {
        let (recs, _) = parse_file(&file.path, true)?;
        let chain = active_chain(&recs, req.up_to_message.as_deref())?;
        let title = req
            .title
            .clone()
            .or_else(|| req.source_title.as_ref().map(|t| format!("{t} (fork)")));
        write_fork(
            file,
            &recs,
            &chain,
            title.as_deref(),
            req.branch.as_deref(),
            |_, _| {},
        )
    }

    fn trim(
        &self,
        file: &SessionFile,
        opts: &super::TrimOptions,
    ) -> Result<(SessionFile, u64, u64)> {
        super::qwen_trim::trim(file, opts)
    }

    fn rename(&self, file: &SessionFile, title: &str) -> Result<()> {
        let title = au::clean_title(title)?;
        au::check_appendable(&file.path)?;
        // The last record the reader accepts.
        let last = au::last_record(&file.path, |v| {
            v["uuid"].as_str().is_some_and(|u| !u.is_empty()) && v["sessionId"].is_string()
        })?;
        let line = title_record(
            last.as_ref()
                .and_then(|r| r["sessionId"].as_str())
                .unwrap_or(&file.id),
            last.as_ref().and_then(|r| r["uuid"].as_str()),
            last.as_ref(),
            &title,
            None,
        );
        au::append_record(&file.path, line.as_bytes())
    }

    fn clean_temp_files(&self, workspace: &Workspace) {
        for dir in self.workspace_dirs(workspace) {
            crate::fsutil::clean_temp_files(&dir);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A copy of the fixture chats in a temp dir: (dir, a store on it, the chats folder).
    pub(in crate::store) fn fixture_store() -> (tempfile::TempDir, QwenStore, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/home/.qwen/projects/-home-dev-acme-webapp/chats");
        let chats = d.path().join("projects/-home-dev-acme-webapp/chats");
        std::fs::create_dir_all(&chats).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), chats.join(e.file_name())).unwrap();
        }
        let store = QwenStore::new(d.path().to_path_buf());
        (d, store, chats)
    }

    fn scan(store: &QwenStore, path: &Path) -> ScanState {
        let mut st = ScanState::default();
        for l in std::fs::read(path).unwrap().split(|b| *b == b'\n') {
            if !l.is_empty() {
                store.scan_line(&mut st, l);
            }
        }
        st
    }

    fn file(chats: &Path, id: &str) -> SessionFile {
        SessionFile {
            agent: Agent::Qwen,
            id: id.into(),
            path: chats.join(format!("{id}.jsonl")),
        }
    }

    #[test]
    fn sanitize_matches_the_cli() {
        assert_eq!(
            sanitize_cwd("/home/dev/acme-webapp"),
            "-home-dev-acme-webapp"
        );
        assert_eq!(sanitize_cwd("/a/é😀"), "-a----");
        assert!(session_file_id(Path::new("7aedba9e-a063-4f3e-9a3f-0c2c65b79dcf.jsonl")).is_some());
        assert!(session_file_id(Path::new("x.jsonl")).is_none());
        assert!(session_file_id(Path::new(
            "7aedba9e-a063-4f3e-9a3f-0c2c65b79dcf.ledger.jsonl"
        ))
        .is_none());
    }

    #[test]
    fn summary_of_the_compressed_fixture() {
        let (_d, store, chats) = fixture_store();
        let st = scan(
            &store,
            &file(&chats, "7aedba9e-a063-4f3e-9a3f-0c2c65b79dcf").path,
        );
        assert_eq!(
            st.first_prompt.as_deref(),
            Some("gen session 0 turn 1: hello")
        );
        assert_eq!(st.created_at.as_deref(), Some("2026-11-21T06:23:39.721Z"));
        assert_eq!(st.message_count, 8);
        assert_eq!(st.model.as_deref(), Some("qwen3-coder-plus"));
        assert_eq!(st.context_window, Some(1_000_000));
        // the last assistant after the compression
        assert_eq!(st.context_used, Some(9017));
        assert_eq!(st.git_branch.as_deref(), Some("main"));
        assert_eq!(st.tokens.input, 8872 + 8912 + 8951 + 9017);
    }

    #[test]
    fn history_shows_compaction_and_tools() {
        let (_d, _store, chats) = fixture_store();
        let (items, _) = view(&file(&chats, "7aedba9e-a063-4f3e-9a3f-0c2c65b79dcf").path).unwrap();
        let roles: Vec<Role> = items.iter().map(|l| l.item.role).collect();
        use Role::*;
        assert_eq!(
            roles,
            vec![User, Assistant, User, Assistant, User, Assistant, System, User, Assistant]
        );
        match &items[6].item.content[0] {
            ContentBlock::Compaction {
                trigger,
                pre_tokens,
                post_tokens,
            } => {
                assert_eq!(trigger.as_deref(), Some("manual"));
                assert_eq!((*pre_tokens, *post_tokens), (Some(8951), Some(6770)));
            }
            other => panic!("{other:?}"),
        }
        let (items, _) = view(&file(&chats, "a20c9abf-6786-496f-9996-61005c8ac25c").path).unwrap();
        assert_eq!(items.len(), 6);
        assert!(matches!(
            &items[1].item.content[0],
            ContentBlock::ToolUse { name, .. } if name == "read_file"
        ));
        assert_eq!(items[2].item.role, Role::Tool);
        assert!(matches!(
            &items[2].item.content[0],
            ContentBlock::ToolResult { content, is_error: false, .. } if content == "hello from hello.txt\n"
        ));
    }

    #[test]
    fn fork_copies_the_chain_like_the_cli() {
        let (_d, store, chats) = fixture_store();
        let src = file(&chats, "a20c9abf-6786-496f-9996-61005c8ac25c");
        let f = store
            .fork(
                &src,
                &ForkRequest {
                    source_title: Some("T".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        let text = std::fs::read_to_string(&f.path).unwrap();
        assert!(text.ends_with('\n'));
        let recs: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(recs[0]["parentUuid"], Value::Null);
        assert_eq!(recs[0]["cwd"], "/home/dev/acme-webapp");
        for w in recs.windows(2) {
            assert_eq!(w[1]["parentUuid"], w[0]["uuid"]);
        }
        assert!(recs.iter().all(|r| r["sessionId"] == f.id.as_str()));
        assert!(recs[..recs.len() - 1]
            .iter()
            .all(|r| r["forkedFrom"]["sessionId"] == src.id.as_str()));
        assert_eq!(
            recs.last().unwrap()["systemPayload"]["customTitle"],
            "T (fork)"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&f.path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let st = scan(&store, &f.path);
        assert_eq!(st.custom_title.as_deref(), Some("T (fork)"));
        assert_eq!(st.message_count, 6);
        assert_eq!(
            st.forked_from.as_ref().map(|f| f.session_id.as_str()),
            Some(src.id.as_str())
        );
        // same conversation as the source
        let a: Vec<_> = view(&src.path)
            .unwrap()
            .0
            .into_iter()
            .map(|l| l.item.content)
            .collect();
        let b: Vec<_> = view(&f.path)
            .unwrap()
            .0
            .into_iter()
            .map(|l| l.item.content)
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn fork_up_to_a_message_and_rename() {
        let (_d, store, chats) = fixture_store();
        let src = file(&chats, "a20c9abf-6786-496f-9996-61005c8ac25c");
        let f = store
            .fork(
                &src,
                &ForkRequest {
                    up_to_message: Some("9ac000a9-b88b-427a-95fb-12b747ac5861".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        let (items, _) = view(&f.path).unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[3].item.id, "9ac000a9-b88b-427a-95fb-12b747ac5861");
        store.rename(&f, "Login bug").unwrap();
        store.rename(&f, "Login bug 2").unwrap();
        let st = scan(&store, &f.path);
        assert_eq!(st.custom_title.as_deref(), Some("Login bug 2"));
        assert_eq!(
            view(&f.path).unwrap().0.len(),
            4,
            "titles are not conversation"
        );
        let e = store
            .fork(
                &src,
                &ForkRequest {
                    up_to_message: Some("nope-nope".into()),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::MessageNotFound);
    }

    #[test]
    fn rename_refuses_a_torn_file() {
        let (_d, store, chats) = fixture_store();
        let f = file(&chats, "9172a345-9a8e-487c-814f-ff4188e930b5");
        crate::fsutil::append_line(&f.path, b"{\"torn\":").unwrap();
        let mut bytes = std::fs::read(&f.path).unwrap();
        bytes.pop();
        std::fs::write(&f.path, &bytes).unwrap();
        let before = std::fs::read(&f.path).unwrap();
        assert_eq!(
            store.rename(&f, "x").unwrap_err().code,
            ErrorCode::TornLastLine
        );
        assert_eq!(std::fs::read(&f.path).unwrap(), before);
    }

    #[test]
    fn garbage_lines_are_skipped_and_counted() {
        let (_d, store, chats) = fixture_store();
        let f = file(&chats, "9172a345-9a8e-487c-814f-ff4188e930b5");
        let text = std::fs::read_to_string(&f.path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(1, "not json {");
        std::fs::write(&f.path, lines.join("\n") + "\n").unwrap();
        let st = scan(&store, &f.path);
        assert_eq!(st.bad_lines, 1);
        assert_eq!(st.message_count, 2);
        assert_eq!(view(&f.path).unwrap().0.len(), 2);
    }

    #[test]
    fn cold_reads_of_large_files() {
        let (_d, store, chats) = fixture_store();
        let f = file(&chats, "7aedba9e-a063-4f3e-9a3f-0c2c65b79dcf");
        // a title record in the middle of a file whose head and tail windows do not meet
        store.rename(&f, "Mid title").unwrap();
        let mut text = std::fs::read_to_string(&f.path).unwrap();
        let last = text.lines().last().unwrap().to_string();
        let pad: Value = serde_json::from_str(&last).unwrap();
        for i in 0..60 {
            let mut p = pad.clone();
            p["subtype"] = Value::from("ui_telemetry");
            p["uuid"] = Value::from(format!("pad-{i}"));
            p["systemPayload"] = serde_json::json!({"pad": "x".repeat(4000)});
            text.push_str(&p.to_string());
            text.push('\n');
        }
        std::fs::write(&f.path, text).unwrap();
        let (_, lite) =
            crate::index::scan_file(&store, &f.path, None, crate::index::ReadMode::Lite).unwrap();
        assert!(lite.partial);
        assert!(store.is_listable(&lite));
        assert_eq!(lite.custom_title.as_deref(), Some("Mid title"));
        assert_eq!(
            lite.first_prompt.as_deref(),
            Some("gen session 0 turn 1: hello")
        );
    }

    #[test]
    fn argv() {
        let store = QwenStore::new(PathBuf::new());
        let p = ResumeParams {
            session: crate::protocol::SessionRef::Text("x".into()),
            fork: true,
            prompt: Some("-x".into()),
            model: None,
            permission_mode: Some("acceptEdits".into()),
        };
        assert_eq!(
            store.resume_argv("qwen", "id", &p).unwrap(),
            vec![
                "qwen",
                "--resume",
                "id",
                "--fork-session",
                "--approval-mode=auto-edit",
                "--prompt-interactive=-x"
            ]
        );
    }
}
