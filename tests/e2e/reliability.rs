//! Reliability and security e2e tests (issue 11): kills at random points during every mutation,
//! agents appending while we fork and page, files truncated or removed between and during
//! reads, read-only stores, a full disk, the inotify limit, hostile ids/titles/frames,
//! cancellation, load, file modes, logs, sockets. The fork kill test lives in mutations.rs.
//!
//! Every test prints what it injected (`faults: …`) so the run shows the counts.

use crate::support::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WS: &str = "/home/dev/acme-webapp";
const TOOL_USE: &str = "59e7b833-aace-4821-88a8-f970caa6c194";
const COMPACTED: &str = "f8b620d5-3e65-440f-b212-18ee553a6a7b";
const QWEN: &str = "a20c9abf-6786-496f-9996-61005c8ac25c";
const CODEX: &str = "01a1fcc8-d54e-7ed0-a7e2-b111c75d7f37";
const GEMINI: &str = "47d75b93-bf15-4461-8bef-b1f7c7e23d6b";
const TEMP_PREFIX: &str = ".session-sidecar-tmp-";

// ---------------------------------------------------------------------------------------------
// Helpers

fn sha(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A fixture home on tmpfs when there is one (forks and trims are then CPU-bound, so random
/// kill points spread over the whole write instead of one long fsync).
fn shm_home() -> FixtureHome {
    match tempfile::tempdir_in("/dev/shm") {
        Ok(dir) => {
            copy_tree(&repo_root().join("tests/fixtures/home"), dir.path());
            restore_mtimes(dir.path(), &repo_root().join("tests/fixtures/mtimes.tsv"));
            std::fs::create_dir_all(dir.path().join(".xdg-cache")).unwrap();
            std::fs::create_dir_all(dir.path().join(".xdg-data")).unwrap();
            FixtureHome { dir }
        }
        Err(_) => FixtureHome::new(),
    }
}

/// Temp files the sidecar left anywhere under `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    fn walk(d: &Path, v: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                v.push(p.clone());
            }
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                walk(&p, v);
            }
        }
    }
    walk(dir, &mut v);
    v
}

/// Whole JSON lines: newline-terminated, each line parses.
fn json_lines(bytes: &[u8]) -> Result<Vec<Value>, String> {
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        return Err("ends mid-line".into());
    }
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l)
                .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&l[..l.len().min(200)])))
        })
        .collect()
}

fn code(r: &Value) -> i64 {
    r["error"]["code"].as_i64().unwrap_or(0)
}

