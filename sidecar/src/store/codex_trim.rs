//! Codex trim fork (`sessions/compress {strategy:"trim"}`): a self-contained copy of the thread
//! written by the store's own fork machinery (`CodexStore::write_fork`: new UUIDv7 rollout in
//! today's local-time folder, session_meta id = the new id, ordinals renumbered from 0,
//! timestamps kept, `forked_from_id` = the source, title "<title> (trimmed)" as a
//! `thread_name_updated` record plus a `session_index.jsonl` line), with old turns slimmed.
//!
//! What Codex sends on resume (formats/codex-cli.md §4) is the rollout's `response_item`s in
//! order, reset at each `compacted` record to its `replacement_history`. That sequence is cut
//! into turns at the user's own prompts (`message` role user that is not injected context, see
//! `codex::is_injected_user`); items before the first prompt of the last `keepTurns` turns are
//! old (trim_rules::cutoff). In old items:
//! * a `function_call_output` / `custom_tool_call_output` larger than `minBytes` becomes a
//!   one-line placeholder ("[elided by session-sidecar: 48.2 KB exec_command result of `ls`]"),
//!   in the shape the output had (a string, a `content` string beside `success`, or one
//!   `input_text` item); its `call_id` stays, so every call keeps its output;
//! * a `function_call`'s `arguments` is a JSON string: a big string value inside it is replaced
//!   and the arguments re-serialised (still valid JSON); a `custom_tool_call`'s `input` is
//!   free-form text (an apply_patch patch) and is replaced whole;
//! * `reasoning` items are dropped (never in the last turn); inside a `replacement_history` the
//!   parallel `replacement_history_metadata` entry goes with it;
//! * the `aggregated_output` copy in an old `item_completed` CommandExecution event (not sent to
//!   the model, shown by the TUI) gets the same placeholder.
//!
//! Records superseded by the last compaction are not sent at all; they are slimmed only when the
//! whole replacement history is old (they are older still), so a kept turn is never touched.
//! Token estimate: bytes / 4 of the JSON of the items sent (without Codex's internal
//! passthrough metadata), before and after.

use super::agent_util::RawObject;
use super::codex::{is_injected_user, CodexLine, CodexStore};
use super::trim_rules::{cutoff, describe_result, elide_input_strings, estimate_tokens};
use super::trim_rules::{one_line, placeholder, short_target, tool_target};
use super::{ForkRequest, SessionFile, TrimOptions};
use crate::error::{Result, SidecarError};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Start of the handoff summary Codex puts in a replacement history (older files carry no
/// `content_item_kinds` to tell it from a prompt).
const SUMMARY_PREFIX: &str = "Another language model started to solve this problem";

/// Where a model-visible item lives: a `response_item` line, or entry k of the last
/// compaction's `replacement_history`.
#[derive(Clone, Copy)]
enum Slot {
    Line(usize),
    Repl(usize),
}

/// What the trim does with one item.
enum Out {
    Keep,
    Drop,
    New(Value),
}

struct Tool {
    name: String,
    target: Option<String>,
}

struct Ctx {
    tools: HashMap<String, Tool>,
    cwd: Option<String>,
    min: usize,
}

fn is_prompt(p: &Value) -> bool {
    p["type"] == "message"
        && p["role"] == "user"
        && !is_injected_user(p)
        && !p["content"].as_array().is_some_and(|c| {
            c.iter().any(|i| {
                i["text"]
                    .as_str()
                    .is_some_and(|t| t.trim_start().starts_with(SUMMARY_PREFIX))
            })
        })
}

/// The first file an apply_patch patch touches.
fn patch_target(patch: &str) -> Option<String> {
    patch.lines().find_map(|l| {
        ["*** Update File: ", "*** Add File: ", "*** Delete File: "]
            .iter()
            .find_map(|p| l.strip_prefix(p))
            .map(|p| one_line(p, 120))
    })
}

fn call_target(args: &Value) -> Option<String> {
    tool_target(args)
        .or_else(|| {
            args["cmd"]
                .as_str()
                .map(|c| format!("`{}`", one_line(c, 60)))
        })
        .or_else(|| {
            ["input", "patch"]
                .iter()
                .find_map(|k| args[*k].as_str().and_then(patch_target))
        })
}

/// (call_id, tool) of a call item.
fn tool_of(p: &Value) -> Option<(String, Tool)> {
    let id = p["call_id"]
        .as_str()
        .or_else(|| p["id"].as_str())?
        .to_string();
    let tool = match p["type"].as_str()? {
        "function_call" => {
            let args = p["arguments"]
                .as_str()
                .and_then(|a| serde_json::from_str::<Value>(a).ok())
                .unwrap_or(Value::Null);
            Tool {
                name: p["name"].as_str().unwrap_or("tool").to_string(),
                target: call_target(&args),
            }
        }
        "custom_tool_call" => Tool {
            name: p["name"].as_str().unwrap_or("tool").to_string(),
            target: p["input"].as_str().and_then(patch_target),
        },
        "local_shell_call" => Tool {
            name: "local_shell".into(),
            target: tool_target(&p["action"]),
        },
        _ => return None,
    };
    Some((id, tool))
}

fn json_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        other => serde_json::to_string(other).map(|s| s.len()).unwrap_or(0),
    }
}

