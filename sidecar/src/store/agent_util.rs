//! Shared pieces of the Qwen, Codex and Gemini stores: paging a fully built conversation view
//! with cursors, truncation, order-preserving JSON edits for forks, appends that refuse torn
//! files, new files written temp + fsync + no-clobber, and time/title helpers.
//!
//! These three stores build the whole conversation view of a file (their files are linear or
//! folded event logs, far smaller than long Claude transcripts) and page it in memory: a page,
//! a message lookup or a live append costs one read of the file.

use super::{Appended, HistoryRequest, SessionFile};
use crate::cursor::Cursor;
use crate::error::{Result, SidecarError};
use crate::protocol::{ContentBlock, ErrorCode, HistoryItem, HistoryPage};
use serde::de::{MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// One item of a conversation view and the offset of the line that last defined it.
#[derive(Debug, Clone)]
pub struct Located {
    pub off: u64,
    pub item: HistoryItem,
}

pub fn cursor_for(meta: &std::fs::Metadata, l: &Located) -> String {
    Cursor {
        v: 1,
        dev: meta.dev(),
        ino: meta.ino(),
        off: l.off,
        id: crate::cursor::cursor_id(&l.item.id).into_owned(),
        sub: None,
    }
    .encode()
}

fn position(items: &[Located], c: &Cursor, meta: &std::fs::Metadata) -> Result<usize> {
    c.check_file(meta)?;
    items
        .iter()
        .position(|l| crate::cursor::cursor_id(&l.item.id) == c.id)
        .ok_or_else(|| {
        SidecarError::new(
            ErrorCode::StaleCursor,
            "history cursor is stale: its message is no longer in the session's history (rewound or rewritten); fetch the latest page again",
        )
    })
}

/// One page of `items` (the whole view, chronological) as `req` asks.
pub fn page(
    path: &Path,
    items: Vec<Located>,
    req: &HistoryRequest,
    agent: &str,
) -> Result<HistoryPage> {
    if req.subagent.is_some() {
        return Err(SidecarError::new(
            ErrorCode::NotSupported,
            format!("{agent} sessions have no subagent transcripts the sidecar can read"),
        ));
    }
    if req.before.is_some() && req.after.is_some() {
        return Err(SidecarError::invalid_params(
            "give either before or after, not both",
        ));
    }
    let meta = std::fs::metadata(path).map_err(|e| SidecarError::unreadable(path, &e))?;
    let limit = req.limit.max(1);
    let (start, end) = if let Some(c) = &req.before {
        let i = position(&items, c, &meta)?;
        (i.saturating_sub(limit), i)
    } else if let Some(c) = &req.after {
        let i = position(&items, c, &meta)?;
        (i + 1, (i + 1 + limit).min(items.len()))
    } else {
        (items.len().saturating_sub(limit), items.len())
    };
    let window = &items[start..end];
    let echo = req
        .before
        .as_ref()
        .or(req.after.as_ref())
        .map(|c| c.encode());
    let older_cursor = window
        .first()
        .map(|l| cursor_for(&meta, l))
        .or_else(|| echo.clone());
    let newer_cursor = window.last().map(|l| cursor_for(&meta, l)).or(echo);
    Ok(HistoryPage {
        items: window
            .iter()
            .map(|l| truncate_item(l.item.clone(), req.truncate_bytes))
            .collect(),
        older_cursor,
        newer_cursor,
        has_older: start > 0,
        has_newer: end < items.len(),
    })
}

/// The item with `id`, whole.
pub fn find_message(items: Vec<Located>, id: &str) -> Result<HistoryItem> {
    items
        .into_iter()
        .find(|l| l.item.id == id)
        .map(|l| l.item)
        .ok_or_else(|| {
            SidecarError::new(
                ErrorCode::MessageNotFound,
                format!("no message {id:?} in that session"),
            )
        })
}

/// Items defined by lines at or after `offset`, for a live subscription; `end` is the offset
/// just past the last complete line the view was built from.
pub fn appended_since(
    path: &Path,
    items: Vec<Located>,
    offset: u64,
    end: u64,
    truncate_bytes: usize,
) -> Result<Appended> {
    let meta = std::fs::metadata(path).map_err(|e| SidecarError::unreadable(path, &e))?;
    let new: Vec<Located> = items.into_iter().filter(|l| l.off >= offset).collect();
    Ok(Appended {
        newer_cursor: new.last().map(|l| cursor_for(&meta, l)),
        items: new
            .into_iter()
            .map(|l| truncate_item(l.item, truncate_bytes))
            .collect(),
        offset: end.max(offset),
    })
}

/// Where a subscription starts: just past the line of the cursor's message, or the end of the
/// last complete line now.
pub fn subscription_start(file: &SessionFile, after: Option<&Cursor>) -> Result<u64> {
    let path = &file.path;
    let mut f = File::open(path).map_err(|e| SidecarError::unreadable(path, &e))?;
    let meta = f
        .metadata()
        .map_err(|e| SidecarError::unreadable(path, &e))?;
    match after {
        Some(c) => {
            c.check_file(&meta)?;
            let mut end = c.off;
            crate::transcript::for_each_line(&mut f, c.off, |off, line| {
                end = off + line.len() as u64 + 1;
                false
            })
            .map_err(|e| SidecarError::unreadable(path, &e))?;
            Ok(end)
        }
        None => end_of_complete_lines(&mut f, meta.len())
            .map_err(|e| SidecarError::unreadable(path, &e)),
    }
}

/// Offset just past the last `\n` at or before `len` (0 when there is none).
pub fn end_of_complete_lines(f: &mut File, len: u64) -> std::io::Result<u64> {
    let mut pos = len;
    let mut buf = vec![0u8; 64 * 1024];
    while pos > 0 {
        let start = pos.saturating_sub(buf.len() as u64);
        let n = (pos - start) as usize;
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut buf[..n])?;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            return Ok(start + i as u64 + 1);
        }
        pos = start;
    }
    Ok(0)
}

