//! The e2e test server: spawns the real `session-sidecar` binary, speaks LSP-framed JSON-RPC
//! over its stdio, and waits on notifications with timeouts (never sleeps-and-hopes).

#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_session-sidecar");

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A private copy of a fixture home (`tests/fixtures/home` by default) with the recorded
/// mtimes restored, plus private XDG cache/data dirs.
pub struct FixtureHome {
    pub dir: tempfile::TempDir,
}

impl FixtureHome {
    pub fn new() -> FixtureHome {
        Self::from(
            &repo_root().join("tests/fixtures/home"),
            &repo_root().join("tests/fixtures/mtimes.tsv"),
        )
    }

    pub fn corpus() -> FixtureHome {
        Self::from(
            &repo_root().join("tests/fixtures/corpus"),
            &repo_root().join("tests/fixtures/corpus/mtimes.tsv"),
        )
    }

    pub fn from(src: &Path, mtimes: &Path) -> FixtureHome {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(src, dir.path());
        restore_mtimes(dir.path(), mtimes);
        std::fs::create_dir_all(dir.path().join(".xdg-cache")).unwrap();
        std::fs::create_dir_all(dir.path().join(".xdg-data")).unwrap();
        FixtureHome { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn claude_project(&self) -> PathBuf {
        self.path().join(".claude/projects/-home-dev-acme-webapp")
    }

    /// Environment for a sidecar process reading this home.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "XDG_CACHE_HOME".into(),
                self.path().join(".xdg-cache").display().to_string(),
            ),
            (
                "XDG_DATA_HOME".into(),
                self.path().join(".xdg-data").display().to_string(),
            ),
        ]
    }

    /// Run the CLI against this home; returns (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new(BIN);
        cmd.arg("--home").arg(self.path()).args(args);
        scrub_env(&mut cmd);
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn cli_json(&self, args: &[&str]) -> Value {
        let (code, out, err) = self.cli(args);
        assert_eq!(code, 0, "session-sidecar {args:?} failed: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }
}

/// Agent store overrides from the developer's environment must not leak into tests.
pub fn scrub_env(cmd: &mut Command) {
    for k in [
        "CLAUDE_CONFIG_DIR",
        "QWEN_HOME",
        "QWEN_RUNTIME_DIR",
        "CODEX_HOME",
        "GEMINI_CLI_HOME",
    ] {
        cmd.env_remove(k);
    }
}

pub fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

pub fn restore_mtimes(home: &Path, tsv: &Path) {
    let Ok(text) = std::fs::read_to_string(tsv) else {
        return;
    };
    for line in text.lines() {
        let Some((secs, rel)) = line.split_once('\t') else {
            continue;
        };
        let secs: i64 = secs.trim().parse().unwrap();
        let p = home.join(rel.trim_start_matches("./"));
        if let Ok(f) = std::fs::File::options().write(true).open(&p) {
            let t = std::time::UNIX_EPOCH + Duration::from_secs(secs as u64);
            f.set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(t))
                .unwrap();
        }
    }
}

#[derive(Default)]
struct Inbox {
    responses: Vec<Value>,
    notifications: VecDeque<Value>,
    closed: bool,
}

/// A running sidecar speaking JSON-RPC over stdio.
pub struct Server {
    child: Child,
    stdin: ChildStdin,
    inbox: Arc<(Mutex<Inbox>, Condvar)>,
    next_id: i64,
    pub home: Option<PathBuf>,
}

pub const TIMEOUT: Duration = Duration::from_secs(20);

impl Server {
    /// Spawn `session-sidecar serve` against `home`, and initialize with `options`.
    pub fn start(home: &FixtureHome, workspace: &str, options: Value) -> Server {
        Self::start_with(home, workspace, options, &[], None)
    }

    pub fn spawn(home: &FixtureHome) -> Server {
        Self::spawn_with(home, &[], None)
    }

