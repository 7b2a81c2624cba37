//! Qwen Code trim fork (`sessions/compress {strategy:"trim"}`), following `trim_rules`.
//!
//! The new session is written like the CLI's `--fork-session` (qwen.rs `write_fork`: the active
//! chain copied with the same uuids, `sessionId` rewritten, `forkedFrom` on every record), with the
//! copied records' `message` slimmed. What the CLI sends on resume (formats/qwen-code.md §4.6) is
//! the `message` of each conversation record on the chain, reset at the last
//! `system/chat_compression` record to its `compressedHistory`; that sequence is what is cut into
//! turns (a user record with text parts is a prompt; in a compressed history, a user content that
//! is not the `<state_snapshot>` / a `<system-reminder>`). In the old part:
//!
//! * a `functionResponse` whose `response` is larger than `minBytes` keeps its `id` and `name`
//!   and gets `{"output": "[elided by session-sidecar: …]"}` (`{"error": …}` for an error); the
//!   record's `toolCallResult` display copy (never sent) is dropped with it;
//! * string arguments of a `functionCall` larger than `minBytes` (write_file `content`, edit
//!   strings) become placeholders; the arguments stay an object;
//! * file contents an `@file` prompt inlined (the text parts after "Content from <file>:")
//!   larger than `minBytes` become "contents of <file>"; `inlineData` larger than `minBytes`
//!   becomes a text placeholder;
//! * `thought` parts are dropped (kept when they are all a message has).
//!
//! Records before the last compression are not sent; they are slimmed the same way (all old) so
//! the fork is smaller too, but they do not count in the token estimates.

use super::qwen::{active_chain, is_conversation, parse_file, write_fork, Parsed};
use super::trim_rules::{
    cutoff, describe_result, elide_input_strings, estimate_tokens, placeholder, short_target,
    tool_target,
};
use super::{SessionFile, TrimOptions};
use crate::error::Result;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Where a model-visible content lives.
#[derive(Clone, Copy)]
enum Slot {
    /// `compressedHistory[j]` of the last compression record.
    Snapshot { j: usize },
    /// The `message` of the record at chain position `pos`.
    Record { pos: usize },
}

pub fn trim(file: &SessionFile, opts: &TrimOptions) -> Result<(SessionFile, u64, u64)> {
    let (recs, _) = parse_file(&file.path, true)?;
    let chain = active_chain(&recs, None)?;
    let rec = |pos: usize| -> &Parsed { &recs[chain[pos]] };
    let comp = chain.iter().rposition(|i| recs[*i].is_compression());
    let visible_from = comp.map_or(0, |p| p + 1);

    // The contents the CLI sends, in order, and a working copy of each.
    let mut slots = Vec::new();
    let mut contents: Vec<Value> = Vec::new();
    if let Some(pos) = comp {
        if let Some(h) = rec(pos).v["systemPayload"]["compressedHistory"].as_array() {
            for (j, c) in h.iter().enumerate() {
                slots.push(Slot::Snapshot { j });
                contents.push(c.clone());
            }
        }
    }
    for pos in visible_from..chain.len() {
        let r = rec(pos);
        if is_conversation(r.ty()) && r.v["message"]["parts"].is_array() {
            slots.push(Slot::Record { pos });
            contents.push(r.v["message"].clone());
        }
    }
    let prompts: Vec<usize> = slots
        .iter()
        .zip(&contents)
        .enumerate()
        .filter(|(_, (slot, c))| match slot {
            Slot::Record { pos } => rec(*pos).ty() == "user" && is_prompt(c, false),
            Slot::Snapshot { .. } => is_prompt(c, true),
        })
        .map(|(k, _)| k)
        .collect();
    let cut = cutoff(&prompts, opts.keep_turns, slots.len());

    // Tool calls by id (names and targets for placeholders), from everything on the chain.
    let mut tools: HashMap<String, (String, Option<String>)> = HashMap::new();
    let mut note_calls = |m: &Value| {
        for p in m["parts"].as_array().into_iter().flatten() {
            let call = &p["functionCall"];
            if let Some(id) = call["id"].as_str() {
                let name = call["name"].as_str().unwrap_or("tool").to_string();
                tools.insert(id.to_string(), (name, tool_target(&call["args"])));
            }
        }
    };
    for c in &contents {
        note_calls(c);
    }
    for pos in 0..visible_from {
        note_calls(&rec(pos).v["message"]);
    }
    let cwd = recs.iter().find_map(|r| r.v["cwd"].as_str());
    let slim = Slimmer {
        tools: &tools,
        cwd,
        min_bytes: opts.min_bytes as usize,
    };

    let tokens_before = estimate_tokens(contents.iter().map(parts_len).sum());
    let mut record_edits: HashMap<usize, Value> = HashMap::new();
    let mut snapshot = comp.map(|pos| rec(pos).v["systemPayload"].clone());
    for (k, slot) in slots.iter().enumerate() {
        let c = &mut contents[k];
        let changed = slim.content(c, k < cut.old_before, k < cut.thinking_before);
        match (*slot, changed) {
            (Slot::Record { pos }, true) => {
                record_edits.insert(pos, c.clone());
            }
            (Slot::Snapshot { j, .. }, true) => {
                if let Some(h) = snapshot
                    .as_mut()
                    .and_then(|s| s["compressedHistory"].as_array_mut())
                {
                    h[j] = c.clone();
                }
            }
            _ => {}
        }
    }
    let tokens_after = estimate_tokens(contents.iter().map(parts_len).sum());
    // Records the CLI no longer sends (before its own compression): all old.
    for pos in 0..visible_from {
        let r = rec(pos);
        if is_conversation(r.ty()) && r.v["message"]["parts"].is_array() {
            let mut m = r.v["message"].clone();
            if slim.content(&mut m, true, true) {
                record_edits.insert(pos, m);
            }
        }
    }

    let title = opts.title.as_ref().map(|t| format!("{t} (trimmed)"));
    let new = write_fork(file, &recs, &chain, title.as_deref(), None, |pos, o| {
        if let Some(m) = record_edits.get(&pos) {
            o.set("message", m);
            o.remove("toolCallResult");
        }
        if Some(pos) == comp {
            if let Some(s) = &snapshot {
                o.set("systemPayload", s);
            }
        }
    })?;
    Ok((new, tokens_before, tokens_after))
}

