//! One watcher for every store root: notify + a short debounce. Creates, appends, renames and
//! deletes reach `Sidecar::on_paths_changed`. A root that does not exist yet is picked up when
//! it appears; when the kernel's inotify limits are hit the watcher falls back to polling and
//! says so once.

use crate::Sidecar;
use notify::{PollWatcher, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer_opt, DebounceEventResult, Debouncer, NoCache};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::Duration;

pub const DEBOUNCE: Duration = Duration::from_millis(60);
const POLL_INTERVAL: Duration = Duration::from_millis(250);

enum Backend {
    // No file-id cache: it walks and stats the whole watched tree at start (every project of
    // every agent); inotify reports renames with both paths anyway.
    Native(Debouncer<RecommendedWatcher, NoCache>),
    Poll(Debouncer<PollWatcher, NoCache>),
}

impl Backend {
    fn watch(&mut self, p: &Path, mode: RecursiveMode) -> notify::Result<()> {
        match self {
            Backend::Native(d) => d.watch(p, mode),
            Backend::Poll(d) => d.watch(p, mode),
        }
    }
}

/// Keeps the watcher thread alive; dropping it stops watching.
pub struct WatchHandle {
    _stop: mpsc::Sender<()>,
}

fn is_limit_error(e: &notify::Error) -> bool {
    matches!(e.kind, notify::ErrorKind::MaxFilesWatch)
        || matches!(&e.kind, notify::ErrorKind::Io(io) if io.raw_os_error() == Some(libc::ENOSPC) || io.raw_os_error() == Some(libc::EMFILE))
}

/// Start watching every store root of `sc`.
pub fn start(sc: &Arc<Sidecar>) -> WatchHandle {
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (ev_tx, ev_rx) = mpsc::channel::<Vec<PathBuf>>();
    let weak: Weak<Sidecar> = Arc::downgrade(sc);
    let roots = sc.watch_roots();
    let force_poll = std::env::var_os("SESSION_SIDECAR_POLL").is_some();
    std::thread::Builder::new()
        .name("session-watcher".into())
        .spawn(move || run(weak, roots, ev_tx, ev_rx, stop_rx, force_poll))
        .expect("spawn watcher thread");
    WatchHandle { _stop: stop_tx }
}

fn make_backend(poll: bool, tx: mpsc::Sender<Vec<PathBuf>>) -> notify::Result<Backend> {
    let handler = move |res: DebounceEventResult| match res {
        Ok(events) => {
            let mut paths = BTreeSet::new();
            for ev in events {
                // Opens and reads (by us or the agents) change nothing; a close after writing does.
                if let notify::EventKind::Access(a) = ev.kind {
                    if a != notify::event::AccessKind::Close(notify::event::AccessMode::Write) {
                        continue;
                    }
                }
                for p in &ev.paths {
                    paths.insert(p.clone());
                }
            }
            let _ = tx.send(paths.into_iter().collect());
        }
        Err(errs) => {
            for e in errs {
                tracing::warn!("watch error: {e}");
            }
        }
    };
    if poll {
        let cfg = notify::Config::default().with_poll_interval(POLL_INTERVAL);
        Ok(Backend::Poll(new_debouncer_opt::<_, PollWatcher, NoCache>(
            DEBOUNCE, None, handler, NoCache, cfg,
        )?))
    } else {
        Ok(Backend::Native(new_debouncer_opt::<
            _,
            RecommendedWatcher,
            NoCache,
        >(
            DEBOUNCE,
            None,
            handler,
            NoCache,
            notify::Config::default(),
        )?))
    }
}

fn nearest_existing(p: &Path) -> Option<PathBuf> {
    p.ancestors()
        .skip(1)
        .find(|a| a.is_dir())
        .map(Path::to_path_buf)
}

/// The backend and what it watches. When a native watch hits the kernel's inotify limit, the
/// watcher switches to polling, says so once, and re-adds everything it watched (the native
/// backend's watches go with it).
struct Watching {
    backend: Backend,
    poll: bool,
    ev_tx: mpsc::Sender<Vec<PathBuf>>,
    watched: Vec<(PathBuf, RecursiveMode)>,
    /// Test hook (`SESSION_SIDECAR_WATCH_LIMIT=N`): native watches after the first N fail as
    /// if the inotify limit were reached.
    native_limit: Option<usize>,
    native_watches: usize,
    /// When the watcher fell back to polling: files changed since (less a margin) may have
    /// been missed while the poller took its first look, so they are re-read once.
    fell_back_at: Option<std::time::SystemTime>,
}

impl Watching {
    fn watch_raw(&mut self, p: &Path, mode: RecursiveMode) -> notify::Result<()> {
        if !self.poll {
            if let Some(limit) = self.native_limit {
                if self.native_watches >= limit {
                    return Err(notify::Error::new(notify::ErrorKind::MaxFilesWatch));
                }
            }
        }
        self.backend.watch(p, mode)?;
        if !self.poll {
            self.native_watches += 1;
        }
        Ok(())
    }

