//! Reading the local store: [`CallQuery`] filters, [`StoredCall`] rows with the computed
//! `summary.weave` part the Weave server adds (`status`, `latency_ms`, `trace_name`), and
//! the op queries ([`StoredOp`], [`LocalStore::op_source`]). Every query first indexes
//! a bounded part of the calls logged since the last one (see [`LocalStore::index_some`]),
//! unless the store is read-only.

use super::error::StoreError;
use super::store::LocalStore;
use rusqlite::types::Value as SqlValue;
use rusqlite::Row;
use serde_json::{Map, Value};
use std::time::Duration;
use weave_core::op::OP_SOURCE_FILE;
use weave_core::time::Timestamp;

/// Which calls [`LocalStore::calls`] returns. All filters are optional and combine with
/// AND; calls come in start order (oldest first unless `newest_first`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallQuery {
    /// Only calls of this project (`entity/project`).
    pub project_id: Option<String>,
    /// Only calls of this trace.
    pub trace_id: Option<String>,
    /// Only the children of this call.
    pub parent_id: Option<String>,
    /// Only calls of the op with this name (the base name, e.g. `answer`, not the ref).
    pub op_name: Option<String>,
    /// Only root calls (no parent).
    pub roots_only: bool,
    /// Only calls with this status (as [`StoredCall::status`] computes it).
    pub status: Option<Status>,
    /// The newest calls first.
    pub newest_first: bool,
    /// At most this many calls.
    pub limit: Option<usize>,
    /// Skip this many calls first.
    pub offset: Option<usize>,
}

/// The status of a stored call, as Weave computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The call ended without an exception and so did everything under it.
    Success,
    /// The call ended with an exception.
    Error,
    /// The call has not ended (an eager start, or a call left open at shutdown).
    Running,
    /// The call succeeded but a call under it failed.
    DescendantError,
}

impl Status {
    /// `success`, `error`, `running` or `descendant_error`, as in Weave.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Running => "running",
            Status::DescendantError => "descendant_error",
        }
    }
}

/// A call as stored, in the shape of Weave's CallSchema.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCall {
    /// The project, `entity/project`.
    pub project_id: String,
    /// The call id (UUIDv7).
    pub id: String,
    /// The trace id.
    pub trace_id: String,
    /// The parent call's id; `None` for a root call.
    pub parent_id: Option<String>,
    /// The op's ref, `weave:///entity/project/op/name:digest`.
    pub op_name: String,
    /// The op's name alone.
    pub op_base_name: String,
    /// The display name, if one was set.
    pub display_name: Option<String>,
    /// The conversation thread.
    pub thread_id: Option<String>,
    /// The turn.
    pub turn_id: Option<String>,
    /// When the call started.
    pub started_at: Timestamp,
    /// When the call ended; `None` while it runs (or if it never ended).
    pub ended_at: Option<Timestamp>,
    /// Attributes (a JSON object).
    pub attributes: Value,
    /// Inputs by parameter name (a JSON object).
    pub inputs: Value,
    /// The output (`null` for errors and unfinished calls).
    pub output: Value,
    /// The exception as Weave's JSON string (`{"type","message","traceback"}`).
    pub exception: Option<String>,
    /// The summary (`status_counts`, `usage`, user keys) plus the computed `weave` part:
    /// `{"status", "latency_ms", "trace_name"}`.
    pub summary: Value,
    /// The W&B run, `entity/project/run_id`.
    pub wb_run_id: Option<String>,
}

impl StoredCall {
    /// The call's status: running, error, descendant error or success.
    pub fn status(&self) -> Status {
        if self.ended_at.is_none() {
            Status::Running
        } else if self.exception.is_some() {
            Status::Error
        } else if self.descendant_errors() > 0 {
            Status::DescendantError
        } else {
            Status::Success
        }
    }

    /// How long the call took; `None` while it runs.
    pub fn latency(&self) -> Option<Duration> {
        let ended = self.ended_at?;
        let micros = ended.unix_micros().saturating_sub(self.started_at.unix_micros()).max(0);
        Some(Duration::from_micros(micros as u64))
    }

