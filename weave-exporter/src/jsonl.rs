//! [`JsonlSink`]: one call per line in Weave's wire form (`calls/complete` item), appended
//! to a file or written to stdout, for piping into other tools (`jq`, a log shipper).
//!
//! Only finished calls and calls left unfinished at shutdown are written (eager starts
//! are not), so each call is one line.

use crate::fallback::entry::FallbackEntry;
use crate::fallback::file::open_private_append;
use crate::item::{record_of, ItemKind};
use crate::sink::{Sink, SinkError};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use weave_core::export::ExportItem;
use weave_core::wire::WireEncoder;

/// Writes one wire call per line.
pub struct JsonlSink {
    out: BufWriter<Box<dyn Write + Send>>,
    encoder: WireEncoder,
    /// The line being written (reused).
    line: Vec<u8>,
    description: String,
}

impl std::fmt::Debug for JsonlSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlSink")
            .field("project_id", &self.encoder.project_id())
            .field("to", &self.description)
            .finish()
    }
}

impl JsonlSink {
    /// Appends to the file at `path` (created with its parent directories, permissions
    /// `0o600` on unix).
    pub fn file(path: impl AsRef<Path>, project_id: impl Into<String>) -> io::Result<JsonlSink> {
        let path: PathBuf = path.as_ref().to_path_buf();
        let file = open_private_append(&path)?;
        Ok(JsonlSink::writer(file, project_id, format!("JSON lines in {}", path.display())))
    }

    /// Writes to standard output.
    pub fn stdout(project_id: impl Into<String>) -> JsonlSink {
        JsonlSink::writer(io::stdout(), project_id, "JSON lines on stdout".to_string())
    }

    /// Writes to any writer; `description` says where (for messages).
    pub fn writer(out: impl Write + Send + 'static, project_id: impl Into<String>, description: String) -> JsonlSink {
        JsonlSink {
            out: BufWriter::with_capacity(64 * 1024, Box::new(out)),
            encoder: WireEncoder::new(project_id),
            line: Vec::new(),
            description,
        }
    }

    fn io_error(&self, e: io::Error) -> SinkError {
        let retryable = matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock);
        SinkError { message: format!("could not write to {}: {e}", self.description), retryable }
    }
}

impl Sink for JsonlSink {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        for item in batch {
            if ItemKind::of(item) == Some(ItemKind::CallStarted) {
                continue;
            }
            let Some(record) = record_of(item) else { continue };
            self.line.clear();
            self.encoder.encode(record, &mut self.line);
            self.line.push(b'\n');
            let result = self.out.write_all(&self.line);
            result.map_err(|e| self.io_error(e))?;
        }
        self.out.flush().map_err(|e| self.io_error(e))
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush().map_err(|e| self.io_error(e))
    }

    fn supports_call_start(&self) -> bool {
        false
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn project_id(&self) -> Option<&str> {
        Some(self.encoder.project_id())
    }

    fn replay_batch(&mut self, batch: &[FallbackEntry]) -> Result<(), SinkError> {
        for entry in batch.iter().filter(|e| e.kind.is_call() && e.kind != ItemKind::CallStarted) {
            let result = serde_json::to_writer(&mut self.out, &entry.item)
                .map_err(io::Error::from)
                .and_then(|()| self.out.write_all(b"\n"));
            result.map_err(|e| self.io_error(e))?;
        }
        self.out.flush().map_err(|e| self.io_error(e))
    }
}
