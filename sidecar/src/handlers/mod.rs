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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Receives progress messages with an optional percentage.
pub type ProgressSink = Arc<dyn Fn(String, Option<u32>) + Send + Sync>;

/// What a long request can see of its caller: cancellation and a progress sink.
#[derive(Clone, Default)]
pub struct RequestControl {
    pub cancelled: Arc<AtomicBool>,
    pub progress: Option<ProgressSink>,
}

impl RequestControl {
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
