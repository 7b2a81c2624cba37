//! Claude Code: `<config>/projects/<enc(cwd)>/<uuid>.jsonl`, a parentUuid tree of entries plus
//! metadata rows (see formats/claude-code.md). This file holds discovery and the summary scan;
//! history paging lives in `claude_history.rs`, writing in `claude_write.rs`.

use super::{
    check_root, read_dir_or_empty, Appended, ForkRequest, HistoryRequest, SessionFile,
    SessionStore, TrimOptions,
};
use crate::cursor::Cursor;
use crate::error::Result;
use crate::ids::is_uuid;
use crate::protocol::{Agent, ForkedFrom};
use crate::protocol::{HistoryItem, HistoryPage, ResumeParams, SubagentSummary};
use crate::summary::{cut_title, ScanState};
use crate::workspace::Workspace;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

pub const MAX_SANITIZED_LENGTH: usize = 200;

pub struct ClaudeStore {
    root: PathBuf,
}

impl ClaudeStore {
    pub fn new(root: PathBuf) -> ClaudeStore {
        ClaudeStore { root }
    }

    pub fn projects_dir(&self) -> PathBuf {
        self.root.join("projects")
    }

    /// The project directories of the workspace that exist.
    fn workspace_dirs(&self, ws: &Workspace) -> Vec<PathBuf> {
        let projects = self.projects_dir();
        let names: Vec<String> = ws
            .paths
            .iter()
            .map(|p| project_dir_name(&p.to_string_lossy()))
            .collect();
        let mut dirs = Vec::new();
        let mut long_prefixes = Vec::new();
        for name in &names {
            let d = projects.join(name);
            if d.is_dir() {
                if !dirs.contains(&d) {
                    dirs.push(d);
                }
            } else if name.len() > MAX_SANITIZED_LENGTH {
                long_prefixes.push(format!("{}-", &name[..MAX_SANITIZED_LENGTH]));
            }
        }
        if !long_prefixes.is_empty() {
            if let Ok(entries) = read_dir_or_empty(&projects) {
                for e in entries {
                    let n = e.file_name().to_string_lossy().into_owned();
                    if long_prefixes.iter().any(|p| n.starts_with(p)) && !dirs.contains(&e.path()) {
                        dirs.push(e.path());
                    }
                }
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
                        agent: Agent::Claude,
                        id,
                        path,
                    });
                }
            }
        }
        Ok(())
    }
}

/// `<uuid>.jsonl` → the lower-case id.
fn session_file_id(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".jsonl")?;
    if is_uuid(stem) {
        Some(stem.to_ascii_lowercase())
    } else {
        None
    }
}

/// The project folder name Claude Code derives from a cwd: every UTF-16 code unit outside
/// `[A-Za-z0-9]` becomes `-`; past 200 units, the first 200 + `-` + base36(|javaHash(cwd)|).
pub fn project_dir_name(cwd: &str) -> String {
    let units: Vec<u16> = cwd.encode_utf16().collect();
    let mut s = String::with_capacity(units.len());
    for u in &units {
        let c = *u;
        if (c >= b'a' as u16 && c <= b'z' as u16)
            || (c >= b'A' as u16 && c <= b'Z' as u16)
            || (c >= b'0' as u16 && c <= b'9' as u16)
        {
            s.push(c as u8 as char);
        } else {
            s.push('-');
        }
    }
    if s.len() <= MAX_SANITIZED_LENGTH {
        return s;
    }
    let mut h: i32 = 0;
    for u in &units {
        h = h.wrapping_shl(5).wrapping_sub(h).wrapping_add(*u as i32);
    }
    format!(
        "{}-{}",
        &s[..MAX_SANITIZED_LENGTH],
        base36(h.unsigned_abs() as u64)
    )
}

fn base36(mut n: u64) -> String {
    if n == 0 {
        return "0".into();
    }
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// The fields of a Claude line the summary and history need; everything else is skipped.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Entry<'a> {
    #[serde(rename = "type", borrow)]
    pub ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub subtype: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub parent_uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub logical_parent_uuid: Option<Cow<'a, str>>,
    pub is_sidechain: Option<bool>,
    pub is_meta: Option<bool>,
    pub is_compact_summary: Option<bool>,
    #[serde(borrow)]
    pub timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub cwd: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub git_branch: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub request_session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub message: Option<&'a RawValue>,
    #[serde(borrow)]
    pub custom_title: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub ai_title: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub last_prompt: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub summary: Option<&'a RawValue>,
    #[serde(borrow)]
    pub tag: Option<&'a RawValue>,
    #[serde(borrow)]
    pub leaf_uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub compact_metadata: Option<&'a RawValue>,
    #[serde(borrow)]
    pub forked_from: Option<&'a RawValue>,
    #[serde(borrow)]
    pub content: Option<&'a RawValue>,
}

