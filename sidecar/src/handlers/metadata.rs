//! `sessions/rename` and `sessions/tag`: append the agent's own title/tag records, then return
//! the re-read summary.

use crate::error::{Result, SidecarError};
use crate::protocol::{RenameParams, SessionResult, TagParams};
use crate::Sidecar;
use unicode_normalization::UnicodeNormalization;

/// A title as the sidecar writes it: line breaks and tabs become spaces, other control
/// characters are removed, the ends are trimmed; empty is refused.
pub fn clean_title(title: &str) -> Result<String> {
    let cleaned: String = title
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    let t = cleaned.trim();
    if t.is_empty() {
        return Err(SidecarError::invalid_params("the title must not be empty"));
    }
    Ok(t.to_string())
}

/// The official SDK's tag sanitising (`tag_session`): NFKC, then format, private-use and
/// unassigned characters removed, repeated until stable (at most 10 times); control characters
/// are removed too. Empty after trimming is refused.
pub fn clean_tag(tag: &str) -> Result<String> {
    let mut cur = tag.to_string();
    for _ in 0..10 {
        let next: String = cur
            .nfkc()
            .filter(|c| !crate::unicode_strip::is_stripped(*c) && !c.is_control())
            .collect();
        if next == cur {
            break;
        }
        cur = next;
    }
    let t = cur.trim();
    if t.is_empty() {
        return Err(SidecarError::invalid_params(
            "the tag must not be empty (send null, or use --clear, to remove it)",
        ));
    }
    Ok(t.to_string())
}

pub fn rename(sc: &Sidecar, p: RenameParams) -> Result<SessionResult> {
    let (store, entry) = sc.resolve(&p.session)?;
    let title = clean_title(&p.title)?;
    store.rename(&entry.file, &title)?;
    let e = sc.refresh_file(&entry.file)?;
    Ok(SessionResult {
        session: e.summary(),
    })
}

pub fn tag(sc: &Sidecar, p: TagParams) -> Result<SessionResult> {
    let (store, entry) = sc.resolve(&p.session)?;
    let tag = match &p.tag {
        Some(t) => Some(clean_tag(t)?),
        None => None,
    };
    store.tag(&entry.file, tag.as_deref())?;
    let e = sc.refresh_file(&entry.file)?;
    Ok(SessionResult {
        session: e.summary(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_lose_control_characters() {
        assert_eq!(
            clean_title("  Login\nbug\u{7}\t fix ").unwrap(),
            "Login bug  fix"
        );
        assert!(clean_title(" \n\t ").is_err());
        assert!(clean_title("\u{1b}").is_err());
        assert_eq!(clean_title("Café ☕").unwrap(), "Café ☕");
    }

    #[test]
    fn tags_are_sanitised_like_the_sdk() {
        // NFKC folds the ligature and full-width letters; zero-width, bidi and private-use
        // characters go.
        assert_eq!(
            clean_tag(" ﬁx\u{200b}\u{202e}\u{e000}ＡＢ ").unwrap(),
            "fixAB"
        );
        assert!(clean_tag("\u{200b}\u{feff}").is_err());
        assert_eq!(clean_tag("wip\u{0378}").unwrap(), "wip"); // unassigned
    }
}
