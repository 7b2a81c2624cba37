//! Claude Code writing: resume argv, fork (the official SDK's `fork_session` semantics plus
//! `compactMetadata` remapping), rename and tag records.
//!
//! A fork is written to a temp file in the source's folder, fsynced, and linked to its final
//! name without ever replacing an existing file; the source is only read, from one open file
//! descriptor, up to the last complete line at the time of the first stat (an agent appending
//! meanwhile cannot make the fork inconsistent). Records are appended with one write(2) per
//! line and never glued onto a torn last line.
//!
//! The fork reads the source twice (a survey, then the rewrite). Each line is read once per
//! pass by `json_members`, which finds its top-level members in one validating scan; the
//! rewrite keeps every other member's bytes as they are. Lines outside that fast path
//! (whitespace between members, escaped or repeated keys, invalid JSON) go through serde as
//! before; `claude_fork_reference.rs` (tests only) is the former full-parse writer, which the
//! tests hold the output to, byte for byte.

use super::claude::ClaudeStore;
use super::{ForkRequest, SessionFile};
use crate::error::{Result, SidecarError};
use crate::ids::is_uuid;
use crate::json_members::{self, Member};
use crate::protocol::{Agent, ErrorCode, ResumeParams};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// Resume

/// `claude --resume <id> [--fork-session] [--model M] [--permission-mode P] [-- PROMPT]`.
/// The prompt goes after `--` so one starting with `-` is never read as an option.
pub fn resume_argv(exe: &str, id: &str, params: &ResumeParams) -> Result<Vec<String>> {
    let mut argv = vec![exe.to_string(), "--resume".to_string(), id.to_string()];
    if params.fork {
        argv.push("--fork-session".into());
    }
    if let Some(m) = &params.model {
        argv.push("--model".into());
        argv.push(m.clone());
    }
    if let Some(pm) = &params.permission_mode {
        argv.push("--permission-mode".into());
        argv.push(pm.clone());
    }
    if let Some(prompt) = params.prompt.as_ref().filter(|p| !p.trim().is_empty()) {
        argv.push("--".into());
        argv.push(prompt.clone());
    }
    Ok(argv)
}

// ---------------------------------------------------------------------------------------------
// Appending records

/// The longest unterminated last line we inspect before calling it torn.
const MAX_LAST_LINE: u64 = 64 * 1024 * 1024;

/// The bytes after the last `\n` of a file of length `len` (None when longer than the cap).
fn unterminated_tail(f: &File, len: u64) -> io::Result<Option<Vec<u8>>> {
    let mut end = len;
    let mut tail: Vec<u8> = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(64 * 1024);
        let mut chunk = vec![0u8; (end - start) as usize];
        f.read_exact_at(&mut chunk, start)?;
        if let Some(i) = memchr::memrchr(b'\n', &chunk) {
            chunk.drain(..=i);
            chunk.extend_from_slice(&tail);
            return Ok(Some(chunk));
        }
        chunk.extend_from_slice(&tail);
        tail = chunk;
        if tail.len() as u64 > MAX_LAST_LINE {
            return Ok(None);
        }
        end = start;
    }
    Ok(Some(tail))
}

/// Whether an unterminated last line is a complete record (the CLI leaves its last metadata
/// row without a newline and starts its next append with one).
fn is_complete_record(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    t.is_empty() || serde_json::from_slice::<serde::de::IgnoredAny>(t).is_ok()
}

fn open_error(path: &Path, e: io::Error) -> SidecarError {
    if e.kind() == io::ErrorKind::NotFound {
        SidecarError::new(
            ErrorCode::SessionNotFound,
            format!("the session file {} no longer exists", path.display()),
        )
    } else {
        SidecarError::write_failed(path, &e)
    }
}

/// Append one JSONL record to an existing session file with a single write(2). When the file
/// ends without a newline: a complete last record gets the newline prefixed in the same write;
/// a torn one (an agent mid-write) is refused with `TornLastLine` and nothing is written.
/// Usable by every JSONL store.
pub fn append_jsonl_record(path: &Path, record: &str) -> Result<()> {
    debug_assert!(!record.contains('\n'));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| open_error(path, e))?;
    let len = f
        .metadata()
        .map_err(|e| SidecarError::unreadable(path, &e))?
        .len();
    let mut buf = Vec::with_capacity(record.len() + 2);
    if len > 0 {
        let mut last = [0u8; 1];
        f.read_exact_at(&mut last, len - 1)
            .map_err(|e| SidecarError::unreadable(path, &e))?;
        if last[0] != b'\n' {
            let tail =
                unterminated_tail(&f, len).map_err(|e| SidecarError::unreadable(path, &e))?;
            match tail {
                Some(t) if is_complete_record(&t) => buf.push(b'\n'),
                _ => {
                    return Err(SidecarError::new(
                        ErrorCode::TornLastLine,
                        format!(
                            "{} ends in an unfinished line (the agent may be writing to it); nothing was written, try again when it is idle",
                            path.display()
                        ),
                    ))
                }
            }
        }
    }
    buf.extend_from_slice(record.as_bytes());
    buf.push(b'\n');
    crate::fsutil::append_whole(&f, &buf, len)
        .and_then(|_| f.sync_data())
        .map_err(|e| SidecarError::write_failed(path, &e))
}

#[derive(Serialize)]
struct CustomTitleRow<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(rename = "customTitle")]
    custom_title: &'a str,
    #[serde(rename = "sessionId")]
    session_id: &'a str,
}

#[derive(Serialize)]
struct AgentNameRow<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(rename = "agentName")]
    agent_name: &'a str,
    #[serde(rename = "sessionId")]
    session_id: &'a str,
}

#[derive(Serialize)]
struct TagRow<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    tag: &'a str,
    #[serde(rename = "sessionId")]
    session_id: &'a str,
}

fn to_line<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("serializable record")
}

