//! The sidecar's state, shared by the JSON-RPC server and the CLI: configuration, the
//! workspace, the stores, the index, live subscriptions, and the outbound notification queue.

use crate::cache::Cache;
use crate::config::Config;
use crate::error::{Result, SidecarError};
use crate::ids::{parse_ref, SessionQuery};
use crate::index::{Change, Index, IndexEntry, ReadMode};
use crate::protocol::{
    AppendedParams, BranchChangedParams, ChangedParams, ContextUsageParams, ErrorCode,
    ForkOnCheckout, Scope, SessionKey, SessionRef,
};
use crate::store::{build_stores, SessionFile, SessionStore};
use crate::workspace::Workspace;
use dashmap::DashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// A notification for the client.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Outbound {
    Changed(ChangedParams),
    Appended(AppendedParams),
    ContextUsage(ContextUsageParams),
    BranchChanged(BranchChangedParams),
}

#[derive(Default)]
struct Loaded {
    workspace: bool,
    all: bool,
}

/// A live `sessions/subscribe`.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub file: SessionFile,
    /// Offset just past the last line already pushed (or held by the client).
    pub offset: u64,
    /// Device and inode of the file when subscribed: a replaced file ends the subscription.
    pub dev: u64,
    pub ino: u64,
}

pub struct Sidecar {
    pub config: Config,
    pub workspace: RwLock<Workspace>,
    pub stores: Vec<Arc<dyn SessionStore>>,
    pub index: Index,
    cache: Cache,
    loaded: Mutex<Loaded>,
    /// Held while a scope is being loaded, so concurrent callers wait instead of loading twice.
    load_lock: Mutex<()>,
    outbound: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Outbound>>>,
    pub subscriptions: DashMap<String, Subscription>,
    /// Serialises subscription pushes so appended items keep their order.
    pub push_lock: Mutex<()>,
    /// Held while a `sessions/changed` is built from the index and queued, so the last one sent
    /// for a session carries its latest indexed state (see `publish`).
    publish_lock: Mutex<()>,
    cache_dirty: AtomicBool,
    /// Wakes the background worker that reads whole the files a cold list read head-and-tail.
    completion: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    /// The live `forkOnCheckout` policy (initially `config.fork_on_checkout`; see git_watch.rs).
    pub fork_on_checkout: RwLock<ForkOnCheckout>,
    /// Throttle of the `sessions/contextUsage` pushes.
    pub context_push: crate::handlers::context::PushState,
}

impl Sidecar {
    pub fn new(config: Config) -> Arc<Sidecar> {
        let stores = build_stores(&config);
        let key: String = stores
            .iter()
            .map(|s| format!("{}={};", s.agent().as_str(), s.root().display()))
            .collect();
        let cache = Cache::new(&config.cache_dir, &key);
        let index = Index::with_cache(cache.load());
        let workspace = Workspace::new(config.workspace_folders.clone());
        let fork_on_checkout = RwLock::new(config.fork_on_checkout);
        Arc::new(Sidecar {
            config,
            workspace: RwLock::new(workspace),
            stores,
            index,
            cache,
            loaded: Mutex::new(Loaded::default()),
            load_lock: Mutex::new(()),
            outbound: Mutex::new(None),
            subscriptions: DashMap::new(),
            push_lock: Mutex::new(()),
            publish_lock: Mutex::new(()),
            cache_dirty: AtomicBool::new(false),
            completion: Mutex::new(None),
            fork_on_checkout,
            context_push: Default::default(),
        })
    }

