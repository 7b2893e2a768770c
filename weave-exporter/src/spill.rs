//! The exporter's use of the fallback file: items that could not be exported are encoded
//! and appended to it.
//!
//! - Calls dropped because the queue is full are handed to a background thread,
//!   `weave-spill` (started on the first drop), which encodes and appends them: the
//!   application thread that hit the full queue pays one channel send per batch, not the
//!   encoding or the `write`. The spill thread's backlog is bounded (by the queue's bound, at least 10,000 items);
//!   when it is full, the application thread encodes and appends the batch itself, so
//!   nothing is lost and memory stays bounded: with a stuck sink, an application that makes
//!   calls faster than the disk takes them is slowed down to the disk's pace, never more.
//! - Everything else (items rejected at shutdown, batches the sink failed on, which the
//!   worker spills) is written on the calling thread.
//!
//! Encoding holds the encoder's lock (it caches op refs and attributes); appending holds
//! the file's lock, which covers a copy into a 64 KiB buffer and, once per 64 KiB, one
//! `write`.

use crate::config::ExporterConfig;
use crate::fallback::{FallbackEncoder, FallbackFile};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
}

struct Inner {
    file: Option<Mutex<FallbackFile>>,
    encoder: Mutex<FallbackEncoder>,
    path: PathBuf,
    io_error_reported: AtomicBool,
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
            io_error_reported: AtomicBool::new(false),
        };
        Spill {
            inner: Arc::new(inner),
            thread: Mutex::new(None),
            backlog: Arc::new(AtomicUsize::new(0)),
            max_backlog: match config.max_queue_size {
                0 => usize::MAX,
                n => n.max(MIN_BACKLOG),
            },
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

    /// Appends items with a reason, on this thread. Errors are reported once on stderr.
    pub(crate) fn write(&self, reason: &str, items: &[ExportItem]) {
        self.inner.write(reason, items);
    }

    /// Appends items with a reason on the spill thread, or on this thread when the spill
    /// thread's backlog is full (or it cannot be started).
    pub(crate) fn write_in_background(&self, reason: &'static str, items: Vec<ExportItem>) {
        if self.inner.file.is_none() {
            return;
        }
        let n = items.len();
        let before = self.backlog.fetch_add(n, Ordering::AcqRel);
        let items = if before.saturating_add(n) <= self.max_backlog {
            match self.send(Job::Write(reason, items)) {
                Ok(()) => return,
                Err(Job::Write(_, items)) => items,
                Err(Job::Flush(_)) => return,
            }
        } else {
            items
        };
        self.backlog.fetch_sub(n, Ordering::AcqRel);
        self.inner.write(reason, &items);
    }

    /// Pushes buffered lines to the file (what the spill thread still has to write is not
    /// waited for; see [`Spill::drain`]).
    pub(crate) fn flush(&self) {
        self.inner.flush();
    }

    /// Waits until the spill thread has written everything handed to it (or `deadline`),
    /// then flushes the file. Returns false if the deadline came first.
    pub(crate) fn drain(&self, deadline: Option<Instant>) -> bool {
        let tx = self.thread.lock().as_ref().map(|t| t.tx.clone());
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
        if let Some(thread) = self.thread.lock().take() {
            drop(thread.tx);
            if done {
                // The thread has written everything and sees its queue closed: it returns.
                let _ = thread.handle.join();
            }
        }
        done
    }

    fn send(&self, job: Job) -> Result<(), Job> {
        let mut thread = self.thread.lock();
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
                eprintln!("weave: could not start the fallback-file thread ({e}); dropped calls are written inline");
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
            Job::Write(reason, items) => {
                inner.write(reason, &items);
                backlog.fetch_sub(items.len(), Ordering::AcqRel);
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

impl Inner {
    fn write(&self, reason: &str, items: &[ExportItem]) {
        let Some(file) = &self.file else { return };
        let mut lines = Vec::with_capacity(items.len() * 1024);
        {
            let mut encoder = self.encoder.lock();
            for item in items {
                encoder.encode(&mut lines, reason, item);
            }
        }
        let result = file.lock().append(&lines);
        self.report(result);
    }

    fn flush(&self) {
        if let Some(file) = &self.file {
            let result = file.lock().flush();
            self.report(result);
        }
    }

    fn report(&self, result: std::io::Result<()>) {
        if let Err(e) = result {
            if !self.io_error_reported.swap(true, Ordering::Relaxed) {
                eprintln!("weave: could not write dropped items to the fallback file {}: {e}", self.path.display());
            }
        }
    }
}
