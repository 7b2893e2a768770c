//! The call record: the fields of Weave's CallSchema, split into what is known when a call
//! starts and what is known when it ends, and their wire form.

use crate::capture::RawJson;
use crate::exception::ExceptionJson;
use crate::ids::Id;
use crate::op::OpHandle;
use crate::summary::Summary;
use crate::time::Timestamp;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use std::sync::Arc;

pub use crate::json::JsonObject;

/// What is known when a call starts. The running call keeps it; the records sent to the
/// exporter carry a copy (cheap: ids, shared `Arc`s, and the inputs, which the running call
/// hands over when it ends).
#[derive(Debug, Clone)]
pub struct CallStart {
    /// The call's id (UUIDv7).
    pub id: Id,
    /// The trace's id: a root call's differs from its id; children inherit it.
    pub trace_id: Id,
    /// The parent call's id, `None` for a root call.
    pub parent_id: Option<Id>,
    /// The op this call is a call of.
    pub op: OpHandle,
    /// When the call started.
    pub started_at: Timestamp,
    /// The inputs: a JSON object keyed by parameter name.
    pub inputs: RawJson,
    /// Attributes, frozen at call start.
    pub attributes: CallAttributes,
    /// The display name given when the call started (the op's `display_name`).
    pub display_name: Option<String>,
    /// The conversation thread this call belongs to.
    pub thread_id: Option<Arc<str>>,
    /// The turn (the top-level call within a thread) this call belongs to.
    pub turn_id: Option<Id>,
    /// `entity/project/run_id` of the W&B run (from `WANDB_RUN_ID`).
    pub wb_run_id: Option<&'static str>,
}

/// What is known when a call ends.
#[derive(Debug, Default)]
pub struct CallEnd {
    /// When the call ended.
    pub ended_at: Timestamp,
    /// The output as JSON (`None` when there is none: most calls that failed).
    pub output: Option<RawJson>,
    /// The exception, as a JSON string in Weave's format once encoded, for errors, panics
    /// and cancellations. Set together with an output only for a call ended with what it
    /// had produced so far ([`crate::manual::StartedCall::fail_with_output`]: a stream
    /// dropped before its end). The runtime sets it
    /// unencoded: the exporter encodes it (resolving a panic's backtrace) when it writes
    /// the call, off the application's thread.
    pub exception: Option<ExceptionJson>,
    /// Status counts, usage and user keys.
    pub summary: Summary,
    /// A display name set while the call ran (wins over the start's).
    pub display_name: Option<String>,
}

/// One call as the exporter receives it.
#[derive(Debug)]
pub struct CallRecord {
    /// The start half.
    pub start: CallStart,
    /// The end half; `None` for a call that has started but not ended (an eager start, or
    /// a call still open at shutdown).
    pub end: Option<CallEnd>,
}

impl CallRecord {
    /// Drops what the record holds on the heap (its values, names and attributes), for its
    /// box to be reused ([`crate::export::recycle_records`]). A record that holds nothing
    /// there (most: short values, no names) is left as it is: the next call's record
    /// replaces it anyway.
    pub(crate) fn clear(&mut self) {
        let start = &self.start;
        let end_holds = self.end.as_ref().is_some_and(|end| {
            end.output.as_ref().is_some_and(RawJson::is_on_heap)
                || end.exception.is_some()
                || end.summary.rest.is_some()
                || end.display_name.is_some()
        });
        let start_holds = start.inputs.is_on_heap()
            || start.display_name.is_some()
            || start.thread_id.is_some()
            || start.attributes.user.is_some();
        if end_holds {
            self.end = None;
        }
        if start_holds {
            let start = &mut self.start;
            start.inputs = RawJson::null();
            start.display_name = None;
            start.thread_id = None;
            start.attributes.user = None;
        }
    }

    /// A record of a call of `op` with nothing in it yet, for its fields to be set one by
    /// one (a new record's box, when no spare one is at hand).
    pub(crate) fn blank(op: OpHandle) -> CallRecord {
        CallRecord {
            start: CallStart {
                id: Id::from_u128(0),
                trace_id: Id::from_u128(0),
                parent_id: None,
                op,
                started_at: Timestamp::default(),
                inputs: RawJson::null(),
                attributes: CallAttributes::default(),
                display_name: None,
                thread_id: None,
                turn_id: None,
                wb_run_id: None,
            },
            end: None,
        }
    }

