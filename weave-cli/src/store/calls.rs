//! Calls with the filters of the traces page and `weave calls`: op, status, time range,
//! attribute, text in inputs or output, roots only, paged. The query uses the store's
//! indexes (`calls_trace_id`, `calls_parent_id`, `calls_op_base_name`,
//! `calls_started_at_us`): the most selective of the indexed conditions when it matches
//! few calls, else the start-time index walked newest first, so the first page of a
//! large store comes back without sorting.

use super::costs::CallCost;
use super::{Error, Store};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::{json, Map, Value};
use weave_core::time::Timestamp;
use weave_exporter::local_store::{Status, StoredCall};

/// A page of calls holds at most this many.
pub const MAX_LIMIT: usize = 1000;

/// An indexed condition matching fewer calls than this is used to find them (and they
/// are sorted); a less selective one is checked while the start-time index is walked.
const SELECTIVE: i64 = 20_000;

/// The status a call filter asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Ended without an exception, and so did every call under it.
    Success,
    /// Ended with an exception.
    Error,
    /// Not ended.
    Running,
    /// Ended without an exception, but a call under it failed.
    DescendantError,
}

impl StatusFilter {
    /// `success`, `error`, `running` or `descendant_error`.
    pub fn parse(text: &str) -> Option<StatusFilter> {
        match text.trim().to_ascii_lowercase().as_str() {
            "success" | "ok" => Some(StatusFilter::Success),
            "error" | "failed" => Some(StatusFilter::Error),
            "running" => Some(StatusFilter::Running),
            "descendant_error" => Some(StatusFilter::DescendantError),
            _ => None,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            StatusFilter::Running => "ended_at_us IS NULL",
            StatusFilter::Error => "ended_at_us IS NOT NULL AND exception IS NOT NULL",
            StatusFilter::Success => concat!(
                "ended_at_us IS NOT NULL AND exception IS NULL AND ",
                "COALESCE(json_extract(summary, '$.status_counts.error'), 0) = 0"
            ),
            StatusFilter::DescendantError => concat!(
                "ended_at_us IS NOT NULL AND exception IS NULL AND ",
                "COALESCE(json_extract(summary, '$.status_counts.error'), 0) > 0"
            ),
        }
    }
}

/// Which calls to list. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    /// The op's name (its base name, e.g. `answer`).
    pub op: Option<String>,
    /// The status.
    pub status: Option<StatusFilter>,
    /// Started at or after this time (microseconds since the epoch).
    pub since_us: Option<i64>,
    /// Started before this time (microseconds since the epoch).
    pub until_us: Option<i64>,
    /// Attributes that must have these values: a dotted key path and a value (compared
    /// as JSON when it parses as a number or boolean, else as text).
    pub attributes: Vec<(String, String)>,
    /// Text that the inputs or the output contain (case-insensitive for ASCII).
    pub text: Option<String>,
    /// Root calls only.
    pub roots: bool,
    /// Calls of this trace only.
    pub trace_id: Option<String>,
    /// Calls of this conversation thread only.
    pub thread_id: Option<String>,
    /// At most this many (capped at [`MAX_LIMIT`]); 0 means the default, 50.
    pub limit: usize,
    /// Skip this many first.
    pub offset: usize,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
}

impl CallFilter {
    /// The page size asked for, within bounds.
    pub fn page_size(&self) -> usize {
        match self.limit {
            0 => 50,
            n => n.min(MAX_LIMIT),
        }
    }
}

/// Which columns a listing reads: `Light` leaves inputs, output and attributes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// Everything but inputs, output and attributes.
    Light,
    /// Every column.
    Full,
}

const LIGHT_COLUMNS: &str = weave_exporter::local_store::CALL_COLUMNS_BRIEF;
const FULL_COLUMNS: &str = weave_exporter::local_store::CALL_COLUMNS;

fn columns_sql(columns: Columns) -> &'static str {
    match columns {
        Columns::Light => LIGHT_COLUMNS,
        Columns::Full => FULL_COLUMNS,
    }
}

/// A call read from a row of one of the `*_COLUMNS` selections.
pub(crate) fn call_from_row(row: &Row<'_>) -> rusqlite::Result<StoredCall> {
    StoredCall::from_columns(row)
}

/// A page of calls.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPage {
    /// The calls, newest first (unless the filter asked for oldest first).
    pub calls: Vec<StoredCall>,
    /// True when there are more after this page.
    pub has_more: bool,
}

impl Store {
    /// The calls matching `filter`, a page of them.
    pub fn list_calls(&self, filter: &CallFilter, columns: Columns) -> Result<CallPage, Error> {
        self.read("could not query calls", |conn| list_calls(conn, filter, columns))
    }

