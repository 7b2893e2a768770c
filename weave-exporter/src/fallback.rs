//! The fallback file: items that could not be exported (queue full, exporter shut down,
//! sink failure) are appended to it as JSON lines, and [`replay`] reads them back into a
//! sink.
//!
//! Each line is `{"reason":..,"project_id":..,"kind":"call_finished"|..,"item":<wire item>}`,
//! plus `"op":{name,digest,source}` on the first call of each op in the file.
//! The file is created with permissions `0o600` on unix (it holds inputs and outputs)
//! and rotated like Python's `RotatingFileHandler`: when it would grow past its size
//! limit it becomes `<path>.1` (`.1` becomes `.2`, and so on), keeping
//! [`KEPT_ROTATED_FILES`] old files.

use crate::item::{record_of, ItemKind};
use crate::sink::{Sink, SinkError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use weave_core::call::CallRecord;
use weave_core::export::ExportItem;
use weave_core::op::{OpDef, OpHandle};
use weave_core::wire::WireEncoder;

/// Appends at least this long skip the write buffer.
const DIRECT_WRITE_BYTES: usize = 16 * 1024;

/// How many rotated files (`<path>.1` .. `<path>.3`) are kept, as in Weave.
pub const KEPT_ROTATED_FILES: u32 = 3;

/// Why an item went to the fallback file.
pub mod reason {
    /// The export queue was full.
    pub const QUEUE_FULL: &str = "queue_full";
    /// The item was exported after the exporter shut down, or was still queued when the
    /// shutdown timed out.
    pub const SHUTDOWN: &str = "shutdown";
    /// The sink refused the batch (the message follows the colon).
    pub const SINK_ERROR: &str = "sink_error";
}

/// One line of the fallback file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FallbackEntry {
    /// Why the item was not exported (`queue_full`, `shutdown`, `sink_error: ...`).
    pub reason: String,
    /// The project (`entity/project`) the call belongs to.
    pub project_id: String,
    /// Whether it was a call start, a finished call or a call left unfinished.
    pub kind: ItemKind,
    /// The item in Weave's wire form: a call as a `calls/complete` item, an object as
    /// `{project_id, object_id, digest, val}`, feedback as a `/feedback/batch/create` item.
    pub item: Value,
    /// The op of a call, on the first line of each op in a file: what replaying needs to
    /// save the op the call's `op_name` points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<FallbackOp>,
}

/// An op as written in the fallback file (see [`FallbackEntry::op`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FallbackOp {
    /// The op's name (its object id).
    pub name: String,
    /// The op object's digest.
    pub digest: String,
    /// The content of its `obj.py` file.
    pub source: String,
}

impl FallbackOp {
    /// The fallback form of an op.
    pub fn of(op: &OpDef) -> FallbackOp {
        FallbackOp {
            name: op.name().to_string(),
            digest: op.digest().to_string(),
            source: op.source_file().to_string(),
        }
    }
}

/// The line of an object or feedback item (calls are written by [`FallbackEncoder`]).
#[derive(Serialize)]
struct EntryOut<'a, T: Serialize> {
    reason: &'a str,
    project_id: &'a str,
    kind: ItemKind,
    item: T,
}

/// Appends the fallback line of one item (with its trailing newline) to `out`. Returns
/// false (and appends nothing) for items this version cannot encode. A call's op is not
/// written along (the exporter's own lines carry it on each op's first call).
pub fn encode_entry(out: &mut Vec<u8>, reason: &str, project_id: &str, item: &ExportItem) -> bool {
    let Some(kind) = ItemKind::of(item) else { return false };
    let start = out.len();
    let written = match item {
        ExportItem::Object(object) => {
            let mut wire = object.wire();
            wire.insert("digest".into(), Value::String(object.digest.clone()));
            let project_id = object.project_id.as_str();
            serde_json::to_writer(&mut *out, &EntryOut { reason, project_id, kind, item: wire })
        }
        ExportItem::Feedback(feedback) => {
            let project_id = feedback.project_id.as_str();
            serde_json::to_writer(&mut *out, &EntryOut { reason, project_id, kind, item: feedback.wire() })
        }
        ExportItem::Table(table) => {
            let mut wire = table.wire();
            wire.insert("digest".into(), Value::String(table.digest.clone()));
            let project_id = table.project_id.as_str();
            serde_json::to_writer(&mut *out, &EntryOut { reason, project_id, kind, item: wire })
        }
        ExportItem::Op(item) => {
            let op = &item.op;
            let entry = FallbackEntry {
                reason: reason.to_string(),
                project_id: item.project_id.clone(),
                kind,
                item: serde_json::json!({"name": op.name(), "digest": op.digest()}),
                op: Some(FallbackOp::of(op)),
            };
            serde_json::to_writer(&mut *out, &entry)
        }
        other => {
            let Some(record) = record_of(other) else { return false };
            FallbackEncoder::new(project_id).call_line(out, reason, kind, record, false);
            return true;
        }
    };
    if written.is_err() {
        out.truncate(start);
        return false;
    }
    out.push(b'\n');
    true
}