    /// The display name: the one set during the call, else the one from its start.
    pub fn display_name(&self) -> Option<&str> {
        self.end.as_ref().and_then(|e| e.display_name.as_deref()).or(self.start.display_name.as_deref())
    }

    /// The wire form of this call (the fields of Weave's `calls/complete` item, or of a
    /// call start when the call has not ended) for a project `entity/project`.
    pub fn wire<'a>(&'a self, project_id: &'a str) -> WireCall<'a> {
        WireCall { record: self, project_id }
    }
}

/// Attributes of a call: user attributes from `weave::attributes(...)` scopes plus the
/// reserved `weave` key (client and system info, the op's kind).
#[derive(Debug, Clone, Default)]
pub struct CallAttributes {
    /// User attributes, merged from the enclosing scopes (inner wins).
    pub user: Option<Arc<JsonObject>>,
    /// The client's `weave` attributes (source, versions, OS), shared by all calls.
    pub weave: Option<&'static JsonObject>,
    /// The op's kind, written as `weave.kind`.
    pub kind: Option<&'static str>,
}

/// What identifies a [`CallAttributes`] without reading its maps: the addresses of the
/// user and SDK maps (0 for none) and the kind. Equal identities mean equal attributes
/// while the maps are alive (a cache keyed by it keeps them alive).
pub type AttributesIdentity = (usize, usize, Option<&'static str>);

impl CallAttributes {
    /// This value's [`AttributesIdentity`], for caching its encoded JSON.
    pub fn identity(&self) -> AttributesIdentity {
        (
            self.user.as_ref().map_or(0, |m| Arc::as_ptr(m) as usize),
            self.weave.map_or(0, |m| m as *const JsonObject as usize),
            self.kind,
        )
    }

    /// The attributes as one JSON object.
    pub fn to_json(&self) -> JsonObject {
        let mut out = self.user.as_deref().cloned().unwrap_or_default();
        let mut weave = match out.remove("weave") {
            Some(Value::Object(user_weave)) => user_weave,
            _ => JsonObject::new(),
        };
        if let Some(base) = &self.weave {
            for (k, v) in base.iter() {
                weave.insert(k.clone(), v.clone());
            }
        }
        if let Some(kind) = self.kind {
            weave.insert("kind".into(), Value::String(kind.into()));
        }
        out.insert("weave".into(), Value::Object(weave));
        out
    }
}

/// A call in Weave's wire form (see [`CallRecord::wire`]).
pub struct WireCall<'a> {
    record: &'a CallRecord,
    project_id: &'a str,
}

impl Serialize for WireCall<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let start = &self.record.start;
        let end = self.record.end.as_ref();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("project_id", self.project_id)?;
        map.serialize_entry("id", &start.id)?;
        map.serialize_entry("trace_id", &start.trace_id)?;
        map.serialize_entry("op_name", &start.op.ref_uri(self.project_id))?;
        map.serialize_entry("started_at", &start.started_at)?;
        map.serialize_entry("ended_at", &end.map(|e| e.ended_at))?;
        map.serialize_entry("display_name", &self.record.display_name())?;
        map.serialize_entry("parent_id", &start.parent_id)?;
        map.serialize_entry("thread_id", &start.thread_id.as_deref())?;
        map.serialize_entry("turn_id", &start.turn_id)?;
        map.serialize_entry("attributes", &start.attributes.to_json())?;
        map.serialize_entry("inputs", &start.inputs)?;
        if let Some(end) = end {
            map.serialize_entry("output", &end.output)?;
            map.serialize_entry("summary", &end.summary)?;
            map.serialize_entry("exception", &end.exception)?;
        } else {
            map.serialize_entry("output", &Value::Null)?;
            map.serialize_entry("summary", &JsonObject::new())?;
            map.serialize_entry("exception", &Value::Null)?;
        }
        map.serialize_entry("otel_dump", &Value::Null)?;
        map.serialize_entry("wb_user_id", &Value::Null)?;
        map.serialize_entry("wb_run_id", &start.wb_run_id)?;
        map.serialize_entry("wb_run_step", &Value::Null)?;
        map.serialize_entry("wb_run_step_end", &Value::Null)?;
        map.end()
    }
}
