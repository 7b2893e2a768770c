//! The local store's write path: one `BEGIN IMMEDIATE` transaction per batch, cached
//! prepared statements, and the ops of the batch saved once per process (their `obj.py`
//! file and op object). Call starts and unfinished calls insert a row with `ended_at`
//! NULL (ignored when the row exists); finished calls upsert the whole row.
//!
//! The per-call work is kept small: ids are encoded on the stack, captured JSON is
//! stored as the text the capture produced, and the op ref and attribute JSON (shared
//! by most calls) are cached by pointer.

use super::error::is_busy;
use crate::fallback::FallbackEntry;
use crate::item::{record_of, ItemKind};
use crate::sink::SinkError;
use rusqlite::{params, Connection, Statement, Transaction, TransactionBehavior};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use weave_core::call::{CallAttributes, CallRecord, JsonObject};
use weave_core::export::ExportItem;
use weave_core::ids::Id;
use weave_core::op::{OpDef, OP_SOURCE_FILE};
use weave_core::summary::Summary;
use weave_core::time::Timestamp;

const COLUMNS: &str = "project_id, id, trace_id, parent_id, op_name, op_base_name, display_name, thread_id, \
    turn_id, started_at, started_at_us, ended_at, ended_at_us, attributes, inputs, output, exception, summary, wb_run_id";

const VALUES: &str = "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19";

fn insert_sql() -> String {
    format!("INSERT OR IGNORE INTO calls ({COLUMNS}) VALUES ({VALUES})")
}

fn upsert_sql() -> String {
    format!(
        "INSERT INTO calls ({COLUMNS}) VALUES ({VALUES}) ON CONFLICT (id) DO UPDATE SET \
         project_id = excluded.project_id, trace_id = excluded.trace_id, parent_id = excluded.parent_id, \
         op_name = excluded.op_name, op_base_name = excluded.op_base_name, display_name = excluded.display_name, \
         thread_id = excluded.thread_id, turn_id = excluded.turn_id, started_at = excluded.started_at, \
         started_at_us = excluded.started_at_us, ended_at = excluded.ended_at, ended_at_us = excluded.ended_at_us, \
         attributes = excluded.attributes, inputs = excluded.inputs, output = excluded.output, \
         exception = excluded.exception, summary = excluded.summary, wb_run_id = excluded.wb_run_id"
    )
}

const INSERT_FILE: &str = "INSERT OR IGNORE INTO files (project_id, digest, name, content) VALUES (?1, ?2, ?3, ?4)";
const INSERT_OBJECT: &str =
    "INSERT OR IGNORE INTO objects (project_id, object_id, digest, kind, val, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const INSERT_FEEDBACK: &str =
    "INSERT OR IGNORE INTO feedback (project_id, id, weave_ref, feedback_type, payload, created_at) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// One row of `calls`, borrowed.
struct Row<'a> {
    project_id: &'a str,
    id: &'a str,
    trace_id: &'a str,
    parent_id: Option<&'a str>,
    op_name: &'a str,
    op_base_name: &'a str,
    display_name: Option<&'a str>,
    thread_id: Option<&'a str>,
    turn_id: Option<&'a str>,
    started_at: &'a str,
    started_at_us: i64,
    ended_at: Option<&'a str>,
    ended_at_us: Option<i64>,
    attributes: &'a str,
    inputs: &'a str,
    output: Option<&'a str>,
    exception: Option<&'a str>,
    summary: &'a str,
    wb_run_id: Option<&'a str>,
}

impl Row<'_> {
    fn write(&self, stmt: &mut Statement<'_>) -> rusqlite::Result<()> {
        stmt.execute(params![
            self.project_id,
            self.id,
            self.trace_id,
            self.parent_id,
            self.op_name,
            self.op_base_name,
            self.display_name,
            self.thread_id,
            self.turn_id,
            self.started_at,
            self.started_at_us,
            self.ended_at,
            self.ended_at_us,
            self.attributes,
            self.inputs,
            self.output,
            self.exception,
            self.summary,
            self.wb_run_id,
        ])?;
        Ok(())
    }
}

