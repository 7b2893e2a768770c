//! The background worker: one thread that takes items off the queue, gathers them into
//! batches, writes each batch to the sink (retrying retryable errors with jittered
//! exponential backoff, spilling the batch to the fallback file after that), and answers
//! flush and shutdown markers once everything queued before them is written.
//!
//! Batching: items arrive in batches (a thread's full buffer, see
//! [`crate::thread_buffer`]) or alone; the worker also sweeps the threads' buffers every
//! `max_batch_delay`. Once it has an item it takes what is queued up to the item and byte
//! limits; if the batch is not full, it waits for more until `max_batch_delay` after the
//! first item. A flush or shutdown marker ends the batch at once.
//!
//! Idle: once nothing has arrived for `max_batch_delay`, the worker lets the sink do its
//! background upkeep ([`Sink::idle`]), one short step at a time, checking the queue (and
//! sweeping the threads' buffers) between steps.

use crate::config::ExporterConfig;
use crate::fallback::{reason, Origin};
use crate::item::estimated_bytes;
use crate::sink::{Sink, SinkError};
use crate::spill::Spill;
use crate::thread_buffer::ThreadBuffers;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use parking_lot::Mutex;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weave_core::export::ExportItem;

/// The shortest interval between two sweeps of the threads' buffers.
const MIN_SWEEP_INTERVAL: Duration = Duration::from_millis(1);

/// What travels through the queue.
pub(crate) enum Msg {
    /// Items to write (counted in [`Shared::queued`] until the worker takes them).
    Batch(Vec<ExportItem>),
    /// Reply once everything queued before this marker is written.
    Flush(Sender<()>),
    /// Write everything queued before this marker, reply, and stop.
    Shutdown(Sender<()>),
}

/// State shared by the exporter handle and its worker.
pub(crate) struct Shared {
    pub(crate) config: ExporterConfig,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) written: AtomicU64,
    /// Items handed to the queue and not yet taken by the worker (the queue's bound
    /// applies to this count).
    pub(crate) queued: AtomicUsize,
    /// Items the worker has taken (off the queue or out of the threads' buffers) and not
    /// yet written or set aside: a shutdown that runs out of time waits briefly for these,
    /// so that its report counts them.
    pub(crate) held: AtomicUsize,
    /// The application threads' buffers.
    pub(crate) buffers: ThreadBuffers,
    pub(crate) spill: Spill,
    /// Set when a shutdown starts: retries that would end after it are given up.
    pub(crate) shutdown_deadline: Mutex<Option<Instant>>,
    failed_batches: AtomicU64,
    failed_upkeep: AtomicU64,
}

impl Shared {
    pub(crate) fn new(config: ExporterConfig, project_id: String) -> Shared {
        let spill = Spill::new(&config, project_id);
        let buffers = ThreadBuffers::for_config(&config);
        Shared {
            config,
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            written: AtomicU64::new(0),
            queued: AtomicUsize::new(0),
            held: AtomicUsize::new(0),
            buffers,
            spill,
            shutdown_deadline: Mutex::new(None),
            failed_batches: AtomicU64::new(0),
            failed_upkeep: AtomicU64::new(0),
        }
    }
}

/// The worker's state; runs on the `weave-exporter` thread.
pub(crate) struct Worker {
    pub(crate) sink: Box<dyn Sink>,
    pub(crate) rx: Receiver<Msg>,
    pub(crate) shared: Arc<Shared>,
}

/// Items taken off the queue and not yet written, with their estimated sizes.
///
/// The items stay where they land: batches are written as slices of `items`, which is
/// emptied once all are written. (Moved one at a time into a queue and again into a
/// batch, each item, a few hundred bytes, was copied six times: a quarter of the
/// worker's time.)
#[derive(Default)]
struct Pending {
    items: Vec<ExportItem>,
    /// `sizes[i]` is the estimated size of `items[i]`.
    sizes: Vec<usize>,
    bytes: usize,
}