/// Bytes of an item as the model receives it.
fn visible_len(p: &Value) -> usize {
    const INTERNAL: &str = "internal_chat_message_metadata_passthrough";
    match p.as_object() {
        Some(o) if o.contains_key(INTERNAL) => {
            let mut o = o.clone();
            o.remove(INTERNAL);
            json_len(&Value::Object(o))
        }
        _ => json_len(p),
    }
}

impl Ctx {
    fn describe(&self, call_id: &str) -> String {
        match self.tools.get(call_id) {
            Some(t) => describe_result(&t.name, t.target.as_deref(), self.cwd.as_deref()),
            None => "tool result".to_string(),
        }
    }

    fn slim(&self, p: &Value, old: bool, drop_thinking: bool) -> Out {
        let ty = p["type"].as_str().unwrap_or("");
        if ty == "reasoning" && drop_thinking {
            return Out::Drop;
        }
        if !old {
            return Out::Keep;
        }
        match ty {
            "function_call_output" | "custom_tool_call_output" => {
                let size = json_len(&p["output"]);
                if size <= self.min {
                    return Out::Keep;
                }
                let id = p["call_id"].as_str().unwrap_or_default();
                let ph = placeholder(size, &self.describe(id));
                let output = match &p["output"] {
                    Value::Object(o) if o.contains_key("content") => {
                        let mut o = o.clone();
                        o.insert("content".into(), Value::String(ph));
                        Value::Object(o)
                    }
                    Value::Array(_) => json!([{"type": "input_text", "text": ph}]),
                    _ => Value::String(ph),
                };
                let mut n = p.clone();
                n["output"] = output;
                Out::New(n)
            }
            "function_call" => {
                let Some(args) = p["arguments"].as_str().filter(|a| a.len() > self.min) else {
                    return Out::Keep;
                };
                // The arguments must stay valid JSON: replace big strings inside.
                let Ok(Value::Object(mut obj)) = serde_json::from_str::<Value>(args) else {
                    return Out::Keep;
                };
                let name = p["name"].as_str().unwrap_or("tool");
                let target = call_target(&Value::Object(obj.clone()));
                let target = short_target(target.as_deref(), self.cwd.as_deref());
                if !elide_input_strings(name, target.as_deref(), &mut obj, self.min) {
                    return Out::Keep;
                }
                let mut n = p.clone();
                n["arguments"] = Value::String(Value::Object(obj).to_string());
                Out::New(n)
            }
            "custom_tool_call" => {
                let Some(input) = p["input"].as_str().filter(|i| i.len() > self.min) else {
                    return Out::Keep;
                };
                let name = p["name"].as_str().unwrap_or("tool");
                let what = match short_target(patch_target(input).as_deref(), self.cwd.as_deref()) {
                    Some(t) => format!("{name} input for {t}"),
                    None => format!("{name} input"),
                };
                let mut n = p.clone();
                n["input"] = Value::String(placeholder(input.len(), &what));
                Out::New(n)
            }
            _ => Out::Keep,
        }
    }

