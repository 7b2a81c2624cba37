//! Branch awareness: watch the git directory of each workspace folder and, when HEAD settles on
//! another branch, push `sessions/branchChanged` and apply the `forkOnCheckout` policy.
//!
//! * The git directory (the `.git` directory, or where a worktree's `.git` file points) is
//!   watched non-recursively: git replaces HEAD by renaming `HEAD.lock` over it, which a watch on
//!   the HEAD file itself would lose after the first switch. A reftable repository's
//!   `reftable/` directory is watched as well. Every few seconds the state is re-read anyway, so a
//!   lost event only delays a report; with `SESSION_SIDECAR_POLL` set, or when the native watcher
//!   cannot be created, the state is re-read every 250 ms instead.
//! * A change is reported only once HEAD has *settled*: unchanged for [`SETTLE`]. Ten checkouts
//!   in a second are one report of the final state, with at most one fork; a switch that ends on
//!   the branch it started from is no switch at all and reports nothing.
//! * While a rebase, `git am`, merge, cherry-pick, revert or bisect is in progress (its marker
//!   files exist in the git directory) HEAD's moves are ignored; when it ends, the final branch
//!   is compared to the branch before it started (git's own `head-name` / `BISECT_START` when the
//!   sidecar started mid-operation).
//! * Policy (`forkOnCheckout`, from initializationOptions, changed by
//!   `workspace/didChangeConfiguration`):
//!   - `off`: the notification is still sent, without `candidate`, so editors can refresh their
//!     "this branch" views; nothing is forked.
//!   - `ask` (default): the notification carries `candidate`; the editor decides and calls
//!     `sessions/fork {session, branch}`.
//!   - `auto`: the candidate is forked at once as "<title> (fork → <to>)" recorded on branch
//!     `<to>`, and the notification carries both `candidate` and `forked`.
//! * The candidate is the workspace session (any agent) most recently modified on the previous
//!   branch, started in this folder's work tree, with at least one model turn. There is none when
//!   the new branch already has sessions of its own (so switching back and forth never forks
//!   twice, and a branch deleted and recreated finds its earlier sessions), when either side is
//!   a detached HEAD, or under `off`.
//! * A folder that is not inside a git work tree is not watched (no error). Folders sharing one
//!   git directory share one watch; each worktree has its own git directory, so two worktrees on
//!   different branches are tracked independently and each report names its folder.

use crate::git::{self, Head, Operation, Repo};
use crate::index::IndexEntry;
use crate::protocol::{
    BranchChangedParams, ForkOnCheckout, ForkParams, Scope, SessionRef, SessionSummary,
};
use crate::{engine::Outbound, Sidecar};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// HEAD must stay unchanged this long before a change is reported.
pub const SETTLE: Duration = Duration::from_millis(300);
/// How often the state is re-read without any event (a safety net for lost events).
const RESCAN: Duration = Duration::from_secs(2);
/// How often the state is re-read in polling mode.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The policy now in force.
pub fn policy(sc: &Sidecar) -> ForkOnCheckout {
    *sc.fork_on_checkout.read().unwrap()
}

pub fn set_policy(sc: &Sidecar, p: ForkOnCheckout) {
    *sc.fork_on_checkout.write().unwrap() = p;
}

/// What the watcher reads from a git directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub head: Head,
    pub op: Option<Operation>,
}

pub fn snapshot(repo: &Repo) -> Snapshot {
    Snapshot {
        op: git::operation_in_progress(&repo.git_dir),
        head: git::read_head(repo),
    }
}

/// The settled-branch state machine of one git directory, independent of the clock and the
/// file system (fed snapshots and instants).
#[derive(Debug)]
pub struct Tracker {
    settled: Head,
    last: Snapshot,
    deadline: Option<Instant>,
}

impl Tracker {
    pub fn new(initial: Snapshot) -> Tracker {
        let settled = match &initial.op {
            Some(Operation {
                orig_branch: Some(b),
                ..
            }) => Head::Branch(b.clone()),
            _ => initial.head.clone(),
        };
        Tracker {
            settled,
            last: initial,
            deadline: None,
        }
    }

    /// The branch last reported (or found at start).
    pub fn settled(&self) -> &Head {
        &self.settled
    }

