//! e2e tests: resume, continue, fork, rename, tag, delete/restore/trash (CLI and stdio), on
//! copies of the real Claude Code fixtures. The real-CLI resume check of forks is
//! `tests/resume_check.sh`.

use crate::support::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WS: &str = "/home/dev/acme-webapp";
const TOOL_USE: &str = "59e7b833-aace-4821-88a8-f970caa6c194";
const COMPACTED: &str = "f8b620d5-3e65-440f-b212-18ee553a6a7b";
const SUBAGENT: &str = "968b81b1-e0cf-465e-b146-2a3d2442ac19";
const TITLED: &str = "a0a51dc5-d7b2-43b0-80f6-e51fa390a987";
const FEATURE_TOOL_USE: &str = "5c8ccf4c-96fa-4146-804a-a036ef32968c";
const TEMP_PREFIX: &str = ".session-sidecar-tmp-";

// ---------------------------------------------------------------------------------------------
// Helpers

fn sha(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    format!("{:x}", Sha256::digest(&bytes))
}

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.ends_with('\n'),
        "{} must end with a newline",
        path.display()
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line ({e}): {l}")))
        .collect()
}

fn is_chain(v: &Value) -> bool {
    matches!(
        v["type"].as_str(),
        Some("user" | "assistant" | "system" | "attachment")
    ) && v["uuid"].is_string()
}

/// The source's entries a fork copies: transcript entries with a uuid, not sidechain, not
/// progress, in file order.
fn copied_entries(source: &[Value]) -> Vec<&Value> {
    source
        .iter()
        .filter(|v| is_chain(v) && v["isSidechain"] != json!(true))
        .collect()
}

fn project(home: &FixtureHome) -> PathBuf {
    home.claude_project()
}

fn session_path(home: &FixtureHome, id: &str) -> PathBuf {
    project(home).join(format!("{id}.jsonl"))
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(TEMP_PREFIX))
        .collect()
}

