//! Comparing evaluation runs: their summary metrics side by side with the difference to
//! the first run (the baseline), and the per-row table (each dataset row's inputs, and
//! each run's output and scores, one line per trial, trials of a row together), filtered
//! by a [`crate::query`] expression, sorted and grouped.
//!
//! In a query a path is read in a run's scope: `output`, `scores.<scorer>...`,
//! `model_latency` and `error` are that run's, a bare name is looked for among its
//! scores (`exact_match`, then inside each scorer's map: `correct` finds
//! `scores.judge.correct`), then the row's inputs, then its output; `inputs.<key>`,
//! `trial` and `row` are the row's; `run2.scores.x` pins a run (1-based). A row is shown
//! when the expression holds in the scope of at least one run.

use crate::query::group::{group_by, numeric};
use crate::query::{self, Expr, Lookup, ParseError};
use crate::store::evals::{EvalRun, Prediction};
use crate::store::{Error, Store};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::fmt;

/// The most table rows returned at once.
pub const MAX_ROWS: usize = 5_000;

/// Why a comparison could not be made.
#[derive(Debug)]
pub enum CompareError {
    /// No evaluation run has this id.
    NotFound(String),
    /// No id was given.
    NoRuns,
    /// The store could not be read.
    Store(Error),
}

impl fmt::Display for CompareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompareError::NotFound(id) => write!(f, "there is no evaluation run (Evaluation.evaluate call) {id}"),
            CompareError::NoRuns => f.write_str("give at least one evaluation call id"),
            CompareError::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CompareError {}

impl From<Error> for CompareError {
    fn from(e: Error) -> Self {
        CompareError::Store(e)
    }
}

/// One summary metric of every run.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Its dotted path in the summary (`exact_match.true_fraction`).
    pub path: String,
    /// Its value in each run.
    pub values: Vec<Option<f64>>,
    /// True for a latency: lower is better.
    pub lower_is_better: bool,
}

impl Metric {
    /// Each run's value minus the baseline's (the first run's).
    pub fn deltas(&self) -> Vec<Option<f64>> {
        let base = self.values.first().copied().flatten();
        self.values.iter().map(|v| Some((*v)? - base?)).collect()
    }
}

/// One line of the row table: a dataset row's trial in every run.
#[derive(Debug, Clone)]
struct TableRow {
    key: String,
    /// The dataset row's position (0-based, by first appearance).
    index: usize,
    trial: usize,
    trials: usize,
    inputs: Value,
    /// Each run's prediction for this row and trial.
    runs: Vec<Option<usize>>,
}

/// Runs loaded for comparison.
#[derive(Debug)]
pub struct Comparison {
    /// The runs, in the order asked.
    pub runs: Vec<EvalRun>,
    predictions: Vec<Vec<Prediction>>,
    rows: Vec<TableRow>,
    score_columns: Vec<String>,
    input_columns: Vec<String>,
}

/// What the row table should show.
#[derive(Debug, Clone, Default)]
pub struct RowsRequest {
    /// A query expression (empty: every row).
    pub query: Option<String>,
    /// A column path to group by.
    pub group_by: Option<String>,
    /// A column path to sort by (read in the first run's scope unless it names a run).
    pub sort: Option<String>,
    /// Sort descending.
    pub desc: bool,
}

/// Flattens nested maps into dotted paths (`{"a": {"b": 1}}` → `a.b = 1`); other values
/// are leaves.
pub fn flatten(value: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(v, &path, out);
            }
        }
        other if !prefix.is_empty() => out.push((prefix.to_string(), other.clone())),
        _ => {}
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

impl Comparison {
    /// Loads the runs `ids` (one or more `Evaluation.evaluate` call ids) and their rows.
    pub fn load(store: &Store, ids: &[String]) -> Result<Comparison, CompareError> {
        if ids.is_empty() {
            return Err(CompareError::NoRuns);
        }
        let mut runs = Vec::with_capacity(ids.len());
        let mut predictions = Vec::with_capacity(ids.len());
        for id in ids {
            let run = store.eval_run(id)?.ok_or_else(|| CompareError::NotFound(id.clone()))?;
            predictions.push(store.predictions(&run)?);
            runs.push(run);
        }
        Ok(Comparison::build(runs, predictions))
    }