struct CachedOp {
    /// Keeps the pointer this entry is keyed by alive (and so unique).
    _op: Arc<OpDef>,
    ref_uri: String,
    saved: bool,
}

type AttributesKey = (usize, usize, Option<&'static str>);

struct CachedAttributes {
    /// Keep the pointers this entry is keyed by alive.
    _user: Option<Arc<JsonObject>>,
    _weave: Option<Arc<JsonObject>>,
    json: String,
}

/// Caches kept across batches by one writing store.
#[derive(Default)]
pub(crate) struct Writer {
    insert_sql: String,
    upsert_sql: String,
    ops: HashMap<usize, CachedOp>,
    attributes: HashMap<AttributesKey, CachedAttributes>,
}

const MAX_CACHED: usize = 4096;

impl Writer {
    pub(crate) fn new() -> Writer {
        Writer { insert_sql: insert_sql(), upsert_sql: upsert_sql(), ..Writer::default() }
    }

    /// Writes one batch of items in one transaction.
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
            let key = Arc::as_ptr(op) as usize;
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
        {
            let mut statements = Statements::prepare(&tx, self).map_err(to_sink_error)?;
            let mut buffers = Buffers::default();
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
                    _ => {}
                }
                let (Some(kind), Some(record)) = (ItemKind::of(item), record_of(item)) else { continue };
                self.write_call(&mut statements, project_id, kind, record, &mut buffers).map_err(to_sink_error)?;
            }
        }
        tx.commit().map_err(to_sink_error)?;
        for key in newly_saved {
            if let Some(entry) = self.ops.get_mut(&key) {
                entry.saved = true;
            }
        }
        Ok(())
    }

    fn write_call(
        &mut self,
        statements: &mut Statements<'_>,
        project_id: &str,
        kind: ItemKind,
        record: &CallRecord,
        buffers: &mut Buffers,
    ) -> rusqlite::Result<()> {
        let start = &record.start;
        let op_key = Arc::as_ptr(&start.op) as usize;
        let op_ref = match self.ops.get(&op_key) {
            Some(cached) => cached.ref_uri.as_str(),
            None => {
                buffers.op_ref = start.op.ref_uri(project_id);
                buffers.op_ref.as_str()
            }
        };
        let attributes = attributes_json(&mut self.attributes, &start.attributes);
        let mut id = [0u8; 36];
        let mut trace_id = [0u8; 36];
        let mut parent_id = [0u8; 36];
        let mut turn_id = [0u8; 36];
        buffers.clock.format(start.started_at, &mut buffers.started_at);
        let end = record.end.as_ref().filter(|_| kind == ItemKind::CallFinished);
        buffers.ended_at.clear();
        buffers.summary.clear();
        if let Some(end) = end {
            buffers.clock.format(end.ended_at, &mut buffers.ended_at);
            summary_json(&end.summary, &mut buffers.summary);
        } else {
            buffers.summary.push_str("{}");
        }
        let row = Row {
            project_id,
            id: id_str(start.id, &mut id),
            trace_id: id_str(start.trace_id, &mut trace_id),
            parent_id: start.parent_id.map(|p| id_str(p, &mut parent_id)),
            op_name: op_ref,
            op_base_name: start.op.name(),
            display_name: record.display_name(),
            thread_id: start.thread_id.as_deref(),
            turn_id: start.turn_id.map(|t| id_str(t, &mut turn_id)),
            started_at: &buffers.started_at,
            started_at_us: start.started_at.unix_micros(),
            ended_at: end.map(|_| buffers.ended_at.as_str()),
            ended_at_us: end.map(|e| e.ended_at.unix_micros()),
            attributes,
            inputs: start.inputs.as_str(),
            output: end.and_then(|e| e.output.as_ref()).map(|o| o.as_str()),
            exception: end.and_then(|e| e.exception.as_deref()),
            summary: &buffers.summary,
            wb_run_id: start.wb_run_id.as_deref(),
        };
        row.write(if end.is_some() { &mut statements.upsert } else { &mut statements.insert })
    }

    /// Writes calls read back from the fallback file (wire JSON).
    pub(crate) fn replay_batch(&mut self, conn: &mut Connection, batch: &[FallbackEntry]) -> Result<(), SinkError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(to_sink_error)?;
        {
            let mut statements = Statements::prepare(&tx, self).map_err(to_sink_error)?;
            for entry in batch {
                if let Some(op) = &entry.op {
                    replay_op(&tx, &entry.project_id, op).map_err(to_sink_error)?;
                }
                match entry.kind {
                    ItemKind::Object => replay_object(&tx, entry).map_err(to_sink_error)?,
                    ItemKind::Feedback => save_feedback(&tx, &entry.item).map_err(to_sink_error)?,
                    _ => replay_one(&mut statements, entry).map_err(to_sink_error)?,
                }
            }
        }
        tx.commit().map_err(to_sink_error)
    }
}