    /// A fresh reading; a different one restarts the settle timer.
    pub fn observe(&mut self, snap: Snapshot, now: Instant) {
        if snap != self.last {
            self.last = snap;
            self.deadline = Some(now + SETTLE);
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Once settled: `(from, to)` when HEAD now rests on another branch (or detached) than the
    /// one last reported.
    pub fn poll(&mut self, now: Instant) -> Option<(Head, Head)> {
        let d = self.deadline?;
        if now < d {
            return None;
        }
        self.deadline = None;
        let snap = &self.last;
        if snap.op.is_some() || snap.head == Head::Unknown {
            // Mid-operation, or HEAD unreadable: wait for the next change.
            return None;
        }
        if self.settled == Head::Unknown {
            self.settled = snap.head.clone();
            return None;
        }
        if snap.head == self.settled {
            return None;
        }
        let from = std::mem::replace(&mut self.settled, snap.head.clone());
        Some((from, snap.head.clone()))
    }
}

/// One watched git directory and the workspace folder it reports for.
struct Folder {
    /// The workspace folder as the editor gave it (the `workspace` of the notification).
    workspace: String,
    repo: Repo,
    /// The work tree root as found and canonicalised: sessions started under it are this
    /// folder's.
    roots: Vec<PathBuf>,
    tracker: Tracker,
}

enum Msg {
    Changed,
    Stop,
}

/// Keeps the git watcher alive; dropping it stops the thread (without waiting for it).
pub struct GitWatchHandle {
    tx: mpsc::Sender<Msg>,
    git_dirs: Vec<PathBuf>,
}

impl GitWatchHandle {
    /// The git directories being watched.
    pub fn git_dirs(&self) -> &[PathBuf] {
        &self.git_dirs
    }
}

impl Drop for GitWatchHandle {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
    }
}

/// Start watching the git directory of every workspace folder of `sc`. The initial state is
/// read before this returns, so a checkout right after it is seen as a change. None when no
/// folder is inside a git work tree.
pub fn start(sc: &Arc<Sidecar>) -> Option<GitWatchHandle> {
    let mut folders: Vec<Folder> = Vec::new();
    for f in sc.workspace().folders {
        let Some(repo) = git::find_repo(&f) else {
            tracing::debug!("{} is not in a git work tree; no branch watch", f.display());
            continue;
        };
        if folders.iter().any(|w| w.repo.git_dir == repo.git_dir) {
            continue;
        }
        let mut roots = vec![repo.worktree.clone()];
        if let Ok(real) = std::fs::canonicalize(&repo.worktree) {
            if !roots.contains(&real) {
                roots.push(real);
            }
        }
        let tracker = Tracker::new(snapshot(&repo));
        folders.push(Folder {
            workspace: f.to_string_lossy().into_owned(),
            repo,
            roots,
            tracker,
        });
    }
    if folders.is_empty() {
        return None;
    }
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut interval = RESCAN;
    let watcher = if std::env::var_os("SESSION_SIDECAR_POLL").is_some() {
        interval = POLL_INTERVAL;
        None
    } else {
        match native_watcher(&folders, tx.clone()) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(
                    "cannot watch the git directory ({e}); re-reading HEAD every {POLL_INTERVAL:?}"
                );
                interval = POLL_INTERVAL;
                None
            }
        }
    };
    let git_dirs = folders.iter().map(|f| f.repo.git_dir.clone()).collect();
    let weak = Arc::downgrade(sc);
    std::thread::Builder::new()
        .name("git-watcher".into())
        .spawn(move || run(weak, folders, rx, watcher, interval))
        .map_err(|e| tracing::error!("cannot start the git watcher: {e}"))
        .ok()?;
    Some(GitWatchHandle { tx, git_dirs })
}

fn native_watcher(folders: &[Folder], tx: mpsc::Sender<Msg>) -> notify::Result<RecommendedWatcher> {
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
        // Opening and reading (ours included) is not a change; closing a written file is.
        Ok(notify::Event {
            kind: notify::EventKind::Access(a),
            ..
        }) if a != notify::event::AccessKind::Close(notify::event::AccessMode::Write) => {}
        Ok(_) => {
            let _ = tx.send(Msg::Changed);
        }
        Err(e) => tracing::warn!("git watch error: {e}"),
    })?;
    for f in folders {
        w.watch(&f.repo.git_dir, RecursiveMode::NonRecursive)?;
        let reftable = f.repo.git_dir.join("reftable");
        if reftable.is_dir() {
            w.watch(&reftable, RecursiveMode::NonRecursive)?;
        }
    }
    Ok(w)
}

