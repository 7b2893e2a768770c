//! The trace server's routes and the wire forms this sink sends, as the Python client
//! sends them (see the protocol reference): the `calls/complete` item (a
//! [`weave_core::call::WireCall`]), `StartedCallSchemaForInsert`,
//! `EndedCallSchemaForInsert`, legacy `upsert_batch` items, the op object, and the
//! `{"batch": [...]}` envelope.
//!
//! Calls come from two places: the live [`CallRecord`]s of this process, and the wire
//! JSON of calls read back from the fallback file; [`CallSource`] gives both the same
//! encoders.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use weave_core::call::CallRecord;
use weave_core::summary::Summary;

/// `GET`: the server's version.
pub(crate) const SERVER_INFO: &str = "/server_info";
/// Multipart file upload.
pub(crate) const FILE_CREATE: &str = "/file/create";
/// Object (and op) versions.
pub(crate) const OBJ_CREATE: &str = "/obj/create";
/// Tables (a dataset's rows).
pub(crate) const TABLE_CREATE: &str = "/table/create";
/// The project's internal id, which the server writes refs with before digesting.
pub(crate) const PROJECTS_INFO: &str = "/service/projects_info";
/// Batched feedback.
pub(crate) const FEEDBACK_BATCH_CREATE: &str = "/feedback/batch/create";
/// One feedback item (servers without the batch route).
pub(crate) const FEEDBACK_CREATE: &str = "/feedback/create";
/// The legacy call write path.
pub(crate) const UPSERT_BATCH: &str = "/call/upsert_batch";

/// `/v2/{entity}/{project}/calls/complete`.
pub(crate) fn calls_complete(project_id: &str) -> String {
    format!("/v2/{project_id}/calls/complete")
}

/// `/v2/{entity}/{project}/call/start`.
pub(crate) fn call_start(project_id: &str) -> String {
    format!("/v2/{project_id}/call/start")
}

/// `/v2/{entity}/{project}/call/end`.
pub(crate) fn call_end(project_id: &str) -> String {
    format!("/v2/{project_id}/call/end")
}

/// The fields of `StartedCallSchemaForInsert`, in the order the Python client sends them.
const START_FIELDS: [&str; 15] = [
    "project_id",
    "id",
    "op_name",
    "display_name",
    "trace_id",
    "parent_id",
    "thread_id",
    "turn_id",
    "started_at",
    "attributes",
    "inputs",
    "otel_dump",
    "wb_user_id",
    "wb_run_id",
    "wb_run_step",
];