fn replay_one(statements: &mut Statements<'_>, entry: &FallbackEntry) -> rusqlite::Result<()> {
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
    let row = Row {
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
    };
    row.write(if finished { &mut statements.upsert } else { &mut statements.insert })
}

/// The two row statements, prepared once per batch.
struct Statements<'conn> {
    insert: rusqlite::CachedStatement<'conn>,
    upsert: rusqlite::CachedStatement<'conn>,
}

impl<'conn> Statements<'conn> {
    fn prepare(tx: &'conn Transaction<'_>, writer: &Writer) -> rusqlite::Result<Statements<'conn>> {
        Ok(Statements {
            insert: tx.prepare_cached(&writer.insert_sql)?,
            upsert: tx.prepare_cached(&writer.upsert_sql)?,
        })
    }
}

#[derive(Default)]
struct Buffers {
    op_ref: String,
    started_at: String,
    ended_at: String,
    summary: String,
    clock: IsoClock,
}

/// Formats timestamps as Weave does (`2026-11-23T14:33:58.493548Z`), formatting the date
/// and time of day once per second (calls in a batch mostly share it) and only the
/// microseconds per call.
#[derive(Default)]
struct IsoClock {
    second: Option<i64>,
    prefix: String,
}

impl IsoClock {
    fn format(&mut self, ts: Timestamp, out: &mut String) {
        let micros = ts.unix_micros();
        let second = micros.div_euclid(1_000_000);
        let fraction = micros.rem_euclid(1_000_000);
        if self.second != Some(second) {
            let text = Timestamp::from_unix_micros(second * 1_000_000).to_string();
            // Everything up to and including the '.' before the microseconds.
            self.prefix = match text.rfind('.') {
                Some(dot) => text[..=dot].to_string(),
                None => text,
            };
            self.second = Some(second);
        }
        out.clear();
        out.push_str(&self.prefix);
        let mut digits = [b'0'; 6];
        let mut rest = fraction;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        out.extend(digits.iter().map(|&b| b as char));
        out.push('Z');
    }
}

fn id_str(id: Id, buf: &mut [u8; 36]) -> &str {
    id.encode(buf);
    std::str::from_utf8(buf).unwrap_or_default()
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

fn attributes_json<'c>(cache: &'c mut HashMap<AttributesKey, CachedAttributes>, attrs: &CallAttributes) -> &'c str {
    let key = (
        attrs.user.as_ref().map_or(0, |a| Arc::as_ptr(a) as usize),
        attrs.weave.as_ref().map_or(0, |a| Arc::as_ptr(a) as usize),
        attrs.kind,
    );
    &cache
        .entry(key)
        .or_insert_with(|| CachedAttributes {
            _user: attrs.user.clone(),
            _weave: attrs.weave.clone(),
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

fn replay_op(tx: &Transaction<'_>, project_id: &str, op: &crate::fallback::FallbackOp) -> rusqlite::Result<()> {
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
