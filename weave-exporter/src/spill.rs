//! The exporter's use of the fallback file: items that could not be exported are encoded
//! and appended to it.
//!
//! - Calls dropped because the queue is full are handed to a background thread,
//!   `weave-spill` (started on the first drop), which encodes and appends them: the
//!   application thread that hit the full queue pays one channel send per batch, not the
//!   encoding or the `write`. The spill thread's backlog is bounded (by the queue's bound, at
//!   least 10,000 items). When it is full the disk cannot keep up with the calls; then, as
//!   a full queue does, the overflowing batch is dropped and counted as lost (with a
//!   warning at the 1st, 10th, 100th, ... lost item), so the application never waits for the
//!   disk and memory stays bounded. With
//!   [`ExporterConfig::write_inline_when_fallback_behind`] the application thread writes
//!   that batch itself instead: nothing is lost, and an application that makes calls faster
//!   than the disk takes them is slowed down to the disk's pace.
//! - Everything else (items rejected at shutdown, batches the sink failed on, which the
//!   worker spills) is written on the calling thread.
//!
//! Encoding holds the encoder's lock (it caches op refs and attributes); appending holds
//! the file's lock, which covers a copy into a 64 KiB buffer and, once per 64 KiB, one
//! `write`.
//!
//! Every item handed here ends in the file or counted as lost, by origin (dropped or
//! failed): the file's rotation tells which of its items it discarded, and those are
//! counted as lost too (and warned about), so the report's counters add up to what the
//! files hold (see [`weave_core::export::FlushReport`]).

use crate::config::ExporterConfig;
use crate::fallback::entry::FallbackEncoder;
use crate::fallback::file::{FallbackFile, Origin, Tally};
use crate::warnings::{rotation_warning, worth_a_warning};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;
use weave_core::export::ExportItem;

/// The spill thread's backlog bound for small queues (items).
const MIN_BACKLOG: usize = 10_000;

/// Writes items to the fallback file (or nowhere, when the disk fallback is off).
pub(crate) struct Spill {
    inner: Arc<Inner>,
    /// The spill thread, once started: its queue and handle.
    thread: Mutex<Option<SpillThread>>,
    /// Items handed to the spill thread and not yet written.
    backlog: Arc<AtomicUsize>,
    max_backlog: usize,
    /// When the backlog is full: write on the calling thread (else drop and count).
    write_inline_when_behind: bool,
}

struct Inner {
    file: Option<Mutex<FallbackFile>>,
    encoder: Mutex<FallbackEncoder>,
    path: PathBuf,
    max_bytes: u64,
    io_error_reported: AtomicBool,
    /// Items that are in no fallback file, by origin: the disk fallback is off, writing
    /// failed, the spill thread was too far behind, or a rotation discarded them.
    lost_dropped: AtomicU64,
    lost_failed: AtomicU64,
    /// Of those, the items a rotation discarded, by origin ...
    rotated_dropped: AtomicU64,
    rotated_failed: AtomicU64,
    /// ... and the items the spill thread was too far behind to take (for the warnings).
    behind: AtomicU64,
}

/// What the spill's counters say (see [`weave_core::export::FlushReport`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SpillCounts {
    /// Items in no fallback file, by origin.
    pub(crate) lost: Tally,
    /// Of `lost`, the items a rotation discarded, by origin.
    pub(crate) rotated: Tally,
    /// Items handed to the spill thread and not yet written.
    pub(crate) backlog: u64,
}

struct SpillThread {
    tx: Sender<Job>,
    handle: JoinHandle<()>,
}

enum Job {
    Write(&'static str, Vec<ExportItem>),
    /// Reply once everything before is in the file.
    Flush(Sender<()>),
}

impl Spill {
    pub(crate) fn new(config: &ExporterConfig, project_id: String) -> Spill {
        let file = config
            .enable_disk_fallback
            .then(|| Mutex::new(FallbackFile::new(config.fallback_path.clone(), config.fallback_max_bytes)));
        let inner = Inner {
            file,
            encoder: Mutex::new(FallbackEncoder::new(&project_id)),
            path: config.fallback_path.clone(),
            max_bytes: config.fallback_max_bytes,
            io_error_reported: AtomicBool::new(false),
            lost_dropped: AtomicU64::new(0),
            lost_failed: AtomicU64::new(0),
            rotated_dropped: AtomicU64::new(0),
            rotated_failed: AtomicU64::new(0),
            behind: AtomicU64::new(0),
        };
        Spill {
            inner: Arc::new(inner),
            thread: Mutex::new(None),
            backlog: Arc::new(AtomicUsize::new(0)),
            max_backlog: match config.max_queue_size {
                0 => usize::MAX,
                n => n.max(MIN_BACKLOG),
            },
            write_inline_when_behind: config.write_inline_when_fallback_behind,
        }
    }