    /// One call by id, every column.
    pub fn call(&self, id: &str) -> Result<Option<StoredCall>, Error> {
        self.read("could not read a call", |conn| {
            let sql = format!("SELECT {FULL_COLUMNS} FROM calls WHERE id = ?1");
            conn.prepare_cached(&sql)?.query_row([id], call_from_row).optional()
        })
    }

    /// Every call of a trace (at most `max`), in start order, without inputs and output.
    pub fn trace_calls(&self, trace_id: &str, max: usize) -> Result<Vec<StoredCall>, Error> {
        self.read("could not read a trace", |conn| {
            let sql = format!(
                "SELECT {LIGHT_COLUMNS} FROM calls WHERE trace_id = ?1 ORDER BY started_at_us, id LIMIT {}",
                i64::try_from(max).unwrap_or(i64::MAX)
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([trace_id], call_from_row)?;
            rows.collect()
        })
    }

    /// The number of calls in a trace.
    pub fn trace_size(&self, trace_id: &str) -> Result<u64, Error> {
        self.read("could not count a trace's calls", |conn| {
            conn.prepare_cached("SELECT COUNT(*) FROM calls WHERE trace_id = ?1")?
                .query_row([trace_id], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
        })
    }

    /// The start time of the newest call and the number of calls (a cheap "has anything
    /// changed" for live updates).
    pub fn latest(&self) -> Result<(Option<i64>, i64), Error> {
        self.read("could not read the newest call", |conn| {
            let newest: Option<i64> = conn.query_row("SELECT MAX(started_at_us) FROM calls", [], |r| r.get(0))?;
            let rowid: Option<i64> = conn.query_row("SELECT MAX(rowid) FROM calls", [], |r| r.get(0))?;
            Ok((newest, rowid.unwrap_or(0)))
        })
    }
}

fn list_calls(conn: &Connection, filter: &CallFilter, columns: Columns) -> rusqlite::Result<CallPage> {
    let mut conditions: Vec<String> = Vec::new();
    let mut args: Vec<SqlValue> = Vec::new();
    let arg = |args: &mut Vec<SqlValue>, value: SqlValue| {
        args.push(value);
        format!("?{}", args.len())
    };
    // The indexed conditions, and which one leads.
    let lead = choose_index(conn, filter)?;
    if let Some(trace_id) = &filter.trace_id {
        let p = arg(&mut args, SqlValue::Text(trace_id.clone()));
        conditions.push(format!("{}trace_id = {p}", hint(lead, Lead::Trace)));
    }
    if filter.roots {
        conditions.push(format!("{}parent_id IS NULL", hint(lead, Lead::Roots)));
    }
    if let Some(op) = &filter.op {
        let p = arg(&mut args, SqlValue::Text(op.clone()));
        conditions.push(format!("{}op_base_name = {p}", hint(lead, Lead::Op)));
    }
    if let Some(since) = filter.since_us {
        let p = arg(&mut args, SqlValue::Integer(since));
        conditions.push(format!("started_at_us >= {p}"));
    }
    if let Some(until) = filter.until_us {
        let p = arg(&mut args, SqlValue::Integer(until));
        conditions.push(format!("started_at_us < {p}"));
    }
    if let Some(thread) = &filter.thread_id {
        let p = arg(&mut args, SqlValue::Text(thread.clone()));
        conditions.push(format!("thread_id = {p}"));
    }
    if let Some(status) = filter.status {
        conditions.push(format!("({})", status.sql()));
    }
    for (key, value) in &filter.attributes {
        let path = arg(&mut args, SqlValue::Text(json_path(key)));
        let text = arg(&mut args, SqlValue::Text(value.clone()));
        let mut alternatives = vec![format!("json_extract(attributes, {path}) = {text}")];
        match serde_json::from_str::<Value>(value) {
            Ok(Value::Number(n)) => {
                let v = match n.as_i64() {
                    Some(i) => SqlValue::Integer(i),
                    None => SqlValue::Real(n.as_f64().unwrap_or(f64::NAN)),
                };
                let p = arg(&mut args, v);
                alternatives.push(format!("json_extract(attributes, {path}) = {p}"));
            }
            Ok(Value::Bool(b)) => {
                alternatives.push(format!("(json_type(attributes, {path}) = '{}')", if b { "true" } else { "false" }));
            }
            _ => {}
        }
        conditions.push(format!("({})", alternatives.join(" OR ")));
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        let p = arg(&mut args, SqlValue::Text(format!("%{}%", escape_like(text))));
        conditions.push(format!(
            "(inputs LIKE {p} ESCAPE '\\' OR output LIKE {p} ESCAPE '\\' OR display_name LIKE {p} ESCAPE '\\')"
        ));
    }
    let where_sql = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    let direction = if filter.oldest_first { "ASC" } else { "DESC" };
    let page = filter.page_size();
    let sql = format!(
        "SELECT {} FROM calls{where_sql} ORDER BY started_at_us {direction}, id {direction} LIMIT {} OFFSET {}",
        columns_sql(columns),
        page + 1,
        i64::try_from(filter.offset).unwrap_or(i64::MAX)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), call_from_row)?;
    let mut calls = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    let has_more = calls.len() > page;
    calls.truncate(page);
    Ok(CallPage { calls, has_more })
}

/// The indexed condition a query leads with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lead {
    /// `calls_trace_id`: a trace is small.
    Trace,
    /// `calls_parent_id` (roots), when there are few of them.
    Roots,
    /// `calls_op_base_name`, when the op has few calls.
    Op,
    /// `calls_started_at_us`, walked in order.
    Time,
}