/// A call to send: a live record, or wire JSON read back from the fallback file.
#[derive(Clone, Copy)]
pub(crate) enum CallSource<'a> {
    /// A call of this process.
    Record(&'a CallRecord),
    /// A `calls/complete` item (from the fallback file).
    Wire(&'a Value),
}

impl<'a> CallSource<'a> {
    /// The call id.
    pub(crate) fn id(&self) -> String {
        match self {
            CallSource::Record(r) => r.start.id.to_string(),
            CallSource::Wire(v) => str_field(v, "id").to_string(),
        }
    }

    /// The trace id.
    pub(crate) fn trace_id(&self) -> String {
        match self {
            CallSource::Record(r) => r.start.trace_id.to_string(),
            CallSource::Wire(v) => str_field(v, "trace_id").to_string(),
        }
    }

    /// The `calls/complete` item.
    pub(crate) fn complete(&self, project_id: &str) -> Result<Vec<u8>, String> {
        match self {
            CallSource::Record(r) => serde_json::to_vec(&r.wire(project_id)),
            CallSource::Wire(v) => serde_json::to_vec(v),
        }
        .map_err(|e| format!("could not encode call {}: {e}", self.id()))
    }

    /// `StartedCallSchemaForInsert`.
    pub(crate) fn start(&self, project_id: &str) -> Result<Vec<u8>, String> {
        match self {
            CallSource::Record(r) => serde_json::to_vec(&StartWire { record: r, project_id }),
            CallSource::Wire(v) => {
                let mut out = Map::new();
                for key in START_FIELDS {
                    out.insert(key.to_string(), v.get(key).cloned().unwrap_or(Value::Null));
                }
                default_object(&mut out, "attributes");
                default_object(&mut out, "inputs");
                serde_json::to_vec(&out)
            }
        }
        .map_err(|e| format!("could not encode the start of call {}: {e}", self.id()))
    }

    /// `EndedCallSchemaForInsert`.
    pub(crate) fn end(&self, project_id: &str) -> Result<Vec<u8>, String> {
        match self {
            CallSource::Record(r) => serde_json::to_vec(&EndWire { record: r, project_id }),
            CallSource::Wire(v) => {
                let mut out = Map::new();
                for key in ["project_id", "id", "trace_id"] {
                    out.insert(key.to_string(), v.get(key).cloned().unwrap_or(Value::Null));
                }
                let attributes = v.get("attributes").and_then(Value::as_object);
                let is_eval = is_eval(str_field(v, "op_name"), attributes.is_some_and(|a| a.contains_key(EVAL_META)));
                out.insert("is_eval".into(), Value::Bool(is_eval));
                for key in ["ended_at", "started_at", "exception", "output", "summary", "wb_run_step_end"] {
                    out.insert(key.to_string(), v.get(key).cloned().unwrap_or(Value::Null));
                }
                default_object(&mut out, "summary");
                serde_json::to_vec(&out)
            }
        }
        .map_err(|e| format!("could not encode the end of call {}: {e}", self.id()))
    }
}

/// `{"start": <start>}` / `{"end": <end>}`: the bodies of the v2 single-call routes.
pub(crate) fn wrap(key: &str, inner: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(inner.len() + key.len() + 6);
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(inner);
    out.push(b'}');
    out
}

/// A legacy `upsert_batch` item: `{"mode":"start","req":{"start":..}}` (or `end`).
pub(crate) fn upsert_item(mode: &str, inner: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(inner.len() + 40);
    out.extend_from_slice(b"{\"mode\":\"");
    out.extend_from_slice(mode.as_bytes());
    out.extend_from_slice(b"\",\"req\":");
    out.extend_from_slice(&wrap(mode, inner));
    out.push(b'}');
    out
}

/// `{"batch": [items...]}`.
pub(crate) fn batch_body<'b>(items: impl Iterator<Item = &'b [u8]>) -> Vec<u8> {
    let mut out = b"{\"batch\":[".to_vec();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.extend_from_slice(b"]}");
    out
}

/// The bytes `{"batch":[` + `]}` and the commas add to the items.
pub(crate) fn batch_overhead(items: usize) -> usize {
    12 + items.saturating_sub(1)
}

/// `/obj/create`'s body for a value.
pub(crate) fn obj_create(project_id: &str, object_id: &str, val: &Value) -> Result<Vec<u8>, String> {
    let body = serde_json::json!({"obj": {
        "project_id": project_id,
        "object_id": object_id,
        "val": val,
        "builtin_object_class": null,
        "expected_digest": null,
        "wb_user_id": null,
    }});
    serde_json::to_vec(&body).map_err(|e| format!("could not encode object {object_id}: {e}"))
}

/// The attributes key marking evaluation calls.
const EVAL_META: &str = "_weave_eval_meta";

fn is_eval(op_ref_or_name: &str, has_eval_meta: bool) -> bool {
    has_eval_meta || op_ref_or_name == "Evaluation.evaluate" || op_ref_or_name.contains("/op/Evaluation.evaluate:")
}

fn str_field<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn default_object(map: &mut Map<String, Value>, key: &str) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), Value::Object(Map::new()));
    }
}

struct StartWire<'a> {
    record: &'a CallRecord,
    project_id: &'a str,
}

