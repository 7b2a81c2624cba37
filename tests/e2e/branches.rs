//! Issue: git-branch awareness and fork on checkout. Each test creates a real git repository
//! in a temporary directory, copies fixture Claude sessions into the project directory the CLI
//! uses for that path (their `cwd` and `gitBranch` rewritten so they belong to it), runs the
//! real sidecar over stdio and drives `git` itself.

use crate::support::*;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// 4 turns on main (Bash, Read, parallel Bash, thinking); resumes with 14 history messages.
const MAIN_A: &str = "59e7b833-aace-4821-88a8-f970caa6c194";
/// 3 text-only turns on main.
const MAIN_B: &str = "f205d6e4-de5f-4f14-8702-317c76336a05";
/// A session of feature/login.
const LOGIN: &str = "5c8ccf4c-96fa-4146-804a-a036ef32968c";
/// A prompt that never got an answer (made from MAIN_A's first lines): no model turn.
const UNANSWERED: &str = "0b7e0c11-7c4e-4d59-9e8e-3f1a2b4c5d6e";
const FIXTURE_PATH: &str = "/home/dev/acme-webapp";
const METHOD: &str = "sessions/branchChanged";
/// The bound: the notification arrives within this long after `git checkout` returns.
const LATENCY_BOUND: Duration = Duration::from_secs(1);
const T0: u64 = 1_795_242_000;

fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = git_cmd(dir, args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn git_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir).args(args);
    for k in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_CEILING_DIRECTORIES",
    ] {
        c.env_remove(k);
    }
    c.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_TERMINAL_PROMPT", "0");
    c
}

/// A temporary git repository with a home holding Claude sessions for it.
struct Fixture {
    home: FixtureHome,
    _repo_dir: tempfile::TempDir,
    /// The repository's real path (what the CLI records as `cwd`).
    repo: PathBuf,
}

impl Fixture {
    /// A repository on `main` with `commits` commits (0: no commits, HEAD on an unborn branch).
    fn new(commits: usize) -> Fixture {
        let home = FixtureHome {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(home.path().join(".xdg-cache")).unwrap();
        std::fs::create_dir_all(home.path().join(".xdg-data")).unwrap();
        let repo_dir = tempfile::tempdir().unwrap();
        let repo = std::fs::canonicalize(repo_dir.path()).unwrap().join("acme");
        std::fs::create_dir_all(&repo).unwrap();
        git_in(&repo, &["-c", "init.defaultBranch=main", "init", "-q"]);
        let f = Fixture {
            home,
            _repo_dir: repo_dir,
            repo,
        };
        for i in 0..commits {
            f.commit(&format!("c{i}"));
        }
        f
    }

    fn git(&self, args: &[&str]) -> String {
        git_in(&self.repo, args)
    }

    fn commit(&self, msg: &str) {
        std::fs::write(self.repo.join("notes.txt"), msg).unwrap();
        self.git(&["add", "notes.txt"]);
        self.git(&["commit", "-q", "-m", msg]);
    }

    fn project_for(&self, path: &Path) -> PathBuf {
        self.home.path().join(".claude/projects").join(
            session_sidecar::store::claude::project_dir_name(&path.to_string_lossy()),
        )
    }

    /// Copy fixture session `id` as a session of `cwd` on `branch`, modified at `T0 + age`.
    fn seed_at(&self, id: &str, cwd: &Path, branch: &str, age: u64) -> PathBuf {
        let src = repo_root()
            .join("tests/fixtures/home/.claude/projects/-home-dev-acme-webapp")
            .join(format!("{id}.jsonl"));
        let text = std::fs::read_to_string(src).unwrap();
        let text = rebind(&text, cwd, branch);
        self.write_session(id, cwd, &text, age)
    }

    fn seed(&self, id: &str, branch: &str, age: u64) -> PathBuf {
        self.seed_at(id, &self.repo.clone(), branch, age)
    }

    /// A session with a prompt and no answer (no model turn), on `branch`.
    fn seed_unanswered(&self, branch: &str, age: u64) -> PathBuf {
        let src = repo_root()
            .join("tests/fixtures/home/.claude/projects/-home-dev-acme-webapp")
            .join(format!("{MAIN_A}.jsonl"));
        let text = std::fs::read_to_string(src).unwrap();
        let head: String = text
            .lines()
            .take(3)
            .map(|l| format!("{}\n", l.replace(MAIN_A, UNANSWERED)))
            .collect();
        assert!(head.contains("\"type\":\"user\""));
        let text = rebind(&head, &self.repo, branch);
        self.write_session(UNANSWERED, &self.repo.clone(), &text, age)
    }

    fn write_session(&self, id: &str, cwd: &Path, text: &str, age: u64) -> PathBuf {
        let dir = self.project_for(cwd);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{id}.jsonl"));
        std::fs::write(&path, text).unwrap();
        let t = std::time::UNIX_EPOCH + Duration::from_secs(T0 + age);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(t))
            .unwrap();
        path
    }

