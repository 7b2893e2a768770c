//! [`QueueExporter`]: the runtime's handle to the way out. `export` puts an item on a
//! bounded queue without ever blocking (a full queue drops the item, counts it, and writes
//! it to the fallback file); one background thread, `weave-exporter`, writes batches to a
//! [`Sink`]. `flush` and `shutdown` wait on a reply channel with a timeout, so they work
//! from any thread, inside a tokio runtime too.
//!
//! Finished calls first gather in a small buffer of the thread that made them
//! ([`crate::thread_buffer`]) and reach the queue a batch at a time; other items (eager
//! call starts, objects, feedback) go to the queue at once, behind what their thread
//! buffers. So each thread's items reach the sink in the order it exported them, and a
//! call's eager start always arrives before its end.

use crate::config::ExporterConfig;
use crate::fallback::{reason, Origin};
use crate::sink::Sink;
use crate::thread_buffer::Pushed;
use crate::warnings::{dropped_calls_summary, failed_calls_summary, worth_a_warning, NotWritten};
use crate::worker::{Msg, Shared, Worker};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use weave_core::export::{ExportItem, Exporter, FlushReport};
use weave_core::store_ref_form::StoreRefForm;

/// How long, at most, a shutdown that ran out of time waits on for the worker to set aside
/// the batch it was writing (its sink gives up at the deadline), so that the report counts
/// it; never longer than the shutdown's own timeout.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// A bounded queue in front of one background worker writing batches to a [`Sink`].
///
/// Dropping it shuts it down (waiting at most [`ExporterConfig::flush_timeout`]).
///
/// ```
/// use std::time::Duration;
/// use weave_core::export::Exporter;
/// use weave_exporter::{ExporterConfig, MemorySink, QueueExporter};
///
/// let sink = MemorySink::new("entity/project");
/// let calls = sink.handle();
/// let exporter = QueueExporter::start(Box::new(sink), ExporterConfig::default());
/// // exporter.export(item) for each call...
/// let report = exporter.shutdown(Duration::from_secs(5));
/// assert!(report.completed);
/// assert!(calls.is_empty());
/// ```
pub struct QueueExporter {
    tx: Sender<Msg>,
    /// A second receiver, to take back what is still queued when a shutdown times out
    /// or an item slips in after the worker stopped.
    rx: Receiver<Msg>,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
    worker_gone: AtomicBool,
    supports_call_start: bool,
    ref_form: StoreRefForm,
    description: String,
    /// The process that started the exporter. In a process forked from it, the worker and
    /// the spill thread are not there (a fork copies only the forking thread).
    pid: u32,
    /// Whether this process, a fork, was told its calls are not exported.
    fork_warned: AtomicBool,
}

impl std::fmt::Debug for QueueExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueExporter")
            .field("sink", &self.description)
            .field("queued", &self.queued())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .field("report", &self.report(false))
            .finish()
    }
}

impl QueueExporter {
    /// Starts the worker thread (`weave-exporter`) writing to `sink`.
    pub fn start(sink: Box<dyn Sink>, config: ExporterConfig) -> QueueExporter {
        // The bound is kept by counting items (`Shared::queued`), not by the channel, which
        // carries batches.
        let (tx, rx) = crossbeam_channel::unbounded();
        let description = sink.describe();
        let supports_call_start = sink.supports_call_start();
        let ref_form = sink.ref_form();
        let project_id = sink.project_id().unwrap_or_default().to_string();
        let shared = Arc::new(Shared::new(config, project_id));
        let worker = Worker { sink, rx: rx.clone(), shared: shared.clone() };
        let spawned = std::thread::Builder::new().name("weave-exporter".to_string()).spawn(move || worker.run());
        let exporter = QueueExporter {
            tx,
            rx,
            shared,
            worker: Mutex::new(None),
            closed: AtomicBool::new(false),
            worker_gone: AtomicBool::new(false),
            supports_call_start,
            ref_form,
            description,
            pid: std::process::id(),
            fork_warned: AtomicBool::new(false),
        };
        match spawned {
            Ok(handle) => *exporter.worker.lock() = Some(handle),
            Err(e) => {
                weave_core::warn!(
                    "weave: could not start the exporter thread ({e}); calls will be {}",
                    exporter.shared.spill.destination()
                );
                exporter.closed.store(true, Ordering::SeqCst);
                exporter.worker_gone.store(true, Ordering::SeqCst);
            }
        }
        exporter
    }

    /// Where the sink writes, in words.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// The fallback file, when the disk fallback is on.
    pub fn fallback_path(&self) -> Option<&Path> {
        self.shared.spill.path()
    }

