//! Evaluations as Weave stores them: an `Evaluation.evaluate` call whose `inputs.self`
//! is a ref to the Evaluation object (dataset, scorers, trials) and `inputs.model` a ref
//! to the model (an object whose `_bases` start with `Model`, or an op for a function
//! model); its `Evaluation.predict_and_score` children hold each row (`inputs.example`, a
//! row ref or an inline value) and its output (`{output, scores, model_latency}`); its
//! output is the summary.

use super::calls::{brief_json, call_from_row, exception_json, CallFilter, Columns};
use super::refs::{self, RefKind, Resolver};
use super::{objects, Error, Store};
use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use weave_exporter::local_store::StoredCall;

/// The op of an evaluation run's root call.
pub const EVALUATE_OP: &str = "Evaluation.evaluate";
/// The op of one row's prediction and scores.
pub const PREDICT_AND_SCORE_OP: &str = "Evaluation.predict_and_score";

/// The most rows (predict_and_score calls) read of one run.
pub const MAX_ROWS_PER_RUN: usize = 20_000;

/// One evaluation run, described.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRun {
    /// The `Evaluation.evaluate` call.
    pub call: StoredCall,
    /// Its description for the API (see [`describe`]).
    pub info: Value,
}

/// One row's prediction in one run (one trial).
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The dataset row it is about: the row's digest, or a digest of the inline example.
    pub row_key: String,
    /// The example (resolved).
    pub inputs: Value,
    /// The model's output.
    pub output: Value,
    /// The scores by scorer name.
    pub scores: Value,
    /// The model's latency, seconds.
    pub model_latency: Value,
    /// The predict_and_score call's id and trace.
    pub call_id: String,
    /// The trace.
    pub trace_id: String,
    /// The error, if the call failed.
    pub error: Option<String>,
}

/// A name and version for a ref: `name`, `digest`, `version` (`v0`, `v1`, … by age
/// among the stored versions of that name), `ref`, and the object's `_class_name`.
fn describe_ref(conn: &Connection, uri: &str) -> rusqlite::Result<Value> {
    let Some(r) = refs::parse(uri) else { return Ok(json!({"name": uri, "ref": uri})) };
    let version: Option<i64> = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM objects WHERE project_id = ?1 AND object_id = ?2 AND created_at < \
             (SELECT created_at FROM objects WHERE project_id = ?1 AND object_id = ?2 AND digest = ?3)",
        )?
        .query_row([&r.project_id, &r.name, &r.digest], |row| row.get(0))
        .optional()?;
    let val = match r.kind {
        RefKind::Object | RefKind::Op => objects::object_val(conn, &r.project_id, &r.name, &r.digest)?,
        _ => None,
    };
    let class = val.as_ref().and_then(|v| v.get("_class_name")).cloned().unwrap_or(Value::Null);
    Ok(json!({
        "name": r.name,
        "digest": r.digest,
        "version": val.as_ref().and(version).map(|v| format!("v{v}")),
        "ref": uri,
        "kind": match r.kind { RefKind::Op => "op", _ => "object" },
        "class": class,
    }))
}

/// An evaluation run for the API: the call in brief, plus `evaluation`, `model`,
/// `dataset` (name, version, rows), `scorers` (names), `trials` and `summary`.
pub fn describe(conn: &Connection, call: &StoredCall) -> rusqlite::Result<Value> {
    let resolver = Resolver::new(conn);
    let mut out = brief_json(call);
    let self_ref = call.inputs.get("self").and_then(Value::as_str);
    let model_ref = call.inputs.get("model").and_then(Value::as_str);
    let evaluation = match self_ref {
        Some(uri) => resolver.resolve(uri)?,
        None => None,
    };
    let mut dataset = Value::Null;
    let mut scorers = Vec::new();
    let mut trials = Value::Null;
    if let Some(ev) = &evaluation {
        if let Some(dataset_ref) = ev.get("dataset").and_then(Value::as_str) {
            dataset = describe_ref(conn, dataset_ref)?;
            let rows_ref =
                resolver.resolve(dataset_ref)?.and_then(|d| d.get("rows").and_then(Value::as_str).map(String::from));
            if let Some(table) = rows_ref.as_deref().and_then(refs::parse) {
                let n = objects::table_digests(conn, &table.project_id, &table.name)?.map(|d| d.len());
                dataset["rows"] = n.into();
            }
        }
        for scorer in ev.get("scorers").and_then(Value::as_array).into_iter().flatten() {
            scorers.push(match scorer.as_str() {
                Some(uri) => refs::display_name(uri).into(),
                None => scorer.get("name").cloned().unwrap_or(Value::Null),
            });
        }
        trials = ev.get("trials").cloned().unwrap_or(Value::Null);
    }
    let model = match model_ref {
        Some(uri) => describe_ref(conn, uri)?,
        None => call.inputs.get("model").cloned().unwrap_or(Value::Null),
    };
    let meta = call.attributes.get(weave_eval::EVAL_META_KEY).cloned().unwrap_or(Value::Null);
    if let Value::Object(map) = &mut out {
        map.insert(
            "evaluation".into(),
            match self_ref {
                Some(uri) => {
                    let mut d = describe_ref(conn, uri)?;
                    if let Some(name) = evaluation.as_ref().and_then(|e| e.get("name")).filter(|n| n.is_string()) {
                        d["name"] = name.clone();
                    }
                    d
                }
                None => Value::Null,
            },
        );
        map.insert("model".into(), model);
        map.insert("dataset".into(), dataset);
        map.insert("scorers".into(), Value::Array(scorers));
        map.insert("trials".into(), trials);
        map.insert("summary".into(), call.output.clone());
        map.insert("eval_meta".into(), meta);
        map.insert("exception".into(), exception_json(call));
    }
    Ok(out)
}

