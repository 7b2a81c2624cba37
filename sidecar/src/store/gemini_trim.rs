//! Gemini CLI trim fork (`sessions/compress {strategy:"trim"}`), following the shared rules of
//! `trim_rules.rs`.
//!
//! The source is folded the way the CLI loads it (`gemini_fold.rs`: records upserted by id, a
//! `$set.messages` snapshot replacing the list, `$rewindTo`), so a session the CLI compressed by
//! itself is trimmed from its `<state_snapshot>` on, exactly as the CLI would resume it. The
//! folded, slimmed messages are written as records of a new session by the store's fork
//! machinery (`GeminiStore::write_copy`: fresh id with an unused 8-character prefix, file
//! `session-<UTC minute>-<id8>.jsonl` in the same `chats/` folder, header with the source's
//! `projectHash`, every line ending in `\n`, 0600, temp + fsync + no-clobber rename). A new file
//! holds no snapshot, so no record can end up before one (formats/gemini-cli.md §9.5, §9.6).
//!
//! The history is cut into turns at the user's own prompts: `type:"user"` messages the CLI
//! sends (not `/…`, `?…`, `<session_context>`, `<hook_context>`), that are not tool responses
//! and not the `<state_snapshot>` of an auto-compression. In messages before the kept turns:
//! * a `functionResponse.response` larger than `minBytes` becomes `{"output": placeholder}`
//!   (`{"error": …}` for an error response). The CLI keeps every tool result twice, in the gemini
//!   message's `toolCalls[].result` and in the user message carrying the `functionResponse`
//!   (a resume snapshot: in `<id>_response` and that user message), and sends both: every copy
//!   gets the same placeholder, and all call ids and names stay, so every call keeps its result;
//! * string arguments larger than `minBytes` (`write_file` content, `replace` strings) become
//!   placeholders inside `args`, which stays a JSON object as the API requires;
//! * `resultDisplay` (shown by the CLI, never sent) larger than `minBytes` becomes the
//!   placeholder string (a string is one of the display kinds the CLI renders);
//! * big `inlineData` parts (images) become text placeholders;
//! * `thoughts` (and `thought: true` parts of snapshot-shaped messages) are dropped, never in the
//!   last turn; a gemini message left with nothing is left out (the CLI skips such a message
//!   when it rebuilds the history anyway).
//!
//! Tokens before/after: bytes / 4 of the parts the CLI's `convertSessionToClientHistory` builds
//! from the folded messages (tool results counted twice, as sent).

use super::gemini::GeminiStore;
use super::gemini_fold::{self as gf};
use super::trim_rules::{
    cutoff, describe_result, elide_input_strings, estimate_tokens, placeholder, short_target,
    tool_target,
};
use super::{SessionFile, TrimOptions};
use crate::error::{Result, SidecarError};
use serde_json::{json, Value};
use std::collections::HashMap;

/// What a call was, for placeholders: its name and target.
struct Tool {
    name: String,
    target: Option<String>,
}

fn json_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        other => serde_json::to_string(other).map(|s| s.len()).unwrap_or(0),
    }
}

