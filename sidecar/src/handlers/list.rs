//! `sessions/list`: the sessions of the workspace (or all), newest first, paged by an opaque
//! keyset cursor so a page stays stable while sessions are added.

use crate::error::{Result, SidecarError};
use crate::protocol::{Agent, ErrorCode, ListParams, ListResult, SessionSummary};
use crate::Sidecar;
use base64::Engine;
use serde::{Deserialize, Serialize};

pub const DEFAULT_LIMIT: u32 = 200;
pub const MAX_LIMIT: u32 = 1000;

/// The keyset position a list cursor carries: last modified (ms), agent, id.
#[derive(Debug, Serialize, Deserialize)]
pub struct ListCursor {
    pub m: i64,
    pub a: Agent,
    pub i: String,
}

fn sort_key(s: &SessionSummary) -> (std::cmp::Reverse<i64>, Agent, String) {
    (
        std::cmp::Reverse(crate::time::parse_ms(&s.last_modified).unwrap_or(0)),
        s.agent,
        s.id.clone(),
    )
}

pub fn list(sc: &Sidecar, p: ListParams) -> Result<ListResult> {
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(SidecarError::invalid_params(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    let after = match &p.cursor {
        Some(c) => Some(decode_cursor(c)?),
        None => None,
    };
    if let Some(agents) = &p.agents {
        for a in agents {
            sc.store(*a)?;
        }
    }
    sc.ensure_loaded(p.scope)?;
    let branch = match p.branch.as_deref() {
        Some("@current") => crate::git::current_branch_of_workspace(&sc.workspace()),
        Some(b) => Some(b.to_string()),
        None => None,
    };
    let query = p.query.as_ref().map(|q| q.to_lowercase());
    let mut items: Vec<SessionSummary> = Vec::new();
    for e in sc.index.entries.iter() {
        if p.scope == crate::protocol::Scope::Workspace && !e.in_workspace {
            continue;
        }
        if p.agents
            .as_ref()
            .is_some_and(|a| !a.contains(&e.file.agent))
        {
            continue;
        }
        let Ok(store) = sc.store(e.file.agent) else {
            continue;
        };
        if !store.is_listable(&e.state) {
            continue;
        }
        let s = e.summary();
        if let Some(b) = &p.branch {
            if b == "@current" {
                if branch.is_none() || s.git_branch != branch {
                    continue;
                }
            } else if s.git_branch.as_deref() != Some(b.as_str()) {
                continue;
            }
        }
        if let Some(q) = &query {
            let hay = [
                s.title.as_deref(),
                s.first_prompt.as_deref(),
                Some(s.id.as_str()),
                s.git_branch.as_deref(),
                s.tag.as_deref(),
            ];
            if !hay.iter().flatten().any(|h| h.to_lowercase().contains(q)) {
                continue;
            }
        }
        items.push(s);
    }
    items.sort_by_key(sort_key);
    if let Some(c) = after {
        let k = (std::cmp::Reverse(c.m), c.a, c.i);
        items.retain(|s| sort_key(s) > k);
    }
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(encode_cursor)
    } else {
        None
    };
    Ok(ListResult { items, next_cursor })
}

fn encode_cursor(s: &SessionSummary) -> String {
    let c = ListCursor {
        m: crate::time::parse_ms(&s.last_modified).unwrap_or(0),
        a: s.agent,
        i: s.id.clone(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap())
}

/// Decode a list cursor (`InvalidCursor` for anything this sidecar did not issue).
pub fn decode_cursor(s: &str) -> Result<ListCursor> {
    if s.len() >= 512 {
        return Err(SidecarError::new(
            ErrorCode::InvalidCursor,
            "invalid list cursor",
        ));
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| SidecarError::new(ErrorCode::InvalidCursor, "invalid list cursor"))
}
