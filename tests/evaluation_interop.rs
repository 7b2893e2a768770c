//! Evaluation interop with the real Weave: the same evaluation is written once by weave-rs
//! and once by Weave's Python client (`tests/eval_interop/python_eval.py`), both to Weave's
//! real trace-server logic (the `tests/weave_server` harness), and both are read back with
//! the Python client. The call trees, the scores, the summaries, the eval attributes and
//! the score feedback must match.

#![allow(dead_code)] // the harness module has helpers this test does not use

mod eval_support;
#[path = "weave_server/mod.rs"]
mod harness;

use eval_support::{LenScorer, Stored};

use harness::WeaveServer;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;
use weave::eval::{scorer_fn, BoxError, Columns, Dataset, Evaluation, Model, Row};
use weave::export::ExporterConfig;
use weave::Settings;

#[derive(Serialize)]
struct MyModel {
    prefix: String,
}

impl Model for MyModel {
    type Output = String;

    fn columns(&self) -> Columns {
        Columns::only(["question"]) // Python's `predict(self, question)`
    }

    async fn predict(&self, input: &Row) -> Result<String, BoxError> {
        Ok(format!("{}{}", self.prefix, input.get::<String>("question")?))
    }
}

async fn rust_evaluation() -> Value {
    let dataset = Dataset::from_rows(
        "qa",
        [json!({"question": "ris!", "expected": "Paris!"}), json!({"question": "ndon!", "expected": "Rome"})],
    )
    .unwrap();
    let exact = scorer_fn("exact", |input| async move {
        let expected: String = input.column("expected")?;
        let output = input.output().as_str().unwrap_or_default().to_string();
        Ok::<_, BoxError>(json!({"match": output == expected, "len": output.len()}))
    })
    .columns(["expected"]);
    let evaluation = Evaluation::builder(dataset)
        .scorer(exact)
        .scorer(LenScorer { divisor: 3 })
        .trials(2)
        .concurrency(1)
        .progress(false)
        .build();
    evaluation.evaluate(&MyModel { prefix: "Pa".into() }).await.unwrap().summary
}

fn python_evaluation(server: &WeaveServer, project: &str, args: &[&str]) -> Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eval_interop/python_eval.py");
    let out = Command::new(&harness::pythons().client)
        .arg(script)
        .args(["--url", &server.url(), "--project", project])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "python_eval.py: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}

fn base_name(call: &Value) -> String {
    let op = call["op_name"].as_str().unwrap_or_default();
    let name = op.rsplit_once("/op/").map_or(op, |(_, n)| n);
    name.rsplit_once(':').map_or(name, |(n, _)| n).to_string()
}

/// The tree as (op, parent op) pairs with their counts, attributes per op, the
/// feedback types per op.
struct Shape {
    edges: BTreeMap<(String, String), usize>,
    eval_meta: BTreeMap<String, Value>,
    kinds: BTreeMap<String, Value>,
    feedback: BTreeMap<String, Vec<String>>,
    evaluate: Value,
}

fn shape(doc: &Value) -> Shape {
    let calls = doc["calls"].as_array().unwrap();
    let by_id: BTreeMap<&str, &Value> = calls.iter().map(|c| (c["id"].as_str().unwrap(), c)).collect();
    let mut shape = Shape {
        edges: BTreeMap::new(),
        eval_meta: BTreeMap::new(),
        kinds: BTreeMap::new(),
        feedback: BTreeMap::new(),
        evaluate: Value::Null,
    };
    for call in calls {
        let op = base_name(call);
        let parent = call["parent_id"].as_str().and_then(|p| by_id.get(p)).map(|p| base_name(p)).unwrap_or_default();
        *shape.edges.entry((op.clone(), parent)).or_default() += 1;
        shape.eval_meta.insert(op.clone(), call["attributes"].get("_weave_eval_meta").cloned().unwrap_or(Value::Null));
        shape.kinds.insert(op.clone(), call["attributes"]["weave"].get("kind").cloned().unwrap_or(Value::Null));
        let mut types: Vec<String> = call["feedback"]
            .as_array()
            .map(|f| f.iter().filter_map(|f| f["feedback_type"].as_str().map(String::from)).collect())
            .unwrap_or_default();
        types.sort();
        if !types.is_empty() {
            shape.feedback.entry(op.clone()).or_default().extend(types);
        }
        if op == "Evaluation.evaluate" {
            shape.evaluate = call.clone();
        }
    }
    for types in shape.feedback.values_mut() {
        types.sort();
    }
    shape
}

/// What the server stores for a project, raw (`tests/eval_interop/stored_form.py`).
fn stored_form(server: &WeaveServer, project: &str) -> Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eval_interop/stored_form.py");
    let out = Command::new(&harness::pythons().client)
        .arg(script)
        .args(["--url", &server.url(), "--project", project])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stored_form.py: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}

