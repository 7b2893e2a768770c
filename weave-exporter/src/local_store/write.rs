//! The local store's write path: one `BEGIN IMMEDIATE` transaction per batch, in which
//! the ops of the batch are saved once per process (their `obj.py` file and op object),
//! objects and feedback are saved as rows, and all the call items go into ONE row of the
//! append-only `call_log` (a blob, see [`super::log`]), in order. [`super::index`] turns
//! the blobs into `calls` rows later (on the next read, or when the worker is idle).
//!
//! The per-call work is kept small: ids and timestamps are logged as numbers, captured
//! JSON as the text the capture produced, and the op ref and attribute JSON (shared by
//! most calls) are cached by pointer and stored once per blob.

use super::error::{is_busy, StoreError};
use super::index::{self, CallStatements, Row};
use super::log::{Encoder, LoggedCall, LoggedEnd};
use crate::fallback::entry::FallbackEntry;
use crate::item::{record_of, ItemKind};
use crate::sink::SinkError;
use rusqlite::{params, Connection, Transaction, TransactionBehavior};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use weave_core::call::{AttributesIdentity, CallAttributes, CallRecord, JsonObject};
use weave_core::export::ExportItem;
use weave_core::op::{OpDef, OpHandle, OP_SOURCE_FILE};
use weave_core::summary::Summary;
use weave_core::time::Timestamp;

const INSERT_FILE: &str = "INSERT OR IGNORE INTO files (project_id, digest, name, content) VALUES (?1, ?2, ?3, ?4)";
const INSERT_OBJECT: &str =
    "INSERT OR IGNORE INTO objects (project_id, object_id, digest, kind, val, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const INSERT_TABLE: &str = "INSERT OR IGNORE INTO tables (project_id, digest, row_digests) VALUES (?1, ?2, ?3)";
const INSERT_TABLE_ROW: &str = "INSERT OR IGNORE INTO table_rows (project_id, digest, val) VALUES (?1, ?2, ?3)";
const INSERT_FEEDBACK: &str =
    "INSERT OR IGNORE INTO feedback (project_id, id, weave_ref, feedback_type, payload, created_at) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

struct CachedOp {
    /// Keeps the pointer this entry is keyed by alive (and so unique).
    _op: OpHandle,
    ref_uri: String,
    saved: bool,
}

struct CachedAttributes {
    /// Keep the pointers this entry is keyed by alive.
    _user: Option<Arc<JsonObject>>,
    json: String,
}

/// Caches kept across batches by one writing store.
#[derive(Default)]
pub(crate) struct Writer {
    ops: HashMap<usize, CachedOp>,
    attributes: HashMap<AttributesIdentity, CachedAttributes>,
    encoder: Encoder,
    /// The last finished call's summary JSON, and its status counts when that is all it
    /// has.
    summary: String,
    summary_counts: Option<(u64, u64)>,
    op_ref: String,
}

const MAX_CACHED: usize = 4096;

/// Appends a blob to the call log.
const INSERT_LOG: &str = "INSERT INTO call_log (data) VALUES (?1)";

impl Writer {
    pub(crate) fn new() -> Writer {
        Writer::default()
    }