struct Rand(u64);
impl Rand {
    fn new() -> Rand {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        eprintln!("random seed {seed}");
        Rand(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn claude_line(id: &str, uuid: &str, parent: Option<&str>, role: &str, text: &str) -> String {
    let mut v = json!({
        "parentUuid": parent,
        "isSidechain": false,
        "type": role,
        "message": {"role": role, "content": [{"type": "text", "text": text}]},
        "uuid": uuid,
        "timestamp": "2026-11-21T06:00:00.000Z",
        "userType": "external",
        "cwd": WS,
        "sessionId": id,
        "version": "2.1.329",
        "gitBranch": "main",
    });
    if role == "assistant" {
        v["message"]["id"] = json!(format!("msg_{uuid}"));
        v["message"]["model"] = json!("claude-opus-5-5");
        v["message"]["usage"] = json!({"input_tokens": 10, "output_tokens": 5});
    }
    format!("{v}\n")
}

fn turn_uuid(n: usize) -> String {
    format!("{n:08x}-0000-4000-8000-000000000000")
}

/// A large Claude transcript of `turns` user/assistant pairs with `payload` bytes of text each,
/// and bulky tool results (so a trim has something to elide).
fn write_large_transcript(path: &Path, id: &str, turns: usize, payload: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let text = "lorem ipsum dolor sit amet ".repeat(payload / 27 + 1)[..payload].to_string();
    let mut parent: Option<String> = None;
    for t in 0..turns {
        for (k, role) in ["user", "assistant"].into_iter().enumerate() {
            let uuid = turn_uuid(t * 2 + k);
            f.write_all(
                claude_line(
                    id,
                    &uuid,
                    parent.as_deref(),
                    role,
                    &format!("{role} {t}: {text}"),
                )
                .as_bytes(),
            )
            .unwrap();
            parent = Some(uuid);
        }
    }
}

fn chmod(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The CLI with extra environment, as another user, or with a file-size limit.
fn cli_as(
    home: &FixtureHome,
    args: &[&str],
    uid: Option<u32>,
    fsize_limit: Option<u64>,
) -> (i32, String, String) {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(BIN);
    cmd.arg("--home").arg(home.path()).args(args);
    scrub_env(&mut cmd);
    for (k, v) in home.env() {
        cmd.env(k, v);
    }
    if let Some(u) = uid {
        cmd.uid(u).gid(u);
    }
    if let Some(limit) = fsize_limit {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let r = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------------------------------------
// Kills during rename, tag, delete and trim

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Rename,
    Tag,
    Delete,
    Trim,
}

/// 100 kills (25 per operation) at random points of rename, tag, delete and compress-trim of a
/// large transcript. After each: the source is the bytes it had plus whole appended records
/// (rename/tag) or byte-identical, in place or in the trash (delete); a trimmed copy is either
/// complete or absent. The next start removes the temp files killed writers left.
#[test]
fn kills_during_rename_tag_delete_and_trim_lose_nothing() {
    let home = shm_home();
    let proj = home.claude_project();
    let id = "7e57c0de-0000-4000-8000-0000000000a1";
    let src = proj.join(format!("{id}.jsonl"));
    write_large_transcript(&src, id, 300, 2600);
    let mut expected = std::fs::read(&src).unwrap();
    let known: HashSet<String> = uuid_files(&proj).into_iter().collect();
    let trash_entry = home
        .path()
        .join(".xdg-data/session-sidecar/trash/claude")
        .join(id);
    let opts = json!({"agents": ["claude"]});

    let request = |s: &mut Server, op: Op| -> i64 {
        match op {
            Op::Rename => s.request_async(
                "sessions/rename",
                json!({"session": id, "title": "Killed rename"}),
            ),
            Op::Tag => s.request_async("sessions/tag", json!({"session": id, "tag": "killed"})),
            Op::Delete => s.request_async("sessions/delete", json!({"session": id})),
            Op::Trim => s.request_async(
                "sessions/compress",
                json!({"session": id, "strategy": "trim", "keepTurns": 2, "minBytes": 512}),
            ),
        }
    };

    // Calibrate, before each operation's kills: the operation once, whole, from a fresh
    // server (the kill window is the time from the request to its answer, index load
    // included; a trim's line count is that of the source as it is now).
    let calibrate = |op: Op, expected: &mut Vec<u8>| -> (Duration, usize) {
        let mut s = Server::start(&home, WS, opts.clone());
        let t0 = Instant::now();
        let rid = request(&mut s, op);
        let r = s.wait_response(rid, TIMEOUT);
        let took = t0.elapsed();
        assert!(r.get("result").is_some(), "{op:?}: {r}");
        let mut lines = 0;
        match op {
            Op::Delete => {
                assert!(!src.exists());
                s.call("sessions/restore", json!({"session": id}));
                assert!(src.exists());
            }
            Op::Trim => {
                let p = PathBuf::from(r["result"]["session"]["path"].as_str().unwrap());
                lines = json_lines(&std::fs::read(&p).unwrap()).unwrap().len();
                std::fs::remove_file(&p).unwrap();
            }
            _ => {}
        }
        s.shutdown();
        let now = std::fs::read(&src).unwrap();
        assert!(now.starts_with(expected));
        *expected = now;
        (took, lines)
    };

    let mut rand = Rand::new();
    let mut faults = 0;
    let mut completed: HashMap<String, usize> = HashMap::new();
    let mut temps_seen = 0;
    for op in [Op::Rename, Op::Tag, Op::Delete, Op::Trim] {
        let name = format!("{op:?}").to_lowercase();
        let (full, trim_lines) = calibrate(op, &mut expected);
        // The kill window adapts: it shrinks after a kill that came after the operation had
        // finished and grows after one that came before, so kills land around the write.
        let mut window = full.as_micros() as u64 + 1;
        for _ in 0..25 {
            let mut s = Server::start(&home, WS, opts.clone());
            request(&mut s, op);
            std::thread::sleep(Duration::from_micros(rand.below(window)));
            s.kill();
            let done_before = completed.get(&name).copied().unwrap_or(0);
            faults += 1;
            if !temp_files(home.path()).is_empty() {
                temps_seen += 1;
            }
            // The source: in place, or (delete) whole in the trash.
            let stored = trash_entry.join(format!("0-{id}.jsonl"));
            let now = if src.exists() {
                assert!(!stored.exists(), "the session is in two places");
                std::fs::read(&src).unwrap()
            } else {
                assert_eq!(op, Op::Delete, "{op:?} lost the session file");
                let bytes = std::fs::read(&stored).expect("a deleted session is in the trash");
                *completed.entry(name.clone()).or_default() += 1;
                // Put it back for the next round.
                let (c, _, err) = cli_as(&home, &["restore", id], None, None);
                assert_eq!(c, 0, "restore: {err}");
                assert_eq!(std::fs::read(&src).unwrap(), bytes);
                bytes
            };
            assert!(
                now.starts_with(&expected),
                "{op:?}: the session's bytes changed"
            );
            let added = json_lines(&now[expected.len()..])
                .unwrap_or_else(|e| panic!("{op:?} left a partial line: {e}"));
            for v in &added {
                let ty = v["type"].as_str().unwrap_or("");
                assert!(
                    matches!(ty, "custom-title" | "agent-name" | "tag"),
                    "{op:?} appended {v}"
                );
            }
            if !added.is_empty() {
                *completed.entry(name.clone()).or_default() += 1;
            }
            expected = now;
            // A killed delete may leave its manifest (written first) without the file: the
            // trash must not list it as a deleted session.
            if src.exists() {
                let (c, out, _) = cli_as(&home, &["trash", "--json"], None, None);
                assert_eq!(c, 0);
                let items: Value = serde_json::from_str(&out).unwrap();
                assert_eq!(
                    items["items"],
                    json!([]),
                    "a live session listed in the trash"
                );
            }
            // A trimmed copy: whole or absent.
            for f in uuid_files(&proj) {
                if known.contains(&f) {
                    continue;
                }
                let p = proj.join(format!("{f}.jsonl"));
                let lines = json_lines(&std::fs::read(&p).unwrap())
                    .unwrap_or_else(|e| panic!("partial trim {f}: {e}"));
                assert_eq!(lines.len(), trim_lines, "partial trim {f}");
                assert_eq!(op, Op::Trim);
                std::fs::remove_file(&p).unwrap();
                *completed.entry(name.clone()).or_default() += 1;
            }
            if completed.get(&name).copied().unwrap_or(0) > done_before {
                window = window * 4 / 5 + 1;
            } else {
                window = window * 6 / 5 + 1;
            }
        }
    }
    // The next start cleans what killed writers left.
    let mut s = Server::start(&home, WS, opts);
    s.call("sessions/list", json!({}));
    s.shutdown();
    assert_eq!(
        temp_files(&proj),
        Vec::<PathBuf>::new(),
        "temp files after restart"
    );
    eprintln!(
        "faults: {faults} kills during rename/tag/delete/trim (completed before the kill: {completed:?}; temp files left by {temps_seen}, cleaned at restart); nothing lost"
    );
}

// ---------------------------------------------------------------------------------------------
// The agent appends while we fork and page

/// A writer appends messages (each line in three write(2) calls, so torn lines are on disk
/// all the time) while forks and history pages run. Forks end on a complete line and copy a
/// prefix of the conversation; pages never show a partial message.
#[test]
fn forks_and_pages_while_the_agent_appends() {
    let home = shm_home();
    let proj = home.claude_project();
    let id = "7e57c0de-0000-4000-8000-0000000000b2";
    let src = proj.join(format!("{id}.jsonl"));
    write_large_transcript(&src, id, 40, 400);
    let base_turns = 80;
    let mut s = Server::start(&home, WS, json!({"agents": ["claude"]}));
    s.call("sessions/list", json!({}));

    let texts: Arc<Mutex<HashMap<String, String>>> = Arc::new(Mutex::new(HashMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (texts, stop, src) = (texts.clone(), stop.clone(), src.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut n = base_turns;
            let mut f = std::fs::OpenOptions::new().append(true).open(&src).unwrap();
            while !stop.load(Ordering::Relaxed) && n < base_turns + 2000 {
                let uuid = turn_uuid(n);
                let parent = turn_uuid(n - 1);
                let role = if n % 2 == 0 { "user" } else { "assistant" };
                let text = format!("live {n} {}", "x".repeat(n % 700));
                texts.lock().unwrap().insert(uuid.clone(), text.clone());
                let line = claude_line(id, &uuid, Some(&parent), role, &text);
                let b = line.as_bytes();
                let (a, c) = (b.len() / 3, 2 * b.len() / 3);
                for part in [&b[..a], &b[a..c], &b[c..]] {
                    f.write_all(part).unwrap();
                    std::thread::sleep(Duration::from_micros(300));
                }
                n += 1;
            }
            n - base_turns
        })
    };

    let mut forks = 0;
    let mut pages = 0;
    let mut checked_items = 0;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(4) {
        let r = s.call("sessions/fork", json!({"session": id}));
        forks += 1;
        let p = PathBuf::from(r["session"]["path"].as_str().unwrap());
        let lines = json_lines(&std::fs::read(&p).unwrap())
            .unwrap_or_else(|e| panic!("a fork made while appending is not whole: {e}"));
        // Its messages are the source's first N, in order.
        let msgs: Vec<String> = lines
            .iter()
            .filter(|v| matches!(v["type"].as_str(), Some("user" | "assistant")))
            .map(|v| {
                v["message"]["content"][0]["text"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(msgs.len() >= base_turns);
        let t = texts.lock().unwrap();
        for (i, m) in msgs.iter().enumerate().skip(base_turns) {
            assert_eq!(Some(m), t.get(&turn_uuid(i)), "fork message {i}");
        }
        drop(t);
        std::fs::remove_file(&p).unwrap();

        for before in [None, Some(())] {
            let page = s.call("sessions/history", json!({"session": id, "limit": 15}));
            let page = if before.is_some() {
                match page["olderCursor"].as_str() {
                    Some(c) => s.call(
                        "sessions/history",
                        json!({"session": id, "limit": 15, "before": c}),
                    ),
                    None => page,
                }
            } else {
                page
            };
            pages += 1;
            let t = texts.lock().unwrap();
            let mut seen = HashSet::new();
            for item in page["items"].as_array().unwrap() {
                let iid = item["id"].as_str().unwrap();
                assert!(seen.insert(iid.to_string()), "item {iid} twice in a page");
                if let Some(want) = t.get(iid) {
                    assert_eq!(
                        item["content"][0]["text"].as_str(),
                        Some(want.as_str()),
                        "a page showed part of message {iid}"
                    );
                    checked_items += 1;
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let appended = writer.join().unwrap();
    // The last message is seen once the writer is done.
    let last = turn_uuid(base_turns + appended - 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = s.call("sessions/history", json!({"session": id, "limit": 3}));
        if page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == last)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the last appended message never showed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    s.shutdown();
    assert!(
        forks >= 3 && checked_items > 0,
        "{forks} forks, {checked_items} items"
    );
    eprintln!(
        "faults: {appended} messages appended in 3 torn writes each during {forks} forks and {pages} pages ({checked_items} live items checked whole)"
    );
}

// ---------------------------------------------------------------------------------------------
// Files truncated or removed between and during reads

/// A request on a file that changed under it answers with a result or a clear error (a
/// sidecar error code or invalid params, with a message), never an internal error.
fn clear_or_ok(r: &Value, what: &str, codes: &mut BTreeMap<i64, usize>) {
    if r.get("result").is_some() {
        *codes.entry(0).or_default() += 1;
        return;
    }
    let c = code(r);
    assert!(
        c == -32602 || (1001..=1016).contains(&c),
        "{what}: expected a result or a clear error, got {r}"
    );
    assert!(!r["error"]["message"].as_str().unwrap_or("").is_empty());
    *codes.entry(c).or_default() += 1;
}

fn session_calls(
    session: &str,
    msg_id: Option<&str>,
    cursor: Option<&str>,
) -> Vec<(String, Value)> {
    let mut v = vec![
        ("sessions/info".to_string(), json!({"session": session})),
        (
            "sessions/history".into(),
            json!({"session": session, "limit": 5}),
        ),
        ("sessions/subagents".into(), json!({"session": session})),
        ("sessions/context".into(), json!({"session": session})),
        ("sessions/fork".into(), json!({"session": session})),
        (
            "sessions/tag".into(),
            json!({"session": session, "tag": "t"}),
        ),
        ("sessions/list".into(), json!({"scope": "all"})),
    ];
    if let Some(m) = msg_id {
        v.push((
            "sessions/message".into(),
            json!({"session": session, "id": m}),
        ));
    }
    if let Some(c) = cursor {
        v.push((
            "sessions/history".into(),
            json!({"session": session, "limit": 5, "before": c}),
        ));
    }
    v
}

/// Every agent's sessions truncated mid-line, replaced, and removed between calls: each call
/// answers with a result or a clear error; cursors of the old file are stale. Then a file is
/// truncated, rewritten and removed in a loop while calls run against it.
#[test]
fn files_truncated_or_removed_between_and_during_reads() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({}));
    let list = s.call("sessions/list", json!({"scope": "all"}));
    let mut faults = 0;
    let mut calls = 0;
    let mut codes: BTreeMap<i64, usize> = BTreeMap::new();
    for id in [TOOL_USE, COMPACTED, QWEN, CODEX, GEMINI] {
        let info = s.call("sessions/info", json!({"session": id}));
        let path = PathBuf::from(info["path"].as_str().unwrap());
        let original = std::fs::read(&path).unwrap();
        let page = s.call("sessions/history", json!({"session": id, "limit": 3}));
        let msg = page["items"][0]["id"].as_str().map(str::to_string);
        let cursor = page["olderCursor"].as_str().map(str::to_string);

        // Truncated mid-line (the same file, shorter).
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(original.len() as u64 / 2 + 7).unwrap();
        drop(f);
        faults += 1;
        for (m, p) in session_calls(id, msg.as_deref(), cursor.as_deref()) {
            let r = s.request(&m, p);
            calls += 1;
            clear_or_ok(&r, &format!("{m} on truncated {id}"), &mut codes);
        }
        if let Some(c) = &cursor {
            let r = s.request(
                "sessions/history",
                json!({"session": id, "limit": 3, "before": c}),
            );
            assert_eq!(code(&r), 1005, "a cursor of a truncated file is stale: {r}");
        }
        // Replaced (a new file under the same name).
        let tmp = path.with_extension("swap");
        std::fs::write(&tmp, &original).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        faults += 1;
        if let Some(c) = &cursor {
            let r = s.request(
                "sessions/history",
                json!({"session": id, "limit": 3, "before": c}),
            );
            assert_eq!(code(&r), 1005, "a cursor of a replaced file is stale: {r}");
        }
        // Removed.
        std::fs::remove_file(&path).unwrap();
        faults += 1;
        for (m, p) in session_calls(id, msg.as_deref(), cursor.as_deref()) {
            let r = s.request(&m, p);
            calls += 1;
            clear_or_ok(&r, &format!("{m} on removed {id}"), &mut codes);
        }
        std::fs::write(&path, &original).unwrap();
    }
    // Forks made above on half files are removed with the home; the list still works.
    assert!(list["items"].as_array().unwrap().len() >= 10);

    // During reads: a thread truncates, rewrites and removes one file in a loop.
    let path = home.claude_project().join(format!("{TOOL_USE}.jsonl"));
    let original = std::fs::read(&path).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let (stop, path, original) = (stop.clone(), path.clone(), original.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                match n % 4 {
                    0 => {
                        let f = std::fs::OpenOptions::new().write(true).open(&path);
                        if let Ok(f) = f {
                            let _ = f.set_len(original.len() as u64 * (n % 7) / 8);
                        }
                    }
                    1 => {
                        let _ = std::fs::remove_file(&path);
                    }
                    _ => {
                        let _ = std::fs::write(&path, &original);
                    }
                }
                n += 1;
                std::thread::sleep(Duration::from_micros(700));
            }
            n
        })
    };
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        let ids: Vec<i64> = session_calls(TOOL_USE, None, None)
            .into_iter()
            .filter(|(m, _)| m != "sessions/fork" && m != "sessions/tag")
            .map(|(m, p)| s.request_async(&m, p))
            .collect();
        for rid in ids {
            let r = s.wait_response(rid, TIMEOUT);
            calls += 1;
            clear_or_ok(&r, "a call racing truncation", &mut codes);
        }
    }
    stop.store(true, Ordering::Relaxed);
    faults += churn.join().unwrap();
    std::fs::write(&path, &original).unwrap();
    // Once the file is back the session is again whole (the watcher re-reads it).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = s.request("sessions/info", json!({"session": TOOL_USE}));
        if r["result"]["sizeBytes"] == json!(original.len()) && r["result"]["countsExact"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restored file was not re-read: {r}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    s.shutdown();
    eprintln!("faults: {faults} truncations/replacements/removals under {calls} calls, all answered (result 0 or error code: {codes:?})");
}

// ---------------------------------------------------------------------------------------------
// Read-only stores, full disks

/// Every agent's store read-only (as an unprivileged user when root): fork, rename and trim
/// fail with a clear error and change nothing. (Claude rename/tag/fork/delete: mutations.rs.)
#[test]
fn read_only_stores_of_every_agent_change_nothing() {
    let home = FixtureHome::new();
    let root = unsafe { libc::geteuid() } == 0;
    chmod(home.path(), 0o755);
    for d in [".xdg-cache", ".xdg-data"] {
        chmod(&home.path().join(d), 0o777);
    }
    let stores: Vec<PathBuf> = [".claude", ".qwen", ".codex", ".gemini"]
        .iter()
        .map(|d| home.path().join(d))
        .collect();
    if !root {
        for s in &stores {
            for (p, _) in snapshot(s) {
                chmod(&p, 0o444);
            }
            fn dirs(d: &Path) {
                for e in std::fs::read_dir(d).unwrap().flatten() {
                    if e.file_type().unwrap().is_dir() {
                        dirs(&e.path());
                    }
                }
                chmod(d, 0o555);
            }
            dirs(s);
        }
    }
    let uid = root.then_some(65534);
    let before: Vec<_> = stores.iter().map(|s| snapshot(s)).collect();
    let mut faults = 0;
    for session in [
        format!("qwen:{QWEN}"),
        format!("codex:{CODEX}"),
        format!("gemini:{GEMINI}"),
        format!("claude:{TOOL_USE}"),
    ] {
        let mut cmds = vec![
            vec!["fork", session.as_str()],
            vec!["rename", session.as_str(), "Read-only title"],
        ];
        if session.starts_with("claude") {
            cmds.push(vec!["compress", session.as_str(), "--strategy", "trim"]);
        }
        for args in cmds {
            let mut a = vec!["--workspace", WS];
            a.extend(&args);
            let (c, out, err) = cli_as(&home, &a, uid, None);
            faults += 1;
            assert_eq!(c, 1, "{args:?} should fail: {out} {err}");
            assert!(err.contains("Permission denied"), "{args:?}: {err}");
            assert!(err.contains("cannot"), "{args:?}: {err}");
        }
    }
    let after: Vec<_> = stores.iter().map(|s| snapshot(s)).collect();
    assert!(before == after, "a read-only store changed");
    assert!(temp_files(home.path()).is_empty());
    if !root {
        for s in &stores {
            fn dirs(d: &Path) {
                chmod(d, 0o755);
                for e in std::fs::read_dir(d).unwrap().flatten() {
                    if e.file_type().unwrap().is_dir() {
                        dirs(&e.path());
                    }
                }
            }
            dirs(s);
        }
    }
    eprintln!("faults: {faults} writes refused by read-only stores, nothing changed");
}

/// A tmpfs mounted over a directory; unmounted on drop.
struct Mount(PathBuf);
impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| Mount(dir.to_path_buf()))
    }
}
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fill the filesystem of `dir` up to `leave` bytes free.
fn fill(dir: &Path, leave: u64) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![b'x'; 4096];
    loop {
        // SAFETY: statvfs on a valid path.
        let free = unsafe {
            let mut st: libc::statvfs = std::mem::zeroed();
            let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
            libc::statvfs(c.as_ptr(), &mut st);
            st.f_bavail * st.f_frsize
        };
        if free <= leave || f.write_all(&block).is_err() {
            break;
        }
    }
    let _ = f.sync_all();
}

/// A full disk. With a small tmpfs over the store (root): fork and trim fail with WriteFailed
/// (1008) and leave nothing; rename/tag on a full disk append a whole line or nothing; a delete
/// into a full trash keeps the session where it was. With a file-size limit
/// (RLIMIT_FSIZE, any user): fork and trim fail cleanly too.
#[test]
fn a_full_disk_changes_nothing() {
    let mut faults = 0;
    // RLIMIT_FSIZE: writes past 64 KiB fail with EFBIG.
    {
        let home = FixtureHome::new();
        let proj = home.claude_project();
        let before = snapshot(&home.path().join(".claude"));
        for args in [
            vec!["fork", TOOL_USE],
            vec![
                "compress",
                TOOL_USE,
                "--strategy",
                "trim",
                "--min-bytes",
                "10",
            ],
        ] {
            let mut a = vec!["--workspace", WS];
            a.extend(&args);
            let (c, out, err) = cli_as(&home, &a, None, Some(64 * 1024));
            faults += 1;
            assert_eq!(c, 1, "{args:?} past the file-size limit: {out} {err}");
            assert!(err.contains("File too large"), "{args:?}: {err}");
        }
        assert!(snapshot(&home.path().join(".claude")) == before);
        assert!(temp_files(&proj).is_empty());
        // A limit a few bytes past the end: the record's first bytes fit, the rest does not;
        // what was written is cut back, the file is as it was.
        let path = proj.join(format!("{TOOL_USE}.jsonl"));
        for (i, args) in [
            vec!["rename", TOOL_USE, "Past the limit"],
            vec!["tag", TOOL_USE, "past-the-limit"],
        ]
        .into_iter()
        .enumerate()
        {
            let len = std::fs::metadata(&path).unwrap().len();
            let (c, out, err) = cli_as(&home, &args, None, Some(len + 10 + i as u64));
            faults += 1;
            assert_eq!(c, 1, "{args:?} past the file-size limit: {out} {err}");
            assert!(err.contains("File too large"), "{args:?}: {err}");
            assert!(
                snapshot(&home.path().join(".claude")) == before,
                "{args:?} left bytes"
            );
        }
    }
    // A small tmpfs over the store and another over the data dir (trash).
    let home = FixtureHome::new();
    let proj = home.claude_project();
    let saved = home.path().join("saved-project");
    std::fs::rename(&proj, &saved).unwrap();
    std::fs::create_dir_all(&proj).unwrap();
    let Some(_m) = Mount::tmpfs(&proj, "1m") else {
        eprintln!("mount not permitted: the full-disk check ran with RLIMIT_FSIZE only");
        eprintln!("faults: {faults} writes past a file-size limit, nothing changed");
        return;
    };
    for id in [TOOL_USE, COMPACTED] {
        std::fs::copy(
            saved.join(format!("{id}.jsonl")),
            proj.join(format!("{id}.jsonl")),
        )
        .unwrap();
    }
    let data = home.path().join(".xdg-data");
    let _d = Mount::tmpfs(&data, "256k").expect("second tmpfs");
    let src_len = std::fs::metadata(proj.join(format!("{TOOL_USE}.jsonl")))
        .unwrap()
        .len();
    fill(&proj, src_len / 2);
    fill(&data, 0);
    let mut s = Server::start(&home, WS, json!({"agents": ["claude"]}));
    s.call("sessions/list", json!({}));
    let before = snapshot(&proj);
    for (m, p) in [
        ("sessions/fork", json!({"session": TOOL_USE})),
        (
            "sessions/compress",
            json!({"session": TOOL_USE, "strategy": "trim", "minBytes": 10}),
        ),
    ] {
        let r = s.request(m, p);
        faults += 1;
        assert_eq!(code(&r), 1008, "{m} on a full disk: {r}");
        assert!(
            r["error"]["message"].as_str().unwrap().contains("No space"),
            "{r}"
        );
        assert!(snapshot(&proj) == before, "{m} left something behind");
    }
    // Deleting into a full trash (another filesystem: copied, then removed) keeps the session.
    let r = s.request("sessions/delete", json!({"session": COMPACTED}));
    faults += 1;
    assert_eq!(code(&r), 1008, "delete into a full trash: {r}");
    assert!(
        snapshot(&proj) == before,
        "a failed delete changed the store"
    );
    assert_eq!(s.call("sessions/trash", json!({}))["items"], json!([]));
    assert!(temp_files(&data).is_empty());
    // Completely full: rename/tag append a whole record or nothing.
    fill(&proj, 0);
    let path = proj.join(format!("{TOOL_USE}.jsonl"));
    for i in 0..20 {
        let old = std::fs::read(&path).unwrap();
        let r = s.request(
            "sessions/rename",
            json!({"session": TOOL_USE, "title": format!("Full disk {i} {}", "t".repeat(i * 40))}),
        );
        faults += 1;
        let now = std::fs::read(&path).unwrap();
        assert!(now.starts_with(&old));
        json_lines(&now[old.len()..]).unwrap_or_else(|e| panic!("partial record: {e}"));
        if r.get("error").is_some() {
            assert_eq!(code(&r), 1008, "{r}");
            assert_eq!(now, old, "a failed rename changed the file");
        }
    }
    s.shutdown();
    eprintln!(
        "faults: {faults} writes on a full disk or past a file-size limit, nothing partial left"
    );
}

// ---------------------------------------------------------------------------------------------
// Writes before the watches are in place

/// How late the watches go in (`SESSION_SIDECAR_WATCH_DELAY_MS`): long enough for the test's
/// requests and its append to come first.
const WATCH_DELAY_MS: u64 = 4000;

/// The watcher thread installs its watches in the background (here `WATCH_DELAY_MS` late, as on
/// a loaded machine). A session appended to after the client listed it and subscribed to it, but
/// before the watches were in place, produced no event: the sidecar looks once when they are,
/// and the client gets both the new count (`sessions/changed`) and the new message
/// (`sessions/appended`).
#[test]
fn writes_before_the_watches_are_in_place_are_not_missed() {
    let home = FixtureHome::new();
    let mut s = Server::start_with(
        &home,
        WS,
        json!({}),
        &[("SESSION_SIDECAR_WATCH_DELAY_MS", WATCH_DELAY_MS.to_string())],
        None,
    );
    let t0 = Instant::now();
    s.call("sessions/list", json!({}));
    let before = s.call("sessions/info", json!({"session": TOOL_USE}))["messageCount"]
        .as_u64()
        .unwrap();
    let page = s.call("sessions/history", json!({"session": TOOL_USE, "limit": 2}));
    let sub = s.call(
        "sessions/subscribe",
        json!({"session": TOOL_USE, "after": page["newerCursor"]}),
    );
    let sub_id = sub["subscription"].as_str().unwrap().to_string();
    let last = page["items"].as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = home.claude_project().join(format!("{TOOL_USE}.jsonl"));
    append(
        &path,
        claude_line(
            TOOL_USE,
            &turn_uuid(9101),
            Some(&last),
            "user",
            "written before the watches",
        )
        .as_bytes(),
    );
    assert!(
        t0.elapsed() < Duration::from_millis(WATCH_DELAY_MS),
        "the append must come before the watches ({:?})",
        t0.elapsed()
    );
    let changed = s.wait_notification("sessions/changed", Duration::from_secs(10), |p| {
        p["updated"].as_array().is_some_and(|u| {
            u.iter()
                .any(|x| x["id"] == TOOL_USE && x["messageCount"] == json!(before + 1))
        })
    });
    assert!(changed.is_some(), "the new count was not pushed");
    let appended = s
        .wait_notification("sessions/appended", Duration::from_secs(10), |p| {
            p["subscription"] == sub_id.as_str()
        })
        .expect("the new message was not pushed");
    let items = appended["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["content"][0]["text"], "written before the watches");
    s.shutdown();
}

// ---------------------------------------------------------------------------------------------
// The inotify limit

/// Native watches beyond the first fail as at the kernel's inotify limit
/// (`SESSION_SIDECAR_WATCH_LIMIT=1`): the watcher polls instead, says so exactly once, and
/// appends to sessions of every store (the one watched before the fallback included) are seen.
#[test]
fn the_inotify_limit_falls_back_to_polling_once() {
    let home = FixtureHome::new();
    let err = home.path().join("stderr.log");
    let mut s = Server::start_with(
        &home,
        WS,
        json!({}),
        &[("SESSION_SIDECAR_WATCH_LIMIT", "1".into())],
        Some(&err),
    );
    s.call("sessions/list", json!({}));
    let claude = home.claude_project().join(format!("{TOOL_USE}.jsonl"));
    let qwen_info = s.call("sessions/info", json!({"session": QWEN}));
    let qwen = PathBuf::from(qwen_info["path"].as_str().unwrap());
    for (path, id, line) in [
        (
            &claude,
            TOOL_USE,
            claude_line(
                TOOL_USE,
                &turn_uuid(9001),
                None,
                "user",
                "appended under polling",
            ),
        ),
        (&qwen, QWEN, {
            // A Qwen record of the shape its store counts.
            let last = std::fs::read_to_string(&qwen).unwrap();
            let mut v: Value = serde_json::from_str(
                last.lines()
                    .rfind(|l| l.contains("\"type\":\"user\""))
                    .unwrap(),
            )
            .unwrap();
            v["uuid"] = json!("0e0e0e0e-0000-4000-8000-000000000001");
            format!("{v}\n")
        }),
    ] {
        let before = s.call("sessions/info", json!({"session": id}))["messageCount"]
            .as_u64()
            .unwrap();
        s.drain_notifications();
        let t0 = Instant::now();
        append(path, line.as_bytes());
        let want = id.to_string();
        let n = s.wait_notification("sessions/changed", Duration::from_secs(5), |p| {
            p["updated"].as_array().is_some_and(|u| {
                u.iter()
                    .any(|x| x["id"] == want && x["messageCount"] == json!(before + 1))
            })
        });
        assert!(n.is_some(), "an append to {id} was not seen within 5 s");
        let after = s.call("sessions/info", json!({"session": id}))["messageCount"]
            .as_u64()
            .unwrap();
        assert_eq!(after, before + 1, "{id}");
        eprintln!("append to {id} seen in {:?} (polling)", t0.elapsed());
    }
    s.shutdown();
    let log = std::fs::read_to_string(&err).unwrap();
    assert_eq!(
        log.matches("inotify watch limit reached").count(),
        1,
        "the fallback is announced exactly once: {log}"
    );
    assert!(log.contains("falling back to polling"));
    eprintln!("faults: 1 inotify limit hit (watches 2.. refused), appends seen by polling");
}

// ---------------------------------------------------------------------------------------------
// Hostile input

/// Session ids with `..`, `/`, NUL, very long, in every method that takes a session: refused
/// with InvalidSessionId (1003), nothing touched.
#[test]
fn hostile_session_ids_are_refused_everywhere() {
    let home = FixtureHome::new();
    let before = snapshot(&home.path().join(".claude"));
    let mut s = Server::start(&home, WS, json!({}));
    let long = "a".repeat(100_000);
    let bad: Vec<Value> = vec![
        json!("../../../etc/passwd"),
        json!("59e7b833/../../x"),
        json!("claude:../59e7b833-aace"),
        json!("59e7b833-aace\u{0}"),
        json!("..%2f..%2f59e7b833"),
        json!("/etc/passwd"),
        json!(long),
        json!(format!("claude:{long}")),
        json!({"agent": "claude", "id": "../../59e7b833"}),
        json!({"agent": "qwen", "id": "59e7b833\u{0}aaaa"}),
        json!({"agent": "codex", "id": "a/b/c/d/e/f/g/h"}),
    ];
    let mut refused = 0;
    for session in &bad {
        for (m, p) in [
            ("sessions/info", json!({"session": session})),
            ("sessions/history", json!({"session": session})),
            ("sessions/message", json!({"session": session, "id": "x"})),
            ("sessions/subscribe", json!({"session": session})),
            ("sessions/subagents", json!({"session": session})),
            ("sessions/resume", json!({"session": session})),
            ("sessions/fork", json!({"session": session})),
            ("sessions/rename", json!({"session": session, "title": "T"})),
            ("sessions/tag", json!({"session": session, "tag": "t"})),
            ("sessions/delete", json!({"session": session})),
            ("sessions/restore", json!({"session": session})),
            ("sessions/context", json!({"session": session})),
            (
                "sessions/compress",
                json!({"session": session, "strategy": "trim"}),
            ),
        ] {
            let r = s.request(m, p);
            assert_eq!(code(&r), 1003, "{m} {session}: {r}");
            let msg = r["error"]["message"].as_str().unwrap();
            assert!(
                msg.len() < 400,
                "the message echoes a bounded id: {}",
                msg.len()
            );
            assert!(!msg.contains('\0'));
            refused += 1;
        }
    }
    // A subagent id and a message id with path parts are not paths either.
    for (m, p) in [
        (
            "sessions/history",
            json!({"session": TOOL_USE, "subagent": "../../../../etc/passwd"}),
        ),
        (
            "sessions/message",
            json!({"session": TOOL_USE, "id": "../../x", "subagent": "../x"}),
        ),
        (
            "sessions/fork",
            json!({"session": TOOL_USE, "upToMessage": "../../etc/passwd"}),
        ),
    ] {
        let r = s.request(m, p.clone());
        assert!(r.get("error").is_some(), "{m} {p}: {r}");
        assert_ne!(code(&r), -32603, "{r}");
        refused += 1;
    }
    s.shutdown();
    let mut after = snapshot(&home.path().join(".claude"));
    after.retain(|p, _| before.contains_key(p));
    assert!(after == before, "a hostile id changed a file");
    eprintln!("faults: {refused} hostile ids refused");
}

/// Titles and tags with control characters and line breaks are stored cleaned, on one line.
#[test]
fn hostile_titles_are_stored_as_one_clean_line() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({"agents": ["claude"]}));
    let path = home.claude_project().join(format!("{TOOL_USE}.jsonl"));
    let nasty = "  Fix\nlogin\r\n\u{7}bug\u{1b}[31m red\u{0} \u{2028}end\t\u{85}x  ";
    let old = std::fs::read(&path).unwrap();
    let r = s.call(
        "sessions/rename",
        json!({"session": TOOL_USE, "title": nasty}),
    );
    let title = r["session"]["title"].as_str().unwrap();
    assert!(!title.chars().any(|c| c.is_control()), "{title:?}");
    assert_eq!(title, title.trim());
    assert!(
        title.contains("Fix login") && title.contains("end"),
        "{title:?}"
    );
    let now = std::fs::read(&path).unwrap();
    let added = json_lines(&now[old.len()..]).unwrap();
    assert_eq!(
        added.len(),
        2,
        "custom-title and agent-name rows, one line each"
    );
    for v in &added {
        let t = v["customTitle"]
            .as_str()
            .or(v["agentName"].as_str())
            .unwrap();
        assert_eq!(t, title);
    }
    let r = s.call(
        "sessions/tag",
        json!({"session": TOOL_USE, "tag": "a\nb\u{0}c\u{202e}"}),
    );
    assert_eq!(r["session"]["tag"], "abc");
    let r = s.call(
        "sessions/fork",
        json!({"session": TOOL_USE, "title": "one\ntwo\u{7}"}),
    );
    assert_eq!(r["session"]["title"], "one two");
    let fork = std::fs::read(r["session"]["path"].as_str().unwrap()).unwrap();
    json_lines(&fork).unwrap();
    for empty in ["\n\r\t", "\u{7}\u{1b}"] {
        let e = s.call_err(
            "sessions/rename",
            json!({"session": TOOL_USE, "title": empty}),
        );
        assert_eq!(e["code"], -32602);
    }
    s.shutdown();
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    v.extend_from_slice(body);
    v
}

/// 10,000 malformed frames and unknown methods over stdio: garbage bodies, bad lengths, invalid
/// JSON, wrong types, unknown methods, notifications with ids. The server answers each with the
/// right code and keeps serving.
#[test]
fn ten_thousand_malformed_frames_do_not_stop_the_server() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({"agents": ["claude"]}));
    s.call("sessions/list", json!({}));
    // A length over the 64 MiB limit: refused without waiting for (or holding) its bytes; the
    // next frame is read.
    s.send_bytes(b"Content-Length: 99999999999\r\n\r\n{\"jsonrpc\":");
    s.send_bytes(&frame(
        br#"{"jsonrpc":"2.0","id":"after-huge","method":"sessions/trash","params":{}}"#,
    ));
    let r = s.wait_response_id(json!("after-huge"), TIMEOUT);
    assert!(r["result"]["items"].is_array(), "{r}");
    let refused = s.drain_responses();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(code(&refused[0]), -32600, "{refused:?}");
    let rounds = 1000;
    let mut malformed = 1;
    let mut checks = Vec::new();
    for n in 0..rounds {
        let mut batch = Vec::new();
        // -32700: not JSON, not UTF-8, a length that is too short (then its rest is garbage),
        // a length that is not a number, a length that runs into the next frame.
        batch.extend(frame(b"{not json"));
        batch.extend(frame(b"{\"jsonrpc\":\"2.0\",\"id\":\xff\xfe}"));
        batch.extend(b"Content-Length: 12\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}");
        batch.extend(b"Content-Length: twelve\r\n\r\n{}");
        batch.extend(b"Content-Length: 100000\r\n\r\n{\"jsonrpc\":");
        // -32600: not a message, an id of the wrong type.
        batch.extend(frame(b"[1,2,3]"));
        batch.extend(frame(
            br#"{"jsonrpc":"2.0","id":{"x":1},"method":"sessions/list"}"#,
        ));
        // -32602: wrong types in params.
        batch.extend(frame(
            format!(r#"{{"jsonrpc":"2.0","id":"w{n}","method":"sessions/info","params":{{"session":42}}}}"#).as_bytes(),
        ));
        // -32601: unknown method.
        batch.extend(frame(
            format!(r#"{{"jsonrpc":"2.0","id":"u{n}","method":"sessions/nope{n}","params":{{}}}}"#)
                .as_bytes(),
        ));
        // -32600: a notification sent with an id.
        batch.extend(frame(
            format!(r#"{{"jsonrpc":"2.0","id":"n{n}","method":"workspace/didChangeConfiguration","params":{{"settings":{{}}}}}}"#).as_bytes(),
        ));
        // No answer: an unknown notification.
        batch.extend(frame(
            br#"{"jsonrpc":"2.0","method":"x/unknown","params":[1]}"#,
        ));
        malformed += 11;
        s.send_bytes(&batch);
        checks.push((format!("w{n}"), -32602));
        checks.push((format!("u{n}"), -32601));
        checks.push((format!("n{n}"), -32600));
        if n % 100 == 99 {
            // Still serving, between the garbage.
            let r = s.call("sessions/trash", json!({}));
            assert!(r["items"].is_array());
        }
    }
    // 3 id'd answers and 8 null-id errors per round; each id'd one with its code.
    let null_ids = 8 * rounds;
    assert!(
        s.wait_responses(null_ids, Duration::from_secs(60), |r| r["id"].is_null()),
        "fewer than {null_ids} parse/invalid-request errors"
    );
    for (id, want) in &checks {
        let r = s.wait_response_id(json!(id), TIMEOUT);
        assert_eq!(code(&r), *want, "{id}: {r}");
    }
    let errors = s.drain_responses();
    let parse = errors.iter().filter(|r| code(r) == -32700).count();
    let invalid = errors.iter().filter(|r| code(r) == -32600).count();
    assert_eq!(parse, 6 * rounds, "-32700 answers");
    assert_eq!(invalid, 2 * rounds, "-32600 answers");
    let r = s.call("sessions/info", json!({"session": TOOL_USE}));
    assert_eq!(r["id"], TOOL_USE);
    let st = s.shutdown();
    assert!(st.success());
    eprintln!(
        "faults: {malformed} malformed frames and unknown methods, all answered, server alive"
    );
}

/// After `shutdown` every request is refused (-32600) and `exit` ends the process with 0.
#[test]
fn requests_after_shutdown_are_refused_and_exit_exits() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({"agents": ["claude"]}));
    s.call("sessions/list", json!({}));
    let r = s.request("shutdown", Value::Null);
    assert!(r.get("result").is_some(), "{r}");
    for m in ["sessions/list", "sessions/fork", "shutdown"] {
        let r = s.request(m, json!({"session": TOOL_USE}));
        assert_eq!(code(&r), -32600, "{m} after shutdown: {r}");
    }
    let r = s.request("sessions/nope", json!({}));
    assert_eq!(code(&r), -32601, "{r}");
    s.notify("exit", Value::Null);
    let st = s.wait_exit(TIMEOUT).expect("exit ends the server");
    assert_eq!(st.code(), Some(0));
}

/// `$/cancelRequest` of every long request answers -32800 and leaves no file: history of a
/// large file, fork of it, trim of it. (Agent compaction: context.rs kills the agent.)
#[test]
fn cancelled_long_requests_leave_nothing() {
    let home = shm_home();
    let proj = home.claude_project();
    let id = "7e57c0de-0000-4000-8000-0000000000c3";
    let src = proj.join(format!("{id}.jsonl"));
    write_large_transcript(&src, id, 1500, 3000);
    let before = sha(&std::fs::read(&src).unwrap());
    let known = uuid_files(&proj);
    let mut cancelled = 0;
    for round in 0..3 {
        for (m, p) in [
            ("sessions/history", json!({"session": id, "limit": 1000})),
            ("sessions/fork", json!({"session": id})),
            (
                "sessions/compress",
                json!({"session": id, "strategy": "trim", "minBytes": 64}),
            ),
        ] {
            let mut s = Server::start(&home, WS, json!({"agents": ["claude"]}));
            s.call("sessions/list", json!({}));
            let rid = s.request_async(m, p);
            if round > 0 {
                std::thread::sleep(Duration::from_millis(5 * round));
            }
            s.notify("$/cancelRequest", json!({"id": rid}));
            let r = s.wait_response(rid, TIMEOUT);
            assert_eq!(code(&r), -32800, "{m}: {r}");
            cancelled += 1;
            // The process ends only once its handlers have (the runtime waits for them):
            // then nothing may have been committed.
            let st = s.shutdown();
            assert!(st.success());
            assert_eq!(uuid_files(&proj), known, "a cancelled {m} left a session");
            assert!(
                temp_files(&proj).is_empty(),
                "a cancelled {m} left a temp file"
            );
            assert_eq!(sha(&std::fs::read(&src).unwrap()), before);
        }
    }
    eprintln!("faults: {cancelled} long requests cancelled, nothing left behind");
}

// ---------------------------------------------------------------------------------------------
// Load

fn vm_hwm_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Peak memory the server may reach under the load below.
const LOAD_HWM_BOUND_MB: u64 = 256;

/// 200 concurrent `sessions/history` requests (pages and cursors across the corpus and a
/// large session) while an agent appends: every request answers, and the server's peak
/// resident memory stays under `LOAD_HWM_BOUND_MB`.
#[test]
fn two_hundred_concurrent_history_requests_with_live_appends() {
    let home = shm_home();
    let proj = home.claude_project();
    let big = "7e57c0de-0000-4000-8000-0000000000d4";
    let src = proj.join(format!("{big}.jsonl"));
    write_large_transcript(&src, big, 2000, 2000);
    let mut s = Server::start(&home, WS, json!({}));
    let list = s.call("sessions/list", json!({"scope": "all"}));
    let ids: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["agent"].as_str().unwrap(),
                i["id"].as_str().unwrap()
            )
        })
        .collect();
    let page = s.call("sessions/history", json!({"session": big, "limit": 50}));
    let cursor = page["olderCursor"].as_str().unwrap().to_string();
    let start_hwm = vm_hwm_kb(s.pid());

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, src) = (stop.clone(), src.clone());
        std::thread::spawn(move || {
            let mut n = 4000;
            while !stop.load(Ordering::Relaxed) {
                let line = claude_line(
                    big,
                    &turn_uuid(n),
                    Some(&turn_uuid(n - 1)),
                    if n % 2 == 0 { "user" } else { "assistant" },
                    &format!("live {n}"),
                );
                append(&src, line.as_bytes());
                n += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            n - 4000
        })
    };
    let t0 = Instant::now();
    let mut reqs = Vec::new();
    for i in 0..200 {
        let p = match i % 4 {
            0 => json!({"session": big, "limit": 200}),
            1 => json!({"session": big, "limit": 100, "before": cursor}),
            2 => json!({"session": ids[i % ids.len()], "limit": 1000}),
            _ => json!({"session": big, "limit": 20, "after": cursor}),
        };
        reqs.push(s.request_async("sessions/history", p));
    }
    let mut items = 0;
    for rid in reqs {
        let r = s.wait_response(rid, Duration::from_secs(60));
        let page = r
            .get("result")
            .unwrap_or_else(|| panic!("history under load: {r}"));
        items += page["items"].as_array().unwrap().len();
    }
    let took = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let appended = writer.join().unwrap();
    let hwm = vm_hwm_kb(s.pid());
    s.shutdown();
    eprintln!(
        "load: 200 concurrent history requests ({items} items) in {took:?} with {appended} appends; VmHWM {} MB (before {} MB, bound {LOAD_HWM_BOUND_MB} MB)",
        hwm / 1024,
        start_hwm / 1024
    );
    assert!(
        hwm / 1024 < LOAD_HWM_BOUND_MB,
        "peak memory {} MB over {LOAD_HWM_BOUND_MB} MB",
        hwm / 1024
    );
}