/// A stable key for an inline example (one that is not a row ref).
fn inline_key(value: &Value) -> String {
    format!("inline-{}", &weave_core::refs::sha256_hex(value.to_string().as_bytes())[..16])
}

impl Store {
    /// Evaluation runs, newest first, a page of them.
    pub fn evals(&self, limit: usize, offset: usize) -> Result<(Vec<EvalRun>, bool), Error> {
        let filter =
            CallFilter { op: Some(EVALUATE_OP.to_string()), roots: false, limit, offset, ..CallFilter::default() };
        let page = self.list_calls(&filter, Columns::Full)?;
        let runs = self.read("could not read evaluations", |conn| {
            page.calls.into_iter().map(|call| Ok(EvalRun { info: describe(conn, &call)?, call })).collect()
        })?;
        Ok((runs, page.has_more))
    }

    /// One evaluation run by its `Evaluation.evaluate` call's id; `None` if there is no
    /// such call or it is not an evaluation.
    pub fn eval_run(&self, id: &str) -> Result<Option<EvalRun>, Error> {
        let Some(call) = self.call(id)? else { return Ok(None) };
        if call.op_base_name != EVALUATE_OP {
            return Ok(None);
        }
        let info = self.read("could not read an evaluation", |conn| describe(conn, &call))?;
        Ok(Some(EvalRun { call, info }))
    }

    /// The predictions of a run (every trial), in start order, with their examples
    /// resolved.
    pub fn predictions(&self, run: &EvalRun) -> Result<Vec<Prediction>, Error> {
        self.read("could not read an evaluation's rows", |conn| {
            let sql = "SELECT project_id, id, trace_id, parent_id, op_name, op_base_name, display_name, thread_id, \
                turn_id, started_at_us, ended_at_us, attributes, inputs, output, exception, summary, wb_run_id \
                FROM calls WHERE parent_id = ?1 AND +op_base_name = ?2 ORDER BY started_at_us, id LIMIT ?3";
            let mut stmt = conn.prepare_cached(sql)?;
            let calls = stmt
                .query_map(
                    rusqlite::params![run.call.id, PREDICT_AND_SCORE_OP, MAX_ROWS_PER_RUN as i64],
                    call_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let resolver = Resolver::new(conn);
            let mut examples: HashMap<String, Value> = HashMap::new();
            let mut out = Vec::with_capacity(calls.len());
            for call in calls {
                let example = call.inputs.get("example").cloned().unwrap_or(Value::Null);
                let (row_key, inputs) = match example.as_str() {
                    Some(uri) if uri.starts_with("weave:///") => {
                        let key = refs::row_digest(uri).unwrap_or_else(|| uri.to_string());
                        let inputs = match examples.get(uri) {
                            Some(v) => v.clone(),
                            None => {
                                let v = resolver.resolve(uri)?.unwrap_or_else(|| example.clone());
                                let v = resolver.deep_resolve(&v)?;
                                examples.insert(uri.to_string(), v.clone());
                                v
                            }
                        };
                        (key, inputs)
                    }
                    _ => {
                        let inputs = resolver.deep_resolve(&example)?;
                        (inline_key(&inputs), inputs)
                    }
                };
                let output = &call.output;
                let field = |k: &str| output.get(k).cloned().unwrap_or(Value::Null);
                let error = call.exception_message();
                out.push(Prediction {
                    row_key,
                    inputs,
                    output: resolver.deep_resolve(&field("output"))?,
                    scores: match field("scores") {
                        Value::Null => Value::Object(Map::new()),
                        s => s,
                    },
                    model_latency: field("model_latency"),
                    call_id: call.id.clone(),
                    trace_id: call.trace_id.clone(),
                    error,
                });
            }
            Ok(out)
        })
    }
}