    /// The fallback file, when the disk fallback is on.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.inner.file.as_ref().map(|_| self.inner.path.as_path())
    }

    /// Where spilled items go, in words (for warnings).
    pub(crate) fn destination(&self) -> String {
        match self.path() {
            Some(path) => format!("written to {}", path.display()),
            None => "not saved (WEAVE_ENABLE_DISK_FALLBACK is off)".to_string(),
        }
    }

    /// Appends items of `origin` with a reason, on this thread. Errors are reported once on
    /// stderr.
    pub(crate) fn write(&self, origin: Origin, reason: &str, items: &[ExportItem]) {
        self.inner.write(origin, reason, items);
    }

    /// The counters so far.
    pub(crate) fn counts(&self) -> SpillCounts {
        SpillCounts {
            lost: Tally {
                dropped: self.inner.lost_dropped.load(Ordering::Relaxed),
                failed: self.inner.lost_failed.load(Ordering::Relaxed),
            },
            rotated: Tally {
                dropped: self.inner.rotated_dropped.load(Ordering::Relaxed),
                failed: self.inner.rotated_failed.load(Ordering::Relaxed),
            },
            backlog: self.backlog.load(Ordering::Acquire) as u64,
        }
    }

    /// The size the fallback file rotates at.
    pub(crate) fn max_bytes(&self) -> u64 {
        self.inner.max_bytes
    }

    /// Appends dropped items with a reason on the spill thread (on this thread if it cannot
    /// be started). When its backlog is full the items are counted as lost, or, with
    /// `write_inline_when_fallback_behind`, written on this thread. Items that stay on this
    /// thread leave their records' boxes to its next calls.
    pub(crate) fn write_in_background(&self, reason: &'static str, items: Vec<ExportItem>) {
        if let Some(mut items) = self.hand_to_spill_thread(reason, items) {
            // Hot in this core's caches, unlike the spares the exporter's threads give back.
            crate::item::keep_records_here(&mut items);
        }
    }

    /// Hands the items to the spill thread, or deals with them here (written, or counted as
    /// lost): then returns them.
    fn hand_to_spill_thread(&self, reason: &'static str, items: Vec<ExportItem>) -> Option<Vec<ExportItem>> {
        if self.inner.file.is_none() {
            // Nothing to hand to a thread: counted as lost there.
            self.inner.write(Origin::Dropped, reason, &items);
            return Some(items);
        }
        let n = items.len();
        let before = self.backlog.fetch_add(n, Ordering::AcqRel);
        if before.saturating_add(n) <= self.max_backlog {
            return match self.send(Job::Write(reason, items)) {
                Ok(()) | Err(Job::Flush(_)) => None,
                // No spill thread (it could not be started): written here.
                Err(Job::Write(_, items)) => {
                    self.backlog.fetch_sub(n, Ordering::AcqRel);
                    self.inner.write(Origin::Dropped, reason, &items);
                    Some(items)
                }
            };
        }
        self.backlog.fetch_sub(n, Ordering::AcqRel);
        if self.write_inline_when_behind {
            self.inner.write(Origin::Dropped, reason, &items);
            return Some(items);
        }
        self.inner.count_lost(Origin::Dropped, n);
        let before = self.inner.behind.fetch_add(n as u64, Ordering::Relaxed);
        if worth_a_warning(before, before + n as u64) {
            weave_core::warn!(
                "weave: the fallback file {} cannot keep up with the dropped calls: {} calls were lost so far \
                 (counted in the exporter's report; set write_inline_when_fallback_behind to make the \
                 application wait for the disk instead)",
                self.inner.path.display(),
                before + n as u64
            );
        }
        Some(items)
    }

    /// Pushes buffered lines to the file (what the spill thread still has to write is not
    /// waited for; see [`Spill::drain`]).
    pub(crate) fn flush(&self) {
        self.inner.flush();
    }

