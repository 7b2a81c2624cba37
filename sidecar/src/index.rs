//! The live session index: one entry per (agent, id) with the file's key and its summary
//! state. Files are read incrementally: an appended file from its last indexed offset, a file
//! that shrank or was replaced from the start, a large file never seen before only its head and
//! tail (exact counts are filled in afterwards).

use crate::cache::CachedFile;
use crate::protocol::{Agent, SessionKey, SessionSummary};
use crate::store::{SessionFile, SessionStore};
use crate::summary::ScanState;
use crate::transcript::{self, FileKey, LITE_WINDOW};
use crate::workspace::Workspace;
use dashmap::DashMap;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone)]
pub struct IndexEntry {
    pub file: SessionFile,
    pub key: FileKey,
    pub state: ScanState,
    pub in_workspace: bool,
}

impl IndexEntry {
    pub fn summary(&self) -> SessionSummary {
        self.state
            .to_summary(self.file.agent, &self.file.id, &self.file.path, &self.key)
    }
    pub fn session_key(&self) -> SessionKey {
        SessionKey {
            agent: self.file.agent,
            id: self.file.id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Added(SessionSummary),
    Updated(SessionSummary),
    Removed(SessionKey),
    Unchanged,
}

/// How to read a file the index has not seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Head and tail only when the file is large.
    Lite,
    /// Every line.
    Full,
}

#[derive(Default)]
pub struct Index {
    pub entries: DashMap<(Agent, String), IndexEntry>,
    paths: DashMap<PathBuf, (Agent, String)>,
    /// Entries loaded from the persistent cache, consumed when their file is first seen.
    cached: Mutex<HashMap<PathBuf, CachedFile>>,
    /// Set when a file was read (not reused from the cache): the cache needs saving.
    pub dirty: std::sync::atomic::AtomicBool,
}

/// The file's key, if it is still the one `prior_state` was read at and that state serves `mode`
/// (a head-and-tail state does not serve a full read).
fn unchanged_key(
    path: &Path,
    prior_key: &FileKey,
    prior_state: &ScanState,
    mode: ReadMode,
) -> io::Result<Option<FileKey>> {
    let key = FileKey::of(&std::fs::metadata(path)?);
    Ok((*prior_key == key && (!prior_state.partial || mode == ReadMode::Lite)).then_some(key))
}

/// Read a file into a summary state, reusing `prior` when the file only grew.
pub fn scan_file(
    store: &dyn SessionStore,
    path: &Path,
    prior: Option<(&FileKey, &ScanState)>,
    mode: ReadMode,
) -> io::Result<(FileKey, ScanState)> {
    // A file whose key did not change is not even opened (a warm start stats every file).
    if let Some((pk, ps)) = prior {
        if let Some(key) = unchanged_key(path, pk, ps, mode)? {
            return Ok((key, ps.clone()));
        }
    }
    let mut f = File::open(path)?;
    let meta = f.metadata()?;
    let key = FileKey::of(&meta);
    if let Some((pk, ps)) = prior {
        let same_file = pk.dev == key.dev && pk.ino == key.ino;
        if ps.partial && *pk == key && mode == ReadMode::Lite {
            return Ok((key, ps.clone()));
        }
        if same_file && !ps.partial && key.size >= ps.offset {
            if *pk == key {
                return Ok((key, ps.clone()));
            }
            if transcript::fingerprint(&mut f, ps.offset)? == ps.fingerprint {
                let mut st = ps.clone();
                let end = transcript::for_each_line(&mut f, st.offset, |_, line| {
                    feed(store, &mut st, line);
                    true
                })?;
                st.offset = end;
                st.fingerprint = transcript::fingerprint(&mut f, end)?;
                return Ok((key, st));
            }
        }
    }
    let mut st = ScanState::default();
    if mode == ReadMode::Lite && key.size > 2 * LITE_WINDOW {
        lite_scan(store, &mut f, key.size, &mut st)?;
        return Ok((key, st));
    }
    let end = transcript::for_each_line(&mut f, 0, |_, line| {
        feed(store, &mut st, line);
        true
    })?;
    st.offset = end;
    st.fingerprint = transcript::fingerprint(&mut f, end)?;
    Ok((key, st))
}

/// `st` (a head-and-tail state) with the title and tag rows of the whole file folded in, in file
/// order: what a default title needs, without parsing every line (`lite_metadata_line` picks
/// the rows by their prefix).
pub fn with_all_metadata(
    store: &dyn SessionStore,
    path: &Path,
    st: &ScanState,
) -> io::Result<ScanState> {
    let mut out = st.clone();
    let mut f = File::open(path)?;
    transcript::for_each_line(&mut f, 0, |_, line| {
        if store.lite_metadata_line(line) {
            store.scan_line(&mut out, line);
        }
        true
    })?;
    Ok(out)
}

/// One line into a file's summary: the store's own reading, plus the estimate a trim left (a
/// trimmed fork's context is its estimate until the agent records a turn; `trim_rules`).
fn feed(store: &dyn SessionStore, st: &mut ScanState, line: &[u8]) {
    store.scan_line(st, line);
    if let Some(n) = crate::store::trim_rules::estimate_in(line) {
        st.context_used = Some(n);
    }
}

/// A cold read of a large file: lines from the head until the store has what the head gives
/// (first prompt, creation time, cwd), and lines from the tail, read backwards, until it has what
/// the tail gives (latest title, branch, model, usage) — each side within the SDK's 64 KiB window.
/// The tail lines are then folded in file order, so "last wins" fields stay right.
fn lite_scan(
    store: &dyn SessionStore,
    f: &mut File,
    size: u64,
    st: &mut ScanState,
) -> io::Result<()> {
    let ht = transcript::read_head_tail(f, size, LITE_WINDOW)?;
    // Head: every line until the store has what the head gives; past that, only title/tag
    // records (the SDK takes a title from the head when the tail has none).
    let mut done = false;
    for line in transcript::lines_in(&ht.head, false) {
        if !done || store.lite_metadata_line(line) {
            feed(store, st, line);
        }
        done = done || store.lite_head_done(st);
    }
    // Tail, backwards: every line until the store has what the tail gives; before that point only
    // title/tag records. Then fold them in file order so "last wins" fields stay right.
    let tail_lines: Vec<&[u8]> = transcript::lines_in(&ht.tail, true).collect();
    let mut probe = ScanState::default();
    let mut start = tail_lines.len();
    while start > 0 {
        start -= 1;
        store.scan_line(&mut probe, tail_lines[start]);
        if store.lite_tail_done(&probe) {
            break;
        }
    }
    for line in tail_lines[..start]
        .iter()
        .filter(|l| store.lite_metadata_line(l))
    {
        feed(store, st, line);
    }
    for line in &tail_lines[start..] {
        feed(store, st, line);
    }
    st.partial = true;
    st.offset = 0;
    Ok(())
}

impl Index {
    pub fn with_cache(cached: HashMap<PathBuf, CachedFile>) -> Index {
        Index {
            cached: Mutex::new(cached),
            ..Default::default()
        }
    }

