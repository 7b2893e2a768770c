//! The exporter's use of the fallback file: encodes items that could not be exported
//! and appends them under a small mutex, from application threads (queue full, after
//! shutdown) and from the worker (sink failures).
//!
//! Encoding happens before the lock is taken; the lock only covers a copy into a 64 KiB
//! buffer (and, once per 64 KiB, one `write` to the file), so an application thread that
//! hits a full queue pays a few microseconds, and memory stays bounded even when the
//! worker is stuck in a sink (a spill channel drained by the worker would grow without
//! bound in exactly that case, and the items would not reach the disk).

use crate::config::ExporterConfig;
use crate::fallback::{encode_entry_with_op, FallbackFile, FallbackOp};
use crate::item::record_of;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use weave_core::export::ExportItem;

/// Writes items to the fallback file (or nowhere, when the disk fallback is off).
pub(crate) struct Spill {
    file: Option<Mutex<FallbackFile>>,
    path: PathBuf,
    project_id: String,
    io_error_reported: AtomicBool,
    /// Refs of the ops already written along with a call (once per op and process).
    ops_written: Mutex<HashSet<String>>,
}

impl Spill {
    pub(crate) fn new(config: &ExporterConfig, project_id: String) -> Spill {
        let file = config
            .enable_disk_fallback
            .then(|| Mutex::new(FallbackFile::new(config.fallback_path.clone(), config.fallback_max_bytes)));
        Spill {
            file,
            path: config.fallback_path.clone(),
            project_id,
            io_error_reported: AtomicBool::new(false),
            ops_written: Mutex::new(HashSet::new()),
        }
    }

    /// The fallback file, when the disk fallback is on.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|_| self.path.as_path())
    }

    /// Where spilled items go, in words (for warnings).
    pub(crate) fn destination(&self) -> String {
        match self.path() {
            Some(path) => format!("written to {}", path.display()),
            None => "not saved (WEAVE_ENABLE_DISK_FALLBACK is off)".to_string(),
        }
    }

    /// Appends items with a reason. Errors are reported once on stderr.
    pub(crate) fn write<'a>(&self, reason: &str, items: impl IntoIterator<Item = &'a ExportItem>) {
        let Some(file) = &self.file else { return };
        let mut lines = Vec::new();
        for item in items {
            let op = record_of(item).map(|r| &r.start.op).and_then(|op| {
                let key = op.ref_uri(&self.project_id);
                self.ops_written.lock().insert(key).then(|| FallbackOp::of(op))
            });
            encode_entry_with_op(&mut lines, reason, &self.project_id, item, op);
        }
        let result = file.lock().append(&lines);
        self.report(result);
    }

    /// Pushes buffered lines to the file.
    pub(crate) fn flush(&self) {
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
