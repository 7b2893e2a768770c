//! [`QueueExporter`]: the runtime's handle to the way out. `export` puts an item on a
//! bounded queue without ever blocking (a full queue drops the item, counts it, and writes
//! it to the fallback file); one background thread, `weave-exporter`, writes batches to a
//! [`Sink`]. `flush` and `shutdown` wait on a reply channel with a timeout, so they work
//! from any thread, inside a tokio runtime too.

use crate::config::ExporterConfig;
use crate::fallback::reason;
use crate::sink::Sink;
use crate::worker::{Msg, Shared, Worker};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use parking_lot::Mutex;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use weave_core::export::{ExportItem, Exporter, FlushReport};

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
    description: String,
}

impl std::fmt::Debug for QueueExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueExporter")
            .field("sink", &self.description)
            .field("queued", &self.tx.len())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .field("report", &self.report(false))
            .finish()
    }
}

impl QueueExporter {
    /// Starts the worker thread (`weave-exporter`) writing to `sink`.
    pub fn start(sink: Box<dyn Sink>, config: ExporterConfig) -> QueueExporter {
        let (tx, rx) = match config.max_queue_size {
            0 => crossbeam_channel::unbounded(),
            n => crossbeam_channel::bounded(n),
        };
        let description = sink.describe();
        let supports_call_start = sink.supports_call_start();
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
            description,
        };
        match spawned {
            Ok(handle) => *exporter.worker.lock() = Some(handle),
            Err(e) => {
                eprintln!(
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

    /// Items waiting in the queue.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    /// The counters so far (`completed` is true).
    pub fn counters(&self) -> FlushReport {
        self.report(true)
    }

    fn report(&self, completed: bool) -> FlushReport {
        FlushReport {
            completed,
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
            written: self.shared.written.load(Ordering::Relaxed),
        }
    }

    /// Counts a dropped item, writes it to the fallback file, warns on the 1st and every
    /// 1000th drop.
    fn reject(&self, item: &ExportItem, why: &str) {
        let n = self.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        self.shared.spill.write(why, [item]);
        if why == reason::SHUTDOWN {
            // No flush or worker will come along to push it to the file.
            self.shared.spill.flush();
        }
        if n == 1 || n % 1000 == 0 {
            let cause = if why == reason::QUEUE_FULL {
                format!("the export queue is full ({} items)", self.shared.config.max_queue_size)
            } else {
                "the exporter has shut down".to_string()
            };
            eprintln!(
                "weave: dropped a call because {cause}; it was {} ({n} dropped so far)",
                self.shared.spill.destination()
            );
        }
    }

    /// Takes back what is still queued (the worker is gone or out of time) and spills it.
    fn drain_leftovers(&self) {
        let mut spilled = Vec::new();
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Msg::Item(item) => spilled.push(item),
                // Dropping the reply tells a waiting flush that it did not complete.
                Msg::Flush(_) | Msg::Shutdown(_) => {}
            }
        }
        if !spilled.is_empty() {
            self.shared.dropped.fetch_add(spilled.len() as u64, Ordering::Relaxed);
            self.shared.spill.write(reason::SHUTDOWN, &spilled);
        }
        self.shared.spill.flush();
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
            self.reject(&item, reason::SHUTDOWN);
            return;
        }
        match self.tx.try_send(Msg::Item(item)) {
            Ok(()) => {
                // A shutdown finished between the check above and the send: nobody will
                // read the queue any more, so take the item back.
                if self.worker_gone.load(Ordering::SeqCst) {
                    self.drain_leftovers();
                }
            }
            Err(TrySendError::Full(Msg::Item(item)) | TrySendError::Disconnected(Msg::Item(item))) => {
                self.reject(&item, reason::QUEUE_FULL);
            }
            Err(_) => {}
        }
    }

    fn flush(&self, timeout: Duration) -> FlushReport {
        if self.closed.load(Ordering::SeqCst) {
            self.shared.spill.flush();
            return self.report(self.worker_gone.load(Ordering::SeqCst) && self.tx.is_empty());
        }
        let completed = self.round_trip(Msg::Flush, Instant::now().checked_add(timeout));
        self.shared.spill.flush();
        self.report(completed)
    }

    fn shutdown(&self, timeout: Duration) -> FlushReport {
        if self.closed.swap(true, Ordering::SeqCst) {
            self.shared.spill.flush();
            return self.report(self.worker_gone.load(Ordering::SeqCst));
        }
        let deadline = Instant::now().checked_add(timeout);
        *self.shared.shutdown_deadline.lock() = deadline;
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
        let report = self.report(completed);
        if report.dropped > 0 {
            eprintln!(
                "weave: {} calls were dropped (queue full or exporter shut down); they were {}",
                report.dropped,
                self.shared.spill.destination()
            );
        }
        if !completed {
            eprintln!(
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
}

impl Drop for QueueExporter {
    fn drop(&mut self) {
        let timeout = self.shared.config.flush_timeout;
        self.shutdown(timeout);
    }
}