/// Encodes fallback lines for one project (what the exporter's spill uses): calls go
/// through a [`WireEncoder`], and each op is written along with its first call in the file.
pub(crate) struct FallbackEncoder {
    wire: WireEncoder,
    project_json: Vec<u8>,
    /// Ops already written, by address (kept alive so the address stays theirs) ...
    ops_seen: HashMap<usize, OpHandle>,
    /// ... and by ref, so two definitions of one op version are written once.
    refs_written: HashSet<String>,
    /// The op of the last line (already in `ops_seen`), by address.
    last_op: usize,
    /// The last reason and its JSON.
    last_reason: (String, Vec<u8>),
}

impl FallbackEncoder {
    pub(crate) fn new(project_id: &str) -> FallbackEncoder {
        let mut project_json = Vec::new();
        // Infallible for a `str`.
        let _ = serde_json::to_writer(&mut project_json, project_id);
        FallbackEncoder {
            wire: WireEncoder::new(project_id),
            project_json,
            ops_seen: HashMap::new(),
            refs_written: HashSet::new(),
            last_op: 0,
            last_reason: (String::new(), b"\"\"".to_vec()),
        }
    }

    /// Appends the line of `item` (with its newline) to `out`; false (nothing appended) for
    /// items this version cannot encode.
    pub(crate) fn encode(&mut self, out: &mut Vec<u8>, reason: &str, item: &ExportItem) -> bool {
        let (Some(kind), Some(record)) = (ItemKind::of(item), record_of(item)) else {
            return encode_entry(out, reason, self.wire.project_id(), item);
        };
        let op = &record.start.op;
        let key = op.as_ptr() as usize;
        let first_of_op = self.last_op != key && !self.ops_seen.contains_key(&key) && {
            self.ops_seen.insert(key, op.clone());
            self.refs_written.insert(op.ref_uri(self.wire.project_id()))
        };
        self.last_op = key;
        self.call_line(out, reason, kind, record, first_of_op);
        true
    }

    /// Appends the line of a call, with its op when `with_op`.
    fn call_line(&mut self, out: &mut Vec<u8>, reason: &str, kind: ItemKind, record: &CallRecord, with_op: bool) {
        out.extend_from_slice(b"{\"reason\":");
        if self.last_reason.0 != reason {
            self.last_reason.0 = reason.to_string();
            self.last_reason.1.clear();
            // Infallible for a `str`.
            let _ = serde_json::to_writer(&mut self.last_reason.1, reason);
        }
        out.extend_from_slice(&self.last_reason.1);
        out.extend_from_slice(b",\"project_id\":");
        out.extend_from_slice(&self.project_json);
        out.extend_from_slice(b",\"kind\":\"");
        out.extend_from_slice(kind.as_str().as_bytes());
        out.extend_from_slice(b"\",\"item\":");
        self.wire.encode(record, out);
        if with_op {
            out.extend_from_slice(b",\"op\":");
            let _ = serde_json::to_writer(&mut *out, &FallbackOp::of(&record.start.op));
        }
        out.extend_from_slice(b"}\n");
    }
}