/// A stored value as the comparison sees it: a ref by its kind (an object with its
/// `_type`, `_class_name`, `_bases` and the shapes of its fields; a row or a column of one
/// by the edges of its path; an op by name; a table), anything else by its JSON type. A
/// ref to nothing stored fails the test (a digest the server computed differently).
fn stored_shape(stored: &Stored, value: &Value) -> Value {
    match value {
        Value::String(s) if s.starts_with("weave:///") => {
            let parts: Vec<&str> = s.trim_start_matches("weave:///").split('/').collect();
            let (kind, name) = (parts[2], parts[3].rsplit_once(':').map_or(parts[3], |(n, _)| n));
            let edges: Vec<&str> = parts[4..].iter().step_by(2).copied().collect();
            match kind {
                "op" | "object" => {
                    let base = format!("weave:///{}/{}/{kind}/{}", parts[0], parts[1], parts[3]);
                    let val = stored.object(&base).unwrap_or_else(|| panic!("{s} names nothing stored"));
                    if kind == "op" {
                        return json!({"ref": "op", "name": name, "edges": edges});
                    }
                    let fields: serde_json::Map<String, Value> = val
                        .as_object()
                        .unwrap()
                        .iter()
                        .filter(|(k, _)| !matches!(k.as_str(), "_type" | "_class_name" | "_bases"))
                        .map(|(k, v)| (k.clone(), stored_shape(stored, v)))
                        .collect();
                    json!({"ref": "object", "edges": edges, "_type": val["_type"], "_class_name": val["_class_name"],
                           "_bases": val["_bases"], "fields": fields})
                }
                "table" => json!({"ref": "table"}),
                other => json!({"ref": other}),
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| stored_shape(stored, v)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), stored_shape(stored, v))).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => json!("null"),
    }
}

/// For each op, the distinct stored shapes of its calls' inputs.
fn input_shapes(doc: &Value) -> BTreeMap<String, Vec<Value>> {
    let stored = Stored::from_server(doc);
    let mut shapes: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for call in doc["calls"].as_array().unwrap() {
        let shape = stored_shape(&stored, &call["inputs"]);
        let entry = shapes.entry(base_name(call)).or_default();
        if !entry.contains(&shape) {
            entry.push(shape);
        }
    }
    shapes
}

