//! `sessions/delete`, `sessions/restore`, `sessions/trash`: a delete moves the session into the
//! sidecar's trash; nothing is ever unlinked by a plain delete.

use crate::error::Result;
use crate::protocol::{Agent, Empty, SessionParams, SessionResult, TrashListResult, TrashResult};
use crate::store::SessionFile;
use crate::Sidecar;
use std::path::PathBuf;

fn enabled_agents(sc: &Sidecar) -> Vec<Agent> {
    sc.stores.iter().map(|s| s.agent()).collect()
}

pub fn delete(sc: &Sidecar, p: SessionParams) -> Result<TrashResult> {
    let (store, entry) = sc.resolve(&p.session)?;
    let companions = store.companion_paths(&entry.file);
    let m = crate::trash::trash_session(
        &sc.config.trash_dir(),
        entry.file.agent,
        &entry.file.id,
        entry.state.title(),
        &entry.file.path,
        &companions,
    )?;
    let change = sc.index.remove_path(&entry.file.path);
    sc.publish(vec![change]);
    Ok(TrashResult { trashed: m.entry() })
}

pub fn restore(sc: &Sidecar, p: SessionParams) -> Result<SessionResult> {
    let q = crate::ids::parse_ref(&p.session)?;
    let agents = match q.agent {
        Some(a) => {
            sc.store(a)?;
            vec![a]
        }
        None => enabled_agents(sc),
    };
    let root = sc.config.trash_dir();
    let m = crate::trash::find(&root, &agents, &q.id)?;
    crate::trash::restore(&root, &m)?;
    let file = SessionFile {
        agent: m.agent,
        id: m.id.clone(),
        path: PathBuf::from(&m.original_path),
    };
    let e = sc.refresh_file(&file)?;
    Ok(SessionResult {
        session: e.summary(),
    })
}

pub fn trash(sc: &Sidecar, _p: Empty) -> Result<TrashListResult> {
    Ok(TrashListResult {
        items: crate::trash::list(&sc.config.trash_dir(), &enabled_agents(sc))
            .iter()
            .map(|m| m.entry())
            .collect(),
    })
}
