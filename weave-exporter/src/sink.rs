//! Where batches go: the [`Sink`] trait the worker writes through, its error type, and
//! two small sinks: [`DiscardSink`] (counts and drops, for benchmarks) and
//! [`MemorySink`] (keeps wire JSON in memory, for tests).

use crate::fallback::entry::FallbackEntry;
use crate::item::{record_of, ItemKind};
use parking_lot::Mutex;
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use weave_core::export::ExportItem;
use weave_core::store_ref_form::StoreRefForm;
use weave_core::wire::WireEncoder;

/// A destination for batches of calls. The exporter's worker thread owns the sink and
/// calls it from that one thread, so a sink needs `Send` but not `Sync`.
pub trait Sink: Send + 'static {
    /// Writes one batch, in order. An error marked retryable makes the worker retry the
    /// whole batch (with backoff); any other error sends the batch to the fallback file.
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError>;

    /// Makes everything written so far durable or visible (called on flush and shutdown).
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Whether this sink shows eager call starts (a call as running before it ends).
    /// When false the runtime does not send them.
    fn supports_call_start(&self) -> bool {
        true
    }

    /// Where this sink writes, in words (e.g. `local store at .weave/weave.db`).
    fn describe(&self) -> String {
        format!("sink {}", std::any::type_name::<Self>())
    }

    /// The project (`entity/project`) this sink writes calls for, written with items in
    /// the fallback file. `None` when the sink has no project.
    fn project_id(&self) -> Option<&str> {
        None
    }

    /// Items of the last batch written that the sink refused one by one (their index in
    /// the batch and why), although the batch as a whole succeeded: e.g. a server that
    /// rejected one bad call and took the others. The worker calls this after every
    /// successful `write_batch`, counts these items as failed and writes them to the
    /// fallback file. The default has none.
    fn take_rejected(&mut self) -> Vec<(usize, SinkError)> {
        Vec::new()
    }

    /// Tells the sink when the exporter must be done (a shutdown has started): a sink
    /// doing network I/O shortens its timeouts and waits to end by then. Called before
    /// each write once a shutdown has started. The default ignores it.
    fn set_deadline(&mut self, deadline: Option<Instant>) {
        let _ = deadline;
    }

    /// Tells the sink, before each write, how many items wait behind the batch (queued,
    /// or taken by the worker and not yet written): a sink with work it may defer (the
    /// local store indexes its call log after a batch) leaves it for later while the
    /// exporter is behind, so that a burst is written at full speed. The default ignores
    /// it; a sink called without it sees `0`.
    fn set_waiting_items(&mut self, items: usize) {
        let _ = items;
    }

    /// Background upkeep, called by the worker when its queue has been empty for
    /// `max_batch_delay` (e.g. the local store indexes its call log). Each call should
    /// take at most a few milliseconds, since a batch arriving meanwhile waits for it;
    /// return true when there is more to do, and the worker calls again as soon as it
    /// has checked its queue. Errors are reported on stderr and do not stop the worker.
    /// Flush and shutdown do not wait for upkeep. The default has none.
    fn idle(&mut self) -> Result<bool, SinkError> {
        Ok(false)
    }

    /// How the store behind this sink digests the refs inside values: asked once, when the
    /// exporter starts; a sink that learns it later returns a pending
    /// [`StoreRefForm`] that it sets then. The default keeps refs as written.
    fn ref_form(&self) -> StoreRefForm {
        StoreRefForm::default()
    }

    /// Writes items read back from the fallback file (wire JSON, see
    /// [`crate::fallback::replay`]). Sinks that cannot take wire JSON keep the default,
    /// which refuses.
    fn replay_batch(&mut self, batch: &[FallbackEntry]) -> Result<(), SinkError> {
        let _ = batch;
        Err(SinkError::permanent(format!("{} cannot replay items from the fallback file", self.describe())))
    }
}

impl Sink for Box<dyn Sink> {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        (**self).write_batch(batch)
    }
    fn flush(&mut self) -> Result<(), SinkError> {
        (**self).flush()
    }
    fn supports_call_start(&self) -> bool {
        (**self).supports_call_start()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn project_id(&self) -> Option<&str> {
        (**self).project_id()
    }
    fn take_rejected(&mut self) -> Vec<(usize, SinkError)> {
        (**self).take_rejected()
    }
    fn set_deadline(&mut self, deadline: Option<Instant>) {
        (**self).set_deadline(deadline)
    }
    fn set_waiting_items(&mut self, items: usize) {
        (**self).set_waiting_items(items)
    }
    fn replay_batch(&mut self, batch: &[FallbackEntry]) -> Result<(), SinkError> {
        (**self).replay_batch(batch)
    }
    fn idle(&mut self) -> Result<bool, SinkError> {
        (**self).idle()
    }
    fn ref_form(&self) -> StoreRefForm {
        (**self).ref_form()
    }
}

/// Why a sink could not write a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError {
    /// What went wrong.
    pub message: String,
    /// True when trying again later may succeed (a locked database, a 429 or 5xx, a
    /// connection error).
    pub retryable: bool,
}