/// Cut text bodies to `max` bytes (on a char boundary); marks the item truncated.
pub fn truncate_item(mut item: HistoryItem, max: usize) -> HistoryItem {
    if max == 0 {
        return item;
    }
    let mut cut = false;
    for b in &mut item.content {
        let s = match b {
            ContentBlock::Text { text } | ContentBlock::Thinking { text } => text,
            ContentBlock::ToolResult { content, .. } => content,
            _ => continue,
        };
        if s.len() > max {
            let mut i = max;
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            s.truncate(i);
            s.push('…');
            cut = true;
        }
    }
    item.truncated |= cut;
    item
}

/// A title for a list: newlines folded to spaces, trimmed, cut to 200 characters + `…`.
pub fn prompt_title(s: &str) -> Option<String> {
    let t = s.replace(['\n', '\r'], " ");
    let t = t.trim();
    if t.is_empty() {
        None
    } else {
        Some(crate::summary::cut_title(t, 200))
    }
}

/// A user-supplied title: control characters stripped, trimmed, not empty, at most 1000 chars.
pub fn clean_title(title: &str) -> Result<String> {
    let t: String = title.chars().filter(|c| !c.is_control()).collect();
    let t = t.trim().to_string();
    if t.is_empty() {
        return Err(SidecarError::invalid_params("the title must not be empty"));
    }
    if t.chars().count() > 1000 {
        return Err(SidecarError::invalid_params(
            "the title is too long (at most 1000 characters)",
        ));
    }
    Ok(t)
}

/// Refuse to append to a file whose last line is torn (an agent mid-write): the agent would
/// not repair it and our line would be glued onto it.
pub fn check_appendable(path: &Path) -> Result<()> {
    match crate::transcript::ends_with_newline(path) {
        Ok(true) => Ok(()),
        Ok(false) => Err(SidecarError::new(
            ErrorCode::TornLastLine,
            format!(
                "{} ends in an unterminated line (the agent may be writing it); try again in a moment",
                path.display()
            ),
        )),
        Err(e) => Err(SidecarError::unreadable(path, &e)),
    }
}

/// The last line of `path` that is a JSON record `wanted` accepts, read backwards (no
/// whole-file pass): what a record appended after it must follow.
pub fn last_record(
    path: &Path,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> Result<Option<serde_json::Value>> {
    let mut f = std::fs::File::open(path).map_err(|e| SidecarError::unreadable(path, &e))?;
    let len = f
        .metadata()
        .map_err(|e| SidecarError::unreadable(path, &e))?
        .len();
    let mut last = None;
    crate::transcript::for_each_line_rev(&mut f, len, |_, line| {
        match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(v) if wanted(&v) => {
                last = Some(v);
                false
            }
            _ => true,
        }
    })
    .map_err(|e| SidecarError::unreadable(path, &e))?;
    Ok(last)
}

/// Append one line (one write(2)) after checking the file ends with a newline.
pub fn append_record(path: &Path, line: &[u8]) -> Result<()> {
    check_appendable(path)?;
    crate::fsutil::append_line(path, line).map_err(|e| SidecarError::write_failed(path, &e))
}

