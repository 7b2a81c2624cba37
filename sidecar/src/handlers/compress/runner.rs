//! Runs an agent CLI headless for its own compaction: argv array (never a shell), the session's
//! cwd, the store's environment, its own process group (so a cancel or timeout kills the agent
//! and whatever it started), stdout/stderr tails kept for the error message, progress reports
//! while it runs. An agent that compacts only when asked over a protocol (Codex's app-server)
//! gets a [`Conversation`] on its stdin and stdout instead of a one-shot command line.

use crate::config::Config;
use crate::error::{Result, SidecarError};
use crate::handlers::RequestControl;
use crate::protocol::{Agent, ErrorCode};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const TAIL_BYTES: usize = 4096;
const POLL: Duration = Duration::from_millis(50);
const REPORT_EVERY: Duration = Duration::from_secs(1);
const KILL_GRACE: Duration = Duration::from_secs(2);

pub struct RunSpec {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    /// What the progress messages call the run ("claude /compact").
    pub label: String,
}

fn exe_name(agent: Agent) -> &'static str {
    match agent {
        Agent::Claude => "claude",
        Agent::Qwen => "qwen",
        Agent::Codex => "codex",
        Agent::Gemini => "gemini",
    }
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// `agentPaths.<agent>` when configured, else the agent's command on `PATH`.
pub fn find_executable(config: &Config, agent: Agent) -> Result<PathBuf> {
    let setting = format!("initializationOptions.agentPaths.{}", agent.as_str());
    if let Some(p) = config.agent_paths.get(&agent) {
        if is_executable(p) {
            return Ok(p.clone());
        }
        return Err(SidecarError::new(
            ErrorCode::AgentNotFound,
            format!("{setting} = {} is not an executable file", p.display()),
        ));
    }
    let name = exe_name(agent);
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let c = dir.join(name);
            if is_executable(&c) {
                return Ok(c);
            }
        }
    }
    Err(SidecarError::new(
        ErrorCode::AgentNotFound,
        format!(
            "`{name}` was not found on PATH; set {setting} to the {} executable",
            agent.as_str()
        ),
    ))
}

/// Keeps the last `TAIL_BYTES` of a stream.
fn drain_tail<R: Read + Send + 'static>(mut r: R) -> Arc<Mutex<VecDeque<u8>>> {
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_BYTES)));
    let t = tail.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            keep_tail(&t, &buf[..n]);
        }
    });
    tail
}

/// Adds `bytes` to a tail that keeps the last `TAIL_BYTES`.
fn keep_tail(t: &Mutex<VecDeque<u8>>, bytes: &[u8]) {
    let mut g = t.lock().unwrap();
    g.extend(bytes);
    while g.len() > TAIL_BYTES {
        g.pop_front();
    }
}

/// Like `drain_tail`, and each line also goes to the returned channel.
fn read_lines<R: Read + Send + 'static>(
    r: R,
) -> (Arc<Mutex<VecDeque<u8>>>, std::sync::mpsc::Receiver<String>) {
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_BYTES)));
    let t = tail.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut line = Vec::new();
        while let Ok(n) = r.read_until(b'\n', &mut line) {
            if n == 0 {
                break;
            }
            keep_tail(&t, &line);
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            line.clear();
            if tx.send(text).is_err() {
                break;
            }
        }
    });
    (tail, rx)
}

fn tail_text(t: &Arc<Mutex<VecDeque<u8>>>) -> String {
    let g = t.lock().unwrap();
    let v: Vec<u8> = g.iter().copied().collect();
    String::from_utf8_lossy(&v).trim().to_string()
}

fn kill_group(pid: u32, sig: i32) {
    // The child leads its own process group (process_group(0)), so -pid reaches its children.
    unsafe {
        libc::kill(-(pid as i32), sig);
    }
}

/// What a successful run printed (tails).
#[derive(Debug, Default)]
pub struct RunOutput {
    pub stdout: String,
    pub stderr: String,
}

impl RunOutput {
    /// The most telling line of what the agent said (for an error message).
    pub fn gist(&self) -> String {
        let s = if self.stdout.trim().is_empty() {
            &self.stderr
        } else {
            &self.stdout
        };
        let line = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        line.chars().take(300).collect()
    }
}

