use clap::Parser;
use session_sidecar::cli::{self, Cli, Command};

fn main() {
    // `session-sidecar list | head` must end quietly, not panic on a closed pipe.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Logs go to stderr, never stdout (stdout carries the protocol), and never carry content.
    session_sidecar::logging::init();
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Serve) => {
            let opts = session_sidecar::server::ServeOptions {
                home: cli.global.home.clone(),
                workspace: cli.global.workspace.clone(),
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(session_sidecar::server::serve(opts));
        }
        Some(_) => std::process::exit(cli::run(cli)),
    }
}
