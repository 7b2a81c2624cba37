//! Where everything lives: the user's home, each agent's store root, the workspace folders,
//! the sidecar's own cache and data directories. Resolved once from the CLI flags or the
//! `initializationOptions`, then the environment.

use crate::protocol::{Agent, ForkOnCheckout, InitializationOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const DEFAULT_TRUNCATE_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    /// The home the stores are read from (`--home` / `home`, else `$HOME`).
    pub home: PathBuf,
    pub agents: Vec<Agent>,
    /// Store root per agent: Claude's config dir (holds `projects/`), Qwen's runtime base
    /// (holds `projects/`), `CODEX_HOME` (holds `sessions/`), Gemini's `.gemini` dir.
    pub store_roots: BTreeMap<Agent, PathBuf>,
    /// Environment an agent process needs to find the same store (empty for the defaults).
    pub agent_env: BTreeMap<Agent, BTreeMap<String, String>>,
    pub agent_paths: BTreeMap<Agent, PathBuf>,
    /// The workspace folders as given (not canonicalised: a moved project keeps its path).
    pub workspace_folders: Vec<PathBuf>,
    pub cache_dir: PathBuf,
    pub data_dir: PathBuf,
    pub truncate_bytes: usize,
    pub fork_on_checkout: ForkOnCheckout,
    pub log_content: bool,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl Config {
    /// Resolve from initialization options (the CLI builds the same struct from its flags).
    pub fn resolve(opts: &InitializationOptions, workspace_folders: Vec<PathBuf>) -> Config {
        let real_home = env_path("HOME").unwrap_or_else(|| PathBuf::from("/"));
        let home = opts
            .home
            .as_ref()
            .map(PathBuf::from)
            .unwrap_or_else(|| real_home.clone());
        let home_overridden = home != real_home;

        let mut store_roots = BTreeMap::new();
        let mut agent_env: BTreeMap<Agent, BTreeMap<String, String>> = BTreeMap::new();
        for agent in Agent::ALL {
            let (root, env_name, env_value): (PathBuf, &str, Option<PathBuf>) = match agent {
                Agent::Claude => match env_path("CLAUDE_CONFIG_DIR") {
                    Some(p) => (p.clone(), "CLAUDE_CONFIG_DIR", Some(p)),
                    None => (home.join(".claude"), "CLAUDE_CONFIG_DIR", None),
                },
                Agent::Qwen => match env_path("QWEN_RUNTIME_DIR").or_else(|| env_path("QWEN_HOME"))
                {
                    Some(p) => (p.clone(), "QWEN_HOME", Some(p)),
                    None => (home.join(".qwen"), "QWEN_HOME", None),
                },
                Agent::Codex => match env_path("CODEX_HOME") {
                    Some(p) => (p.clone(), "CODEX_HOME", Some(p)),
                    None => (home.join(".codex"), "CODEX_HOME", None),
                },
                Agent::Gemini => match env_path("GEMINI_CLI_HOME") {
                    Some(p) => (p.join(".gemini"), "GEMINI_CLI_HOME", Some(p)),
                    None => (home.join(".gemini"), "GEMINI_CLI_HOME", None),
                },
            };
            let root = opts
                .store_roots
                .get(&agent)
                .map(PathBuf::from)
                .unwrap_or(root);
            // The agent must be pointed at the store we read whenever it is not its default.
            let explicit = opts.store_roots.contains_key(&agent);
            let env_val = if explicit {
                Some(match agent {
                    Agent::Gemini => root.parent().unwrap_or(&root).to_path_buf(),
                    _ => root.clone(),
                })
            } else if home_overridden && env_value.is_none() {
                Some(match agent {
                    Agent::Gemini => home.clone(),
                    _ => root.clone(),
                })
            } else {
                None
            };
            let mut env = BTreeMap::new();
            if let Some(v) = env_val {
                env.insert(env_name.to_string(), v.to_string_lossy().into_owned());
            }
            agent_env.insert(agent, env);
            store_roots.insert(agent, root);
        }

        let xdg =
            |var: &str, fallback: &str| env_path(var).unwrap_or_else(|| real_home.join(fallback));
        Config {
            home,
            agents: opts.agents.clone().unwrap_or_else(|| Agent::ALL.to_vec()),
            store_roots,
            agent_env,
            agent_paths: opts
                .agent_paths
                .iter()
                .map(|(a, p)| (*a, PathBuf::from(p)))
                .collect(),
            workspace_folders,
            cache_dir: xdg("XDG_CACHE_HOME", ".cache").join("session-sidecar"),
            data_dir: xdg("XDG_DATA_HOME", ".local/share").join("session-sidecar"),
            truncate_bytes: opts.truncate_bytes.unwrap_or(DEFAULT_TRUNCATE_BYTES),
            fork_on_checkout: opts.fork_on_checkout.unwrap_or_default(),
            log_content: opts.log_content.unwrap_or(false),
        }
    }

    pub fn enabled(&self, agent: Agent) -> bool {
        self.agents.contains(&agent)
    }

    pub fn store_root(&self, agent: Agent) -> &Path {
        &self.store_roots[&agent]
    }

    pub fn trash_dir(&self) -> PathBuf {
        self.data_dir.join("trash")
    }
}