/// A protocol spoken with the agent while it runs, one line per message each way (Codex's
/// app-server speaks JSON-RPC as JSON lines).
pub trait Conversation: Send {
    /// The first messages, once the agent has started.
    fn open(&mut self, to_agent: &mut dyn Write, ctl: &RequestControl) -> std::io::Result<()>;
    /// One line the agent wrote on stdout; the answer says whether the work is done.
    fn on_line(
        &mut self,
        line: &str,
        to_agent: &mut dyn Write,
        ctl: &RequestControl,
    ) -> std::io::Result<Step>;
}

/// Where a [`Conversation`] stands after a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Continue,
    /// The work is done: the agent's stdin is closed and it gets `EXIT_AFTER_DONE` to exit.
    Done,
    /// The agent refused or failed; the message says how.
    Failed(String),
}

/// How long an agent whose conversation is done may take to exit (and flush its files) after
/// its stdin is closed, before its group is stopped.
const EXIT_AFTER_DONE: Duration = Duration::from_secs(10);

/// Run to completion. Cancellation and the timeout kill the process group. With a
/// `conversation` on the agent's stdin/stdout (else stdin is /dev/null) the run succeeds when the
/// conversation is done and the agent has exited.
pub fn run(
    spec: &RunSpec,
    mut conversation: Option<&mut dyn Conversation>,
    ctl: &RequestControl,
) -> Result<RunOutput> {
    let Some((exe, args)) = spec.argv.split_first() else {
        return Err(SidecarError::internal("empty argv"));
    };
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .current_dir(&spec.cwd)
        .envs(&spec.env)
        .stdin(if conversation.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    ctl.report(format!("Starting {}", spec.label), Some(0));
    let mut child = cmd.spawn().map_err(|e| {
        SidecarError::new(
            if e.kind() == std::io::ErrorKind::NotFound {
                ErrorCode::AgentNotFound
            } else {
                ErrorCode::AgentFailed
            },
            format!("cannot start {exe}: {e}"),
        )
    })?;
    let pid = child.id();
    tracing::info!("started {} (pid {pid})", spec.label);
    let stdout = child.stdout.take().expect("piped");
    let (out, lines) = match conversation {
        Some(_) => {
            let (tail, rx) = read_lines(stdout);
            (tail, Some(rx))
        }
        None => (drain_tail(stdout), None),
    };
    let err = drain_tail(child.stderr.take().expect("piped"));
    let mut stdin = child.stdin.take();
    let start = Instant::now();
    let mut last_report = start;
    let stop = |child: &mut std::process::Child| {
        kill_group(pid, libc::SIGTERM);
        let t = Instant::now();
        while t.elapsed() < KILL_GRACE {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(POLL);
        }
        kill_group(pid, libc::SIGKILL);
        let _ = child.wait();
    };
    // A write that fails usually means the agent has exited (a closed pipe): its stdin is
    // dropped and the exit below says why, with its stderr. If it is still running
    // `KILL_GRACE` later, the write error is the failure.
    let mut write_error: Option<(std::io::Error, Instant)> = None;
    let mut step = Step::Continue;
    if let (Some(c), Some(w)) = (conversation.as_deref_mut(), stdin.as_mut()) {
        if let Err(e) = c.open(w, ctl) {
            write_error = Some((e, Instant::now()));
        }
    }
    let mut done_at: Option<Instant> = None;
    loop {
        // The conversation: every line the agent wrote since the last round.
        if let (Some(c), Some(rx), Some(w), None) = (
            conversation.as_deref_mut(),
            lines.as_ref(),
            stdin.as_mut(),
            write_error.as_ref(),
        ) {
            while step == Step::Continue {
                let Ok(line) = rx.try_recv() else { break };
                match c.on_line(&line, w, ctl) {
                    Ok(s) => step = s,
                    Err(e) => {
                        write_error = Some((e, Instant::now()));
                        break;
                    }
                }
            }
        }
        if let Some((e, at)) = &write_error {
            stdin = None;
            // (`try_wait` keeps the status, so the exit is still seen below.)
            if at.elapsed() > KILL_GRACE
                && step == Step::Continue
                && matches!(child.try_wait(), Ok(None))
            {
                let detail = tail_text(&err);
                step = Step::Failed(if detail.is_empty() {
                    format!("cannot write to it: {e}")
                } else {
                    format!("cannot write to it: {e}: {detail}")
                });
            }
        }
        match &step {
            Step::Continue => {}
            Step::Done if done_at.is_none() => {
                // Closing stdin asks the agent to exit.
                stdin = None;
                done_at = Some(Instant::now());
            }
            Step::Done => {}
            Step::Failed(why) => {
                stop(&mut child);
                return Err(SidecarError::new(
                    ErrorCode::AgentFailed,
                    format!("{}: {why}", spec.label),
                ));
            }
        }
        if done_at.is_some_and(|t| t.elapsed() > EXIT_AFTER_DONE) {
            tracing::warn!(
                "{} did not exit after its work was done; stopping it",
                spec.label
            );
            stop(&mut child);
            return Ok(RunOutput {
                stdout: tail_text(&out),
                stderr: tail_text(&err),
            });
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                // Let the readers reach EOF so the tails are complete.
                std::thread::sleep(POLL);
                if conversation.is_some() && done_at.is_none() {
                    let mut detail = tail_text(&err);
                    if detail.is_empty() {
                        detail = tail_text(&out);
                    }
                    if let (true, Some((e, _))) = (detail.is_empty(), &write_error) {
                        detail = format!("cannot write to it: {e}");
                    }
                    return Err(SidecarError::new(
                        ErrorCode::AgentFailed,
                        format!(
                            "{} exited ({status}) before its work was done: {detail}",
                            spec.label
                        ),
                    ));
                }
                if status.success() || done_at.is_some() {
                    ctl.report(format!("{} finished", spec.label), Some(90));
                    return Ok(RunOutput {
                        stdout: tail_text(&out),
                        stderr: tail_text(&err),
                    });
                }
                let mut detail = tail_text(&err);
                if detail.is_empty() {
                    detail = tail_text(&out);
                }
                return Err(SidecarError::new(
                    ErrorCode::AgentFailed,
                    format!("{} failed ({status}): {detail}", spec.label),
                ));
            }
            Ok(None) => {}
            Err(e) => {
                stop(&mut child);
                return Err(SidecarError::new(
                    ErrorCode::AgentFailed,
                    format!("{}: {e}", spec.label),
                ));
            }
        }
        if ctl.is_cancelled() {
            tracing::info!("cancelled: stopping {} (pid {pid})", spec.label);
            stop(&mut child);
            return Err(SidecarError::new(
                ErrorCode::RequestCancelled,
                format!("cancelled; {} was stopped", spec.label),
            ));
        }
        if start.elapsed() > spec.timeout {
            stop(&mut child);
            return Err(SidecarError::new(
                ErrorCode::AgentFailed,
                format!(
                    "{} did not finish within {} s and was stopped",
                    spec.label,
                    spec.timeout.as_secs()
                ),
            ));
        }
        if last_report.elapsed() >= REPORT_EVERY && done_at.is_none() {
            last_report = Instant::now();
            ctl.report(
                format!("{} running ({} s)", spec.label, start.elapsed().as_secs()),
                None,
            );
        }
        std::thread::sleep(POLL);
    }
}