    /// Every file name under the Claude projects directory (sessions, temp files, folders).
    fn store_files(&self) -> BTreeSet<String> {
        fn walk(d: &Path, base: &Path, out: &mut BTreeSet<String>) {
            if let Ok(rd) = std::fs::read_dir(d) {
                for e in rd.flatten() {
                    let p = e.path();
                    out.insert(p.strip_prefix(base).unwrap().display().to_string());
                    if p.is_dir() {
                        walk(&p, base, out);
                    }
                }
            }
        }
        let mut out = BTreeSet::new();
        let base = self.home.path().join(".claude/projects");
        walk(&base, &base, &mut out);
        out
    }

    /// A stand-in `claude` executable (continue only builds its argv, never runs it).
    fn claude_exe(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let exe = self.home.path().join("bin/claude");
        std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
        std::fs::write(&exe, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        exe
    }

    fn start(&self, policy: &str) -> Server {
        let mut s = Server::start(
            &self.home,
            &self.repo.to_string_lossy(),
            json!({
                "agents": ["claude"],
                "forkOnCheckout": policy,
                "agentPaths": {"claude": self.claude_exe()},
            }),
        );
        // A request after `initialized`: the watcher has read the initial HEAD by now.
        s.call("sessions/list", json!({}));
        s
    }
}

/// Point a fixture transcript at `cwd` and `branch`.
fn rebind(text: &str, cwd: &Path, branch: &str) -> String {
    let cwd = cwd.to_string_lossy();
    text.replace(FIXTURE_PATH, &cwd)
        .replace(
            "\"gitBranch\":\"feature/login\"",
            &format!("\"gitBranch\":\"{branch}\""),
        )
        .replace(
            "\"gitBranch\":\"main\"",
            &format!("\"gitBranch\":\"{branch}\""),
        )
}

/// Wait for the `sessions/branchChanged` matching `pred`; returns it and every
/// `sessions/branchChanged` that arrived before it.
fn branch_changes_until(
    s: &mut Server,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> (Vec<Value>, Value) {
    let seen = RefCell::new(Vec::new());
    let hit = s.wait_notification(METHOD, timeout, |p| {
        seen.borrow_mut().push(p.clone());
        pred(p)
    });
    let mut seen = seen.into_inner();
    let hit =
        hit.unwrap_or_else(|| panic!("no matching {METHOD} within {timeout:?}; got {seen:#?}"));
    seen.pop();
    (seen, hit)
}

fn to_branch(b: &'static str) -> impl Fn(&Value) -> bool {
    move |p: &Value| p["to"] == b
}

/// `git checkout`, then the time until its notification (measured from the command's return).
fn checkout_and_wait(
    f: &Fixture,
    s: &mut Server,
    args: &[&str],
    to: &'static str,
) -> (Value, Duration) {
    f.git(args);
    let returned = Instant::now();
    let n = s
        .wait_notification(METHOD, TIMEOUT, to_branch(to))
        .unwrap_or_else(|| panic!("no {METHOD} to {to}"));
    (n, returned.elapsed())
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn resume_check(f: &Fixture, id: &str) {
    if std::env::var("RESUME_CHECK").as_deref() != Ok("1") {
        return;
    }
    let shared = std::env::var_os("SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"));
    let script = shared.join("tools/agents/resume-check.sh");
    let out = Command::new(&script)
        .arg("claude")
        .arg(f.home.path())
        .arg(&f.repo)
        .arg(id)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "resume-check claude <home> <repo> {id}:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the real CLI did not resume the fork");
    let result: Value = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|r| serde_json::from_str(r).unwrap())
        .expect("a RESULT line");
    let baseline: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/resume-baseline.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(result["resumed"], true);
    assert_eq!(
        result["history_messages"],
        baseline[format!("claude:{MAIN_A}")]["history_messages"],
        "the fork resumes with the whole conversation of its source"
    );
}