/// `/rename`: a `custom-title` row and an `agent-name` row, each its own single write. The
/// CLI also keeps `<id>/custom-title.json`; when that file exists it is replaced too (atomically)
/// so nothing that reads it shows the old title.
pub fn rename(_store: &ClaudeStore, file: &SessionFile, title: &str) -> Result<()> {
    append_title_rows(file, title)?;
    let json = file.path.with_extension("").join("custom-title.json");
    if json.is_file() {
        #[derive(Serialize)]
        struct TitleFile<'a> {
            #[serde(rename = "customTitle")]
            custom_title: &'a str,
        }
        let bytes = serde_json::to_vec(&TitleFile {
            custom_title: title,
        })
        .expect("serializable");
        if let Err(e) = crate::fsutil::write_atomic(&json, &bytes) {
            tracing::warn!("renamed, but could not update {}: {e}", json.display());
        }
    }
    Ok(())
}

fn append_title_rows(file: &SessionFile, title: &str) -> Result<()> {
    append_jsonl_record(
        &file.path,
        &to_line(&CustomTitleRow {
            ty: "custom-title",
            custom_title: title,
            session_id: &file.id,
        }),
    )?;
    append_jsonl_record(
        &file.path,
        &to_line(&AgentNameRow {
            ty: "agent-name",
            agent_name: title,
            session_id: &file.id,
        }),
    )
}

/// The SDK's `tag_session` row; `None` writes `"tag":""` (cleared). The row starts with
/// `{"type":"tag"` because that is how the SDK's listing finds it.
pub fn tag(_store: &ClaudeStore, file: &SessionFile, tag: Option<&str>) -> Result<()> {
    append_jsonl_record(
        &file.path,
        &to_line(&TagRow {
            ty: "tag",
            tag: tag.unwrap_or(""),
            session_id: &file.id,
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// An order-preserving JSON object (the fork rewrites a few keys and keeps the rest verbatim,
// in place, the way the SDK's `{**original, ...}` does). Values are raw JSON text, borrowed from
// the line when it took the fast path (`json_members`), owned when serde parsed it.

#[derive(Debug, Default)]
struct Obj<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de> Deserialize<'de> for Obj<'static> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Obj<'static>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut o = Obj::default();
                while let Some((k, v)) = m.next_entry::<String, Box<RawValue>>()? {
                    o.set_raw(&k, Cow::Owned(Box::<str>::from(v).into_string()));
                }
                Ok(o)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Obj<'a> {
    /// From the fast path's members (distinct keys, in order).
    fn from_members(members: Vec<Member<'a>>) -> Self {
        Obj(members
            .into_iter()
            .map(|m| (Cow::Borrowed(m.key), Cow::Borrowed(m.value)))
            .collect())
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == k).map(|(_, v)| &**v)
    }
    /// Replace in place (a duplicate key keeps its first position, like a Python dict), or
    /// append.
    fn set_raw(&mut self, k: &str, v: Cow<'a, str>) {
        match self.0.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((Cow::Owned(k.to_string()), v)),
        }
    }
    fn set<T: Serialize + ?Sized>(&mut self, k: &str, v: &T) {
        self.set_raw(k, Cow::Owned(to_line(v)));
    }
    fn remove(&mut self, k: &str) {
        self.0.retain(|(key, _)| key != k);
    }
    /// Compact JSON, keys escaped as serde_json escapes them.
    fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(b"{")?;
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            if k.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20) {
                out.write_all(to_line(k).as_bytes())?;
            } else {
                out.write_all(b"\"")?;
                out.write_all(k.as_bytes())?;
                out.write_all(b"\"")?;
            }
            out.write_all(b":")?;
            out.write_all(v.as_bytes())?;
        }
        out.write_all(b"}")
    }
    fn to_json(&self) -> String {
        let mut v = Vec::new();
        self.write_to(&mut v).expect("writing to memory");
        String::from_utf8(v).expect("UTF-8 in, UTF-8 out")
    }
}

// ---------------------------------------------------------------------------------------------
// Fork

/// The fields of a line the fork's passes need, as raw JSON text (any JSON type; `null` and
/// absent are both `None`).
#[derive(Default)]
struct Head<'a> {
    ty: Option<&'a str>,
    uuid: Option<&'a str>,
    parent_uuid: Option<&'a str>,
    is_sidechain: Option<&'a str>,
    session_id: Option<&'a str>,
    replacements: Option<&'a str>,
    leaf_uuid: Option<&'a str>,
    last_prompt: Option<&'a str>,
}

/// `Head` as serde reads it, for lines outside the fast path (a key given twice fails it, as
/// it always did).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SerdeHead<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<&'a RawValue>,
    #[serde(borrow)]
    uuid: Option<&'a RawValue>,
    #[serde(borrow)]
    parent_uuid: Option<&'a RawValue>,
    #[serde(borrow)]
    is_sidechain: Option<&'a RawValue>,
    #[serde(borrow)]
    session_id: Option<&'a RawValue>,
    #[serde(borrow)]
    replacements: Option<&'a RawValue>,
    #[serde(borrow)]
    leaf_uuid: Option<&'a RawValue>,
    #[serde(borrow)]
    last_prompt: Option<&'a RawValue>,
}

/// A line of the source, read once: its head, and its members when it took the fast path.
struct Line<'a> {
    head: Head<'a>,
    members: Option<Vec<Member<'a>>>,
}

