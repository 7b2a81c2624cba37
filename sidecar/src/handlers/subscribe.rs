//! `sessions/subscribe` / `sessions/unsubscribe` and the `sessions/appended` pushes.
//!
//! A subscription is an offset in the session file: every complete line appended after it that
//! is a message is pushed, in file order, once (a torn last line waits until its newline
//! lands). With `after` (the `newerCursor` of the last page the client holds) the messages
//! newer than that page are pushed first, so the client sees no gap and no duplicate.
//! `sessions/appended` for a new subscription can reach the client before the `subscribe`
//! response: clients match notifications by subscription id.

use crate::cursor::Cursor;
use crate::engine::{Outbound, Subscription};
use crate::error::{Result, SidecarError};
use crate::protocol::{
    AppendedParams, Empty, ErrorCode, SessionKey, SubscribeParams, SubscribeResult,
    UnsubscribeParams,
};
use crate::store::{HistoryRequest, SessionFile, SessionStore};
use crate::Sidecar;
use std::os::unix::fs::MetadataExt;

/// Items per catch-up page pushed at subscribe time.
const CATCH_UP_PAGE: usize = 1000;

pub fn subscribe(sc: &Sidecar, p: SubscribeParams) -> Result<SubscribeResult> {
    let after = p.after.as_deref().map(Cursor::decode).transpose()?;
    if after.as_ref().is_some_and(|c| c.sub.is_some()) {
        return Err(SidecarError::new(
            ErrorCode::InvalidCursor,
            "invalid cursor: subscriptions follow the session itself, not a subagent transcript",
        ));
    }
    let (store, entry) = sc.resolve(&p.session)?;
    let file = entry.file.clone();
    let key = SessionKey {
        agent: file.agent,
        id: file.id.clone(),
    };
    let id = uuid::Uuid::new_v4().to_string();
    // Pushes wait until this subscription is in place and caught up, so order holds.
    let _g = sc.push_lock.lock().unwrap_or_else(|e| e.into_inner());
    let mut catch_up = Vec::new();
    let mut cursor = after;
    if let Some(mut c) = cursor.clone() {
        loop {
            let page = store.history(
                &file,
                &HistoryRequest {
                    limit: CATCH_UP_PAGE,
                    before: None,
                    after: Some(c.clone()),
                    truncate_bytes: sc.config.truncate_bytes,
                    subagent: None,
                },
            )?;
            let next = page
                .newer_cursor
                .as_deref()
                .map(Cursor::decode)
                .transpose()?;
            if !page.items.is_empty() {
                catch_up.push((page.items, page.newer_cursor.clone()));
            }
            match next {
                Some(n) if page.has_newer => c = n,
                Some(n) => {
                    cursor = Some(n);
                    break;
                }
                None => break,
            }
        }
    }
    let offset = store.subscription_start(&file, cursor.as_ref())?;
    let meta =
        std::fs::metadata(&file.path).map_err(|e| SidecarError::unreadable(&file.path, &e))?;
    // Lines that landed while we were catching up (their watcher event may have passed); this
    // also tells a store without live appends apart before anything is registered.
    let first = store.appended(&file, offset, sc.config.truncate_bytes)?;
    if !first.items.is_empty() {
        catch_up.push((first.items, first.newer_cursor));
    }
    sc.subscriptions.insert(
        id.clone(),
        Subscription {
            file: file.clone(),
            offset: first.offset,
            dev: meta.dev(),
            ino: meta.ino(),
        },
    );
    for (items, newer_cursor) in catch_up {
        sc.notify(Outbound::Appended(AppendedParams {
            subscription: id.clone(),
            session: key.clone(),
            items,
            newer_cursor,
        }));
    }
    push_one(sc, store.as_ref(), &id);
    Ok(SubscribeResult { subscription: id })
}

pub fn unsubscribe(sc: &Sidecar, p: UnsubscribeParams) -> Result<Empty> {
    sc.subscriptions.remove(&p.subscription);
    Ok(Empty {})
}

/// Push what was appended to `file` to every subscription on it.
pub fn push_appended(sc: &Sidecar, file: &SessionFile) {
    let ids: Vec<String> = sc
        .subscriptions
        .iter()
        .filter(|s| s.file.agent == file.agent && s.file.path == file.path)
        .map(|s| s.key().clone())
        .collect();
    if ids.is_empty() {
        return;
    }
    let Ok(store) = sc.store(file.agent) else {
        return;
    };
    let _g = sc.push_lock.lock().unwrap_or_else(|e| e.into_inner());
    for id in ids {
        push_one(sc, store.as_ref(), &id);
    }
}

/// Push the complete messages after the subscription's offset (call with `push_lock` held).
/// A deleted, replaced or truncated file ends the subscription.
fn push_one(sc: &Sidecar, store: &dyn SessionStore, id: &str) {
    loop {
        let Some(sub) = sc.subscriptions.get(id).map(|s| s.clone()) else {
            return;
        };
        let path = &sub.file.path;
        match std::fs::metadata(path) {
            Ok(m) if m.dev() == sub.dev && m.ino() == sub.ino && m.len() >= sub.offset => {
                if m.len() == sub.offset {
                    return;
                }
            }
            Ok(_) => {
                tracing::info!("subscription {id}: session file replaced or truncated; ended");
                sc.subscriptions.remove(id);
                return;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::info!("subscription {id}: session file deleted; ended");
                sc.subscriptions.remove(id);
                return;
            }
            Err(e) => {
                tracing::warn!("subscription {id}: cannot read {}: {e}", path.display());
                return;
            }
        }
        let a = match store.appended(&sub.file, sub.offset, sc.config.truncate_bytes) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("subscription {id}: {e}; ended");
                sc.subscriptions.remove(id);
                return;
            }
        };
        let progressed = a.offset > sub.offset;
        if let Some(mut s) = sc.subscriptions.get_mut(id) {
            s.offset = a.offset;
        }
        if !a.items.is_empty() {
            sc.notify(Outbound::Appended(AppendedParams {
                subscription: id.to_string(),
                session: SessionKey {
                    agent: sub.file.agent,
                    id: sub.file.id.clone(),
                },
                items: a.items,
                newer_cursor: a.newer_cursor,
            }));
        }
        if !progressed {
            return;
        }
    }
}