#[test]
fn auto_forks_once_onto_the_new_branch_and_checking_back_continues_the_original() {
    let f = Fixture::new(2);
    f.seed(MAIN_B, "main", 0);
    f.seed(MAIN_A, "main", 100);
    let mut s = f.start("auto");
    let current = s.call("sessions/list", json!({"branch": "@current"}));
    assert_eq!(ids(&current), [MAIN_A, MAIN_B], "both main sessions");
    let before = f.store_files();

    let (n, latency) = checkout_and_wait(
        &f,
        &mut s,
        &["checkout", "-q", "-b", "feature-x"],
        "feature-x",
    );
    eprintln!(
        "auto: branchChanged {} ms after git checkout",
        latency.as_millis()
    );
    assert!(latency < LATENCY_BOUND, "notification after {latency:?}");
    assert_eq!(n["workspace"], json!(f.repo));
    assert_eq!(n["from"], "main");
    assert_eq!(n["detached"], false);
    assert_eq!(n["candidate"]["id"], MAIN_A, "the newest main session");
    let fork = &n["forked"];
    let fork_id = fork["id"].as_str().expect("a fork was made").to_string();
    assert_ne!(fork_id, MAIN_A);
    assert_eq!(fork["gitBranch"], "feature-x");
    assert_eq!(fork["forkedFrom"]["sessionId"], MAIN_A);
    assert_eq!(
        fork["title"].as_str().unwrap(),
        format!(
            "{} (fork \u{2192} feature-x)",
            n["candidate"]["title"].as_str().unwrap()
        )
    );

    // Exactly one new file, the fork; the sources untouched.
    let after = f.store_files();
    let added: Vec<_> = after.difference(&before).collect();
    assert_eq!(added.len(), 1, "exactly one file written: {added:?}");
    assert!(added[0].ends_with(&format!("{fork_id}.jsonl")));
    assert!(before.is_subset(&after));

    // Listed under the new branch, and only there.
    let on_feature = s.call("sessions/list", json!({"branch": "@current"}));
    assert_eq!(ids(&on_feature), [fork_id.as_str()]);
    assert_eq!(on_feature["items"][0]["gitBranch"], "feature-x");
    let named = s.call("sessions/list", json!({"branch": "feature-x"}));
    assert_eq!(ids(&named), [fork_id.as_str()]);
    let cont = s.call("sessions/continue", json!({"branch": "@current"}));
    assert_eq!(
        cont["session"]["id"],
        json!(fork_id),
        "continue on feature-x"
    );

    // Back to main: main has its own sessions, nothing is forked, continue picks the original.
    let (back, _) = checkout_and_wait(&f, &mut s, &["checkout", "-q", "main"], "main");
    assert_eq!(back["from"], "feature-x");
    assert_eq!(back["candidate"], Value::Null);
    assert_eq!(back["forked"], Value::Null);
    let cont = s.call("sessions/continue", json!({"branch": "@current"}));
    assert_eq!(
        cont["session"]["id"], MAIN_A,
        "continue on main is the original"
    );
    assert_eq!(cont["session"]["gitBranch"], "main");
    assert!(
        cont["argv"].as_array().unwrap().contains(&json!(MAIN_A)),
        "{cont}"
    );
    assert_eq!(cont["cwd"], json!(f.repo));

    // And to feature-x again: it has its fork already, so no second one.
    let (again, _) = checkout_and_wait(&f, &mut s, &["checkout", "-q", "feature-x"], "feature-x");
    assert_eq!(again["candidate"], Value::Null);
    assert_eq!(again["forked"], Value::Null);
    assert_eq!(f.store_files(), after, "no second fork");
    s.shutdown();

    // With RESUME_CHECK=1 (tests/branch_resume_check.sh): the real CLI resumes the fork.
    resume_check(&f, &fork_id);
}