    /// The name shown for the call: its display name, else its op's name.
    pub fn trace_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.op_base_name)
    }

    /// True for a call with no parent.
    pub fn is_root(&self) -> bool {
        self.parent_id.is_none()
    }

    /// The exception's message (Weave's JSON `message` field, else the whole text).
    pub fn exception_message(&self) -> Option<String> {
        let text = self.exception.as_deref()?;
        let parsed: Option<Value> = serde_json::from_str(text).ok();
        let message = parsed.as_ref().and_then(|v| {
            let message = v.get("message").and_then(Value::as_str).filter(|m| !m.is_empty());
            message.or_else(|| v.get("type").and_then(Value::as_str)).map(str::to_string)
        });
        Some(message.unwrap_or_else(|| text.to_string()))
    }

    /// Errors in the calls under this one (`summary.status_counts.error`, minus this
    /// call's own error).
    pub fn descendant_errors(&self) -> u64 {
        let counted = self.summary.pointer("/status_counts/error").and_then(Value::as_u64).unwrap_or(0);
        counted.saturating_sub(u64::from(self.exception.is_some()))
    }

    /// The call in Weave's CallSchema JSON form (as `calls/stream_query` returns it).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "project_id": self.project_id,
            "id": self.id,
            "op_name": self.op_name,
            "display_name": self.display_name,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "thread_id": self.thread_id,
            "turn_id": self.turn_id,
            "started_at": self.started_at.to_string(),
            "ended_at": self.ended_at.map(|t| t.to_string()),
            "attributes": self.attributes,
            "inputs": self.inputs,
            "output": self.output,
            "exception": self.exception,
            "summary": self.summary,
            "wb_user_id": null,
            "wb_run_id": self.wb_run_id,
        })
    }

    /// A call as stored, from a row of the [`CALL_COLUMNS`] (or [`CALL_COLUMNS_BRIEF`])
    /// selection, without the `summary.weave` the store's own queries add: for readers
    /// with SQL of their own over the same table.
    pub fn from_columns(row: &Row<'_>) -> rusqlite::Result<StoredCall> {
        Ok(StoredCall {
            project_id: row.get(0)?,
            id: row.get(1)?,
            trace_id: row.get(2)?,
            parent_id: row.get(3)?,
            op_name: row.get(4)?,
            op_base_name: row.get(5)?,
            display_name: row.get(6)?,
            thread_id: row.get(7)?,
            turn_id: row.get(8)?,
            started_at: Timestamp::from_unix_micros(row.get(9)?),
            ended_at: row.get::<_, Option<i64>>(10)?.map(Timestamp::from_unix_micros),
            attributes: parse_json(row.get(11)?),
            inputs: parse_json(row.get(12)?),
            output: parse_json(row.get(13)?),
            exception: row.get(14)?,
            summary: parse_json(row.get(15)?),
            wb_run_id: row.get(16)?,
        })
    }

    fn from_row(row: &Row<'_>) -> rusqlite::Result<StoredCall> {
        let mut call = StoredCall::from_columns(row)?;
        call.add_weave_summary();
        Ok(call)
    }

    /// Adds `summary.weave = {status, latency_ms, trace_name[, display_name]}` as the
    /// Weave server does on read.
    fn add_weave_summary(&mut self) {
        let mut weave = Map::new();
        weave.insert("status".into(), self.status().as_str().into());
        if let Some(latency) = self.latency() {
            weave.insert("latency_ms".into(), (latency.as_millis() as u64).into());
        }
        weave.insert("trace_name".into(), self.trace_name().into());
        if let Some(name) = &self.display_name {
            weave.insert("display_name".into(), name.clone().into());
        }
        if !self.summary.is_object() {
            self.summary = Value::Object(Map::new());
        }
        if let Value::Object(summary) = &mut self.summary {
            match summary.get_mut("weave") {
                Some(Value::Object(existing)) => existing.extend(weave),
                _ => {
                    summary.insert("weave".into(), Value::Object(weave));
                }
            }
        }
    }
}