/// Write a new file: temp file in the same directory (0600), fsync, link without replacing.
pub fn write_new_file(target: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = target.parent() {
        crate::fsutil::create_dir_private(dir).map_err(|e| SidecarError::write_failed(dir, &e))?;
    }
    let (tmp, mut f) =
        crate::fsutil::temp_beside(target).map_err(|e| SidecarError::write_failed(target, &e))?;
    if let Err(e) = f.write_all(bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(SidecarError::write_failed(target, &e));
    }
    crate::fsutil::commit_temp(&tmp, f, target, true)
        .map_err(|e| SidecarError::write_failed(target, &e))
}

/// An approval/permission mode for agents with `--approval-mode` (Qwen, Gemini): Claude's
/// names are mapped, the agent's own names pass through.
pub fn approval_mode(
    agent: &str,
    mode: &str,
    native: &[&str],
    accept_edits: &str,
) -> Result<String> {
    let m = match mode {
        "default" => "default",
        "acceptEdits" => accept_edits,
        "plan" => "plan",
        "bypassPermissions" => "yolo",
        other if native.contains(&other) => other,
        other => {
            return Err(SidecarError::invalid_params(format!(
                "permission mode {other:?} has no {agent} equivalent (use default, acceptEdits, plan, bypassPermissions or one of {})",
                native.join(", ")
            )))
        }
    };
    Ok(m.to_string())
}

// ---------------------------------------------------------------------------------------------
// Order-preserving JSON objects: forks copy records byte-for-byte except the fields they change.

/// A JSON object as an ordered list of (key, raw value).
#[derive(Debug, Clone, Default)]
pub struct RawObject(pub Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<RawObject, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = m.next_entry::<String, Box<RawValue>>()? {
                    v.push((k, val));
                }
                Ok(RawObject(v))
            }
        }
        d.deserialize_map(V)
    }
}

impl RawObject {
    pub fn parse(s: &str) -> Option<RawObject> {
        serde_json::from_str(s).ok()
    }
    pub fn get(&self, k: &str) -> Option<&RawValue> {
        self.0.iter().find(|(key, _)| key == k).map(|(_, v)| &**v)
    }
    pub fn get_str(&self, k: &str) -> Option<String> {
        self.get(k)
            .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    }
    /// Replace the value of `k` in place, or append it.
    pub fn set<T: serde::Serialize + ?Sized>(&mut self, k: &str, v: &T) {
        let raw = RawValue::from_string(serde_json::to_string(v).expect("serializable"))
            .expect("valid JSON");
        self.set_raw(k, raw);
    }
    pub fn set_raw(&mut self, k: &str, raw: Box<RawValue>) {
        match self.0.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = raw,
            None => self.0.push((k.to_string(), raw)),
        }
    }
    pub fn remove(&mut self, k: &str) {
        self.0.retain(|(key, _)| key != k);
    }
    pub fn to_json(&self) -> String {
        let mut s = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&serde_json::to_string(k).expect("string"));
            s.push(':');
            s.push_str(v.get());
        }
        s.push('}');
        s
    }
    pub fn into_raw(self) -> Box<RawValue> {
        RawValue::from_string(self.to_json()).expect("valid JSON")
    }
}

// ---------------------------------------------------------------------------------------------
// Time

extern "C" {
    /// POSIX `tzset` (not exported by the `libc` crate).
    fn tzset();
}

/// Local time parts (year, month, day, hour, minute, second) of a Unix time, via localtime_r
/// (the `time` crate refuses local offsets in multi-threaded programs).
pub fn local_parts(unix_secs: i64) -> (i32, u32, u32, u32, u32, u32) {
    let t: libc::time_t = unix_secs as libc::time_t;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: tzset reads TZ (localtime_r need not); both pointers are valid for the call and
    // localtime_r is re-entrant.
    let ok = unsafe {
        tzset();
        !libc::localtime_r(&t, &mut tm).is_null()
    };
    if !ok {
        let dt = time::OffsetDateTime::from_unix_timestamp(unix_secs)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        return (
            dt.year(),
            dt.month() as u32,
            dt.day() as u32,
            dt.hour() as u32,
            dt.minute() as u32,
            dt.second() as u32,
        );
    }
    (
        tm.tm_year + 1900,
        (tm.tm_mon + 1) as u32,
        tm.tm_mday as u32,
        tm.tm_hour as u32,
        tm.tm_min as u32,
        tm.tm_sec as u32,
    )
}

pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads every complete line of a file with its offset; returns the end of the last one.
/// Complete lines with their offsets.
pub type Lines = Vec<(u64, Vec<u8>)>;