    /// Waits until the spill thread has written everything handed to it (or `deadline`),
    /// then flushes the file. Returns false if the deadline came first.
    pub(crate) fn drain(&self, deadline: Option<Instant>) -> bool {
        let Some(thread) = self.thread.try_lock_for(LOCK_WAIT) else {
            // Held and never released (a forked child): nothing to wait for that can end.
            return false;
        };
        let tx = thread.as_ref().map(|t| t.tx.clone());
        drop(thread);
        let done = match tx {
            None => true,
            Some(tx) => {
                let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
                tx.send(Job::Flush(reply_tx)).is_ok()
                    && match deadline {
                        Some(d) => reply_rx.recv_deadline(d).is_ok(),
                        None => reply_rx.recv().is_ok(),
                    }
            }
        };
        self.inner.flush();
        done
    }

    /// Drains the spill thread (until `deadline`) and stops it.
    pub(crate) fn stop(&self, deadline: Option<Instant>) -> bool {
        let done = self.drain(deadline);
        if let Some(thread) = self.thread.try_lock_for(LOCK_WAIT).and_then(|mut thread| thread.take()) {
            drop(thread.tx);
            if done {
                // The thread has written everything and sees its queue closed: it returns.
                let _ = thread.handle.join();
            }
        }
        done
    }

    fn send(&self, job: Job) -> Result<(), Job> {
        let Some(mut thread) = self.thread.try_lock_for(LOCK_WAIT) else { return Err(job) };
        if thread.is_none() {
            *thread = self.start_thread();
        }
        match thread.as_ref() {
            Some(t) => t.tx.send(job).map_err(|e| e.into_inner()),
            None => Err(job),
        }
    }

    fn start_thread(&self) -> Option<SpillThread> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let inner = Arc::clone(&self.inner);
        let backlog = Arc::clone(&self.backlog);
        let spawned =
            std::thread::Builder::new().name("weave-spill".to_string()).spawn(move || run(&inner, &rx, &backlog));
        match spawned {
            Ok(handle) => Some(SpillThread { tx, handle }),
            Err(e) => {
                weave_core::warn!(
                    "weave: could not start the fallback-file thread ({e}); dropped calls are written inline"
                );
                None
            }
        }
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        self.stop(None);
    }
}

/// The spill thread: writes what it is handed until its queue closes.
fn run(inner: &Inner, rx: &Receiver<Job>, backlog: &AtomicUsize) {
    while let Ok(job) = rx.recv() {
        match job {
            Job::Write(reason, mut items) => {
                inner.write(Origin::Dropped, reason, &items);
                backlog.fetch_sub(items.len(), Ordering::AcqRel);
                // Their boxes go back to the threads that make calls (freed here, each box
                // would be freed by another thread than the one that made it).
                crate::item::recycle_records(&mut items);
                if rx.is_empty() {
                    inner.flush();
                }
            }
            Job::Flush(reply) => {
                inner.flush();
                let _ = reply.send(());
            }
        }
    }
    inner.flush();
}