/// `+` before a column keeps SQLite from using its index for that condition.
fn hint(lead: Lead, this: Lead) -> &'static str {
    if lead == this {
        ""
    } else {
        "+"
    }
}

fn choose_index(conn: &Connection, filter: &CallFilter) -> rusqlite::Result<Lead> {
    if filter.trace_id.is_some() {
        return Ok(Lead::Trace);
    }
    if filter.since_us.is_some() || filter.until_us.is_some() {
        // A time range narrows the walk of the time index itself.
        return Ok(Lead::Time);
    }
    let mut best: Option<(i64, Lead)> = None;
    if let Some(op) = &filter.op {
        let calls = super::calls_indexed_by(conn, "calls_op_base_name")?;
        let n: i64 = conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM (SELECT 1 FROM {calls} WHERE op_base_name = ?1 LIMIT ?2)"))?
            .query_row(rusqlite::params![op, SELECTIVE], |r| r.get(0))?;
        best = Some((n, Lead::Op));
    }
    if filter.roots {
        let calls = super::calls_indexed_by(conn, "calls_parent_id")?;
        let n: i64 = conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM (SELECT 1 FROM {calls} WHERE parent_id IS NULL LIMIT ?1)"))?
            .query_row([SELECTIVE], |r| r.get(0))?;
        if best.is_none_or(|(m, _)| n < m) {
            best = Some((n, Lead::Roots));
        }
    }
    Ok(match best {
        Some((n, lead)) if n < SELECTIVE => lead,
        _ => Lead::Time,
    })
}

/// `env` → `$."env"`, `weave.kind` → `$."weave"."kind"`.
pub(crate) fn json_path(key: &str) -> String {
    let mut path = String::from("$");
    for part in key.split('.') {
        path.push_str(".\"");
        path.push_str(&part.replace('"', ""));
        path.push('"');
    }
    path
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A time given on the command line or in the URL: RFC 3339 (`2026-01-02T03:04:05Z`), a
/// date (`2026-01-02`, midnight UTC), microseconds since the epoch, or an age (`30s`,
/// `15m`, `2h`, `7d`, `1w`: that long before `now_us`).
pub fn parse_time(text: &str, now_us: i64) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let unit = text.chars().last()?;
    let scale: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => 0,
    };
    if scale > 0 {
        if let Ok(n) = text[..text.len() - 1].parse::<f64>() {
            if n.is_finite() && n >= 0.0 {
                return Some(now_us - (n * scale as f64 * 1e6) as i64);
            }
        }
    }
    if let Some(t) = Timestamp::parse(text) {
        return Some(t.unix_micros());
    }
    if text.len() == 10 {
        return Timestamp::parse(&format!("{text}T00:00:00Z")).map(Timestamp::unix_micros);
    }
    None
}

/// The number of calls in a call's subtree, from its status counts (`None` while it runs).
pub fn subtree_size(call: &StoredCall) -> Option<u64> {
    let counts = call.summary.get("status_counts")?;
    let success = counts.get("success").and_then(Value::as_u64).unwrap_or(0);
    let error = counts.get("error").and_then(Value::as_u64).unwrap_or(0);
    Some(success + error).filter(|n| *n > 0)
}

