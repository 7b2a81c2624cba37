//! Logging: stderr only (stdout carries the protocol), filtered by `SESSION_SIDECAR_LOG`
//! (default `warn`). Logs never carry conversation text: the JSON-RPC library's trace of every
//! message body is dropped unless `initializationOptions.logContent` is true, and the sidecar's
//! own events name sessions and files, never their content.

use std::sync::atomic::{AtomicBool, Ordering};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

static LOG_CONTENT: AtomicBool = AtomicBool::new(false);

/// Whether message content may be logged (`initializationOptions.logContent`).
pub fn log_content() -> bool {
    LOG_CONTENT.load(Ordering::Relaxed)
}

pub fn set_log_content(on: bool) {
    LOG_CONTENT.store(on, Ordering::Relaxed);
}

/// Events that carry message bodies: tower-lsp-server traces every frame it reads and writes.
fn carries_content(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() == tracing::Level::TRACE && meta.target().starts_with("tower_lsp_server")
}

/// Install the stderr subscriber (once per process).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SESSION_SIDECAR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            !carries_content(meta) || log_content()
        }));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init();
}
