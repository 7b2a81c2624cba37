//! Issue: Qwen Code, Codex and Gemini CLI stores — one list for every agent, the same summary
//! fields, history pages checked against goldens derived from the files
//! (`tests/golden/make_agents_golden.py`, hand-checked), forks, renames and resume argv.

use crate::support::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

const WS: &str = "/home/dev/acme-webapp";
const QWEN_TOOL: &str = "a20c9abf-6786-496f-9996-61005c8ac25c";
const QWEN_COMPRESSED: &str = "7aedba9e-a063-4f3e-9a3f-0c2c65b79dcf";
const CODEX_1: &str = "01a1fcc8-d54e-7ed0-a7e2-b111c75d7f37";
const GEMINI_1: &str = "47d75b93-bf15-4461-8bef-b1f7c7e23d6b";

fn golden(name: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/golden").join(name)).unwrap(),
    )
    .unwrap()
}

fn find<'a>(items: &'a [Value], agent: &str, id: &str) -> &'a Value {
    items
        .iter()
        .find(|s| s["agent"] == agent && s["id"] == id)
        .unwrap_or_else(|| panic!("{agent}:{id} is not listed"))
}

#[test]
fn list_shows_every_agent_with_the_golden_fields() {
    let home = FixtureHome::new();
    let r = home.cli_json(&["list", "--workspace", WS, "--json"]);
    let items = r["items"].as_array().unwrap();
    let count = |a: &str| items.iter().filter(|s| s["agent"] == a).count();
    assert_eq!(
        (
            count("claude"),
            count("qwen"),
            count("codex"),
            count("gemini")
        ),
        (8, 7, 3, 2)
    );
    // newest first across agents
    let times: Vec<&str> = items
        .iter()
        .map(|s| s["lastModified"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    let g = golden("agents_list.json");
    for exp in g["sessions"].as_array().unwrap() {
        let (agent, id) = (exp["agent"].as_str().unwrap(), exp["id"].as_str().unwrap());
        let s = find(items, agent, id);
        for k in [
            "title",
            "customTitle",
            "firstPrompt",
            "createdAt",
            "lastModified",
            "messageCount",
            "model",
            "cwd",
            "gitBranch",
        ] {
            assert_eq!(s[k], exp[k], "{k} of {agent}:{id}");
        }
        assert_eq!(s["countsExact"], true);
        assert_eq!(s["skippedLines"], 0, "{agent}:{id}");
        // the same fields for every agent, null where not recorded
        for k in [
            "tag",
            "context",
            "forkedFrom",
            "tokens",
            "sizeBytes",
            "path",
        ] {
            assert!(s.get(k).is_some(), "{k} missing on {agent}:{id}");
        }
        if agent == "claude" {
            continue;
        }
        assert_eq!(
            s["context"]["usedTokens"], exp["contextUsed"],
            "context of {agent}:{id}"
        );
        if exp["contextWindow"].is_null() {
            // not recorded (Gemini): the summary shows none, or the agent's model-table window
            let w = &s["context"]["contextWindow"];
            assert!(
                w.is_null() || *w == json!(1_048_576),
                "window of {agent}:{id}: {w}"
            );
        } else {
            assert_eq!(
                s["context"]["contextWindow"], exp["contextWindow"],
                "window of {agent}:{id}"
            );
        }
        assert_eq!(
            s["tokens"]["input"], exp["tokensIn"],
            "input tokens of {agent}:{id}"
        );
        assert_eq!(
            s["tokens"]["output"], exp["tokensOut"],
            "output tokens of {agent}:{id}"
        );
        assert_eq!(
            s["forkedFrom"]["sessionId"].as_str(),
            exp["forkedFrom"].as_str(),
            "{agent}:{id}"
        );
        assert_eq!(s["tag"], Value::Null);
    }
}

#[test]
fn agents_filter_and_addressing() {
    let home = FixtureHome::new();
    let r = home.cli_json(&[
        "list",
        "--workspace",
        WS,
        "--json",
        "--agent",
        "qwen",
        "--agent",
        "gemini",
    ]);
    let agents: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["agent"].as_str().unwrap())
        .collect();
    assert_eq!(agents.len(), 9);
    assert!(agents.iter().all(|a| *a == "qwen" || *a == "gemini"));
    // agent:id, bare full id, ≥8-char prefix
    for r in [
        format!("qwen:{QWEN_TOOL}"),
        QWEN_TOOL.to_string(),
        "a20c9abf".to_string(),
    ] {
        let s = home.cli_json(&["info", &r, "--workspace", WS, "--json"]);
        assert_eq!(
            (s["agent"].as_str(), s["id"].as_str()),
            (Some("qwen"), Some(QWEN_TOOL)),
            "{r}"
        );
    }
    let s = home.cli_json(&["info", "47d75b93", "--workspace", WS, "--json"]);
    assert_eq!(s["agent"], "gemini");
    assert_eq!(
        s["id"], GEMINI_1,
        "Gemini sessions are addressed by the header's full id"
    );
    // the three Codex threads share the prefix 01a1fcc8
    let (code, _, err) = home.cli(&["info", "01a1fcc8", "--workspace", WS, "--json"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("ambiguous") || err.contains("matches 3"),
        "{err}"
    );
    let s = home.cli_json(&["info", "codex:01a1fcc8-d54e", "--workspace", WS, "--json"]);
    assert_eq!(s["id"], CODEX_1);
}

#[test]
fn server_lists_and_filters_every_agent() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({}));
    let r = s.call("sessions/list", json!({}));
    assert_eq!(r["items"].as_array().unwrap().len(), 20);
    let r = s.call("sessions/list", json!({"agents": ["codex"]}));
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items
        .iter()
        .all(|i| i["agent"] == "codex" && i["cwd"] == WS));
    let info = s.call(
        "sessions/info",
        json!({"session": {"agent": "gemini", "id": GEMINI_1}}),
    );
    assert_eq!(info["title"], "mock session summary");
    assert_eq!(
        info["context"]["usedTokens"], 479,
        "the last gemini tokens.input"
    );
    let e = s.call_err("sessions/info", json!({"session": "codex:47d75b93"}));
    assert_eq!(e["data"]["kind"], "sessionNotFound");
    s.shutdown();
}

