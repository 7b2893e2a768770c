//! One line of the fallback file: [`FallbackEntry`] (as read back), and the encoding of
//! items into lines, [`encode_entry`] and [`FallbackEncoder`] (what the exporter's spill
//! uses).
//!
//! Each line is `{"reason":..,"project_id":..,"kind":"call_finished"|..,"item":<wire item>}`,
//! plus `"op":{name,digest,source}` on the first call of each op in the file.

use crate::item::{record_of, ItemKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use weave_core::call::CallRecord;
use weave_core::export::ExportItem;
use weave_core::op::{OpDef, OpHandle};
use weave_core::wire::WireEncoder;

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
