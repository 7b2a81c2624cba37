//! The persistent index cache under `$XDG_CACHE_HOME/session-sidecar/`: each file's key
//! (device, inode, size, mtime) and its summary state, so a restart reads nothing that did not
//! change and an appended file only from its last indexed offset.

use crate::protocol::Agent;
use crate::summary::ScanState;
use crate::transcript::FileKey;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const CACHE_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedFile {
    pub agent: Agent,
    pub id: String,
    pub key: FileKey,
    pub state: ScanState,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    files: HashMap<PathBuf, CachedFile>,
}

pub struct Cache {
    path: PathBuf,
    /// One save at a time (the watcher thread, the exact-counts worker and shutdown all save).
    saving: std::sync::Mutex<()>,
}

impl Cache {
    pub fn new(cache_dir: &Path, stores_key: &str) -> Cache {
        // One cache per set of store roots, so two homes never share entries.
        let h = crate::transcript::fnv1a64(stores_key.as_bytes());
        Cache {
            path: cache_dir.join(format!("index-{h:016x}.json")),
            saving: std::sync::Mutex::new(()),
        }
    }

    pub fn load(&self) -> HashMap<PathBuf, CachedFile> {
        match std::fs::read(&self.path) {
            Ok(bytes) => match serde_json::from_slice::<CacheFile>(&bytes) {
                Ok(c) if c.version == CACHE_VERSION => c.files,
                _ => {
                    tracing::warn!(
                        "index cache {} unreadable or old; rebuilding",
                        self.path.display()
                    );
                    HashMap::new()
                }
            },
            Err(_) => HashMap::new(),
        }
    }

    pub fn save(&self, files: HashMap<PathBuf, CachedFile>) {
        let _one_at_a_time = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        let c = CacheFile {
            version: CACHE_VERSION,
            files,
        };
        let Some(dir) = self.path.parent() else {
            return;
        };
        if let Err(e) = crate::fsutil::create_dir_private(dir) {
            tracing::warn!("cannot create cache dir {}: {e}", dir.display());
            return;
        }
        crate::fsutil::clean_temp_files(dir);
        match serde_json::to_vec(&c) {
            Ok(bytes) => {
                if let Err(e) = crate::fsutil::write_atomic(&self.path, &bytes) {
                    tracing::warn!("cannot write index cache {}: {e}", self.path.display());
                }
            }
            Err(e) => tracing::warn!("cannot serialize index cache: {e}"),
        }
    }
}
