//! Folding a Gemini CLI session file the way the CLI's `loadConversationRecord` does
//! (formats/gemini-cli.md §2, §4): blank and unparsable lines are skipped; then, in this order
//! of checks, `{"$rewindTo": id}` drops that message and everything after it (all messages when
//! the id is unknown), a record with a string `id` is upserted by id (a replaced message keeps
//! its place), `{"$set": {…}}` merges into the metadata (`messages` replaces the whole list),
//! and a header (string `sessionId` + `projectHash`) merges into the metadata.

use super::agent_util::read_lines;
use crate::error::Result;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// One message of the folded list.
#[derive(Debug, Clone)]
pub struct Msg {
    pub id: String,
    /// Offset of the line that last wrote it (a record, or a `$set.messages` snapshot).
    pub off: u64,
    pub v: Value,
    /// The message's JSON exactly as written.
    pub raw: String,
}

#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub session_id: Option<String>,
    pub project_hash: Option<String>,
    /// `startTime` of the first header (the session's creation).
    pub first_start: Option<String>,
    /// The merged `startTime` (a same-minute resume writes a new header: the CLI's "latest").
    pub start_time: Option<String>,
    pub last_updated: Option<String>,
    pub kind: Option<String>,
    pub summary: Option<String>,
    pub directories: Option<Value>,
    /// The sidecar's rename marker (`customTitle` next to a `$set.summary`).
    pub custom_title: Option<String>,
    pub forked_from: Option<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct Folded {
    pub meta: Meta,
    pub messages: Vec<Msg>,
    index: HashMap<String, usize>,
    /// The last version of each message written as a record of its own: a resume snapshot
    /// rewrites messages in the API's shape (no `model`, `tokens`, `toolCalls`), which the
    /// view falls back to for those fields.
    pub recorded: HashMap<String, Value>,
    /// Offset just past the last complete line.
    pub end: u64,
}

#[derive(Deserialize)]
struct SetMessages {
    #[serde(rename = "$set")]
    set: SetInner,
}
#[derive(Deserialize)]
struct SetInner {
    #[serde(default)]
    messages: Option<Vec<Box<RawValue>>>,
}

/// The four kinds of line of a Gemini session log (formats/gemini-cli.md §2), tested in this
/// order; anything else is ignored.
pub enum LineKind<'a> {
    /// `{"$rewindTo": id}`: drop that message and everything after it.
    Rewind(&'a str),
    /// A message record (has a string `id`): upserted by id.
    Message,
    /// `{"$set": {...}}`: merged metadata, `messages` = a full snapshot.
    Set(&'a serde_json::Map<String, Value>),
    /// A header (string `sessionId` and `projectHash`).
    Header,
    Other,
}

pub fn line_kind(obj: &serde_json::Map<String, Value>) -> LineKind<'_> {
    if let Some(target) = obj.get("$rewindTo").and_then(|t| t.as_str()) {
        LineKind::Rewind(target)
    } else if obj.get("id").is_some_and(|i| i.is_string()) {
        LineKind::Message
    } else if let Some(set) = obj.get("$set").and_then(|s| s.as_object()) {
        LineKind::Set(set)
    } else if obj.get("sessionId").is_some_and(|s| s.is_string())
        && obj.get("projectHash").is_some_and(|s| s.is_string())
    {
        LineKind::Header
    } else {
        LineKind::Other
    }
}

/// For a `$set` line that sets a `summary`: the custom title written beside it (None when there
/// is none, which clears an earlier one). `None` overall when the set has no summary.
pub fn title_beside_summary(
    obj: &serde_json::Map<String, Value>,
    set: &serde_json::Map<String, Value>,
) -> Option<Option<String>> {
    set.contains_key("summary").then(|| {
        obj.get("customTitle")
            .and_then(|t| t.as_str())
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string)
    })
}

impl Folded {
    fn reindex(&mut self) {
        self.index = self
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
    }

    fn upsert(&mut self, off: u64, v: Value, raw: String) {
        let Some(id) = v["id"].as_str().map(str::to_string) else {
            return;
        };
        match self.index.get(&id) {
            Some(&i) => self.messages[i] = Msg { id, off, v, raw },
            None => {
                self.index.insert(id.clone(), self.messages.len());
                self.messages.push(Msg { id, off, v, raw });
            }
        }
    }

    fn merge_meta(&mut self, m: &serde_json::Map<String, Value>, header: bool) {
        let s = |k: &str| m.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if let Some(v) = s("sessionId") {
            self.meta.session_id = Some(v);
        }
        if let Some(v) = s("projectHash") {
            self.meta.project_hash = Some(v);
        }
        if let Some(v) = s("startTime") {
            if header && self.meta.first_start.is_none() {
                self.meta.first_start = Some(v.clone());
            }
            self.meta.start_time = Some(v);
        }
        if let Some(v) = s("lastUpdated") {
            self.meta.last_updated = Some(v);
        }
        if let Some(v) = s("kind") {
            self.meta.kind = Some(v);
        }
        if let Some(v) = m.get("summary") {
            self.meta.summary = v.as_str().map(str::to_string);
        }
        if let Some(v) = m.get("directories") {
            self.meta.directories = Some(v.clone());
        }
        if header {
            if let Some(v) = m.get("forkedFrom").filter(|v| v.is_object()) {
                self.meta.forked_from = Some(v.clone());
            }
        }
    }

