//! Issue: sidecar foundation — list/info over the CLI and stdio, the live index, bad input.

use crate::support::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const WS: &str = "/home/dev/acme-webapp";

fn ms(iso: &str) -> i64 {
    // 2026-11-21T06:28:17.696Z
    let (date, time) = iso.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    // days from civil (Howard Hinnant)
    let (y, m, day) = (d[0] - (d[1] <= 2) as i64, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let frac_ms: i64 = format!("{:0<3}", &frac[..frac.len().min(3)])
        .parse()
        .unwrap();
    ((days * 86400 + t[0] * 3600 + t[1] * 60 + t[2]) * 1000) + frac_ms
}

/// Compare a `sessions/list` result with the official SDK's `list_sessions` golden.
fn assert_matches_sdk_golden(result: &Value) {
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/golden/sdk_list_sessions.json")).unwrap(),
    )
    .unwrap();
    let sdk = golden["sessions"].as_array().unwrap();
    let ours = result["items"].as_array().unwrap();
    assert_eq!(ours.len(), 8, "exactly the 8 Claude sessions");
    assert_eq!(sdk.len(), ours.len());
    for (g, o) in sdk.iter().zip(ours) {
        let id = g["session_id"].as_str().unwrap();
        assert_eq!(o["id"], g["session_id"], "order (newest first) and ids");
        assert_eq!(o["agent"], "claude");
        assert_eq!(o["title"], g["summary"], "title of {id}");
        assert_eq!(o["customTitle"], g["custom_title"], "custom title of {id}");
        assert_eq!(o["firstPrompt"], g["first_prompt"], "first prompt of {id}");
        assert_eq!(o["gitBranch"], g["git_branch"], "branch of {id}");
        assert_eq!(o["cwd"], g["cwd"], "cwd of {id}");
        assert_eq!(o["tag"], g["tag"], "tag of {id}");
        assert_eq!(o["sizeBytes"], g["file_size"], "size of {id}");
        assert_eq!(
            ms(o["createdAt"].as_str().unwrap()),
            g["created_at"].as_i64().unwrap(),
            "created of {id}"
        );
        assert_eq!(
            ms(o["lastModified"].as_str().unwrap()),
            g["last_modified"].as_i64().unwrap(),
            "modified of {id}"
        );
        assert!(o["messageCount"].as_u64().unwrap() > 0);
        assert_eq!(o["model"], "claude-opus-5-5");
    }
}

#[test]
fn cli_list_matches_the_official_sdk() {
    let home = FixtureHome::new();
    let r = home.cli_json(&["list", "--workspace", WS, "--json", "--agent", "claude"]);
    assert_matches_sdk_golden(&r);
}

#[test]
fn cli_table_and_info() {
    let home = FixtureHome::new();
    let (code, out, err) = home.cli(&["list", "--workspace", WS, "--agent", "claude"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Corpus title 4") && out.contains("feature/login"),
        "{out}"
    );
    let info = home.cli_json(&["info", "a0a51dc5", "--json"]);
    assert_eq!(info["id"], "a0a51dc5-d7b2-43b0-80f6-e51fa390a987");
    assert_eq!(info["title"], "Corpus title 4");
    let (code, out, _) = home.cli(&["info", "claude:a0a51dc5-d7b2-43b0-80f6-e51fa390a987"]);
    assert_eq!(code, 0);
    assert!(out.contains("Corpus title 4"));
}

#[test]
fn stdio_list_matches_the_official_sdk() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({"agents": ["claude"]}));
    let r = s.call("sessions/list", json!({"scope": "workspace"}));
    assert_matches_sdk_golden(&r);
    // initialize advertised the protocol
    let info = s.call("sessions/info", json!({"session": "claude:59e7b833"}));
    assert_eq!(info["gitBranch"], "main");
    assert!(s.shutdown().success());
}

#[test]
fn initialize_advertises_methods() {
    let home = FixtureHome::new();
    let mut s = Server::spawn(&home);
    let r = s.call(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}, "initializationOptions": {"home": home.path(), "workspace": WS}}),
    );
    let caps = &r["capabilities"]["experimental"]["sessionSidecar"];
    assert_eq!(caps["protocolVersion"], 1);
    let methods: Vec<&str> = caps["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(methods.contains(&"sessions/list") && methods.contains(&"sessions/info"));
}