    /// Items waiting in the queue (not counting the few that application threads still
    /// buffer).
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }

    /// The counters so far (`completed` is true).
    pub fn counters(&self) -> FlushReport {
        self.report(true)
    }

    fn report(&self, completed: bool) -> FlushReport {
        let spill = self.shared.spill.counts();
        let in_hand = self.shared.queued.load(Ordering::Acquire) + self.shared.held.load(Ordering::Acquire);
        FlushReport {
            completed,
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            lost: spill.lost.total(),
            lost_dropped: spill.lost.dropped,
            rotated_out: spill.rotated.total(),
            failed: self.shared.failed.load(Ordering::Relaxed),
            written: self.shared.written.load(Ordering::Relaxed),
            pending: in_hand as u64 + spill.backlog,
        }
    }

    /// The shutdown's warnings about what the sink did not write: where the dropped and
    /// the failed calls are (the failed ones only when some are in no file: each failed
    /// batch was warned about as it failed).
    fn warn_not_written(&self, report: &FlushReport) {
        let spill = self.shared.spill.counts();
        let fallback = self.shared.spill.path();
        let max_bytes = self.shared.spill.max_bytes();
        if report.dropped > 0 {
            let dropped = NotWritten {
                calls: report.dropped,
                lost: spill.lost.dropped,
                rotated: spill.rotated.dropped,
                fallback,
                max_bytes,
            };
            weave_core::warn!("{}", dropped_calls_summary(&dropped));
        }
        if spill.lost.failed > 0 {
            let failed = NotWritten {
                calls: report.failed,
                lost: spill.lost.failed,
                rotated: spill.rotated.failed,
                fallback,
                max_bytes,
            };
            weave_core::warn!("{}", failed_calls_summary(&failed, &self.description));
        }
    }

    /// Counts dropped items, writes them to the fallback file, warns on the 1st drop and
    /// then at 10, 100, 1000, ... drops.
    fn reject(&self, items: Vec<ExportItem>, why: &'static str) {
        if items.is_empty() {
            return;
        }
        let before = self.shared.dropped.fetch_add(items.len() as u64, Ordering::Relaxed);
        let n = before + items.len() as u64;
        if why == reason::SHUTDOWN {
            self.shared.spill.write(Origin::Dropped, why, &items);
            // No flush or worker will come along to push it to the file.
            self.shared.spill.flush();
        } else {
            self.shared.spill.write_in_background(why, items);
        }
        if worth_a_warning(before, n) {
            let cause = if why == reason::QUEUE_FULL {
                format!("the export queue is full ({} items)", self.shared.config.max_queue_size)
            } else {
                "the exporter has shut down".to_string()
            };
            weave_core::warn!(
                "weave: dropped a call because {cause}; dropped calls are {} ({n} dropped so far)",
                self.shared.spill.destination()
            );
        }
    }

    /// Hands off the batch a push filled, if it did; takes back what a shutdown that
    /// started meanwhile left behind.
    fn after_push(&self, pushed: Pushed) {
        if let Pushed::HandOff(items) = pushed {
            self.hand_off(items);
        }
        // A shutdown started while the item went into this thread's buffer, maybe after
        // its sweep took the buffers: take the item back (the buffer's lock orders the two).
        if self.closed.load(Ordering::SeqCst) {
            let own = self.shared.buffers.take_own();
            self.reject(own, reason::SHUTDOWN);
        }
    }

    /// Waits until the worker holds no items (each written or set aside), at most `grace`.
    fn await_worker_hands(&self, grace: Duration) {
        let until = Instant::now() + grace;
        while self.shared.held.load(Ordering::Acquire) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Puts a batch on the queue, or drops it if the queue has no room for it.
    fn hand_off(&self, items: Vec<ExportItem>) {
        let n = items.len();
        let bound = self.shared.config.max_queue_size;
        let before = self.shared.queued.fetch_add(n, Ordering::AcqRel);
        if bound != 0 && before + n > bound {
            self.shared.queued.fetch_sub(n, Ordering::AcqRel);
            return self.reject(items, reason::QUEUE_FULL);
        }
        match self.tx.send(Msg::Batch(items)) {
            Ok(()) => {
                // A shutdown finished between the check in `export` and the send: nobody
                // will read the queue any more, so take the items back.
                if self.worker_gone.load(Ordering::SeqCst) {
                    self.drain_leftovers();
                }
            }
            Err(crossbeam_channel::SendError(msg)) => {
                if let Msg::Batch(items) = msg {
                    self.shared.queued.fetch_sub(items.len(), Ordering::AcqRel);
                    self.reject(items, reason::SHUTDOWN);
                }
            }
        }
    }

    /// Hands every thread's buffered items to the queue (before a flush or shutdown marker).
    fn sweep_threads(&self) {
        self.shared.buffers.sweep(|items| self.hand_off(items));
    }

    /// Takes back what is still queued or buffered (the worker is gone or out of time) and
    /// spills it.
    fn drain_leftovers(&self) {
        let mut spilled = Vec::new();
        self.shared.buffers.sweep(|items| spilled.extend(items));
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Msg::Batch(items) => {
                    self.shared.queued.fetch_sub(items.len(), Ordering::AcqRel);
                    spilled.extend(items);
                }
                // Dropping the reply tells a waiting flush that it did not complete.
                Msg::Flush(_) | Msg::Shutdown(_) => {}
            }
        }
        if !spilled.is_empty() {
            self.shared.dropped.fetch_add(spilled.len() as u64, Ordering::Relaxed);
            self.shared.spill.write(Origin::Dropped, reason::SHUTDOWN, &spilled);
        }
        self.shared.spill.flush();
    }

    /// True in a process forked from the one that started the exporter: its worker and
    /// spill thread stayed there, so nothing here would answer a flush, and what the queue
    /// held at the fork is the parent's to write (written here too, it would be twice in
    /// the project). Says once that this process's calls are not exported.
    fn in_forked_child(&self) -> bool {
        if std::process::id() == self.pid {
            return false;
        }
        if !self.fork_warned.swap(true, Ordering::Relaxed) {
            weave_core::warn!(
                "weave: this process was forked from the one that started weave (pid {}), where the exporter's \
                 threads stayed; the calls made here are not written to {}",
                self.pid,
                self.description
            );
        }
        true
    }

    /// Sends a marker and waits for its reply, both before `deadline`.
    fn round_trip(&self, make: impl FnOnce(Sender<()>) -> Msg, deadline: Option<Instant>) -> bool {
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
        let msg = make(reply_tx);
        let sent = match deadline {
            Some(d) => self.tx.send_deadline(msg, d).is_ok(),
            None => self.tx.send(msg).is_ok(),
        };
        sent && match deadline {
            Some(d) => reply_rx.recv_deadline(d).is_ok(),
            None => reply_rx.recv().is_ok(),
        }
    }
}