impl SinkError {
    /// An error worth retrying.
    pub fn retryable(message: impl Into<String>) -> SinkError {
        SinkError { message: message.into(), retryable: true }
    }

    /// An error that retrying will not fix.
    pub fn permanent(message: impl Into<String>) -> SinkError {
        SinkError { message: message.into(), retryable: false }
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if self.retryable {
            f.write_str(" (retryable)")?;
        }
        Ok(())
    }
}

impl std::error::Error for SinkError {}

/// A sink that counts items and drops them: measures the exporter without any I/O.
#[derive(Debug, Default)]
pub struct DiscardSink {
    written: Arc<AtomicU64>,
    encoder: Option<WireEncoder>,
    buffer: Vec<u8>,
}

impl DiscardSink {
    /// A sink that only counts.
    pub fn new() -> DiscardSink {
        DiscardSink::default()
    }

    /// A sink that encodes every call as wire JSON for `project_id` (into a reused
    /// buffer), then drops it: measures the encoding cost too.
    pub fn encoding(project_id: impl Into<String>) -> DiscardSink {
        DiscardSink { encoder: Some(WireEncoder::new(project_id)), ..DiscardSink::default() }
    }

    /// The number of items written so far (shared; readable while the exporter runs).
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.written.clone()
    }
}

impl Sink for DiscardSink {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        if let Some(encoder) = &mut self.encoder {
            for record in batch.iter().filter_map(record_of) {
                self.buffer.clear();
                encoder.encode(record, &mut self.buffer);
            }
        }
        self.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn describe(&self) -> String {
        "nowhere (discard sink)".to_string()
    }

    fn project_id(&self) -> Option<&str> {
        self.encoder.as_ref().map(WireEncoder::project_id)
    }

    fn replay_batch(&mut self, batch: &[FallbackEntry]) -> Result<(), SinkError> {
        self.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// One item kept by a [`MemorySink`].
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryItem {
    /// How the item reached the sink.
    pub kind: ItemKind,
    /// The call in Weave's wire form.
    pub call: Value,
}

/// A sink that keeps every call as wire JSON in memory; read it through the
/// [`MemoryHandle`] from [`MemorySink::handle`].
///
/// ```
/// use weave_exporter::{MemorySink, Sink};
/// let mut sink = MemorySink::new("entity/project");
/// let handle = sink.handle();
/// sink.write_batch(&[]).unwrap();
/// assert!(handle.is_empty());
/// ```
#[derive(Debug)]
pub struct MemorySink {
    project_id: String,
    items: MemoryHandle,
}

impl MemorySink {
    /// An empty sink writing calls for `project_id` (`entity/project`).
    pub fn new(project_id: impl Into<String>) -> MemorySink {
        MemorySink { project_id: project_id.into(), items: MemoryHandle::default() }
    }

    /// A handle on what the sink received, usable after the sink moved to the exporter.
    pub fn handle(&self) -> MemoryHandle {
        self.items.clone()
    }
}

impl Sink for MemorySink {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        let mut converted = Vec::with_capacity(batch.len());
        for item in batch {
            let (Some(kind), Some(record)) = (ItemKind::of(item), record_of(item)) else { continue };
            let call = serde_json::to_value(record.wire(&self.project_id))
                .map_err(|e| SinkError::permanent(format!("could not encode a call: {e}")))?;
            converted.push(MemoryItem { kind, call });
        }
        self.items.0.lock().extend(converted);
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".to_string()
    }

    fn project_id(&self) -> Option<&str> {
        Some(&self.project_id)
    }

    fn replay_batch(&mut self, batch: &[FallbackEntry]) -> Result<(), SinkError> {
        let mut items = self.items.0.lock();
        items.extend(
            batch.iter().filter(|e| e.kind.is_call()).map(|e| MemoryItem { kind: e.kind, call: e.item.clone() }),
        );
        Ok(())
    }
}

/// Shared view of what a [`MemorySink`] received.
#[derive(Debug, Clone, Default)]
pub struct MemoryHandle(Arc<Mutex<Vec<MemoryItem>>>);

impl MemoryHandle {
    /// Every item received, in order.
    pub fn items(&self) -> Vec<MemoryItem> {
        self.0.lock().clone()
    }

    /// The wire JSON of every item received, in order.
    pub fn calls(&self) -> Vec<Value> {
        self.0.lock().iter().map(|i| i.call.clone()).collect()
    }

    /// The wire JSON of the items of one kind, in order.
    pub fn calls_of_kind(&self, kind: ItemKind) -> Vec<Value> {
        self.0.lock().iter().filter(|i| i.kind == kind).map(|i| i.call.clone()).collect()
    }

    /// The number of items received.
    pub fn len(&self) -> usize {
        self.0.lock().len()
    }

    /// True when nothing was received.
    pub fn is_empty(&self) -> bool {
        self.0.lock().is_empty()
    }

    /// Forgets what was received.
    pub fn clear(&self) {
        self.0.lock().clear();
    }

    /// The shared vector itself.
    pub fn shared(&self) -> Arc<Mutex<Vec<MemoryItem>>> {
        self.0.clone()
    }
}
