//! [`WireEncoder`]: a call's wire form (the fields of Weave's `calls/complete` item, the
//! same JSON as serializing [`crate::call::WireCall`]) written straight into a byte buffer.
//!
//! This is the exporter's hot path (every sink that writes JSON, and the fallback file), so
//! it avoids the generic serializer's per-field overhead: ids and timestamps are formatted
//! on the stack, captured JSON is copied verbatim (it is valid JSON by construction), and
//! the op ref and the attributes, shared by most calls, are encoded once per op and
//! attribute set and cached by pointer.

use crate::call::{AttributesIdentity, CallAttributes, CallRecord};
use crate::capture::write::{string as write_string, uint as write_u64};
use crate::exception::ExceptionJson;
use crate::ids::Id;
use crate::op::OpHandle;
use crate::time::{Timestamp, TimestampWriter};
use std::collections::HashMap;
use std::sync::Arc;

/// Cached entries are dropped past this many (different ops or attribute sets).
const MAX_CACHED: usize = 4096;

/// Encodes calls of one project as wire JSON. Keep one per sink or thread: it caches the
/// encoded op refs and attributes.
///
/// ```
/// use weave_core::wire::WireEncoder;
/// let mut encoder = WireEncoder::new("my-team/my-project");
/// assert_eq!(encoder.project_id(), "my-team/my-project");
/// // encoder.encode(&record, &mut out) for each call record.
/// ```
pub struct WireEncoder {
    project_id: String,
    project_json: Vec<u8>,
    /// Op refs by op address (the op is kept alive so the address keys only its entry).
    ops: JsonCache<usize, OpHandle>,
    /// Attribute objects by the addresses of their maps (kept alive for the same reason).
    attributes: JsonCache<AttributesIdentity, CallAttributes>,
    /// Timestamps (the text of the last second written is reused).
    timestamps: TimestampWriter,
}

impl std::fmt::Debug for WireEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireEncoder").field("project_id", &self.project_id).finish_non_exhaustive()
    }
}

impl WireEncoder {
    /// An encoder for calls of the project `entity/project`.
    pub fn new(project_id: impl Into<String>) -> WireEncoder {
        let project_id = project_id.into();
        let mut project_json = Vec::new();
        write_string(&mut project_json, &project_id);
        WireEncoder {
            project_id,
            project_json,
            ops: JsonCache::default(),
            attributes: JsonCache::default(),
            timestamps: TimestampWriter::default(),
        }
    }

    /// The project calls are encoded for.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// Appends the call's wire JSON object to `out`.
    pub fn encode(&mut self, record: &CallRecord, out: &mut Vec<u8>) {
        let start = &record.start;
        let end = record.end.as_ref();
        out.extend_from_slice(b"{\"project_id\":");
        out.extend_from_slice(&self.project_json);
        out.extend_from_slice(b",\"id\":");
        id(out, start.id);
        out.extend_from_slice(b",\"trace_id\":");
        id(out, start.trace_id);
        out.extend_from_slice(b",\"op_name\":");
        let op_ref = self.op_ref(&start.op);
        out.extend_from_slice(&op_ref);
        out.extend_from_slice(b",\"started_at\":");
        self.timestamp(out, start.started_at);
        out.extend_from_slice(b",\"ended_at\":");
        match end {
            Some(end) => self.timestamp(out, end.ended_at),
            None => null(out),
        }
        out.extend_from_slice(b",\"display_name\":");
        optional_string(out, record.display_name());
        out.extend_from_slice(b",\"parent_id\":");
        optional_id(out, start.parent_id);
        out.extend_from_slice(b",\"thread_id\":");
        optional_string(out, start.thread_id.as_deref());
        out.extend_from_slice(b",\"turn_id\":");
        optional_id(out, start.turn_id);
        out.extend_from_slice(b",\"attributes\":");
        let attributes = self.attributes(&start.attributes);
        out.extend_from_slice(&attributes);
        out.extend_from_slice(b",\"inputs\":");
        out.extend_from_slice(start.inputs.as_str().as_bytes());
        out.extend_from_slice(b",\"output\":");
        match end.and_then(|e| e.output.as_ref()) {
            Some(output) => out.extend_from_slice(output.as_str().as_bytes()),
            None => null(out),
        }
        out.extend_from_slice(b",\"summary\":");
        match end {
            Some(end) if end.summary.rest.is_none() => {
                out.extend_from_slice(b"{\"status_counts\":{\"error\":");
                write_u64(out, end.summary.error);
                out.extend_from_slice(b",\"success\":");
                write_u64(out, end.summary.success);
                out.extend_from_slice(b"}}");
            }
            Some(end) => {
                if serde_json::to_writer(&mut *out, &end.summary).is_err() {
                    out.extend_from_slice(b"{}");
                }
            }
            None => out.extend_from_slice(b"{}"),
        }
        out.extend_from_slice(b",\"exception\":");
        optional_string(out, end.and_then(|e| e.exception.as_ref()).map(ExceptionJson::as_str));
        out.extend_from_slice(b",\"otel_dump\":null,\"wb_user_id\":null,\"wb_run_id\":");
        optional_string(out, start.wb_run_id);
        out.extend_from_slice(b",\"wb_run_step\":null,\"wb_run_step_end\":null}");
    }

