//! Testing support: capture the calls your code makes, in memory, synchronously.
//!
//! ```
//! let calls = weave_core::testing::capture();
//! // ... run code with #[op] functions ...
//! assert!(calls.calls().is_empty());
//! ```
//!
//! The client is process-global, so tests that capture run one at a time: [`capture`]
//! takes a process-wide lock, released when the returned guard is dropped.
//!
//! Calls are encoded as they end, on the thread that ends them (there is no exporter
//! thread): a panic's backtrace is resolved there, which takes a tenth of a second or more
//! the first time in a process (the debug information is read).

use crate::client::Client;
use crate::export::{ExportItem, Exporter, FlushReport};
use crate::feedback_item::FeedbackItem;
use crate::object_item::ObjectItem;
use crate::project::ProjectId;
use crate::runtime::{install, uninstall_if_current};
use crate::settings::Settings;
use crate::table::TableItem;
use parking_lot::{Mutex, MutexGuard};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

static LOCK: Mutex<()> = Mutex::new(());

/// An environment lookup over fixed pairs, for the `*_from`/`*_with` functions that read
/// settings through a lookup instead of the process environment.
///
/// ```
/// let mut settings = weave_core::settings::Settings::default();
/// settings.apply_env_from(weave_core::testing::env_lookup(&[("WEAVE_PARALLELISM", "4")]));
/// assert_eq!(settings.parallelism, 4);
/// ```
pub fn env_lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> =
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| map.get(k).cloned()
}

/// The project calls are captured under.
pub const TEST_PROJECT: &str = "test-entity/test-project";

/// Installs an in-memory client until the guard is dropped. Calls are visible as soon as
/// they finish.
pub fn capture() -> CaptureGuard {
    capture_with(Settings { print_call_link: false, ..Settings::default() })
}

/// [`capture`] with given settings (the environment is not applied).
pub fn capture_with(settings: Settings) -> CaptureGuard {
    let lock = LOCK.lock();
    let exporter = Arc::new(MemoryExporter {
        project_id: TEST_PROJECT.to_string(),
        items: Mutex::new(Vec::new()),
        objects: Mutex::new(Vec::new()),
        feedback: Mutex::new(Vec::new()),
        tables: Mutex::new(Vec::new()),
        ops: Mutex::new(Vec::new()),
    });
    let project = match ProjectId::parse(TEST_PROJECT, crate::project::LOCAL_ENTITY) {
        Ok(p) => p,
        Err(e) => unreachable!("the test project name is valid: {e}"),
    };
    let client = install(Client::new(project, settings, exporter.clone()));
    CaptureGuard { client, exporter, _lock: lock }
}

/// Captured calls; uninstalls the client when dropped.
pub struct CaptureGuard {
    client: Arc<Client>,
    exporter: Arc<MemoryExporter>,
    _lock: MutexGuard<'static, ()>,
}

impl std::fmt::Debug for CaptureGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureGuard").field("items", &self.exporter.items.lock().len()).finish()
    }
}

/// How a captured item reached the exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapturedKind {
    /// An eager start.
    Started,
    /// A finished call.
    Finished,
    /// A call still open at shutdown.
    Unfinished,
}

impl CaptureGuard {
    /// Finished calls, in the order they finished.
    pub fn calls(&self) -> Vec<CapturedCall> {
        self.items(CapturedKind::Finished)
    }

    /// Items of one kind, in order.
    pub fn items(&self, kind: CapturedKind) -> Vec<CapturedCall> {
        self.exporter.items.lock().iter().filter(|(k, _)| *k == kind).map(|(_, c)| c.clone()).collect()
    }

    /// Finished calls of the op with this name.
    pub fn calls_of(&self, op_name: &str) -> Vec<CapturedCall> {
        self.calls().into_iter().filter(|c| c.op_name() == op_name).collect()
    }

    /// Objects published (`weave::publish`), in order.
    pub fn objects(&self) -> Vec<ObjectItem> {
        self.exporter.objects.lock().clone()
    }

    /// Feedback added (reactions, notes), in order.
    pub fn feedback(&self) -> Vec<FeedbackItem> {
        self.exporter.feedback.lock().clone()
    }

    /// The tables saved (a dataset's rows, an evaluation's results), in order.
    pub fn tables(&self) -> Vec<TableItem> {
        self.exporter.tables.lock().clone()
    }

    /// The ops saved on their own (the ops objects refer to), in order: each one's name
    /// and the content of its source file (`obj.py`).
    pub fn saved_ops(&self) -> Vec<(String, String)> {
        self.exporter.ops.lock().clone()
    }

