//! Codex's own compaction, headless: `codex exec` has no slash commands (`/compact` would be sent
//! to the model as text), but `codex app-server` — the JSON-RPC protocol the Codex IDE extension
//! speaks, JSON lines on stdio — has `thread/compact/start`. The conversation: `initialize`,
//! `initialized`, `thread/resume {threadId}`, `thread/compact/start {threadId}`, then the
//! compaction runs as a turn (`turn/started`, `item/*` with a `contextCompaction` item,
//! `turn/completed`); Codex appends a `compacted` record to the rollout, and the runner closes
//! stdin so the server exits.

use super::runner::{Conversation, Step};
use crate::handlers::RequestControl;
use serde_json::{json, Value};
use std::io::Write;

const INITIALIZE: u64 = 0;
const RESUME: u64 = 1;
const COMPACT: u64 = 2;

/// Where the conversation is: waiting for the answer to which request, or for the turn's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    Initialize,
    Resume,
    Compact,
    TurnCompleted,
}

impl Waiting {
    /// The request whose answer this state waits for: its id and method.
    fn request(self) -> Option<(u64, &'static str)> {
        match self {
            Waiting::Initialize => Some((INITIALIZE, "initialize")),
            Waiting::Resume => Some((RESUME, "thread/resume")),
            Waiting::Compact => Some((COMPACT, "thread/compact/start")),
            Waiting::TurnCompleted => None,
        }
    }
}

pub struct Compaction {
    thread_id: String,
    waiting: Waiting,
}

impl Compaction {
    pub fn new(thread_id: &str) -> Compaction {
        Compaction {
            thread_id: thread_id.to_string(),
            waiting: Waiting::Initialize,
        }
    }
}

fn send(w: &mut dyn Write, msg: Value) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(&msg).expect("serializable");
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()
}

/// The error of a JSON-RPC response, as one line.
fn error_text(msg: &Value) -> Option<String> {
    let e = msg.get("error")?;
    Some(
        e.get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| e.to_string()),
    )
}

impl Conversation for Compaction {
    fn open(&mut self, w: &mut dyn Write, ctl: &RequestControl) -> std::io::Result<()> {
        ctl.report("Starting codex app-server", Some(5));
        send(
            w,
            json!({"id": INITIALIZE, "method": "initialize", "params": {"clientInfo": {
                "name": "session_sidecar",
                "title": "session-sidecar",
                "version": env!("CARGO_PKG_VERSION"),
            }}}),
        )
    }