impl<'a> Line<'a> {
    /// None for a line that is not a JSON object serde reads as a `Head` (skipped, as ever).
    fn parse(line: &'a str) -> Option<Self> {
        if let Some(members) = json_members::members(line) {
            let mut head = Head::default();
            for m in &members {
                let slot = match m.key {
                    "type" => &mut head.ty,
                    "uuid" => &mut head.uuid,
                    "parentUuid" => &mut head.parent_uuid,
                    "isSidechain" => &mut head.is_sidechain,
                    "sessionId" => &mut head.session_id,
                    "replacements" => &mut head.replacements,
                    "leafUuid" => &mut head.leaf_uuid,
                    "lastPrompt" => &mut head.last_prompt,
                    _ => continue,
                };
                *slot = Some(m.value).filter(|v| *v != "null");
            }
            return Some(Line {
                head,
                members: Some(members),
            });
        }
        let h: SerdeHead = serde_json::from_str(line).ok()?;
        let get = |r: Option<&'a RawValue>| r.map(RawValue::get);
        Some(Line {
            head: Head {
                ty: get(h.ty),
                uuid: get(h.uuid),
                parent_uuid: get(h.parent_uuid),
                is_sidechain: get(h.is_sidechain),
                session_id: get(h.session_id),
                replacements: get(h.replacements),
                leaf_uuid: get(h.leaf_uuid),
                last_prompt: get(h.last_prompt),
            },
            members: None,
        })
    }
    /// The whole line as an ordered object.
    fn into_obj(self, line: &'a str) -> Result<Obj<'a>> {
        match self.members {
            Some(m) => Ok(Obj::from_members(m)),
            None => serde_json::from_str(line).map_err(|e| {
                SidecarError::internal(format!("line parsed once but not twice: {e}"))
            }),
        }
    }
}

/// A raw JSON value as a string (None for any other type).
fn raw_string(r: Option<&str>) -> Option<String> {
    let r = r?;
    match r.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => Some(inner.to_string()),
        _ => serde_json::from_str::<String>(r).ok(),
    }
}

/// Python truthiness of a raw JSON value.
fn truthy(r: Option<&str>) -> bool {
    let Some(r) = r else { return false };
    match r {
        "true" => return true,
        "false" | "null" => return false,
        _ => {}
    }
    match serde_json::from_str::<serde_json::Value>(r) {
        Ok(serde_json::Value::Null) | Err(_) => false,
        Ok(serde_json::Value::Bool(b)) => b,
        Ok(serde_json::Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Ok(serde_json::Value::String(s)) => !s.is_empty(),
        Ok(serde_json::Value::Array(a)) => !a.is_empty(),
        Ok(serde_json::Value::Object(o)) => !o.is_empty(),
    }
}

const TRANSCRIPT_TYPES: [&str; 5] = ["user", "assistant", "attachment", "system", "progress"];

/// How a line takes part in a fork.
enum Kind {
    /// A main-chain transcript entry (uuid, parentUuid, is progress).
    Transcript {
        uuid: String,
        parent: Option<String>,
        progress: bool,
    },
    /// Any other line (sidechain entries included).
    Other,
}

fn classify(h: &Head) -> Kind {
    let ty = raw_string(h.ty);
    let uuid = raw_string(h.uuid);
    match (ty.as_deref(), uuid) {
        (Some(t), Some(uuid)) if TRANSCRIPT_TYPES.contains(&t) && !truthy(h.is_sidechain) => {
            Kind::Transcript {
                uuid,
                parent: raw_string(h.parent_uuid).filter(|p| !p.is_empty()),
                progress: t == "progress",
            }
        }
        _ => Kind::Other,
    }
}

/// Calls `f(line)` for every `\n`-terminated line within the first `end` bytes of `file`
/// (an unterminated tail is left out). Invalid UTF-8 is replaced, as the SDK does.
fn for_each_line_upto(
    file: &mut File,
    end: u64,
    mut f: impl FnMut(&str) -> Result<bool>,
) -> Result<()> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| SidecarError::internal(format!("seek: {e}")))?;
    let mut r = BufReader::with_capacity(256 * 1024, (&*file).take(end));
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| SidecarError::internal(format!("read: {e}")))?;
        if n == 0 || buf.last() != Some(&b'\n') {
            return Ok(());
        }
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        let keep_going = match std::str::from_utf8(&buf) {
            Ok(line) => f(line)?,
            Err(_) => f(&String::from_utf8_lossy(&buf))?,
        };
        if !keep_going {
            return Ok(());
        }
    }
}

struct Meta {
    uuid: String,
    parent: Option<String>,
    progress: bool,
}

/// What the first pass learns about the source.
#[derive(Default)]
struct Survey {
    metas: Vec<Meta>,
    content_replacements: Vec<Box<RawValue>>,
    /// (leafUuid, lastPrompt, number of transcript entries before the row) of each last-prompt row.
    last_prompts: Vec<(Option<String>, Option<String>, usize)>,
}

fn survey(file: &mut File, end: u64, source_id: &str) -> Result<Survey> {
    let mut s = Survey::default();
    for_each_line_upto(file, end, |line| {
        let Some(Line { head: h, .. }) = Line::parse(line) else {
            return Ok(true);
        };
        match classify(&h) {
            Kind::Transcript {
                uuid,
                parent,
                progress,
            } => s.metas.push(Meta {
                uuid,
                parent,
                progress,
            }),
            Kind::Other => match raw_string(h.ty).as_deref() {
                Some("content-replacement")
                    if raw_string(h.session_id).as_deref() == Some(source_id) =>
                {
                    if let Some(list) = h
                        .replacements
                        .and_then(|r| serde_json::from_str::<Vec<Box<RawValue>>>(r).ok())
                    {
                        s.content_replacements.extend(list);
                    }
                }
                Some("last-prompt") => s.last_prompts.push((
                    raw_string(h.leaf_uuid),
                    raw_string(h.last_prompt),
                    s.metas.len(),
                )),
                _ => {}
            },
        }
        Ok(true)
    })?;
    Ok(s)
}