impl Pending {
    /// Takes the items out of `items` (one copy of them all), leaving it empty (for reuse).
    fn extend(&mut self, items: &mut Vec<ExportItem>) {
        for item in items.iter() {
            let bytes = estimated_bytes(item);
            self.bytes += bytes;
            self.sizes.push(bytes);
        }
        self.items.append(items);
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// True when it holds at least one batch.
    fn holds_a_batch(&self, config: &ExporterConfig) -> bool {
        self.items.len() >= config.max_batch_items.max(1) || self.bytes >= config.max_batch_bytes.max(1)
    }
}

/// A flush or shutdown marker.
enum Control {
    Flush(Sender<()>),
    Shutdown(Sender<()>),
}

impl Worker {
    /// Runs until a shutdown marker arrives or every sender is gone.
    pub(crate) fn run(mut self) {
        let config = self.shared.config.clone();
        let sweep_every = config.max_batch_delay.max(MIN_SWEEP_INTERVAL);
        let mut pending = Pending::default();
        let mut last_sweep = Instant::now();
        // When the worker last had something to do, and whether the sink has more upkeep.
        let mut busy_at = Instant::now();
        let mut more_upkeep = false;
        loop {
            if last_sweep.elapsed() >= sweep_every {
                self.sweep(&mut pending);
                last_sweep = Instant::now();
            }
            let control = if pending.is_empty() {
                // Wait for the first item, or the next sweep (or, with upkeep to do, only
                // look).
                let wait = if more_upkeep { Duration::ZERO } else { sweep_every.saturating_sub(last_sweep.elapsed()) };
                match self.rx.recv_timeout(wait) {
                    // Give a batch that came alone the chance to fill up.
                    Ok(msg) => self
                        .accept(msg, &mut pending)
                        .or_else(|| self.fill(&mut pending, Instant::now().checked_add(config.max_batch_delay))),
                    Err(RecvTimeoutError::Timeout) => {
                        self.sweep(&mut pending);
                        last_sweep = Instant::now();
                        more_upkeep = pending.is_empty() && busy_at.elapsed() >= config.max_batch_delay && self.idle();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        self.sweep(&mut pending);
                        self.write_all(&mut pending);
                        return self.stop_disconnected();
                    }
                }
            } else {
                self.fill(&mut pending, None)
            };
            self.write_all(&mut pending);
            busy_at = Instant::now();
            more_upkeep = false;
            // Items the application dropped meanwhile reach the file within a batch.
            self.shared.spill.flush();
            match control {
                Some(Control::Flush(reply)) => self.flush(reply),
                Some(Control::Shutdown(reply)) => return self.stop(reply),
                None => {}
            }
        }
    }

    /// Takes a message off the queue: items go to `pending`, a marker is returned.
    fn accept(&self, msg: Msg, pending: &mut Pending) -> Option<Control> {
        match msg {
            Msg::Batch(mut items) => {
                // Counted as held before it stops counting as queued: never neither.
                self.shared.held.fetch_add(items.len(), Ordering::AcqRel);
                self.shared.queued.fetch_sub(items.len(), Ordering::AcqRel);
                pending.extend(&mut items);
                self.shared.buffers.recycle(items);
                None
            }
            Msg::Flush(reply) => Some(Control::Flush(reply)),
            Msg::Shutdown(reply) => Some(Control::Shutdown(reply)),
        }
    }

    /// Takes what is queued into `pending` until it holds a batch or a marker comes; with
    /// `until`, waits for more until then.
    fn fill(&self, pending: &mut Pending, until: Option<Instant>) -> Option<Control> {
        while !pending.holds_a_batch(&self.shared.config) {
            let msg = match self.rx.try_recv() {
                Ok(msg) => msg,
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {
                    let until = until.filter(|u| *u > Instant::now())?;
                    match self.rx.recv_deadline(until) {
                        Ok(msg) => msg,
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
                    }
                }
            };
            if let Some(control) = self.accept(msg, pending) {
                return Some(control);
            }
        }
        None
    }

    /// Takes what the application threads buffer.
    fn sweep(&self, pending: &mut Pending) {
        self.shared.buffers.sweep(|mut items| {
            self.shared.held.fetch_add(items.len(), Ordering::AcqRel);
            pending.extend(&mut items);
        });
    }

    /// Writes everything pending, in batches within the item and byte limits (each at least
    /// one item).
    fn write_all(&mut self, pending: &mut Pending) {
        let max_items = self.shared.config.max_batch_items.max(1);
        let max_bytes = self.shared.config.max_batch_bytes.max(1);
        let mut start = 0;
        while start < pending.items.len() {
            let mut end = start + 1;
            let mut bytes = pending.sizes[start];
            while end < pending.items.len() && end - start < max_items && bytes + pending.sizes[end] <= max_bytes {
                bytes += pending.sizes[end];
                end += 1;
            }
            // What waits behind this batch: the rest of `pending` and what is queued.
            let waiting = pending.items.len() - end + self.shared.queued.load(Ordering::Acquire);
            self.write(&pending.items[start..end], waiting);
            start = end;
        }
        crate::item::recycle_records(&mut pending.items);
        pending.sizes.clear();
        pending.bytes = 0;
    }