#[test]
fn ask_notifies_with_the_candidate_within_a_second_and_writes_nothing() {
    let f = Fixture::new(2);
    f.seed(MAIN_B, "main", 0);
    f.seed(MAIN_A, "main", 100);
    // Newer, but without a model turn: not a candidate.
    f.seed_unanswered("main", 200);
    let mut s = f.start("ask");
    let before = f.store_files();

    let (n, latency) = checkout_and_wait(&f, &mut s, &["checkout", "-q", "-b", "try-b"], "try-b");
    eprintln!(
        "ask: branchChanged {} ms after git checkout",
        latency.as_millis()
    );
    assert!(latency < LATENCY_BOUND, "notification after {latency:?}");
    assert_eq!(n["from"], "main");
    assert_eq!(n["to"], "try-b");
    assert_eq!(n["detached"], false);
    assert_eq!(n["candidate"]["id"], MAIN_A);
    assert_eq!(n["candidate"]["gitBranch"], "main");
    assert_eq!(n["forked"], Value::Null);
    assert_eq!(f.store_files(), before, "ask writes nothing");
    assert_eq!(
        ids(&s.call("sessions/list", json!({"branch": "@current"}))),
        Vec::<String>::new()
    );
    // The editor accepts the offer.
    let made = s.call(
        "sessions/fork",
        json!({"session": n["candidate"]["id"], "branch": "try-b"}),
    );
    assert_eq!(made["session"]["gitBranch"], "try-b");
    assert_eq!(made["session"]["forkedFrom"]["sessionId"], MAIN_A);
    assert_eq!(
        ids(&s.call("sessions/list", json!({"branch": "@current"}))),
        [made["session"]["id"].as_str().unwrap()]
    );
    s.shutdown();
}

#[test]
fn off_notifies_without_a_candidate_and_did_change_configuration_switches_policy() {
    let f = Fixture::new(2);
    f.seed(MAIN_A, "main", 100);
    let mut s = f.start("off");
    let before = f.store_files();
    let (n, _) = checkout_and_wait(&f, &mut s, &["checkout", "-q", "-b", "off-1"], "off-1");
    assert_eq!(n["from"], "main");
    assert_eq!(n["candidate"], Value::Null);
    assert_eq!(n["forked"], Value::Null);
    assert_eq!(f.store_files(), before, "off forks nothing");

    // The editor turns `ask` on.
    s.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"sessionSidecar": {"forkOnCheckout": "ask"}}}),
    );
    // An unrelated or invalid section changes nothing and breaks nothing.
    s.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"sessionSidecar": {"forkOnCheckout": "sometimes"}}}),
    );
    s.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"other": 1}}),
    );
    s.call("sessions/list", json!({}));
    let (n, _) = checkout_and_wait(&f, &mut s, &["checkout", "-q", "main"], "main");
    assert_eq!(n["candidate"], Value::Null, "main has sessions of its own");
    let (n, _) = checkout_and_wait(&f, &mut s, &["checkout", "-q", "-b", "ask-1"], "ask-1");
    assert_eq!(n["candidate"]["id"], MAIN_A, "policy is ask now");
    assert_eq!(n["forked"], Value::Null);
    assert_eq!(f.store_files(), before);
    s.shutdown();
}