/// The SDK's timestamp format for the fork's newest entry: ISO with microseconds and `Z`.
fn now_micros() -> String {
    let t = crate::time::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// The fork plan: which transcript entries are kept and how uuids map.
struct Plan {
    /// Number of main-chain transcript entries kept (a prefix of the file's, in file order).
    kept: usize,
    /// Index (among kept transcript entries) of the last non-progress one.
    last_writable: usize,
    mapping: HashMap<String, String>,
    /// uuid → (parent, progress) over the kept entries (later duplicates win, as in the SDK).
    by_uuid: HashMap<String, (Option<String>, bool)>,
    /// A `last-prompt` row to add so the CLI resumes the intended leaf: (new leaf, prompt text).
    last_prompt: Option<(String, String)>,
}

impl Plan {
    /// The remapped parent, skipping progress ancestors; None for a root or a dangling parent.
    fn new_parent(&self, parent: Option<&str>) -> Option<String> {
        let mut cur = parent.map(str::to_string);
        let mut seen = HashSet::new();
        while let Some(p) = cur {
            if !seen.insert(p.clone()) {
                return None;
            }
            let (pp, progress) = self.by_uuid.get(&p)?;
            if !progress {
                return self.mapping.get(&p).cloned();
            }
            cur = pp.clone();
        }
        None
    }
    /// The nearest non-progress entry at or above `uuid` (original ids).
    fn writable_at_or_above(&self, uuid: &str) -> Option<String> {
        let mut cur = Some(uuid.to_string());
        let mut seen = HashSet::new();
        while let Some(u) = cur {
            if !seen.insert(u.clone()) {
                return None;
            }
            let (parent, progress) = self.by_uuid.get(&u)?;
            if !progress {
                return Some(u);
            }
            cur = parent.clone();
        }
        None
    }
}

fn no_messages(id: &str) -> SidecarError {
    SidecarError::invalid_params(format!("session {id} has no messages to fork"))
}

fn plan(s: &Survey, source_id: &str, up_to: Option<&str>) -> Result<Plan> {
    if s.metas.is_empty() {
        return Err(no_messages(source_id));
    }
    let kept = match up_to {
        Some(u) => {
            s.metas.iter().position(|m| m.uuid == u).ok_or_else(|| {
                SidecarError::new(
                    ErrorCode::MessageNotFound,
                    format!("message {u} is not in session {source_id}"),
                )
            })? + 1
        }
        None => s.metas.len(),
    };
    let metas = &s.metas[..kept];
    let last_writable = metas
        .iter()
        .rposition(|m| !m.progress)
        .ok_or_else(|| no_messages(source_id))?;
    let mut mapping = HashMap::with_capacity(kept);
    let mut by_uuid = HashMap::with_capacity(kept);
    for m in metas {
        mapping
            .entry(m.uuid.clone())
            .or_insert_with(|| uuid::Uuid::new_v4().to_string());
        by_uuid.insert(m.uuid.clone(), (m.parent.clone(), m.progress));
    }
    let mut p = Plan {
        kept,
        last_writable,
        mapping,
        by_uuid,
        last_prompt: None,
    };
    // The CLI resumes from the last last-prompt row's leaf when it exists, else from the last
    // chain entry in file order. The fork's last entry is `metas[last_writable]`; when the
    // intended leaf is another entry, say so with a final last-prompt row.
    let rows_before_cut: Vec<_> = s
        .last_prompts
        .iter()
        .filter(|(_, _, before)| up_to.is_none() || *before <= kept)
        .collect();
    let prompt_text = rows_before_cut
        .iter()
        .rev()
        .find_map(|(_, t, _)| t.clone())
        .unwrap_or_default();
    let intended = match up_to {
        Some(u) => p.writable_at_or_above(u),
        None => s
            .last_prompts
            .last()
            .and_then(|(leaf, _, _)| leaf.as_deref())
            .filter(|leaf| metas.iter().any(|m| m.uuid == *leaf && !m.progress))
            .map(str::to_string),
    };
    if let Some(leaf) = intended {
        if leaf != metas[last_writable].uuid {
            let new_leaf = p.mapping[&leaf].clone();
            p.last_prompt = Some((new_leaf, prompt_text));
        }
    }
    Ok(p)
}

/// Remap the uuids inside `compactMetadata` (the SDK leaves them pointing at the source's ids,
/// which makes the CLI lose the preserved tail of a compacted session).
fn remap_compact_metadata(cm: &str, mapping: &HashMap<String, String>) -> Option<String> {
    let mut o: Obj = serde_json::from_str(cm).ok()?;
    let map_str = |r: &str| -> Option<String> {
        let s: String = serde_json::from_str(r).ok()?;
        mapping.get(&s).map(to_line)
    };
    let map_list = |r: &str| -> Option<String> {
        let v: Vec<serde_json::Value> = serde_json::from_str(r).ok()?;
        let out: Vec<serde_json::Value> = v
            .into_iter()
            .map(|x| match x.as_str().and_then(|s| mapping.get(s)) {
                Some(n) => serde_json::Value::String(n.clone()),
                None => x,
            })
            .collect();
        Some(to_line(&out))
    };
    let mut changed = false;
    for (section, singles, lists) in [
        (
            "preservedSegment",
            &["headUuid", "anchorUuid", "tailUuid"][..],
            &[][..],
        ),
        (
            "preservedMessages",
            &["anchorUuid"][..],
            &["uuids", "allUuids"][..],
        ),
    ] {
        let Some(sec) = o.get(section) else { continue };
        let Ok(mut so) = serde_json::from_str::<Obj>(sec) else {
            continue;
        };
        for k in singles {
            if let Some(n) = so.get(k).and_then(map_str) {
                so.set_raw(k, Cow::Owned(n));
                changed = true;
            }
        }
        for k in lists {
            if let Some(n) = so.get(k).and_then(map_list) {
                so.set_raw(k, Cow::Owned(n));
                changed = true;
            }
        }
        o.set_raw(section, Cow::Owned(so.to_json()));
    }
    changed.then(|| o.to_json())
}

#[derive(Serialize)]
struct ForkedFromRef<'a> {
    #[serde(rename = "sessionId")]
    session_id: &'a str,
    #[serde(rename = "messageUuid")]
    message_uuid: &'a str,
}

#[derive(Serialize)]
struct ContentReplacementRow<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(rename = "sessionId")]
    session_id: &'a str,
    replacements: &'a [Box<RawValue>],
    uuid: String,
    timestamp: &'a str,
}

#[derive(Serialize)]
struct LastPromptRow<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(rename = "lastPrompt")]
    last_prompt: &'a str,
    #[serde(rename = "leafUuid")]
    leaf_uuid: &'a str,
    #[serde(rename = "sessionId")]
    session_id: &'a str,
}