    /// Apply one line.
    pub fn apply(&mut self, off: u64, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let Some(obj) = v.as_object() else {
            return;
        };
        match line_kind(obj) {
            LineKind::Rewind(target) => {
                match self.index.get(target) {
                    Some(&i) => self.messages.truncate(i),
                    None => self.messages.clear(),
                }
                self.reindex();
            }
            LineKind::Message => {
                if let Some(id) = obj.get("id").and_then(|i| i.as_str()) {
                    self.recorded.insert(id.to_string(), v.clone());
                }
                self.upsert(off, v, line.to_string());
            }
            LineKind::Set(set) => {
                if set.get("messages").is_some_and(|m| m.is_array()) {
                    let raws = serde_json::from_str::<SetMessages>(line)
                        .ok()
                        .and_then(|s| s.set.messages)
                        .unwrap_or_default();
                    self.messages.clear();
                    self.index.clear();
                    for (i, m) in set["messages"].as_array().into_iter().flatten().enumerate() {
                        let raw = raws
                            .get(i)
                            .map(|r| r.get().to_string())
                            .unwrap_or_else(|| m.to_string());
                        self.upsert(off, m.clone(), raw);
                    }
                }
                self.merge_meta(set, false);
                if let Some(title) = title_beside_summary(obj, set) {
                    self.meta.custom_title = title;
                }
            }
            LineKind::Header => {
                self.merge_meta(obj, true);
                if let Some(msgs) = obj.get("messages").and_then(|m| m.as_array()) {
                    for m in msgs {
                        self.upsert(off, m.clone(), m.to_string());
                    }
                }
            }
            LineKind::Other => {}
        }
    }

    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }
}

pub fn fold_file(path: &Path) -> Result<Folded> {
    let (lines, end) = read_lines(path)?;
    let mut f = Folded::default();
    for (off, bytes) in lines {
        if let Ok(s) = std::str::from_utf8(&bytes) {
            f.apply(off, s);
        }
    }
    f.end = end;
    Ok(f)
}

/// The text of a message's content (a string, or the `text` of its parts joined).
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// The CLI's `isIgnoredUserContent` (trimmed text).
pub fn is_ignored_user_text(t: &str) -> bool {
    t.is_empty()
        || t.starts_with('/')
        || t.starts_with('?')
        || t.starts_with("<session_context>")
        || t.starts_with("<hook_context>")
}

/// Context the CLI itself injected as a user message (never shown, never counted).
pub fn is_injected_context(t: &str) -> bool {
    t.starts_with("<session_context>") || t.starts_with("<hook_context>")
}

/// The CLI's `isResumableMessageRecord`.
pub fn is_resumable(m: &Value) -> bool {
    let text = content_text(&m["content"]);
    match m["type"].as_str() {
        Some("user") => !is_ignored_user_text(text.trim()),
        Some("gemini") => {
            !text.trim().is_empty()
                || m["toolCalls"].as_array().is_some_and(|a| !a.is_empty())
                || m["thoughts"].as_array().is_some_and(|a| !a.is_empty())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(lines: &[&str]) -> Folded {
        let mut f = Folded::default();
        for (i, l) in lines.iter().enumerate() {
            f.apply(i as u64 * 100, l);
        }
        f
    }

    #[test]
    fn upsert_keeps_position_and_snapshots_replace() {
        let f = fold(&[
            r#"{"sessionId":"s","projectHash":"h","startTime":"t1","kind":"main"}"#,
            r#"{"id":"a","type":"user","content":[{"text":"hi"}]}"#,
            r#"{"id":"b","type":"gemini","content":"x"}"#,
            r#"{"id":"a","type":"user","content":[{"text":"hi again"}]}"#,
            "garbage",
            "",
        ]);
        let ids: Vec<&str> = f.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "b"]);
        assert_eq!(content_text(&f.messages[0].v["content"]), "hi again");
        assert_eq!(f.messages[0].off, 300);
        let f = fold(&[
            r#"{"id":"a","type":"user","content":"1"}"#,
            r#"{"$set":{"messages":[{"id":"z","type":"user","content":"s"}],"lastUpdated":"L"}}"#,
            r#"{"id":"c","type":"gemini","content":"2"}"#,
        ]);
        let ids: Vec<&str> = f.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, vec!["z", "c"]);
        assert_eq!(
            f.messages[0].raw,
            r#"{"id":"z","type":"user","content":"s"}"#
        );
        assert_eq!(f.meta.last_updated.as_deref(), Some("L"));
    }

    #[test]
    fn rewind_and_headers() {
        let f = fold(&[
            r#"{"sessionId":"s","projectHash":"h","startTime":"t1"}"#,
            r#"{"id":"a","type":"user","content":"1"}"#,
            r#"{"id":"b","type":"gemini","content":"2"}"#,
            r#"{"id":"c","type":"user","content":"3"}"#,
            r#"{"$rewindTo":"b"}"#,
            r#"{"sessionId":"s","projectHash":"h","startTime":"t2"}"#,
            r#"{"$set":{"summary":"S"},"customTitle":"S"}"#,
        ]);
        assert_eq!(f.messages.len(), 1);
        assert_eq!(f.meta.first_start.as_deref(), Some("t1"));
        assert_eq!(f.meta.start_time.as_deref(), Some("t2"));
        assert_eq!(f.meta.summary.as_deref(), Some("S"));
        assert_eq!(f.meta.custom_title.as_deref(), Some("S"));
        let f = fold(&[
            r#"{"id":"a","type":"user","content":"1"}"#,
            r#"{"$rewindTo":"zz"}"#,
        ]);
        assert!(f.messages.is_empty());
    }
}
