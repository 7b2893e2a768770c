//! Helpers shared by the exporter's tests: building call records directly from
//! weave-core types, and sinks that block, fail or record batch sizes.

#![allow(dead_code)]

use parking_lot::Mutex;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weave_core::call::{CallAttributes, CallEnd, CallRecord, CallStart, JsonObject};
use weave_core::capture::RawJson;
use weave_core::export::ExportItem;
use weave_core::ids::Id;
use weave_core::op::OpDef;
use weave_core::summary::Summary;
use weave_core::time::Timestamp;
use weave_exporter::{ExporterConfig, Sink, SinkError};

pub const PROJECT: &str = "test-entity/test-project";

pub fn op(name: &str) -> Arc<OpDef> {
    Arc::new(OpDef::new(name, &format!("fn {name}() {{}}"), true, None, false))
}

/// A call start of `op`, child of `parent` (a root with a fresh trace otherwise).
pub fn start(op: &Arc<OpDef>, parent: Option<&CallStart>, inputs: Value, started_at: Timestamp) -> Arc<CallStart> {
    let id = Id::new_v7(started_at.unix_millis());
    Arc::new(CallStart {
        id,
        trace_id: parent.map(|p| p.trace_id).unwrap_or_else(|| Id::new_v7(started_at.unix_millis())),
        parent_id: parent.map(|p| p.id),
        op: op.clone().into(),
        started_at,
        inputs: RawJson::from_value(&inputs),
        attributes: CallAttributes::default(),
        display_name: None,
        thread_id: None,
        turn_id: None,
        wb_run_id: None,
    })
}

pub fn end(ended_at: Timestamp, output: Option<Value>, exception: Option<&str>, errors: u64) -> CallEnd {
    CallEnd {
        ended_at,
        output: output.map(|o| RawJson::from_value(&o)),
        exception: exception
            .map(|message| json!({"type": "Error", "message": message, "traceback": []}).to_string().into()),
        summary: Summary {
            success: u64::from(exception.is_none()),
            error: errors + u64::from(exception.is_some()),
            rest: None,
        },
        display_name: None,
    }
}

pub fn finished(start: &Arc<CallStart>, end: CallEnd) -> ExportItem {
    ExportItem::CallFinished(Box::new(CallRecord { start: (**start).clone(), end: Some(end) }))
}

pub fn started(start: &Arc<CallStart>) -> ExportItem {
    ExportItem::CallStarted(Box::new(CallRecord { start: (**start).clone(), end: None }))
}

pub fn unfinished(start: &Arc<CallStart>) -> ExportItem {
    ExportItem::CallUnfinished(Box::new(CallRecord { start: (**start).clone(), end: None }))
}

/// A small finished root call of `op` with input `{"i": i}`.
pub fn small_call(op: &Arc<OpDef>, i: u64) -> ExportItem {
    let t = Timestamp::now();
    let s = start(op, None, json!({ "i": i }), t);
    finished(&s, end(Timestamp::from_unix_micros(t.unix_micros() + 5), Some(json!(i)), None, 0))
}

pub fn id_of(item: &ExportItem) -> String {
    weave_exporter::record_of(item).map(|r| r.start.id.to_string()).unwrap_or_default()
}

pub fn user_attributes(value: Value) -> Option<Arc<JsonObject>> {
    value.as_object().cloned().map(Arc::new)
}

/// The SDK's attributes as a client keeps them (for the life of the program).
pub fn weave_attributes(value: Value) -> Option<&'static JsonObject> {
    value.as_object().cloned().map(weave_core::interned::object)
}

/// A config for tests: small delays, the fallback file in `dir`.
pub fn config(dir: &Path) -> ExporterConfig {
    ExporterConfig {
        max_batch_delay: Duration::ZERO,
        fallback_path: dir.join("dropped.jsonl"),
        flush_timeout: Duration::from_secs(10),
        retry_initial_backoff: Duration::from_millis(5),
        retry_max_backoff: Duration::from_millis(20),
        ..ExporterConfig::default()
    }
}

/// Waits until `cond` holds (or panics after `timeout`).
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The fallback file's lines, parsed.
pub fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

/// Records batch sizes and ids; sleeps `delay` per batch.
#[derive(Default, Clone)]
pub struct RecordingSink {
    pub batches: Arc<Mutex<Vec<usize>>>,
    pub ids: Arc<Mutex<Vec<String>>>,
    pub times: Arc<Mutex<Vec<Instant>>>,
    pub delay: Duration,
}

impl RecordingSink {
    pub fn total(&self) -> usize {
        self.batches.lock().iter().sum()
    }
}

impl Sink for RecordingSink {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        std::thread::sleep(self.delay);
        self.batches.lock().push(batch.len());
        self.ids.lock().extend(batch.iter().map(id_of));
        self.times.lock().push(Instant::now());
        Ok(())
    }
    fn project_id(&self) -> Option<&str> {
        Some(PROJECT)
    }
}

/// Blocks in `write_batch` until released (or forever), counting the items it received.
#[derive(Clone)]
pub struct GateSink {
    pub entered: Arc<AtomicUsize>,
    pub gate: crossbeam_channel::Receiver<()>,
}

impl GateSink {
    pub fn new() -> (GateSink, crossbeam_channel::Sender<()>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (GateSink { entered: Arc::new(AtomicUsize::new(0)), gate: rx }, tx)
    }
}

impl Sink for GateSink {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        self.entered.fetch_add(batch.len(), Ordering::SeqCst);
        // Waits for a release; a dropped sender (test over) releases too.
        let _ = self.gate.recv();
        Ok(())
    }
    fn project_id(&self) -> Option<&str> {
        Some(PROJECT)
    }
}

/// Fails the first `failures` attempts with the given retryability.
pub struct FlakySink {
    pub attempts: Arc<AtomicUsize>,
    pub failures: usize,
    pub retryable: bool,
    pub written: Arc<AtomicUsize>,
}

impl Sink for FlakySink {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        let n = self.attempts.fetch_add(1, Ordering::SeqCst);
        if n < self.failures {
            return Err(SinkError { message: format!("attempt {n} failed"), retryable: self.retryable });
        }
        self.written.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
    fn project_id(&self) -> Option<&str> {
        Some(PROJECT)
    }
}