    fn build(runs: Vec<EvalRun>, predictions: Vec<Vec<Prediction>>) -> Comparison {
        // Dataset rows by first appearance; each run's trials of each row in order.
        let mut order: Vec<String> = Vec::new();
        let mut inputs: HashMap<String, Value> = HashMap::new();
        let mut trials: HashMap<(String, usize), Vec<usize>> = HashMap::new();
        let mut score_columns = Vec::new();
        let mut input_columns = Vec::new();
        for (r, preds) in predictions.iter().enumerate() {
            for (i, p) in preds.iter().enumerate() {
                if !inputs.contains_key(&p.row_key) {
                    order.push(p.row_key.clone());
                    inputs.insert(p.row_key.clone(), p.inputs.clone());
                    if let Value::Object(map) = &p.inputs {
                        for k in map.keys() {
                            push_unique(&mut input_columns, k);
                        }
                    }
                }
                trials.entry((p.row_key.clone(), r)).or_default().push(i);
                let mut flat = Vec::new();
                flatten(&p.scores, "", &mut flat);
                for (path, _) in flat {
                    push_unique(&mut score_columns, &path);
                }
            }
        }
        let mut rows = Vec::new();
        for (index, key) in order.iter().enumerate() {
            let n = (0..runs.len()).map(|r| trials.get(&(key.clone(), r)).map_or(0, Vec::len)).max().unwrap_or(0);
            for trial in 0..n {
                rows.push(TableRow {
                    key: key.clone(),
                    index,
                    trial,
                    trials: n,
                    inputs: inputs.get(key).cloned().unwrap_or(Value::Null),
                    runs: (0..runs.len())
                        .map(|r| trials.get(&(key.clone(), r)).and_then(|t| t.get(trial)).copied())
                        .collect(),
                });
            }
        }
        Comparison { runs, predictions, rows, score_columns, input_columns }
    }

    /// The label of run `i`: its model's name and version.
    pub fn label(&self, i: usize) -> String {
        let info = &self.runs[i].info;
        let model = &info["model"];
        let name = model["name"].as_str().unwrap_or("model");
        match model["version"].as_str() {
            Some(v) => format!("{name}:{v}"),
            None => name.to_string(),
        }
    }

    /// The summary metrics (numeric leaves of the runs' summaries), in the order they
    /// first appear.
    pub fn metrics(&self) -> Vec<Metric> {
        let flat: Vec<Vec<(String, Value)>> = self
            .runs
            .iter()
            .map(|run| {
                let mut out = Vec::new();
                flatten(&run.call.output, "", &mut out);
                out
            })
            .collect();
        let mut paths = Vec::new();
        for run in &flat {
            for (path, value) in run {
                if numeric(value).is_some() {
                    push_unique(&mut paths, path);
                }
            }
        }
        paths
            .into_iter()
            .map(|path| Metric {
                values: flat
                    .iter()
                    .map(|run| run.iter().find(|(p, _)| *p == path).and_then(|(_, v)| numeric(v)))
                    .collect(),
                lower_is_better: path.contains("latency"),
                path,
            })
            .collect()
    }