    /// Writes one batch of items in one transaction: ops, objects and feedback as rows,
    /// the call items as one blob of the call log.
    pub(crate) fn write_batch(
        &mut self,
        conn: &mut Connection,
        project_id: &str,
        batch: &[ExportItem],
    ) -> Result<(), SinkError> {
        if self.ops.len() > MAX_CACHED {
            self.ops.clear();
        }
        if self.attributes.len() > MAX_CACHED {
            self.attributes.clear();
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(to_sink_error)?;
        let mut newly_saved = Vec::new();
        // Ops first: the refs of the calls point at them.
        for record in batch.iter().filter_map(record_of) {
            let op = &record.start.op;
            let key = op.as_ptr() as usize;
            let entry = self.ops.entry(key).or_insert_with(|| CachedOp {
                _op: op.clone(),
                ref_uri: op.ref_uri(project_id),
                saved: false,
            });
            if !entry.saved && !newly_saved.contains(&key) {
                save_op(&tx, project_id, op).map_err(to_sink_error)?;
                newly_saved.push(key);
            }
        }
        self.encoder.begin();
        for item in batch {
            match item {
                ExportItem::Object(object) => {
                    save_object(&tx, &object.project_id, &object.name, &object.digest, &object.value)
                        .map_err(to_sink_error)?;
                    continue;
                }
                ExportItem::Feedback(feedback) => {
                    save_feedback(&tx, &Value::Object(feedback.wire())).map_err(to_sink_error)?;
                    continue;
                }
                ExportItem::Table(table) => {
                    save_table(&tx, &table.project_id, &table.digest, &table.row_digests, &table.rows)
                        .map_err(to_sink_error)?;
                    continue;
                }
                ExportItem::Op(item) => {
                    save_op(&tx, &item.project_id, &item.op).map_err(to_sink_error)?;
                    continue;
                }
                _ => {}
            }
            let (Some(kind), Some(record)) = (ItemKind::of(item), record_of(item)) else { continue };
            self.log_call(project_id, kind, record);
        }
        if self.encoder.len() > 0 {
            tx.prepare_cached(INSERT_LOG)
                .and_then(|mut stmt| stmt.execute([self.encoder.finish()]))
                .map_err(to_sink_error)?;
        }
        tx.commit().map_err(to_sink_error)?;
        for key in newly_saved {
            if let Some(entry) = self.ops.get_mut(&key) {
                entry.saved = true;
            }
        }
        Ok(())
    }

    /// Adds one call item to the blob: the fields its `calls` row gets.
    fn log_call(&mut self, project_id: &str, kind: ItemKind, record: &CallRecord) {
        let start = &record.start;
        let op_key = start.op.as_ptr() as usize;
        let op_ref = match self.ops.get(&op_key) {
            Some(cached) => cached.ref_uri.as_str(),
            None => {
                self.op_ref = start.op.ref_uri(project_id);
                self.op_ref.as_str()
            }
        };
        let attributes = attributes_json(&mut self.attributes, &start.attributes);
        let end = record.end.as_ref().filter(|_| kind == ItemKind::CallFinished);
        if let Some(end) = end {
            // Most summaries are status counts alone, and the same as the last call's.
            let counts = (end.summary.success, end.summary.error);
            if end.summary.rest.is_some() || self.summary_counts != Some(counts) {
                self.summary.clear();
                summary_json(&end.summary, &mut self.summary);
                self.summary_counts = end.summary.rest.is_none().then_some(counts);
            }
        }
        self.encoder.push(&LoggedCall {
            kind,
            project_id,
            id: start.id,
            trace_id: start.trace_id,
            parent_id: start.parent_id,
            op_name: op_ref,
            op_base_name: start.op.name(),
            display_name: record.display_name(),
            thread_id: start.thread_id.as_deref(),
            turn_id: start.turn_id,
            started_at_us: start.started_at.unix_micros(),
            attributes,
            inputs: start.inputs.as_str(),
            wb_run_id: start.wb_run_id,
            end: end.map(|e| LoggedEnd {
                ended_at_us: e.ended_at.unix_micros(),
                output: e.output.as_ref().map(|o| o.as_str()),
                exception: e.exception.as_ref().map(|x| x.as_str()),
                summary: &self.summary,
            }),
        });
    }

    /// Writes calls read back from the fallback file (wire JSON) straight into `calls`,
    /// after indexing the call log, so that calls are applied in the order they were
    /// written (a call logged earlier is never applied after one replayed now).
    /// `log_exists` is false for a version 1 store opened for reading, which has no log.
    pub(crate) fn replay_batch(
        &mut self,
        conn: &mut Connection,
        batch: &[FallbackEntry],
        log_exists: bool,
    ) -> Result<(), SinkError> {
        // Most of the log in short transactions, then, inside this batch's transaction,
        // whatever other writers logged meanwhile.
        if log_exists {
            index::catch_up(conn).map_err(store_to_sink_error)?;
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(to_sink_error)?;
        if log_exists {
            index::index_in_transaction(&tx).map_err(store_to_sink_error)?;
        }
        {
            let mut statements = CallStatements::prepare(&tx).map_err(to_sink_error)?;
            for entry in batch {
                if let Some(op) = &entry.op {
                    replay_op(&tx, &entry.project_id, op).map_err(to_sink_error)?;
                }
                match entry.kind {
                    ItemKind::Object => replay_object(&tx, entry).map_err(to_sink_error)?,
                    ItemKind::Feedback => save_feedback(&tx, &entry.item).map_err(to_sink_error)?,
                    ItemKind::Table => replay_table(&tx, entry).map_err(to_sink_error)?,
                    ItemKind::Op => {} // saved above, from the entry's op
                    _ => replay_one(&mut statements, entry).map_err(to_sink_error)?,
                }
            }
        }
        tx.commit().map_err(to_sink_error)
    }
}

fn replay_one(statements: &mut CallStatements<'_>, entry: &FallbackEntry) -> rusqlite::Result<()> {
    let call = &entry.item;
    let text = |key: &str| call.get(key).and_then(Value::as_str);
    let json = |key: &str, default: &str| match call.get(key) {
        None | Some(Value::Null) => default.to_string(),
        Some(v) => v.to_string(),
    };
    let (Some(id), Some(trace_id), Some(started_at)) = (text("id"), text("trace_id"), text("started_at")) else {
        return Ok(());
    };
    let Some(started) = Timestamp::parse(started_at) else { return Ok(()) };
    let finished = entry.kind == ItemKind::CallFinished;
    let ended_at = text("ended_at").filter(|_| finished);
    let ended = ended_at.and_then(Timestamp::parse);
    let op_name = text("op_name").unwrap_or_default();
    let project_id = text("project_id").unwrap_or(&entry.project_id);
    let attributes = json("attributes", "{}");
    let inputs = json("inputs", "{}");
    let output = call.get("output").filter(|v| !v.is_null()).map(Value::to_string);
    let summary = if finished { json("summary", "{}") } else { "{}".to_string() };
    Row {
        project_id,
        id,
        trace_id,
        parent_id: text("parent_id"),
        op_name,
        op_base_name: op_base_name(op_name),
        display_name: text("display_name"),
        thread_id: text("thread_id"),
        turn_id: text("turn_id"),
        started_at,
        started_at_us: started.unix_micros(),
        ended_at,
        ended_at_us: ended.map(Timestamp::unix_micros),
        attributes: &attributes,
        inputs: &inputs,
        output: output.as_deref().filter(|_| finished),
        exception: text("exception").filter(|_| finished),
        summary: &summary,
        wb_run_id: text("wb_run_id"),
    }
    .write(statements)
}

/// `weave:///e/p/op/name:digest` → `name`; anything else is returned whole.
pub(crate) fn op_base_name(op_ref: &str) -> &str {
    let Some(rest) = op_ref.strip_prefix("weave:///") else { return op_ref };
    let Some((_, after)) = rest.split_once("/op/") else { return op_ref };
    match after.rsplit_once(':') {
        Some((name, _)) => name,
        None => after,
    }
}

fn attributes_json<'c>(
    cache: &'c mut HashMap<AttributesIdentity, CachedAttributes>,
    attrs: &CallAttributes,
) -> &'c str {
    &cache
        .entry(attrs.identity())
        .or_insert_with(|| CachedAttributes {
            _user: attrs.user.clone(),
            json: Value::Object(attrs.to_json()).to_string(),
        })
        .json
}