#[test]
fn a_branch_with_sessions_of_its_own_gets_no_fork() {
    let f = Fixture::new(1);
    f.seed(MAIN_A, "main", 100);
    f.seed(LOGIN, "feature/login", 50);
    f.git(&["branch", "feature/login"]);
    let mut s = f.start("auto");
    let before = f.store_files();
    let (n, _) = checkout_and_wait(
        &f,
        &mut s,
        &["checkout", "-q", "feature/login"],
        "feature/login",
    );
    assert_eq!(n["from"], "main");
    assert_eq!(n["candidate"], Value::Null);
    assert_eq!(n["forked"], Value::Null);
    assert_eq!(f.store_files(), before);
    let here = s.call("sessions/list", json!({"branch": "@current"}));
    assert_eq!(ids(&here), [LOGIN]);
    assert_eq!(here["items"][0]["gitBranch"], "feature/login");
    s.shutdown();
}

#[test]
fn an_interactive_rebase_of_five_commits_forks_nothing_and_reports_nothing() {
    let f = Fixture::new(6);
    f.seed(MAIN_A, "main", 100);
    let mut s = f.start("auto");
    let before = f.store_files();
    let old_head = f.git(&["rev-parse", "HEAD"]);
    // Rewrites the 5 commits one by one with HEAD detached for over a second (each `exec`
    // waits), far longer than the settle time: only the rebase-in-progress guard keeps this
    // from being reported as a switch to a detached HEAD and back.
    let out = git_cmd(
        &f.repo,
        &[
            "rebase",
            "-q",
            "-i",
            "--force-rebase",
            "--exec",
            "sleep 0.25",
            "HEAD~5",
        ],
    )
    .env("GIT_SEQUENCE_EDITOR", "true")
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(f.git(&["rev-parse", "HEAD"]), old_head, "commits rewritten");
    let reflog = f.git(&["reflog", "-n", "12", "--format=%gs"]);
    assert_eq!(reflog.matches("rebase (pick)").count(), 5, "{reflog}");
    assert!(reflog.contains("rebase (finish)"), "{reflog}");
    assert_eq!(f.git(&["symbolic-ref", "--short", "HEAD"]), "main");

    // A real switch afterwards is the first and only notification, from main.
    f.git(&["checkout", "-q", "-b", "after-rebase"]);
    let (earlier, n) = branch_changes_until(&mut s, TIMEOUT, to_branch("after-rebase"));
    assert_eq!(earlier, Vec::<Value>::new(), "the rebase reported nothing");
    assert_eq!(n["from"], "main");
    let forks: Vec<_> = f.store_files().difference(&before).cloned().collect();
    assert_eq!(forks.len(), 1, "only the real switch forked: {forks:?}");
    s.shutdown();
}

