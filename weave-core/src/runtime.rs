//! The installed client: project, settings, exporter, and the switch every op checks.
//!
//! Ops read one atomic (`STATE`): 0 means no client (before `init`, after `finish`, or
//! disabled), anything else is the generation of the installed client. Each thread caches
//! the client of the generation it last saw, so the hot path takes no lock.

use crate::call::CallRecord;
use crate::capture::CaptureConfig;
use crate::export::{ExportItem, Exporter, FlushReport};
use crate::ids::Id;
use crate::json::JsonObject;
use crate::node::CallNode;
use crate::open_calls::OpenCalls;
use crate::project::ProjectId;
use crate::settings::Settings;
use parking_lot::RwLock;
use serde_json::Value;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

static STATE: AtomicU64 = AtomicU64::new(0);
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);
static CLIENT: RwLock<Option<Arc<Client>>> = RwLock::new(None);

thread_local! {
    /// This thread's handle on the current client, and the generation it was taken for.
    static CACHED: RefCell<Option<(u64, ClientHandle)>> = const { RefCell::new(None) };
}

/// A counted handle on a client through a wrapper of one thread's (its cached handle):
/// each call holds its client, and counting `Arc<Client>` itself would make every thread
/// that runs ops add to and subtract from one shared counter on every call (its cache
/// line passed back and forth between their cores). The wrapper's counter is touched by
/// its thread only, but when a call ends or is dropped elsewhere.
#[derive(Clone)]
pub(crate) struct ClientHandle(Arc<ThreadClient>);

/// What a [`ClientHandle`] counts: one thread's reference to the client.
struct ThreadClient(Arc<Client>);

impl ClientHandle {
    /// A new handle on `client` (a thread caches one).
    pub(crate) fn new(client: Arc<Client>) -> ClientHandle {
        ClientHandle(Arc::new(ThreadClient(client)))
    }

    /// The client's identity (its address), to tell whose a call is without a handle.
    pub(crate) fn key(&self) -> usize {
        Client::key(&self.0 .0)
    }
}

impl std::ops::Deref for ClientHandle {
    type Target = Arc<Client>;

    #[inline]
    fn deref(&self) -> &Arc<Client> {
        &self.0 .0
    }
}

/// Makes the link printed for a root call (`None`: print nothing).
pub type CallLinkFn = dyn Fn(&Id) -> Option<String> + Send + Sync;

/// A started client: where calls go and how they are captured.
pub struct Client {
    project_id: ProjectId,
    project_id_text: String,
    settings: Settings,
    capture: CaptureConfig,
    exporter: Arc<dyn Exporter>,
    weave_attributes_sync: Option<&'static JsonObject>,
    weave_attributes_async: Option<&'static JsonObject>,
    wb_run_id: Option<&'static str>,
    call_link: Option<Box<CallLinkFn>>,
    open_calls: OpenCalls,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("project_id", &self.project_id_text).finish_non_exhaustive()
    }
}

impl Client {
    /// A client for a project, writing through `exporter`.
    pub fn new(project_id: ProjectId, settings: Settings, exporter: Arc<dyn Exporter>) -> Client {
        let capture = CaptureConfig {
            max_value_bytes: settings.max_value_bytes,
            redact_keys: settings.redact_keys.iter().map(|k| k.to_ascii_lowercase()).collect(),
            ..CaptureConfig::default()
        };
        let weave_attributes = |kind: &str| {
            let info = crate::system_info::weave_attributes(&settings, kind);
            if info.is_empty() {
                None
            } else {
                Some(crate::interned::object(info))
            }
        };
        let wb_run_id = settings
            .wandb_run_id
            .as_ref()
            .map(|run| crate::interned::str(&format!("{}/{}/{}", project_id.entity(), project_id.project(), run)));
        Client {
            project_id_text: project_id.to_string(),
            project_id,
            weave_attributes_sync: weave_attributes("function"),
            weave_attributes_async: weave_attributes("async_function"),
            capture,
            settings,
            exporter,
            wb_run_id,
            call_link: None,
            open_calls: OpenCalls::new(),
        }
    }

    /// Sets how a root call's link is printed (`None` from the function: print nothing).
    pub fn with_call_link(mut self, link: impl Fn(&Id) -> Option<String> + Send + Sync + 'static) -> Client {
        self.call_link = Some(Box::new(link));
        self
    }

    /// The client's identity (its address).
    pub(crate) fn key(&self) -> usize {
        self as *const Client as usize
    }

    /// The project.
    pub fn project_id(&self) -> &ProjectId {
        &self.project_id
    }

    /// The project as `entity/project`.
    pub fn project_id_str(&self) -> &str {
        &self.project_id_text
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The capture limits and redaction rules.
    pub fn capture_config(&self) -> &CaptureConfig {
        &self.capture
    }

    /// The exporter calls go to.
    pub fn exporter(&self) -> &Arc<dyn Exporter> {
        &self.exporter
    }

    pub(crate) fn weave_attributes(&self, is_async: bool) -> Option<&'static JsonObject> {
        if is_async {
            self.weave_attributes_async
        } else {
            self.weave_attributes_sync
        }
    }