// ---------------------------------------------------------------------------------------------
// Privacy

/// What the sidecar creates is private: forks, trimmed copies and manifests 0600; the trash,
/// cache and data folders 0700.
#[test]
fn created_files_are_0600_and_folders_0700() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({}));
    s.call("sessions/list", json!({"scope": "all"}));
    let mut files = Vec::new();
    for session in [
        format!("claude:{TOOL_USE}"),
        format!("qwen:{QWEN}"),
        format!("codex:{CODEX}"),
        format!("gemini:{GEMINI}"),
    ] {
        let r = s.call("sessions/fork", json!({"session": session}));
        files.push(PathBuf::from(r["session"]["path"].as_str().unwrap()));
    }
    let r = s.call(
        "sessions/compress",
        json!({"session": TOOL_USE, "strategy": "trim", "minBytes": 10}),
    );
    files.push(PathBuf::from(r["session"]["path"].as_str().unwrap()));
    let original_mode = mode(&home.claude_project().join(format!("{COMPACTED}.jsonl")));
    s.call("sessions/delete", json!({"session": COMPACTED}));
    s.shutdown();
    let data = home.path().join(".xdg-data/session-sidecar");
    let cache = home.path().join(".xdg-cache/session-sidecar");
    let entry = data.join("trash/claude").join(COMPACTED);
    files.push(entry.join("manifest.json"));
    // The trashed session file itself was moved, not created: it keeps its mode, and the
    // 0700 entry folder keeps it private.
    let stored = entry.join(format!("0-{COMPACTED}.jsonl"));
    assert_eq!(mode(&stored), original_mode);
    for f in std::fs::read_dir(&cache).unwrap().flatten() {
        files.push(f.path());
    }
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    for d in [
        &data,
        &data.join("trash"),
        &data.join("trash/claude"),
        &entry,
        &cache,
    ] {
        assert_eq!(mode(d), 0o700, "{}", d.display());
    }
    // A restored session keeps the mode it had.
    let (c, _, err) = cli_as(&home, &["restore", COMPACTED], None, None);
    assert_eq!(c, 0, "{err}");
    eprintln!("privacy: {} files 0600, 5 folders 0700", files.len());
}