#[test]
fn paging_with_cursor_covers_every_session_once() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({"agents": ["claude"]}));
    let mut seen = vec![];
    let mut cursor = Value::Null;
    loop {
        let r = s.call("sessions/list", json!({"limit": 3, "cursor": cursor}));
        for it in r["items"].as_array().unwrap() {
            seen.push(it["id"].as_str().unwrap().to_string());
        }
        cursor = r["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(seen.len(), 8);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 8);
    let branch = s.call("sessions/list", json!({"branch": "feature/login"}));
    assert_eq!(branch["items"].as_array().unwrap().len(), 2);
    let q = s.call("sessions/list", json!({"query": "CORPUS TITLE"}));
    assert_eq!(q["items"].as_array().unwrap().len(), 1);
}

fn count_of(s: &mut Server, id: &str) -> u64 {
    s.call("sessions/info", json!({"session": id}))["messageCount"]
        .as_u64()
        .unwrap()
}

#[test]
fn appends_torn_lines_and_deletes_are_pushed() {
    let home = FixtureHome::new();
    let id = "f205d6e4-de5f-4f14-8702-317c76336a05";
    let file = home.claude_project().join(format!("{id}.jsonl"));
    let mut s = Server::start(&home, WS, json!({"agents": ["claude"]}));
    // Let the background exact counts of the cold start land first: they are pushed as updates
    // too, and this test counts the updates its own appends cause.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !s.call("sessions/list", json!({}))["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["countsExact"] == true)
    {
        assert!(Instant::now() < deadline, "exact counts never completed");
        s.wait_notification("sessions/changed", Duration::from_millis(200), |_| true);
    }
    let before = count_of(&mut s, id);
    // Claude Code leaves its last row without a newline and starts its next append with one.
    append(&file, b"\n");
    let len = std::fs::metadata(&file).unwrap().len();
    s.wait_notification("sessions/changed", Duration::from_secs(5), |p| {
        p["updated"]
            .as_array()
            .is_some_and(|u| u.iter().any(|x| x["id"] == id && x["sizeBytes"] == len))
    })
    .expect("the newline append is seen");
    s.drain_notifications();

    // One complete user line -> one sessions/changed within 500 ms carrying the new count.
    let line = format!(
        r#"{{"parentUuid":null,"isSidechain":false,"type":"user","message":{{"role":"user","content":"appended by the test"}},"uuid":"11111111-2222-4333-8444-555555555555","timestamp":"2026-11-21T07:00:00.000Z","cwd":"{WS}","sessionId":"{id}","gitBranch":"main"}}"#
    );
    let t0 = Instant::now();
    append(&file, format!("{line}\n").as_bytes());
    let n = s
        .wait_notification("sessions/changed", Duration::from_secs(5), |p| {
            p["updated"]
                .as_array()
                .is_some_and(|u| u.iter().any(|x| x["id"] == id))
        })
        .expect("sessions/changed after an append");
    // The 500 ms bound is measured by the benchmark (bench/run.sh, append latency p50/p99);
    // here it is reported, so a loaded test machine cannot make the suite flaky.
    eprintln!("append -> sessions/changed in {:?}", t0.elapsed());
    let upd = n["updated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(
        upd["messageCount"].as_u64().unwrap(),
        before + 1,
        "update {upd} before {before}"
    );
    // exactly one notification for that append
    assert!(s
        .wait_notification("sessions/changed", Duration::from_millis(400), |p| p
            ["updated"]
            .as_array()
            .is_some_and(|u| u.iter().any(|x| x["id"] == id)))
        .is_none());

    // Half a line: no count change until the rest arrives.
    let line2 = line.replace(
        "11111111-2222-4333-8444-555555555555",
        "11111111-2222-4333-8444-666666666666",
    );
    let (a, b) = line2.split_at(line2.len() / 2);
    append(&file, a.as_bytes());
    // Wait for the watcher to have seen the torn write (a size change), then check the count.
    let _ = s.wait_notification("sessions/changed", Duration::from_millis(600), |_| true);
    assert_eq!(
        count_of(&mut s, id),
        before + 1,
        "a torn line counts only once complete"
    );
    append(&file, format!("{b}\n").as_bytes());
    s.wait_notification("sessions/changed", Duration::from_secs(5), |p| {
        p["updated"].as_array().is_some_and(|u| {
            u.iter()
                .any(|x| x["id"] == id && x["messageCount"] == before + 2)
        })
    })
    .expect("the completed line is counted");

    // Delete -> removed
    std::fs::remove_file(&file).unwrap();
    s.wait_notification("sessions/changed", Duration::from_secs(5), |p| {
        p["removed"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["id"] == id && x["agent"] == "claude"))
    })
    .expect("removed after delete");
}

#[test]
fn new_session_file_is_added() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({"agents": ["claude"]}));
    let _ = s.call("sessions/list", json!({}));
    let id = "22222222-3333-4444-8555-666666666666";
    let src = std::fs::read(
        home.claude_project()
            .join("f205d6e4-de5f-4f14-8702-317c76336a05.jsonl"),
    )
    .unwrap();
    let text = String::from_utf8(src)
        .unwrap()
        .replace("f205d6e4-de5f-4f14-8702-317c76336a05", id);
    std::fs::write(home.claude_project().join(format!("{id}.jsonl")), text).unwrap();
    s.wait_notification("sessions/changed", Duration::from_secs(5), |p| {
        p["added"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["id"] == id))
    })
    .expect("added");
}

#[test]
fn moved_project_path_is_used_as_given() {
    // The workspace path does not exist on this machine: its sessions are still listed.
    let home = FixtureHome::new();
    let ws = "/home/dev/acme-webapp";
    let r = home.cli_json(&["list", "--workspace", ws, "--json", "--agent", "claude"]);
    assert_eq!(r["items"].as_array().unwrap().len(), 8);
    let other = home.cli_json(&["list", "--workspace", "/home/dev/nothing-here", "--json"]);
    assert_eq!(other["items"].as_array().unwrap().len(), 0);
}

