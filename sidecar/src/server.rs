//! The JSON-RPC server on stdio (LSP framing), built on tower-lsp-server. Every request runs its
//! handler on the blocking pool (file I/O never runs on the async threads); notifications go
//! out through one forwarding task once the client has sent `initialized`.

use crate::config::Config;
use crate::engine::{Outbound, Sidecar};
use crate::error::SidecarError;
use crate::handlers::{self, RequestControl};
use crate::protocol::{self as p, InitializationOptions, Notification as _, Request as _};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use tower_lsp_server::jsonrpc::{self, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

/// Options the `serve` subcommand passes in (they lose to `initializationOptions`).
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub home: Option<PathBuf>,
    pub workspace: Option<PathBuf>,
}

pub struct Backend {
    client: Client,
    serve: ServeOptions,
    sidecar: OnceLock<Arc<Sidecar>>,
    watcher: Mutex<Option<crate::watcher::WatchHandle>>,
    git_watch: Mutex<Option<crate::git_watch::GitWatchHandle>>,
}

/// A notification type the tower-lsp-server client can send.
macro_rules! wire_notification {
    ($name:ident, $proto:ty) => {
        enum $name {}
        impl tower_lsp_server::ls_types::notification::Notification for $name {
            type Params = <$proto as p::Notification>::Params;
            const METHOD: &'static str = <$proto>::METHOD;
        }
    };
}
wire_notification!(ChangedN, p::SessionsChanged);
wire_notification!(AppendedN, p::Appended);
wire_notification!(ContextUsageN, p::ContextUsage);
wire_notification!(BranchChangedN, p::BranchChanged);

impl Backend {
    fn sidecar(&self) -> Result<Arc<Sidecar>> {
        self.sidecar.get().cloned().ok_or_else(|| jsonrpc::Error {
            code: jsonrpc::ErrorCode::ServerError(-32002),
            message: "server not initialized".into(),
            data: None,
        })
    }

    /// Run a handler on the blocking pool and map its typed error to a JSON-RPC error. When the
    /// client cancels (`$/cancelRequest`) the future is dropped and the handler sees
    /// `RequestControl::is_cancelled`.
    async fn run<T, F>(&self, ctl: RequestControl, f: F) -> Result<T>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&Sidecar, &RequestControl) -> crate::error::Result<T> + Send + 'static,
    {
        let sc = self.sidecar()?;
        let _guard = CancelOnDrop(ctl.cancelled.clone());
        match tokio::task::spawn_blocking(move || ctl.enter(|| f(&sc, &ctl))).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.to_jsonrpc()),
            Err(join) => {
                Err(SidecarError::internal(format!("handler panicked: {join}")).to_jsonrpc())
            }
        }
    }
}

/// How long a server-created progress token waits for the client's answer.
const PROGRESS_CREATE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const PROGRESS_END_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// The `workDoneToken` a request's params carry, if any.
fn work_done_token<P: Serialize>(params: &P) -> Option<serde_json::Value> {
    serde_json::to_value(params)
        .ok()
        .and_then(|v| v.get("workDoneToken").cloned())
        .filter(|v| !v.is_null())
}