/// Each predict_and_score call's example (resolved through the stored tables) and output
/// (without latency), sorted.
fn resolved_rows(doc: &Value) -> Vec<Value> {
    let stored = Stored::from_server(doc);
    let mut rows: Vec<Value> = doc["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| base_name(c) == "Evaluation.predict_and_score")
        .map(|c| {
            let mut output = c["output"].clone();
            output.as_object_mut().unwrap().remove("model_latency");
            json!({"example": stored.resolve(&c["inputs"]["example"]), "output": output})
        })
        .collect();
    rows.sort_by_key(|r| r.to_string());
    rows
}

/// Asserts that two projects store their calls' inputs alike, op by op.
fn assert_stored_alike(rust: &Value, python: &Value) {
    let (rust, python) = (input_shapes(rust), input_shapes(python));
    assert_eq!(rust.keys().collect::<Vec<_>>(), python.keys().collect::<Vec<_>>(), "the ops");
    for (op, python_shapes) in &python {
        assert_eq!(&rust[op], python_shapes, "the stored inputs of {op} (Rust left, Python right)");
    }
}

fn without_latency(summary: &Value) -> Value {
    let mut summary = summary.clone();
    summary.as_object_mut().unwrap().remove("model_latency");
    summary
}

fn init(server: &WeaveServer, project: &str, dir: &std::path::Path) -> weave::Weave {
    weave::builder()
        .project(project)
        .server(server.rust_server_config())
        .settings(Settings { print_call_link: false, ..Settings::default() })
        .exporter_config(ExporterConfig {
            fallback_path: dir.join("fallback.jsonl"),
            max_batch_delay: Duration::from_millis(20),
            ..ExporterConfig::default()
        })
        .init()
        .unwrap()
}

/// The client is process-global: the tests here run one at a time.
static CLIENT_LOCK: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

#[test]
fn python_reads_a_rust_evaluation_as_it_reads_its_own() {
    let _lock = CLIENT_LOCK.lock();
    let server = WeaveServer::start();
    let dir = tempfile::tempdir().unwrap();
    let rust_project = "test-entity/rust-eval";
    let weave = init(&server, rust_project, dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let rust_summary = runtime.block_on(rust_evaluation());
    let report = weave.finish();
    let fallback = std::fs::read_to_string(dir.path().join("fallback.jsonl")).unwrap_or_default();
    assert!(report.completed && report.failed == 0 && report.dropped == 0, "{report:?}\n{fallback}\n{}", server.log());

    // Weave's sqlite server keys table rows by digest alone: the same rows in two projects
    // of one database are stored for the first only, so each language gets its own server.
    let python_server = WeaveServer::start();
    let python_project = "test-entity/py-eval";
    let python_summary = python_evaluation(&python_server, python_project, &[])["summary"].clone();

    let expected = json!({
        "exact": {"match": {"true_count": 2, "true_fraction": 0.5}, "len": {"mean": 6.5}},
        "LenScorer": {"mean": 2.0},
    });
    assert_eq!(without_latency(&python_summary), expected, "Weave's own summary of this data");
    assert_eq!(without_latency(&rust_summary), expected);

    let rust_stored = stored_form(&server, rust_project);
    let python_stored = stored_form(&python_server, python_project);
    assert_stored_alike(&rust_stored, &python_stored);
    assert_eq!(resolved_rows(&rust_stored), resolved_rows(&python_stored), "predict_and_score examples and outputs");

    let rust = shape(&server.read_back(rust_project, &["--no-load-ops"]));
    let python = shape(&python_server.read_back(python_project, &["--no-load-ops"]));
    assert_eq!(rust.edges, python.edges, "the call trees");
    assert_eq!(rust.eval_meta, python.eval_meta, "_weave_eval_meta per op");
    assert_eq!(rust.kinds, python.kinds, "weave.kind per op");
    assert_eq!(rust.feedback, python.feedback, "score feedback per op");
    assert_eq!(without_latency(&rust.evaluate["output"]), expected);
    assert!(rust.evaluate["output"]["model_latency"]["mean"].is_f64());
    let display_name = rust.evaluate["display_name"].as_str().unwrap_or_default();
    assert!(display_name.starts_with("eval-"), "{display_name}");
    // The model input is a ref the Python client resolves to the model's fields.
    assert_eq!(rust.evaluate["inputs_resolved"]["model"]["prefix"], "Pa", "{:#}", rust.evaluate["inputs_resolved"]);
}

#[test]
fn python_reads_a_rust_evaluation_logger_as_it_reads_its_own() {
    let _lock = CLIENT_LOCK.lock();
    let server = WeaveServer::start();
    let dir = tempfile::tempdir().unwrap();
    let rust_project = "test-entity/rust-logger";
    let weave = init(&server, rust_project, dir.path());
    let ev = weave::EvaluationLogger::builder().model_name("my-model").dataset_name("my-dataset").start();
    let pred = ev.log_prediction(&json!({"q": "2+2?"}), &json!("4"));
    pred.log_score("correct", &true).unwrap();
    pred.log_score("quality", &0.5).unwrap();
    pred.finish();
    let summary = ev.log_summary(Some(json!({"note": "done"})));
    let report = weave.finish();
    let fallback = std::fs::read_to_string(dir.path().join("fallback.jsonl")).unwrap_or_default();
    assert!(report.completed && report.failed == 0 && report.dropped == 0, "{report:?}\n{fallback}");

    let python_server = WeaveServer::start(); // see python_reads_a_rust_evaluation_as_it_reads_its_own
    let python_project = "test-entity/py-logger";
    python_evaluation(&python_server, python_project, &["--logger"]);
    let rust = shape(&server.read_back(rust_project, &["--no-load-ops"]));
    let python = shape(&python_server.read_back(python_project, &["--no-load-ops"]));
    let expected = json!({
        "correct": {"true_count": 1, "true_fraction": 1.0},
        "quality": {"mean": 0.5},
        "output": {"note": "done"},
    });
    assert_eq!(summary, expected);
    assert_eq!(python.evaluate["output"], expected, "Weave's own summary");
    assert_eq!(rust.evaluate["output"], expected);
    assert_eq!(rust.edges, python.edges, "the call trees");
    assert_eq!(rust.eval_meta, python.eval_meta, "_weave_eval_meta per op");
    assert_eq!(rust.kinds, python.kinds, "weave.kind per op");
    assert_eq!(rust.feedback, python.feedback, "score feedback per op");
    assert_eq!(rust.evaluate["inputs_resolved"]["model"]["name"], python.evaluate["inputs_resolved"]["model"]["name"]);
    let (rust_stored, python_stored) =
        (stored_form(&server, rust_project), stored_form(&python_server, python_project));
    assert_stored_alike(&rust_stored, &python_stored);
    assert_eq!(resolved_rows(&rust_stored), resolved_rows(&python_stored), "predict_and_score examples and outputs");
}