/// The tokens a call's subtree used (all models).
pub fn total_tokens(summary: &Value) -> Option<u64> {
    let usage = summary.get("usage")?.as_object()?;
    let mut total = 0;
    for per_model in usage.values() {
        let get = |k: &str| per_model.get(k).and_then(Value::as_u64);
        total += get("total_tokens").unwrap_or_else(|| {
            get("prompt_tokens").or(get("input_tokens")).unwrap_or(0)
                + get("completion_tokens").or(get("output_tokens")).unwrap_or(0)
        });
    }
    Some(total)
}

/// The op's version (the digest of its ref), if the op name is a ref.
pub fn op_version(op_ref: &str) -> Option<&str> {
    op_ref.strip_prefix("weave:///")?.rsplit_once(':').map(|(_, digest)| digest)
}

/// The exception as Weave stores it (`{type, message, traceback}`), parsed.
pub fn exception_json(call: &StoredCall) -> Value {
    match call.exception.as_deref() {
        None => Value::Null,
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => v,
            _ => json!({"type": "Error", "message": text}),
        },
    }
}

/// A call in brief, for lists and trees. `cost` is the recorded cost (USD), or an
/// estimate when `cost_estimated` (see [`CallCost`]); null when there is neither.
pub fn brief_json(call: &StoredCall) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), call.id.clone().into());
    out.insert("trace_id".into(), call.trace_id.clone().into());
    out.insert("parent_id".into(), call.parent_id.clone().into());
    out.insert("project_id".into(), call.project_id.clone().into());
    out.insert("op".into(), call.op_base_name.clone().into());
    out.insert("op_ref".into(), call.op_name.clone().into());
    out.insert("op_version".into(), op_version(&call.op_name).into());
    out.insert("display_name".into(), call.display_name.clone().into());
    out.insert("name".into(), call.trace_name().into());
    out.insert("status".into(), call.status().as_str().into());
    out.insert("started_at".into(), call.started_at.to_string().into());
    out.insert("started_at_us".into(), call.started_at.unix_micros().into());
    out.insert("ended_at_us".into(), call.ended_at.map(|t| t.unix_micros()).into());
    out.insert("latency_ms".into(), call.latency().map(|d| d.as_secs_f64() * 1000.0).into());
    out.insert("tokens".into(), total_tokens(&call.summary).into());
    let cost = CallCost::of(&call.summary);
    out.insert("cost".into(), cost.as_ref().map(CallCost::total).into());
    out.insert("cost_estimated".into(), cost.is_some_and(|c| c.estimated).into());
    out.insert("calls".into(), subtree_size(call).into());
    out.insert("error".into(), (call.status() == Status::Error).then(|| call.exception_message()).flatten().into());
    out.insert("thread_id".into(), call.thread_id.clone().into());
    out.insert("turn_id".into(), call.turn_id.clone().into());
    Value::Object(out)
}

/// A call with everything: inputs, output, exception, attributes, summary and its cost
/// per model (`costs`, see [`CallCost::models_json`]).
pub fn full_json(call: &StoredCall) -> Value {
    let mut out = brief_json(call);
    if let Value::Object(map) = &mut out {
        map.insert("inputs".into(), call.inputs.clone());
        map.insert("output".into(), call.output.clone());
        map.insert("exception".into(), exception_json(call));
        map.insert("attributes".into(), call.attributes.clone());
        map.insert("summary".into(), call.summary.clone());
        map.insert("costs".into(), CallCost::of(&call.summary).map_or(Value::Array(Vec::new()), |c| c.models_json()));
        map.insert("wb_run_id".into(), call.wb_run_id.clone().into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_dates_stamps_and_ages() {
        let now = 1_000_000_000_000_000;
        assert_eq!(parse_time("2h", now), Some(now - 7_200_000_000));
        assert_eq!(parse_time("30s", now), Some(now - 30_000_000));
        assert_eq!(parse_time("1970-01-02", now), Some(86_400_000_000));
        assert_eq!(parse_time("1970-01-01T00:00:01Z", now), Some(1_000_000));
        assert_eq!(parse_time("12345", now), Some(12345));
        assert_eq!(parse_time("yesterday", now), None);
        assert_eq!(parse_time("", now), None);
    }

    #[test]
    fn json_paths_quote_each_part() {
        assert_eq!(json_path("env"), "$.\"env\"");
        assert_eq!(json_path("weave.kind"), "$.\"weave\".\"kind\"");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(escape_like("50%_a\\"), "50\\%\\_a\\\\");
    }

    #[test]
    fn tokens_add_up_over_models() {
        let summary = json!({"usage": {"a": {"total_tokens": 10}, "b": {"input_tokens": 3, "output_tokens": 4}}});
        assert_eq!(total_tokens(&summary), Some(17));
        assert_eq!(total_tokens(&json!({})), None);
    }
}
