//! `sessions/context` and the `sessions/contextUsage` pushes.
//!
//! The active session of the workspace is the one most recently written. Whenever the watcher
//! sees a workspace session written, that session becomes the active one and its context status
//! is pushed if it differs from the last status pushed. Pushes are at most one per
//! [`PUSH_INTERVAL`]: a change inside the interval is held and sent (as the newest status) when
//! the interval ends, so a burst of appends costs one notification.

use crate::engine::Outbound;
use crate::error::Result;
use crate::index::IndexEntry;
use crate::protocol::{Agent, ContextStatus, ContextUsageParams, SessionParams};
use crate::store::{SessionFile, SessionStore};
use crate::transcript::FileKey;
use crate::Sidecar;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const PUSH_INTERVAL: Duration = Duration::from_millis(300);

pub fn context(sc: &Sidecar, p: SessionParams) -> Result<ContextStatus> {
    let (store, entry) = sc.resolve(&p.session)?;
    Ok(status_of(sc, store.as_ref(), &entry))
}

/// The context status of an indexed session.
pub fn status_of(sc: &Sidecar, store: &dyn SessionStore, entry: &IndexEntry) -> ContextStatus {
    let st = &entry.state;
    let (window, source) = store.context_window(st);
    let used = st.context_used.unwrap_or(0);
    let paths = crate::context_window::SettingsPaths {
        root: store.root().to_path_buf(),
        home: sc.config.home.clone(),
        workspace: sc.workspace().paths.clone(),
    };
    let auto = match crate::context_window::configured_auto_compact(store.agent(), window, &paths) {
        Some(configured) => configured,
        None => store.auto_compact_at(window, st),
    };
    ContextStatus {
        session: entry.session_key(),
        used_tokens: used,
        context_window: window,
        percent: crate::context_window::percent(used, window),
        auto_compact_at: auto,
        auto_compact_percent: auto.map(|a| crate::context_window::percent(a, window)),
        model: st.model.clone(),
        source,
    }
}

/// Throttle state of the `sessions/contextUsage` pushes (one per sidecar).
#[derive(Clone)]
pub struct PushState {
    inner: Arc<Mutex<PushInner>>,
    /// Which file versions were seen, to tell a write from a mere watcher event, and which
    /// session is active (the newest write).
    writes: Arc<Mutex<Writes>>,
}

impl Default for PushState {
    fn default() -> Self {
        PushState {
            inner: Default::default(),
            writes: Arc::new(Mutex::new(Writes {
                seen: HashMap::new(),
                active_mtime_ns: None,
                started_ns: now_ns() - 2_000_000_000,
            })),
        }
    }
}

struct Writes {
    seen: HashMap<(Agent, String), FileKey>,
    active_mtime_ns: Option<i128>,
    /// Files first seen with an older mtime were not written while we ran.
    started_ns: i128,
}

fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

impl PushState {
    /// Whether this version of the file is a new write that makes its session the active one.
    fn is_new_active_write(&self, agent: Agent, id: &str, key: FileKey) -> bool {
        let mut w = self.writes.lock().unwrap();
        let prev = w.seen.insert((agent, id.to_string()), key);
        let written = match prev {
            Some(p) => p != key,
            None => key.mtime_ns >= w.started_ns,
        };
        if !written {
            return false;
        }
        if w.active_mtime_ns.is_some_and(|a| key.mtime_ns < a) {
            // An older write reported late: the active session stays the newer one.
            return false;
        }
        w.active_mtime_ns = Some(key.mtime_ns);
        true
    }
}

#[derive(Default)]
struct PushInner {
    /// The last status sent (any session): a push happens only when this changes.
    last_sent: Option<ContextStatus>,
    last_sent_at: Option<Instant>,
    /// A newer status waiting for the interval to end, and whether a timer is armed for it.
    pending: Option<ContextStatus>,
    timer_armed: bool,
}

/// A session file was written: push its context usage if it is the active session.
pub fn on_session_written(sc: &Sidecar, file: &SessionFile) {
    let Some(entry) = sc.index.get(file.agent, &file.id) else {
        return;
    };
    let Ok(store) = sc.store(file.agent) else {
        return;
    };
    if !entry.in_workspace || !store.is_listable(&entry.state) {
        return;
    }
    // Watchers also report opens and reads: only a new version of the file is a write, and
    // only the newest write makes a session the active one.
    if !sc
        .context_push
        .is_new_active_write(file.agent, &file.id, entry.key)
    {
        return;
    }
    let status = status_of(sc, store.as_ref(), &entry);
    let Some(tx) = sc.outbound_sender() else {
        return;
    };
    let send = move |s: ContextStatus| {
        let _ = tx.send(Outbound::ContextUsage(ContextUsageParams { status: s }));
    };
    offer(&sc.context_push, status, Instant::now(), send);
}

