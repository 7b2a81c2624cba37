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
    // The default title ("<title> (fork)") needs every title row of the file; a cold listing
    // read only the head and tail. Only those rows are parsed.
    let source_title = if title.is_some() {
        None
    } else {
        let full;
        let st = if entry.state.partial {
            full = crate::index::with_all_metadata(store.as_ref(), &entry.file.path, &entry.state)
                .map_err(|e| SidecarError::unreadable(&entry.file.path, &e))?;
            &full
        } else {
            &entry.state
        };
        st.custom_title
            .clone()
            .or_else(|| st.ai_title.clone())
            .or_else(|| st.first_prompt())
    };
    let new_file = store.fork(
        &entry.file,
        &ForkRequest {
            up_to_message,
            title,
            branch,
            source_title,
        },
    )?;
    let e = sc.refresh_written(&new_file)?;
    Ok(SessionResult {
        session: e.summary(),
    })
}