fn parse_json(text: Option<String>) -> Value {
    match text {
        None => Value::Null,
        Some(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// An op as stored: its name, version and source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOp {
    /// The project, `entity/project`.
    pub project_id: String,
    /// The op's name.
    pub name: String,
    /// The op's digest (its version).
    pub digest: String,
    /// The digest of its `obj.py` file.
    pub file_digest: Option<String>,
    /// The content of its `obj.py` file: Python holding its Rust source (which
    /// `weave_core::op::rust_source` reads out of it).
    pub source: Option<String>,
    /// When this version was first saved.
    pub created_at: Option<Timestamp>,
}

impl StoredOp {
    /// The op's ref, `weave:///entity/project/op/name:digest`.
    pub fn ref_uri(&self) -> String {
        weave_core::refs::op_ref_uri(&self.project_id, &self.name, &self.digest)
    }
}

/// The errors counted under a call (`summary.status_counts.error`), 0 when the summary is
/// not JSON or has none.
macro_rules! counted_errors {
    () => {
        "COALESCE(CASE WHEN json_valid(summary) THEN json_extract(summary, '$.status_counts.error') END, 0)"
    };
}

/// The SQL condition of a status, as [`StoredCall::status`] decides it.
fn status_condition(status: Status) -> &'static str {
    match status {
        Status::Running => "ended_at_us IS NULL",
        Status::Error => "(ended_at_us IS NOT NULL AND exception IS NOT NULL)",
        Status::DescendantError => {
            concat!("(ended_at_us IS NOT NULL AND exception IS NULL AND ", counted_errors!(), " > 0)")
        }
        Status::Success => concat!("(ended_at_us IS NOT NULL AND exception IS NULL AND ", counted_errors!(), " <= 0)"),
    }
}

/// The columns of `calls` a [`StoredCall`] is read from ([`StoredCall::from_columns`]), in
/// order.
pub const CALL_COLUMNS: &str = "project_id, id, trace_id, parent_id, op_name, op_base_name, display_name, thread_id, \
    turn_id, started_at_us, ended_at_us, attributes, inputs, output, exception, summary, wb_run_id";

/// [`CALL_COLUMNS`] with `NULL` for attributes, inputs and output (the large ones): for
/// listings.
pub const CALL_COLUMNS_BRIEF: &str = "project_id, id, trace_id, parent_id, op_name, op_base_name, display_name, \
    thread_id, turn_id, started_at_us, ended_at_us, NULL, NULL, NULL, exception, summary, wb_run_id";

impl LocalStore {
    /// The calls matching `query`, in start order.
    pub fn calls(&self, query: &CallQuery) -> Result<Vec<StoredCall>, StoreError> {
        let mut sql = format!("SELECT {CALL_COLUMNS} FROM calls WHERE 1 = 1");
        let mut args: Vec<SqlValue> = Vec::new();
        for (column, value) in [
            ("project_id", &query.project_id),
            ("trace_id", &query.trace_id),
            ("parent_id", &query.parent_id),
            ("op_base_name", &query.op_name),
        ] {
            if let Some(value) = value {
                args.push(SqlValue::Text(value.clone()));
                sql.push_str(&format!(" AND {column} = ?{}", args.len()));
            }
        }
        if query.roots_only {
            sql.push_str(" AND parent_id IS NULL");
        }
        if let Some(status) = query.status {
            sql.push_str(" AND ");
            sql.push_str(status_condition(status));
        }
        let direction = if query.newest_first { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY started_at_us {direction}, id {direction}"));
        if query.limit.is_some() || query.offset.is_some() {
            let limit = query.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
            let offset = query.offset.map_or(0, |o| i64::try_from(o).unwrap_or(i64::MAX));
            sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
        }
        self.query_calls(&sql, args)
    }

    /// One call by id.
    pub fn call(&self, id: &str) -> Result<Option<StoredCall>, StoreError> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = ?1");
        Ok(self.query_calls(&sql, vec![SqlValue::Text(id.to_string())])?.into_iter().next())
    }

    /// Every call of a trace, in start order.
    pub fn trace(&self, trace_id: &str) -> Result<Vec<StoredCall>, StoreError> {
        self.calls(&CallQuery { trace_id: Some(trace_id.to_string()), ..CallQuery::default() })
    }

    /// The direct children of a call, in start order.
    pub fn children(&self, id: &str) -> Result<Vec<StoredCall>, StoreError> {
        self.calls(&CallQuery { parent_id: Some(id.to_string()), ..CallQuery::default() })
    }

    /// The number of calls (of one project, or of all).
    pub fn count_calls(&self, project_id: Option<&str>) -> Result<u64, StoreError> {
        self.index_for_query()?;
        let count: i64 = match project_id {
            Some(p) => self.conn.query_row("SELECT COUNT(*) FROM calls WHERE project_id = ?1", [p], |r| r.get(0)),
            None => self.conn.query_row("SELECT COUNT(*) FROM calls", [], |r| r.get(0)),
        }
        .map_err(|e| StoreError::sqlite("could not count calls", e))?;
        Ok(count.max(0) as u64)
    }

    /// The projects that have calls.
    pub fn projects(&self) -> Result<Vec<String>, StoreError> {
        self.index_for_query()?;
        let context = "could not list projects";
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT project_id FROM calls ORDER BY project_id")
            .map_err(|e| StoreError::sqlite(context, e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| StoreError::sqlite(context, e))?;
        rows.collect::<Result<Vec<String>, _>>().map_err(|e| StoreError::sqlite(context, e))
    }

    /// The ops saved (of one project, or of all), by name then age, with their source.
    pub fn ops(&self, project_id: Option<&str>) -> Result<Vec<StoredOp>, StoreError> {
        self.index_for_query()?;
        let context = "could not list ops";
        let mut sql =
            "SELECT project_id, object_id, digest, val, created_at FROM objects WHERE kind = 'op'".to_string();
        let mut args = Vec::new();
        if let Some(p) = project_id {
            sql.push_str(" AND project_id = ?1");
            args.push(SqlValue::Text(p.to_string()));
        }
        sql.push_str(" ORDER BY object_id, created_at, digest");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| StoreError::sqlite(context, e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| StoreError::sqlite(context, e))?;
        let mut ops = Vec::new();
        for row in rows {
            let (project_id, name, digest, val, created_at) = row.map_err(|e| StoreError::sqlite(context, e))?;
            let file_digest = serde_json::from_str::<Value>(&val)
                .ok()
                .and_then(|v| v.get("files")?.get(OP_SOURCE_FILE)?.as_str().map(str::to_string));
            let source = match &file_digest {
                Some(d) => self.file_text(&project_id, d)?,
                None => None,
            };
            ops.push(StoredOp {
                project_id,
                name,
                digest,
                file_digest,
                source,
                created_at: Timestamp::parse(&created_at),
            });
        }
        Ok(ops)
    }

    /// The `obj.py` of the op `name` at version `digest`, in any project (its Rust source is
    /// `weave_core::op::rust_source` of it).
    pub fn op_source(&self, name: &str, digest: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .ops(None)?
            .into_iter()
            .find(|op| op.name == name && op.digest == digest && op.source.is_some())
            .and_then(|op| op.source))
    }

    fn file_text(&self, project_id: &str, digest: &str) -> Result<Option<String>, StoreError> {
        let context = "could not read a file";
        let mut stmt = self
            .conn
            .prepare_cached("SELECT content FROM files WHERE project_id = ?1 AND digest = ?2")
            .map_err(|e| StoreError::sqlite(context, e))?;
        let mut rows = stmt.query([project_id, digest]).map_err(|e| StoreError::sqlite(context, e))?;
        match rows.next().map_err(|e| StoreError::sqlite(context, e))? {
            Some(row) => {
                let bytes: Vec<u8> = row.get(0).map_err(|e| StoreError::sqlite(context, e))?;
                Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
            }
            None => Ok(None),
        }
    }

    fn query_calls(&self, sql: &str, args: Vec<SqlValue>) -> Result<Vec<StoredCall>, StoreError> {
        self.index_for_query()?;
        let context = "could not query calls";
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| StoreError::sqlite(context, e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), StoredCall::from_row)
            .map_err(|e| StoreError::sqlite(context, e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| StoreError::sqlite(context, e))
    }
}