    /// The comparison's summary for the API: the runs (with `label` and `key` `runN`),
    /// the metrics with deltas, the columns of the row table and its size.
    pub fn summary_json(&self) -> Value {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, run)| {
                let mut info = run.info.clone();
                info["label"] = self.label(i).into();
                info["key"] = format!("run{}", i + 1).into();
                info["rows"] = self.predictions[i].len().into();
                info
            })
            .collect();
        let metrics: Vec<Value> = self
            .metrics()
            .iter()
            .map(|m| json!({"path": m.path, "values": m.values, "deltas": m.deltas(), "lower_is_better": m.lower_is_better}))
            .collect();
        json!({
            "runs": runs,
            "metrics": metrics,
            "score_columns": self.score_columns,
            "input_columns": self.input_columns,
            "rows_total": self.rows.len(),
        })
    }

    fn prediction(&self, row: &TableRow, run: usize) -> Option<&Prediction> {
        row.runs.get(run).copied().flatten().and_then(|i| self.predictions[run].get(i))
    }

    fn scope<'a>(&'a self, row: &'a TableRow, run: usize) -> Scope<'a> {
        Scope { comparison: self, row, run }
    }

    /// The row table: rows matching `request.query`, sorted, and grouped when asked.
    pub fn rows_json(&self, request: &RowsRequest) -> Result<Value, ParseError> {
        let expr = query::parse(request.query.as_deref().unwrap_or(""))?;
        let group_path = parse_path(request.group_by.as_deref())?;
        let sort_path = parse_path(request.sort.as_deref())?;
        let mut visible: Vec<&TableRow> = self.rows.iter().filter(|row| self.row_matches(row, expr.as_ref())).collect();
        if let Some(path) = &sort_path {
            self.sort_rows(&mut visible, path, request.desc);
        }
        let count = visible.len();
        let rows: Vec<Value> = visible.iter().take(MAX_ROWS).map(|row| self.row_json(row)).collect();
        let groups = group_path.map(|path| self.groups_json(&visible, &path));
        Ok(json!({
            "count": count,
            "total": self.rows.len(),
            "truncated": count > MAX_ROWS,
            "rows": rows,
            "groups": groups,
            "score_columns": self.score_columns,
            "input_columns": self.input_columns,
            "runs": (0..self.runs.len()).map(|i| json!({"key": format!("run{}", i + 1), "label": self.label(i), "id": self.runs[i].call.id})).collect::<Vec<_>>(),
        }))
    }

    fn row_matches(&self, row: &TableRow, expr: Option<&Expr>) -> bool {
        let Some(expr) = expr else { return true };
        let present: Vec<usize> = (0..self.runs.len()).filter(|r| row.runs[*r].is_some()).collect();
        present.into_iter().any(|r| expr.matches(&self.scope(row, r)))
    }

    fn sort_rows(&self, rows: &mut Vec<&TableRow>, path: &[String], desc: bool) {
        // A dataset row's trials stay together: the row sorts by its trials' mean (for
        // numbers and booleans) or its first trial's value.
        let mut keys: HashMap<&str, Value> = HashMap::new();
        for row in rows.iter() {
            if keys.contains_key(row.key.as_str()) {
                continue;
            }
            let values: Vec<Value> = rows
                .iter()
                .filter(|r| r.key == row.key)
                .map(|r| self.scope(r, 0).lookup(path).unwrap_or(Value::Null))
                .collect();
            let numbers: Vec<f64> = values.iter().filter_map(numeric).collect();
            let key = if !numbers.is_empty() && numbers.len() == values.len() {
                json!(numbers.iter().sum::<f64>() / numbers.len() as f64)
            } else {
                values.into_iter().next().unwrap_or(Value::Null)
            };
            keys.insert(row.key.as_str(), key);
        }
        rows.sort_by(|a, b| {
            let (ka, kb) = (&keys[a.key.as_str()], &keys[b.key.as_str()]);
            let mut o = order_values(ka, kb);
            if desc {
                o = o.reverse();
            }
            // Missing values last either way.
            if ka.is_null() != kb.is_null() {
                o = if ka.is_null() { std::cmp::Ordering::Greater } else { std::cmp::Ordering::Less };
            }
            o.then(a.index.cmp(&b.index)).then(a.trial.cmp(&b.trial))
        });
    }

    fn row_json(&self, row: &TableRow) -> Value {
        let runs: Vec<Value> = (0..self.runs.len())
            .map(|r| match self.prediction(row, r) {
                Some(p) => {
                    let mut flat = Vec::new();
                    flatten(&p.scores, "", &mut flat);
                    json!({
                        "call_id": p.call_id,
                        "trace_id": p.trace_id,
                        "output": p.output,
                        "scores": Value::Object(flat.into_iter().collect::<Map<_, _>>()),
                        "model_latency": p.model_latency,
                        "error": p.error,
                    })
                }
                None => Value::Null,
            })
            .collect();
        json!({"key": row.key, "index": row.index, "trial": row.trial, "trials": row.trials, "inputs": row.inputs, "runs": runs})
    }

    fn groups_json(&self, rows: &[&TableRow], path: &[String]) -> Value {
        let per_run: Vec<Vec<crate::query::group::Group>> = (0..self.runs.len())
            .map(|r| {
                group_by(rows.iter().filter_map(|row| {
                    let p = self.prediction(row, r)?;
                    let key = self.scope(row, r).lookup(path).unwrap_or(Value::Null);
                    let mut columns = Vec::new();
                    flatten(&p.scores, "", &mut columns);
                    columns.push(("model_latency".to_string(), p.model_latency.clone()));
                    Some((key, columns))
                }))
            })
            .collect();
        // The union of keys, in sorted order, each with every run's group.
        let mut keys: Vec<Value> = Vec::new();
        for groups in &per_run {
            for g in groups {
                if !keys.contains(&g.key) {
                    keys.push(g.key.clone());
                }
            }
        }
        let ordered: Vec<Value> =
            group_by(keys.into_iter().map(|k| (k, Vec::new()))).into_iter().map(|g| g.key).collect();
        let out: Vec<Value> = ordered
            .into_iter()
            .map(|key| {
                let runs: Vec<Value> = per_run
                    .iter()
                    .map(|groups| groups.iter().find(|g| g.key == key).map_or(Value::Null, |g| g.to_json()))
                    .collect();
                json!({"key": key, "runs": runs})
            })
            .collect();
        let mut columns = self.score_columns.clone();
        columns.push("model_latency".into());
        json!({"by": path.join("."), "columns": columns, "groups": out})
    }
}

