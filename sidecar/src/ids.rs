//! Session ids: validation (no path traversal can come through an id) and parsing of the
//! ways a request may name a session.

use crate::error::{Result, SidecarError};
use crate::protocol::{Agent, ErrorCode, SessionRef};

pub const MIN_PREFIX: usize = 8;
const MAX_ID_LEN: usize = 64;

/// A session id as every store writes it: hex digits and dashes (UUIDs), 8..=64 chars.
/// Anything else (`/`, `..`, NUL, spaces, very long) is refused before it reaches a path.
pub fn validate_id(id: &str) -> Result<()> {
    if id.len() < MIN_PREFIX || id.len() > MAX_ID_LEN {
        return Err(SidecarError::new(
            ErrorCode::InvalidSessionId,
            format!(
                "invalid session id {:?}: expected a full id or a prefix of at least {MIN_PREFIX} hex characters",
                truncate_for_message(id)
            ),
        ));
    }
    if !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(SidecarError::new(
            ErrorCode::InvalidSessionId,
            format!(
                "invalid session id {:?}: only hex digits and '-' are allowed",
                truncate_for_message(id)
            ),
        ));
    }
    Ok(())
}

fn truncate_for_message(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .take(80)
        .collect();
    if s.chars().count() > 80 {
        format!("{cleaned}…")
    } else {
        cleaned
    }
}

/// A parsed session reference: optional agent plus an id or prefix (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionQuery {
    pub agent: Option<Agent>,
    pub id: String,
}

pub fn parse_ref(r: &SessionRef) -> Result<SessionQuery> {
    let (agent, id) = match r {
        SessionRef::Qualified { agent, id } => (Some(*agent), id.as_str()),
        SessionRef::Text(s) => match s.split_once(':') {
            Some((a, id)) => match Agent::parse(a) {
                Some(agent) => (Some(agent), id),
                None => {
                    return Err(SidecarError::new(
                        ErrorCode::InvalidSessionId,
                        format!(
                            "unknown agent {:?} in session reference (expected claude, qwen, codex or gemini)",
                            truncate_for_message(a)
                        ),
                    ))
                }
            },
            None => (None, s.as_str()),
        },
    };
    validate_id(id)?;
    Ok(SessionQuery {
        agent,
        id: id.to_ascii_lowercase(),
    })
}

pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_traversal_and_garbage() {
        for bad in [
            "../../etc/passwd",
            "59e7b833/..",
            "abc",
            "59e7b833\0",
            "59e7b833 aace",
            &"a".repeat(65),
        ] {
            let e = parse_ref(&SessionRef::Text(bad.into())).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidSessionId, "{bad:?}");
        }
    }

    #[test]
    fn parses_qualified_forms() {
        let q = parse_ref(&SessionRef::Text("claude:59E7B833".into())).unwrap();
        assert_eq!(q.agent, Some(Agent::Claude));
        assert_eq!(q.id, "59e7b833");
        let q = parse_ref(&SessionRef::Qualified {
            agent: Agent::Qwen,
            id: "7aedba9e-a063-4f3e-9a3f-0c2c65b79dcf".into(),
        })
        .unwrap();
        assert_eq!(q.agent, Some(Agent::Qwen));
        assert!(parse_ref(&SessionRef::Text("vim:59e7b833".into())).is_err());
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("59e7b833-aace-4821-88a8-f970caa6c194"));
        assert!(!is_uuid("59e7b833-aace-4821-88a8-f970caa6c19"));
    }
}