/// Whether a content is one of the user's own prompts.
fn is_prompt(c: &Value, in_snapshot: bool) -> bool {
    if c["role"] != "user" {
        return false;
    }
    let parts = c["parts"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if parts.iter().any(|p| p.get("functionResponse").is_some()) {
        return false;
    }
    parts.iter().any(|p| {
        p["text"].as_str().is_some_and(|t| {
            let t = t.trim_start();
            !t.is_empty()
                && !(in_snapshot
                    && (t.starts_with("<state_snapshot>") || t.starts_with("<system-reminder>")))
        })
    })
}

fn parts_len(c: &Value) -> u64 {
    serde_json::to_string(&c["parts"]).map_or(0, |s| s.len()) as u64
}

struct Slimmer<'a> {
    tools: &'a HashMap<String, (String, Option<String>)>,
    cwd: Option<&'a str>,
    min_bytes: usize,
}

impl Slimmer<'_> {
    /// Slims one content (`{role, parts}`) in place. Returns whether anything changed.
    fn content(&self, c: &mut Value, old: bool, drop_thoughts: bool) -> bool {
        let Some(parts) = c["parts"].as_array_mut() else {
            return false;
        };
        let mut changed = false;
        // Thoughts go, unless they are all the message has (an empty message is refused).
        if drop_thoughts
            && parts.iter().any(|p| p["thought"] == true)
            && parts.iter().any(|p| p["thought"] != true)
        {
            parts.retain(|p| p["thought"] != true);
            changed = true;
        }
        if !old {
            return changed;
        }
        let mut inlined_file: Option<String> = None;
        for (i, p) in parts.iter_mut().enumerate() {
            if let Some(resp) = p.get_mut("functionResponse") {
                changed |= self.response(resp);
            } else if let Some(call) = p.get_mut("functionCall") {
                let name = call["name"].as_str().unwrap_or("tool").to_string();
                let target = short_target(tool_target(&call["args"]).as_deref(), self.cwd);
                if let Some(args) = call["args"].as_object_mut() {
                    changed |= elide_input_strings(&name, target.as_deref(), args, self.min_bytes);
                }
            } else if let Some(t) = p["text"].as_str() {
                if let Some(name) = t
                    .trim()
                    .strip_prefix("Content from ")
                    .and_then(|r| r.strip_suffix(':'))
                {
                    inlined_file = Some(name.to_string());
                } else if i > 0 && t.len() > self.min_bytes {
                    if let Some(name) = &inlined_file {
                        let what = format!("contents of {name}");
                        *p = json!({"text": placeholder(t.len(), &what)});
                        changed = true;
                    }
                }
            } else if p.get("inlineData").is_some() {
                let size = serde_json::to_string(&p["inlineData"]).map_or(0, |s| s.len());
                if size > self.min_bytes {
                    let mime = p["inlineData"]["mimeType"].as_str().unwrap_or("data");
                    *p = json!({"text": placeholder(size, mime)});
                    changed = true;
                }
            }
        }
        changed
    }

    /// A tool's response: bigger than `min_bytes` → `{output|error: placeholder}`.
    fn response(&self, resp: &mut Value) -> bool {
        let json_len =
            |v: Option<&Value>| v.map_or(0, |v| serde_json::to_string(v).map_or(0, |s| s.len()));
        // The text's length when the response is one string (as the user would count it).
        let body = match resp["response"].as_object() {
            Some(o) if o.len() == 1 && o.values().all(Value::is_string) => o
                .values()
                .next()
                .and_then(Value::as_str)
                .map_or(0, str::len),
            _ => json_len(resp.get("response")),
        };
        let size = body + json_len(resp.get("parts"));
        if size <= self.min_bytes {
            return false;
        }
        let id = resp["id"].as_str().unwrap_or("");
        let what = match self.tools.get(id) {
            Some((name, target)) => describe_result(name, target.as_deref(), self.cwd),
            None => describe_result(resp["name"].as_str().unwrap_or("tool"), None, None),
        };
        let key = if resp["response"].get("error").is_some()
            && resp["response"].get("output").is_none()
        {
            "error"
        } else {
            "output"
        };
        resp["response"] = json!({ key: placeholder(size, &what) });
        if let Some(o) = resp.as_object_mut() {
            o.remove("parts");
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::qwen::tests::fixture_store;
    use crate::store::SessionStore;
    use std::path::Path;

    const TOOL: &str = "33467198-b0c9-40b4-8d2e-f3aa9566f785"; // write_file, then @file
    const READ: &str = "a20c9abf-6786-496f-9996-61005c8ac25c"; // read_file, then a 2nd turn
    const COMPRESSED: &str = "7ca97fdc-b4ff-434e-a342-06160a3931a3"; // auto-compressed

    fn file(chats: &Path, id: &str) -> SessionFile {
        SessionFile {
            agent: crate::protocol::Agent::Qwen,
            id: id.to_string(),
            path: chats.join(format!("{id}.jsonl")),
        }
    }

    /// Pads every functionResponse output and functionCall string argument to `n` bytes.
    fn pad(path: &Path, n: usize) {
        let text = std::fs::read_to_string(path).unwrap();
        let mut out = String::new();
        for line in text.lines() {
            let mut v: Value = serde_json::from_str(line).unwrap();
            for p in v["message"]["parts"].as_array_mut().into_iter().flatten() {
                if let Some(o) = p["functionResponse"]["response"]["output"].as_str() {
                    let big = format!("{o}{}", "0123456789abcdef\n".repeat(n / 17));
                    p["functionResponse"]["response"]["output"] = json!(big);
                }
                if let Some(c) = p["functionCall"]["args"]["content"].as_str() {
                    let big = format!("{c}{}", "let x = 1;\n".repeat(n / 11));
                    p["functionCall"]["args"]["content"] = json!(big);
                }
            }
            out.push_str(&serde_json::to_string(&v).unwrap());
            out.push('\n');
        }
        std::fs::write(path, out).unwrap();
    }

    fn lines(path: &Path) -> Vec<Value> {
        crate::store::read_jsonl(path)
    }

    fn opts(keep: u32) -> TrimOptions {
        TrimOptions {
            keep_turns: keep,
            min_bytes: 2048,
            title: Some("Write a file".into()),
        }
    }

    #[test]
    fn old_tool_traffic_becomes_placeholders_and_stays_paired() {
        let (_t, store, chats) = fixture_store();
        let src = file(&chats, TOOL);
        pad(&src.path, 50_000);
        let before = std::fs::read(&src.path).unwrap();
        let (new, tb, ta) = store.trim(&src, &opts(1)).unwrap();
        assert_eq!(
            std::fs::read(&src.path).unwrap(),
            before,
            "source untouched"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&new.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(tb > 20_000 && ta < 2_000, "tokens {tb} -> {ta}");

        let recs = lines(&new.path);
        assert!(recs.iter().all(|r| r["sessionId"] == new.id.as_str()));
        let call = recs
            .iter()
            .find(|r| {
                r["type"] == "assistant" && r["message"]["parts"][0]["functionCall"].is_object()
            })
            .unwrap();
        let c = &call["message"]["parts"][0]["functionCall"];
        assert_eq!(c["id"], "call_5c5c292e8ea641d5");
        assert_eq!(
            c["args"]["file_path"],
            "/home/dev/acme-webapp/mock_written.txt"
        );
        assert!(c["args"]["content"].as_str().unwrap().starts_with(
            "[elided by session-sidecar: 48.8 KB write_file content for mock_written.txt]"
        ));
        let res = recs.iter().find(|r| r["type"] == "tool_result").unwrap();
        let fr = &res["message"]["parts"][0]["functionResponse"];
        assert_eq!(
            fr["id"], "call_5c5c292e8ea641d5",
            "the result keeps its call id"
        );
        assert_eq!(
            fr["response"]["output"].as_str().unwrap(),
            "[elided by session-sidecar: 48.9 KB write_file result of mock_written.txt]"
        );
        assert!(res.get("toolCallResult").is_none());
        // The last turn (the @file prompt) is kept as it was.
        let last_prompt = recs.iter().rev().find(|r| r["type"] == "user").unwrap();
        assert_eq!(
            last_prompt["message"]["parts"][0]["text"],
            "gen session 5: look at @hello.txt"
        );
        // Listed as a normal session with the trimmed title.
        let st = {
            let mut st = crate::summary::ScanState::default();
            for l in std::fs::read(&new.path).unwrap().split(|b| *b == b'\n') {
                if !l.is_empty() {
                    store.scan_line(&mut st, l);
                }
            }
            st
        };
        assert!(store.is_listable(&st));
        assert_eq!(st.title().as_deref(), Some("Write a file (trimmed)"));
    }

    #[test]
    fn keeping_every_turn_changes_only_ids_and_title() {
        let (_t, store, chats) = fixture_store();
        let src = file(&chats, READ);
        pad(&src.path, 10_000);
        let (new, tb, ta) = store.trim(&src, &opts(9)).unwrap();
        assert_eq!(tb, ta);
        let fork = store
            .fork(
                &src,
                &crate::store::ForkRequest {
                    title: Some("Write a file (trimmed)".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        let strip = |p: &Path| -> Vec<Value> {
            lines(p)
                .into_iter()
                .map(|mut r| {
                    r["sessionId"] = json!("X");
                    if r["subtype"] == "custom_title" {
                        r["uuid"] = json!("T");
                        r["timestamp"] = json!("T");
                    }
                    r
                })
                .collect()
        };
        assert_eq!(strip(&new.path), strip(&fork.path));
        assert!(!std::fs::read_to_string(&new.path)
            .unwrap()
            .contains("[elided by session-sidecar"));
    }

    #[test]
    fn a_compressed_history_is_trimmed_where_the_cli_resumes() {
        let (_t, store, chats) = fixture_store();
        let src = file(&chats, COMPRESSED);
        // A thought part and a big tool result inside the compressed history.
        let text = std::fs::read_to_string(&src.path).unwrap();
        let mut out = String::new();
        for line in text.lines() {
            let mut v: Value = serde_json::from_str(line).unwrap();
            if v["subtype"] == "chat_compression" {
                let h = v["systemPayload"]["compressedHistory"]
                    .as_array_mut()
                    .unwrap();
                h.insert(
                    1,
                    json!({"role": "model", "parts": [
                        {"text": "thinking hard", "thought": true},
                        {"functionCall": {"id": "c1", "name": "read_file", "args": {"absolute_path": "/home/dev/acme-webapp/big.txt"}}}]}),
                );
                h.insert(
                    2,
                    json!({"role": "user", "parts": [{"functionResponse": {"id": "c1", "name": "read_file", "response": {"output": "x".repeat(9000)}}}]}),
                );
            }
            out.push_str(&serde_json::to_string(&v).unwrap());
            out.push('\n');
        }
        std::fs::write(&src.path, out).unwrap();
        let (new, tb, ta) = store.trim(&src, &opts(1)).unwrap();
        assert!(tb > ta + 2000, "tokens {tb} -> {ta}");
        let recs = lines(&new.path);
        let comp = recs
            .iter()
            .find(|r| r["subtype"] == "chat_compression")
            .unwrap();
        let h = comp["systemPayload"]["compressedHistory"]
            .as_array()
            .unwrap();
        assert_eq!(
            h[1]["parts"].as_array().unwrap().len(),
            1,
            "thought dropped"
        );
        assert_eq!(h[1]["parts"][0]["functionCall"]["id"], "c1");
        assert_eq!(
            h[2]["parts"][0]["functionResponse"]["response"]["output"],
            "[elided by session-sidecar: 8.8 KB read_file result of big.txt]"
        );
        assert_eq!(h[2]["parts"][0]["functionResponse"]["id"], "c1");
        // The kept turn after the snapshot is untouched.
        assert_eq!(recs.last().unwrap()["subtype"], "custom_title");
    }
}