fn summary_json(summary: &Summary, out: &mut String) {
    if summary.rest.is_none() {
        let _ = write!(out, r#"{{"status_counts":{{"success":{},"error":{}}}}}"#, summary.success, summary.error);
    } else {
        match serde_json::to_string(summary) {
            Ok(text) => out.push_str(&text),
            Err(_) => out.push_str("{}"),
        }
    }
}

fn save_op(tx: &Transaction<'_>, project_id: &str, op: &OpDef) -> rusqlite::Result<()> {
    tx.prepare_cached(INSERT_FILE)?.execute(params![
        project_id,
        op.file_digest(),
        OP_SOURCE_FILE,
        op.source_file().as_bytes()
    ])?;
    tx.prepare_cached(INSERT_OBJECT)?.execute(params![
        project_id,
        op.name(),
        op.digest(),
        "op",
        op.object_value().to_string(),
        Timestamp::now().to_string()
    ])?;
    Ok(())
}

fn save_object(tx: &Transaction<'_>, project_id: &str, name: &str, digest: &str, val: &Value) -> rusqlite::Result<()> {
    tx.prepare_cached(INSERT_OBJECT)?.execute(params![
        project_id,
        name,
        digest,
        "object",
        val.to_string(),
        Timestamp::now().to_string()
    ])?;
    Ok(())
}

/// Saves a table: its rows (each under its digest, once per project) and its row list.
fn save_table(
    tx: &Transaction<'_>,
    project_id: &str,
    digest: &str,
    row_digests: &[String],
    rows: &[Value],
) -> rusqlite::Result<()> {
    let mut insert_row = tx.prepare_cached(INSERT_TABLE_ROW)?;
    for (row_digest, row) in row_digests.iter().zip(rows) {
        insert_row.execute(params![project_id, row_digest, row.to_string()])?;
    }
    let list = Value::Array(row_digests.iter().map(|d| Value::String(d.clone())).collect());
    tx.prepare_cached(INSERT_TABLE)?.execute(params![project_id, digest, list.to_string()])?;
    Ok(())
}

/// A table line of the fallback file: the row digests are computed again, as the store
/// computes them (refs as written).
fn replay_table(tx: &Transaction<'_>, entry: &FallbackEntry) -> rusqlite::Result<()> {
    let item = &entry.item;
    let project_id = item.get("project_id").and_then(Value::as_str).unwrap_or(&entry.project_id);
    let rows = item.get("rows").and_then(Value::as_array).cloned().unwrap_or_default();
    let table = weave_core::table::TableItem::new(project_id, rows, &weave_core::refs::RefForm::AsWritten);
    save_table(tx, project_id, &table.digest, &table.row_digests, &table.rows)
}

/// Saves a feedback item given in its wire form (`/feedback/batch/create` item).
fn save_feedback(tx: &Transaction<'_>, wire: &Value) -> rusqlite::Result<()> {
    let text = |key: &str| wire.get(key).and_then(Value::as_str).unwrap_or_default();
    let payload = wire.get("payload").cloned().unwrap_or(Value::Object(Default::default()));
    tx.prepare_cached(INSERT_FEEDBACK)?.execute(params![
        text("project_id"),
        text("id"),
        text("weave_ref"),
        text("feedback_type"),
        payload.to_string(),
        Timestamp::now().to_string()
    ])?;
    Ok(())
}

fn replay_object(tx: &Transaction<'_>, entry: &FallbackEntry) -> rusqlite::Result<()> {
    let item = &entry.item;
    let text = |key: &str| item.get(key).and_then(Value::as_str);
    let (Some(name), Some(digest)) = (text("object_id"), text("digest")) else { return Ok(()) };
    let project_id = text("project_id").unwrap_or(&entry.project_id);
    save_object(tx, project_id, name, digest, item.get("val").unwrap_or(&Value::Null))
}

fn replay_op(tx: &Transaction<'_>, project_id: &str, op: &crate::fallback::entry::FallbackOp) -> rusqlite::Result<()> {
    let file_digest = weave_core::refs::bytes_digest(op.source.as_bytes());
    tx.prepare_cached(INSERT_FILE)?.execute(params![project_id, file_digest, OP_SOURCE_FILE, op.source.as_bytes()])?;
    let val = serde_json::json!({"_type": "CustomWeaveType", "weave_type": {"type": "Op"}, "files": {OP_SOURCE_FILE: file_digest}});
    tx.prepare_cached(INSERT_OBJECT)?.execute(params![
        project_id,
        op.name,
        op.digest,
        "op",
        val.to_string(),
        Timestamp::now().to_string()
    ])?;
    Ok(())
}

pub(crate) fn to_sink_error(e: rusqlite::Error) -> SinkError {
    SinkError { retryable: is_busy(&e), message: format!("local store: {e}") }
}

pub(crate) fn store_to_sink_error(e: StoreError) -> SinkError {
    SinkError { retryable: e.is_busy(), message: format!("local store: {e}") }
}