    pub(crate) fn wb_run_id(&self) -> Option<&'static str> {
        self.wb_run_id
    }

    pub(crate) fn print_call_link(&self, id: &Id) {
        if !self.settings.print_call_link {
            return;
        }
        if let Some(link) = self.call_link.as_ref().and_then(|f| f(id)) {
            eprintln!("🍩 {link}");
        }
    }

    /// Lists a call that may end on another thread (an async or manual call).
    pub(crate) fn register_open(&self, node: &Arc<CallNode>) {
        self.open_calls.register(node);
    }

    /// Unlists such a call once it has ended.
    pub(crate) fn unregister_open(&self, id: &Id) {
        self.open_calls.unregister(id);
    }

    /// Writes every call still open as unfinished (so it is not lost at shutdown): the sync
    /// calls on every thread's stack and the others.
    fn export_open_calls(&self) {
        let mut open = crate::call_stack::running_starts(self);
        open.extend(self.open_calls.drain());
        for start in open {
            self.exporter.export(ExportItem::CallUnfinished(Box::new(CallRecord { start, end: None })));
        }
    }
}

/// Makes `client` the current client: ops start recording. Returns it.
pub fn install(client: Client) -> Arc<Client> {
    crate::panic::install_hook();
    let client = Arc::new(client);
    let generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
    let previous = {
        let mut slot = CLIENT.write();
        let previous = slot.replace(Arc::clone(&client));
        STATE.store(generation, Ordering::Release);
        previous
    };
    if let Some(previous) = previous {
        shutdown_client(&previous, previous.settings.flush_timeout);
    }
    client
}

/// Removes the current client (ops become plain calls again), writes its open calls as
/// unfinished and shuts its exporter down within `timeout`.
pub fn uninstall(timeout: Duration) -> Option<FlushReport> {
    let previous = {
        let mut slot = CLIENT.write();
        STATE.store(0, Ordering::Release);
        slot.take()
    };
    previous.map(|client| shutdown_client(&client, timeout))
}

/// Uninstalls `client` if it is still the current one.
pub fn uninstall_if_current(client: &Arc<Client>, timeout: Duration) -> Option<FlushReport> {
    let is_current = CLIENT.read().as_ref().is_some_and(|c| Arc::ptr_eq(c, client));
    if is_current {
        uninstall(timeout)
    } else {
        None
    }
}

fn shutdown_client(client: &Client, timeout: Duration) -> FlushReport {
    client.export_open_calls();
    let report = client.exporter.shutdown(timeout);
    if !report.completed {
        eprintln!(
            "weave: flush did not complete within {:.1} s; undelivered calls are in the fallback file",
            timeout.as_secs_f64()
        );
    }
    report
}

/// Flushes the current client's exporter.
pub fn flush(timeout: Duration) -> Option<FlushReport> {
    let client = CLIENT.read().clone()?;
    Some(client.exporter.flush(timeout))
}

/// True when a client is installed (ops record).
#[inline]
pub fn is_enabled() -> bool {
    STATE.load(Ordering::Relaxed) != 0
}

/// The current client, if any: one atomic load when there is none.
#[inline]
pub fn current_client() -> Option<Arc<Client>> {
    with_current_client(|handle| Arc::clone(handle))
}

/// This thread's handle on the current client, if any: one atomic load when there is none
/// (what op calls hold, see [`ClientHandle`]).
#[inline]
pub(crate) fn current_client_handle() -> Option<ClientHandle> {
    with_current_client(ClientHandle::clone)
}

/// `f` of this thread's handle on the current client, if there is one.
#[inline]
fn with_current_client<R>(f: impl FnOnce(&ClientHandle) -> R) -> Option<R> {
    let generation = STATE.load(Ordering::Acquire);
    if generation == 0 {
        return None;
    }
    with_cached_client(generation, f)
}

/// `f` of this thread's cached handle for `generation` (refreshed from the installed client
/// when the generation changed), run in place: `current_client` clones the client, not
/// the handle too.
#[inline(never)]
fn with_cached_client<R>(generation: u64, f: impl FnOnce(&ClientHandle) -> R) -> Option<R> {
    CACHED
        .try_with(|cached| {
            let mut cached = cached.try_borrow_mut().ok()?;
            match cached.as_ref() {
                Some((g, handle)) if *g == generation => Some(f(handle)),
                _ => {
                    let handle = ClientHandle::new(CLIENT.read().clone()?);
                    let result = f(&handle);
                    *cached = Some((generation, handle));
                    Some(result)
                }
            }
        })
        .ok()
        .flatten()
}

/// Parses the JSON text of a captured value (for post-processing and summaries).
pub(crate) fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}
