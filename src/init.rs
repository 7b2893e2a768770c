//! `weave::init`: settings → sink → exporter → the installed client, and the guard that
//! flushes when it is dropped.
//!
//! Where calls go, first match wins: a sink given to the builder; server settings given
//! to the builder; a JSONL file (`WEAVE_JSONL_PATH`) or an explicitly chosen local store
//! (`WEAVE_LOCAL_STORE_PATH`); the Weave trace server when an API key is found
//! (`WANDB_API_KEY`, or `~/.netrc` for the host of `WANDB_BASE_URL`); else the local
//! store `.weave/weave.db`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use weave_core::export::FlushReport;
use weave_core::project::{InvalidProject, ProjectId, LOCAL_ENTITY};
use weave_core::runtime::{self, Client};
use weave_core::settings::Settings;
use weave_exporter::http::{default_entity, ServerConfig, WeaveServerSink};
use weave_exporter::local_store::LocalStore;
use weave_exporter::{ExporterConfig, JsonlSink, QueueExporter, Sink};

/// The default location of the embedded local store, under the working directory (one
/// definition, the local store's).
pub(crate) const DEFAULT_LOCAL_STORE: &str = weave_exporter::local_store::DEFAULT_PATH;

/// Why `init` failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// The project name is not `entity/project` or `project`.
    InvalidProject(InvalidProject),
    /// No project was given and `WEAVE_PROJECT` is not set.
    NoProject,
    /// The sink could not be opened (e.g. the local store's file).
    Sink {
        /// What was being opened.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// The project has no entity and the W&B server could not say the default one.
    DefaultEntity(String),
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitError::InvalidProject(e) => e.fmt(f),
            InitError::NoProject => {
                f.write_str("no Weave project: pass one to weave::init(\"entity/project\") or set WEAVE_PROJECT")
            }
            InitError::Sink { what, reason } => write!(f, "could not open {what}: {reason}"),
            InitError::DefaultEntity(reason) => write!(
                f,
                "could not find the default W&B entity ({reason}); name the project \"entity/project\" or set WANDB_ENTITY"
            ),
        }
    }
}

impl std::error::Error for InitError {}

/// Starts tracing into `project` (`entity/project`, or `project` for the local store)
/// with settings from the environment. Keep the returned guard alive: dropping it
/// flushes everything recorded.
pub fn init(project: impl AsRef<str>) -> Result<Weave, InitError> {
    builder().project(project).init()
}

/// A builder for `init` with settings and sink choices.
pub fn builder() -> InitBuilder {
    InitBuilder::default()
}

/// Options for [`init`]. The environment is applied on top of the settings given here
/// (the environment wins, as in the Python SDK).
#[derive(Default)]
#[must_use]
pub struct InitBuilder {
    project: Option<String>,
    settings: Option<Settings>,
    sink: Option<Box<dyn Sink>>,
    server: Option<ServerConfig>,
    exporter: Option<ExporterConfig>,
    finish_at_exit: bool,
}

impl std::fmt::Debug for InitBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitBuilder")
            .field("project", &self.project)
            .field("settings", &self.settings)
            .field("custom_sink", &self.sink.is_some())
            .field("server", &self.server)
            .finish()
    }
}

impl InitBuilder {
    /// The project (`entity/project` or `project`). Without one, `WEAVE_PROJECT` is used.
    pub fn project(mut self, project: impl AsRef<str>) -> Self {
        self.project = Some(project.as_ref().to_string());
        self
    }

    /// Settings (the environment still overrides them).
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// Writes into this sink instead of the local store.
    pub fn sink(mut self, sink: impl Sink) -> Self {
        self.sink = Some(Box::new(sink));
        self
    }

    /// Sends calls to this Weave trace server (instead of the one found from the
    /// environment, or the local store).
    pub fn server(mut self, config: ServerConfig) -> Self {
        self.server = Some(config);
        self
    }

    /// Batching and fallback-file options of the background exporter. The queue size,
    /// the flush timeout and whether the disk fallback is on come from the [`Settings`]
    /// (`WEAVE_MAX_CALLS_QUEUE_SIZE`, `WEAVE_FLUSH_TIMEOUT`, `WEAVE_ENABLE_DISK_FALLBACK`).
    pub fn exporter_config(mut self, config: ExporterConfig) -> Self {
        self.exporter = Some(config);
        self
    }