    /// Writes one batch, retrying retryable errors, then spilling it. `waiting` is the
    /// number of items behind it, told to the sink first.
    fn write(&mut self, batch: &[ExportItem], waiting: usize) {
        if batch.is_empty() {
            return;
        }
        let config = &self.shared.config;
        let mut attempt: u32 = 0;
        loop {
            let deadline = *self.shared.shutdown_deadline.lock();
            if deadline.is_some() {
                self.sink.set_deadline(deadline);
            }
            let result = catch_unwind(AssertUnwindSafe(|| {
                self.sink.set_waiting_items(waiting);
                self.sink.write_batch(batch)
            }))
            .unwrap_or_else(|panic| {
                Err(SinkError::permanent(format!("the sink panicked: {}", weave_core::payload_message(&*panic))))
            });
            match result {
                Ok(()) => {
                    let rejected = self.sink.take_rejected();
                    self.shared
                        .written
                        .fetch_add((batch.len() - rejected.len().min(batch.len())) as u64, Ordering::Relaxed);
                    for (index, error) in rejected {
                        if let Some(item) = batch.get(index) {
                            self.fail(std::slice::from_ref(item), &error);
                        }
                    }
                    break;
                }
                Err(e) if e.retryable && attempt < config.max_retries => {
                    let wait = backoff(config, attempt);
                    let deadline = *self.shared.shutdown_deadline.lock();
                    if deadline.is_some_and(|d| Instant::now() + wait >= d) {
                        self.fail(
                            batch,
                            &SinkError {
                                message: format!("{} (no time left to retry before shutdown)", e.message),
                                retryable: true,
                            },
                        );
                        break;
                    }
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                Err(e) => {
                    self.fail(batch, &e);
                    break;
                }
            }
        }
        // Written or set aside (and counted so): no longer held.
        self.shared.held.fetch_sub(batch.len(), Ordering::AcqRel);
    }

    fn fail(&self, batch: &[ExportItem], error: &SinkError) {
        self.shared.failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.shared.spill.write(Origin::Failed, &format!("{}: {}", reason::SINK_ERROR, error.message), batch);
        let n = self.shared.failed_batches.fetch_add(1, Ordering::Relaxed) + 1;
        if n == 1 || n.is_multiple_of(100) {
            weave_core::warn!(
                "weave: could not write {} calls to {}: {}; they were {} (failed batches so far: {n})",
                batch.len(),
                self.sink.describe(),
                error,
                self.shared.spill.destination()
            );
        }
    }

    /// One step of the sink's upkeep; true when it has more to do.
    fn idle(&mut self) -> bool {
        let result = catch_unwind(AssertUnwindSafe(|| self.sink.idle()))
            .unwrap_or_else(|_| Err(SinkError::permanent("the sink panicked during its idle upkeep")));
        match result {
            Ok(more) => more,
            Err(e) => {
                let n = self.shared.failed_upkeep.fetch_add(1, Ordering::Relaxed) + 1;
                if n == 1 || n.is_multiple_of(100) {
                    weave_core::warn!(
                        "weave: background upkeep of {} failed: {e} (failures so far: {n})",
                        self.sink.describe()
                    );
                }
                // Try again after the next idle delay, not at once.
                false
            }
        }
    }

    fn flush(&mut self, reply: Sender<()>) {
        self.flush_sink();
        self.shared.spill.flush();
        let _ = reply.send(());
    }

    fn flush_sink(&mut self) {
        let result = catch_unwind(AssertUnwindSafe(|| self.sink.flush()))
            .unwrap_or_else(|_| Err(SinkError::permanent("the sink panicked while flushing")));
        if let Err(e) = result {
            weave_core::warn!("weave: could not flush {}: {e}", self.sink.describe());
        }
    }

    fn stop(mut self, reply: Sender<()>) {
        self.flush_sink();
        self.shared.spill.flush();
        // Close the sink (e.g. the database connection) before answering.
        drop(self.sink);
        let _ = reply.send(());
    }

    fn stop_disconnected(mut self) {
        self.flush_sink();
        self.shared.spill.flush();
    }
}

/// `initial * 2^attempt`, capped, times a jitter in `[0.75, 1]`.
fn backoff(config: &ExporterConfig, attempt: u32) -> Duration {
    let base = config.retry_initial_backoff.saturating_mul(1u32 << attempt.min(20)).min(config.retry_max_backoff);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(attempt);
    let jitter = 0.75 + 0.25 * (hasher.finish() % 1024) as f64 / 1023.0;
    base.mul_f64(jitter)
}