/// Compare a whole-history page with the golden items (ids, roles, block types, first text).
fn assert_history_matches(items: &[Value], exp: &[Value], key: &str) {
    assert_eq!(items.len(), exp.len(), "item count of {key}");
    for (i, (it, e)) in items.iter().zip(exp).enumerate() {
        assert_eq!(it["id"], e["id"], "id of item {i} of {key}");
        assert_eq!(it["role"], e["role"], "role of item {i} of {key}");
        let types: Vec<&str> = it["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["type"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = e["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_str().unwrap())
            .collect();
        assert_eq!(types, want, "blocks of item {i} of {key}");
        let text = it["content"].as_array().unwrap().iter().find_map(|b| {
            b.get("text")
                .or_else(|| b.get("content"))
                .and_then(|t| t.as_str())
                .filter(|t| !t.is_empty())
        });
        if let Some(t) = e["text"].as_str() {
            assert!(
                text.is_some_and(|x| x.starts_with(t)),
                "text of item {i} of {key}: {text:?} vs {t:?}"
            );
        }
    }
}

#[test]
fn history_pages_match_the_goldens() {
    let home = FixtureHome::new();
    let g = golden("agents_history.json");
    for (key, exp) in g.as_object().unwrap() {
        let exp = exp.as_array().unwrap();
        let page = home.cli_json(&[
            "history",
            key,
            "--workspace",
            WS,
            "--json",
            "--limit",
            "1000",
        ]);
        assert_eq!(page["hasOlder"], false);
        assert_eq!(page["hasNewer"], false);
        assert_history_matches(page["items"].as_array().unwrap(), exp, key);
        // paging backwards two at a time gives the same items
        let mut all: Vec<Value> = Vec::new();
        let mut page =
            home.cli_json(&["history", key, "--workspace", WS, "--json", "--limit", "2"]);
        loop {
            let mut items = page["items"].as_array().unwrap().clone();
            items.extend(all);
            all = items;
            if page["hasOlder"] == false {
                break;
            }
            let c = page["olderCursor"].as_str().unwrap().to_string();
            page = home.cli_json(&[
                "history",
                key,
                "--workspace",
                WS,
                "--json",
                "--limit",
                "2",
                "--before",
                &c,
            ]);
        }
        assert_history_matches(&all, exp, key);
        // and forwards from the oldest
        let first = home.cli_json(&[
            "history",
            key,
            "--workspace",
            WS,
            "--json",
            "--limit",
            "1",
            "--before",
            page["olderCursor"].as_str().unwrap(),
        ]);
        assert_eq!(first["items"].as_array().unwrap().len(), 0);
        let mut fwd: Vec<Value> = page["items"].as_array().unwrap()[..1].to_vec();
        let mut c = page["olderCursor"].as_str().unwrap().to_string();
        loop {
            let p = home.cli_json(&[
                "history",
                key,
                "--workspace",
                WS,
                "--json",
                "--limit",
                "3",
                "--after",
                &c,
            ]);
            fwd.extend(p["items"].as_array().unwrap().iter().cloned());
            if p["hasNewer"] == false {
                break;
            }
            c = p["newerCursor"].as_str().unwrap().to_string();
        }
        assert_history_matches(&fwd, exp, key);
    }
}