impl Entry<'_> {
    pub fn ty(&self) -> &str {
        self.ty.as_deref().unwrap_or("")
    }
    pub fn is_chain(&self) -> bool {
        matches!(self.ty(), "user" | "assistant" | "system" | "attachment") && self.uuid.is_some()
    }
}

/// The parts of `message` the summary needs.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MessageHead<'a> {
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub content: Option<&'a RawValue>,
    pub usage: Option<ApiUsage>,
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct ApiUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct CompactMetadata {
    pub trigger: Option<String>,
    pub pre_tokens: Option<u64>,
    pub post_tokens: Option<u64>,
}

/// Text blocks of a user message content (a string or a list of blocks).
pub fn user_texts(content: &RawValue) -> (Vec<String>, bool) {
    let v: serde_json::Value = match serde_json::from_str(content.get()) {
        Ok(v) => v,
        Err(_) => return (Vec::new(), false),
    };
    let mut texts = Vec::new();
    let mut has_tool_result = false;
    match v {
        serde_json::Value::String(s) => texts.push(s),
        serde_json::Value::Array(blocks) => {
            for b in blocks {
                match b.get("type").and_then(|t| t.as_str()) {
                    Some("text") => {
                        if let Some(t) = b.get("text").and_then(|t| t.as_str()) {
                            texts.push(t.to_string())
                        }
                    }
                    Some("tool_result") => has_tool_result = true,
                    _ => {}
                }
            }
        }
        _ => {}
    }
    (texts, has_tool_result)
}

/// The SDK's rule for text that is not a user's prompt.
fn is_skipped_prompt(t: &str) -> bool {
    const PREFIXES: [&str; 4] = [
        "<local-command-stdout>",
        "<session-start-hook>",
        "<tick>",
        "<goal>",
    ];
    if PREFIXES.iter().any(|p| t.starts_with(p)) || t.starts_with("[Request interrupted by user") {
        return true;
    }
    let trimmed = t.trim();
    for tag in ["ide_opened_file", "ide_selection"] {
        if trimmed.starts_with(&format!("<{tag}>")) && trimmed.ends_with(&format!("</{tag}>")) {
            return true;
        }
    }
    false
}

fn command_name(t: &str) -> Option<&str> {
    let start = t.find("<command-name>")? + "<command-name>".len();
    let end = t[start..].find("</command-name>")? + start;
    Some(&t[start..end])
}

fn raw_str(v: Option<&RawValue>) -> Option<String> {
    v.and_then(|r| serde_json::from_str::<String>(r.get()).ok())
}

impl SessionStore for ClaudeStore {
    fn agent(&self) -> Agent {
        Agent::Claude
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn watch_roots(&self) -> Vec<PathBuf> {
        vec![self.projects_dir()]
    }

    fn discover(&self, workspace: Option<&Workspace>) -> Result<Vec<SessionFile>> {
        let mut out = Vec::new();
        check_root(&self.projects_dir())?;
        match workspace {
            Some(ws) => {
                for dir in self.workspace_dirs(ws) {
                    self.sessions_in(&dir, &mut out)?;
                }
            }
            None => {
                for e in read_dir_or_empty(&self.projects_dir())? {
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        self.sessions_in(&e.path(), &mut out)?;
                    }
                }
            }
        }
        Ok(out)
    }

    fn session_id_of(&self, path: &Path) -> Option<String> {
        let project = path.parent()?;
        if project.parent()? != self.projects_dir() {
            return None;
        }
        session_file_id(path)
    }