/// With `SESSION_SIDECAR_LOG=trace` nothing of the conversations reaches the log: no prompt,
/// no answer, no title. With `logContent: true` the transport's trace of message bodies is kept
/// (which also shows the check would see content if it were there).
#[test]
fn logs_never_carry_message_content() {
    let home = FixtureHome::new();
    // Conversation text to look for: first prompts, an answer, a title.
    let mut needles: Vec<String> = Vec::new();
    let mut s = Server::start(&home, WS, json!({}));
    let list = s.call("sessions/list", json!({"scope": "all"}));
    for i in list["items"].as_array().unwrap() {
        if let Some(p) = i["firstPrompt"].as_str() {
            needles.push(p.chars().take(40).collect());
        }
    }
    let page = s.call(
        "sessions/history",
        json!({"session": TOOL_USE, "limit": 50}),
    );
    for item in page["items"].as_array().unwrap() {
        for b in item["content"].as_array().unwrap() {
            if let Some(t) = b["text"].as_str().filter(|t| t.len() > 20) {
                needles.push(t.chars().take(40).collect());
            }
        }
    }
    s.shutdown();
    needles.retain(|n| n.len() >= 12);
    needles.sort();
    needles.dedup();
    assert!(needles.len() >= 5, "{needles:?}");

    let run = |log_content: bool| -> String {
        let err = home.path().join(format!("stderr-{log_content}.log"));
        let mut s = Server::start_with(
            &home,
            WS,
            json!({"logContent": log_content}),
            &[("SESSION_SIDECAR_LOG", "trace".into())],
            Some(&err),
        );
        s.call("sessions/list", json!({"scope": "all"}));
        s.call(
            "sessions/history",
            json!({"session": TOOL_USE, "limit": 50}),
        );
        s.call("sessions/info", json!({"session": QWEN}));
        s.call(
            "sessions/history",
            json!({"session": format!("gemini:{GEMINI}")}),
        );
        let f = s.call(
            "sessions/fork",
            json!({"session": TOOL_USE, "title": "Secret fork title"}),
        );
        s.call(
            "sessions/rename",
            json!({"session": f["session"]["id"], "title": "Secret renamed title"}),
        );
        s.call("sessions/trash", json!({}));
        s.send_bytes(&frame(
            b"{\"jsonrpc\":\"2.0\",\"id\":\"bad\",\"method\":{\"secret prompt text\":1}}",
        ));
        s.wait_response_id(json!("bad"), TIMEOUT);
        s.shutdown();
        std::fs::read_to_string(&err).unwrap()
    };
    let quiet = run(false);
    assert!(
        quiet.lines().count() > 50,
        "trace logging is on: {} lines",
        quiet.lines().count()
    );
    for n in needles.iter().map(String::as_str).chain([
        "Secret fork title",
        "Secret renamed title",
        "secret prompt text",
    ]) {
        assert!(
            !quiet.contains(n),
            "the log carries conversation text {n:?}"
        );
    }
    let loud = run(true);
    assert!(
        needles.iter().any(|n| loud.contains(n.as_str())),
        "logContent: true logs message bodies"
    );
}