fn to_progress_token(v: serde_json::Value) -> Option<ProgressToken> {
    match v {
        serde_json::Value::String(s) => Some(NumberOrString::String(s)),
        serde_json::Value::Number(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(NumberOrString::Number),
        _ => None,
    }
}

impl Backend {
    /// The control of a request. With `progress`, the handler's reports become LSP work-done
    /// progress on the client's `workDoneToken`, else on a token the server creates with
    /// `window/workDoneProgress/create`. All client traffic runs in a spawned task: the
    /// handler never waits for the client (a client that does not answer the create request
    /// within `PROGRESS_CREATE_TIMEOUT` just gets no progress). The task ends (`end`) when the
    /// handler drops its control.
    fn control(
        &self,
        progress: Option<(&'static str, Option<serde_json::Value>)>,
    ) -> (RequestControl, Option<tokio::task::JoinHandle<()>>) {
        let Some((title, token)) = progress else {
            return (RequestControl::default(), None);
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Option<u32>)>();
        let client = self.client.clone();
        let task = tokio::spawn(async move {
            let token = match token.and_then(to_progress_token) {
                Some(t) => t,
                None => {
                    let t = NumberOrString::String(format!(
                        "session-sidecar/{}",
                        uuid::Uuid::new_v4().simple()
                    ));
                    let created = tokio::time::timeout(
                        PROGRESS_CREATE_TIMEOUT,
                        client.create_work_done_progress(t.clone()),
                    )
                    .await;
                    if !matches!(created, Ok(Ok(()))) {
                        while rx.recv().await.is_some() {}
                        return;
                    }
                    t
                }
            };
            let ongoing = client
                .progress(token, title)
                .with_percentage(0)
                .begin()
                .await;
            let mut last = 0u32;
            while let Some((message, percent)) = rx.recv().await {
                if let Some(p) = percent {
                    last = last.max(p.min(100));
                }
                ongoing.report_with_message(message, last).await;
            }
            ongoing.finish().await;
        });
        let sink: handlers::ProgressSink = Arc::new(move |message, percent| {
            let _ = tx.send((message, percent));
        });
        (
            RequestControl {
                cancelled: Default::default(),
                progress: Some(sink),
            },
            Some(task),
        )
    }
}

/// Sets the flag when the request future is dropped (cancelled) before it finished.
struct CancelOnDrop(Arc<std::sync::atomic::AtomicBool>);
impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Each protocol request becomes a `Backend` method that runs its handler.
/// An entry with `progress: "Title"` reports LSP work-done progress (see `Backend::control`).
macro_rules! handlers {
    ($($fn_name:ident: $req:ty => $handler:expr $(, progress: $title:literal)?;)*) => {
        impl Backend {
            $(
                async fn $fn_name(&self, params: <$req as p::Request>::Params) -> Result<<$req as p::Request>::Result> {
                    #[allow(unused_variables)]
                    let progress: Option<(&'static str, Option<serde_json::Value>)> = None;
                    $(let progress = Some(($title, work_done_token(&params)));)?
                    let (ctl, progress_task) = self.control(progress);
                    #[allow(clippy::redundant_closure_call)]
                    let r = self.run(ctl, move |sc, ctl| { let _ = ctl; ($handler)(sc, params, ctl) }).await;
                    if let Some(t) = progress_task {
                        // Let the progress `end` go out before the response when it can.
                        let _ = tokio::time::timeout(PROGRESS_END_WAIT, t).await;
                    }
                    r
                }
            )*
        }
        fn register(builder: tower_lsp_server::LspServiceBuilder<Backend>) -> tower_lsp_server::LspServiceBuilder<Backend> {
            builder $(.custom_method(<$req>::METHOD, Backend::$fn_name))*
        }
    };
}

handlers! {
    list: p::ListSessions => |sc, p, _| handlers::list::list(sc, p);
    info: p::SessionInfo => |sc, p, _| handlers::info::info(sc, p);
    history: p::History => |sc, p, _| handlers::history::history(sc, p);
    message: p::Message => |sc, p, _| handlers::history::message(sc, p);
    subscribe: p::Subscribe => |sc, p, _| handlers::subscribe::subscribe(sc, p);
    unsubscribe: p::Unsubscribe => |sc, p, _| handlers::subscribe::unsubscribe(sc, p);
    subagents: p::Subagents => |sc, p, _| handlers::history::subagents(sc, p);
    resume: p::Resume => |sc, p, _| handlers::resume::resume(sc, p);
    continue_latest: p::Continue => |sc, p, _| handlers::resume::continue_latest(sc, p);
    fork: p::Fork => |sc, p, _| handlers::fork::fork(sc, p);
    rename: p::Rename => |sc, p, _| handlers::metadata::rename(sc, p);
    tag: p::Tag => |sc, p, _| handlers::metadata::tag(sc, p);
    delete: p::Delete => |sc, p, _| handlers::trash::delete(sc, p);
    restore: p::Restore => |sc, p, _| handlers::trash::restore(sc, p);
    trash: p::Trash => |sc, p, _| handlers::trash::trash(sc, p);
    context: p::Context => |sc, p, _| handlers::context::context(sc, p);
    compress: p::Compress => handlers::compress::compress, progress: "Compressing session";
}

fn workspace_folders(
    params: &InitializeParams,
    opts: &InitializationOptions,
    serve: &ServeOptions,
) -> Vec<PathBuf> {
    if let Some(w) = &opts.workspace {
        return vec![PathBuf::from(w)];
    }
    let mut v: Vec<PathBuf> = params
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
        .collect();
    #[allow(deprecated)]
    if v.is_empty() {
        if let Some(p) = params.root_uri.as_ref().and_then(|u| u.to_file_path()) {
            v.push(p.into_owned());
        }
    }
    if v.is_empty() {
        if let Some(w) = &serve.workspace {
            v.push(w.clone());
        } else if let Ok(cwd) = std::env::current_dir() {
            v.push(cwd);
        }
    }
    v
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let mut opts: InitializationOptions = match &params.initialization_options {
            Some(v) if !v.is_null() => serde_json::from_value(v.clone()).map_err(|e| {
                SidecarError::invalid_params(format!("invalid initializationOptions: {e}"))
                    .to_jsonrpc()
            })?,
            _ => InitializationOptions::default(),
        };
        if opts.home.is_none() {
            opts.home = self
                .serve
                .home
                .as_ref()
                .map(|h| h.to_string_lossy().into_owned());
        }
        crate::logging::set_log_content(opts.log_content.unwrap_or(false));
        let folders = workspace_folders(&params, &opts, &self.serve);
        let config = tokio::task::spawn_blocking(move || Config::resolve(&opts, folders))
            .await
            .map_err(|e| SidecarError::internal(e.to_string()).to_jsonrpc())?;
        let sc = tokio::task::spawn_blocking(move || Sidecar::new(config))
            .await
            .map_err(|e| SidecarError::internal(e.to_string()).to_jsonrpc())?;
        let caps = p::SidecarCapabilities {
            protocol_version: p::PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            methods: p::REQUEST_METHODS.iter().map(|m| m.to_string()).collect(),
            notifications: p::NOTIFICATION_METHODS
                .iter()
                .map(|m| m.to_string())
                .collect(),
            agents: sc.stores.iter().map(|s| s.agent()).collect(),
        };
        let _ = self.sidecar.set(sc);
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                experimental: Some(serde_json::json!({ "sessionSidecar": caps })),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "session-sidecar".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        let Ok(sc) = self.sidecar() else { return };
        // Outbound notifications: only now, so none is dropped by a client still initializing.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Outbound>();
        sc.set_outbound(tx);
        let client = self.client.clone();
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                match msg {
                    Outbound::Changed(p) => client.send_notification::<ChangedN>(p).await,
                    Outbound::Appended(p) => client.send_notification::<AppendedN>(p).await,
                    Outbound::ContextUsage(p) => client.send_notification::<ContextUsageN>(p).await,
                    Outbound::BranchChanged(p) => {
                        client.send_notification::<BranchChangedN>(p).await
                    }
                }
            }
        });
        *self.watcher.lock().unwrap() = Some(crate::watcher::start(&sc));
        // Branch awareness: the initial HEAD is read before this returns (none if not a repo).
        *self.git_watch.lock().unwrap() = crate::git_watch::start(&sc);
        // Index the workspace; the background worker then fills in exact counts and tells the client.
        sc.start_background();
        let sc2 = sc.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = sc2.ensure_loaded(p::Scope::Workspace) {
                tracing::warn!("initial index: {e}");
            }
        });
    }

    async fn shutdown(&self) -> Result<()> {
        if let Ok(sc) = self.sidecar() {
            let _ = tokio::task::spawn_blocking(move || sc.save_cache_if_dirty()).await;
        }
        self.watcher.lock().unwrap().take();
        self.git_watch.lock().unwrap().take();
        Ok(())
    }

    /// `{"settings": {"sessionSidecar": {"forkOnCheckout": "off"|"ask"|"auto"}}}`; absent
    /// fields keep their value, an invalid section is logged and ignored.
    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let Ok(sc) = self.sidecar() else { return };
        let Some(section) = params.settings.get("sessionSidecar") else {
            return;
        };
        match serde_json::from_value::<p::SidecarSettings>(section.clone()) {
            Ok(s) => {
                if let Some(policy) = s.fork_on_checkout {
                    crate::git_watch::set_policy(&sc, policy);
                    tracing::info!("forkOnCheckout is now {policy:?}");
                }
            }
            Err(e) => tracing::warn!("ignoring invalid sessionSidecar settings: {e}"),
        }
    }
}