/// Run the CLI with extra environment (and optionally as another user).
fn cli_env(
    home: &FixtureHome,
    args: &[&str],
    env: &[(&str, String)],
    uid: Option<u32>,
) -> (i32, String, String) {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(BIN);
    cmd.arg("--home").arg(home.path()).args(args);
    scrub_env(&mut cmd);
    for (k, v) in home.env() {
        cmd.env(k, v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(u) = uid {
        cmd.uid(u).gid(u);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The project folder name Claude Code uses for a (short, ASCII) cwd.
fn enc(cwd: &str) -> String {
    cwd.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A fixture home whose Claude sessions `ids` were recorded in a workspace folder that lives
/// inside the temp home (so resume's cwd check and `--continue` have a real folder).
struct Relocated {
    home: FixtureHome,
    ws: PathBuf,
    project: PathBuf,
}

fn relocated(ids: &[&str]) -> Relocated {
    let home = FixtureHome::new();
    let ws = home.path().join("work/acme-webapp");
    std::fs::create_dir_all(&ws).unwrap();
    let ws_s = ws.to_str().unwrap().to_string();
    let project = home.path().join(".claude/projects").join(enc(&ws_s));
    std::fs::create_dir_all(&project).unwrap();
    for id in ids {
        let src = session_path(&home, id);
        let text = std::fs::read_to_string(&src).unwrap();
        let dst = project.join(format!("{id}.jsonl"));
        std::fs::write(
            &dst,
            text.replace(&format!("\"{WS}\""), &format!("\"{ws_s}\"")),
        )
        .unwrap();
        let mtime = std::fs::metadata(&src).unwrap().modified().unwrap();
        set_mtime(&dst, mtime);
        // Moved, not copied: one file per session id.
        std::fs::remove_file(&src).unwrap();
    }
    Relocated { home, ws, project }
}

fn set_mtime(p: &Path, t: std::time::SystemTime) {
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap();
}

fn secs_from_now(s: i64) -> std::time::SystemTime {
    if s >= 0 {
        std::time::SystemTime::now() + Duration::from_secs(s as u64)
    } else {
        std::time::SystemTime::now() - Duration::from_secs((-s) as u64)
    }
}

/// A fake agent executable that records its cwd, argv and CLAUDE_CONFIG_DIR.
fn fake_agent(dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(
        &p,
        "#!/bin/sh\n{ pwd; printf '%s\\n' \"$@\"; echo \"CLAUDE_CONFIG_DIR=$CLAUDE_CONFIG_DIR\"; } > \"$FAKE_OUT\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn err_code(e: &Value) -> i64 {
    e["code"].as_i64().unwrap()
}

/// Checks everything a fork of `source_id` must be, and returns its lines.
fn check_fork(
    home: &FixtureHome,
    source_id: &str,
    fork: &Value,
    source_before: &str,
) -> Vec<Value> {
    let new_id = fork["id"].as_str().unwrap();
    assert_ne!(new_id, source_id);
    let src_path = session_path(home, source_id);
    assert_eq!(
        sha(&src_path),
        source_before,
        "the source must stay byte-identical"
    );
    let path = PathBuf::from(fork["path"].as_str().unwrap());
    assert_eq!(
        path,
        session_path(home, new_id),
        "fork lands next to its source"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        fork["forkedFrom"]["sessionId"], source_id,
        "summary carries the lineage"
    );
    let source = lines(&src_path);
    let new = lines(&path);
    let expected = copied_entries(&source);
    let entries: Vec<&Value> = new
        .iter()
        .filter(|v| {
            v["uuid"].is_string()
                && v["type"] != "custom-title"
                && v["type"] != "content-replacement"
        })
        .collect();
    assert_eq!(
        entries.len(),
        expected.len(),
        "every main-chain entry is copied once"
    );
    let src_uuids: HashSet<&str> = source.iter().filter_map(|v| v["uuid"].as_str()).collect();
    let mut new_to_old: HashMap<&str, &str> = HashMap::new();
    for (e, orig) in entries.iter().zip(&expected) {
        let u = e["uuid"].as_str().unwrap();
        assert!(
            !src_uuids.contains(u),
            "fresh uuid expected, got a source uuid"
        );
        assert_eq!(e["sessionId"], new_id);
        assert_eq!(e["isSidechain"], false);
        assert_eq!(e["forkedFrom"]["sessionId"], source_id);
        assert_eq!(
            e["forkedFrom"]["messageUuid"], orig["uuid"],
            "file order kept"
        );
        assert_eq!(e["type"], orig["type"]);
        assert_eq!(e["message"], orig["message"], "content copied verbatim");
        for k in ["teamName", "agentName", "slug", "sourceToolAssistantUUID"] {
            assert!(e.get(k).is_none(), "{k} must be dropped");
        }
        new_to_old.insert(u, orig["uuid"].as_str().unwrap());
    }
    let old_to_new: HashMap<&str, &str> = new_to_old.iter().map(|(n, o)| (*o, *n)).collect();
    for (e, orig) in entries.iter().zip(&expected) {
        // The parent chain is the source's, remapped.
        match orig["parentUuid"].as_str() {
            Some(p) => assert_eq!(e["parentUuid"].as_str(), old_to_new.get(p).copied()),
            None => assert!(e["parentUuid"].is_null()),
        }
        if let Some(cm) = orig.get("compactMetadata") {
            let ncm = &e["compactMetadata"];
            for k in ["headUuid", "anchorUuid", "tailUuid"] {
                let old = cm["preservedSegment"][k].as_str().unwrap();
                assert_eq!(
                    ncm["preservedSegment"][k].as_str(),
                    old_to_new.get(old).copied(),
                    "{k} remapped"
                );
            }
            for k in ["uuids", "allUuids"] {
                let old: Vec<&str> = cm["preservedMessages"][k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                let new: Vec<&str> = ncm["preservedMessages"][k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert_eq!(new, old.iter().map(|o| old_to_new[o]).collect::<Vec<_>>());
            }
            if let Some(l) = orig["logicalParentUuid"].as_str() {
                assert_eq!(e["logicalParentUuid"].as_str(), old_to_new.get(l).copied());
            }
        }
    }
    let last = new.last().unwrap();
    assert_eq!(last["type"], "custom-title");
    assert_eq!(last["sessionId"], new_id);
    assert_eq!(last["customTitle"], fork["title"]);
    new
}

// ---------------------------------------------------------------------------------------------
// Fork

#[test]
fn cli_fork_of_tool_use_compacted_and_subagent_sessions() {
    let home = FixtureHome::new();
    for id in [TOOL_USE, COMPACTED, SUBAGENT] {
        let before = sha(&session_path(&home, id));
        let src = home.cli_json(&["info", id, "--json"]);
        let r = home.cli_json(&["fork", &id[..8], "--json", "--workspace", WS]);
        let fork = &r["session"];
        let new = check_fork(&home, id, fork, &before);
        assert_eq!(
            fork["title"],
            json!(format!("{} (fork)", src["firstPrompt"].as_str().unwrap()))
        );
        assert_eq!(fork["customTitle"], fork["title"]);
        assert_eq!(fork["messageCount"], src["messageCount"]);
        assert_eq!(fork["cwd"], src["cwd"]);
        assert_eq!(fork["gitBranch"], src["gitBranch"]);
        // The CLI's --continue and the SDK listing see it: `list` has it, newest first.
        let list = home.cli_json(&["list", "--json", "--workspace", WS, "--agent", "claude"]);
        assert_eq!(list["items"][0]["id"], fork["id"]);
        // No subagent folder is copied (the SDK's semantics); no sidechain entry lands in it.
        let new_id = fork["id"].as_str().unwrap();
        assert!(!project(&home).join(new_id).exists());
        assert!(new.iter().all(|v| v["isSidechain"] != json!(true)));
        if id == COMPACTED {
            assert!(new.iter().any(|v| v["subtype"] == "compact_boundary"));
        }
    }
}

#[test]
fn stdio_fork_up_to_a_message_pushes_the_new_session() {
    let home = FixtureHome::new();
    let src_path = session_path(&home, TOOL_USE);
    let before = sha(&src_path);
    let source = lines(&src_path);
    let copied = copied_entries(&source);
    // The end of turn 2 ("4ace9455…"), a middle message.
    let cut = "4ace9455-5d99-4d20-9d4a-c1cf39dbbe54";
    let pos = copied.iter().position(|v| v["uuid"] == cut).unwrap();
    let mut s = Server::start(&home, WS, json!({}));
    let r = s.call(
        "sessions/fork",
        json!({"session": format!("claude:{TOOL_USE}"), "upToMessage": cut}),
    );
    let fork = &r["session"];
    let new_id = fork["id"].as_str().unwrap().to_string();
    let added = s
        .wait_notification("sessions/changed", TIMEOUT, |p| {
            p["added"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == new_id.as_str())
        })
        .expect("sessions/changed with the fork");
    assert!(added["added"][0]["forkedFrom"]["sessionId"] == TOOL_USE);
    assert_eq!(sha(&src_path), before);
    let new = lines(&PathBuf::from(fork["path"].as_str().unwrap()));
    let entries: Vec<&Value> = new.iter().filter(|v| is_chain(v)).collect();
    assert_eq!(entries.len(), pos + 1, "inclusive slice by file position");
    assert_eq!(entries.last().unwrap()["forkedFrom"]["messageUuid"], cut);
    // Its leaf is the last chain entry: no last-prompt row is needed.
    assert!(new.iter().all(|v| v["type"] != "last-prompt"));
    assert!(
        fork["messageCount"].as_u64().unwrap()
            < s.call("sessions/info", json!({"session": TOOL_USE}))["messageCount"]
                .as_u64()
                .unwrap()
    );

    // Unknown or malformed message ids: a clear error, no new file.
    let files = uuid_files(&project(&home));
    for bad in ["00000000-0000-4000-8000-000000000000", "not-a-uuid"] {
        let e = s.call_err(
            "sessions/fork",
            json!({"session": TOOL_USE, "upToMessage": bad}),
        );
        assert_eq!(err_code(&e), 1015, "{e}");
        assert_eq!(e["data"]["kind"], "messageNotFound");
    }
    let e = s.call_err(
        "sessions/fork",
        json!({"session": "deadbeef-0000-4000-8000-000000000000"}),
    );
    assert_eq!(err_code(&e), 1001);
    assert_eq!(uuid_files(&project(&home)), files);
    assert!(temp_files(&project(&home)).is_empty());
    s.shutdown();
}

#[test]
fn fork_titles_and_branch() {
    let home = FixtureHome::new();
    // An explicit title is used as given (cleaned of control characters), without "(fork)".
    let r = home.cli_json(&[
        "fork",
        TOOL_USE,
        "--title",
        "  Try\nthe other fix\u{7} ",
        "--json",
    ]);
    assert_eq!(r["session"]["title"], "Try the other fix");
    let forked = r["session"]["id"].as_str().unwrap().to_string();
    // The source's custom title wins over its prompts.
    let r = home.cli_json(&["fork", TITLED, "--json"]);
    assert_eq!(r["session"]["title"], "Corpus title 4 (fork)");
    // A fork of a fork stacks the suffix, like the SDK.
    let r = home.cli_json(&["fork", &forked, "--json"]);
    assert_eq!(r["session"]["title"], "Try the other fix (fork)");
    // An AI title comes next.
    append(
        &session_path(&home, COMPACTED),
        format!("{{\"type\":\"ai-title\",\"aiTitle\":\"Compaction demo\",\"sessionId\":\"{COMPACTED}\"}}\n").as_bytes(),
    );
    let r = home.cli_json(&["fork", COMPACTED, "--json"]);
    assert_eq!(r["session"]["title"], "Compaction demo (fork)");
    // The branch parameter records the fork on that branch.
    let r = home.cli_json(&["fork", TOOL_USE, "--branch", "feature/x", "--json"]);
    assert_eq!(r["session"]["gitBranch"], "feature/x");
    let new = lines(Path::new(r["session"]["path"].as_str().unwrap()));
    assert!(new
        .iter()
        .filter(|v| is_chain(v))
        .all(|v| v["gitBranch"] == "feature/x"));
    // An empty title is refused and writes nothing.
    let before = snapshot(home.path());
    let (code, _, err) = home.cli(&["fork", TOOL_USE, "--title", " \n ", "--json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("title must not be empty"), "{err}");
    assert_eq!(snapshot(home.path()), before);
}

#[test]
fn fork_keeps_the_resumed_branch_and_ignores_a_torn_tail() {
    let home = FixtureHome::new();
    let path = session_path(&home, TOOL_USE);
    // An alternative branch appended after the last last-prompt row (a rewind): the CLI still
    // resumes the branch the last-prompt names, so the fork must say so too.
    let alt = format!(
        "{{\"parentUuid\":\"4ace9455-5d99-4d20-9d4a-c1cf39dbbe54\",\"isSidechain\":false,\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":\"alt branch\"}},\"uuid\":\"0b0b0b0b-0000-4000-8000-000000000001\",\"timestamp\":\"2026-11-21T07:00:00.000Z\",\"sessionId\":\"{TOOL_USE}\",\"cwd\":\"{WS}\"}}\n"
    );
    append(&path, alt.as_bytes());
    // …and an agent in the middle of writing a line.
    append(
        &path,
        b"{\"parentUuid\":\"0b0b0b0b-0000-4000-8000-000000000001\",\"type\":\"assis",
    );
    let before = sha(&path);
    let source = lines_lenient(&path);
    let leaf = source
        .iter()
        .rev()
        .find(|v| v["type"] == "last-prompt")
        .unwrap()["leafUuid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = home.cli_json(&["fork", TOOL_USE, "--json"]);
    assert_eq!(sha(&path), before);
    let new = lines(Path::new(r["session"]["path"].as_str().unwrap()));
    let entries: Vec<&Value> = new.iter().filter(|v| is_chain(v)).collect();
    assert_eq!(
        entries.last().unwrap()["forkedFrom"]["messageUuid"],
        "0b0b0b0b-0000-4000-8000-000000000001",
        "the complete alt entry is copied, the torn line is not"
    );
    let lp: Vec<&Value> = new.iter().filter(|v| v["type"] == "last-prompt").collect();
    assert_eq!(lp.len(), 1);
    let target = entries
        .iter()
        .find(|v| v["uuid"] == lp[0]["leafUuid"])
        .expect("leafUuid names a fork entry");
    assert_eq!(target["forkedFrom"]["messageUuid"], leaf.as_str());
    assert_eq!(lp[0]["sessionId"], r["session"]["id"]);
}

fn lines_lenient(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Rename and tag

#[test]
fn rename_and_tag_append_the_agents_records() {
    let home = FixtureHome::new();
    let path = session_path(&home, TOOL_USE);
    let before = std::fs::read(&path).unwrap();
    let r = home.cli_json(&["rename", TOOL_USE, "  Login\tbug ☕ ", "--json"]);
    assert_eq!(r["session"]["title"], "Login bug ☕");
    assert_eq!(r["session"]["customTitle"], "Login bug ☕");
    let after = std::fs::read(&path).unwrap();
    assert_eq!(&after[..before.len()], &before[..], "append only");
    let added = String::from_utf8(after[before.len()..].to_vec()).unwrap();
    assert_eq!(
        added,
        format!(
            "{{\"type\":\"custom-title\",\"customTitle\":\"Login bug ☕\",\"sessionId\":\"{TOOL_USE}\"}}\n{{\"type\":\"agent-name\",\"agentName\":\"Login bug ☕\",\"sessionId\":\"{TOOL_USE}\"}}\n"
        )
    );
    // Over stdio: tag, clear, and the sessions/changed update.
    let mut s = Server::start(&home, WS, json!({}));
    let r = s.call(
        "sessions/tag",
        json!({"session": TOOL_USE, "tag": " ﬁx\u{200b} "}),
    );
    assert_eq!(r["session"]["tag"], "fix");
    s.wait_notification("sessions/changed", TIMEOUT, |p| {
        p["updated"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == TOOL_USE && u["tag"] == "fix")
    })
    .expect("update pushed");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with(&format!(
        "{{\"type\":\"tag\",\"tag\":\"fix\",\"sessionId\":\"{TOOL_USE}\"}}\n"
    )));
    let r = s.call("sessions/tag", json!({"session": TOOL_USE, "tag": null}));
    assert!(r["session"]["tag"].is_null());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with(&format!(
        "{{\"type\":\"tag\",\"tag\":\"\",\"sessionId\":\"{TOOL_USE}\"}}\n"
    )));
    let r = s.call(
        "sessions/rename",
        json!({"session": TOOL_USE, "title": "Second"}),
    );
    assert_eq!(r["session"]["title"], "Second");
    assert_eq!(
        s.call("sessions/info", json!({"session": TOOL_USE}))["title"],
        "Second"
    );
    s.shutdown();
    // A session the CLI renamed before keeps `<id>/custom-title.json` in step.
    home.cli_json(&["rename", TITLED, "Third", "--json"]);
    assert_eq!(
        std::fs::read_to_string(project(&home).join(TITLED).join("custom-title.json")).unwrap(),
        "{\"customTitle\":\"Third\"}"
    );
    assert!(
        !project(&home).join(TOOL_USE).exists(),
        "no folder is created for it"
    );
    // CLI --clear.
    home.cli_json(&["tag", TOOL_USE, "wip", "--json"]);
    let r = home.cli_json(&["tag", TOOL_USE, "--clear", "--json"]);
    assert!(r["session"]["tag"].is_null());
}

#[test]
fn appends_after_an_unterminated_complete_row_start_a_new_line() {
    // The CLI can leave its last metadata row without a newline; it starts its next append
    // with one, and so do we (in the same single write).
    let home = FixtureHome::new();
    let path = session_path(&home, TOOL_USE);
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.pop(), Some(b'\n'));
    std::fs::write(&path, &bytes).unwrap();
    home.cli_json(&["rename", TOOL_USE, "Fresh line", "--json"]);
    let after = std::fs::read(&path).unwrap();
    assert_eq!(&after[..bytes.len()], &bytes[..]);
    assert!(after[bytes.len()..].starts_with(b"\n{\"type\":\"custom-title\""));
    assert!(lines(&path)
        .iter()
        .any(|v| v["customTitle"] == "Fresh line"));
}

#[test]
fn errors_change_no_file() {
    let home = FixtureHome::new();
    let before = snapshot(home.path());
    // Unknown session.
    for args in [
        vec!["rename", "deadbeef-0000-4000-8000-000000000000", "T"],
        vec!["tag", "deadbeef-0000-4000-8000-000000000000", "t"],
        vec!["fork", "deadbeef-0000-4000-8000-000000000000"],
        vec!["delete", "deadbeef-0000-4000-8000-000000000000"],
    ] {
        let (code, _, err) = home.cli(&args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(err.contains("no session"), "{err}");
    }
    // Empty title, empty tag.
    let (code, _, err) = home.cli(&["rename", TOOL_USE, " \t\n"]);
    assert_eq!(code, 2);
    assert!(err.contains("title must not be empty"), "{err}");
    let (code, _, err) = home.cli(&["tag", TOOL_USE, "\u{200b}"]);
    assert_eq!(code, 2);
    assert!(err.contains("tag must not be empty"), "{err}");
    assert_eq!(snapshot(home.path()), before);

    // A torn last line (an agent mid-write): refused, nothing glued onto it.
    let path = session_path(&home, TOOL_USE);
    append(&path, b"{\"type\":\"assistant\",\"uuid\":\"x");
    let torn = std::fs::read(&path).unwrap();
    let mut s = Server::start(&home, WS, json!({}));
    for (m, p) in [
        (
            "sessions/rename",
            json!({"session": TOOL_USE, "title": "T"}),
        ),
        ("sessions/tag", json!({"session": TOOL_USE, "tag": "t"})),
    ] {
        let e = s.call_err(m, p);
        assert_eq!(err_code(&e), 1007, "{e}");
        assert_eq!(e["data"]["kind"], "tornLastLine");
        assert!(e["message"].as_str().unwrap().contains("unfinished line"));
    }
    assert_eq!(std::fs::read(&path).unwrap(), torn);
    // Missing agent binary: a clear error naming the setting.
    s.shutdown();
    let mut s = Server::start(
        &home,
        WS,
        json!({"agentPaths": {"claude": "/nonexistent/bin/claude"}}),
    );
    let e = s.call_err("sessions/resume", json!({"session": TOOL_USE}));
    assert_eq!(err_code(&e), 1009);
    assert!(
        e["message"].as_str().unwrap().contains("agentPaths.claude"),
        "{e}"
    );
    s.shutdown();
    let (code, _, err) = cli_env(
        &home,
        &["resume", TOOL_USE, "--print"],
        &[("PATH", "/nonexistent".into())],
        None,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("`claude` was not found on PATH")
            && err.contains("sessionSidecar.agentPaths.claude"),
        "{err}"
    );
    let mut after = snapshot(home.path());
    after.retain(|p, _| !p.starts_with(home.path().join(".xdg-cache")));
    let mut expected = before;
    expected.insert(path.clone(), torn);
    expected.retain(|p, _| !p.starts_with(home.path().join(".xdg-cache")));
    assert_eq!(after, expected);
}

/// A read-only store. As root, permission bits do not stop writes, so the sidecar runs as an
/// unprivileged user (nobody) against the root-owned store; as a normal user, the store is made
/// read-only with chmod.
#[test]
fn read_only_store_is_a_clear_error_and_changes_nothing() {
    let home = FixtureHome::new();
    let root = unsafe { libc::geteuid() } == 0;
    let proj = project(&home);
    let chmod =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    chmod(home.path(), 0o755);
    for d in [".xdg-cache", ".xdg-data"] {
        chmod(&home.path().join(d), 0o777);
    }
    if !root {
        chmod(&proj, 0o555);
        for id in uuid_files(&proj) {
            chmod(&proj.join(format!("{id}.jsonl")), 0o444);
        }
    }
    let uid = root.then_some(65534);
    let before = snapshot(&home.path().join(".claude"));
    for args in [
        vec!["rename", TOOL_USE, "New title"],
        vec!["tag", TOOL_USE, "t"],
        vec!["fork", TOOL_USE],
        vec!["delete", TOOL_USE],
    ] {
        let (code, out, err) = cli_env(&home, &args, &[], uid);
        assert_eq!(code, 1, "{args:?} should fail: {out} {err}");
        assert!(
            err.contains("cannot write") || err.contains("cannot move"),
            "{args:?}: {err}"
        );
        assert!(err.contains("Permission denied"), "{err}");
    }
    assert_eq!(snapshot(&home.path().join(".claude")), before);
    assert!(temp_files(&proj).is_empty());
    let (code, out, _) = cli_env(&home, &["trash", "--json"], &[], uid);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["items"],
        json!([])
    );
    if !root {
        chmod(&proj, 0o755);
    }
}

// ---------------------------------------------------------------------------------------------
// Resume and continue

#[test]
fn resume_argv_cwd_and_env() {
    let r = relocated(&[TOOL_USE, COMPACTED]);
    let ws = r.ws.to_str().unwrap();
    let bin = fake_agent(&r.home.path().join("bin"), "claude");
    let mut s = Server::start(&r.home, ws, json!({"agentPaths": {"claude": bin}}));
    let l = s.call(
        "sessions/resume",
        json!({"session": &TOOL_USE[..8], "fork": true, "model": "opus", "permissionMode": "plan", "prompt": "-continue please"}),
    );
    assert_eq!(
        l["argv"],
        json!([
            bin,
            "--resume",
            TOOL_USE,
            "--fork-session",
            "--model",
            "opus",
            "--permission-mode",
            "plan",
            "--",
            "-continue please"
        ])
    );
    assert_eq!(l["cwd"], ws);
    // The home is overridden, so the agent is pointed at the same store.
    assert_eq!(
        l["env"],
        json!({"CLAUDE_CONFIG_DIR": r.home.path().join(".claude")})
    );
    let l = s.call("sessions/resume", json!({"session": COMPACTED}));
    assert_eq!(l["argv"], json!([bin, "--resume", COMPACTED]));
    let e = s.call_err(
        "sessions/resume",
        json!({"session": COMPACTED, "model": "--dangerously-skip-permissions"}),
    );
    assert_eq!(err_code(&e), -32602);
    s.shutdown();

    // The recorded cwd is gone: say so instead of starting a fresh session elsewhere.
    std::fs::remove_dir_all(&r.ws).unwrap();
    let (code, _, err) = cli_env(
        &r.home,
        &["resume", TOOL_USE, "--print", "--workspace", ws],
        &[("PATH", bin.parent().unwrap().display().to_string())],
        None,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("no longer exists") && err.contains(ws),
        "{err}"
    );
}

#[test]
fn cli_resume_execs_the_agent_in_the_session_cwd() {
    let r = relocated(&[TOOL_USE]);
    let ws = r.ws.to_str().unwrap().to_string();
    let bin = fake_agent(&r.home.path().join("bin"), "claude");
    let out_file = r.home.path().join("fake-out.txt");
    let path_env = format!("{}:/usr/bin:/bin", bin.parent().unwrap().display());
    let (code, out, err) = cli_env(
        &r.home,
        &["resume", &TOOL_USE[..8], "--print"],
        &[("PATH", path_env.clone())],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let printed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(printed["argv"], json!([bin, "--resume", TOOL_USE]));
    assert_eq!(printed["cwd"], ws.as_str());
    // Without --print the CLI replaces itself with the agent (argv array, no shell).
    let (code, _, err) = cli_env(
        &r.home,
        &["resume", &TOOL_USE[..8], "--fork", "hello; rm -rf /"],
        &[
            ("PATH", path_env),
            ("FAKE_OUT", out_file.display().to_string()),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let got = std::fs::read_to_string(&out_file).unwrap();
    let expected = format!(
        "{ws}\n--resume\n{TOOL_USE}\n--fork-session\n--\nhello; rm -rf /\nCLAUDE_CONFIG_DIR={}\n",
        r.home.path().join(".claude").display()
    );
    assert_eq!(got, expected);
}

#[test]
fn continue_picks_what_the_agents_continue_picks() {
    let r = relocated(&[TOOL_USE, COMPACTED, SUBAGENT, FEATURE_TOOL_USE]);
    let ws = r.ws.to_str().unwrap();
    let bin = fake_agent(&r.home.path().join("bin"), "claude");
    let opts = json!({"agentPaths": {"claude": bin}});
    let file = |id: &str| r.project.join(format!("{id}.jsonl"));
    // Newest by file mtime, whatever the timestamps inside say.
    set_mtime(&file(COMPACTED), secs_from_now(-60));
    set_mtime(&file(TOOL_USE), secs_from_now(-120));
    set_mtime(&file(SUBAGENT), secs_from_now(-180));
    set_mtime(&file(FEATURE_TOOL_USE), secs_from_now(-240));
    // A newer file with metadata rows only is skipped, and so is garbage.
    let meta_only = r.project.join("11111111-1111-4111-8111-111111111111.jsonl");
    std::fs::write(&meta_only, "{\"type\":\"custom-title\",\"customTitle\":\"x\",\"sessionId\":\"11111111-1111-4111-8111-111111111111\"}\n").unwrap();
    let garbage = r.project.join("22222222-2222-4222-8222-222222222222.jsonl");
    std::fs::write(&garbage, "not json\n").unwrap();
    let mut s = Server::start(&r.home, ws, opts.clone());
    let c = s.call("sessions/continue", json!({}));
    assert_eq!(c["session"]["id"], COMPACTED);
    assert_eq!(c["argv"], json!([bin, "--resume", COMPACTED]));
    assert_eq!(c["cwd"], ws);
    assert_eq!(
        c["env"]["CLAUDE_CONFIG_DIR"],
        json!(r.home.path().join(".claude"))
    );
    // On a branch.
    let c = s.call("sessions/continue", json!({"branch": "feature/login"}));
    assert_eq!(c["session"]["id"], FEATURE_TOOL_USE);
    let e = s.call_err("sessions/continue", json!({"branch": "no-such-branch"}));
    assert_eq!(err_code(&e), 1016);
    // "@current" needs a branch: none here (not a repository).
    let e = s.call_err("sessions/continue", json!({"branch": "@current"}));
    assert_eq!(err_code(&e), 1016);
    s.shutdown();
    // The workspace on feature/login: "@current" resolves to it.
    std::fs::create_dir_all(r.ws.join(".git")).unwrap();
    std::fs::write(r.ws.join(".git/HEAD"), "ref: refs/heads/feature/login\n").unwrap();
    let (code, out, err) = cli_env(
        &r.home,
        &[
            "continue",
            "--branch",
            "@current",
            "--print",
            "--workspace",
            ws,
        ],
        &[("PATH", bin.parent().unwrap().display().to_string())],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let c: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(c["session"]["id"], FEATURE_TOOL_USE);
    // A 0-byte session file that is newest is what the CLI picks (it starts empty).
    let empty = "33333333-3333-4333-8333-333333333333";
    std::fs::write(r.project.join(format!("{empty}.jsonl")), "").unwrap();
    let mut s = Server::start(&r.home, ws, opts);
    let c = s.call("sessions/continue", json!({}));
    assert_eq!(c["session"]["id"], empty);
    assert_eq!(c["cwd"], ws, "no recorded cwd: the workspace folder");
    s.shutdown();
    // No session at all.
    let other = r.home.path().join("work/empty-project");
    std::fs::create_dir_all(&other).unwrap();
    let (code, _, err) = cli_env(
        &r.home,
        &[
            "continue",
            "--print",
            "--workspace",
            other.to_str().unwrap(),
        ],
        &[("PATH", bin.parent().unwrap().display().to_string())],
        None,
    );
    assert_eq!(code, 3);
    assert!(err.contains("no session of this workspace"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Delete, restore, trash

fn trash_flow(home: &FixtureHome) {
    let proj = project(home);
    let main = session_path(home, SUBAGENT);
    let sub = proj.join(SUBAGENT);
    let before_main = std::fs::read(&main).unwrap();
    let before_sub = snapshot(&sub);
    let main_mtime = std::fs::metadata(&main).unwrap().modified().unwrap();
    let mut s = Server::start(home, WS, json!({}));
    let r = s.call("sessions/delete", json!({"session": &SUBAGENT[..8]}));
    assert_eq!(r["trashed"]["id"], SUBAGENT);
    assert_eq!(r["trashed"]["agent"], "claude");
    assert_eq!(r["trashed"]["originalPath"], main.to_str().unwrap());
    assert_eq!(r["trashed"]["title"], "corpus 5 AGENTCALL please");
    s.wait_notification("sessions/changed", TIMEOUT, |p| {
        p["removed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == SUBAGENT)
    })
    .expect("removal pushed");
    assert!(!main.exists() && !sub.exists(), "moved out of the store");
    let list = s.call("sessions/list", json!({}));
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["id"] != SUBAGENT));
    let t = s.call("sessions/trash", json!({}));
    assert_eq!(t["items"], json!([r["trashed"].clone()]));
    // Trash layout: <data>/trash/claude/<id>/ with a manifest; 0700 / 0600.
    let entry = home
        .path()
        .join(".xdg-data/session-sidecar/trash/claude")
        .join(SUBAGENT);
    assert_eq!(
        std::fs::metadata(&entry).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(entry.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["originalPath"], main.to_str().unwrap());
    assert_eq!(
        std::fs::metadata(entry.join("manifest.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // Restore refuses to overwrite a file that took its place, and moves nothing.
    std::fs::write(&main, "someone else's\n").unwrap();
    let e = s.call_err("sessions/restore", json!({"session": SUBAGENT}));
    assert_eq!(err_code(&e), 1014);
    assert!(e["message"].as_str().unwrap().contains("exists"), "{e}");
    assert!(entry.join("manifest.json").exists() && !sub.exists());
    std::fs::remove_file(&main).unwrap();
    s.drain_notifications();
    let r = s.call(
        "sessions/restore",
        json!({"session": format!("claude:{}", &SUBAGENT[..8])}),
    );
    assert_eq!(r["session"]["id"], SUBAGENT);
    s.wait_notification("sessions/changed", TIMEOUT, |p| {
        p["added"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == SUBAGENT)
    })
    .expect("restore pushed");
    assert_eq!(std::fs::read(&main).unwrap(), before_main, "byte-identical");
    assert_eq!(
        std::fs::metadata(&main).unwrap().modified().unwrap(),
        main_mtime
    );
    let after_sub = snapshot(&sub);
    assert_eq!(
        after_sub.values().collect::<Vec<_>>(),
        before_sub.values().collect::<Vec<_>>()
    );
    assert!(!entry.exists());
    assert_eq!(s.call("sessions/trash", json!({}))["items"], json!([]));
    let e = s.call_err("sessions/restore", json!({"session": SUBAGENT}));
    assert_eq!(err_code(&e), 1014);
    assert!(e["message"].as_str().unwrap().contains("no session"), "{e}");
    s.shutdown();
}

#[test]
fn delete_restore_and_trash_over_stdio() {
    let home = FixtureHome::new();
    trash_flow(&home);
    // The CLI: delete, trash, restore.
    let (code, out, _) = home.cli(&["delete", TOOL_USE]);
    assert_eq!(code, 0);
    assert!(
        out.contains("moved claude:") && out.contains("restore"),
        "{out}"
    );
    let t = home.cli_json(&["trash", "--json"]);
    assert_eq!(t["items"][0]["id"], TOOL_USE);
    let r = home.cli_json(&["restore", TOOL_USE, "--json"]);
    assert_eq!(r["session"]["id"], TOOL_USE);
    assert_eq!(home.cli_json(&["trash", "--json"])["items"], json!([]));
}

/// The trash on another filesystem (tmpfs): copy + fsync, then the original is removed.
#[test]
fn delete_and_restore_across_filesystems() {
    use std::os::unix::fs::MetadataExt;
    let home = FixtureHome::new();
    let shm = Path::new("/dev/shm");
    let data = tempfile::tempdir_in(shm).expect("/dev/shm is needed for the cross-filesystem case");
    assert_ne!(
        std::fs::metadata(data.path()).unwrap().dev(),
        std::fs::metadata(home.path()).unwrap().dev(),
        "/dev/shm must be another filesystem than the temp dir"
    );
    let env = [("XDG_DATA_HOME", data.path().display().to_string())];
    let main = session_path(&home, SUBAGENT);
    let before = snapshot(&project(&home));
    let (code, _, err) = cli_env(&home, &["delete", SUBAGENT, "--json"], &env, None);
    assert_eq!(code, 0, "{err}");
    assert!(!main.exists() && !project(&home).join(SUBAGENT).exists());
    let entry = data
        .path()
        .join("session-sidecar/trash/claude")
        .join(SUBAGENT);
    assert!(entry.join(format!("0-{SUBAGENT}.jsonl")).is_file());
    assert!(entry.join(format!("1-{SUBAGENT}/subagents")).is_dir());
    let (code, _, err) = cli_env(&home, &["restore", SUBAGENT, "--json"], &env, None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(snapshot(&project(&home)), before);
    assert!(!entry.exists());
}

// ---------------------------------------------------------------------------------------------
// Temp files, kills

#[test]
fn stale_temp_files_are_cleaned_at_start_but_live_ones_kept() {
    let home = FixtureHome::new();
    let proj = project(&home);
    let stale = proj.join(format!("{TEMP_PREFIX}0123456789ab-x.jsonl"));
    std::fs::write(&stale, "partial").unwrap();
    // A temp file another live sidecar is writing holds its lock.
    let live = proj.join(format!("{TEMP_PREFIX}ba9876543210-y.jsonl"));
    let f = std::fs::File::create(&live).unwrap();
    {
        use std::os::fd::AsRawFd;
        assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
    }
    home.cli_json(&["list", "--json", "--workspace", WS]);
    assert!(!stale.exists(), "a killed writer's temp file is removed");
    assert!(live.exists(), "a live writer's temp file is kept");
    drop(f);
    home.cli_json(&["list", "--json", "--workspace", WS]);
    assert!(!live.exists());
}

/// A large transcript: `turns` user/assistant turns with `payload` bytes of text each.
fn write_large_transcript(path: &Path, id: &str, turns: usize, payload: usize) -> usize {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let text: String =
        "lorem ipsum dolor sit amet ".repeat(payload / 27 + 1)[..payload].to_string();
    let mut parent: Option<String> = None;
    let mut n = 0;
    for t in 0..turns {
        for role in ["user", "assistant"] {
            let uuid = format!("{:08x}-0000-4000-8000-{:012x}", t, n);
            let mut v = json!({
                "parentUuid": parent,
                "isSidechain": false,
                "type": role,
                "message": {"role": role, "content": [{"type": "text", "text": format!("{role} {t}: {text}")}]},
                "uuid": uuid,
                "timestamp": "2026-11-21T06:00:00.000Z",
                "userType": "external",
                "cwd": WS,
                "sessionId": id,
                "version": "2.1.329",
                "gitBranch": "main",
            });
            if role == "assistant" {
                v["message"]["id"] = json!(format!("msg_{t}"));
                v["message"]["model"] = json!("claude-opus-5-5");
            }
            writeln!(f, "{v}").unwrap();
            parent = Some(uuid);
            n += 1;
        }
        writeln!(f, "{}", json!({"type": "last-prompt", "lastPrompt": format!("user {t}"), "leafUuid": parent, "sessionId": id})).unwrap();
    }
    n
}

/// Killing the sidecar at random points during 100 forks of a large transcript leaves the
/// source byte-identical and no partial session file visible; temp files are cleaned at the
/// next start.
#[test]
fn kill_during_forks_leaves_no_partial_session() {
    // On tmpfs when there is one: a fork is then CPU-bound (no multi-second fsync of the
    // virtual disk), so the 100 random kill points spread over the whole write.
    let home = match tempfile::tempdir_in("/dev/shm") {
        Ok(dir) => {
            copy_tree(&repo_root().join("tests/fixtures/home"), dir.path());
            restore_mtimes(dir.path(), &repo_root().join("tests/fixtures/mtimes.tsv"));
            std::fs::create_dir_all(dir.path().join(".xdg-cache")).unwrap();
            std::fs::create_dir_all(dir.path().join(".xdg-data")).unwrap();
            FixtureHome { dir }
        }
        Err(_) => FixtureHome::new(),
    };
    let proj = project(&home);
    let id = "7e57c0de-0000-4000-8000-000000000001";
    let src = proj.join(format!("{id}.jsonl"));
    let entries = write_large_transcript(&src, id, 600, 2600);
    let size = std::fs::metadata(&src).unwrap().len();
    assert!(size > 3_000_000, "large transcript: {size} bytes");
    let before = sha(&src);
    let known: HashSet<String> = uuid_files(&proj).into_iter().collect();

    // Calibrate: how long a whole fork takes here.
    let mut s = Server::start(&home, WS, json!({}));
    s.call("sessions/list", json!({}));
    let t0 = Instant::now();
    s.call("sessions/fork", json!({"session": id}));
    let full = t0.elapsed();
    // A clean exit saves the index cache: later starts need not re-read the source.
    s.shutdown();

    // A cheap deterministic-enough random source.
    let mut seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let max_delay = full.as_micros() as u64 + 1;
    // Every visible session file must be a whole fork (checked, then removed so the next
    // start does not spend its time indexing old forks).
    let mut complete = 0;
    let check_forks = |complete: &mut usize| {
        for f in uuid_files(&proj) {
            if known.contains(&f) {
                continue;
            }
            // Whole: every entry, newline-terminated, the closing title row last (the fork
            // writes no last-prompt or content-replacement row for this source).
            let p = proj.join(format!("{f}.jsonl"));
            let bytes = std::fs::read(&p).unwrap();
            assert_eq!(bytes.last(), Some(&b'\n'), "{f} is partial");
            let text = std::str::from_utf8(&bytes[..bytes.len() - 1]).unwrap();
            let mut ls = text.split('\n');
            let first: Value = serde_json::from_str(ls.next().unwrap()).unwrap();
            assert_eq!(first["forkedFrom"]["sessionId"], id);
            let last: Value = serde_json::from_str(text.rsplit('\n').next().unwrap()).unwrap();
            assert_eq!(last["type"], "custom-title", "{f} is partial");
            assert_eq!(text.split('\n').count(), entries + 1, "{f} is partial");
            std::fs::remove_file(&p).unwrap();
            *complete += 1;
        }
    };
    check_forks(&mut complete);
    assert_eq!(complete, 1, "the calibration fork");
    let mut temps_seen = 0;
    for _ in 0..100 {
        let mut s = Server::start(&home, WS, json!({}));
        s.request_async("sessions/fork", json!({"session": id}));
        std::thread::sleep(Duration::from_micros(rand() % max_delay));
        s.kill();
        if !temp_files(&proj).is_empty() {
            temps_seen += 1;
        }
        check_forks(&mut complete);
        assert_eq!(sha(&src), before, "the source is byte-identical");
    }
    eprintln!(
        "kill test: {} ms per fork, {} of 100 killed forks completed, temp files left by {temps_seen} kills",
        full.as_millis(),
        complete - 1
    );
    // The next start removes what killed writers left.
    let mut s = Server::start(&home, WS, json!({}));
    s.call("sessions/list", json!({}));
    assert_eq!(temp_files(&proj), Vec::<String>::new());
    s.shutdown();
}