    fn op_ref(&mut self, op: &OpHandle) -> Arc<[u8]> {
        let project_id = &self.project_id;
        self.ops.get(op.as_ptr() as usize, || {
            let mut json = Vec::new();
            write_string(&mut json, &op.ref_uri(project_id));
            (op.clone(), json)
        })
    }

    fn attributes(&mut self, attributes: &CallAttributes) -> Arc<[u8]> {
        self.attributes.get(attributes.identity(), || {
            let json = serde_json::to_vec(&attributes.to_json()).unwrap_or_else(|_| b"{}".to_vec());
            (attributes.clone(), json)
        })
    }

    /// A timestamp as a JSON string.
    fn timestamp(&mut self, out: &mut Vec<u8>, t: Timestamp) {
        out.push(b'"');
        self.timestamps.write(t, out);
        out.push(b'"');
    }
}

/// Encoded JSON by key, with the entry used last in front (most calls in a batch share
/// it: no hashing for those). `Keep` holds what the key's addresses point at.
struct JsonCache<K, Keep> {
    entries: HashMap<K, (Keep, Arc<[u8]>)>,
    last: Option<(K, Arc<[u8]>)>,
}

impl<K, Keep> Default for JsonCache<K, Keep> {
    fn default() -> Self {
        JsonCache { entries: HashMap::new(), last: None }
    }
}

impl<K: std::hash::Hash + Eq + Copy, Keep> JsonCache<K, Keep> {
    fn get(&mut self, key: K, make: impl FnOnce() -> (Keep, Vec<u8>)) -> Arc<[u8]> {
        if let Some((last, json)) = &self.last {
            if *last == key {
                return Arc::clone(json);
            }
        }
        if self.entries.len() > MAX_CACHED {
            self.entries.clear();
        }
        let (_, json) = self.entries.entry(key).or_insert_with(|| {
            let (keep, json) = make();
            (keep, Arc::from(json))
        });
        let json = Arc::clone(json);
        self.last = Some((key, Arc::clone(&json)));
        json
    }
}

fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"null");
}

fn id(out: &mut Vec<u8>, id: Id) {
    let mut buf = [0u8; 36];
    id.encode(&mut buf);
    out.push(b'"');
    out.extend_from_slice(&buf);
    out.push(b'"');
}

fn optional_id(out: &mut Vec<u8>, value: Option<Id>) {
    match value {
        Some(value) => id(out, value),
        None => null(out),
    }
}