#[test]
fn bad_ids_are_clear_errors() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({}));
    for (sess, code) in [
        (json!("../../etc/passwd"), 1003),
        (json!("59e7b833/../x"), 1003),
        (json!("abc"), 1003),
        (json!("deadbeef-0000-4000-8000-000000000000"), 1001),
        (json!("vim:59e7b833"), 1003),
        (json!({"agent": "claude", "id": "..\u{0}"}), 1003),
    ] {
        let e = s.call_err("sessions/info", json!({"session": sess}));
        assert_eq!(e["code"], code, "{sess}: {e}");
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    // wrong param types -> invalid params
    let e = s.call_err("sessions/info", json!({"session": 42}));
    assert_eq!(e["code"], -32602);
    let e = s.call_err("sessions/list", json!({"limit": 0}));
    assert_eq!(e["code"], -32602);
    // CLI: clear message, non-zero exit, no panic
    let (code, _, err) = home.cli(&["info", "../../etc"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid session id"), "{err}");
    let (code, _, err) = home.cli(&["info", "deadbeef-0000-4000-8000-000000000000"]);
    assert_eq!(code, 3);
    assert!(err.contains("no session"), "{err}");
}

#[test]
fn garbage_and_unreadable_input_is_skipped_with_count() {
    let home = FixtureHome::new();
    let id = "59e7b833-aace-4821-88a8-f970caa6c194";
    let file = home.claude_project().join(format!("{id}.jsonl"));
    let before = home.cli_json(&["info", id, "--json"]);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(
        b"this is not json\n\xff\xfe\x00 invalid utf8\n{\"type\":\"user\",\"uuid\":\n",
    );
    std::fs::write(&file, bytes).unwrap();
    let after = home.cli_json(&["info", id, "--json"]);
    assert_eq!(after["messageCount"], before["messageCount"]);
    assert_eq!(after["skippedLines"], 3);
    assert_eq!(after["title"], before["title"]);
    // A store root that is not a directory: a clear error, not a panic.
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join(".claude"), b"not a dir").unwrap();
    let mut cmd = std::process::Command::new(BIN);
    scrub_env(&mut cmd);
    let out = cmd
        .args(["--home"])
        .arg(broken.path())
        .args(["list", "--workspace", WS, "--json", "--agent", "claude"])
        .env("XDG_CACHE_HOME", broken.path().join("c"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn warm_start_reuses_the_cache() {
    let home = FixtureHome::new();
    let a = home.cli_json(&["list", "--workspace", WS, "--json", "--agent", "claude"]);
    let cache_dir = home.path().join(".xdg-cache/session-sidecar");
    assert!(
        std::fs::read_dir(&cache_dir).unwrap().count() >= 1,
        "cache written"
    );
    let b = home.cli_json(&["list", "--workspace", WS, "--json", "--agent", "claude"]);
    assert_eq!(a, b);
}

/// The generated corpus (compactions, renames, forks, large files): a cold list over stdio (head
/// and tail of large files only) and the CLI's full read both agree with the official SDK.
#[test]
fn corpus_cold_and_full_lists_match_the_sdk() {
    let home = FixtureHome::corpus();
    for project in ["project-000", "project-001", "project-002"] {
        let ws = format!("/home/dev/src/{project}");
        let golden: Value = serde_json::from_str(
            &std::fs::read_to_string(repo_root().join(format!(
                "tests/golden/sdk_list_sessions_corpus/-home-dev-src-{project}.json"
            )))
            .unwrap(),
        )
        .unwrap();
        let sdk = golden["sessions"].as_array().unwrap();
        let mut s = Server::start(&home, &ws, json!({"agents": ["claude"]}));
        let cold = s.call("sessions/list", json!({}));
        s.shutdown();
        let full = home.cli_json(&["list", "--workspace", &ws, "--json", "--agent", "claude"]);
        for result in [&cold, &full] {
            let ours = result["items"].as_array().unwrap();
            assert_eq!(ours.len(), sdk.len(), "{project}");
            for (g, o) in sdk.iter().zip(ours) {
                let id = g["session_id"].as_str().unwrap();
                assert_eq!(o["id"], g["session_id"], "{project} order");
                assert_eq!(o["title"], g["summary"], "title of {id}");
                assert_eq!(o["customTitle"], g["custom_title"], "custom title of {id}");
                assert_eq!(o["firstPrompt"], g["first_prompt"], "first prompt of {id}");
                assert_eq!(o["gitBranch"], g["git_branch"], "branch of {id}");
                assert_eq!(o["sizeBytes"], g["file_size"], "size of {id}");
                assert_eq!(
                    ms(o["createdAt"].as_str().unwrap()),
                    g["created_at"].as_i64().unwrap(),
                    "created of {id}"
                );
            }
        }
        assert!(full["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["countsExact"] == true));
    }
}