    pub fn get(&self, agent: Agent, id: &str) -> Option<IndexEntry> {
        self.entries
            .get(&(agent, id.to_string()))
            .map(|e| e.clone())
    }

    /// The summary of an indexed session (without cloning its entry).
    pub fn get_summary(&self, agent: Agent, id: &str) -> Option<SessionSummary> {
        self.entries
            .get(&(agent, id.to_string()))
            .map(|e| e.summary())
    }

    pub fn by_path(&self, path: &Path) -> Option<(Agent, String)> {
        self.paths.get(path).map(|e| e.clone())
    }

    /// Index or re-index one file. Returns what a client should be told.
    pub fn refresh(
        &self,
        store: &dyn SessionStore,
        file: &SessionFile,
        workspace: &Workspace,
        mode: ReadMode,
    ) -> io::Result<Change> {
        self.index_file(store, file, workspace, mode, true)
    }

    /// Index one file of a scope being loaded: as `refresh`, but no client is told (the list
    /// that waits for the load reads the index), so no summary is built.
    pub fn load(
        &self,
        store: &dyn SessionStore,
        file: &SessionFile,
        workspace: &Workspace,
        mode: ReadMode,
    ) -> io::Result<()> {
        self.index_file(store, file, workspace, mode, false)
            .map(|_| ())
    }