fn run(
    weak: Weak<Sidecar>,
    mut folders: Vec<Folder>,
    rx: mpsc::Receiver<Msg>,
    _watcher: Option<RecommendedWatcher>,
    interval: Duration,
) {
    // (source agent, source id, branch) pairs this thread already forked.
    let mut forked: HashSet<(crate::protocol::Agent, String, String)> = HashSet::new();
    let mut next_scan = Instant::now() + interval;
    loop {
        let now = Instant::now();
        let wake = folders
            .iter()
            .filter_map(|f| f.tracker.deadline())
            .chain(std::iter::once(next_scan))
            .min()
            .unwrap_or(next_scan);
        let rescan = match rx.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(Msg::Changed) => {
                // Take everything queued: one re-read covers it.
                loop {
                    match rx.try_recv() {
                        Ok(Msg::Changed) => {}
                        Ok(Msg::Stop) | Err(mpsc::TryRecvError::Disconnected) => return,
                        Err(mpsc::TryRecvError::Empty) => break,
                    }
                }
                true
            }
            Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
            Err(mpsc::RecvTimeoutError::Timeout) => Instant::now() >= next_scan,
        };
        let now = Instant::now();
        if rescan {
            for f in &mut folders {
                f.tracker.observe(snapshot(&f.repo), now);
            }
            next_scan = now + interval;
        }
        for f in &mut folders {
            if let Some((from, to)) = f.tracker.poll(now) {
                let Some(sc) = weak.upgrade() else { return };
                let params = on_switch(&sc, f, &from, &to, &mut forked);
                sc.notify(Outbound::BranchChanged(params));
            }
        }
    }
}

/// Build the notification for a settled switch and apply the policy.
fn on_switch(
    sc: &Sidecar,
    f: &Folder,
    from: &Head,
    to: &Head,
    forked: &mut HashSet<(crate::protocol::Agent, String, String)>,
) -> BranchChangedParams {
    let policy = policy(sc);
    tracing::info!(
        "HEAD of {} moved {:?} -> {:?} (forkOnCheckout {:?})",
        f.workspace,
        from,
        to,
        policy
    );
    let mut params = BranchChangedParams {
        workspace: f.workspace.clone(),
        from: from.branch().map(str::to_string),
        to: to.branch().map(str::to_string),
        detached: *to == Head::Detached,
        candidate: None,
        forked: None,
    };
    let (Some(from_b), Some(to_b)) = (from.branch(), to.branch()) else {
        return params;
    };
    if policy == ForkOnCheckout::Off {
        return params;
    }
    let Some(cand) = candidate(sc, &f.roots, from_b, to_b) else {
        return params;
    };
    let summary = cand.summary();
    if policy == ForkOnCheckout::Auto {
        let key = (cand.file.agent, cand.file.id.clone(), to_b.to_string());
        if forked.insert(key) {
            params.forked = auto_fork(sc, &summary, to_b);
        }
    }
    params.candidate = Some(summary);
    params
}

fn auto_fork(sc: &Sidecar, source: &SessionSummary, to: &str) -> Option<SessionSummary> {
    let title = source
        .title
        .clone()
        .unwrap_or_else(|| source.id.chars().take(8).collect());
    let req = ForkParams {
        session: SessionRef::Qualified {
            agent: source.agent,
            id: source.id.clone(),
        },
        up_to_message: None,
        title: Some(format!("{title} (fork \u{2192} {to})")),
        branch: Some(to.to_string()),
    };
    match crate::handlers::fork::fork(sc, req) {
        Ok(r) => {
            tracing::info!(
                "forked {}:{} to {} for branch {to}",
                source.agent.as_str(),
                source.id,
                r.session.id
            );
            Some(r.session)
        }
        Err(e) => {
            tracing::warn!(
                "forkOnCheckout auto: could not fork {}:{}: {e}",
                source.agent.as_str(),
                source.id
            );
            None
        }
    }
}