    /// Start the worker that fills in exact counts after cold loads and pushes them as
    /// `sessions/changed` updates (the server does this; the CLI completes counts inline).
    pub fn start_background(self: &Arc<Self>) {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        *self.completion.lock().unwrap() = Some(tx);
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("exact-counts".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    while rx.try_recv().is_ok() {}
                    let Some(sc) = weak.upgrade() else { return };
                    let updated = sc.complete_counts();
                    sc.publish(updated.into_iter().map(Change::Updated).collect());
                    sc.save_cache_if_dirty();
                }
            })
            .expect("spawn exact-counts worker");
        let _ = self.completion.lock().unwrap().as_ref().map(|t| t.send(()));
    }

    pub fn set_outbound(&self, tx: tokio::sync::mpsc::UnboundedSender<Outbound>) {
        *self.outbound.lock().unwrap() = Some(tx);
    }

    pub fn notify(&self, msg: Outbound) {
        if let Some(tx) = self.outbound.lock().unwrap().as_ref() {
            let _ = tx.send(msg);
        }
    }

    /// A sender for notifications produced off the request path (None before `initialized`).
    pub fn outbound_sender(&self) -> Option<tokio::sync::mpsc::UnboundedSender<Outbound>> {
        self.outbound.lock().unwrap().clone()
    }

    pub fn workspace(&self) -> Workspace {
        self.workspace.read().unwrap().clone()
    }

    pub fn store(&self, agent: crate::protocol::Agent) -> Result<&Arc<dyn SessionStore>> {
        self.stores
            .iter()
            .find(|s| s.agent() == agent)
            .ok_or_else(|| {
                SidecarError::new(
                    ErrorCode::AgentDisabled,
                    format!(
                        "{} sessions are disabled (initializationOptions.agents)",
                        agent.as_str()
                    ),
                )
            })
    }

    /// Index the sessions of the scope if that was not done yet. Large files not seen before
    /// are read head-and-tail only; `complete_counts` reads them whole afterwards.
    pub fn ensure_loaded(&self, scope: Scope) -> Result<()> {
        let _loading = self.load_lock.lock().unwrap();
        {
            let l = self.loaded.lock().unwrap();
            if l.all || (scope == Scope::Workspace && l.workspace) {
                return Ok(());
            }
        }
        let ws = self.workspace();
        let started = std::time::Instant::now();
        let mut errors = Vec::new();
        for store in &self.stores {
            // Temp files a killed writer (ours) left beside the sessions.
            store.clean_temp_files(&ws);
            let files = match scope {
                Scope::Workspace => store.discover(Some(&ws)),
                Scope::All => store.discover(None),
            };
            match files {
                Ok(files) => {
                    for f in files {
                        if let Err(e) = self.index.load(store.as_ref(), &f, &ws, ReadMode::Lite) {
                            tracing::warn!(
                                "skipping unreadable session file {}: {e}",
                                f.path.display()
                            );
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        tracing::info!(
            "indexed {:?} scope: {} sessions in {:?}",
            scope,
            self.index.entries.len(),
            started.elapsed()
        );
        let mut l = self.loaded.lock().unwrap();
        match scope {
            Scope::Workspace => l.workspace = true,
            Scope::All => {
                l.all = true;
                l.workspace = true;
            }
        }
        if errors.len() == self.stores.len() && !errors.is_empty() {
            return Err(errors.remove(0));
        }
        for e in errors {
            tracing::warn!("{e}");
        }
        if let Some(tx) = self.completion.lock().unwrap().as_ref() {
            let _ = tx.send(());
        }
        Ok(())
    }

    pub fn all_loaded(&self) -> bool {
        self.loaded.lock().unwrap().all
    }

    /// Read whole every file that was only read head-and-tail; returns the updated summaries.
    pub fn complete_counts(&self) -> Vec<crate::protocol::SessionSummary> {
        let ws = self.workspace();
        let mut updated = Vec::new();
        for f in self.index.partial_entries() {
            let Ok(store) = self.store(f.agent) else {
                continue;
            };
            match crate::index::scan_file(store.as_ref(), &f.path, None, ReadMode::Full) {
                Ok((key, state)) => {
                    let in_workspace = store.in_workspace(&f.path, &state, &ws);
                    let entry = IndexEntry {
                        file: f.clone(),
                        key,
                        state,
                        in_workspace,
                    };
                    // Only over the partial entry this read replaces: one a watcher refresh
                    // made exact meanwhile is newer, and one a delete removed stays removed.
                    let key = (f.agent, f.id.clone());
                    let Some(mut cur) = self.index.entries.get_mut(&key) else {
                        continue;
                    };
                    if !cur.state.partial || cur.file.path != f.path {
                        continue;
                    }
                    if store.is_listable(&entry.state) {
                        updated.push(entry.summary());
                    }
                    *cur = entry;
                }
                Err(e) => tracing::warn!("cannot read {}: {e}", f.path.display()),
            }
        }
        if !updated.is_empty() {
            self.cache_dirty.store(true, Ordering::Relaxed);
        }
        updated
    }

    pub fn save_cache_if_dirty(&self) {
        let index_dirty = self.index.dirty.swap(false, Ordering::Relaxed);
        if self.cache_dirty.swap(false, Ordering::Relaxed) || index_dirty {
            self.cache.save(self.index.to_cache());
        }
    }

    /// Find a session by reference: `agent:id`, a full id, or a unique prefix (≥ 8 chars).
    pub fn resolve(&self, r: &SessionRef) -> Result<(Arc<dyn SessionStore>, IndexEntry)> {
        let q = parse_ref(r)?;
        if let Some(agent) = q.agent {
            self.store(agent)?;
        }
        self.ensure_loaded(Scope::Workspace)?;
        match self.lookup(&q)? {
            Some(found) => Ok(found),
            None => {
                self.ensure_loaded(Scope::All)?;
                self.lookup(&q)?.ok_or_else(|| {
                    SidecarError::not_found(format!(
                        "{}{} in the enabled stores",
                        q.agent
                            .map(|a| format!("{}:", a.as_str()))
                            .unwrap_or_default(),
                        q.id
                    ))
                })
            }
        }
    }

    fn lookup(&self, q: &SessionQuery) -> Result<Option<(Arc<dyn SessionStore>, IndexEntry)>> {
        let mut matches: Vec<IndexEntry> = Vec::new();
        for e in self.index.entries.iter() {
            if q.agent.is_some_and(|a| a != e.file.agent) {
                continue;
            }
            if e.file.id == q.id {
                matches.clear();
                matches.push(e.clone());
                break;
            }
            if e.file.id.starts_with(&q.id) {
                matches.push(e.clone());
            }
        }
        match matches.len() {
            0 => Ok(None),
            1 => {
                let e = matches.pop().unwrap();
                let store = self.store(e.file.agent)?.clone();
                Ok(Some((store, e)))
            }
            n => Err(SidecarError::new(
                ErrorCode::AmbiguousSession,
                format!(
                    "{:?} matches {n} sessions ({}); use more characters or agent:id",
                    q.id,
                    matches
                        .iter()
                        .take(5)
                        .map(|e| format!("{}:{}", e.file.agent.as_str(), e.file.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// Re-read one indexed session now (after a write of ours) and tell the client.
    pub fn refresh_file(&self, file: &SessionFile) -> Result<IndexEntry> {
        self.refresh_in(file, ReadMode::Full)
    }

    /// Index a session file the sidecar itself just wrote (a fork), answering fast: with the
    /// background worker running, a big file is read head-and-tail now and whole by the worker,
    /// which pushes its exact counts; the CLI reads it whole at once.
    pub fn refresh_written(&self, file: &SessionFile) -> Result<IndexEntry> {
        let background = self.completion.lock().unwrap().clone();
        let Some(tx) = background else {
            return self.refresh_file(file);
        };
        let entry = self.refresh_in(file, ReadMode::Lite)?;
        let _ = tx.send(());
        Ok(entry)
    }

    fn refresh_in(&self, file: &SessionFile, mode: ReadMode) -> Result<IndexEntry> {
        let store = self.store(file.agent)?.clone();
        let ws = self.workspace();
        let change = self
            .index
            .refresh(store.as_ref(), file, &ws, mode)
            .map_err(|e| SidecarError::unreadable(&file.path, &e))?;
        self.publish(vec![change]);
        self.index
            .get(file.agent, &file.id)
            .ok_or_else(|| SidecarError::not_found(&file.id))
    }

    /// Turn index changes into one `sessions/changed` (workspace sessions only, unless the
    /// client listed every session).
    ///
    /// Each session goes out with the index's state at the time of sending, not the state its
    /// change was read with, and sending is serialised: two threads that change one session
    /// (the watcher and the exact-counts worker, say) cannot leave the client with the older
    /// summary. A session no longer indexed or no longer listable goes out as removed.
    pub fn publish(&self, changes: Vec<Change>) {
        let _order = self.publish_lock.lock().unwrap_or_else(|e| e.into_inner());
        let all = self.all_loaded();
        let mut p = ChangedParams::default();
        let mut seen = std::collections::HashSet::new();
        for c in changes {
            let added = matches!(c, Change::Added(_));
            let key = match c {
                Change::Added(s) | Change::Updated(s) => SessionKey {
                    agent: s.agent,
                    id: s.id,
                },
                Change::Removed(k) => k,
                Change::Unchanged => continue,
            };
            if !seen.insert((key.agent, key.id.clone())) {
                continue;
            }
            let now = self.index.get(key.agent, &key.id).filter(|e| {
                self.store(e.file.agent)
                    .is_ok_and(|store| store.is_listable(&e.state))
            });
            match now {
                Some(e) if !all && !e.in_workspace => {}
                Some(e) if added => p.added.push(e.summary()),
                Some(e) => p.updated.push(e.summary()),
                None => p.removed.push(key),
            }
        }
        if !(p.added.is_empty() && p.updated.is_empty() && p.removed.is_empty()) {
            self.cache_dirty.store(true, Ordering::Relaxed);
            self.notify(Outbound::Changed(p));
        }
    }

    /// The watcher saw these paths change.
    pub fn on_paths_changed(&self, paths: &[PathBuf]) {
        let ws = self.workspace();
        let mut changes = Vec::new();
        let mut touched = Vec::new();
        for path in paths {
            if let Some((agent, id)) = self.index.by_path(path) {
                if let Ok(store) = self.store(agent) {
                    let file = SessionFile {
                        agent,
                        id,
                        path: path.clone(),
                    };
                    match self
                        .index
                        .refresh(store.as_ref(), &file, &ws, ReadMode::Full)
                    {
                        Ok(c) => changes.push(c),
                        Err(e) => tracing::warn!("cannot read {}: {e}", path.display()),
                    }
                    touched.push(file);
                }
                continue;
            }
            if !path.exists() {
                continue;
            }
            for store in &self.stores {
                if let Some(id) = store.session_id_of(path) {
                    let file = SessionFile {
                        agent: store.agent(),
                        id,
                        path: path.clone(),
                    };
                    match self
                        .index
                        .refresh(store.as_ref(), &file, &ws, ReadMode::Full)
                    {
                        Ok(c) => changes.push(c),
                        Err(e) => tracing::warn!("cannot read {}: {e}", path.display()),
                    }
                    touched.push(file);
                    break;
                }
            }
        }
        self.publish(changes);
        for f in touched {
            crate::handlers::subscribe::push_appended(self, &f);
            crate::handlers::context::on_session_written(self, &f);
        }
    }

    /// The watcher has its watches in place. A write made between the sidecar reading a file
    /// (the index load, the history page a subscription starts after) and that moment produced
    /// no event: look once at every subscribed file and every indexed file whose key changed.
    pub fn catch_up_after_watch(&self) {
        let mut paths: Vec<PathBuf> = self
            .subscriptions
            .iter()
            .map(|s| s.file.path.clone())
            .collect();
        for e in self.index.entries.iter() {
            let same = std::fs::metadata(&e.file.path)
                .is_ok_and(|m| crate::transcript::FileKey::of(&m) == e.key);
            if !same {
                paths.push(e.file.path.clone());
            }
        }
        paths.sort();
        paths.dedup();
        if !paths.is_empty() {
            tracing::debug!(
                "{} file(s) changed before the watches were in place",
                paths.len()
            );
            self.on_paths_changed(&paths);
        }
    }

    /// Every path the watcher should cover.
    pub fn watch_roots(&self) -> Vec<PathBuf> {
        self.stores.iter().flat_map(|s| s.watch_roots()).collect()
    }

    pub fn entry_for_path(&self, path: &Path) -> Option<IndexEntry> {
        self.index
            .by_path(path)
            .and_then(|(a, id)| self.index.get(a, &id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Agent, InitializationOptions};
    use std::io::Write;

    const ID: &str = "0e2c7a52-8f0e-4b7c-9a44-5d1b0c3e9f10";
    const WS: &str = "/home/dev/acme-webapp";

    fn user_line(i: usize) -> String {
        format!(
            r#"{{"parentUuid":null,"type":"user","message":{{"role":"user","content":"prompt {i}"}},"uuid":"u{i}","timestamp":"2026-11-21T06:04:5{i}.086Z","sessionId":"{ID}","cwd":"{WS}"}}"#
        ) + "\n"
    }

    fn changed(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Outbound>) -> ChangedParams {
        match rx.try_recv() {
            Ok(Outbound::Changed(p)) => p,
            other => panic!("expected one sessions/changed, got {other:?}"),
        }
    }

    /// A change read before a later write and published after it (the exact-counts worker
    /// racing the watcher) goes out with the later state; one of a session deleted meanwhile
    /// goes out as removed.
    #[test]
    fn publish_sends_the_state_indexed_when_sending() {
        let home = tempfile::tempdir().unwrap();
        let opts = InitializationOptions {
            home: Some(home.path().to_string_lossy().into_owned()),
            agents: Some(vec![Agent::Claude]),
            ..Default::default()
        };
        let mut config = Config::resolve(&opts, vec![PathBuf::from(WS)]);
        config.cache_dir = home.path().join("cache");
        config.data_dir = home.path().join("data");
        let dir = config
            .store_root(Agent::Claude)
            .join("projects/-home-dev-acme-webapp");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{ID}.jsonl"));
        std::fs::write(&path, user_line(1)).unwrap();
        let sc = Sidecar::new(config);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        sc.set_outbound(tx);
        sc.ensure_loaded(Scope::Workspace).unwrap();
        let stale = sc.index.get(Agent::Claude, ID).unwrap().summary();
        assert_eq!(stale.message_count, 1);

        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(user_line(2).as_bytes()).unwrap();
        drop(f);
        let file = SessionFile {
            agent: Agent::Claude,
            id: ID.into(),
            path: path.clone(),
        };
        let store = sc.store(Agent::Claude).unwrap().clone();
        let _newer = sc
            .index
            .refresh(store.as_ref(), &file, &sc.workspace(), ReadMode::Full)
            .unwrap();
        sc.publish(vec![
            Change::Updated(stale.clone()),
            Change::Updated(stale.clone()),
        ]);
        let p = changed(&mut rx);
        assert_eq!(p.updated.len(), 1, "one entry per session");
        assert_eq!(
            p.updated[0].message_count, 2,
            "the indexed state, not the stale one"
        );
        assert!(p.added.is_empty() && p.removed.is_empty());

        std::fs::remove_file(&path).unwrap();
        sc.index.remove_path(&path);
        sc.publish(vec![Change::Added(stale)]);
        let p = changed(&mut rx);
        assert!(p.added.is_empty() && p.updated.is_empty());
        assert_eq!(p.removed.len(), 1);
        assert_eq!(
            (p.removed[0].agent, p.removed[0].id.as_str()),
            (Agent::Claude, ID)
        );
        assert!(rx.try_recv().is_err(), "nothing else was sent");
    }
}