    fn on_line(
        &mut self,
        line: &str,
        w: &mut dyn Write,
        ctl: &RequestControl,
    ) -> std::io::Result<Step> {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            return Ok(Step::Continue); // not a protocol line (the server logs to stderr)
        };
        let id = msg.get("id").and_then(Value::as_u64);
        let method = msg.get("method").and_then(Value::as_str);
        // A request from the server (an approval, say): compaction runs no tools, so none is
        // expected; refuse it rather than leave the server waiting.
        if let (Some(_), Some(m)) = (msg.get("id"), method) {
            tracing::warn!("codex app-server asked {m} during a compaction; refused");
            send(
                w,
                json!({"id": msg["id"], "error": {"code": -32601, "message": "session-sidecar only compacts"}}),
            )?;
            return Ok(Step::Continue);
        }
        let thread = self.thread_id.as_str();
        // The answer to the request in flight: on to the next one.
        if let (Some((rid, name)), Some(id), None) = (self.waiting.request(), id, method) {
            if id == rid {
                if let Some(e) = error_text(&msg) {
                    return Ok(Step::Failed(format!("{name}: {e}")));
                }
                self.waiting = match self.waiting {
                    Waiting::Initialize => {
                        send(w, json!({"method": "initialized"}))?;
                        send(
                            w,
                            json!({"id": RESUME, "method": "thread/resume", "params": {"threadId": thread}}),
                        )?;
                        ctl.report("Resuming the thread", Some(15));
                        Waiting::Resume
                    }
                    Waiting::Resume => {
                        send(
                            w,
                            json!({"id": COMPACT, "method": "thread/compact/start", "params": {"threadId": thread}}),
                        )?;
                        ctl.report("Compacting", Some(30));
                        Waiting::Compact
                    }
                    Waiting::Compact | Waiting::TurnCompleted => Waiting::TurnCompleted,
                };
                return Ok(Step::Continue);
            }
        }
        match (self.waiting, method) {
            // The turn may finish before the answer to thread/compact/start is read.
            (Waiting::Compact | Waiting::TurnCompleted, Some("turn/completed"))
                if id.is_none() && msg["params"]["threadId"] == thread =>
            {
                let turn = &msg["params"]["turn"];
                return Ok(match turn["status"].as_str() {
                    Some("completed") => Step::Done,
                    status => {
                        let why = turn["error"]["message"]
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("the compaction turn ended {status:?}"));
                        Step::Failed(why)
                    }
                });
            }
            (_, Some("error")) if id.is_none() && msg["params"]["threadId"] == thread => {
                let why = msg["params"]["error"]["message"]
                    .as_str()
                    .unwrap_or("error")
                    .to_string();
                if msg["params"]["willRetry"] != true {
                    return Ok(Step::Failed(why));
                }
            }
            _ => {}
        }
        Ok(Step::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `lines` and returns what the conversation wrote and its last step.
    fn talk(c: &mut Compaction, lines: &[Value]) -> (Vec<Value>, Step) {
        let ctl = RequestControl::default();
        let mut out = Vec::new();
        let mut step = Step::Continue;
        for l in lines {
            step = c.on_line(&l.to_string(), &mut out, &ctl).unwrap();
        }
        let sent = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (sent, step)
    }

    const T: &str = "01a1fcc8-e337-7e13-b5e4-6d6a59106584";

    #[test]
    fn initialize_resume_compact_then_the_turn_completes() {
        let mut c = Compaction::new(T);
        let mut opened = Vec::new();
        c.open(&mut opened, &RequestControl::default()).unwrap();
        let first: Value = serde_json::from_slice(&opened).unwrap();
        assert_eq!(first["method"], "initialize");
        assert_eq!(first["params"]["clientInfo"]["name"], "session_sidecar");

        let (sent, step) = talk(
            &mut c,
            &[
                json!({"method": "configWarning", "params": {}}),
                json!({"id": 0, "result": {}}),
            ],
        );
        assert_eq!(step, Step::Continue);
        assert_eq!(sent[0], json!({"method": "initialized"}));
        assert_eq!(sent[1]["method"], "thread/resume");
        assert_eq!(sent[1]["params"]["threadId"], T);

        let (sent, _) = talk(&mut c, &[json!({"id": 1, "result": {"thread": {"id": T}}})]);
        assert_eq!(sent[0]["method"], "thread/compact/start");
        assert_eq!(sent[0]["params"]["threadId"], T);

        let (sent, step) = talk(
            &mut c,
            &[
                json!({"id": 2, "result": {}}),
                json!({"method": "turn/completed", "params": {"threadId": "other", "turn": {"status": "completed"}}}),
            ],
        );
        assert!(sent.is_empty());
        assert_eq!(step, Step::Continue, "another thread's turn is not ours");
        let (_, step) = talk(
            &mut c,
            &[
                json!({"method": "turn/completed", "params": {"threadId": T, "turn": {"status": "completed", "error": null}}}),
            ],
        );
        assert_eq!(step, Step::Done);
    }

    #[test]
    fn refusals_and_failed_turns_say_why() {
        let mut c = Compaction::new(T);
        let (_, step) = talk(
            &mut c,
            &[
                json!({"id": 0, "result": {}}),
                json!({"id": 1, "error": {"code": -32600, "message": "no rollout found for thread id"}}),
            ],
        );
        assert_eq!(
            step,
            Step::Failed("thread/resume: no rollout found for thread id".into())
        );

        let mut c = Compaction::new(T);
        let (_, step) = talk(
            &mut c,
            &[
                json!({"id": 0, "result": {}}),
                json!({"id": 1, "result": {}}),
                json!({"id": 2, "result": {}}),
                json!({"method": "error", "params": {"threadId": T, "willRetry": true, "error": {"message": "retrying"}}}),
            ],
        );
        assert_eq!(step, Step::Continue, "a retried error is not the end");
        let (_, step) = talk(
            &mut c,
            &[
                json!({"method": "turn/completed", "params": {"threadId": T, "turn": {"status": "failed", "error": {"message": "stream disconnected"}}}}),
            ],
        );
        assert_eq!(step, Step::Failed("stream disconnected".into()));
    }

    #[test]
    fn server_requests_are_refused_not_left_waiting() {
        let mut c = Compaction::new(T);
        let (sent, step) = talk(
            &mut c,
            &[json!({"id": 7, "method": "item/commandExecution/requestApproval", "params": {}})],
        );
        assert_eq!(step, Step::Continue);
        assert_eq!(sent[0]["id"], 7);
        assert_eq!(sent[0]["error"]["code"], -32601);
    }
}
