//! `weave ui`: serves the viewer until Ctrl-C.

use super::error::CliError;
use crate::server::{self, ServerConfig};
use clap::Args;
use std::net::IpAddr;
use std::path::Path;

/// The port `weave ui` listens on by default.
pub const DEFAULT_PORT: u16 = 7878;

/// The arguments of `weave ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// The port (0 picks a free one)
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// The address to listen on; anything but a loopback address exposes your traces to the network
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Open the viewer in a browser (xdg-open / open)
    #[arg(long)]
    pub open: bool,
}

/// Runs `weave ui`.
pub fn run(store: Option<&Path>, args: &UiArgs) -> Result<(), CliError> {
    // The viewer indexes in bounded steps in the background: a large backlog never
    // holds up its start or its pages.
    let store = crate::store::Store::open(crate::store::resolve_path(store))?;
    if !args.host.is_loopback() {
        eprintln!(
            "weave: warning: listening on {} — anyone who can reach this machine on port {} can read your traces \
             and add feedback",
            args.host, args.port
        );
    }
    let config = ServerConfig { host: args.host, port: args.port };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("could not start the server's runtime: {e}")))?;
    runtime.block_on(async move {
        let server = server::bind(store, &config).await.map_err(|e| CliError::new(e.to_string()))?;
        let url = server.url();
        println!("weave ui: serving {} at {url}", server.store_path().display());
        println!("press Ctrl-C to stop");
        if args.open {
            open_browser(&url);
        }
        server
            .serve_until(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| CliError::new(format!("the server stopped: {e}")))?;
        println!("weave ui: stopped");
        Ok(())
    })
}

/// Opens `url` with the desktop's opener; only warns when there is none.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            let (opener, url) = (opener.to_string(), url.to_string());
            // Waited for on a thread of its own: the server starts meanwhile.
            std::thread::spawn(move || match child.wait() {
                Ok(status) if status.success() => {}
                Ok(status) => eprintln!("weave: warning: {opener} failed ({status}); open {url} yourself"),
                Err(e) => eprintln!("weave: warning: {opener} failed ({e}); open {url} yourself"),
            });
        }
        Err(e) => eprintln!("weave: warning: could not open a browser with {opener} ({e}); open {url} yourself"),
    }
}
