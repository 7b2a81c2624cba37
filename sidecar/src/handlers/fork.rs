//! `sessions/fork`: a new session file in the agent's own format; the source is untouched.

use crate::error::{Result, SidecarError};
use crate::protocol::{ForkParams, SessionResult};
use crate::store::ForkRequest;
use crate::Sidecar;

pub fn fork(sc: &Sidecar, p: ForkParams) -> Result<SessionResult> {
    let (store, entry) = sc.resolve(&p.session)?;
    let title = match &p.title {
        Some(t) => Some(super::metadata::clean_title(t)?),
        None => None,
    };
    let branch = match &p.branch {
        Some(b) if b.trim().is_empty() || b.chars().any(char::is_control) => {
            return Err(SidecarError::invalid_params(format!(
                "{b:?} is not a git branch name"
            )))
        }
        Some(b) => Some(b.trim().to_string()),
        None => None,
    };
    let up_to_message = match &p.up_to_message {
        Some(m) if m.trim().is_empty() => {
            return Err(SidecarError::invalid_params(
                "upToMessage must not be empty",
            ))
        }
        Some(m) => Some(m.trim().to_string()),
        None => None,
    };
    // The default title comes from the whole file (a cold listing may have read only its
    // head and tail).
    let entry = if entry.state.partial {
        sc.refresh_file(&entry.file)?
    } else {
        entry
    };
    let st = &entry.state;
    let source_title = st
        .custom_title
        .clone()
        .or_else(|| st.ai_title.clone())
        .or_else(|| st.first_prompt());
    let new_file = store.fork(
        &entry.file,
        &ForkRequest {
            up_to_message,
            title,
            branch,
            source_title,
        },
    )?;
    let e = sc.refresh_file(&new_file)?;
    Ok(SessionResult {
        session: e.summary(),
    })
}