/// The session the policy would fork when HEAD moves from branch `from` to branch `to`.
pub fn candidate(sc: &Sidecar, roots: &[PathBuf], from: &str, to: &str) -> Option<IndexEntry> {
    if let Err(e) = sc.ensure_loaded(Scope::Workspace) {
        tracing::warn!("cannot index the workspace sessions: {e}");
        return None;
    }
    let mut best: Option<IndexEntry> = None;
    for e in sc.index.entries.iter() {
        if !e.in_workspace {
            continue;
        }
        let Ok(store) = sc.store(e.file.agent) else {
            continue;
        };
        if !store.is_listable(&e.state) {
            continue;
        }
        match e.state.git_branch.as_deref() {
            // The new branch has a conversation of its own already.
            Some(b) if b == to => return None,
            Some(b) if b == from => {}
            _ => continue,
        }
        if e.state.model_turns == 0 {
            continue;
        }
        let here = match e.state.cwd.as_deref() {
            Some(cwd) => roots.iter().any(|r| Path::new(cwd).starts_with(r)),
            None => true,
        };
        if !here {
            continue;
        }
        let newer = match &best {
            None => true,
            Some(b) => (e.key.mtime_ns, &e.file.id) > (b.key.mtime_ns, &b.file.id),
        };
        if newer {
            best = Some(e.clone());
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(head: Head, op: Option<&'static str>) -> Snapshot {
        Snapshot {
            head,
            op: op.map(|kind| Operation {
                kind,
                orig_branch: None,
            }),
        }
    }
    fn br(b: &str) -> Head {
        Head::Branch(b.into())
    }

    #[test]
    fn a_switch_is_reported_once_settled() {
        let t0 = Instant::now();
        let mut t = Tracker::new(snap(br("main"), None));
        assert_eq!(t.poll(t0), None);
        t.observe(snap(br("feature"), None), t0);
        assert_eq!(t.poll(t0 + SETTLE / 2), None, "not settled yet");
        assert_eq!(t.poll(t0 + SETTLE), Some((br("main"), br("feature"))));
        assert_eq!(t.poll(t0 + SETTLE * 3), None, "reported once");
        assert_eq!(t.settled(), &br("feature"));
    }

    #[test]
    fn rapid_switching_reports_the_final_state_only() {
        let t0 = Instant::now();
        let mut t = Tracker::new(snap(br("main"), None));
        let step = Duration::from_millis(100);
        for i in 0..10u32 {
            let now = t0 + step * i;
            assert_eq!(t.poll(now), None, "no report while switching");
            t.observe(snap(br(&format!("r{i}")), None), now);
        }
        let end = t0 + step * 9 + SETTLE;
        assert_eq!(t.poll(end), Some((br("main"), br("r9"))));
        // Back and forth ending where it started: nothing to report.
        t.observe(snap(br("main"), None), end);
        t.observe(snap(br("r9"), None), end + step);
        assert_eq!(t.poll(end + step + SETTLE), None);
    }

    #[test]
    fn rebase_moves_are_ignored_until_it_ends() {
        let t0 = Instant::now();
        let mut t = Tracker::new(snap(br("main"), None));
        t.observe(snap(br("main"), Some("rebase")), t0);
        t.observe(snap(Head::Detached, Some("rebase")), t0);
        // A slow rebase: HEAD detached for longer than the settle time.
        assert_eq!(t.poll(t0 + SETTLE * 10), None);
        t.observe(snap(br("main"), Some("rebase")), t0 + SETTLE * 11);
        t.observe(snap(br("main"), None), t0 + SETTLE * 11);
        assert_eq!(t.poll(t0 + SETTLE * 20), None, "same branch as before");
        // A rebase of another branch ends on that branch: a switch.
        t.observe(snap(Head::Detached, Some("rebase")), t0 + SETTLE * 21);
        assert_eq!(t.poll(t0 + SETTLE * 30), None);
        t.observe(snap(br("topic"), None), t0 + SETTLE * 31);
        assert_eq!(t.poll(t0 + SETTLE * 40), Some((br("main"), br("topic"))));
    }

    #[test]
    fn started_mid_rebase_compares_to_the_rebased_branch() {
        let t0 = Instant::now();
        let mut t = Tracker::new(Snapshot {
            head: Head::Detached,
            op: Some(Operation {
                kind: "rebase",
                orig_branch: Some("main".into()),
            }),
        });
        assert_eq!(t.settled(), &br("main"));
        t.observe(snap(br("main"), None), t0);
        assert_eq!(t.poll(t0 + SETTLE), None);
    }

    #[test]
    fn detached_and_unknown_heads() {
        let t0 = Instant::now();
        let mut t = Tracker::new(snap(br("main"), None));
        t.observe(snap(Head::Detached, None), t0);
        assert_eq!(t.poll(t0 + SETTLE), Some((br("main"), Head::Detached)));
        // An unreadable HEAD (mid-write, gitdir gone) is not a switch.
        t.observe(snap(Head::Unknown, None), t0 + SETTLE);
        assert_eq!(t.poll(t0 + SETTLE * 2), None);
        t.observe(snap(br("main"), None), t0 + SETTLE * 2);
        assert_eq!(t.poll(t0 + SETTLE * 3), Some((Head::Detached, br("main"))));
        // Started with an unreadable HEAD: the first reading becomes the baseline.
        let mut u = Tracker::new(snap(Head::Unknown, None));
        u.observe(snap(br("main"), None), t0);
        assert_eq!(u.poll(t0 + SETTLE), None);
        assert_eq!(u.settled(), &br("main"));
    }
}