pub fn read_lines(path: &Path) -> Result<(Lines, u64)> {
    let mut f = File::open(path).map_err(|e| SidecarError::unreadable(path, &e))?;
    let mut out = Vec::new();
    let end = crate::transcript::for_each_line(&mut f, 0, |off, line| {
        out.push((off, line.to_vec()));
        true
    })
    .map_err(|e| SidecarError::unreadable(path, &e))?;
    Ok((out, end))
}

// ---------------------------------------------------------------------------------------------
// Gemini-style `parts` (Qwen records and Gemini messages share them)

/// The text of a tool response: a string `output`, else the `error`, else the JSON.
pub fn function_response_text(resp: &serde_json::Value) -> (String, bool) {
    let r = &resp["response"];
    if let Some(s) = r.get("output").and_then(|v| v.as_str()) {
        return (s.to_string(), false);
    }
    if let Some(e) = r.get("error") {
        return (
            e.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string()),
            true,
        );
    }
    if let Some(o) = r.get("output") {
        return (o.to_string(), false);
    }
    (r.to_string(), false)
}

/// Content blocks of a list of parts (`text`, `thought`, `functionCall`, `functionResponse`,
/// `inlineData`/`fileData`); other parts are left out.
pub fn parts_to_blocks(parts: &serde_json::Value) -> Vec<ContentBlock> {
    let mut out = Vec::new();
    let Some(list) = parts.as_array() else {
        if let Some(s) = parts.as_str() {
            if !s.is_empty() {
                out.push(ContentBlock::Text {
                    text: s.to_string(),
                });
            }
        }
        return out;
    };
    for p in list {
        if let Some(t) = p.get("text").and_then(|t| t.as_str()) {
            if p.get("thought").and_then(|b| b.as_bool()) == Some(true) {
                out.push(ContentBlock::Thinking {
                    text: t.to_string(),
                });
            } else if !t.is_empty() {
                out.push(ContentBlock::Text {
                    text: t.to_string(),
                });
            }
        } else if let Some(fc) = p.get("functionCall") {
            out.push(ContentBlock::ToolUse {
                id: fc["id"].as_str().unwrap_or_default().to_string(),
                name: fc["name"].as_str().unwrap_or_default().to_string(),
                input: fc.get("args").cloned().unwrap_or(serde_json::Value::Null),
            });
        } else if let Some(fr) = p.get("functionResponse") {
            let (content, is_error) = function_response_text(fr);
            out.push(ContentBlock::ToolResult {
                tool_use_id: fr["id"].as_str().unwrap_or_default().to_string(),
                content,
                is_error,
            });
        } else if let Some(d) = p.get("inlineData").or_else(|| p.get("fileData")) {
            out.push(ContentBlock::Image {
                media_type: d["mimeType"].as_str().map(str::to_string),
            });
        }
    }
    out
}

/// Whether every block is a tool result (such a "user" message is a tool message).
pub fn all_tool_results(blocks: &[ContentBlock]) -> bool {
    !blocks.is_empty()
        && blocks
            .iter()
            .all(|b| matches!(b, ContentBlock::ToolResult { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_object_keeps_order_and_bytes() {
        let s = r#"{"b":1,"a":{"x": [1, 2]},"c":"é"}"#;
        let mut o = RawObject::parse(s).unwrap();
        o.set("a", "new");
        o.set("d", &serde_json::json!({"k": null}));
        assert_eq!(o.to_json(), r#"{"b":1,"a":"new","c":"é","d":{"k":null}}"#);
        o.remove("b");
        assert_eq!(o.get_str("c").as_deref(), Some("é"));
        assert!(o.to_json().starts_with(r#"{"a""#));
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let item = HistoryItem {
            id: "x".into(),
            parent_id: None,
            role: crate::protocol::Role::User,
            timestamp: None,
            model: None,
            usage: None,
            content: vec![ContentBlock::Text {
                text: "ééééé".into(),
            }],
            truncated: false,
        };
        let t = truncate_item(item, 3);
        assert!(t.truncated);
        assert_eq!(
            t.content[0],
            ContentBlock::Text {
                text: "é…".into()
            }
        );
    }

    #[test]
    fn local_time_parts() {
        // 2026-11-21T06:26:22Z; the offset depends on TZ, the date parts must be consistent
        let (y, mo, d, h, mi, _) = local_parts(1_795_242_382);
        assert!(y == 2026 && mo == 11 && (20..=22).contains(&d) && h < 24 && mi < 60);
    }

    #[test]
    fn titles_are_cleaned() {
        assert_eq!(clean_title(" a\u{7}b ").unwrap(), "ab");
        assert!(clean_title("\n").is_err());
        assert_eq!(prompt_title("a\nb").as_deref(), Some("a b"));
        assert_eq!(prompt_title("  "), None);
    }
}