#[test]
fn ten_checkouts_in_a_second_report_the_final_branch_once_with_one_fork() {
    let f = Fixture::new(1);
    f.seed(MAIN_A, "main", 100);
    let mut s = f.start("auto");
    let before = f.store_files();
    let start = Instant::now();
    for i in 0..10 {
        f.git(&["checkout", "-q", "-b", &format!("r{i}")]);
        // Paced to ten in a second: wait for the start of the next tenth.
        if let Some(rest) = (Duration::from_millis(100) * (i + 1)).checked_sub(start.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    let elapsed = start.elapsed();
    let (earlier, n) = branch_changes_until(&mut s, TIMEOUT, to_branch("r9"));
    assert_eq!(
        earlier,
        Vec::<Value>::new(),
        "no intermediate report ({elapsed:?})"
    );
    assert_eq!(n["from"], "main");
    assert_eq!(n["candidate"]["id"], MAIN_A);
    let fork_id = n["forked"]["id"].as_str().expect("forked").to_string();
    let added: Vec<_> = f.store_files().difference(&before).cloned().collect();
    assert_eq!(added.len(), 1, "one fork, no storm: {added:?}");
    // Nothing else follows: the next notification is the next real switch.
    f.git(&["checkout", "-q", "main"]);
    let (earlier, n) = branch_changes_until(&mut s, TIMEOUT, to_branch("main"));
    assert_eq!(earlier, Vec::<Value>::new());
    assert_eq!(n["from"], "r9");
    let r9 = s.call("sessions/list", json!({"branch": "r9"}));
    assert_eq!(ids(&r9), [fork_id]);
    s.shutdown();
}

#[test]
fn a_branch_deleted_and_recreated_finds_its_earlier_sessions() {
    let f = Fixture::new(1);
    f.seed(MAIN_A, "main", 100);
    let mut s = f.start("auto");
    let (n, _) = checkout_and_wait(&f, &mut s, &["checkout", "-q", "-b", "feat"], "feat");
    let fork_id = n["forked"]["id"].as_str().expect("forked").to_string();
    let (n, _) = checkout_and_wait(&f, &mut s, &["checkout", "-q", "main"], "main");
    assert_eq!(n["forked"], Value::Null);
    let files = f.store_files();

    // Deleted and recreated from main: the same branch name keeps its conversation.
    f.git(&["branch", "-D", "feat"]);
    let (n, _) = checkout_and_wait(&f, &mut s, &["checkout", "-q", "-b", "feat"], "feat");
    assert_eq!(n["from"], "main");
    assert_eq!(n["candidate"], Value::Null);
    assert_eq!(n["forked"], Value::Null);
    assert_eq!(f.store_files(), files, "no second fork");
    assert_eq!(
        ids(&s.call("sessions/list", json!({"branch": "@current"}))),
        [fork_id.as_str()]
    );

    // Deleted and recreated while away, within the settle time: HEAD ends where it started,
    // which is no switch at all; the next real switch reports from feat.
    f.git(&["checkout", "-q", "main"]);
    f.git(&["branch", "-D", "feat"]);
    f.git(&["checkout", "-q", "-b", "feat"]);
    f.git(&["checkout", "-q", "-b", "next"]);
    let (earlier, n) = branch_changes_until(&mut s, TIMEOUT, to_branch("next"));
    assert_eq!(earlier, Vec::<Value>::new());
    assert_eq!(n["from"], "feat");
    // feat's fork is the candidate now; under auto it is forked onto `next`.
    assert_eq!(n["candidate"]["id"], json!(fork_id));
    s.shutdown();
}

#[test]
fn a_detached_head_is_reported_without_a_candidate() {
    let f = Fixture::new(2);
    f.seed(MAIN_A, "main", 100);
    let mut s = f.start("auto");
    let before = f.store_files();
    f.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    let n = s
        .wait_notification(METHOD, TIMEOUT, |p| p["detached"] == true)
        .expect("detached report");
    assert_eq!(n["from"], "main");
    assert_eq!(n["to"], Value::Null);
    assert_eq!(n["candidate"], Value::Null);
    assert_eq!(n["forked"], Value::Null);
    let (n, _) = checkout_and_wait(&f, &mut s, &["checkout", "-q", "main"], "main");
    assert_eq!(n["from"], Value::Null);
    assert_eq!(n["detached"], false);
    assert_eq!(n["forked"], Value::Null);
    assert_eq!(f.store_files(), before);
    s.shutdown();
}

#[test]
fn two_worktrees_on_different_branches_are_watched_separately() {
    let f = Fixture::new(1);
    let wt = f.repo.parent().unwrap().join("acme-wt");
    f.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "feature",
        &wt.to_string_lossy(),
    ]);
    assert!(wt.join(".git").is_file(), "a worktree has a .git file");
    f.seed(MAIN_A, "main", 100);
    f.seed_at(LOGIN, &wt, "feature", 50);

    // One workspace, both folders.
    let mut s = Server::spawn(&f.home);
    let folder = |p: &Path| json!({"uri": format!("file://{}", p.display()), "name": "f"});
    let r = s.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": null,
            "capabilities": {},
            "workspaceFolders": [folder(&f.repo), folder(&wt)],
            "initializationOptions": {
                "home": f.home.path(), "agents": ["claude"], "forkOnCheckout": "ask"
            },
        }),
    );
    assert!(r.get("result").is_some(), "{r}");
    s.notify("initialized", json!({}));
    s.call("sessions/list", json!({}));

    git_in(&wt, &["checkout", "-q", "-b", "feature-2"]);
    let (earlier, n) = branch_changes_until(&mut s, TIMEOUT, to_branch("feature-2"));
    assert_eq!(earlier, Vec::<Value>::new());
    assert_eq!(
        n["workspace"],
        json!(wt),
        "reported for the worktree's folder"
    );
    assert_eq!(n["from"], "feature");
    assert_eq!(n["candidate"]["id"], LOGIN, "the worktree's own session");

    f.git(&["checkout", "-q", "-b", "main-2"]);
    let (earlier, n) = branch_changes_until(&mut s, TIMEOUT, to_branch("main-2"));
    assert_eq!(earlier, Vec::<Value>::new());
    assert_eq!(n["workspace"], json!(f.repo));
    assert_eq!(
        n["from"], "main",
        "the main worktree's branch, untouched by the other"
    );
    assert_eq!(n["candidate"]["id"], MAIN_A);
    s.shutdown();
}