    /// Also finishes the client when the process exits through `std::process::exit`
    /// (which skips the guard's `Drop`): a handler registered with `atexit` (unix). See
    /// [`crate::exit`] for what is lost without it.
    pub fn finish_at_exit(mut self) -> Self {
        self.finish_at_exit = true;
        self
    }

    /// Starts the client.
    pub fn init(self) -> Result<Weave, InitError> {
        let mut settings = self.settings.unwrap_or_default();
        settings.apply_env();
        let project_name = match self.project.filter(|p| !p.trim().is_empty()) {
            Some(p) => p,
            None => std::env::var("WEAVE_PROJECT").ok().filter(|p| !p.trim().is_empty()).ok_or(InitError::NoProject)?,
        };
        let server = match (&self.sink, self.server) {
            (Some(_), _) => None,
            (None, Some(server)) => Some(server),
            (None, None) if settings.jsonl_path.is_some() || settings.local_store_path.is_some() => None,
            (None, None) if settings.disabled => None,
            (None, None) => ServerConfig::from_env(),
        };
        let env_entity = std::env::var("WANDB_ENTITY").ok().filter(|e| !e.trim().is_empty());
        let default_entity = match (&server, env_entity) {
            (_, Some(entity)) => entity,
            (Some(server), None) if !project_name.contains('/') && !settings.disabled => {
                find_default_entity(server).map_err(InitError::DefaultEntity)?
            }
            _ => LOCAL_ENTITY.to_string(),
        };
        let project = ProjectId::parse(&project_name, &default_entity).map_err(InitError::InvalidProject)?;
        if settings.disabled {
            return Ok(Weave { client: None, project_id: project.to_string(), destination: Destination::Disabled });
        }
        let mut server_link: Option<ServerConfig> = None;
        let (sink, destination): (Box<dyn Sink>, Destination) = match (self.sink, server, &settings.jsonl_path) {
            (Some(sink), _, _) => {
                let description = sink.describe();
                (sink, Destination::Custom(description))
            }
            (None, Some(server), _) => {
                server_link = Some(server.clone());
                let description = format!("the Weave trace server at {}", server.trace_url);
                (Box::new(WeaveServerSink::new(server, project.to_string())), Destination::Server(description))
            }
            (None, None, Some(path)) => {
                let sink = if path.as_os_str() == "-" {
                    JsonlSink::stdout(project.to_string())
                } else {
                    JsonlSink::file(path, project.to_string()).map_err(|e| InitError::Sink {
                        what: format!("the JSONL file {}", path.display()),
                        reason: e.to_string(),
                    })?
                };
                (Box::new(sink), Destination::Jsonl(path.clone()))
            }
            (None, None, None) => {
                let path = settings.local_store_path.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_LOCAL_STORE));
                let store = LocalStore::create(&path, project.to_string()).map_err(|e| InitError::Sink {
                    what: format!("the local store {}", path.display()),
                    reason: e.to_string(),
                })?;
                (Box::new(store), Destination::LocalStore(path))
            }
        };
        let mut config = self.exporter.unwrap_or_default();
        config.max_queue_size = settings.max_calls_queue_size;
        config.flush_timeout = settings.flush_timeout;
        config.enable_disk_fallback = settings.enable_disk_fallback;
        if matches!(destination, Destination::Server(_)) {
            // A server that is down keeps its batch waiting (retried with backoff) rather
            // than spilling it: the calls are sent when it answers, or go to the fallback
            // file at shutdown.
            config.max_retries = u32::MAX;
        }
        let call_link = server_link.clone();
        let exporter = QueueExporter::start(sink, config);
        let mut client = Client::new(project.clone(), settings, Arc::new(exporter));
        if let Some(link) = call_link {
            let (entity, name) = (project.entity().to_string(), project.project().to_string());
            client = client.with_call_link(move |id| Some(link.call_link(&entity, &name, &id.to_string())));
        }
        let client = runtime::install(client);
        if self.finish_at_exit {
            crate::exit::finish_at_process_exit();
        }
        Ok(Weave { client: Some(client), project_id: project.to_string(), destination })
    }
}