impl Exporter for QueueExporter {
    fn export(&self, item: ExportItem) {
        if self.closed.load(Ordering::SeqCst) {
            self.reject(vec![item], reason::SHUTDOWN);
            return;
        }
        if !matches!(item, ExportItem::CallFinished(_)) {
            // Rarer items go at once, after what this thread buffers: each thread's items
            // reach the sink in the order it exported them.
            let mut items = self.shared.buffers.take_own();
            items.push(item);
            return self.hand_off(items);
        }
        let pushed = self.shared.buffers.push(item);
        self.after_push(pushed);
    }

    fn flush(&self, timeout: Duration) -> FlushReport {
        if self.in_forked_child() {
            return self.report(false);
        }
        if self.closed.load(Ordering::SeqCst) {
            self.shared.spill.flush();
            return self.report(self.worker_gone.load(Ordering::SeqCst) && self.tx.is_empty());
        }
        self.sweep_threads();
        let deadline = Instant::now().checked_add(timeout);
        let completed = self.round_trip(Msg::Flush, deadline);
        let spilled = self.shared.spill.drain(deadline);
        self.report(completed && spilled)
    }

    fn shutdown(&self, timeout: Duration) -> FlushReport {
        if self.in_forked_child() {
            self.closed.store(true, Ordering::SeqCst);
            return self.report(false);
        }
        if self.closed.swap(true, Ordering::SeqCst) {
            self.shared.spill.flush();
            return self.report(self.worker_gone.load(Ordering::SeqCst));
        }
        let deadline = Instant::now().checked_add(timeout);
        *self.shared.shutdown_deadline.lock() = deadline;
        self.sweep_threads();
        let completed = self.round_trip(Msg::Shutdown, deadline);
        if completed {
            if let Some(handle) = self.worker.lock().take() {
                // The worker has replied and is returning: this join is immediate.
                let _ = handle.join();
            }
            self.worker_gone.store(true, Ordering::SeqCst);
        }
        // Items that raced with the shutdown, or everything still queued if it timed out.
        self.drain_leftovers();
        if !completed {
            // The batch the worker was writing when time ran out: the sink gives it up at
            // the deadline and the worker sets it aside; wait (briefly) for that, so the
            // report counts it as failed rather than as nothing.
            self.await_worker_hands(timeout.min(SHUTDOWN_GRACE));
        }
        // What the spill thread holds goes to the local disk: waited for without a deadline
        // (it is bounded, and nothing else would save it).
        self.shared.spill.stop(None);
        let report = self.report(completed);
        self.warn_not_written(&report);
        if !completed {
            weave_core::warn!(
                "weave: the exporter did not finish writing to {} within {:.1} s; what was still queued was {}",
                self.description,
                timeout.as_secs_f64(),
                self.shared.spill.destination()
            );
        }
        report
    }

    fn supports_call_start(&self) -> bool {
        self.supports_call_start
    }

    fn ref_form(&self) -> StoreRefForm {
        self.ref_form.clone()
    }
}

impl Drop for QueueExporter {
    fn drop(&mut self) {
        let timeout = self.shared.config.flush_timeout;
        self.shutdown(timeout);
    }
}