    fn watch(&mut self, p: &Path, mode: RecursiveMode) -> notify::Result<()> {
        match self.watch_raw(p, mode) {
            Ok(()) => {}
            Err(e) if is_limit_error(&e) && !self.poll => {
                tracing::warn!(
                    "inotify watch limit reached ({e}); falling back to polling every {POLL_INTERVAL:?} (raise fs.inotify.max_user_watches to avoid this)"
                );
                let b = make_backend(true, self.ev_tx.clone())?;
                self.backend = b;
                self.poll = true;
                self.fell_back_at = Some(std::time::SystemTime::now() - Duration::from_secs(2));
                for (w, m) in self.watched.clone() {
                    if let Err(e) = self.backend.watch(&w, m) {
                        tracing::warn!("cannot watch {}: {e}", w.display());
                    }
                }
                self.backend.watch(p, mode)?;
            }
            Err(e) => return Err(e),
        }
        self.watched.push((p.to_path_buf(), mode));
        Ok(())
    }
}

fn run(
    weak: Weak<Sidecar>,
    roots: Vec<PathBuf>,
    ev_tx: mpsc::Sender<Vec<PathBuf>>,
    ev_rx: mpsc::Receiver<Vec<PathBuf>>,
    stop_rx: mpsc::Receiver<()>,
    force_poll: bool,
) {
    let mut poll = force_poll;
    let backend = match make_backend(poll, ev_tx.clone()) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(
                "native file watching unavailable ({e}); polling every {POLL_INTERVAL:?}"
            );
            poll = true;
            match make_backend(true, ev_tx.clone()) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!("cannot watch session stores: {e}");
                    return;
                }
            }
        }
    };
    let mut w = Watching {
        backend,
        poll,
        ev_tx: ev_tx.clone(),
        watched: Vec::new(),
        native_limit: std::env::var("SESSION_SIDECAR_WATCH_LIMIT")
            .ok()
            .and_then(|v| v.parse().ok()),
        native_watches: 0,
        fell_back_at: None,
    };
    // Test hook (`SESSION_SIDECAR_WATCH_DELAY_MS=N`): the watches go in N ms late, as on a
    // loaded machine where this thread starts after the client's first requests.
    if let Some(ms) = std::env::var("SESSION_SIDECAR_WATCH_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms.min(10_000)));
    }
    let mut pending: Vec<PathBuf> = Vec::new();
    let mut watched_parents: BTreeSet<PathBuf> = BTreeSet::new();
    let mut install = |w: &mut Watching, root: &Path, pending: &mut Vec<PathBuf>| {
        if root.is_dir() {
            match w.watch(root, RecursiveMode::Recursive) {
                Ok(()) => return,
                Err(e) => tracing::warn!("cannot watch {}: {e}", root.display()),
            }
        }
        // Not there yet: watch the nearest existing ancestor (not recursively) for it to appear.
        pending.push(root.to_path_buf());
        if let Some(parent) = nearest_existing(root) {
            if watched_parents.insert(parent.clone()) {
                if let Err(e) = w.watch(&parent, RecursiveMode::NonRecursive) {
                    tracing::warn!("cannot watch {}: {e}", parent.display());
                }
            }
        }
    };
    for root in &roots {
        install(&mut w, root, &mut pending);
    }
    catch_up(&mut w, &weak, &roots);
    // Writes made before the watches were in place produced no event.
    if let Some(sc) = weak.upgrade() {
        sc.catch_up_after_watch();
    }
    loop {
        if let Ok(()) | Err(mpsc::TryRecvError::Disconnected) = stop_rx.try_recv() {
            return;
        }
        let paths = match ev_rx.recv_timeout(Duration::from_millis(500)) {
            Ok(p) => p,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let Some(sc) = weak.upgrade() else { return };
        if !pending.is_empty() {
            let waiting = std::mem::take(&mut pending);
            let mut appeared = Vec::new();
            for root in waiting {
                if root.is_dir() {
                    appeared.push(root.clone());
                }
                install(&mut w, &root, &mut pending);
            }
            catch_up(&mut w, &weak, &roots);
            // Files created together with their folder produced no event of their own.
            for root in appeared {
                let mut files = Vec::new();
                collect_files(&root, &mut files, 0);
                sc.on_paths_changed(&files);
            }
        }
        sc.on_paths_changed(&paths);
        sc.save_cache_if_dirty();
    }
}

/// After a fallback to polling: re-read the files changed since just before it (the native
/// watches were gone and the poller had not yet taken its first look).
fn catch_up(w: &mut Watching, weak: &Weak<Sidecar>, roots: &[PathBuf]) {
    let Some(since) = w.fell_back_at.take() else {
        return;
    };
    let Some(sc) = weak.upgrade() else { return };
    let mut files = Vec::new();
    for root in roots {
        collect_files(root, &mut files, 0);
    }
    files.retain(|f| {
        std::fs::metadata(f)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since)
    });
    if !files.is_empty() {
        sc.on_paths_changed(&files);
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 6 {
        return;
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => collect_files(&p, out, depth + 1),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
}