#[derive(Serialize)]
struct ForkTitleRow<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(rename = "sessionId")]
    session_id: &'a str,
    #[serde(rename = "customTitle")]
    custom_title: &'a str,
    uuid: String,
    timestamp: &'a str,
}

/// What the fork is called and stamped with.
struct ForkIds<'a> {
    source_id: &'a str,
    new_id: &'a str,
    title: &'a str,
    branch: Option<&'a str>,
    /// The timestamp of the newest entry and of the rows added.
    now: &'a str,
    /// The uuid of each row added (random; fixed in tests).
    fresh_id: &'a dyn Fn() -> String,
}

fn write_error(e: io::Error) -> SidecarError {
    SidecarError::new(
        ErrorCode::WriteFailed,
        format!("cannot write the fork: {e}"),
    )
}

/// One kept transcript entry as the fork has it: new ids, `forkedFrom`, the SDK's removals.
/// `original` is the entry's uuid in the source; `newest` whether it is the fork's last entry.
fn rewrite_entry(
    o: &mut Obj,
    original: &str,
    parent: Option<&str>,
    newest: bool,
    plan: &Plan,
    ids: &ForkIds,
) {
    let logical = o.get("logicalParentUuid").map(str::to_string);
    o.set("uuid", &plan.mapping[original]);
    o.set("parentUuid", &plan.new_parent(parent));
    match logical {
        Some(l) if truthy(Some(&l)) => {
            let mapped = raw_string(Some(&l)).and_then(|s| plan.mapping.get(&s));
            o.set("logicalParentUuid", &mapped);
        }
        Some(_) => {}
        None => o.set("logicalParentUuid", &serde_json::Value::Null),
    }
    o.set("sessionId", ids.new_id);
    if newest || o.get("timestamp").is_none() {
        o.set("timestamp", ids.now);
    }
    o.set("isSidechain", &false);
    o.set(
        "forkedFrom",
        &ForkedFromRef {
            session_id: ids.source_id,
            message_uuid: original,
        },
    );
    for k in ["teamName", "agentName", "slug", "sourceToolAssistantUUID"] {
        o.remove(k);
    }
    if let Some(n) = o
        .get("compactMetadata")
        .and_then(|cm| remap_compact_metadata(cm, &plan.mapping))
    {
        o.set_raw("compactMetadata", Cow::Owned(n));
    }
    if let Some(b) = ids.branch {
        o.set("gitBranch", b);
    }
}

/// Second pass: write the fork's lines to `out`.
fn write_fork(
    src: &mut File,
    end: u64,
    plan: &Plan,
    survey: &Survey,
    ids: &ForkIds,
    out: &mut impl Write,
) -> Result<()> {
    let mut idx = 0usize; // transcript entries seen
    let mut written = 0usize; // non-progress entries written
    let mut io_err: Option<io::Error> = None;
    for_each_line_upto(src, end, |line| {
        if idx >= plan.kept {
            return Ok(false);
        }
        let Some(parsed) = Line::parse(line) else {
            return Ok(true);
        };
        let Kind::Transcript {
            uuid,
            parent,
            progress,
        } = classify(&parsed.head)
        else {
            return Ok(true);
        };
        let i = idx;
        idx += 1;
        if progress {
            return Ok(true);
        }
        let mut o = parsed.into_obj(line)?;
        rewrite_entry(
            &mut o,
            &uuid,
            parent.as_deref(),
            i == plan.last_writable,
            plan,
            ids,
        );
        if let Err(e) = o.write_to(out).and_then(|_| out.write_all(b"\n")) {
            io_err = Some(e);
            return Ok(false);
        }
        written += 1;
        Ok(true)
    })?;
    if let Some(e) = io_err {
        return Err(write_error(e));
    }
    if written == 0 {
        return Err(no_messages(ids.source_id));
    }
    out.write_all(fork_tail(plan, survey, ids).as_bytes())
        .map_err(write_error)
}

/// The rows a fork ends with: the source's last prompt, its content replacements, the title.
fn fork_tail(plan: &Plan, survey: &Survey, ids: &ForkIds) -> String {
    let mut tail = String::new();
    if let Some((leaf, text)) = &plan.last_prompt {
        tail.push_str(&to_line(&LastPromptRow {
            ty: "last-prompt",
            last_prompt: text,
            leaf_uuid: leaf,
            session_id: ids.new_id,
        }));
        tail.push('\n');
    }
    if !survey.content_replacements.is_empty() {
        tail.push_str(&to_line(&ContentReplacementRow {
            ty: "content-replacement",
            session_id: ids.new_id,
            replacements: &survey.content_replacements,
            uuid: (ids.fresh_id)(),
            timestamp: ids.now,
        }));
        tail.push('\n');
    }
    tail.push_str(&to_line(&ForkTitleRow {
        ty: "custom-title",
        session_id: ids.new_id,
        custom_title: ids.title,
        uuid: (ids.fresh_id)(),
        timestamp: ids.now,
    }));
    tail.push('\n');
    tail
}