/// Whether the bytes appended to `path` after `from` contain `marker`.
pub fn appended_contains(path: &Path, from: u64, marker: &[u8]) -> Result<bool> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| SidecarError::unreadable(path, &e))?;
    let len = f
        .metadata()
        .map_err(|e| SidecarError::unreadable(path, &e))?
        .len();
    if len <= from {
        return Ok(false);
    }
    f.seek(SeekFrom::Start(from))
        .map_err(|e| SidecarError::unreadable(path, &e))?;
    let mut buf = Vec::new();
    f.take(len - from)
        .read_to_end(&mut buf)
        .map_err(|e| SidecarError::unreadable(path, &e))?;
    Ok(memchr::memmem::find(&buf, marker).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(argv: &[&str], timeout: Duration) -> RunSpec {
        RunSpec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: std::env::temp_dir(),
            env: BTreeMap::new(),
            timeout,
            label: "test".into(),
        }
    }

    #[test]
    fn failures_carry_the_stderr_tail() {
        let e = run(
            &spec(&["sh", "-c", "echo boom >&2; exit 3"], DEFAULT_TIMEOUT),
            None,
            &RequestControl::default(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::AgentFailed);
        assert!(e.message.contains("boom"), "{}", e.message);
        let e = run(
            &spec(&["/nonexistent/agent"], DEFAULT_TIMEOUT),
            None,
            &RequestControl::default(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::AgentNotFound);
    }

    #[test]
    fn cancel_and_timeout_kill_the_process_group() {
        let ctl = RequestControl::default();
        let c = ctl.cancelled.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            c.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        let start = Instant::now();
        // The shell's child `sleep` must die too (it is in the same group).
        let e = run(
            &spec(&["sh", "-c", "sleep 30 & wait"], DEFAULT_TIMEOUT),
            None,
            &ctl,
        )
        .unwrap_err();
        t.join().unwrap();
        assert_eq!(e.code, ErrorCode::RequestCancelled);
        assert!(start.elapsed() < Duration::from_secs(10));
        let e = run(
            &spec(&["sleep", "30"], Duration::from_millis(200)),
            None,
            &RequestControl::default(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::AgentFailed);
        assert!(e.message.contains("did not finish"));
    }

    /// Says `hello`, waits for `got hello`, then is done (or fails, if told to).
    struct Greeter {
        fail: bool,
        seen: Vec<String>,
    }
    impl Conversation for Greeter {
        fn open(&mut self, w: &mut dyn Write, _: &RequestControl) -> std::io::Result<()> {
            w.write_all(b"hello\n")?;
            w.flush()
        }
        fn on_line(
            &mut self,
            line: &str,
            _: &mut dyn Write,
            _: &RequestControl,
        ) -> std::io::Result<Step> {
            self.seen.push(line.to_string());
            Ok(match line {
                "got hello" if self.fail => Step::Failed("it said hello".into()),
                "got hello" => Step::Done,
                _ => Step::Continue,
            })
        }
    }

    #[test]
    fn a_conversation_ends_when_it_is_done_and_the_agent_exits() {
        // The agent answers, then waits for its stdin to close before it exits.
        let agent = [
            "sh",
            "-c",
            "echo starting; read a; echo \"got $a\"; cat >/dev/null",
        ];
        let mut g = Greeter {
            fail: false,
            seen: Vec::new(),
        };
        let start = Instant::now();
        run(
            &spec(&agent, DEFAULT_TIMEOUT),
            Some(&mut g),
            &RequestControl::default(),
        )
        .unwrap();
        assert_eq!(g.seen, ["starting", "got hello"]);
        assert!(
            start.elapsed() < EXIT_AFTER_DONE,
            "stdin was closed, so it exited"
        );

        let mut g = Greeter {
            fail: true,
            seen: Vec::new(),
        };
        let e = run(
            &spec(&agent, DEFAULT_TIMEOUT),
            Some(&mut g),
            &RequestControl::default(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::AgentFailed);
        assert!(e.message.ends_with(": it said hello"), "{}", e.message);

        // An agent that exits before the conversation is done failed, whatever its status.
        let mut g = Greeter {
            fail: false,
            seen: Vec::new(),
        };
        let e = run(
            &spec(
                &["sh", "-c", "echo bye; echo no such thread >&2"],
                DEFAULT_TIMEOUT,
            ),
            Some(&mut g),
            &RequestControl::default(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::AgentFailed);
        assert!(
            e.message.contains("before its work was done"),
            "{}",
            e.message
        );
        assert!(e.message.contains("no such thread"), "{}", e.message);
    }

    /// Answers `ready` with a line of its own.
    struct Replier;
    impl Conversation for Replier {
        fn open(&mut self, _: &mut dyn Write, _: &RequestControl) -> std::io::Result<()> {
            Ok(())
        }
        fn on_line(
            &mut self,
            line: &str,
            w: &mut dyn Write,
            _: &RequestControl,
        ) -> std::io::Result<Step> {
            if line == "ready" {
                w.write_all(b"hi\n")?;
                w.flush()?;
            }
            Ok(Step::Continue)
        }
    }

    /// `sh -c script` answered by a [`Replier`]: the failure's message (it must fail, as
    /// `agentFailed`).
    fn replier_failure(script: &str) -> String {
        let e = run(
            &spec(&["sh", "-c", script], DEFAULT_TIMEOUT),
            Some(&mut Replier),
            &RequestControl::default(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::AgentFailed, "{}", e.message);
        e.message
    }

    #[test]
    fn a_closed_stdin_fails_with_what_the_agent_said() {
        // It closes its stdin before it says `ready`, so the answer meets a closed pipe. It
        // exits soon after: the failure is its exit, with its stderr, not the write.
        let m =
            replier_failure("exec 0<&-; echo ready; sleep 0.3; echo no such thread >&2; exit 2");
        assert!(
            m.contains("before its work was done") && m.contains("no such thread"),
            "{m}"
        );
        // One that keeps running with its stdin closed fails on the write, with its stderr.
        let m = replier_failure("exec 0<&-; echo not reading >&2; echo ready; sleep 30");
        assert!(
            m.contains("cannot write to it") && m.contains("not reading"),
            "{m}"
        );
    }
}