/// The CLI's `ensurePartArray` as a slice view: the parts of a message's content.
fn parts_of(content: &Value) -> Vec<Value> {
    match content {
        Value::Array(a) => a
            .iter()
            .map(|p| match p {
                Value::String(s) => json!({ "text": s }),
                other => other.clone(),
            })
            .collect(),
        Value::String(s) if !s.is_empty() => vec![json!({ "text": s })],
        Value::Null | Value::String(_) | Value::Bool(false) => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Whether the CLI sends a user message on resume (`isIgnoredUserContent` of the verbose
/// `partListUnionToString`: non-text parts render as `[Function Response: …]` etc.).
fn user_sent(m: &Value) -> bool {
    let parts = parts_of(&m["content"]);
    let special = parts
        .iter()
        .any(|p| p.get("text").is_none() || p.get("thought").is_some());
    special || !gf::is_ignored_user_text(gf::content_text(&m["content"]).trim())
}

fn has_function_response(m: &Value) -> bool {
    parts_of(&m["content"])
        .iter()
        .any(|p| p.get("functionResponse").is_some())
}

/// A prompt of the user's own (where a turn starts).
fn is_prompt(m: &Value) -> bool {
    m["type"] == "user"
        && user_sent(m)
        && !has_function_response(m)
        && !gf::content_text(&m["content"])
            .trim_start()
            .starts_with("<state_snapshot>")
}

/// Bytes of what the CLI's `convertSessionToClientHistory` sends for these messages.
fn visible_bytes(msgs: &[&Value]) -> u64 {
    let mut total = 0usize;
    for m in msgs {
        match m["type"].as_str() {
            Some("user") if user_sent(m) => total += json_len(&parts_of(&m["content"]).into()),
            Some("gemini") => {
                let parts = parts_of(&m["content"]);
                let mut n = json_len(&Value::Array(parts.clone()));
                let mut any = !parts.is_empty();
                let in_content = parts
                    .iter()
                    .any(|p| p.get("functionCall").is_some() || is_thought_part(p));
                let calls = m["toolCalls"].as_array().filter(|a| !a.is_empty());
                if !in_content {
                    for t in m["thoughts"].as_array().into_iter().flatten() {
                        n += json_len(&t["subject"]) + json_len(&t["description"]) + 24;
                        any = true;
                    }
                    for c in calls.into_iter().flatten() {
                        n += json_len(&json!({"functionCall": {
                            "id": c["id"], "name": c["name"], "args": c["args"]}}));
                        any = true;
                    }
                }
                if any {
                    total += n;
                    for c in calls.into_iter().flatten() {
                        if !c["result"].is_null() {
                            total += json_len(&c["result"]);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    total as u64
}

fn is_thought_part(p: &Value) -> bool {
    !matches!(
        p.get("thought"),
        None | Some(Value::Null) | Some(Value::Bool(false))
    )
}

struct Slimmer {
    min: usize,
    tools: HashMap<String, Tool>,
    cwd: Option<String>,
}

impl Slimmer {
    fn result_what(&self, id: &str, name: &str) -> String {
        match self.tools.get(id) {
            Some(t) => describe_result(&t.name, t.target.as_deref(), self.cwd.as_deref()),
            None => describe_result(if name.is_empty() { "tool" } else { name }, None, None),
        }
    }

    /// A `functionResponse` object: its `response` becomes a placeholder when big.
    fn slim_response(&self, fr: &mut Value) -> bool {
        let resp = &fr["response"];
        let size = match resp.as_object() {
            Some(o) if o.len() == 1 && o.values().all(|v| v.is_string()) => {
                o.values().map(json_len).sum()
            }
            _ => json_len(resp),
        };
        if resp.is_null() || size <= self.min {
            return false;
        }
        let id = fr["id"].as_str().unwrap_or_default();
        let name = fr["name"].as_str().unwrap_or_default();
        let ph = placeholder(size, &self.result_what(id, name));
        let key = if resp.get("error").is_some() && resp.get("output").is_none() {
            "error"
        } else {
            "output"
        };
        fr["response"] = json!({ key: ph });
        true
    }

    /// Big string arguments of a call become placeholders (args stay an object).
    fn slim_args(&self, name: &str, args: &mut Value) -> bool {
        let target = short_target(tool_target(args).as_deref(), self.cwd.as_deref());
        match args.as_object_mut() {
            Some(o) => elide_input_strings(name, target.as_deref(), o, self.min),
            None => false,
        }
    }

    /// The parts of a content array or a call's result array.
    fn slim_parts(&self, parts: &mut [Value]) -> bool {
        let mut changed = false;
        for p in parts.iter_mut() {
            if p.get("functionResponse").is_some() {
                changed |= self.slim_response(&mut p["functionResponse"]);
            } else if p.get("functionCall").is_some() {
                let name = p["functionCall"]["name"]
                    .as_str()
                    .unwrap_or("tool")
                    .to_string();
                changed |= self.slim_args(&name, &mut p["functionCall"]["args"]);
            } else if p.get("inlineData").is_some() {
                let size = json_len(&p["inlineData"]["data"]);
                if size > self.min {
                    let mime = p["inlineData"]["mimeType"].as_str().unwrap_or("media");
                    *p = json!({ "text": placeholder(size, &format!("{mime} data")) });
                    changed = true;
                }
            }
        }
        changed
    }

    /// Slims an old message. Returns (changed, keep).
    fn slim(&self, m: &mut Value, drop_thinking: bool) -> (bool, bool) {
        let mut changed = false;
        let gemini = m["type"] == "gemini";
        if let Some(parts) = m["content"].as_array_mut() {
            if drop_thinking && gemini {
                let before = parts.len();
                parts.retain(|p| !is_thought_part(p));
                changed |= parts.len() != before;
            }
        }
        if let Some(parts) = m["content"].as_array_mut() {
            changed |= self.slim_parts(parts);
        }
        if !gemini {
            return (changed, true);
        }
        if drop_thinking && m["thoughts"].as_array().is_some_and(|t| !t.is_empty()) {
            m["thoughts"] = json!([]);
            changed = true;
        }
        if let Some(calls) = m["toolCalls"].as_array_mut() {
            for c in calls.iter_mut() {
                let name = c["name"].as_str().unwrap_or("tool").to_string();
                let id = c["id"].as_str().unwrap_or_default().to_string();
                changed |= self.slim_args(&name, &mut c["args"]);
                match &mut c["result"] {
                    Value::Array(parts) => changed |= self.slim_parts(parts),
                    r @ Value::String(_) if json_len(r) > self.min => {
                        *r = Value::String(placeholder(json_len(r), &self.result_what(&id, &name)));
                        changed = true;
                    }
                    r @ Value::Object(_) if r.get("functionResponse").is_some() => {
                        changed |= self.slim_response(&mut r["functionResponse"]);
                    }
                    _ => {}
                }
                let display = json_len(&c["resultDisplay"]);
                if !c["resultDisplay"].is_null() && display > self.min {
                    let what = format!("display of the {}", self.result_what(&id, &name));
                    c["resultDisplay"] = Value::String(placeholder(display, &what));
                    changed = true;
                }
            }
        }
        let keep = !parts_of(&m["content"]).is_empty()
            || m["toolCalls"].as_array().is_some_and(|a| !a.is_empty())
            || m["thoughts"].as_array().is_some_and(|a| !a.is_empty());
        (changed, keep)
    }
}

pub fn trim(
    store: &GeminiStore,
    file: &SessionFile,
    opts: &TrimOptions,
) -> Result<(SessionFile, u64, u64)> {
    let folded = gf::fold_file(&file.path)?;
    if !folded.messages.iter().any(|m| gf::is_resumable(&m.v)) {
        return Err(SidecarError::invalid_params(
            "the session has no conversation to trim",
        ));
    }
    let prompts: Vec<usize> = folded
        .messages
        .iter()
        .enumerate()
        .filter(|(_, m)| is_prompt(&m.v))
        .map(|(i, _)| i)
        .collect();
    let c = cutoff(&prompts, opts.keep_turns, folded.messages.len());

    let mut tools = HashMap::new();
    let mut cwd = None;
    for m in &folded.messages {
        for tc in m.v["toolCalls"].as_array().into_iter().flatten() {
            if let Some(id) = tc["id"].as_str() {
                tools.insert(
                    id.to_string(),
                    Tool {
                        name: tc["name"].as_str().unwrap_or("tool").to_string(),
                        target: tool_target(&tc["args"]),
                    },
                );
            }
        }
        for p in parts_of(&m.v["content"]) {
            let fc = &p["functionCall"];
            if let Some(id) = fc["id"].as_str() {
                tools.entry(id.to_string()).or_insert_with(|| Tool {
                    name: fc["name"].as_str().unwrap_or("tool").to_string(),
                    target: tool_target(&fc["args"]),
                });
            }
        }
        if cwd.is_none() && m.v["type"] == "user" {
            let text = gf::content_text(&m.v["content"]);
            if text.trim_start().starts_with("<session_context>") {
                cwd = super::gemini::workspace_dir_from_context(&text);
            }
        }
    }
    let s = Slimmer {
        min: opts.min_bytes as usize,
        tools,
        cwd,
    };

    let before: Vec<&Value> = folded.messages.iter().map(|m| &m.v).collect();
    let tokens_before = estimate_tokens(visible_bytes(&before));

    // (raw JSON, value) of every message written.
    let mut out: Vec<(String, Value)> = Vec::with_capacity(folded.messages.len());
    let mut slimmed = 0usize;
    for (i, m) in folded.messages.iter().enumerate() {
        if i >= c.old_before {
            out.push((m.raw.clone(), m.v.clone()));
            continue;
        }
        let mut v = m.v.clone();
        let (changed, keep) = s.slim(&mut v, i < c.thinking_before);
        if !keep {
            slimmed += 1;
            continue;
        }
        if changed {
            slimmed += 1;
            let raw =
                serde_json::to_string(&v).map_err(|e| SidecarError::internal(e.to_string()))?;
            out.push((raw, v));
        } else {
            out.push((m.raw.clone(), m.v.clone()));
        }
    }
    let after: Vec<&Value> = out.iter().map(|(_, v)| v).collect();
    let tokens_after = estimate_tokens(visible_bytes(&after));
    let raws: Vec<&str> = out.iter().map(|(r, _)| r.as_str()).collect();
    let last = folded.messages.last().map(|m| m.id.clone());
    let title = opts.title.as_ref().map(|t| format!("{t} (trimmed)"));
    let new = store.write_copy(file, &folded, &raws, last, title)?;
    tracing::info!(
        "trimmed {} into {}: {slimmed} of {} messages slimmed",
        file.id,
        new.id,
        folded.messages.len()
    );
    Ok((new, tokens_before, tokens_after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::trim_rules::PLACEHOLDER_PREFIX;
    use crate::store::SessionStore;
    use crate::workspace::Workspace;
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    const G1: &str = "47d75b93-bf15-4461-8bef-b1f7c7e23d6b";
    const CALL: &str = "list_directory__list_directory_1795242408659_0";
    /// The escaped end of the fixture's list_directory output (in every copy of it).
    const OUTPUT_END: &str = r#"\n\n(1 ignored)""#;

    fn ws() -> Workspace {
        Workspace {
            folders: vec![PathBuf::from("/home/dev/acme-webapp")],
            paths: vec![PathBuf::from("/home/dev/acme-webapp")],
        }
    }

    /// A copy of the fixture store; returns (dir, store, G1's file).
    fn fixture() -> (tempfile::TempDir, GeminiStore, SessionFile) {
        let (d, store, _) = crate::store::gemini::tests::fixture();
        let f = find(&store, G1);
        (d, store, f)
    }

    fn find(store: &GeminiStore, id: &str) -> SessionFile {
        crate::store::gemini::tests::file(store, id)
    }

    /// Pads every copy of the tool output to about `kb` KB (numbered source lines).
    fn pad(path: &Path, kb: usize) {
        let mut filler = String::new();
        let mut n = 1;
        while filler.len() < kb * 1024 {
            filler.push_str(&format!("\\n{n:5}  export const value{n} = compute({n});"));
            n += 1;
        }
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains(OUTPUT_END));
        let text = text.replace(OUTPUT_END, &format!("{filler}{OUTPUT_END}"));
        std::fs::write(path, text).unwrap();
    }

    /// Rewrites the lines of a file through `f` (line index, value).
    fn edit_lines(path: &Path, mut f: impl FnMut(usize, &mut Value)) {
        let text = std::fs::read_to_string(path).unwrap();
        let mut out = String::new();
        for (i, l) in text.lines().enumerate() {
            let mut v: Value = serde_json::from_str(l).unwrap();
            f(i, &mut v);
            out.push_str(&v.to_string());
            out.push('\n');
        }
        std::fs::write(path, out).unwrap();
    }

    fn opts(keep_turns: u32) -> TrimOptions {
        TrimOptions {
            keep_turns,
            min_bytes: 2048,
            title: Some("Remember 14".into()),
        }
    }

    fn messages(path: &Path) -> Vec<Value> {
        gf::fold_file(path)
            .unwrap()
            .messages
            .into_iter()
            .map(|m| m.v)
            .collect()
    }

    /// Call id -> number of (calls, responses) over everything the CLI sends.
    fn pairing(msgs: &[Value]) -> BTreeMap<String, (usize, usize)> {
        let mut m: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for v in msgs {
            for p in parts_of(&v["content"]) {
                if let Some(id) = p["functionCall"]["id"].as_str() {
                    m.entry(id.into()).or_default().0 += 1;
                }
                if let Some(id) = p["functionResponse"]["id"].as_str() {
                    m.entry(id.into()).or_default().1 += 1;
                }
            }
            for c in v["toolCalls"].as_array().into_iter().flatten() {
                m.entry(c["id"].as_str().unwrap().into()).or_default().0 += 1;
                for p in c["result"].as_array().into_iter().flatten() {
                    if let Some(id) = p["functionResponse"]["id"].as_str() {
                        m.entry(id.into()).or_default().1 += 1;
                    }
                }
            }
        }
        m
    }

    fn ids(msgs: &[Value]) -> Vec<String> {
        msgs.iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect()
    }

    fn has_placeholder(v: &Value) -> bool {
        v.to_string().contains(PLACEHOLDER_PREFIX)
    }

    fn thinks(v: &Value) -> bool {
        v["thoughts"].as_array().is_some_and(|t| !t.is_empty())
            || parts_of(&v["content"]).iter().any(is_thought_part)
    }

    /// G1 as the CLI left it (tool turn in a resume snapshot), padded, with thinking in the
    /// first and the last turn.
    fn snapshot_shaped() -> (tempfile::TempDir, GeminiStore, SessionFile) {
        let (d, store, f) = fixture();
        pad(&f.path, 40);
        edit_lines(&f.path, |_, v| {
            let set = v.get_mut("$set").and_then(|s| s.get_mut("messages"));
            if let Some(msgs) = set.and_then(|m| m.as_array_mut()) {
                for m in msgs.iter_mut().filter(|m| m["type"] == "gemini") {
                    let parts = m["content"].as_array_mut().unwrap();
                    parts.insert(0, json!({"text": "**Plan** remember it", "thought": true}));
                }
            }
            if v["id"] == "dc1f47c1-c99b-4959-ae67-01585d813ac6" {
                v["thoughts"] = json!([{"subject": "Recall", "description": "it was 14",
                                        "timestamp": "2026-11-21T06:26:52.300Z"}]);
            }
        });
        (d, store, f)
    }

    #[test]
    fn old_turns_of_a_resumed_session_are_trimmed() {
        let (_d, store, f) = snapshot_shaped();
        let src_bytes = std::fs::read(&f.path).unwrap();
        let src = messages(&f.path);
        let (new, before, after) = store.trim(&f, &opts(1)).unwrap();
        assert_eq!(
            std::fs::read(&f.path).unwrap(),
            src_bytes,
            "source untouched"
        );
        assert_ne!(new.id, f.id);
        assert_ne!(&new.id[..8], &f.id[..8]);
        assert_eq!(new.path.parent(), f.path.parent());
        let mode = std::fs::metadata(&new.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let got = messages(&new.path);
        assert_eq!(ids(&got), ids(&src), "same messages, same order");
        let last_prompt = got
            .iter()
            .position(|m| gf::content_text(&m["content"]).starts_with("session 2 turn 3"))
            .unwrap();
        for (i, m) in got.iter().enumerate() {
            if i >= last_prompt {
                assert_eq!(m, &src[i], "kept turn unchanged");
            }
        }
        // Both copies of the tool result (the `_response` message and the CLI's own
        // functionResponse message) carry the same placeholder.
        let responses: Vec<&Value> = got.iter().filter(|m| has_function_response(m)).collect();
        assert_eq!(responses.len(), 2);
        let r0 = &responses[0]["content"][0]["functionResponse"];
        let r1 = &responses[1]["content"][0]["functionResponse"];
        assert_eq!(r0, r1);
        assert_eq!(r0["id"], CALL);
        let out = r0["response"]["output"].as_str().unwrap();
        assert!(
            out.starts_with(PLACEHOLDER_PREFIX) && out.ends_with("list_directory result of .]"),
            "{out}"
        );
        assert!(got[last_prompt..].iter().all(|m| !has_placeholder(m)));
        assert_eq!(pairing(&got), pairing(&src));
        assert_eq!(pairing(&got)[CALL], (1, 2));
        // Thinking: gone before the last turn, kept in it.
        assert!(src[..last_prompt].iter().any(thinks));
        assert!(got[..last_prompt].iter().all(|m| !thinks(m)));
        assert!(thinks(got.last().unwrap()));
        assert!(after * 2 < before, "{before} -> {after}");

        // A normal, listed session with the trimmed title.
        let listed = find(&store, &new.id);
        assert_eq!(listed.path, new.path);
        let (_, st) =
            crate::index::scan_file(&store, &new.path, None, crate::index::ReadMode::Full).unwrap();
        assert!(store.is_listable(&st));
        assert!(store.in_workspace(&new.path, &st, &ws()));
        assert_eq!(st.title().as_deref(), Some("Remember 14 (trimmed)"));
        assert_eq!(st.forked_from.as_ref().unwrap().session_id, G1);
    }

    #[test]
    fn keep_zero_trims_every_turn_but_the_last_thinking() {
        let (_d, store, f) = snapshot_shaped();
        let (new, _, _) = store.trim(&f, &opts(0)).unwrap();
        let got = messages(&new.path);
        assert!(
            thinks(got.last().unwrap()),
            "the turn being continued keeps it"
        );
        assert_eq!(got.iter().filter(|m| thinks(m)).count(), 1);
        assert_eq!(got.iter().filter(|m| has_placeholder(m)).count(), 2);
    }

    #[test]
    fn keeping_more_turns_than_there_are_changes_nothing() {
        let (_d, store, f) = snapshot_shaped();
        let src = messages(&f.path);
        for keep in [3, 50] {
            let (new, before, after) = store.trim(&f, &opts(keep)).unwrap();
            assert_eq!(messages(&new.path), src);
            assert_eq!(before, after);
            let (_, st) =
                crate::index::scan_file(&store, &new.path, None, crate::index::ReadMode::Full)
                    .unwrap();
            assert_eq!(st.title().as_deref(), Some("Remember 14 (trimmed)"));
        }
    }

    /// The tool turn as recorded live: the call with its result in `toolCalls`, plus the
    /// functionResponse user message; a big argument; a third turn after it.
    #[test]
    fn recorded_tool_calls_keep_their_results() {
        let (_d, store, f) = fixture();
        let text = std::fs::read_to_string(&f.path).unwrap();
        let head: Vec<&str> = text.lines().take(19).collect();
        let mut body = head.join("\n");
        body.push('\n');
        body.push_str(r#"{"id":"u3","timestamp":"2026-11-21T06:27:00.000Z","type":"user","content":[{"text":"turn 3"}]}"#);
        body.push('\n');
        body.push_str(r#"{"id":"g3","timestamp":"2026-11-21T06:27:01.000Z","type":"gemini","content":"ok","thoughts":[{"subject":"s","description":"d"}]}"#);
        body.push('\n');
        std::fs::write(&f.path, body).unwrap();
        pad(&f.path, 20);
        let big = "x".repeat(5000);
        edit_lines(&f.path, |_, v| {
            if let Some(c) = v.get_mut("toolCalls").and_then(|c| c.as_array_mut()) {
                c[0]["args"]["content"] = json!(big);
                c[0]["resultDisplay"] = json!(big);
            }
            if v["id"] == "57f7a3ec-86e7-40de-8fba-14ec2a3a505a" {
                v["thoughts"] = json!([{"subject": "Plan", "description": "remember"}]);
            }
        });
        let src = messages(&f.path);
        let (new, before, after) = store.trim(&f, &opts(1)).unwrap();
        let got = messages(&new.path);
        assert_eq!(ids(&got), ids(&src));
        assert_eq!(pairing(&got), pairing(&src));
        assert_eq!(pairing(&got)[CALL], (1, 2));
        let g = got.iter().find(|m| m["toolCalls"].is_array()).unwrap();
        let call = &g["toolCalls"][0];
        assert_eq!(call["id"], CALL);
        assert_eq!(call["args"]["dir_path"], ".");
        assert_eq!(
            call["args"]["content"],
            "[elided by session-sidecar: 4.9 KB list_directory content for .]"
        );
        assert!(call["resultDisplay"]
            .as_str()
            .unwrap()
            .starts_with(PLACEHOLDER_PREFIX));
        let user = got.iter().find(|m| has_function_response(m)).unwrap();
        assert_eq!(
            call["result"][0]["functionResponse"],
            user["content"][0]["functionResponse"]
        );
        assert!(call["result"][0]["functionResponse"]["response"]["output"]
            .as_str()
            .unwrap()
            .starts_with(PLACEHOLDER_PREFIX));
        assert!(!thinks(&got[2]), "old thoughts dropped");
        assert!(thinks(got.last().unwrap()));
        assert_eq!(got.last(), src.last());
        assert!(after * 2 < before, "{before} -> {after}");
    }

    #[test]
    fn a_session_without_conversation_is_refused() {
        let (_d, store, f) = fixture();
        let text = std::fs::read_to_string(&f.path).unwrap();
        let head: Vec<&str> = text.lines().take(2).collect();
        std::fs::write(&f.path, head.join("\n") + "\n").unwrap();
        assert!(store.trim(&f, &opts(1)).is_err());
    }

    /// After the CLI's own compression, what it resumes with is the snapshot and what follows:
    /// the copy holds exactly that, trimmed.
    #[test]
    fn a_compressed_session_is_trimmed_from_its_snapshot() {
        let (_d, store, f) = fixture();
        let text = std::fs::read_to_string(&f.path).unwrap();
        let head: Vec<&str> = text.lines().take(2).collect();
        let big = "line of output\\n".repeat(500);
        let call = r#"{"functionCall":{"id":"c1","name":"read_file","args":{"file_path":"/home/dev/acme-webapp/src/app.ts"}}}"#;
        let resp = format!(
            r#"{{"functionResponse":{{"id":"c1","name":"read_file","response":{{"output":"{big}"}}}}}}"#
        );
        let lines = [
            r#"{"id":"old1","timestamp":"2026-11-21T06:27:00Z","type":"user","content":[{"text":"before the compression"}]}"#.to_string(),
            format!(
                r#"{{"$set":{{"messages":[{ctx},{{"id":"s1","type":"user","content":[{{"text":"<state_snapshot>all so far</state_snapshot>"}}]}},{{"id":"s2","type":"gemini","content":[{{"text":"Got it. Thanks for the additional context!"}}]}},{{"id":"p2","type":"user","content":[{{"text":"read the app"}}]}},{{"id":"g2","type":"gemini","content":[{call}]}},{{"id":"r2","type":"user","content":[{resp}]}}]}}}}"#,
                ctx = &serde_json::from_str::<Value>(head[1]).unwrap()["$set"]["messages"][0]
            ),
            r#"{"id":"p3","timestamp":"2026-11-21T06:28:00Z","type":"user","content":[{"text":"and now?"}]}"#.to_string(),
            r#"{"id":"g3","timestamp":"2026-11-21T06:28:01Z","type":"gemini","content":"done"}"#.to_string(),
        ];
        std::fs::write(
            &f.path,
            format!("{}\n{}\n{}\n", head[0], head[1], lines.join("\n")),
        )
        .unwrap();
        let src = messages(&f.path);
        assert_eq!(src.len(), 8);
        let (new, before, after) = store.trim(&f, &opts(1)).unwrap();
        let got = messages(&new.path);
        assert_eq!(ids(&got), ids(&src));
        assert!(!ids(&got).contains(&"old1".to_string()));
        assert_eq!(got[1], src[1], "the state snapshot stays");
        assert_eq!(got[4], src[4], "the call stays");
        assert_eq!(
            got[5]["content"][0]["functionResponse"]["response"]["output"],
            "[elided by session-sidecar: 7.3 KB read_file result of src/app.ts]"
        );
        assert_eq!(pairing(&got), pairing(&src));
        assert_eq!(&got[6..], &src[6..]);
        assert!(after * 4 < before, "{before} -> {after}");
    }
}