    /// A `compacted` payload with its replacement history slimmed (None: unchanged), and the
    /// outcome per history entry.
    fn slim_compacted(
        &self,
        p: &Value,
        flags: impl Fn(usize) -> (bool, bool),
    ) -> (Option<Value>, Vec<Out>) {
        let Some(hist) = p["replacement_history"].as_array() else {
            return (None, Vec::new());
        };
        let outs: Vec<Out> = hist
            .iter()
            .enumerate()
            .map(|(k, item)| {
                let (old, think) = flags(k);
                self.slim(item, old, think)
            })
            .collect();
        if outs.iter().all(|o| matches!(o, Out::Keep)) {
            return (None, outs);
        }
        let meta = p["replacement_history_metadata"]
            .as_array()
            .filter(|m| m.len() == hist.len());
        let mut new_hist = Vec::with_capacity(hist.len());
        let mut new_meta = Vec::new();
        for (k, (item, out)) in hist.iter().zip(&outs).enumerate() {
            let kept = match out {
                Out::Keep => item.clone(),
                Out::New(v) => v.clone(),
                Out::Drop => continue,
            };
            new_hist.push(kept);
            if let Some(m) = meta {
                new_meta.push(m[k].clone());
            }
        }
        let mut n = p.clone();
        n["replacement_history"] = Value::Array(new_hist);
        if meta.is_some() {
            n["replacement_history_metadata"] = Value::Array(new_meta);
        }
        (Some(n), outs)
    }

    /// The TUI's copy of a command's output in an old `item_completed` event.
    fn slim_event(&self, p: &Value) -> Option<Value> {
        if p["type"] != "item_completed" || p["item"]["type"] != "CommandExecution" {
            return None;
        }
        let out = p["item"]["aggregated_output"].as_str()?;
        if out.len() <= self.min {
            return None;
        }
        let what = match p["item"]["id"].as_str() {
            Some(id) if self.tools.contains_key(id) => self.describe(id),
            _ => {
                let cmd = &p["item"]["command"];
                describe_result(
                    "command",
                    tool_target(&json!({ "command": cmd })).as_deref(),
                    None,
                )
            }
        };
        let mut n = p.clone();
        n["item"]["aggregated_output"] = Value::String(placeholder(out.len(), &what));
        Some(n)
    }
}

fn with_payload(l: &mut CodexLine, payload: Value) -> Result<()> {
    let mut o = RawObject::parse(&l.text)
        .ok_or_else(|| SidecarError::internal("unparsable rollout line"))?;
    o.set("payload", &payload);
    l.text = o.to_json();
    l.v["payload"] = payload;
    Ok(())
}