fn parse_path(text: Option<&str>) -> Result<Option<Vec<String>>, ParseError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    match query::parse(text)? {
        Some(Expr::Truthy(path)) => Ok(Some(path)),
        _ => Err(ParseError { message: format!("`{text}` is not a column path"), position: 0 }),
    }
}

fn order_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (numeric(a), numeric(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => match (a, b) {
            (Value::String(x), Value::String(y)) => x.cmp(y),
            _ => a.to_string().cmp(&b.to_string()),
        },
    }
}

/// A row seen from one run.
struct Scope<'a> {
    comparison: &'a Comparison,
    row: &'a TableRow,
    run: usize,
}

impl Scope<'_> {
    fn in_run(&self, run: usize, path: &[String]) -> Option<Value> {
        let p = self.comparison.prediction(self.row, run)?;
        let (head, rest) = path.split_first()?;
        match head.as_str() {
            "output" => p.output.lookup(rest),
            "scores" => p.scores.lookup(rest),
            "model_latency" | "latency" if rest.is_empty() => Some(p.model_latency.clone()),
            "error" if rest.is_empty() => Some(p.error.clone().map_or(Value::Null, Value::String)),
            "model" if rest.is_empty() => Some(Value::String(self.comparison.label(run))),
            _ => p
                .scores
                .lookup(path)
                .or_else(|| match &p.scores {
                    Value::Object(map) => map.values().find_map(|v| if v.is_object() { v.lookup(path) } else { None }),
                    _ => None,
                })
                .or_else(|| self.row.inputs.lookup(path))
                .or_else(|| if p.output.is_object() { p.output.lookup(path) } else { None }),
        }
    }
}