/// The path of the `n`th rotated file: `<path>.<n>`.
pub fn rotated_path(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// An append-only, rotated JSON-lines file, opened on the first write.
#[derive(Debug)]
pub struct FallbackFile {
    path: PathBuf,
    max_bytes: u64,
    writer: Option<BufWriter<File>>,
    size: u64,
}

impl FallbackFile {
    /// A fallback file at `path`, rotated when it would grow past `max_bytes`. Nothing is
    /// created until the first line is appended.
    pub fn new(path: impl Into<PathBuf>, max_bytes: u64) -> FallbackFile {
        FallbackFile { path: path.into(), max_bytes, writer: None, size: 0 }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends complete lines (each ending in `\n`). They are buffered: call
    /// [`FallbackFile::flush`] to push them to the file.
    pub fn append(&mut self, lines: &[u8]) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        if self.writer.is_some() && self.size > 0 && self.size + lines.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                let file = open_private_append(&self.path)?;
                self.size = file.metadata().map(|m| m.len()).unwrap_or(0);
                if self.size > 0 && self.size + lines.len() as u64 > self.max_bytes {
                    drop(file);
                    self.rotate()?;
                    return self.append(lines);
                }
                self.writer.insert(BufWriter::with_capacity(64 * 1024, file))
            }
        };
        if lines.len() >= DIRECT_WRITE_BYTES {
            // A whole batch: one `write`, without a copy into the buffer.
            writer.flush()?;
            writer.get_mut().write_all(lines)?;
        } else {
            writer.write_all(lines)?;
        }
        self.size += lines.len() as u64;
        Ok(())
    }

    /// Writes buffered lines to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.writer {
            Some(writer) => writer.flush(),
            None => Ok(()),
        }
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut writer) = self.writer.take() {
            writer.flush()?;
        }
        for n in (1..KEPT_ROTATED_FILES).rev() {
            rename_if_exists(&rotated_path(&self.path, n), &rotated_path(&self.path, n + 1))?;
        }
        rename_if_exists(&self.path, &rotated_path(&self.path, 1))?;
        self.size = 0;
        Ok(())
    }
}

impl Drop for FallbackFile {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Opens `path` for appending, creating it (and its parent directories) with
/// permissions `0o600` on unix.
pub(crate) fn open_private_append(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// What [`replay`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Non-empty lines read.
    pub lines: u64,
    /// Items the sink accepted.
    pub replayed: u64,
    /// Lines that are not fallback entries (garbage, or a last line cut short by a
    /// crash): skipped.
    pub skipped: u64,
    /// Items the sink refused (after retries for retryable errors).
    pub failed: u64,
    /// The last sink error, if any.
    pub last_error: Option<SinkError>,
}

/// Items handed to the sink at once by [`replay`].
const REPLAY_BATCH: usize = 1000;
/// Attempts of one replay batch on retryable errors.
const REPLAY_ATTEMPTS: u32 = 3;

/// Reads the fallback file at `path` and writes its items to `sink` (through
/// [`Sink::replay_batch`]), in batches, in file order. Lines that do not parse are
/// skipped and counted; a missing file replays nothing. The file is left in place:
/// remove it once the report shows what you expect.
pub fn replay<S: Sink + ?Sized>(path: impl AsRef<Path>, sink: &mut S) -> io::Result<ReplayReport> {
    let file = match File::open(path.as_ref()) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ReplayReport::default()),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut report = ReplayReport::default();
    let mut batch = Vec::with_capacity(REPLAY_BATCH);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        report.lines += 1;
        match serde_json::from_slice::<FallbackEntry>(&line) {
            Ok(entry) => batch.push(entry),
            Err(_) => report.skipped += 1,
        }
        if batch.len() >= REPLAY_BATCH {
            replay_one_batch(sink, &mut batch, &mut report);
        }
    }
    if !batch.is_empty() {
        replay_one_batch(sink, &mut batch, &mut report);
    }
    if let Err(e) = sink.flush() {
        report.last_error = Some(e);
    }
    Ok(report)
}

fn replay_one_batch<S: Sink + ?Sized>(sink: &mut S, batch: &mut Vec<FallbackEntry>, report: &mut ReplayReport) {
    let mut attempt = 1;
    loop {
        match sink.replay_batch(batch) {
            Ok(()) => {
                let rejected = sink.take_rejected();
                report.replayed += (batch.len() - rejected.len().min(batch.len())) as u64;
                report.failed += rejected.len() as u64;
                if let Some((_, error)) = rejected.into_iter().last() {
                    report.last_error = Some(error);
                }
                break;
            }
            Err(e) if e.retryable && attempt < REPLAY_ATTEMPTS => {
                std::thread::sleep(std::time::Duration::from_millis(100 << attempt));
                attempt += 1;
            }
            Err(e) => {
                report.failed += batch.len() as u64;
                report.last_error = Some(e);
                break;
            }
        }
    }
    batch.clear();
}
