//! The background worker: one thread that takes items off the queue, gathers them into
//! batches, writes each batch to the sink (retrying retryable errors with jittered
//! exponential backoff, spilling the batch to the fallback file after that), and answers
//! flush and shutdown markers once everything queued before them is written.
//!
//! Batching: block for the first item, then take what is queued up to the item and byte
//! limits; if the batch is not full, wait for more until `max_batch_delay` after the
//! first item. A flush or shutdown marker ends the batch at once.

use crate::config::ExporterConfig;
use crate::fallback::reason;
use crate::item::estimated_bytes;
use crate::sink::{Sink, SinkError};
use crate::spill::Spill;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use parking_lot::Mutex;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weave_core::export::ExportItem;

/// What travels through the queue.
pub(crate) enum Msg {
    /// An item to write.
    Item(ExportItem),
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
    pub(crate) spill: Spill,
    /// Set when a shutdown starts: retries that would end after it are given up.
    pub(crate) shutdown_deadline: Mutex<Option<Instant>>,
    failed_batches: AtomicU64,
}

impl Shared {
    pub(crate) fn new(config: ExporterConfig, project_id: String) -> Shared {
        let spill = Spill::new(&config, project_id);
        Shared {
            config,
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            written: AtomicU64::new(0),
            spill,
            shutdown_deadline: Mutex::new(None),
            failed_batches: AtomicU64::new(0),
        }
    }
}

/// The worker's state; runs on the `weave-exporter` thread.
pub(crate) struct Worker {
    pub(crate) sink: Box<dyn Sink>,
    pub(crate) rx: Receiver<Msg>,
    pub(crate) shared: Arc<Shared>,
}

impl Worker {
    /// Runs until a shutdown marker arrives or every sender is gone.
    pub(crate) fn run(mut self) {
        let config = self.shared.config.clone();
        let max_items = config.max_batch_items.max(1);
        let max_bytes = config.max_batch_bytes.max(1);
        let mut batch: Vec<ExportItem> = Vec::with_capacity(max_items.min(4096));
        let mut carry: Option<(ExportItem, usize)> = None;
        loop {
            // The first item of a batch: one carried over from the last batch, or wait.
            let (first, first_bytes) = match carry.take() {
                Some(carried) => carried,
                None => match self.rx.recv() {
                    Ok(Msg::Item(item)) => {
                        let bytes = estimated_bytes(&item);
                        (item, bytes)
                    }
                    Ok(Msg::Flush(reply)) => {
                        self.flush(reply);
                        continue;
                    }
                    Ok(Msg::Shutdown(reply)) => return self.stop(reply),
                    Err(_) => return self.stop_disconnected(),
                },
            };
            batch.push(first);
            let mut bytes = first_bytes;
            let fill_until = Instant::now().checked_add(config.max_batch_delay);
            let mut control = None;
            while batch.len() < max_items && bytes < max_bytes {
                let msg = match self.rx.try_recv() {
                    Ok(msg) => msg,
                    Err(TryRecvError::Disconnected) => break,
                    Err(TryRecvError::Empty) => {
                        let Some(until) = fill_until.filter(|u| *u > Instant::now()) else { break };
                        match self.rx.recv_deadline(until) {
                            Ok(msg) => msg,
                            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                        }
                    }
                };
                match msg {
                    Msg::Item(item) => {
                        let item_bytes = estimated_bytes(&item);
                        if bytes + item_bytes > max_bytes {
                            carry = Some((item, item_bytes));
                            break;
                        }
                        bytes += item_bytes;
                        batch.push(item);
                    }
                    other => {
                        control = Some(other);
                        break;
                    }
                }
            }
            self.write(&mut batch);
            // Items the application dropped meanwhile reach the file within a batch.
            self.shared.spill.flush();
            match control {
                Some(Msg::Flush(reply)) => self.flush(reply),
                Some(Msg::Shutdown(reply)) => return self.stop(reply),
                Some(Msg::Item(_)) | None => {}
            }
        }
    }

    /// Writes one batch, retrying retryable errors, then spilling it.
    fn write(&mut self, batch: &mut Vec<ExportItem>) {
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
            let result = catch_unwind(AssertUnwindSafe(|| self.sink.write_batch(batch))).unwrap_or_else(|panic| {
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
        batch.clear();
    }

    fn fail(&self, batch: &[ExportItem], error: &SinkError) {
        self.shared.failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.shared.spill.write(&format!("{}: {}", reason::SINK_ERROR, error.message), batch);
        let n = self.shared.failed_batches.fetch_add(1, Ordering::Relaxed) + 1;
        if n == 1 || n % 100 == 0 {
            eprintln!(
                "weave: could not write {} calls to {}: {}; they were {} (failed batches so far: {n})",
                batch.len(),
                self.sink.describe(),
                error,
                self.shared.spill.destination()
            );
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
            eprintln!("weave: could not flush {}: {e}", self.sink.describe());
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
