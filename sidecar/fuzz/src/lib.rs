//! Shared set-up of the fuzz targets: the four stores over a private temp home, and a scratch
//! directory on tmpfs when there is one (targets write the input to a file each run).

use session_sidecar::config::Config;
use session_sidecar::protocol::{Agent, InitializationOptions};
use session_sidecar::store::{build_stores, SessionStore};
use session_sidecar::workspace::Workspace;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub const WS: &str = "/home/dev/acme-webapp";

pub struct Env {
    _dir: tempfile::TempDir,
    pub home: PathBuf,
    pub stores: Vec<Arc<dyn SessionStore>>,
    pub workspace: Workspace,
}

/// A scratch directory, on /dev/shm when it exists (writing the input each run is then cheap).
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sidecar-fuzz-")
        .tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("temp dir")
}

pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = scratch();
        let home = dir.path().to_path_buf();
        // Nothing a target runs may write into the real home (index cache, trash).
        std::env::set_var("XDG_CACHE_HOME", home.join(".xdg-cache"));
        std::env::set_var("XDG_DATA_HOME", home.join(".xdg-data"));
        for k in [
            "CLAUDE_CONFIG_DIR",
            "QWEN_HOME",
            "QWEN_RUNTIME_DIR",
            "CODEX_HOME",
            "GEMINI_CLI_HOME",
        ] {
            std::env::remove_var(k);
        }
        let mut opts = InitializationOptions {
            home: Some(home.to_string_lossy().into_owned()),
            ..Default::default()
        };
        for (agent, sub) in [
            (Agent::Claude, ".claude"),
            (Agent::Qwen, ".qwen"),
            (Agent::Codex, ".codex"),
            (Agent::Gemini, ".gemini"),
        ] {
            opts.store_roots
                .insert(agent, home.join(sub).to_string_lossy().into_owned());
        }
        let config = Config::resolve(&opts, vec![PathBuf::from(WS)]);
        let stores = build_stores(&config);
        assert_eq!(stores.len(), 4);
        Env {
            _dir: dir,
            home,
            stores,
            workspace: Workspace {
                folders: vec![PathBuf::from(WS)],
                paths: vec![PathBuf::from(WS)],
            },
        }
    })
}

/// Where each store keeps a session file of the workspace (the fixtures' layout).
pub fn session_path(root: &Path, agent: Agent) -> PathBuf {
    match agent {
        Agent::Claude => root
            .join("projects/-home-dev-acme-webapp")
            .join("59e7b833-aace-4821-88a8-f970caa6c194.jsonl"),
        Agent::Qwen => root
            .join("projects/-home-dev-acme-webapp/chats")
            .join("7aedba9e-a063-4f3e-9a3f-0c2c65b79dcf.jsonl"),
        Agent::Codex => root
            .join("sessions/2026/11/21")
            .join("rollout-2026-11-21T06-26-22-01a1fcc8-d54e-7ed0-a7e2-b111c75d7f37.jsonl"),
        Agent::Gemini => root
            .join("tmp/acme-webapp/chats")
            .join("session-2026-11-21T06-26-8867273c.jsonl"),
    }
}

/// A file in the scratch directory, rewritten with `bytes`.
pub fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = env().home.join("scratch").join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}