    /// Forgets what was captured so far.
    pub fn clear(&self) {
        self.exporter.items.lock().clear();
        self.exporter.objects.lock().clear();
        self.exporter.feedback.lock().clear();
        self.exporter.tables.lock().clear();
        self.exporter.ops.lock().clear();
    }

    /// Shuts the client down now (open calls are captured as unfinished) and returns
    /// everything captured.
    pub fn finish(&self) -> Vec<CapturedCall> {
        uninstall_if_current(&self.client, Duration::from_secs(5));
        self.exporter.items.lock().iter().map(|(_, c)| c.clone()).collect()
    }
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        uninstall_if_current(&self.client, Duration::from_secs(5));
    }
}

struct MemoryExporter {
    project_id: String,
    items: Mutex<Vec<(CapturedKind, CapturedCall)>>,
    objects: Mutex<Vec<ObjectItem>>,
    feedback: Mutex<Vec<FeedbackItem>>,
    tables: Mutex<Vec<TableItem>>,
    ops: Mutex<Vec<(String, String)>>,
}

impl Exporter for MemoryExporter {
    fn export(&self, item: ExportItem) {
        let (kind, record) = match &item {
            ExportItem::CallStarted(r) => (CapturedKind::Started, r),
            ExportItem::CallFinished(r) => (CapturedKind::Finished, r),
            ExportItem::CallUnfinished(r) => (CapturedKind::Unfinished, r),
            ExportItem::Object(object) => return self.objects.lock().push((**object).clone()),
            ExportItem::Feedback(feedback) => return self.feedback.lock().push((**feedback).clone()),
            ExportItem::Table(table) => return self.tables.lock().push((**table).clone()),
            ExportItem::Op(op) => {
                return self.ops.lock().push((op.op.name().to_string(), op.op.source_file().to_string()))
            }
        };
        let wire = serde_json::to_value(record.wire(&self.project_id)).unwrap_or(Value::Null);
        let call = CapturedCall { op_name: record.start.op.name().to_string(), wire };
        self.items.lock().push((kind, call));
    }

    fn flush(&self, _timeout: Duration) -> FlushReport {
        FlushReport { completed: true, written: self.items.lock().len() as u64, ..FlushReport::default() }
    }

    fn shutdown(&self, timeout: Duration) -> FlushReport {
        self.flush(timeout)
    }
}

/// One captured call in Weave's wire form, with accessors.
#[derive(Debug, Clone)]
pub struct CapturedCall {
    op_name: String,
    wire: Value,
}

impl CapturedCall {
    /// The op's name (`fn` name or `Type.method`).
    pub fn op_name(&self) -> &str {
        &self.op_name
    }

    /// The whole call as Weave's wire JSON.
    pub fn wire(&self) -> &Value {
        &self.wire
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.wire.get(key).and_then(Value::as_str)
    }

    /// The op's `weave:///` ref (the wire `op_name`).
    pub fn op_ref(&self) -> &str {
        self.str_field("op_name").unwrap_or_default()
    }

    /// The call id.
    pub fn id(&self) -> &str {
        self.str_field("id").unwrap_or_default()
    }

    /// The trace id.
    pub fn trace_id(&self) -> &str {
        self.str_field("trace_id").unwrap_or_default()
    }

    /// The parent call's id.
    pub fn parent_id(&self) -> Option<&str> {
        self.str_field("parent_id")
    }

    /// The display name.
    pub fn display_name(&self) -> Option<&str> {
        self.str_field("display_name")
    }

    /// The thread id.
    pub fn thread_id(&self) -> Option<&str> {
        self.str_field("thread_id")
    }

    /// The turn id.
    pub fn turn_id(&self) -> Option<&str> {
        self.str_field("turn_id")
    }

    /// The inputs object.
    pub fn inputs(&self) -> &Value {
        self.wire.get("inputs").unwrap_or(&Value::Null)
    }

    /// The output.
    pub fn output(&self) -> &Value {
        self.wire.get("output").unwrap_or(&Value::Null)
    }

    /// The exception, parsed from its JSON string.
    pub fn exception(&self) -> Option<Value> {
        self.str_field("exception").map(|s| serde_json::from_str(s).unwrap_or(Value::String(s.to_string())))
    }

    /// The summary.
    pub fn summary(&self) -> &Value {
        self.wire.get("summary").unwrap_or(&Value::Null)
    }

    /// The attributes.
    pub fn attributes(&self) -> &Value {
        self.wire.get("attributes").unwrap_or(&Value::Null)
    }

    /// The start time as written.
    pub fn started_at(&self) -> &str {
        self.str_field("started_at").unwrap_or_default()
    }

    /// The end time as written (`None` for a start or an unfinished call).
    pub fn ended_at(&self) -> Option<&str> {
        self.str_field("ended_at")
    }
}