/// Fork `file` into a new `<uuid>.jsonl` next to it.
pub fn fork(_store: &ClaudeStore, file: &SessionFile, req: &ForkRequest) -> Result<SessionFile> {
    if let Some(u) = &req.up_to_message {
        if !is_uuid(u) {
            return Err(SidecarError::new(
                ErrorCode::MessageNotFound,
                format!("{u:?} is not a Claude message id (a UUID)"),
            ));
        }
    }
    let up_to = req.up_to_message.as_deref().map(str::to_ascii_lowercase);
    let mut src = File::open(&file.path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            SidecarError::not_found(format!("file {}", file.path.display()))
        } else {
            SidecarError::unreadable(&file.path, &e)
        }
    })?;
    // Everything is read from this descriptor, up to the size seen now: bytes an agent
    // appends meanwhile are not part of the fork, and a torn tail line is left out.
    let end = src
        .metadata()
        .map_err(|e| SidecarError::unreadable(&file.path, &e))?
        .len();
    let s = survey(&mut src, end, &file.id)?;
    let plan = plan(&s, &file.id, up_to.as_deref())?;
    let title = match &req.title {
        Some(t) => t.clone(),
        None => format!(
            "{} (fork)",
            req.source_title.as_deref().unwrap_or("Forked session")
        ),
    };
    let dir = file.path.parent().unwrap_or(Path::new("."));
    let now = now_micros();
    for _ in 0..3 {
        let new_id = uuid::Uuid::new_v4().to_string();
        let target = dir.join(format!("{new_id}.jsonl"));
        let (tmp, f) =
            crate::fsutil::temp_beside(&target).map_err(|e| SidecarError::write_failed(dir, &e))?;
        let mut w = BufWriter::with_capacity(256 * 1024, f);
        let ids = ForkIds {
            source_id: &file.id,
            new_id: &new_id,
            title: &title,
            branch: req.branch.as_deref(),
            now: &now,
            fresh_id: &|| uuid::Uuid::new_v4().to_string(),
        };
        let written = write_fork(&mut src, end, &plan, &s, &ids, &mut w);
        let f = match written.and_then(|_| {
            w.into_inner().map_err(|e| {
                SidecarError::new(
                    ErrorCode::WriteFailed,
                    format!("cannot write the fork: {}", e.error()),
                )
            })
        }) {
            Ok(f) => f,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        match crate::fsutil::commit_temp(&tmp, f, &target, true) {
            Ok(()) => {
                return Ok(SessionFile {
                    agent: Agent::Claude,
                    id: new_id,
                    path: target,
                })
            }
            // An id collision: never replace, try another id.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(SidecarError::write_failed(&target, &e)),
        }
    }
    Err(SidecarError::internal(
        "could not find an unused session id",
    ))
}