/// How long the fallback file's locks are waited for at most: a batch's write takes
/// milliseconds, so only a lock that is never released (a forked child, whose parent's
/// spill thread held it at the fork) or a stuck disk makes a caller wait that long; what it
/// was to write is then counted as lost.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Inner {
    fn write(&self, origin: Origin, reason: &str, items: &[ExportItem]) {
        let Some(file) = &self.file else {
            self.count_lost(origin, items.len());
            return;
        };
        let mut lines = Vec::with_capacity(items.len() * 1024);
        let mut encoded = 0;
        {
            let Some(mut encoder) = self.encoder.try_lock_for(LOCK_WAIT) else {
                self.count_lost(origin, items.len());
                return;
            };
            for item in items {
                encoded += usize::from(encoder.encode(&mut lines, reason, item));
            }
        }
        // An item this version cannot encode has no line: in no file.
        self.count_lost(origin, items.len() - encoded);
        let Some(mut file) = file.try_lock_for(LOCK_WAIT) else {
            self.count_lost(origin, encoded);
            return;
        };
        let result = file.append(&lines, Tally::of(origin, encoded as u64));
        let discarded = file.take_discarded();
        drop(file);
        if result.is_err() {
            self.count_lost(origin, encoded);
        }
        self.count_rotated_out(discarded);
        self.report(result);
    }

    /// Counts `n` more lost items of `origin`.
    fn count_lost(&self, origin: Origin, n: usize) {
        let lost = match origin {
            Origin::Dropped => &self.lost_dropped,
            Origin::Failed => &self.lost_failed,
        };
        lost.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts the items a rotation discarded as lost, and warns (at the 1st, 10th, 100th,
    /// ... such item).
    fn count_rotated_out(&self, discarded: Tally) {
        if discarded.total() == 0 {
            return;
        }
        self.count_lost(Origin::Dropped, discarded.dropped as usize);
        self.count_lost(Origin::Failed, discarded.failed as usize);
        let before = self.rotated_dropped.fetch_add(discarded.dropped, Ordering::Relaxed)
            + self.rotated_failed.fetch_add(discarded.failed, Ordering::Relaxed);
        let total = before + discarded.total();
        if worth_a_warning(before, total) {
            weave_core::warn!("{}", rotation_warning(&self.path, self.max_bytes, discarded.total(), total));
        }
    }

    fn flush(&self) {
        if let Some(file) = &self.file {
            // Skipped when the file is held that long (by the spill thread, which flushes
            // after its own writes, or forever in a forked child).
            if let Some(mut file) = file.try_lock_for(LOCK_WAIT) {
                let result = file.flush();
                self.report(result);
            }
        }
    }

    fn report(&self, result: std::io::Result<()>) {
        if let Err(e) = result {
            if !self.io_error_reported.swap(true, Ordering::Relaxed) {
                weave_core::warn!(
                    "weave: could not write dropped items to the fallback file {}: {e}",
                    self.path.display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<ExportItem> {
        (0..n).map(|_| crate::item::test_item()).collect()
    }

    fn lines(path: &Path) -> usize {
        std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
    }

    /// A spill whose thread is stuck on the file's lock (held by the test) with a full
    /// backlog: what happens to the next batch depends on the config.
    fn with_a_stuck_spill_thread(write_inline: bool) -> (u64, usize) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fallback.jsonl");
        let config = ExporterConfig {
            fallback_path: path.clone(),
            max_queue_size: 1,
            write_inline_when_fallback_behind: write_inline,
            ..ExporterConfig::default()
        };
        let spill = Spill::new(&config, "e/p".to_string());
        let file = spill.inner.file.as_ref().expect("disk fallback on");
        let held = file.lock();
        // The spill thread takes this batch and waits for the file.
        spill.write_in_background("queue_full", items(MIN_BACKLOG));
        while spill.backlog.load(Ordering::Acquire) != MIN_BACKLOG {
            std::thread::yield_now();
        }
        if write_inline {
            // Waits for the disk: the file's lock is held.
            let done = AtomicBool::new(false);
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    spill.write_in_background("queue_full", items(5));
                    done.store(true, Ordering::Release);
                });
                std::thread::sleep(std::time::Duration::from_millis(100));
                assert!(!done.load(Ordering::Acquire), "the caller writes the batch itself, so it waits for the file");
                drop(held);
            });
        } else {
            // Returns at once (the file's lock is still held): dropped and counted.
            spill.write_in_background("queue_full", items(5));
            drop(held);
        }
        assert!(spill.drain(None));
        (spill.counts().lost.total(), lines(&path))
    }

    #[test]
    fn a_batch_the_fallback_file_cannot_keep_up_with_is_counted_as_lost_without_waiting() {
        assert_eq!(with_a_stuck_spill_thread(false), (5, MIN_BACKLOG));
    }

    #[test]
    fn with_write_inline_a_batch_the_fallback_file_is_behind_on_is_written_by_the_caller() {
        assert_eq!(with_a_stuck_spill_thread(true), (0, MIN_BACKLOG + 5));
    }

    #[test]
    fn with_the_disk_fallback_off_dropped_items_are_counted_as_lost() {
        let config = ExporterConfig { enable_disk_fallback: false, ..ExporterConfig::default() };
        let spill = Spill::new(&config, "e/p".to_string());
        spill.write_in_background("queue_full", items(3));
        spill.write(Origin::Dropped, "shutdown", &items(2));
        spill.write(Origin::Failed, "sink_error: no", &items(1));
        assert_eq!(spill.counts().lost, Tally { dropped: 5, failed: 1 });
    }
}