impl Serialize for StartWire<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let start = &self.record.start;
        let mut map = serializer.serialize_map(Some(START_FIELDS.len()))?;
        map.serialize_entry("project_id", self.project_id)?;
        map.serialize_entry("id", &start.id)?;
        map.serialize_entry("op_name", &start.op.ref_uri(self.project_id))?;
        map.serialize_entry("display_name", &self.record.display_name())?;
        map.serialize_entry("trace_id", &start.trace_id)?;
        map.serialize_entry("parent_id", &start.parent_id)?;
        map.serialize_entry("thread_id", &start.thread_id.as_deref())?;
        map.serialize_entry("turn_id", &start.turn_id)?;
        map.serialize_entry("started_at", &start.started_at)?;
        map.serialize_entry("attributes", &start.attributes.to_json())?;
        map.serialize_entry("inputs", &start.inputs)?;
        map.serialize_entry("otel_dump", &Value::Null)?;
        map.serialize_entry("wb_user_id", &Value::Null)?;
        map.serialize_entry("wb_run_id", &start.wb_run_id)?;
        map.serialize_entry("wb_run_step", &Value::Null)?;
        map.end()
    }
}

struct EndWire<'a> {
    record: &'a CallRecord,
    project_id: &'a str,
}

impl Serialize for EndWire<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let start = &self.record.start;
        let end = self.record.end.as_ref();
        let has_eval_meta = start.attributes.user.as_ref().is_some_and(|u| u.contains_key(EVAL_META));
        let mut map = serializer.serialize_map(Some(10))?;
        map.serialize_entry("project_id", self.project_id)?;
        map.serialize_entry("id", &start.id)?;
        map.serialize_entry("trace_id", &start.trace_id)?;
        map.serialize_entry("is_eval", &is_eval(start.op.name(), has_eval_meta))?;
        match end {
            Some(end) => {
                map.serialize_entry("ended_at", &end.ended_at)?;
                map.serialize_entry("started_at", &start.started_at)?;
                map.serialize_entry("exception", &end.exception)?;
                map.serialize_entry("output", &end.output)?;
                map.serialize_entry("summary", &end.summary)?;
            }
            None => {
                map.serialize_entry("ended_at", &start.started_at)?;
                map.serialize_entry("started_at", &start.started_at)?;
                map.serialize_entry("exception", &Value::Null)?;
                map.serialize_entry("output", &Value::Null)?;
                map.serialize_entry("summary", &Summary::default())?;
            }
        }
        map.serialize_entry("wb_run_step_end", &Value::Null)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        assert_eq!(wrap("start", b"{}"), br#"{"start":{}}"#.to_vec());
        assert_eq!(upsert_item("end", b"{}"), br#"{"mode":"end","req":{"end":{}}}"#.to_vec());
        let items: Vec<&[u8]> = vec![b"1", b"2"];
        let body = batch_body(items.iter().copied());
        assert_eq!(body, br#"{"batch":[1,2]}"#.to_vec());
        assert_eq!(body.len(), 2 + batch_overhead(2));
    }

    #[test]
    fn wire_calls_give_starts_and_ends() {
        let call = serde_json::json!({
            "project_id": "e/p", "id": "c", "trace_id": "t", "op_name": "weave:///e/p/op/f:d",
            "started_at": "2026-01-01T00:00:00.000000Z", "ended_at": "2026-01-01T00:00:01.000000Z",
            "inputs": {"x": 1}, "output": 2, "summary": {"status_counts": {"success": 1, "error": 0}},
            "attributes": null,
        });
        let start: Value = serde_json::from_slice(&CallSource::Wire(&call).start("e/p").unwrap()).unwrap();
        assert_eq!(start["inputs"]["x"], 1);
        assert_eq!(start["attributes"], serde_json::json!({}));
        assert!(start.get("output").is_none());
        let end: Value = serde_json::from_slice(&CallSource::Wire(&call).end("e/p").unwrap()).unwrap();
        assert_eq!(end["output"], 2);
        assert_eq!(end["is_eval"], false);
        assert!(end.get("inputs").is_none());
    }
}