    /// `start` with extra environment, and stderr captured in a file.
    pub fn start_with(
        home: &FixtureHome,
        workspace: &str,
        options: Value,
        env: &[(&str, String)],
        stderr: Option<&Path>,
    ) -> Server {
        let mut s = Self::spawn_with(home, env, stderr);
        let mut opts = options;
        if opts.get("home").is_none() {
            opts["home"] = json!(home.path());
        }
        let r = s.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": null,
                "capabilities": {},
                "workspaceFolders": [{"uri": format!("file://{workspace}"), "name": "ws"}],
                "initializationOptions": opts,
            }),
        );
        assert!(r.get("result").is_some(), "initialize failed: {r}");
        s.notify("initialized", json!({}));
        s
    }

    pub fn spawn_with(home: &FixtureHome, env: &[(&str, String)], stderr: Option<&Path>) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(match stderr {
                Some(p) => Stdio::from(std::fs::File::create(p).unwrap()),
                None => Stdio::inherit(),
            });
        scrub_env(&mut cmd);
        for (k, v) in home.env() {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let inbox = Arc::new((Mutex::new(Inbox::default()), Condvar::new()));
        let ib = inbox.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let msg = read_frame(&mut r);
                let (lock, cv) = &*ib;
                let mut g = lock.lock().unwrap();
                match msg {
                    Some(v) => {
                        if v.get("id").is_some() && v.get("method").is_none() {
                            g.responses.push(v);
                        } else {
                            g.notifications.push_back(v);
                        }
                    }
                    None => {
                        g.closed = true;
                        cv.notify_all();
                        return;
                    }
                }
                cv.notify_all();
            }
        });
        Server {
            child,
            stdin,
            inbox,
            next_id: 1,
            home: Some(home.path().to_path_buf()),
        }
    }

    pub fn send_raw(&mut self, body: &[u8]) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(body).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Raw bytes on the server's stdin (no framing added).
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    pub fn send(&mut self, v: &Value) {
        self.send_raw(serde_json::to_string(v).unwrap().as_bytes());
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Send a request without waiting; returns its id.
    pub fn request_async(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    pub fn wait_response(&mut self, id: i64, timeout: Duration) -> Value {
        let (lock, cv) = &*self.inbox;
        let deadline = Instant::now() + timeout;
        let mut g = lock.lock().unwrap();
        loop {
            if let Some(i) = g.responses.iter().position(|r| r["id"] == json!(id)) {
                return g.responses.remove(i);
            }
            let now = Instant::now();
            assert!(
                now < deadline && !g.closed,
                "no response to request {id} within {timeout:?}"
            );
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// The response with this id (any JSON id: a string, a number, null).
    pub fn wait_response_id(&mut self, id: Value, timeout: Duration) -> Value {
        let (lock, cv) = &*self.inbox;
        let deadline = Instant::now() + timeout;
        let mut g = lock.lock().unwrap();
        loop {
            if let Some(i) = g.responses.iter().position(|r| r["id"] == id) {
                return g.responses.remove(i);
            }
            let now = Instant::now();
            assert!(
                now < deadline && !g.closed,
                "no response to request {id} within {timeout:?}"
            );
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// Send a request and wait for the whole response (`{"result": …}` or `{"error": …}`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.request_async(method, params);
        self.wait_response(id, TIMEOUT)
    }

    /// The result of a request that must succeed.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let r = self.request(method, params.clone());
        match r.get("result") {
            Some(v) => v.clone(),
            None => panic!("{method} {params} failed: {r}"),
        }
    }

    /// The error of a request that must fail.
    pub fn call_err(&mut self, method: &str, params: Value) -> Value {
        let r = self.request(method, params.clone());
        match r.get("error") {
            Some(v) => v.clone(),
            None => panic!("{method} {params} should have failed: {r}"),
        }
    }

    /// Wait for the next notification of `method` matching `pred` (earlier ones are dropped).
    pub fn wait_notification(
        &mut self,
        method: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let (lock, cv) = &*self.inbox;
        let deadline = Instant::now() + timeout;
        let mut g = lock.lock().unwrap();
        loop {
            while let Some(n) = g.notifications.pop_front() {
                if n["method"] == method && pred(&n["params"]) {
                    return Some(n["params"].clone());
                }
            }
            let now = Instant::now();
            if now >= deadline || g.closed {
                return None;
            }
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// Responses received so far and not yet taken by `wait_response` (drained).
    pub fn drain_responses(&mut self) -> Vec<Value> {
        let (lock, _) = &*self.inbox;
        lock.lock().unwrap().responses.drain(..).collect()
    }

    /// Wait until `n` responses matching `pred` have arrived (they stay queued).
    pub fn wait_responses(
        &mut self,
        n: usize,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> bool {
        let (lock, cv) = &*self.inbox;
        let deadline = Instant::now() + timeout;
        let mut g = lock.lock().unwrap();
        loop {
            if g.responses.iter().filter(|r| pred(r)).count() >= n {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || g.closed {
                return false;
            }
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// Wait for the process to exit (after `exit`, or a kill).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Notifications received so far (drained).
    pub fn drain_notifications(&mut self) -> Vec<Value> {
        let (lock, _) = &*self.inbox;
        lock.lock().unwrap().notifications.drain(..).collect()
    }

    pub fn shutdown(mut self) -> std::process::ExitStatus {
        let _ = self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_frame<R: BufRead>(r: &mut R) -> Option<Value> {
    let mut len: Option<usize> = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length:") {
            len = v.trim().parse().ok();
        }
    }
    let mut body = vec![0u8; len?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// Append bytes to a file (as an agent would).
pub fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_data().unwrap();
}

/// Every file under `dir` with its contents (to prove that nothing changed).
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut m = std::collections::BTreeMap::new();
    fn walk(d: &Path, m: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(&p, m);
            } else {
                m.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    walk(dir, &mut m);
    m
}

/// The session ids (`<uuid>.jsonl` names) in a folder, sorted.
pub fn uuid_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_suffix(".jsonl")
                .filter(|id| session_sidecar::ids::is_uuid(id))
                .map(str::to_string)
        })
        .collect();
    v.sort();
    v
}