fn optional_string(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => write_string(out, value),
        None => null(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{CallEnd, CallStart};
    use crate::capture::RawJson;
    use crate::json::JsonObject;
    use crate::op::OpDef;
    use crate::summary::Summary;
    use serde_json::{json, Value};

    fn record(end: Option<CallEnd>, user: Option<Arc<JsonObject>>) -> CallRecord {
        let op = crate::op::OpHandle::from(Arc::new(OpDef::new("say \"hi\"", "fn f() {}", true, None, false)));
        let started_at = Timestamp::from_unix_micros(1_795_790_038_493_548);
        let mut weave = JsonObject::new();
        weave.insert("client_version".into(), json!("0.1.0"));
        let start = CallStart {
            id: Id::new_v7(1),
            trace_id: Id::new_v7(2),
            parent_id: Some(Id::new_v7(3)),
            op,
            started_at,
            inputs: RawJson::from_value(&json!({"a": 1, "text": "x\ny"})),
            attributes: CallAttributes { user, weave: Some(crate::interned::object(weave)), kind: Some("llm") },
            display_name: Some("tab\there".to_string()),
            thread_id: Some(Arc::from("thread-1")),
            turn_id: None,
            wb_run_id: Some("e/p/run"),
        };
        CallRecord { start, end }
    }

    fn same_as_serde(record: &CallRecord) {
        let mut encoder = WireEncoder::new("my-team/\"proj\"");
        let mut fast = Vec::new();
        encoder.encode(record, &mut fast);
        // Twice, to go through the caches.
        let mut again = Vec::new();
        encoder.encode(record, &mut again);
        let slow = serde_json::to_vec(&record.wire("my-team/\"proj\"")).expect("serde");
        assert_eq!(String::from_utf8_lossy(&fast), String::from_utf8_lossy(&slow));
        assert_eq!(fast, again);
        let _: Value = serde_json::from_slice(&fast).expect("valid JSON");
    }

    #[test]
    fn writes_the_same_text_as_the_serde_wire_form() {
        let mut user = JsonObject::new();
        user.insert("env".into(), json!("prod"));
        let mut rest = JsonObject::new();
        rest.insert("usage".into(), json!({"gpt": {"requests": 1}}));
        let ends = [
            None,
            Some(CallEnd {
                ended_at: Timestamp::from_unix_micros(1_795_790_038_600_000),
                output: Some(RawJson::from_value(&json!("ok"))),
                exception: None,
                summary: Summary { success: 1, error: 0, rest: None },
                display_name: None,
            }),
            Some(CallEnd {
                ended_at: Timestamp::from_unix_micros(1_795_790_038_600_000),
                output: None,
                exception: Some("{\"exc_type\": \"ValueError\"}".into()),
                summary: Summary { success: 2, error: 1, rest: Some(Box::new(rest)) },
                display_name: Some("renamed".to_string()),
            }),
        ];
        let next_day = CallEnd {
            ended_at: Timestamp::from_unix_micros(1_795_790_038_493_548 + 86_400_000_000 + 7),
            ..CallEnd::default()
        };
        for end in ends.into_iter().chain([Some(next_day)]) {
            same_as_serde(&record(end, Some(Arc::new(user.clone()))));
        }
        same_as_serde(&record(None, None));
    }

    #[test]
    fn timestamps_through_the_cache_match_their_display() {
        let base = 1_795_790_038_493_548i64;
        let micros = [
            base,
            base + 1,
            base + 506_451, // the last microsecond of that second
            base + 506_452, // the next second
            base - 1_000_000,
            base + 86_400_000_000,
            0,
            -1,
            -86_400_000_000 - 999_999,
            253_402_300_800_000_000, // year 10000: outside the four-digit form
            base,
        ];
        let mut encoder = WireEncoder::new("e/p");
        for m in micros {
            let t = Timestamp::from_unix_micros(m);
            let mut out = Vec::new();
            encoder.timestamp(&mut out, t);
            assert_eq!(String::from_utf8(out).expect("utf-8"), format!("\"{t}\""), "{m}");
        }
    }
}