#[cfg(test)]
#[path = "claude_fork_reference.rs"]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::path::PathBuf;

    #[test]
    fn obj_keeps_order_and_replaces_in_place() {
        let mut o: Obj = serde_json::from_str(r#"{"b":1,"a":{"x":[1, 2]},"c":"é"}"#).unwrap();
        o.set("a", &5);
        o.set("z", &true);
        o.remove("b");
        assert_eq!(o.to_json(), r#"{"a":5,"c":"é","z":true}"#);
    }

    #[test]
    fn compact_metadata_uuids_are_remapped() {
        let cm = r#"{"trigger":"manual","preservedSegment":{"headUuid":"h","anchorUuid":"a","tailUuid":"t"},"preservedMessages":{"anchorUuid":"a","uuids":["h","x"],"allUuids":["h","t"]}}"#;
        let mapping: HashMap<String, String> = [("h", "H"), ("a", "A"), ("t", "T")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let out = remap_compact_metadata(cm, &mapping).unwrap();
        assert_eq!(
            out,
            r#"{"trigger":"manual","preservedSegment":{"headUuid":"H","anchorUuid":"A","tailUuid":"T"},"preservedMessages":{"anchorUuid":"A","uuids":["H","x"],"allUuids":["H","T"]}}"#
        );
    }

    #[test]
    fn appends_start_on_a_fresh_line_and_refuse_torn_ones() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.jsonl");
        std::fs::write(&p, "{\"type\":\"user\"}\n{\"type\":\"cost-state\"}").unwrap();
        append_jsonl_record(&p, "{\"type\":\"tag\"}").unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"type\":\"user\"}\n{\"type\":\"cost-state\"}\n{\"type\":\"tag\"}\n"
        );
        std::fs::write(&p, "{\"type\":\"user\"}\n{\"type\":\"assis").unwrap();
        let e = append_jsonl_record(&p, "{\"type\":\"tag\"}").unwrap_err();
        assert_eq!(e.code, ErrorCode::TornLastLine);
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"type\":\"user\"}\n{\"type\":\"assis"
        );
        let e = append_jsonl_record(&d.path().join("missing.jsonl"), "{}").unwrap_err();
        assert_eq!(e.code, ErrorCode::SessionNotFound);
    }

    #[test]
    fn resume_argv_puts_the_prompt_after_double_dash() {
        let p = ResumeParams {
            session: crate::protocol::SessionRef::Text("x".into()),
            fork: true,
            prompt: Some("-rf everything".into()),
            model: Some("opus".into()),
            permission_mode: Some("plan".into()),
        };
        assert_eq!(
            resume_argv("/bin/claude", "abc", &p).unwrap(),
            [
                "/bin/claude",
                "--resume",
                "abc",
                "--fork-session",
                "--model",
                "opus",
                "--permission-mode",
                "plan",
                "--",
                "-rf everything"
            ]
        );
    }

    // -----------------------------------------------------------------------------------------
    // The fork writes exactly what the full-parse writer (`reference`) wrote.

    /// A survey as comparable data.
    #[allow(clippy::type_complexity)]
    fn survey_data(
        s: &Survey,
    ) -> (
        Vec<(String, Option<String>, bool)>,
        Vec<String>,
        Vec<(Option<String>, Option<String>, usize)>,
    ) {
        (
            s.metas
                .iter()
                .map(|m| (m.uuid.clone(), m.parent.clone(), m.progress))
                .collect(),
            s.content_replacements
                .iter()
                .map(|r| r.get().to_string())
                .collect(),
            s.last_prompts.clone(),
        )
    }

    /// Forks `path` with both writers (same plan, fixed ids and time); returns the new
    /// writer's output after asserting the reference wrote the same bytes (or failed the same).
    fn fork_both_ways(path: &Path, up_to: Option<&str>, branch: Option<&str>) -> Option<String> {
        let id = path.file_stem().unwrap().to_str().unwrap();
        let mut f = File::open(path).unwrap();
        let end = f.metadata().unwrap().len();
        let s = survey(&mut f, end, id).unwrap();
        let old_s = reference::survey(&mut f, end, id).unwrap();
        assert_eq!(survey_data(&s), survey_data(&old_s), "survey of {path:?}");
        let p = match plan(&s, id, up_to) {
            Ok(p) => p,
            Err(e) => {
                assert!(s.metas.is_empty() || up_to.is_some(), "{path:?}: {e:?}");
                return None;
            }
        };
        let write = |reference: bool| {
            let n = Cell::new(0u32);
            let fresh = || {
                n.set(n.get() + 1);
                format!("00000000-0000-4000-8000-{:012}", n.get())
            };
            let ids = ForkIds {
                source_id: id,
                new_id: "11111111-2222-4333-8444-555555555555",
                title: "a title (fork)",
                branch,
                now: "2026-11-21T10:00:00.123456Z",
                fresh_id: &fresh,
            };
            let mut out = Vec::new();
            let mut f = File::open(path).unwrap();
            let r = if reference {
                reference::write_fork(&mut f, end, &p, &s, &ids, &mut out)
            } else {
                write_fork(&mut f, end, &p, &s, &ids, &mut out)
            };
            r.map(|_| String::from_utf8(out).unwrap())
                .map_err(|e| format!("{e:?}"))
        };
        let (new, old) = (write(false), write(true));
        match (&new, &old) {
            (Ok(n), Ok(o)) => {
                for (i, (a, b)) in n.lines().zip(o.lines()).enumerate() {
                    assert_eq!(a, b, "{path:?} line {i} (up to {up_to:?})");
                }
                assert_eq!(n.lines().count(), o.lines().count(), "{path:?}");
                assert_eq!(n, o, "{path:?}");
            }
            _ => assert_eq!(new, old, "{path:?}"),
        }
        new.ok()
    }

    fn session_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                session_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                out.push(p);
            }
        }
    }

    #[test]
    fn forks_of_the_fixture_sessions_match_the_full_parse_writer() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let mut files = Vec::new();
        session_files(&root.join("home/.claude/projects"), &mut files);
        session_files(&root.join("corpus/.claude/projects"), &mut files);
        assert!(files.len() >= 20, "{files:?}");
        let mut forked = 0;
        for path in &files {
            if fork_both_ways(path, None, None).is_some() {
                forked += 1;
            }
            // up to a middle entry, on a branch
            let id = path.file_stem().unwrap().to_str().unwrap();
            let mut f = File::open(path).unwrap();
            let end = f.metadata().unwrap().len();
            let s = survey(&mut f, end, id).unwrap();
            if let Some(m) = s.metas.get(s.metas.len() / 2) {
                fork_both_ways(path, Some(&m.uuid), Some("feature/x"));
            }
        }
        // every main session forks; subagent files (sidechain only) have nothing to fork
        assert!(forked >= 20, "{forked} of {}", files.len());
    }

    const SID: &str = "5e55c0de-0000-4000-8000-000000000000";

    /// Lines the fast path refuses or that are unusual in other ways, among ordinary ones.
    fn hostile_session() -> Vec<u8> {
        let e = |uuid: &str, parent: &str, extra: &str| {
            format!(
                r#"{{"parentUuid":{parent},"isSidechain":false,"type":"user","message":{{"role":"user","content":"hi"}},"uuid":"{uuid}","timestamp":"2026-01-01T00:00:00.000Z","sessionId":"{SID}"{extra}}}"#
            )
        };
        let mut lines: Vec<Vec<u8>> = vec![
            br#"{"type":"custom-title","customTitle":"t","sessionId":"5e55c0de-0000-4000-8000-000000000000"}"#.to_vec(),
            e("a0000000-0000-4000-8000-000000000001", "null", "").into_bytes(),
            // whitespace between tokens, an escaped key, a quote in a key
            br#"{ "type" : "assistant", "u\u0075id":"a0000000-0000-4000-8000-000000000002", "parentUuid":"a0000000-0000-4000-8000-000000000001", "sessionId":"x", "a\"b":1, "message":{"content":[{"type":"text","text":"ok"}]} }"#.to_vec(),
            // keys and fake members inside nested values and strings
            e("a0000000-0000-4000-8000-000000000003", r#""a0000000-0000-4000-8000-000000000002""#, r#","toolUseResult":{"uuid":"zzz","parentUuid":"yyy","sessionId":"q"},"note":"\"uuid\":\"evil\",\"sessionId\":\"x\"}""#).into_bytes(),
            // a duplicated unknown key (serde keeps the first position, the last value)
            e("a0000000-0000-4000-8000-000000000004", r#""a0000000-0000-4000-8000-000000000003""#, r#","cwd":"/a","cwd":"/b""#).into_bytes(),
            // a duplicated known key: not a Head, skipped
            e("a0000000-0000-4000-8000-000000000005", r#""a0000000-0000-4000-8000-000000000004""#, r#","uuid":"a0000000-0000-4000-8000-000000000099""#).into_bytes(),
            // invalid JSON: skipped
            br#"{"type":"user","uuid":"a0000000-0000-4000-8000-000000000006","message":{"content":"x\q"}}"#.to_vec(),
            br#"{"type":"user","uuid":"a0000000-0000-4000-8000-000000000007","n":01}"#.to_vec(),
            br#"{"type":"user","uuid":"a0000000-0000-4000-8000-000000000008""#.to_vec(),
            b"".to_vec(),
            b"   ".to_vec(),
            // unicode escapes, raw non-ASCII, surrogates, numbers
            e("a0000000-0000-4000-8000-000000000009", r#""a0000000-0000-4000-8000-000000000004""#, r#","text":"\u00e9\ud83d\ude00 é 😀 \udc00","clé":-0.5e+10,"arr":[ 1 , {"k" : null} ]"#).into_bytes(),
            // type and uuid spelled with escapes in their values
            br#"{"type":"\u0075ser","uuid":"a0000000-0000-4000-8000-00000000000\u0061","parentUuid":"a0000000-0000-4000-8000-000000000009","sessionId":"5e55c0de-0000-4000-8000-000000000000"}"#.to_vec(),
            // progress entries in the chain, re-parented past
            br#"{"type":"progress","uuid":"b0000000-0000-4000-8000-000000000001","parentUuid":"a0000000-0000-4000-8000-00000000000a","data":{}}"#.to_vec(),
            e("a0000000-0000-4000-8000-00000000000b", r#""b0000000-0000-4000-8000-000000000001""#, r#","teamName":"t","agentName":"n","slug":"s","sourceToolAssistantUUID":"a0000000-0000-4000-8000-000000000001""#).into_bytes(),
            // sidechain spellings
            e("a0000000-0000-4000-8000-00000000000c", r#""a0000000-0000-4000-8000-00000000000b""#, r#","isSidechain":true"#).into_bytes(),
            e("a0000000-0000-4000-8000-00000000000d", r#""a0000000-0000-4000-8000-00000000000b""#, r#","isSidechain":"yes""#).into_bytes(),
            e("a0000000-0000-4000-8000-00000000000e", r#""a0000000-0000-4000-8000-00000000000b""#, r#","isSidechain":0"#).into_bytes(),
            // odd types in known fields
            br#"{"type":7,"uuid":"a0000000-0000-4000-8000-00000000000f"}"#.to_vec(),
            br#"{"type":"user","uuid":12,"parentUuid":null}"#.to_vec(),
            br#"{"type":"user","uuid":"a0000000-0000-4000-8000-000000000010","parentUuid":"","sessionId":null,"timestamp":null}"#.to_vec(),
            // no timestamp; logicalParentUuid truthy, empty and null; compactMetadata
            br#"{"type":"system","subtype":"compact_boundary","uuid":"a0000000-0000-4000-8000-000000000011","parentUuid":null,"logicalParentUuid":"a0000000-0000-4000-8000-00000000000e","compactMetadata":{"trigger":"manual","preservedSegment":{"headUuid":"a0000000-0000-4000-8000-000000000009","anchorUuid":"a0000000-0000-4000-8000-000000000011","tailUuid":"a0000000-0000-4000-8000-00000000000e"}}}"#.to_vec(),
            e("a0000000-0000-4000-8000-000000000012", r#""a0000000-0000-4000-8000-000000000011""#, r#","logicalParentUuid":"""#).into_bytes(),
            e("a0000000-0000-4000-8000-000000000013", r#""a0000000-0000-4000-8000-000000000012""#, r#","logicalParentUuid":null,"gitBranch":"main""#).into_bytes(),
            // metadata rows the survey reads
            br#"{"type":"content-replacement","sessionId":"5e55c0de-0000-4000-8000-000000000000","replacements":[{"kind":"tool-result","toolUseId":"t1","replacement":"r"}]}"#.to_vec(),
            br#"{"type":"content-replacement","sessionId":"other","replacements":[{"x":1}]}"#.to_vec(),
            br#"{"type":"last-prompt","lastPrompt":"go \"on\"","leafUuid":"a0000000-0000-4000-8000-000000000012","sessionId":"5e55c0de-0000-4000-8000-000000000000"}"#.to_vec(),
            // CRLF ending; invalid UTF-8 inside a string (replaced, as the SDK does)
            [e("a0000000-0000-4000-8000-000000000014", r#""a0000000-0000-4000-8000-000000000013""#, "").as_bytes(), b"\r"].concat(),
            [
                &br#"{"type":"user","uuid":"a0000000-0000-4000-8000-000000000015","parentUuid":"a0000000-0000-4000-8000-000000000014","message":{"content":"bad "#[..],
                b"\xff\xfe",
                br#" bytes"}}"#,
            ]
            .concat(),
            // trailing whitespace
            [e("a0000000-0000-4000-8000-000000000016", r#""a0000000-0000-4000-8000-000000000015""#, "").as_bytes(), b" \t"].concat(),
            br#"{"type":"last-prompt","lastPrompt":"x","leafUuid":"a0000000-0000-4000-8000-000000000014","sessionId":"5e55c0de-0000-4000-8000-000000000000"}"#.to_vec(),
            // a torn last line (no newline): not part of the fork
            br#"{"type":"user","uuid":"a0000000-0000-4000-8000-000000000017"#.to_vec(),
        ];
        let last = lines.pop().unwrap();
        let mut out = lines.join(&b"\n"[..]);
        out.push(b'\n');
        out.extend_from_slice(&last);
        out
    }

    #[test]
    fn forks_of_hostile_lines_match_the_full_parse_writer() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(format!("{SID}.jsonl"));
        std::fs::write(&p, hostile_session()).unwrap();
        let out = fork_both_ways(&p, None, None).unwrap();
        // the fast path did its part: ordinary entries keep their bytes around the rewrites
        assert!(out.contains(r#""message":{"role":"user","content":"hi"},"uuid":"#));
        assert!(out.contains(r#""cwd":"/b""#) && !out.contains(r#""cwd":"/a""#));
        assert!(!out.contains("a0000000-0000-4000-8000-000000000099"));
        assert!(out.contains(r#""\"uuid\":\"evil\",\"sessionId\":\"x\"}""#));
        assert!(out.contains(r#"{"type":"assistant","uuid":"#), "{out}");
        assert!(out.contains(r#""a\"b":1"#));
        for up_to in [
            "a0000000-0000-4000-8000-000000000001",
            "a0000000-0000-4000-8000-000000000002",
            "a0000000-0000-4000-8000-00000000000a",
            "b0000000-0000-4000-8000-000000000001",
            "a0000000-0000-4000-8000-000000000011",
            "a0000000-0000-4000-8000-000000000015",
        ] {
            fork_both_ways(&p, Some(up_to), Some("br")).unwrap();
        }
        // a line serde reads as a Head from an array, but not as an object: both fail alike
        let mut bad = hostile_session();
        bad.splice(
            0..0,
            br#"["user","c0000000-0000-4000-8000-000000000001"]"#
                .iter()
                .copied()
                .chain([b'\n']),
        );
        std::fs::write(&p, bad).unwrap();
        assert_eq!(fork_both_ways(&p, None, None), None);
    }
}