/// Serve on stdin/stdout until the client exits.
pub async fn serve(opts: ServeOptions) {
    // stdin is read on a plain thread: a read pending in tokio's blocking pool would keep the
    // runtime (and the process) from ending after `exit` while the client keeps stdin open.
    let (mut tx, rx) = tokio::io::duplex(256 * 1024);
    let handle = tokio::runtime::Handle::current();
    let _ = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            use std::io::Read;
            use tokio::io::AsyncWriteExt;
            let mut stdin = std::io::stdin().lock();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if handle.block_on(tx.write_all(&buf[..n])).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            let _ = handle.block_on(tx.shutdown());
        });
    serve_io(opts, rx, tokio::io::stdout()).await
}

/// Serve on any byte streams. Input frames pass through `framing::Decoder` first: a malformed
/// frame is answered (-32700 / -32600) and the session goes on, instead of ending the input as
/// tower-lsp-server's own decoder would. Output frames, the server's and those answers, are
/// written whole, one at a time.
pub async fn serve_io<I, O>(opts: ServeOptions, input: I, output: O)
where
    I: tokio::io::AsyncRead + Unpin + Send + 'static,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let service = LspService::build(|client| Backend {
        client,
        serve: opts,
        sidecar: OnceLock::new(),
        watcher: Mutex::new(None),
        git_watch: Mutex::new(None),
    });
    let (service, socket) = register(service).finish();
    let (mut to_server, server_in) = tokio::io::duplex(256 * 1024);
    let (server_out, mut from_server) = tokio::io::duplex(256 * 1024);
    // Bounded: a client that stops reading stops the reader too (no unbounded queue).
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);

    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(frame) = out_rx.recv().await {
            if output.write_all(&frame).await.is_err() || output.flush().await.is_err() {
                break;
            }
        }
    });
    let fwd_tx = out_tx.clone();
    let forward = tokio::spawn(async move {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            while let Some(frame) = crate::framing::take_output_frame(&mut buf) {
                if fwd_tx.send(frame).await.is_err() {
                    return;
                }
            }
            match from_server.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    });
    let err_tx = out_tx.clone();
    let reader = tokio::spawn(async move {
        let mut input = input;
        let mut decoder = crate::framing::Decoder::default();
        let mut bad_frames = 0u64;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match input.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            decoder.push(&chunk[..n]);
            while let Some(frame) = decoder.next_frame() {
                match frame {
                    crate::framing::Frame::Message(body) => {
                        let bytes = crate::framing::frame_bytes(&body);
                        if to_server.write_all(&bytes).await.is_err() {
                            return;
                        }
                    }
                    crate::framing::Frame::Error { id, code, message } => {
                        // A client stuck sending garbage must not flood the log.
                        bad_frames += 1;
                        if bad_frames <= 10 || bad_frames.is_power_of_two() {
                            tracing::warn!(
                                "bad message from the client ({bad_frames} so far): {message}"
                            );
                        } else {
                            tracing::debug!("bad message from the client: {message}");
                        }
                        let bytes = crate::framing::Frame::error_response(&id, code, &message);
                        if err_tx.send(bytes).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
        // End of input: the server sees end of input too.
        let _ = to_server.shutdown().await;
    });
    drop(out_tx);
    Server::new(server_in, server_out, socket)
        .concurrency_level(64)
        .serve(service)
        .await;
    // `exit` (or end of input): stop reading, deliver what the server wrote, then return.
    reader.abort();
    let _ = reader.await;
    let _ = forward.await;
    let _ = writer.await;
}
