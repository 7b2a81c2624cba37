//! JSON-RPC params decoding: the input as the params of every request (and the initialize
//! options and settings), then the validation every handler applies first (session refs,
//! titles, tags, cursors). No panic; whatever decodes re-encodes to the same value; cleaned
//! titles are one line without control characters; accepted ids cannot name a path.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use session_sidecar::handlers::metadata::{clean_tag, clean_title};
use session_sidecar::protocol::*;
use std::fmt::Debug;

fn decode<T: DeserializeOwned + Serialize + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let v: T = serde_json::from_slice(data).ok()?;
    let again: T = serde_json::from_value(serde_json::to_value(&v).unwrap()).unwrap();
    assert_eq!(again, v, "params re-encode to the same value");
    Some(v)
}

fn session(r: &SessionRef) {
    if let Ok(q) = session_sidecar::ids::parse_ref(r) {
        assert!(q.id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
    }
}

fn title(t: &str) {
    if let Ok(c) = clean_title(t) {
        assert!(!c.is_empty() && c == c.trim());
        assert!(!c
            .chars()
            .any(|ch| ch.is_control() || ch == '\u{2028}' || ch == '\u{2029}'));
    }
}

fn tag(t: &str) {
    if let Ok(c) = clean_tag(t) {
        assert!(!c.is_empty() && !c.chars().any(char::is_control));
    }
}

fn cursor(c: &Option<String>) {
    if let Some(c) = c {
        let _ = session_sidecar::cursor::Cursor::decode(c);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(p) = decode::<ListParams>(data) {
        if let Some(c) = &p.cursor {
            let _ = session_sidecar::handlers::list::decode_cursor(c);
        }
    }
    if let Some(p) = decode::<SessionParams>(data) {
        session(&p.session);
    }
    if let Some(p) = decode::<HistoryParams>(data) {
        session(&p.session);
        cursor(&p.before);
        cursor(&p.after);
    }
    if let Some(p) = decode::<MessageParams>(data) {
        session(&p.session);
    }
    if let Some(p) = decode::<SubscribeParams>(data) {
        session(&p.session);
        cursor(&p.after);
    }
    let _ = decode::<UnsubscribeParams>(data);
    if let Some(p) = decode::<ResumeParams>(data) {
        session(&p.session);
    }
    let _ = decode::<ContinueParams>(data);
    if let Some(p) = decode::<ForkParams>(data) {
        session(&p.session);
        if let Some(t) = &p.title {
            title(t);
        }
    }
    if let Some(p) = decode::<RenameParams>(data) {
        session(&p.session);
        title(&p.title);
    }
    if let Some(p) = decode::<TagParams>(data) {
        session(&p.session);
        if let Some(t) = &p.tag {
            tag(t);
        }
    }
    let _ = decode::<Empty>(data);
    if let Some(p) = decode::<CompressParams>(data) {
        session(&p.session);
    }
    let _ = decode::<SidecarSettings>(data);
    if let Some(o) = decode::<InitializationOptions>(data) {
        let c = session_sidecar::config::Config::resolve(&o, Vec::new());
        assert!(!c.agents.is_empty() || o.agents.as_ref().is_some_and(|a| a.is_empty()));
    }
    // The text itself as a title and a tag.
    let s = String::from_utf8_lossy(data);
    title(&s);
    tag(&s);
});