impl Lookup for Scope<'_> {
    fn lookup(&self, path: &[String]) -> Option<Value> {
        let (head, rest) = path.split_first()?;
        if let Some(n) = head.strip_prefix("run").and_then(|n| n.parse::<usize>().ok()) {
            if n >= 1 && n <= self.comparison.runs.len() && !rest.is_empty() {
                return self.in_run(n - 1, rest);
            }
        }
        match head.as_str() {
            "inputs" | "input" | "example" => self.row.inputs.lookup(rest),
            "trial" if rest.is_empty() => Some(json!(self.row.trial + 1)),
            "row" if rest.is_empty() => Some(json!(self.row.index + 1)),
            _ => self.in_run(self.run, path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weave_core::time::Timestamp;
    use weave_exporter::local_store::StoredCall;

    fn run(id: &str, model: &str, summary: Value) -> EvalRun {
        let call = StoredCall {
            project_id: "e/p".into(),
            id: id.into(),
            trace_id: id.into(),
            parent_id: None,
            op_name: "weave:///e/p/op/Evaluation.evaluate:d".into(),
            op_base_name: "Evaluation.evaluate".into(),
            display_name: None,
            thread_id: None,
            turn_id: None,
            started_at: Timestamp::from_unix_micros(0),
            ended_at: Some(Timestamp::from_unix_micros(1)),
            attributes: json!({}),
            inputs: json!({}),
            output: summary,
            exception: None,
            summary: json!({}),
            wb_run_id: None,
        };
        EvalRun { call, info: json!({"model": {"name": model, "version": "v0"}}) }
    }

    fn pred(row: &str, q: &str, output: &str, correct: bool, confidence: f64) -> Prediction {
        Prediction {
            row_key: row.into(),
            inputs: json!({"question": q}),
            output: json!(output),
            scores: json!({"judge": {"correct": correct, "confidence": confidence}, "exact": correct}),
            model_latency: json!(0.1),
            call_id: format!("c-{row}-{output}"),
            trace_id: "t".into(),
            error: None,
        }
    }

    fn comparison() -> Comparison {
        let a = vec![
            pred("r1", "capital of France?", "Paris", true, 0.9),
            pred("r2", "2+2?", "5", false, 0.95),
            pred("r2", "2+2?", "4", true, 0.6),
            pred("r3", "sky?", "green", false, 0.5),
        ];
        let b = vec![
            pred("r1", "capital of France?", "Lyon", false, 0.85),
            pred("r2", "2+2?", "4", true, 0.99),
            pred("r3", "sky?", "blue", true, 0.7),
        ];
        Comparison::build(
            vec![
                run("A", "bot", json!({"exact": {"true_fraction": 0.5}, "model_latency": {"mean": 0.2}})),
                run("B", "bot2", json!({"exact": {"true_fraction": 0.75}, "model_latency": {"mean": 0.1}})),
            ],
            vec![a, b],
        )
    }

    fn keys(out: &Value) -> Vec<String> {
        out["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{}#{}", r["key"].as_str().unwrap(), r["trial"].as_u64().unwrap() + 1))
            .collect()
    }

    #[test]
    fn trials_of_a_row_are_lines_next_to_each_other() {
        let c = comparison();
        let out = c.rows_json(&RowsRequest::default()).unwrap();
        assert_eq!(keys(&out), ["r1#1", "r2#1", "r2#2", "r3#1"]);
        assert_eq!(out["count"], 4);
        // r2's second trial exists only in run A.
        assert_eq!(out["rows"][2]["runs"][1], Value::Null);
        assert_eq!(out["rows"][0]["runs"][0]["scores"]["judge.correct"], true);
        assert_eq!(c.score_columns, ["exact", "judge.confidence", "judge.correct"]);
    }

    #[test]
    fn a_query_holds_in_some_run_scope() {
        let c = comparison();
        let q =
            |text: &str| keys(&c.rows_json(&RowsRequest { query: Some(text.into()), ..Default::default() }).unwrap());
        // Wrong and confident: r2 trial 1 in A (0.95), r1 in B (0.85).
        assert_eq!(q("correct = false AND confidence > 0.8"), ["r1#1", "r2#1"]);
        assert_eq!(q("run1.exact = true AND run2.exact = false"), ["r1#1"]);
        assert_eq!(q("scores.judge.confidence >= 0.99"), ["r2#1"]);
        assert_eq!(q("inputs.question CONTAINS 'sky'"), ["r3#1"]);
        assert_eq!(q("question CONTAINS 'sky' AND output = 'blue'"), ["r3#1"]);
        assert_eq!(q("trial = 2"), ["r2#2"]);
        assert_eq!(q("model = 'bot2:v0' AND exact"), ["r2#1", "r3#1"]);
        assert!(c.rows_json(&RowsRequest { query: Some("correct = ".into()), ..Default::default() }).is_err());
    }

    #[test]
    fn sorting_keeps_trials_together() {
        let c = comparison();
        let sorted = |path: &str, desc| {
            keys(&c.rows_json(&RowsRequest { sort: Some(path.into()), desc, ..Default::default() }).unwrap())
        };
        // Run 1's confidence: r1 0.9, r2 mean(0.95, 0.6) = 0.775, r3 0.5.
        assert_eq!(sorted("confidence", false), ["r3#1", "r2#1", "r2#2", "r1#1"]);
        assert_eq!(sorted("confidence", true), ["r1#1", "r2#1", "r2#2", "r3#1"]);
        assert_eq!(sorted("run2.output", false), ["r2#1", "r2#2", "r1#1", "r3#1"]);
    }

    #[test]
    fn groups_aggregate_each_run() {
        let c = comparison();
        let out = c.rows_json(&RowsRequest { group_by: Some("exact".into()), ..Default::default() }).unwrap();
        let groups = &out["groups"]["groups"];
        assert_eq!(groups[0]["key"], false);
        assert_eq!(groups[0]["runs"][0]["count"], 2); // A: r2 trial 1, r3
        assert_eq!(groups[0]["runs"][1]["count"], 1); // B: r1
        assert_eq!(groups[1]["key"], true);
        assert_eq!(groups[1]["runs"][0]["columns"]["judge.confidence"]["mean"], 0.75);
        assert_eq!(groups[1]["runs"][1]["columns"]["judge.confidence"]["sum"], 1.69);
        assert!(c.rows_json(&RowsRequest { group_by: Some("a = 1".into()), ..Default::default() }).is_err());
    }

    #[test]
    fn metrics_have_deltas_to_the_first_run() {
        let c = comparison();
        let metrics = c.metrics();
        assert_eq!(metrics[0].path, "exact.true_fraction");
        assert_eq!(metrics[0].deltas(), [Some(0.0), Some(0.25)]);
        assert!(metrics[1].lower_is_better);
        assert_eq!(c.label(1), "bot2:v0");
    }
}