    fn in_workspace(&self, path: &Path, _state: &ScanState, workspace: &Workspace) -> bool {
        let Some(dir) = path.parent() else {
            return false;
        };
        let Some(name) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return false;
        };
        workspace.paths.iter().any(|p| {
            let enc = project_dir_name(&p.to_string_lossy());
            name == enc
                || (enc.len() > MAX_SANITIZED_LENGTH
                    && name.starts_with(&format!("{}-", &enc[..MAX_SANITIZED_LENGTH])))
        })
    }

    fn scan_line(&self, st: &mut ScanState, line: &[u8]) {
        let first = st.lines == 0;
        st.lines += 1;
        let e: Entry = match serde_json::from_slice(line) {
            Ok(e) => e,
            Err(_) => {
                st.bad_lines += 1;
                return;
            }
        };
        if first && e.is_sidechain == Some(true) {
            st.sidechain = true;
        }
        if st.created_at.is_none() {
            if let Some(ts) = &e.timestamp {
                st.created_at = crate::time::normalize(ts);
            }
        }
        if st.cwd.is_none() {
            st.cwd = e.cwd.as_deref().map(str::to_string);
        }
        if let Some(b) = &e.git_branch {
            st.git_branch = Some(b.to_string());
        }
        if st.session_id.is_none() {
            st.session_id = e.session_id.as_deref().map(str::to_string);
        }
        if st.forked_from.is_none() {
            if let Some(ff) = e
                .forked_from
                .and_then(|r| serde_json::from_str::<serde_json::Value>(r.get()).ok())
            {
                if let Some(sid) = ff.get("sessionId").and_then(|s| s.as_str()) {
                    st.forked_from = Some(ForkedFrom {
                        session_id: sid.to_string(),
                        message_uuid: ff
                            .get("messageUuid")
                            .and_then(|s| s.as_str())
                            .map(str::to_string),
                    });
                }
            } else if let (Some(req), Some(sid)) = (&e.request_session_id, &e.session_id) {
                if req != sid {
                    st.forked_from = Some(ForkedFrom {
                        session_id: req.to_string(),
                        message_uuid: None,
                    });
                }
            }
        }
        match e.ty() {
            "custom-title" => {
                if let Some(t) = e.custom_title.as_deref().filter(|t| !t.is_empty()) {
                    st.custom_title = Some(t.to_string());
                }
            }
            "ai-title" => {
                if let Some(t) = e.ai_title.as_deref().filter(|t| !t.is_empty()) {
                    st.ai_title = Some(t.to_string());
                }
            }
            "last-prompt" => {
                if let Some(t) = e.last_prompt.as_deref().filter(|t| !t.is_empty()) {
                    st.last_prompt = Some(t.to_string());
                }
            }
            "summary" => {
                if let Some(t) = raw_str(e.summary).filter(|t| !t.is_empty()) {
                    st.summary = Some(t);
                }
            }
            "tag" => {
                st.tag = raw_str(e.tag);
            }
            "system"
                if e.subtype.as_deref() == Some("compact_boundary")
                    && e.is_sidechain != Some(true) =>
            {
                if let Some(m) = e
                    .compact_metadata
                    .and_then(|r| serde_json::from_str::<CompactMetadata>(r.get()).ok())
                {
                    if let Some(post) = m.post_tokens {
                        st.context_used = Some(post);
                    }
                }
            }
            "user" if e.uuid.is_some() && e.is_sidechain != Some(true) => {
                if e.is_meta != Some(true) {
                    st.message_count += 1;
                }
                if st.first_prompt.is_none()
                    && e.is_meta != Some(true)
                    && e.is_compact_summary != Some(true)
                {
                    let head: Option<MessageHead> =
                        e.message.and_then(|m| serde_json::from_str(m.get()).ok());
                    if let Some(content) = head.and_then(|h| h.content) {
                        let (texts, has_tool_result) = user_texts(content);
                        if !has_tool_result {
                            for raw in texts {
                                let t = raw.replace('\n', " ");
                                let t = t.trim();
                                if t.is_empty() {
                                    continue;
                                }
                                if let Some(cmd) = command_name(t) {
                                    if st.command_fallback.is_none() {
                                        st.command_fallback = Some(cmd.to_string());
                                    }
                                    continue;
                                }
                                if is_skipped_prompt(t) {
                                    continue;
                                }
                                st.first_prompt = Some(cut_title(t, 200));
                                break;
                            }
                        }
                    }
                }
            }
            "assistant" if e.uuid.is_some() && e.is_sidechain != Some(true) => {
                st.message_count += 1;
                let head: MessageHead = e
                    .message
                    .and_then(|m| serde_json::from_str(m.get()).ok())
                    .unwrap_or_default();
                if let Some(model) = head.model.as_deref().filter(|m| !m.starts_with('<')) {
                    st.model = Some(model.to_string());
                }
                let mid = head.id.as_deref().map(str::to_string);
                let same_message = mid.is_some() && mid == st.last_message_id;
                if let Some(u) = head.usage {
                    if !same_message {
                        st.model_turns += 1;
                        st.tokens.input += u.input_tokens;
                        st.tokens.output += u.output_tokens;
                        st.tokens.cache_read += u.cache_read_input_tokens;
                        st.tokens.cache_creation += u.cache_creation_input_tokens;
                    }
                    st.context_used = Some(
                        u.input_tokens
                            + u.cache_creation_input_tokens
                            + u.cache_read_input_tokens
                            + u.output_tokens,
                    );
                }
                st.last_message_id = mid;
            }
            _ => {}
        }
    }

    fn lite_metadata_line(&self, line: &[u8]) -> bool {
        // Metadata rows are written with `type` first; chain entries start with `parentUuid`.
        const ROWS: [&[u8]; 4] = [
            b"{\"type\":\"custom-title\"",
            b"{\"type\":\"ai-title\"",
            b"{\"type\":\"tag\"",
            b"{\"type\":\"summary\"",
        ];
        ROWS.iter().any(|r| line.starts_with(r))
    }

    fn is_listable(&self, st: &ScanState) -> bool {
        !st.sidechain && st.title().is_some()
    }

    fn history(&self, file: &SessionFile, req: &HistoryRequest) -> Result<HistoryPage> {
        super::claude_history::history(self, file, req)
    }

    fn message(&self, file: &SessionFile, id: &str, subagent: Option<&str>) -> Result<HistoryItem> {
        super::claude_history::message(self, file, id, subagent)
    }

    fn appended(&self, file: &SessionFile, offset: u64, truncate_bytes: usize) -> Result<Appended> {
        super::claude_history::appended(self, file, offset, truncate_bytes)
    }

    fn subscription_start(&self, file: &SessionFile, after: Option<&Cursor>) -> Result<u64> {
        super::claude_history::subscription_start(self, file, after)
    }

    fn subagents(&self, file: &SessionFile) -> Result<Vec<SubagentSummary>> {
        super::claude_history::subagents(self, file)
    }

    fn resume_argv(&self, exe: &str, id: &str, params: &ResumeParams) -> Result<Vec<String>> {
        super::claude_write::resume_argv(exe, id, params)
    }

    fn fork(&self, file: &SessionFile, req: &ForkRequest) -> Result<SessionFile> {
        super::claude_write::fork(self, file, req)
    }

    fn rename(&self, file: &SessionFile, title: &str) -> Result<()> {
        super::claude_write::rename(self, file, title)
    }

    fn tag(&self, file: &SessionFile, tag: Option<&str>) -> Result<()> {
        super::claude_write::tag(self, file, tag)
    }

    fn compress_argv(&self, exe: &str, id: &str) -> Result<Vec<String>> {
        super::claude_trim::compress_argv(exe, id)
    }

    fn trim(&self, file: &SessionFile, opts: &TrimOptions) -> Result<(SessionFile, u64, u64)> {
        super::claude_trim::trim(self, file, opts)
    }

    fn clean_temp_files(&self, workspace: &Workspace) {
        for dir in self.workspace_dirs(workspace) {
            crate::fsutil::clean_temp_files(&dir);
        }
    }

    fn companion_paths(&self, file: &SessionFile) -> Vec<PathBuf> {
        let dir = file.path.with_extension("");
        if dir.is_dir() {
            vec![dir]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_dir_names_match_the_cli() {
        assert_eq!(
            project_dir_name("/home/dev/acme-webapp"),
            "-home-dev-acme-webapp"
        );
        assert_eq!(project_dir_name("/home/dev/v1.2 app"), "-home-dev-v1-2-app");
        // é is one UTF-16 unit, an emoji two.
        assert_eq!(project_dir_name("/a/é/😀"), "-a---".to_string() + "--");
        let long = format!("/home/dev/{}", "x".repeat(300));
        let name = project_dir_name(&long);
        assert!(name.len() > 200 && name.as_bytes()[200] == b'-');
    }
}