#[test]
fn history_details_per_agent() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({"truncateBytes": 20}));
    // Qwen: the compaction item carries the record's figures
    let p = s.call(
        "sessions/history",
        json!({"session": format!("qwen:{QWEN_COMPRESSED}")}),
    );
    let comp = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == "system")
        .unwrap();
    assert_eq!(
        comp["content"][0],
        json!({"type": "compaction", "trigger": "manual", "preTokens": 8951, "postTokens": 6770})
    );
    // truncation, then the whole message
    assert_eq!(comp["truncated"], true);
    let whole = s.call(
        "sessions/message",
        json!({"session": format!("qwen:{QWEN_COMPRESSED}"), "id": comp["id"]}),
    );
    assert_eq!(whole["truncated"], false);
    assert!(whole["content"][1]["text"]
        .as_str()
        .unwrap()
        .starts_with("<state_snapshot>"));
    // Codex: tool call input is parsed JSON, usage and model on assistant items
    let p = s.call(
        "sessions/history",
        json!({"session": format!("codex:{CODEX_1}")}),
    );
    let items = p["items"].as_array().unwrap();
    let call = items
        .iter()
        .find(|i| i["content"][0]["type"] == "toolUse")
        .unwrap();
    assert_eq!(call["content"][0]["name"], "exec_command");
    assert_eq!(call["content"][0]["input"]["cmd"], "ls -a");
    assert_eq!(items[1]["model"], "gpt-5.5");
    assert_eq!(items[1]["usage"]["inputTokens"], 6942);
    // Gemini: the tool call and its result pair up by id
    let p = s.call("sessions/history", json!({"session": GEMINI_1}));
    let items = p["items"].as_array().unwrap();
    let use_id = items[3]["content"][0]["id"].clone();
    assert_eq!(items[4]["content"][0]["toolUseId"], use_id);
    assert_eq!(items[3]["model"], "gemini-3.8-flash");
    let e = s.call_err(
        "sessions/message",
        json!({"session": GEMINI_1, "id": "nope"}),
    );
    assert_eq!(e["data"]["kind"], "messageNotFound");
    s.shutdown();
}

fn chats(home: &FixtureHome) -> PathBuf {
    home.path()
        .join(".qwen/projects/-home-dev-acme-webapp/chats")
}

fn gemini_chats(home: &FixtureHome) -> PathBuf {
    home.path().join(".gemini/tmp/acme-webapp/chats")
}

fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn forks_and_renames_for_every_agent() {
    let home = FixtureHome::new();
    for (agent, src) in [
        ("qwen", QWEN_TOOL),
        ("codex", CODEX_1),
        ("gemini", GEMINI_1),
    ] {
        let src_path = home.cli_json(&[
            "info",
            &format!("{agent}:{src}"),
            "--workspace",
            WS,
            "--json",
        ])["path"]
            .as_str()
            .unwrap()
            .to_string();
        let before = std::fs::read(&src_path).unwrap();
        let r = home.cli_json(&[
            "fork",
            &format!("{agent}:{src}"),
            "--workspace",
            WS,
            "--json",
        ]);
        let s = &r["session"];
        let new_id = s["id"].as_str().unwrap().to_string();
        assert_ne!(new_id, src);
        assert_eq!(s["agent"], agent);
        assert_eq!(s["forkedFrom"]["sessionId"], src, "{agent}");
        assert!(
            s["title"].as_str().unwrap().ends_with(" (fork)"),
            "{agent}: {}",
            s["title"]
        );
        let path = PathBuf::from(s["path"].as_str().unwrap());
        assert_eq!(mode_of(&path), 0o600, "{agent}");
        assert!(std::fs::read(&path).unwrap().ends_with(b"\n"));
        // the same conversation as the source
        let a = home.cli_json(&[
            "history",
            &format!("{agent}:{src}"),
            "--workspace",
            WS,
            "--json",
            "--limit",
            "1000",
        ]);
        let b = home.cli_json(&[
            "history",
            &format!("{agent}:{new_id}"),
            "--workspace",
            WS,
            "--json",
            "--limit",
            "1000",
        ]);
        let content = |p: &Value| -> Vec<Value> {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["content"].clone())
                .collect()
        };
        assert_eq!(content(&a), content(&b), "{agent}");
        // the source is untouched
        assert_eq!(
            std::fs::read(&src_path).unwrap(),
            before,
            "{agent} source changed"
        );
        // rename
        let r = home.cli_json(&[
            "rename",
            &format!("{agent}:{new_id}"),
            "Login bug",
            "--workspace",
            WS,
            "--json",
        ]);
        assert_eq!(r["session"]["title"], "Login bug", "{agent}");
        assert_eq!(r["session"]["customTitle"], "Login bug", "{agent}");
        let l = home.cli_json(&["list", "--workspace", WS, "--json", "--agent", agent]);
        assert_eq!(
            find(l["items"].as_array().unwrap(), agent, &new_id)["title"],
            "Login bug"
        );
    }
    // Qwen: file named by the lower-case id, one sessionId, a linear chain, role "model"
    let q = home.cli_json(&["list", "--workspace", WS, "--json", "--agent", "qwen"]);
    let fork = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["customTitle"] == "Login bug")
        .unwrap();
    let id = fork["id"].as_str().unwrap();
    let text = std::fs::read_to_string(chats(&home).join(format!("{id}.jsonl"))).unwrap();
    let recs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs[0]["cwd"], WS);
    assert!(recs.iter().all(|r| r["sessionId"] == id));
    for w in recs.windows(2) {
        assert_eq!(w[1]["parentUuid"], w[0]["uuid"]);
    }
    assert!(recs
        .iter()
        .filter(|r| r["type"] == "assistant")
        .all(|r| r["message"]["role"] == "model"));
    // Gemini: a fresh id8, no second file for any id
    let names: Vec<String> = std::fs::read_dir(gemini_chats(&home))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let id8s: std::collections::HashSet<String> = names
        .iter()
        .map(|n| {
            n.trim_end_matches(".jsonl")
                .rsplit('-')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(id8s.len(), names.len(), "{names:?}");
}

#[test]
fn fork_up_to_a_message_and_errors() {
    let home = FixtureHome::new();
    let h = home.cli_json(&[
        "history",
        &format!("codex:{CODEX_1}"),
        "--workspace",
        WS,
        "--json",
    ]);
    let items = h["items"].as_array().unwrap();
    let cut = items[4]["id"].as_str().unwrap(); // the tool result
    let r = home.cli_json(&[
        "fork",
        &format!("codex:{CODEX_1}"),
        "--up-to",
        cut,
        "--title",
        "cut",
        "--workspace",
        WS,
        "--json",
    ]);
    let new_id = r["session"]["id"].as_str().unwrap();
    assert_eq!(r["session"]["title"], "cut");
    let h2 = home.cli_json(&[
        "history",
        &format!("codex:{new_id}"),
        "--workspace",
        WS,
        "--json",
    ]);
    assert_eq!(h2["items"].as_array().unwrap().len(), 5);
    let (code, _, err) = home.cli(&[
        "fork",
        &format!("gemini:{GEMINI_1}"),
        "--up-to",
        "nope",
        "--workspace",
        WS,
        "--json",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("nope"), "{err}");
    // a torn last line is not appended to
    let p = chats(&home).join("9172a345-9a8e-487c-814f-ff4188e930b5.jsonl");
    append(&p, b"{\"uuid\":\"torn");
    let before = std::fs::read(&p).unwrap();
    let (code, _, err) = home.cli(&["rename", "qwen:9172a345", "x", "--workspace", WS, "--json"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("unterminated") || err.contains("torn"),
        "{err}"
    );
    assert_eq!(std::fs::read(&p).unwrap(), before);
}

#[test]
fn resume_argv_for_every_agent() {
    let home = FixtureHome::new();
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let mut paths = serde_json::Map::new();
    for a in ["qwen", "codex", "gemini"] {
        let p = bin.join(a);
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        paths.insert(a.into(), json!(p));
    }
    let mut s = Server::start(&home, WS, json!({"agentPaths": paths}));
    let exe = |a: &str| bin.join(a).to_string_lossy().into_owned();
    let r = s.call(
        "sessions/resume",
        json!({"session": format!("qwen:{QWEN_TOOL}")}),
    );
    assert_eq!(r["argv"], json!([exe("qwen"), "--resume", QWEN_TOOL]));
    assert_eq!(r["cwd"], WS);
    let r = s.call(
        "sessions/resume",
        json!({"session": format!("qwen:{QWEN_TOOL}"), "fork": true}),
    );
    assert_eq!(
        r["argv"],
        json!([exe("qwen"), "--resume", QWEN_TOOL, "--fork-session"])
    );
    let r = s.call(
        "sessions/resume",
        json!({"session": format!("codex:{CODEX_1}")}),
    );
    assert_eq!(r["argv"], json!([exe("codex"), "resume", CODEX_1]));
    let r = s.call(
        "sessions/resume",
        json!({"session": format!("codex:{CODEX_1}"), "fork": true, "prompt": "go on"}),
    );
    assert_eq!(
        r["argv"],
        json!([exe("codex"), "fork", "--", CODEX_1, "go on"])
    );
    let r = s.call("sessions/resume", json!({"session": GEMINI_1}));
    assert_eq!(r["argv"], json!([exe("gemini"), "--resume", GEMINI_1]));
    assert_eq!(
        r["cwd"], WS,
        "from the session_context, checked against projectHash"
    );
    let e = s.call_err(
        "sessions/resume",
        json!({"session": GEMINI_1, "fork": true}),
    );
    assert_eq!(e["data"]["kind"], "notSupported");
    s.shutdown();
}

#[test]
fn live_appends_are_pushed_for_every_agent() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({}));
    // Qwen
    let page = s.call(
        "sessions/history",
        json!({"session": format!("qwen:{QWEN_TOOL}"), "limit": 2}),
    );
    let sub = s.call(
        "sessions/subscribe",
        json!({"session": format!("qwen:{QWEN_TOOL}"), "after": page["newerCursor"]}),
    );
    let sub_id = sub["subscription"].as_str().unwrap().to_string();
    let rec = json!({"uuid":"11111111-2222-4333-8444-555555555555","parentUuid":"8f2b5884-02ba-4ef3-93a3-446abff5c343",
        "sessionId":QWEN_TOOL,"timestamp":"2026-11-21T07:00:00.000Z","type":"user","cwd":WS,
        "message":{"role":"user","parts":[{"text":"a live prompt"}]}});
    let p = chats(&home).join(format!("{QWEN_TOOL}.jsonl"));
    append(&p, format!("{rec}\n").as_bytes());
    let n = s
        .wait_notification("sessions/appended", Duration::from_secs(10), |p| {
            p["subscription"] == sub_id.as_str()
        })
        .expect("appended for qwen");
    let items = n["items"].as_array().unwrap();
    assert_eq!(items.last().unwrap()["content"][0]["text"], "a live prompt");
    // Gemini: a new message record
    let page = s.call("sessions/history", json!({"session": GEMINI_1}));
    let sub = s.call(
        "sessions/subscribe",
        json!({"session": GEMINI_1, "after": page["newerCursor"]}),
    );
    let sub_id = sub["subscription"].as_str().unwrap().to_string();
    let p = gemini_chats(&home).join("session-2026-11-21T06-26-47d75b93.jsonl");
    append(&p, b"{\"id\":\"live-1\",\"timestamp\":\"2026-11-21T07:00:00.000Z\",\"type\":\"user\",\"content\":[{\"text\":\"gemini live\"}]}\n");
    let n = s
        .wait_notification("sessions/appended", Duration::from_secs(10), |p| {
            p["subscription"] == sub_id.as_str()
        })
        .expect("appended for gemini");
    assert_eq!(n["items"].as_array().unwrap().len(), 1, "{n}");
    assert_eq!(n["items"][0]["id"], "live-1");
    // Codex: a response_item with the next ordinal
    let info = s.call(
        "sessions/info",
        json!({"session": format!("codex:{CODEX_1}")}),
    );
    let sub = s.call(
        "sessions/subscribe",
        json!({"session": format!("codex:{CODEX_1}")}),
    );
    let sub_id = sub["subscription"].as_str().unwrap().to_string();
    let rec = json!({"timestamp":"2026-11-21T07:00:00.000Z","ordinal":39,"type":"response_item",
        "payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"codex live"}]}});
    append(
        Path::new(info["path"].as_str().unwrap()),
        format!("{rec}\n").as_bytes(),
    );
    let n = s
        .wait_notification("sessions/appended", Duration::from_secs(10), |p| {
            p["subscription"] == sub_id.as_str()
        })
        .expect("appended for codex");
    assert_eq!(n["items"].as_array().unwrap().len(), 1, "{n}");
    assert_eq!(n["items"][0]["id"], "39");
    assert_eq!(n["items"][0]["parentId"], "35");
    s.shutdown();
}

/// `sessions/compress {strategy:"trim"}` for the agents other than Claude (whose trim has its own
/// tests in context.rs): a fixture session with a tool call turns ago, its tool output made bulky
/// by `tests/bulky_<agent>.py`, is trimmed keeping the last turn. The fork is listed with the
/// trimmed title, shows the same history with the old output elided, and the source is
/// byte-identical.
#[test]
fn trim_forks_for_every_agent() {
    let cases = [
        ("qwen", "33467198-b0c9-40b4-8d2e-f3aa9566f785"),
        ("codex", CODEX_1),
        ("gemini", GEMINI_1),
    ];
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({}));
    for (agent, id) in cases {
        let reference = format!("{agent}:{id}");
        let info = s.call("sessions/info", json!({"session": reference}));
        let src = PathBuf::from(info["path"].as_str().unwrap());
        let padder = repo_root().join(format!("tests/bulky_{agent}.py"));
        let out = std::process::Command::new("python3")
            .arg(&padder)
            .arg(&src)
            .arg("100")
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let padded: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(padded > 0, "{agent}: nothing padded");
        let before = std::fs::read(&src).unwrap();
        let history = |s: &mut Server, r: &str| -> Vec<Value> {
            s.call("sessions/history", json!({"session": r, "limit": 1000}))["items"]
                .as_array()
                .unwrap()
                .clone()
        };
        let old_items = history(&mut s, &reference);

        let r = s.call(
            "sessions/compress",
            json!({"session": reference, "strategy": "trim", "keepTurns": 1}),
        );
        let new_id = r["session"]["id"].as_str().unwrap().to_string();
        assert_ne!(new_id, id, "{agent}");
        assert_eq!(r["session"]["agent"], agent);
        assert!(
            r["session"]["title"]
                .as_str()
                .unwrap()
                .ends_with(" (trimmed)"),
            "{agent}: {}",
            r["session"]["title"]
        );
        let (tb, ta) = (
            r["tokensBefore"].as_u64().unwrap(),
            r["tokensAfter"].as_u64().unwrap(),
        );
        assert!(ta * 2 < tb, "{agent}: estimated tokens {tb} -> {ta}");
        // The fork's gauge shows the estimate (until the agent records a turn), and the record
        // carrying it is not a skipped line.
        assert_eq!(r["session"]["context"]["usedTokens"], ta, "{agent}");
        assert_eq!(r["session"]["skippedLines"], 0, "{agent}");
        assert_eq!(
            std::fs::read(&src).unwrap(),
            before,
            "{agent}: source changed"
        );
        let new_path = PathBuf::from(r["session"]["path"].as_str().unwrap());
        assert_eq!(mode_of(&new_path), 0o600, "{agent}");
        let text = std::fs::read_to_string(&new_path).unwrap();
        assert!(text.contains("[elided by session-sidecar: "), "{agent}");

        // Listed like any session, with the same conversation (outputs elided).
        let list = s.call("sessions/list", json!({}));
        let listed = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["agent"] == agent && x["id"] == new_id.as_str());
        assert!(listed, "{agent}: the trimmed fork is not listed");
        let new_items = history(&mut s, &format!("{agent}:{new_id}"));
        let kinds = |items: &[Value]| -> Vec<(String, Vec<String>)> {
            items
                .iter()
                .map(|i| {
                    let blocks = i["content"]
                        .as_array()
                        .map(|b| {
                            b.iter()
                                .map(|b| b["type"].as_str().unwrap_or("").to_string())
                                .filter(|t| t != "thinking")
                                .collect()
                        })
                        .unwrap_or_default();
                    (i["role"].as_str().unwrap_or("").to_string(), blocks)
                })
                .collect()
        };
        assert_eq!(
            kinds(&new_items),
            kinds(&old_items),
            "{agent}: history shape"
        );
    }
    s.shutdown();
}
