//! `weave::init`: settings → sink → exporter → the installed client, and the guard that
//! flushes when it is dropped.
//!
//! Where calls go, first match wins: a sink given to the builder; server settings given
//! to the builder; a JSONL file (`WEAVE_JSONL_PATH`) or an explicitly chosen local store
//! (`WEAVE_LOCAL_STORE_PATH`); the Weave trace server when an API key is found
//! (`WANDB_API_KEY`, or `~/.netrc` for the host of `WANDB_BASE_URL`); else the local
//! store `.weave/weave.db` (the choice is `crate::destination`'s, which also says what
//! happens when a sink's cargo feature is off).

use crate::destination::{self, Choice, Destination, Target};
use crate::init_error::InitError;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weave_core::export::FlushReport;
use weave_core::project::{ProjectId, LOCAL_ENTITY};
use weave_core::runtime::{self, Client};
use weave_core::settings::{entity_from_env, project_from_env, Settings};
#[cfg(feature = "server")]
use weave_exporter::http::ServerConfig;
use weave_exporter::{ExporterConfig, QueueExporter, Sink};

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
    #[cfg(feature = "server")]
    server: Option<ServerConfig>,
    exporter: Option<ExporterConfig>,
    finish_at_exit: bool,
}

impl std::fmt::Debug for InitBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut f = f.debug_struct("InitBuilder");
        f.field("project", &self.project).field("settings", &self.settings).field("custom_sink", &self.sink.is_some());
        #[cfg(feature = "server")]
        f.field("server", &self.server);
        f.finish()
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

    /// Writes into this sink instead of the one chosen from the environment.
    pub fn sink(mut self, sink: impl Sink) -> Self {
        self.sink = Some(Box::new(sink));
        self
    }

    /// Sends calls to this Weave trace server (instead of the one found from the
    /// environment, or the local store). With the `server` feature (on by default).
    #[cfg(feature = "server")]
    #[cfg_attr(docsrs, doc(cfg(feature = "server")))]
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
            None => project_from_env().ok_or(InitError::NoProject)?,
        };
        #[cfg(feature = "server")]
        let given_server: Option<Target> = self.server.map(Choice::Server);
        #[cfg(not(feature = "server"))]
        let given_server: Option<Target> = None;
        let route = match (self.sink, given_server) {
            _ if settings.disabled => Route::Off,
            (Some(sink), _) => Route::Given(sink),
            (None, Some(server)) => Route::To(server),
            (None, None) => Route::To(destination::from_env(&settings)),
        };
        let default_entity = match (&route, entity_from_env()) {
            (_, Some(entity)) => entity,
            (Route::To(Choice::Server(server)), None) if !project_name.contains('/') => {
                destination::default_entity(server).map_err(InitError::DefaultEntity)?
            }
            _ => LOCAL_ENTITY.to_string(),
        };
        let project = ProjectId::parse(&project_name, &default_entity).map_err(InitError::InvalidProject)?;
        let (sink, destination, call_link) = match route {
            Route::Off => {
                return Ok(Weave {
                    client: None,
                    project_id: project.to_string(),
                    destination: Destination::disabled(),
                })
            }
            Route::Given(sink) => {
                let description = sink.describe();
                (sink, Destination::other(description), None)
            }
            Route::To(target) => {
                let call_link = destination::call_link(&target, &project);
                let (sink, destination) = destination::open(target, &project.to_string())?;
                (sink, destination, call_link)
            }
        };
        let mut config = self.exporter.unwrap_or_default();
        config.max_queue_size = settings.max_calls_queue_size;
        config.flush_timeout = settings.flush_timeout;
        config.enable_disk_fallback = settings.enable_disk_fallback;
        if destination.server {
            // A server that is down keeps its batch waiting (retried with backoff) rather
            // than spilling it: the calls are sent when it answers, or go to the fallback
            // file at shutdown.
            config.max_retries = u32::MAX;
        }
        let exporter = QueueExporter::start(sink, config);
        let mut client = Client::new(project.clone(), settings, Arc::new(exporter));
        if let Some(link) = call_link {
            client = client.with_call_link(link);
        }
        let client = runtime::install(client);
        if self.finish_at_exit {
            crate::exit::finish_at_process_exit();
        }
        Ok(Weave { client: Some(client), project_id: project.to_string(), destination })
    }
}

/// Where `init` sends calls.
enum Route {
    /// Nowhere: `WEAVE_DISABLED`.
    Off,
    /// Into the sink given to the builder.
    Given(Box<dyn Sink>),
    /// Where the builder's server settings, or the settings and the environment, say.
    To(Target),
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
        self.destination.local_store.as_deref()
    }

    /// Where calls are written, in words.
    pub fn destination(&self) -> String {
        self.destination.description.clone()
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