/// After start and a few requests the server holds no socket: its descriptors are stdio pipes,
/// files and inotify; and no socket of this process is in /proc/net/{tcp,tcp6,udp,udp6}.
#[test]
fn no_network_socket_is_opened() {
    let home = FixtureHome::new();
    let mut s = Server::start(&home, WS, json!({"agentPaths": {"claude": "/bin/sh"}}));
    s.call("sessions/list", json!({"scope": "all"}));
    s.call("sessions/history", json!({"session": TOOL_USE}));
    s.call("sessions/fork", json!({"session": TOOL_USE}));
    s.call("sessions/resume", json!({"session": TOOL_USE}));
    let pid = s.pid();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut sockets = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        let target = std::fs::read_link(e.path())
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kind = if let Some(inode) = target.strip_prefix("socket:[") {
            sockets.push(inode.trim_end_matches(']').to_string());
            "socket"
        } else if target.starts_with("pipe:") {
            "pipe"
        } else if target.starts_with("anon_inode:") {
            "anon_inode"
        } else {
            "file"
        };
        *kinds.entry(kind.into()).or_default() += 1;
    }
    let stdio: Vec<String> = (0..3)
        .map(|fd| {
            std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        stdio[0].starts_with("pipe:") && stdio[1].starts_with("pipe:"),
        "{stdio:?}"
    );
    assert_eq!(
        sockets,
        Vec::<String>::new(),
        "socket descriptors: {kinds:?}"
    );
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        let t = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for inode in &sockets {
            assert!(
                !t.contains(&format!(" {inode} ")),
                "{table} lists our socket {inode}"
            );
        }
    }
    s.shutdown();
    eprintln!("sockets: none; descriptors {kinds:?}");
}