pub fn trim(
    store: &CodexStore,
    file: &SessionFile,
    opts: &TrimOptions,
) -> Result<(SessionFile, u64, u64)> {
    let (mut lines, _) = store.load_lines(&file.path, 8)?;

    // The sequence Codex sends on resume.
    let mut slots: Vec<Slot> = Vec::new();
    let mut last_compact: Option<usize> = None;
    for (i, l) in lines.iter().enumerate() {
        match l.ty() {
            "response_item" => slots.push(Slot::Line(i)),
            "compacted" => {
                slots.clear();
                last_compact = Some(i);
                let n = l.v["payload"]["replacement_history"]
                    .as_array()
                    .map_or(0, Vec::len);
                slots.extend((0..n).map(Slot::Repl));
            }
            _ => {}
        }
    }
    let payload_of = |s: Slot| -> &Value {
        match s {
            Slot::Line(i) => &lines[i].v["payload"],
            Slot::Repl(k) => {
                &lines[last_compact.unwrap_or(0)].v["payload"]["replacement_history"][k]
            }
        }
    };
    let prompts: Vec<usize> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| is_prompt(payload_of(**s)))
        .map(|(j, _)| j)
        .collect();
    let cut = cutoff(&prompts, opts.keep_turns, slots.len());
    let repl_len = slots
        .iter()
        .take_while(|s| matches!(s, Slot::Repl(_)))
        .count();
    let before: usize = slots.iter().map(|s| visible_len(payload_of(*s))).sum();

    let mut tools = HashMap::new();
    for l in &lines {
        let p = &l.v["payload"];
        match l.ty() {
            "response_item" => tools.extend(tool_of(p)),
            "compacted" => {
                for item in p["replacement_history"].as_array().into_iter().flatten() {
                    tools.extend(tool_of(item));
                }
            }
            _ => {}
        }
    }
    let cwd = lines
        .iter()
        .find(|l| l.own && l.ty() == "session_meta")
        .and_then(|l| l.v["payload"]["cwd"].as_str())
        .map(str::to_string);
    let ctx = Ctx {
        tools,
        cwd,
        min: usize::try_from(opts.min_bytes).unwrap_or(usize::MAX),
    };

    // Raw line boundaries: a line after the last compaction is old when it precedes the line
    // of the first kept item; a superseded line when the whole replacement history is old.
    let n_lines = lines.len();
    let line_of = |j: usize| -> usize {
        match slots.get(j) {
            None => n_lines,
            Some(Slot::Line(i)) => *i,
            Some(Slot::Repl(_)) => last_compact.map_or(0, |c| c + 1),
        }
    };
    let old_line = line_of(cut.old_before);
    let think_line = line_of(cut.thinking_before);
    let sup_old = cut.old_before > 0 && cut.old_before >= repl_len;
    let sup_think = cut.thinking_before > 0 && cut.thinking_before >= repl_len;
    let first_live = last_compact.map_or(0, |c| c + 1);
    let flags_of_line = |i: usize| -> (bool, bool) {
        if i < first_live {
            (sup_old, sup_think)
        } else {
            (i < old_line, i < think_line)
        }
    };

    let mut after = 0usize;
    let mut drop = vec![false; lines.len()];
    for i in 0..lines.len() {
        let (old, think) = flags_of_line(i);
        let p = &lines[i].v["payload"];
        let visible = i >= first_live;
        match lines[i].ty() {
            "response_item" => match ctx.slim(p, old, think) {
                Out::Keep => {
                    if visible {
                        after += visible_len(p);
                    }
                }
                Out::Drop => drop[i] = true,
                Out::New(n) => {
                    if visible {
                        after += visible_len(&n);
                    }
                    with_payload(&mut lines[i], n)?;
                }
            },
            "compacted" => {
                let last = Some(i) == last_compact;
                let (new, outs) = ctx.slim_compacted(p, |k| {
                    if last {
                        (k < cut.old_before, k < cut.thinking_before)
                    } else {
                        (sup_old, sup_think)
                    }
                });
                if last {
                    let hist = p["replacement_history"].as_array();
                    for (k, o) in outs.iter().enumerate() {
                        after += match o {
                            Out::Keep => hist.map_or(0, |h| visible_len(&h[k])),
                            Out::New(v) => visible_len(v),
                            Out::Drop => 0,
                        };
                    }
                }
                if let Some(n) = new {
                    with_payload(&mut lines[i], n)?;
                }
            }
            "event_msg" if old => {
                if let Some(n) = ctx.slim_event(p) {
                    with_payload(&mut lines[i], n)?;
                }
            }
            _ => {}
        }
    }
    let kept: Vec<CodexLine> = lines
        .into_iter()
        .zip(drop)
        .filter(|(_, d)| !d)
        .map(|(l, _)| l)
        .collect();
    let req = ForkRequest {
        title: opts.title.as_ref().map(|t| format!("{t} (trimmed)")),
        ..Default::default()
    };
    let new = store.write_fork(file, &req, &kept)?;
    Ok((
        new,
        estimate_tokens(before as u64),
        estimate_tokens(after as u64),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::codex::tests::{file_of, fixture};
    use crate::store::trim_rules::PLACEHOLDER_PREFIX;
    use crate::store::SessionStore;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    const S1: &str = "01a1fcc8-d54e-7ed0-a7e2-b111c75d7f37";

    fn records(path: &Path) -> Vec<Value> {
        crate::store::read_jsonl(path)
    }

    fn write_records(path: &Path, recs: &mut [Value]) {
        let mut out = String::new();
        for (i, r) in recs.iter_mut().enumerate() {
            r["ordinal"] = json!(i);
            out.push_str(&r.to_string());
            out.push('\n');
        }
        std::fs::write(path, out).unwrap();
    }

    fn rec(ty: &str, payload: Value) -> Value {
        json!({"timestamp": "2026-11-21T06:26:23.000Z", "ordinal": 0, "type": ty, "payload": payload})
    }

    fn big() -> String {
        (0..600)
            .map(|i| format!("{i:05}: export const value{i} = compute({i});\n"))
            .collect()
    }

    fn pos(recs: &[Value], ordinal: u64) -> usize {
        recs.iter().position(|r| r["ordinal"] == ordinal).unwrap()
    }

    /// S1 (3 turns, turn 2 = `ls -a`) made bulky: turn 1 gets reasoning, an apply_patch custom
    /// tool call and a function call whose JSON arguments carry a whole file; turn 2's output
    /// (and the TUI's copy of it) is padded; turn 3, the last, gets reasoning.
    fn bulky(store: &CodexStore) -> SessionFile {
        let f = file_of(store, S1);
        let mut recs = records(&f.path);
        let big = big();
        for r in recs.iter_mut() {
            let p = &mut r["payload"];
            if p["type"] == "function_call_output" {
                p["output"] = json!(format!("{}{big}", p["output"].as_str().unwrap()));
            }
            if p["type"] == "item_completed" && p["item"]["type"] == "CommandExecution" {
                let o = p["item"]["aggregated_output"].as_str().unwrap();
                p["item"]["aggregated_output"] = json!(format!("{o}{big}"));
            }
        }
        let patch: String = big.lines().map(|l| format!("+{l}\n")).collect();
        let patch = format!("*** Begin Patch\n*** Add File: src/big.js\n{patch}*** End Patch\n");
        let turn1 = vec![
            rec(
                "response_item",
                json!({"type": "reasoning", "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "thinking about turn 1"}],
                "content": null, "encrypted_content": "gAAAA1"}),
            ),
            rec(
                "response_item",
                json!({"type": "custom_tool_call", "status": "completed",
                "call_id": "call_patch", "name": "apply_patch", "input": patch}),
            ),
            rec(
                "response_item",
                json!({"type": "custom_tool_call_output", "call_id": "call_patch",
                "output": "Success. Updated the following files:\nA src/big.js\n"}),
            ),
            rec(
                "response_item",
                json!({"type": "function_call", "name": "write_file",
                "arguments": json!({"path": "/home/dev/acme-webapp/src/w.js", "content": big}).to_string(),
                "call_id": "call_write"}),
            ),
            rec(
                "response_item",
                json!({"type": "function_call_output", "call_id": "call_write",
                "output": {"content": big, "success": true}}),
            ),
        ];
        let at = pos(&recs, 7) + 1;
        recs.splice(at..at, turn1);
        let at = pos(&recs, 32) + 1;
        recs.insert(
            at,
            rec(
                "response_item",
                json!({"type": "reasoning", "id": "rs_3",
                "summary": [{"type": "summary_text", "text": "thinking about turn 3"}],
                "content": null, "encrypted_content": "gAAAA3"}),
            ),
        );
        write_records(&f.path, &mut recs);
        f
    }

    /// What Codex sends on resume: response_items, reset at each compaction.
    fn visible(recs: &[Value]) -> Vec<Value> {
        let mut v = Vec::new();
        for r in recs {
            match r["type"].as_str() {
                Some("response_item") => v.push(r["payload"].clone()),
                Some("compacted") => {
                    v = r["payload"]["replacement_history"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                }
                _ => {}
            }
        }
        v
    }

    fn shape(items: &[Value]) -> Vec<String> {
        items
            .iter()
            .map(|p| {
                format!(
                    "{} {} {}",
                    p["type"].as_str().unwrap_or(""),
                    p["role"].as_str().unwrap_or(""),
                    p["call_id"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    fn assert_paired(items: &[Value]) {
        let calls: Vec<&str> = items
            .iter()
            .filter(|p| {
                matches!(
                    p["type"].as_str(),
                    Some("function_call" | "custom_tool_call")
                )
            })
            .map(|p| p["call_id"].as_str().unwrap())
            .collect();
        let outputs: Vec<&str> = items
            .iter()
            .filter(|p| p["type"].as_str().is_some_and(|t| t.ends_with("_output")))
            .map(|p| p["call_id"].as_str().unwrap())
            .collect();
        assert!(!calls.is_empty());
        for c in &calls {
            assert_eq!(
                outputs.iter().filter(|o| *o == c).count(),
                1,
                "output of {c}"
            );
        }
        assert_eq!(calls.len(), outputs.len());
    }

    fn opts(keep_turns: u32, title: Option<&str>) -> TrimOptions {
        TrimOptions {
            keep_turns,
            min_bytes: 2048,
            title: title.map(str::to_string),
        }
    }

    fn item<'a>(items: &'a [Value], ty: &str, call_id: &str) -> &'a Value {
        items
            .iter()
            .find(|p| p["type"] == ty && p["call_id"] == call_id)
            .unwrap_or_else(|| panic!("no {ty} {call_id}"))
    }

    #[test]
    fn old_turns_are_slimmed_and_calls_stay_paired() {
        let (_d, store) = fixture();
        let f = bulky(&store);
        let source = std::fs::read(&f.path).unwrap();
        let (new, before, after) = store.trim(&f, &opts(1, Some("Fix login"))).unwrap();
        assert_eq!(std::fs::read(&f.path).unwrap(), source, "source untouched");
        assert_ne!(new.id, S1);
        assert_eq!(
            std::fs::metadata(&new.path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let name = new.path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("rollout-") && name.ends_with(&format!("-{}.jsonl", new.id)));
        assert!(new.path.starts_with(store.sessions_dir()));

        let recs = records(&new.path);
        assert_eq!(recs[0]["type"], "session_meta");
        assert_eq!(recs[0]["payload"]["id"], new.id.as_str());
        assert_eq!(recs[0]["payload"]["session_id"], new.id.as_str());
        assert!(recs[0]["payload"].get("history_base").is_none());
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(r["ordinal"], i as u64);
            assert!(r["timestamp"].is_string());
        }

        let src_items = visible(&records(&f.path));
        let items = visible(&recs);
        // same turns and calls, minus old reasoning
        let expected: Vec<String> = shape(&src_items)
            .into_iter()
            .zip(&src_items)
            .filter(|(_, p)| p["id"] != "rs_1")
            .map(|(s, _)| s)
            .collect();
        assert_eq!(shape(&items), expected);
        assert!(items.iter().all(|p| p["id"] != "rs_1"));
        assert!(
            items.iter().any(|p| p["id"] == "rs_3"),
            "last turn keeps reasoning"
        );
        assert_paired(&items);

        let out = item(&items, "function_call_output", "call_mock_2")["output"]
            .as_str()
            .unwrap();
        assert!(out.starts_with(PLACEHOLDER_PREFIX), "{out}");
        assert!(out.contains("exec_command result of `ls -a`"), "{out}");
        let patch = item(&items, "custom_tool_call", "call_patch")["input"]
            .as_str()
            .unwrap();
        assert!(
            patch.contains("apply_patch input for src/big.js"),
            "{patch}"
        );
        let args: Value = serde_json::from_str(
            item(&items, "function_call", "call_write")["arguments"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(args["path"], "/home/dev/acme-webapp/src/w.js");
        assert!(args["content"]
            .as_str()
            .unwrap()
            .contains("write_file content for src/w.js"));
        let o = &item(&items, "function_call_output", "call_write")["output"];
        assert_eq!(o["success"], true);
        assert!(o["content"]
            .as_str()
            .unwrap()
            .contains("write_file result of src/w.js"));
        // the small apply_patch output stays as it was
        assert_eq!(
            item(&items, "custom_tool_call_output", "call_patch")["output"],
            item(&src_items, "custom_tool_call_output", "call_patch")["output"]
        );
        // nothing of the last turn is touched
        let last_prompt = items.iter().rposition(is_prompt).unwrap();
        let src_last = src_items.iter().rposition(is_prompt).unwrap();
        assert_eq!(items[last_prompt..], src_items[src_last..]);
        // the TUI's copy of the old output too
        let agg = recs
            .iter()
            .find(|r| r["payload"]["item"]["type"] == "CommandExecution")
            .unwrap()["payload"]["item"]["aggregated_output"]
            .as_str()
            .unwrap();
        assert!(agg.starts_with(PLACEHOLDER_PREFIX), "{agg}");

        assert!(after * 4 < before, "{before} -> {after}");

        // listed as a normal session with the trimmed title
        assert!(store.discover(None).unwrap().iter().any(|x| x.id == new.id));
        let (_, st) =
            crate::index::scan_file(&store, &new.path, None, crate::index::ReadMode::Full).unwrap();
        assert_eq!(st.custom_title.as_deref(), Some("Fix login (trimmed)"));
        assert_eq!(st.session_id.as_deref(), Some(new.id.as_str()));
        assert!(store.is_listable(&st));
        assert_eq!(st.forked_from.unwrap().session_id, S1);
    }

    #[test]
    fn keep_turns_zero_keeps_only_the_last_turns_reasoning() {
        let (_d, store) = fixture();
        let f = bulky(&store);
        let (new, _, _) = store.trim(&f, &opts(0, None)).unwrap();
        let items = visible(&records(&new.path));
        assert!(items.iter().all(|p| p["id"] != "rs_1"));
        assert!(items.iter().any(|p| p["id"] == "rs_3"));
        assert_paired(&items);
        assert!(
            item(&items, "function_call_output", "call_mock_2")["output"]
                .as_str()
                .unwrap()
                .starts_with(PLACEHOLDER_PREFIX)
        );
    }

    #[test]
    fn keep_turns_beyond_the_history_changes_only_ids_and_title() {
        let (_d, store) = fixture();
        let f = bulky(&store);
        let (new, before, after) = store.trim(&f, &opts(10, None)).unwrap();
        assert_eq!(before, after);
        let src = std::fs::read_to_string(&f.path)
            .unwrap()
            .replace(S1, &new.id);
        let src: Vec<Value> = src
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let recs = records(&new.path);
        assert_eq!(recs.len(), src.len(), "no title record without a title");
        for (a, b) in src.iter().zip(&recs).skip(1) {
            assert_eq!(a["payload"], b["payload"]);
            assert_eq!(a["timestamp"], b["timestamp"]);
        }
        assert!(!std::fs::read_to_string(&new.path)
            .unwrap()
            .contains(PLACEHOLDER_PREFIX));
    }

    #[test]
    fn compacted_history_is_trimmed_consistently() {
        let (_d, store) = fixture();
        let f = bulky(&store);
        let mut recs = records(&f.path);
        let find = |recs: &[Value], ty: &str, call_id: &str| {
            recs.iter()
                .find(|r| r["payload"]["type"] == ty && r["payload"]["call_id"] == call_id)
                .unwrap()["payload"]
                .clone()
        };
        let prompt1 = recs
            .iter()
            .find(|r| r["payload"]["role"] == "user" && is_prompt(&r["payload"]))
            .unwrap()["payload"]
            .clone();
        let history = vec![
            prompt1,
            find(&recs, "function_call", "call_mock_2"),
            find(&recs, "function_call_output", "call_mock_2"),
            json!({"type": "reasoning", "id": "rs_c", "summary": [], "encrypted_content": "gAAAAc"}),
            json!({"type": "message", "role": "user",
                "content": [{"type": "input_text", "text": format!("{SUMMARY_PREFIX} and wrote a summary")}],
                "internal_chat_message_metadata_passthrough": {"content_item_kinds": ["compaction.summary"]}}),
        ];
        let meta: Vec<Value> = (0..5).map(|k| json!({"history_sequence": k})).collect();
        // compacted at the start of turn 3
        let at = recs
            .iter()
            .rposition(|r| r["payload"]["type"] == "task_started")
            .unwrap();
        recs.insert(
            at,
            rec(
                "compacted",
                json!({"message": "summary", "replacement_history": history,
                "replacement_history_metadata": meta}),
            ),
        );
        write_records(&f.path, &mut recs);

        // two turns visible (turn 1's prompt in the replacement history, turn 3): nothing old
        let (same, b, a) = store.trim(&f, &opts(2, None)).unwrap();
        assert_eq!(a, b);
        assert!(!std::fs::read_to_string(&same.path)
            .unwrap()
            .contains(PLACEHOLDER_PREFIX));

        let (new, before, after) = store.trim(&f, &opts(1, None)).unwrap();
        assert!(after * 4 < before, "{before} -> {after}");
        let out = records(&new.path);
        let c = &out.iter().find(|r| r["type"] == "compacted").unwrap()["payload"];
        let hist = c["replacement_history"].as_array().unwrap();
        assert_eq!(hist.len(), 4, "reasoning dropped");
        assert!(hist.iter().all(|p| p["type"] != "reasoning"));
        let ks: Vec<&Value> = c["replacement_history_metadata"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["history_sequence"])
            .collect();
        assert_eq!(ks, [0, 1, 2, 4]);
        assert!(item(hist, "function_call_output", "call_mock_2")["output"]
            .as_str()
            .unwrap()
            .starts_with(PLACEHOLDER_PREFIX));
        let items = visible(&out);
        assert_paired(&items);
        assert!(items.iter().any(|p| p["id"] == "rs_3"));
        // the superseded records (older than the whole replacement history) are slimmed too
        let raw = out
            .iter()
            .find(|r| {
                r["payload"]["type"] == "function_call_output"
                    && r["payload"]["call_id"] == "call_mock_2"
            })
            .unwrap();
        assert!(raw["payload"]["output"]
            .as_str()
            .unwrap()
            .starts_with(PLACEHOLDER_PREFIX));
    }
}