/// Where calls are written.
#[derive(Debug, Clone)]
enum Destination {
    Disabled,
    LocalStore(PathBuf),
    Jsonl(PathBuf),
    Server(String),
    Custom(String),
}

/// The running client. Dropping it (or calling [`Weave::finish`]) flushes everything
/// recorded, within the flush timeout (`WEAVE_FLUSH_TIMEOUT`, 30 s by default), and writes
/// calls still open as unfinished.
///
/// `std::process::exit` does not drop it: what was not written yet is lost. Call
/// [`crate::exit`] instead, or build with [`InitBuilder::finish_at_exit`] (see [`crate::exit`]).
#[must_use = "tracing stops and is flushed when this guard is dropped; keep it alive (let _weave = ...)"]
pub struct Weave {
    client: Option<Arc<Client>>,
    project_id: String,
    destination: Destination,
}

impl std::fmt::Debug for Weave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Weave")
            .field("project_id", &self.project_id)
            .field("destination", &self.destination)
            .field("enabled", &self.client.is_some())
            .finish()
    }
}

impl Weave {
    /// The project, `entity/project`.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// False when tracing is off (`WEAVE_DISABLED`).
    pub fn is_enabled(&self) -> bool {
        self.client.is_some()
    }

    /// The local store's database file, when calls go there.
    pub fn local_store_path(&self) -> Option<&Path> {
        match &self.destination {
            Destination::LocalStore(path) => Some(path),
            _ => None,
        }
    }

    /// Where calls are written, in words.
    pub fn destination(&self) -> String {
        match &self.destination {
            Destination::Disabled => "nowhere (WEAVE_DISABLED is set)".to_string(),
            Destination::LocalStore(path) => format!("the local store {}", path.display()),
            Destination::Jsonl(path) => format!("JSON lines in {}", path.display()),
            Destination::Server(description) => format!("{description} (project {})", self.project_id),
            Destination::Custom(description) => description.clone(),
        }
    }

    /// Waits until everything recorded so far is written (bounded by the flush timeout).
    pub fn flush(&self) -> FlushReport {
        match &self.client {
            Some(client) => client.exporter().flush(client.settings().flush_timeout),
            None => FlushReport { completed: true, ..FlushReport::default() },
        }
    }

    /// Stops tracing and flushes; returns what the flush achieved.
    pub fn finish(mut self) -> FlushReport {
        self.shutdown()
    }

    fn shutdown(&mut self) -> FlushReport {
        match self.client.take() {
            Some(client) => {
                let timeout = client.settings().flush_timeout;
                runtime::uninstall_if_current(&client, timeout)
                    .unwrap_or_else(|| FlushReport { completed: true, ..FlushReport::default() })
            }
            None => FlushReport { completed: true, ..FlushReport::default() },
        }
    }
}

impl Drop for Weave {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Flushes the current client, waiting at most `WEAVE_FLUSH_TIMEOUT`.
pub fn flush() -> Option<FlushReport> {
    let timeout = runtime::current_client().map(|c| c.settings().flush_timeout).unwrap_or(Duration::from_secs(30));
    runtime::flush(timeout)
}

/// Stops tracing and flushes the current client (as dropping its guard does).
pub fn finish() -> Option<FlushReport> {
    let timeout = runtime::current_client().map(|c| c.settings().flush_timeout).unwrap_or(Duration::from_secs(30));
    runtime::uninstall(timeout)
}

/// Asks W&B for the API key's default entity, on a thread of its own (the blocking HTTP
/// client must not run on an async runtime's thread).
fn find_default_entity(server: &ServerConfig) -> Result<String, String> {
    let server = server.clone();
    std::thread::Builder::new()
        .name("weave-init".to_string())
        .spawn(move || default_entity(&server))
        .map_err(|e| format!("could not start a thread: {e}"))?
        .join()
        .unwrap_or_else(|_| Err("the look-up panicked".to_string()))
}