    fn index_file(
        &self,
        store: &dyn SessionStore,
        file: &SessionFile,
        workspace: &Workspace,
        mode: ReadMode,
        tell: bool,
    ) -> io::Result<Change> {
        let k = (file.agent, file.id.clone());
        let existing = self.entries.get(&k).map(|e| e.clone());
        let from_cache = if existing.is_none() {
            self.cached
                .lock()
                .unwrap()
                .remove(&file.path)
                .filter(|c| c.agent == file.agent && c.id == file.id)
        } else {
            None
        };
        // A warm start: a file whose key matches the cache takes the cached state as it is
        // (moved, not copied; the file is not opened).
        let scanned = match from_cache {
            Some(c) => match unchanged_key(&file.path, &c.key, &c.state, mode) {
                Ok(Some(key)) => Ok((key, c.state, true)),
                Ok(None) => scan_file(store, &file.path, Some((&c.key, &c.state)), mode)
                    .map(|(k, s)| (k, s, false)),
                Err(e) => Err(e),
            },
            None => {
                let prior = existing
                    .as_ref()
                    .filter(|e| e.file.path == file.path)
                    .map(|e| (&e.key, &e.state));
                scan_file(store, &file.path, prior, mode).map(|(k, s)| (k, s, false))
            }
        };
        let (key, state, cached_as_is) = match scanned {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(self.remove_path(&file.path));
            }
            Err(e) => return Err(e),
        };
        let in_workspace = store.in_workspace(&file.path, &state, workspace);
        let entry = IndexEntry {
            file: file.clone(),
            key,
            state,
            in_workspace,
        };
        let was_visible = existing
            .as_ref()
            .map(|e| store.is_listable(&e.state))
            .unwrap_or(false);
        let visible = store.is_listable(&entry.state);
        let changed = existing
            .as_ref()
            .map(|e| e.key != entry.key || e.state != entry.state || e.file.path != entry.file.path)
            .unwrap_or(true);
        // The persistent cache needs writing only when a file was read, not reused as cached.
        let from_prior = match &existing {
            Some(e) => !changed && e.file.path == entry.file.path,
            None => cached_as_is,
        };
        if !from_prior {
            self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let summary = if tell && (was_visible != visible || (visible && changed)) {
            Some(entry.summary())
        } else {
            None
        };
        let skey = entry.session_key();
        if let Some(old) = &existing {
            if old.file.path != file.path {
                self.paths.remove(&old.file.path);
            }
        }
        self.paths.insert(file.path.clone(), k.clone());
        self.entries.insert(k, entry);
        Ok(match (was_visible, visible, summary) {
            (false, true, Some(summary)) => Change::Added(summary),
            (true, true, Some(summary)) => Change::Updated(summary),
            (true, false, _) => Change::Removed(skey),
            _ => Change::Unchanged,
        })
    }

    pub fn remove_path(&self, path: &Path) -> Change {
        self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
        match self.paths.remove(path) {
            Some((_, k)) => match self.entries.remove(&k) {
                Some((_, e)) => Change::Removed(e.session_key()),
                None => Change::Unchanged,
            },
            None => Change::Unchanged,
        }
    }

    /// Snapshot for the persistent cache (complete scans only).
    pub fn to_cache(&self) -> HashMap<PathBuf, CachedFile> {
        let mut m: HashMap<PathBuf, CachedFile> = self.cached.lock().unwrap().clone();
        for e in self.entries.iter() {
            if e.state.partial {
                continue;
            }
            m.insert(
                e.file.path.clone(),
                CachedFile {
                    agent: e.file.agent,
                    id: e.file.id.clone(),
                    key: e.key,
                    state: e.state.clone(),
                },
            );
        }
        m
    }

    pub fn partial_entries(&self) -> Vec<SessionFile> {
        self.entries
            .iter()
            .filter(|e| e.state.partial)
            .map(|e| e.file.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::claude::ClaudeStore;

    /// A rename in the middle of a big file is outside a cold read's head and tail; the
    /// metadata pass a default fork title uses still finds it, and only it changes.
    #[test]
    fn metadata_pass_finds_a_title_between_head_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("0b4c021f-90ef-4fb4-ba06-fb4530cf2884.jsonl");
        let entry = |i: usize| {
            format!(
                r#"{{"parentUuid":null,"type":"user","message":{{"role":"user","content":"prompt {i} {}"}},"uuid":"u{i}","timestamp":"2026-11-21T06:04:57.086Z","sessionId":"s","cwd":"/home/dev/acme-webapp"}}"#,
                "x".repeat(400)
            )
        };
        let mut text = String::new();
        for i in 0..400 {
            text.push_str(&entry(i));
            text.push('\n');
            if i == 200 {
                text.push_str(
                    r#"{"type":"custom-title","customTitle":"Renamed midway","sessionId":"s"}"#,
                );
                text.push('\n');
            }
        }
        std::fs::write(&path, &text).unwrap();
        assert!(text.len() as u64 > 2 * LITE_WINDOW);
        let store = ClaudeStore::new(dir.path().to_path_buf());
        let (_, lite) = scan_file(&store, &path, None, ReadMode::Lite).unwrap();
        assert!(lite.partial);
        assert_eq!(lite.custom_title, None, "not in the head or tail");
        let full = with_all_metadata(&store, &path, &lite).unwrap();
        assert_eq!(full.custom_title.as_deref(), Some("Renamed midway"));
        assert_eq!(full.first_prompt(), lite.first_prompt());
        assert_eq!(
            full.message_count, lite.message_count,
            "only title rows are read"
        );
    }
}
