//! One file per protocol method family. Each handler is a plain synchronous function over the
//! shared `Sidecar`; the server runs it off the async threads, the CLI calls it directly.

pub mod compress;
pub mod context;
pub mod fork;
pub mod history;
pub mod info;
pub mod list;
pub mod metadata;
pub mod resume;
pub mod subscribe;
pub mod trash;

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

thread_local! {
    /// The cancellation flag of the request this thread is running (see `RequestControl::enter`).
    static CURRENT: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Whether the request this thread is running was cancelled by the client (false outside a
/// request, e.g. in the CLI). Writers check it before they commit (`fsutil::commit_temp`), so a
/// cancelled fork or trim leaves nothing behind, whichever store wrote it.
pub fn current_cancelled() -> bool {
    CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    })
}

/// Receives progress messages with an optional percentage.
pub type ProgressSink = Arc<dyn Fn(String, Option<u32>) + Send + Sync>;

/// What a long request can see of its caller: cancellation and a progress sink.
#[derive(Clone, Default)]
pub struct RequestControl {
    pub cancelled: Arc<AtomicBool>,
    pub progress: Option<ProgressSink>,
}

impl RequestControl {
    /// Run `f` with this request as the thread's current one (`current_cancelled`).
    pub fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Reset(Option<Arc<AtomicBool>>);
        impl Drop for Reset {
            fn drop(&mut self) {
                let prev = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = prev);
            }
        }
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.cancelled.clone()));
        let _reset = Reset(prev);
        f()
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
    pub fn check(&self) -> crate::error::Result<()> {
        if self.is_cancelled() {
            Err(crate::error::SidecarError::new(
                crate::protocol::ErrorCode::RequestCancelled,
                "request cancelled",
            ))
        } else {
            Ok(())
        }
    }
    pub fn report(&self, message: impl Into<String>, percent: Option<u32>) {
        if let Some(p) = &self.progress {
            p(message.into(), percent)
        }
    }
}