/// Send `status` now, later (coalesced), or not at all (unchanged).
fn offer<F>(state: &PushState, status: ContextStatus, now: Instant, send: F)
where
    F: Fn(ContextStatus) + Send + 'static,
{
    let mut g = state.inner.lock().unwrap();
    if g.pending.is_none() && g.last_sent.as_ref() == Some(&status) {
        return;
    }
    let due = g.last_sent_at.map(|t| t + PUSH_INTERVAL);
    match due {
        Some(due) if now < due => {
            g.pending = Some(status);
            if !g.timer_armed {
                g.timer_armed = true;
                let st = state.clone();
                let wait = due - now;
                let spawned = std::thread::Builder::new()
                    .name("context-push".into())
                    .spawn(move || {
                        std::thread::sleep(wait);
                        flush(&st, send);
                    });
                if spawned.is_err() {
                    g.timer_armed = false;
                }
            }
        }
        _ => {
            g.pending = None;
            if g.last_sent.as_ref() == Some(&status) {
                return;
            }
            g.last_sent = Some(status.clone());
            g.last_sent_at = Some(now);
            drop(g);
            send(status);
        }
    }
}

/// The interval ended: send the held status if it still differs from the last one sent.
fn flush<F: Fn(ContextStatus)>(state: &PushState, send: F) {
    let mut g = state.inner.lock().unwrap();
    g.timer_armed = false;
    let Some(status) = g.pending.take() else {
        return;
    };
    if g.last_sent.as_ref() == Some(&status) {
        return;
    }
    g.last_sent = Some(status.clone());
    g.last_sent_at = Some(Instant::now());
    drop(g);
    send(status);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{SessionKey, WindowSource};
    use std::sync::mpsc;

    fn status(id: &str, used: u64) -> ContextStatus {
        ContextStatus {
            session: SessionKey {
                agent: Agent::Claude,
                id: id.into(),
            },
            used_tokens: used,
            context_window: 1000,
            percent: 0.0,
            auto_compact_at: None,
            auto_compact_percent: None,
            model: None,
            source: WindowSource::Default,
        }
    }

    fn key(size: u64, mtime_ns: i128) -> FileKey {
        FileKey {
            dev: 1,
            ino: 2,
            size,
            mtime_ns,
        }
    }

    #[test]
    fn only_new_writes_of_the_newest_session_are_active() {
        let st = PushState::default();
        let now = now_ns();
        // A file untouched since before the sidecar started: an open/read event, not a write.
        assert!(!st.is_new_active_write(Agent::Claude, "a", key(10, now - 3_600_000_000_000)));
        // The same version again: still not a write.
        assert!(!st.is_new_active_write(Agent::Claude, "a", key(10, now - 3_600_000_000_000)));
        // It grew: a write, and the newest one.
        assert!(st.is_new_active_write(Agent::Claude, "a", key(20, now)));
        assert!(!st.is_new_active_write(Agent::Claude, "a", key(20, now)));
        // A write of another session that is older than the active one (reported late).
        assert!(!st.is_new_active_write(Agent::Qwen, "b", key(5, now - 1_000)));
        assert!(st.is_new_active_write(Agent::Qwen, "b", key(6, now + 1_000)));
    }

    #[test]
    fn pushes_are_deduplicated_and_coalesced() {
        let state = PushState::default();
        let (tx, rx) = mpsc::channel::<ContextStatus>();
        let sender = move || {
            let tx = tx.clone();
            move |s: ContextStatus| tx.send(s).unwrap()
        };
        let t0 = Instant::now();
        offer(&state, status("a", 1), t0, sender());
        assert_eq!(
            rx.try_recv().unwrap().used_tokens,
            1,
            "first push is immediate"
        );
        // Unchanged: nothing.
        offer(&state, status("a", 1), t0, sender());
        // Two changes inside the interval: one push, of the newest.
        offer(&state, status("a", 2), t0, sender());
        offer(&state, status("a", 3), t0, sender());
        assert!(rx.try_recv().is_err(), "held until the interval ends");
        let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(got.used_tokens, 3);
        assert!(t0.elapsed() >= PUSH_INTERVAL);
        assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
        // Another session becoming active is a change too.
        let later = Instant::now() + PUSH_INTERVAL;
        offer(&state, status("b", 3), later, sender());
        assert_eq!(rx.try_recv().unwrap().session.id, "b");
    }
}
