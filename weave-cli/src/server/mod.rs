//! The viewer's HTTP server: HTML shells of the pages ([`shell`]), the JSON API under
//! `/api/` that they read (one module per page), the JavaScript and CSS (`assets.rs`,
//! built into the binary), and the security headers and checks (`security.rs`).
//!
//! Reads run on blocking threads over the store's read-only connections; a background
//! thread indexes the calls other processes log (short transactions), so new calls show
//! up while a program is writing.

mod assets;
mod error;
mod evals;
mod ops;
mod params;
mod security;
pub mod shell;
mod state;
mod threads;
mod trace;
mod traces;

pub use error::ApiError;

use crate::store::Store;
use axum::Router;
use state::AppState;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the background thread indexes newly logged calls.
const INDEX_EVERY: Duration = Duration::from_millis(1000);

/// Where to listen.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address (127.0.0.1 unless asked otherwise).
    pub host: IpAddr,
    /// The port (0: any free one).
    pub port: u16,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { host: IpAddr::from([127, 0, 0, 1]), port: 0 }
    }
}

/// Why the server could not start.
#[derive(Debug)]
pub struct BindError(String);

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BindError {}

/// A bound server, not serving yet.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
    addr: SocketAddr,
    store: Arc<Store>,
}

/// The whole application: pages, API and assets, behind the security layer.
pub fn router(store: Arc<Store>, bound: IpAddr) -> Router {
    let state = AppState { store };
    Router::new()
        .merge(traces::routes())
        .merge(trace::routes())
        .merge(ops::routes())
        .merge(evals::routes())
        .merge(threads::routes())
        .merge(assets::routes())
        .fallback(error::not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn_with_state(security::Allowed::new(bound), security::check_request))
}

/// Binds the listener (`port` 0 picks a free port).
pub async fn bind(store: Store, config: &ServerConfig) -> Result<Server, BindError> {
    let wanted = SocketAddr::new(config.host, config.port);
    let listener = tokio::net::TcpListener::bind(wanted).await.map_err(|e| {
        let hint =
            if e.kind() == std::io::ErrorKind::AddrInUse { " (pick another with --port, or --port 0)" } else { "" };
        BindError(format!("could not listen on {wanted}: {e}{hint}"))
    })?;
    let addr = listener.local_addr().map_err(|e| BindError(format!("could not read the bound address: {e}")))?;
    let store = Arc::new(store);
    Ok(Server { listener, router: router(Arc::clone(&store), config.host), addr, store })
}

impl Server {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        match self.addr.ip() {
            IpAddr::V6(ip) => format!("http://[{ip}]:{}/", self.addr.port()),
            IpAddr::V4(ip) if ip.is_unspecified() => format!("http://127.0.0.1:{}/", self.addr.port()),
            IpAddr::V4(ip) => format!("http://{ip}:{}/", self.addr.port()),
        }
    }

    /// The store it serves.
    pub fn store_path(&self) -> &Path {
        self.store.path()
    }

    /// Serves until `shutdown` completes, then finishes the requests under way.
    pub async fn serve_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let stop = Arc::new(AtomicBool::new(false));
        let indexer = spawn_indexer(Arc::clone(&self.store), Arc::clone(&stop));
        let result = axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await;
        stop.store(true, Ordering::Relaxed);
        let _ = indexer.join();
        result
    }
}

fn spawn_indexer(store: Arc<Store>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let step = Duration::from_millis(50);
        let mut waited = Duration::ZERO;
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(step);
            waited += step;
            if waited >= INDEX_EVERY {
                waited = Duration::ZERO;
                if let Err(e) = store.index_step() {
                    eprintln!("weave ui: could not index new calls: {e}");
                }
            }
        }
    })
}

/// A server running on a thread of its own (for tests and embedding): stopped when
/// dropped.
pub struct RunningServer {
    addr: SocketAddr,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops it and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the viewer for `store` on a thread of its own.
pub fn spawn(store: Store, config: ServerConfig) -> Result<RunningServer, BindError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| BindError(format!("could not start a runtime: {e}")))?;
    let server = runtime.block_on(bind(store, &config))?;
    let (addr, url) = (server.local_addr(), server.url());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let result = runtime.block_on(server.serve_until(async {
            let _ = stopped.await;
        }));
        if let Err(e) = result {
            eprintln!("weave ui: the server stopped: {e}");
        }
    });
    Ok(RunningServer { addr, url, stop: Some(stop), thread: Some(thread) })
}

/// The assets the viewer serves: name, content type, content.
pub fn assets_list() -> &'static [(&'static str, &'static str, &'static str)] {
    assets::ASSETS
}