#[test]
fn a_repository_without_commits_tracks_its_unborn_branch() {
    let f = Fixture::new(0);
    assert!(git_cmd(&f.repo, &["rev-parse", "HEAD"])
        .output()
        .map(|o| !o.status.success())
        .unwrap());
    f.seed(MAIN_A, "main", 100);
    let mut s = f.start("ask");
    assert_eq!(
        ids(&s.call("sessions/list", json!({"branch": "@current"}))),
        [MAIN_A],
        "the unborn main is the current branch"
    );
    let (n, _) = checkout_and_wait(&f, &mut s, &["checkout", "-q", "-b", "first"], "first");
    assert_eq!(n["from"], "main");
    assert_eq!(n["detached"], false);
    assert_eq!(n["candidate"]["id"], MAIN_A);
    // The first commit on the unborn branch moves no HEAD: nothing to report.
    f.commit("first commit");
    f.git(&["checkout", "-q", "-b", "second"]);
    let (earlier, n) = branch_changes_until(&mut s, TIMEOUT, to_branch("second"));
    assert_eq!(earlier, Vec::<Value>::new());
    assert_eq!(n["from"], "first");
    s.shutdown();
}

#[test]
fn a_workspace_that_is_not_a_repository_has_no_branch_and_no_error() {
    let f = Fixture::new(0);
    let plain = f.repo.parent().unwrap().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    f.seed_at(MAIN_A, &plain, "main", 100);
    let mut s = Server::start(
        &f.home,
        &plain.to_string_lossy(),
        json!({"agents": ["claude"], "forkOnCheckout": "auto"}),
    );
    let all = s.call("sessions/list", json!({}));
    assert_eq!(ids(&all), [MAIN_A]);
    let current = s.call("sessions/list", json!({"branch": "@current"}));
    assert_eq!(ids(&current), Vec::<String>::new(), "no current branch");
    s.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"sessionSidecar": {"forkOnCheckout": "off"}}}),
    );
    let e = s.call_err("sessions/continue", json!({"branch": "@current"}));
    assert!(e["code"].is_i64(), "a clear error, not a crash: {e}");
    assert!(s.shutdown().success());
}
