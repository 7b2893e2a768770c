//! Evaluations through the public API: Weave's summary rules, trials, preprocessing, the
//! concurrency limit, model and scorer errors, the call tree and its attributes, score
//! feedback, model versions, EvaluationLogger, pairwise scoring and comparisons.

use serde::Serialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use weave::eval::{
    auto_summarize, compare, model_fn, op_model, scorer_fn, sync_scorer_fn, BoxError, Columns, Dataset, Evaluation,
    EvaluationLogger, Model, Pairwise, Preference, Row, Scorer, ScorerInput,
};
use weave::testing::{capture, capture_with, CapturedCall, CapturedKind};
use weave::Settings;

mod eval_support;
use eval_support::{LenScorer, Stored};

// ---------------------------------------------------------------------------------------
// auto_summarize, case by case (protocol reference §8)

#[test]
fn booleans_count_true_and_unscored_rows_stay_in_the_denominator() {
    let scores = [json!(true), json!(false), json!(true), json!({})];
    assert_eq!(auto_summarize(&scores), Some(json!({"true_count": 2, "true_fraction": 0.5})));
}

#[test]
fn numbers_give_their_mean_over_the_rows_that_have_one() {
    assert_eq!(auto_summarize(&[json!(1), json!(2), json!({}), json!(null)]), Some(json!({"mean": 1.5})));
    assert_eq!(auto_summarize(&[json!(2), json!(2)]), Some(json!({"mean": 2.0})));
}

#[test]
fn maps_nest_per_key_and_merge_a_child_that_holds_its_own_key() {
    let scores = [
        json!({"match": true, "len": 6, "detail": {"f1": 0.5}, "mean": 4}),
        json!({"match": false, "len": 7, "detail": {"f1": 1.0}, "mean": 2}),
    ];
    assert_eq!(
        auto_summarize(&scores),
        Some(json!({
            "match": {"true_count": 1, "true_fraction": 0.5},
            "len": {"mean": 6.5},
            "detail": {"f1": {"mean": 0.75}},
            "mean": 3.0,
        }))
    );
}

#[test]
fn nones_are_dropped_and_strings_omitted() {
    assert_eq!(auto_summarize(&[json!(null), json!(null)]), None);
    assert_eq!(auto_summarize(&[json!("a"), json!("b")]), None);
    assert_eq!(auto_summarize(&[json!({"label": "x", "ok": null}), json!({"label": "y"})]), None);
    assert_eq!(
        auto_summarize(&[json!({"ok": null, "score": 1}), json!({"ok": true, "score": null})]),
        Some(json!({"ok": {"true_count": 1, "true_fraction": 1.0}, "score": {"mean": 1.0}}))
    );
    assert_eq!(auto_summarize(&[]), Some(json!({})));
}

#[test]
fn unscored_rows_count_in_nested_boolean_denominators() {
    let scores = [json!({"match": true}), json!({}), json!({}), json!({"match": true})];
    assert_eq!(auto_summarize(&scores), Some(json!({"match": {"true_count": 2, "true_fraction": 0.5}})));
}

// ---------------------------------------------------------------------------------------
// Fixtures

#[derive(Serialize)]
struct QaModel {
    prefix: String,
    delay_ms: u64,
}

impl Model for QaModel {
    type Output = String;

    async fn predict(&self, input: &Row) -> Result<String, BoxError> {
        tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
        let question: String = input.get("question")?;
        Ok(format!("{}{}", self.prefix, question))
    }
}

fn qa_dataset() -> Dataset {
    Dataset::from_rows(
        "qa",
        [json!({"question": "Paris", "expected": "Paris!"}), json!({"question": "London", "expected": "Rome"})],
    )
    .unwrap()
}

fn exact_scorer() -> impl weave::eval::IntoScorer {
    scorer_fn("exact", |input| async move {
        let expected: String = input.column("expected")?;
        let output = input.output().as_str().unwrap_or_default().to_string();
        Ok::<_, BoxError>(json!({"match": output == expected, "len": output.len()}))
    })
    .columns(["expected"])
}

fn without_latency(summary: &Value) -> Value {
    let mut summary = summary.clone();
    if let Some(map) = summary.as_object_mut() {
        map.remove("model_latency");
    }
    summary
}

/// The summary as captured (written, then parsed back) and as returned: equal, but for
/// the latency's last bit (serde_json parses floats to within one ULP by default).
fn assert_same_summary(captured: &Value, returned: &Value) {
    assert_eq!(without_latency(captured), without_latency(returned));
    let latency = |v: &Value| v["model_latency"]["mean"].as_f64().unwrap();
    assert!((latency(captured) - latency(returned)).abs() < 1e-12);
}

fn one<'a>(calls: &'a [CapturedCall], op: &str) -> &'a CapturedCall {
    let matching: Vec<&CapturedCall> = calls.iter().filter(|c| c.op_name() == op).collect();
    assert_eq!(matching.len(), 1, "calls of {op}: {:?}", calls.iter().map(|c| c.op_name()).collect::<Vec<_>>());
    matching[0]
}

// ---------------------------------------------------------------------------------------
// Evaluation

#[tokio::test]
async fn the_reference_run_summary_is_reproduced() {
    // The reference run: `exact` returns {"match", "len"} (one match in two rows, lengths
    // 6 and 7), `LenScorer` a number (2 and 2), outputs are strings.
    let cap = capture();
    let dataset = Dataset::new(
        "qa",
        vec![
            Row::new().with("question", "ris!").with("expected", "Paris!"),
            Row::new().with("question", "ndon!").with("expected", "Rome"),
        ],
    );
    let evaluation =
        Evaluation::builder(dataset).scorer(exact_scorer()).scorer(LenScorer { divisor: 3 }).progress(false).build();
    let outcome = evaluation.evaluate(&QaModel { prefix: "Pa".into(), delay_ms: 1 }).await.unwrap();
    assert_eq!(
        without_latency(&outcome.summary),
        json!({"exact": {"match": {"true_count": 1, "true_fraction": 0.5}, "len": {"mean": 6.5}}, "LenScorer": {"mean": 2.0}})
    );
    assert!(outcome.summary["model_latency"]["mean"].as_f64().unwrap() > 0.0);
    assert!(outcome.summary.get("output").is_none(), "string outputs are omitted");
    let calls = cap.calls();
    assert_same_summary(one(&calls, "Evaluation.evaluate").output(), &outcome.summary);
}

#[tokio::test]
async fn the_call_tree_has_weaves_shape_and_attributes() {
    let cap = capture();
    let evaluation = Evaluation::builder(qa_dataset())
        .scorer(exact_scorer())
        .scorer(LenScorer { divisor: 1 })
        .progress(false)
        .build();
    let model = QaModel { prefix: "A: ".into(), delay_ms: 0 };
    let outcome = evaluation.evaluate(&model).await.unwrap();
    let calls = cap.calls();
    let stored = Stored::of(&cap);

    let evaluate = one(&calls, "Evaluation.evaluate");
    assert_eq!(evaluate.parent_id(), None);
    assert_eq!(Some(evaluate.id().to_string()), outcome.call_id.map(|id| id.to_string()));
    let display = evaluate.display_name().unwrap();
    assert!(display.starts_with("eval-") && display.split('-').count() == 6, "{display}");
    let eval_ref = evaluate.inputs()["self"].as_str().unwrap();
    assert!(eval_ref.starts_with("weave:///test-entity/test-project/object/qa-evaluation:"), "{eval_ref}");
    let evaluation_object = cap.objects().into_iter().find(|o| o.name == "qa-evaluation").unwrap().value;
    assert_eq!(evaluation_object["_type"], "Evaluation");
    assert_eq!(evaluation_object["name"], "qa-evaluation");
    assert!(evaluation_object["dataset"].as_str().unwrap().contains("/object/qa:"));
    for method in ["evaluate", "predict_and_score", "summarize"] {
        let op_ref = evaluation_object[method].as_str().unwrap();
        assert!(op_ref.contains(&format!("/op/Evaluation.{method}:")), "{op_ref}");
    }
    let scorers = evaluation_object["scorers"].as_array().unwrap();
    assert!(scorers[0].as_str().unwrap().contains("/op/exact:"), "a function scorer: its op ref");
    assert!(scorers[1].as_str().unwrap().contains("/object/LenScorer:"), "a scorer type: its object ref");
    let model_ref = evaluate.inputs()["model"].as_str().unwrap();
    assert!(model_ref.contains("/object/QaModel:"), "{model_ref}");
    assert_eq!(Some(model_ref.to_string()), outcome.model_ref);
    assert!(evaluate.attributes().get("_weave_eval_meta").is_none(), "Weave tags the children, not evaluate");
    let started = cap.items(CapturedKind::Started);
    assert_eq!(started.len(), 1, "eager start of Evaluation.evaluate only");
    assert_eq!(started[0].op_name(), "Evaluation.evaluate");

    let rows: Vec<&CapturedCall> = calls.iter().filter(|c| c.op_name() == "Evaluation.predict_and_score").collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.parent_id(), Some(evaluate.id()));
        assert_eq!(row.attributes()["_weave_eval_meta"], json!({"declarative": true}));
        assert_eq!(row.inputs()["model"], model_ref);
        let output = row.output();
        assert_eq!(output.as_object().unwrap().keys().collect::<Vec<_>>(), ["model_latency", "output", "scores"]);
        assert!(output["model_latency"].is_f64());
        let kids: Vec<&str> =
            calls.iter().filter(|c| c.parent_id() == Some(row.id())).map(CapturedCall::op_name).collect();
        let mut kids = kids;
        kids.sort();
        assert_eq!(kids, ["LenScorer.score", "QaModel.predict", "exact"]);
    }
    let first = rows.iter().find(|r| stored.resolve(&r.inputs()["example"])["question"] == "Paris").unwrap();
    let example = first.inputs()["example"].as_str().unwrap();
    assert!(example.contains("/object/qa:") && example.contains("/attr/rows/id/"), "a row ref: {example}");
    assert_eq!(first.output()["output"], "A: Paris");
    assert_eq!(first.output()["scores"], json!({"exact": {"match": false, "len": 8}, "LenScorer": 8}));

    let predict = calls.iter().find(|c| c.op_name() == "QaModel.predict" && c.parent_id() == Some(first.id())).unwrap();
    assert_eq!(predict.inputs()["self"], model_ref);
    assert_eq!(predict.inputs()["question"], format!("{example}/key/question"));
    assert_eq!(stored.resolve(&predict.inputs()["question"]), "Paris");
    assert_eq!(predict.attributes()["_weave_eval_meta"], json!({"declarative": true}));
    let exact = calls.iter().find(|c| c.op_name() == "exact" && c.parent_id() == Some(first.id())).unwrap();
    assert_eq!(exact.inputs(), &json!({"expected": format!("{example}/key/expected"), "output": "A: Paris"}));
    assert_eq!(stored.resolve(exact.inputs()), json!({"expected": "Paris!", "output": "A: Paris"}));
    assert!(exact.attributes()["weave"].get("kind").is_none());
    let len = calls.iter().find(|c| c.op_name() == "LenScorer.score" && c.parent_id() == Some(first.id())).unwrap();
    assert_eq!(len.attributes()["weave"]["kind"], "scorer");
    assert!(len.inputs()["self"].as_str().unwrap().contains("/object/LenScorer:"));
    assert_eq!(len.output(), &json!(8));

    let summarize = one(&calls, "Evaluation.summarize");
    assert_eq!(summarize.parent_id(), Some(evaluate.id()));
    assert_same_summary(summarize.output(), &outcome.summary);
    assert!(summarize.inputs()["eval_table"].as_str().unwrap().contains("/object/EvaluationResults:"));
    assert_eq!(stored.resolve(&summarize.inputs()["eval_table"])["rows"].as_array().unwrap().len(), 2);
    // LenScorer keeps the default summarize: Weave records it as the base class's method.
    let len_summary = one(&calls, "Scorer.summarize");
    assert_eq!(len_summary.parent_id(), Some(summarize.id()));
    assert_eq!(stored.resolve(&len_summary.inputs()["score_rows"]), json!([8, 9]));
    assert_eq!(len_summary.output(), &json!({"mean": 8.5}));
    assert!(calls.iter().all(|c| c.op_name() != "exact.summarize"), "function scorers summarize untraced");
    assert_eq!(calls.last().unwrap().op_name(), "Evaluation.evaluate");
    assert_eq!(evaluate.summary()["status_counts"], json!({"success": 11, "error": 0}));

    // One `wandb.runnable.<scorer>` feedback per score, on the predict call.
    let feedback = cap.feedback();
    assert_eq!(feedback.len(), 4);
    let on_first: Vec<_> = feedback.iter().filter(|f| f.call_id.to_string() == predict.id()).collect();
    let mut types: Vec<&str> = on_first.iter().map(|f| f.feedback_type.as_str()).collect();
    types.sort();
    assert_eq!(types, ["wandb.runnable.LenScorer", "wandb.runnable.exact"]);
    let len_feedback = on_first.iter().find(|f| f.feedback_type.ends_with("LenScorer")).unwrap();
    assert_eq!(len_feedback.payload["output"], 8);
    assert_eq!(len_feedback.runnable_ref.as_deref(), len.inputs()["self"].as_str(), "a scorer type: its object ref");
    assert_eq!(len_feedback.call_ref, Some(format!("weave:///test-entity/test-project/call/{}", len.id())));
    let exact_feedback = on_first.iter().find(|f| f.feedback_type.ends_with("exact")).unwrap();
    assert_eq!(exact_feedback.runnable_ref.as_deref(), Some(exact.op_ref()), "a function scorer: its op ref");
    assert_eq!(exact_feedback.call_ref, Some(format!("weave:///test-entity/test-project/call/{}", exact.id())));
}

#[derive(Serialize)]
struct Verdicts;

impl Scorer for Verdicts {
    type Output = bool;

    async fn score(&self, input: ScorerInput) -> Result<bool, BoxError> {
        Ok(input.output().as_str().is_some_and(|o| o.starts_with('P')))
    }

    fn summarize(&self, scores: &[Value]) -> Option<Value> {
        let passed = scores.iter().filter(|s| **s == json!(true)).count();
        Some(json!({"passed": passed, "rows": scores.len()}))
    }
}

#[tokio::test]
async fn a_scorer_with_its_own_summarize_is_recorded_under_its_type() {
    let cap = capture();
    let evaluation = Evaluation::builder(qa_dataset()).scorer(Verdicts).trials(2).progress(false).build();
    let model = model_fn("echo", |row: Row| async move { Ok::<_, BoxError>(row.get::<String>("question")?) });
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(outcome.summary["Verdicts"], json!({"passed": 2, "rows": 4}));
    let calls = cap.calls();
    let own = one(&calls, "Verdicts.summarize");
    assert_eq!(own.output(), &json!({"passed": 2, "rows": 4}));
    assert_eq!(Stored::of(&cap).resolve(&own.inputs()["score_rows"]), json!([true, false, true, false]));
    assert!(calls.iter().all(|c| c.op_name() != "Scorer.summarize"));
    assert_eq!(own.parent_id(), Some(one(&calls, "Evaluation.summarize").id()));
}

#[tokio::test]
async fn two_configurations_of_a_model_are_two_versions() {
    let cap = capture();
    let evaluation = Evaluation::builder(qa_dataset()).scorer(exact_scorer()).progress(false).build();
    let a = evaluation.evaluate(&QaModel { prefix: "a".into(), delay_ms: 0 }).await.unwrap();
    let b = evaluation.evaluate(&QaModel { prefix: "b".into(), delay_ms: 0 }).await.unwrap();
    let again = evaluation.evaluate(&QaModel { prefix: "a".into(), delay_ms: 0 }).await.unwrap();
    assert_ne!(a.model_ref, b.model_ref);
    assert_eq!(a.model_ref, again.model_ref);
    let model = cap.objects().into_iter().find(|o| o.name == "QaModel").unwrap();
    assert_eq!(model.value["_type"], "QaModel");
    assert_eq!(model.value["_bases"], json!(["Model", "Object", "BaseModel"]));
    assert_eq!(model.value["prefix"], "a");
    assert!(model.value["predict"].as_str().unwrap().contains("/op/QaModel.predict:"));
    let dataset = cap.objects().into_iter().find(|o| o.name == "qa").unwrap();
    assert_eq!(dataset.value["_type"], "Dataset");
    assert!(dataset.value["rows"].as_str().unwrap().contains("/table/"));
    assert_eq!(Stored::of(&cap).resolve(&dataset.value["rows"]).as_array().unwrap().len(), 2);
    // The dataset, scorer and evaluation versions are the same in all three runs.
    let versions = |name: &str| {
        let mut digests: Vec<String> = cap.objects().into_iter().filter(|o| o.name == name).map(|o| o.digest).collect();
        digests.sort();
        digests.dedup();
        digests
    };
    assert_eq!(versions("qa").len(), 1);
    assert_eq!(versions("qa-evaluation").len(), 1);
    assert_eq!(versions("QaModel").len(), 2);
}

#[tokio::test]
async fn each_trial_runs_and_is_scored_on_its_own() {
    let cap = capture();
    let calls_made = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = calls_made.clone();
    let model = model_fn("flaky", move |row: Row| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, BoxError>(format!("{}-{}", row.get::<String>("question")?, n % 2)) }
    });
    let even = sync_scorer_fn("even", |input| Ok::<_, BoxError>(input.output().as_str().unwrap().ends_with('0')));
    let evaluation = Evaluation::builder(qa_dataset()).scorer(even).trials(3).concurrency(1).progress(false).build();
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(calls_made.load(Ordering::SeqCst), 6);
    assert_eq!(outcome.rows.len(), 6);
    let order: Vec<(usize, usize)> = outcome.rows.iter().map(|r| (r.row_index, r.trial)).collect();
    assert_eq!(order, [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]);
    assert_eq!(outcome.summary["even"], json!({"true_count": 3, "true_fraction": 0.5}));
    assert_eq!(cap.calls_of("Evaluation.predict_and_score").len(), 6);
    assert_eq!(cap.calls_of("flaky").len(), 6, "a function model's calls are named after it");
    assert!(cap.calls_of("flaky")[0].inputs().get("self").is_none());
}

#[tokio::test]
async fn preprocessing_changes_the_model_input_but_scorers_see_the_raw_row() {
    let cap = capture();
    let model = model_fn("reader", |row: Row| async move {
        assert!(row.value("expected").is_none(), "the model gets the preprocessed input");
        Ok::<_, BoxError>(row.get::<String>("prompt")?)
    });
    let seen = scorer_fn("seen", |input| async move {
        Ok::<_, BoxError>(json!({
            "raw": input.row().value("question").is_some() && input.row().value("prompt").is_none(),
            "expected": input.value("expected").is_some(),
        }))
    });
    let evaluation = Evaluation::builder(qa_dataset())
        .scorer(seen)
        .preprocess_model_input(|row| Row::new().with("prompt", format!("Q: {}", row.str("question").unwrap_or(""))))
        .progress(false)
        .build();
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(outcome.rows[0].output, "Q: Paris");
    assert_eq!(
        outcome.summary["seen"],
        json!({"raw": {"true_count": 2, "true_fraction": 1.0}, "expected": {"true_count": 2, "true_fraction": 1.0}})
    );
    let predict = &cap.calls_of("reader")[0];
    assert_eq!(predict.inputs(), &json!({"prompt": "Q: Paris"}), "a preprocessed row is passed as values");
    let row = &cap.calls_of("Evaluation.predict_and_score")[0];
    assert_eq!(Stored::of(&cap).resolve(&row.inputs()["example"])["expected"], "Paris!");
}

#[derive(Serialize)]
struct Counting {
    #[serde(skip)]
    running: std::sync::Arc<AtomicUsize>,
    #[serde(skip)]
    peak: std::sync::Arc<AtomicUsize>,
}

impl Model for Counting {
    type Output = bool;

    async fn predict(&self, _input: &Row) -> Result<bool, BoxError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(15)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(true)
    }
}

fn counting() -> Counting {
    Counting { running: Default::default(), peak: Default::default() }
}

#[tokio::test]
async fn weave_parallelism_limits_the_rows_running_at_once() {
    let _cap = capture_with(Settings { parallelism: 3, print_call_link: false, ..Settings::default() });
    let rows: Vec<Row> = (0..12).map(|i| Row::new().with("i", i)).collect();
    let evaluation = Evaluation::builder(Dataset::new("numbers", rows)).progress(false).build();
    let model = counting();
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(outcome.rows.len(), 12);
    assert_eq!(model.peak.load(Ordering::SeqCst), 3);
    assert_eq!(outcome.summary["output"], json!({"true_count": 12, "true_fraction": 1.0}));

    let limited = Evaluation::builder(Dataset::new("numbers", (0..6).map(|i| Row::new().with("i", i)).collect()))
        .concurrency(2)
        .progress(false)
        .build();
    let model = counting();
    limited.evaluate(&model).await.unwrap();
    assert_eq!(model.peak.load(Ordering::SeqCst), 2, "an explicit concurrency wins over WEAVE_PARALLELISM");
}

#[tokio::test]
async fn a_model_error_is_recorded_on_its_row_and_the_evaluation_goes_on() {
    let cap = capture();
    let model = model_fn("picky", |row: Row| async move {
        let question: String = row.get("question")?;
        if question == "London" {
            return Err(BoxError::from("no answer for London"));
        }
        Ok(question)
    });
    let evaluation = Evaluation::builder(qa_dataset()).scorer(exact_scorer()).progress(false).build();
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(outcome.model_errors(), 1);
    let failed = &outcome.rows[1];
    assert_eq!(failed.output, Value::Null);
    assert!(failed.scores.is_empty());
    assert_eq!(failed.model_error.as_deref(), Some("no answer for London"));
    // The unscored row counts in the boolean denominator, not in the mean.
    assert_eq!(
        outcome.summary["exact"],
        json!({"match": {"true_count": 0, "true_fraction": 0.0}, "len": {"mean": 5.0}})
    );
    let stored = Stored::of(&cap);
    let predict_calls = cap.calls_of("picky");
    let failed_call = predict_calls.iter().find(|c| stored.resolve(&c.inputs()["question"]) == "London").unwrap();
    assert_eq!(failed_call.exception().unwrap()["message"], "no answer for London");
    let row = cap
        .calls_of("Evaluation.predict_and_score")
        .into_iter()
        .find(|c| stored.resolve(&c.inputs()["example"])["question"] == "London")
        .unwrap();
    assert!(row.exception().is_none());
    assert_eq!(row.output()["output"], Value::Null);
    assert_eq!(row.output()["scores"], json!({}));
    assert!(row.output()["model_latency"].is_f64());
    assert_eq!(cap.calls_of("exact").len(), 1, "no scorer runs on a failed row");
    assert_eq!(cap.calls_of("Evaluation.evaluate")[0].summary()["status_counts"]["error"], 1);
}

#[tokio::test]
async fn a_scorer_error_is_recorded_on_that_score() {
    let cap = capture();
    let fragile = sync_scorer_fn("fragile", |input| {
        if input.output() == "London" {
            Err(BoxError::from("cannot score London"))
        } else {
            Ok(true)
        }
    });
    let needs_context =
        scorer_fn("needs_context", |input| async move { Ok::<_, BoxError>(input.value("context").is_some()) })
            .columns(["context"]);
    let model = model_fn("echo", |row: Row| async move { Ok::<_, BoxError>(row.get::<String>("question")?) });
    let evaluation = Evaluation::builder(qa_dataset())
        .scorer(fragile)
        .scorer(needs_context)
        .scorer(exact_scorer())
        .progress(false)
        .build();
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(outcome.rows[1].output, "London");
    assert_eq!(outcome.rows[1].scorer_errors["fragile"], "cannot score London");
    assert!(outcome.rows[1].scores.contains_key("exact"));
    assert!(outcome.rows[0].scorer_errors["needs_context"].contains("column `context` not found"));
    assert_eq!(outcome.scorer_errors(), 3);
    assert_eq!(outcome.summary["fragile"], json!({"true_count": 1, "true_fraction": 0.5}));
    assert_eq!(outcome.summary["needs_context"], Value::Null, "a scorer with no scores summarizes to None");
    let failed = cap.calls_of("fragile").into_iter().find(|c| c.inputs()["output"] == "London").unwrap();
    assert_eq!(failed.exception().unwrap()["message"], "cannot score London");
    assert_eq!(cap.calls_of("needs_context")[0].exception().unwrap()["type"], "ColumnError");
}

#[tokio::test]
async fn a_panicking_model_is_an_error_on_its_row() {
    let cap = capture();
    let model = model_fn("panicky", |row: Row| async move {
        if row.str("question") == Some("Paris") {
            panic!("model blew up");
        }
        Ok::<_, BoxError>("fine")
    });
    let evaluation = Evaluation::builder(qa_dataset()).progress(false).build();
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(outcome.rows[0].model_error.as_deref(), Some("panic: model blew up"));
    assert_eq!(outcome.rows[1].output, "fine");
    let failed = cap.calls_of("panicky").into_iter().find(|c| c.exception().is_some()).unwrap();
    assert_eq!(failed.exception().unwrap()["type"], "panic");
}

#[tokio::test]
async fn column_maps_rename_dataset_columns_for_a_scorer() {
    let _cap = capture();
    #[derive(Serialize)]
    struct Matches {
        column_map: std::collections::BTreeMap<String, String>,
    }
    impl Scorer for Matches {
        type Output = bool;
        fn columns(&self) -> Columns {
            Columns::only(["target"])
        }
        fn column_map(&self) -> weave::eval::ColumnMap {
            self.column_map.clone()
        }
        async fn score(&self, input: ScorerInput) -> Result<bool, BoxError> {
            Ok(input.output() == input.value("target").unwrap_or(&Value::Null))
        }
    }
    let map = [("target".to_string(), "expected".to_string())].into_iter().collect();
    let model = model_fn("paris", |_row: Row| async { Ok::<_, BoxError>("Paris!") });
    let evaluation = Evaluation::builder(qa_dataset()).scorer(Matches { column_map: map }).progress(false).build();
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(outcome.summary["Matches"], json!({"true_count": 1, "true_fraction": 0.5}));

    let bad = [("other".to_string(), "expected".to_string())].into_iter().collect();
    let evaluation = Evaluation::builder(qa_dataset()).scorer(Matches { column_map: bad }).build();
    let error = evaluation.evaluate(&model).await.unwrap_err();
    assert!(error.to_string().contains("renames `other`"), "{error}");
}

#[tokio::test]
async fn duplicate_scorer_names_are_refused() {
    let _cap = capture();
    let evaluation = Evaluation::builder(qa_dataset()).scorer(exact_scorer()).scorer(exact_scorer()).build();
    let model = model_fn("m", |_row: Row| async { Ok::<_, BoxError>(1) });
    assert!(
        matches!(evaluation.evaluate(&model).await, Err(weave::eval::EvalError::DuplicateScorer(n)) if n == "exact")
    );
}

#[weave::op]
async fn answer_question(question: String) -> String {
    format!("answer to {question}")
}

#[tokio::test]
async fn an_op_model_is_its_own_predict_call() {
    let cap = capture();
    let model = op_model("answer_question", |row: Row| async move {
        Ok::<_, BoxError>(answer_question(row.get("question")?).await)
    });
    let evaluation = Evaluation::builder(qa_dataset()).progress(false).build();
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(outcome.rows[0].output, "answer to Paris");
    let calls = cap.calls();
    let op_calls: Vec<&CapturedCall> = calls.iter().filter(|c| c.op_name() == "answer_question").collect();
    assert_eq!(op_calls.len(), 2);
    let rows = cap.calls_of("Evaluation.predict_and_score");
    assert!(op_calls.iter().all(|c| rows.iter().any(|r| Some(r.id()) == c.parent_id())));
    assert_eq!(op_calls[0].attributes()["_weave_eval_meta"], json!({"declarative": true}));
}

#[tokio::test]
async fn a_pairwise_scorer_runs_the_baseline_under_its_score_call() {
    let cap = capture();
    let baseline = model_fn("baseline", |_row: Row| async { Ok::<_, BoxError>("?") });
    let preference = Pairwise::new("preference", baseline, |input, baseline_output| async move {
        let ours = input.output().as_str().unwrap_or_default().len();
        let theirs = baseline_output.as_str().unwrap_or_default().len();
        Ok::<_, BoxError>(match ours.cmp(&theirs) {
            std::cmp::Ordering::Greater => Preference::Model,
            std::cmp::Ordering::Less => Preference::Baseline,
            std::cmp::Ordering::Equal => Preference::Tie,
        })
    });
    let model = model_fn("verbose", |row: Row| async move {
        Ok::<_, BoxError>(if row.str("question") == Some("Paris") { "Paris is the capital" } else { "!" })
    });
    let evaluation = Evaluation::builder(qa_dataset()).scorer(preference).progress(false).build();
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(
        outcome.summary["preference"],
        json!({
            "model_wins": {"true_count": 1, "true_fraction": 0.5},
            "baseline_wins": {"true_count": 0, "true_fraction": 0.0},
            "tie": {"true_count": 1, "true_fraction": 0.5},
        })
    );
    let score_calls = cap.calls_of("Pairwise.score");
    assert_eq!(score_calls.len(), 2);
    let baseline_calls = cap.calls_of("baseline");
    assert_eq!(baseline_calls.len(), 2);
    assert!(baseline_calls.iter().all(|b| score_calls.iter().any(|s| Some(s.id()) == b.parent_id())));
}

#[tokio::test]
async fn compare_lines_up_summaries_and_outputs() {
    let _cap = capture();
    let evaluation = Evaluation::builder(qa_dataset()).scorer(exact_scorer()).progress(false).build();
    let v1 = QaModel { prefix: String::new(), delay_ms: 0 };
    let v2 = QaModel { prefix: "Hello ".into(), delay_ms: 0 };
    let plain = model_fn("plain", |_row: Row| async { Ok::<_, BoxError>("Paris!") });
    let comparison = compare(&evaluation, &[&v1, &v2, &plain]).await.unwrap();
    assert_eq!(comparison.outcomes.len(), 3);
    assert!(comparison.labels[0].starts_with("QaModel:") && comparison.labels[1].starts_with("QaModel:"));
    assert_ne!(comparison.labels[0], comparison.labels[1]);
    assert_eq!(comparison.labels[2], "plain");
    let metrics = comparison.metrics();
    let fraction = metrics.iter().find(|(p, _)| p == "exact.match.true_fraction").unwrap();
    assert_eq!(fraction.1, [Some(json!(0.0)), Some(json!(0.0)), Some(json!(0.5))]);
    let table = comparison.to_string();
    assert!(table.contains("exact.match.true_fraction"), "{table}");
    assert!(table.contains("Hello Paris"), "{table}");
    assert!(table.lines().next().unwrap().starts_with("metric"), "{table}");
}

#[test]
fn datasets_load_from_jsonl_and_csv_files() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("questions.jsonl");
    std::fs::write(&jsonl, "{\"q\": \"a\", \"n\": 1}\n\n{\"q\": \"b\", \"n\": 2}\n").unwrap();
    let dataset = Dataset::from_jsonl(&jsonl).unwrap();
    assert_eq!(dataset.name(), Some("questions"));
    assert_eq!(dataset.rows()[1].get::<u32>("n").unwrap(), 2);
    std::fs::write(&jsonl, "{\"q\": 1}\n[1]\n").unwrap();
    assert!(Dataset::from_jsonl(&jsonl).unwrap_err().to_string().contains(":2:"));

    let csv = dir.path().join("qa.csv");
    std::fs::write(&csv, "question,expected\n\"Capital of France, please\",Paris\nOne plus one,2\n").unwrap();
    let dataset = Dataset::from_csv(&csv).unwrap();
    assert_eq!(dataset.len(), 2);
    assert_eq!(dataset.rows()[0].str("question"), Some("Capital of France, please"));
    assert_eq!(dataset.rows()[1].str("expected"), Some("2"));
    // RFC 4180 quoting (commas, quotes, line breaks), CRLF, a byte order mark, blank lines
    // and no line break at the end.
    let text = "\u{feff}question,expected\r\n\"Say \"\"hi\"\"\",\"two\r\nlines\"\r\n\r\nlast,1";
    std::fs::write(&csv, text).unwrap();
    let dataset = Dataset::from_csv(&csv).unwrap();
    assert_eq!(dataset.len(), 2);
    assert_eq!(dataset.rows()[0].str("question"), Some("Say \"hi\""));
    assert_eq!(dataset.rows()[0].str("expected"), Some("two\r\nlines"));
    assert_eq!(dataset.rows()[1].value("expected"), Some(&json!("1")));
    // A bad record: its file and line, and both counts.
    std::fs::write(&csv, "question,expected\n\"a\nb\",1\n\nc\n").unwrap();
    let error = Dataset::from_csv(&csv).unwrap_err().to_string();
    assert!(error.ends_with("qa.csv:5: 1 fields, the header has 2"), "{error}");
    std::fs::write(&csv, "question,expected\nq,\"open\nr,1\n").unwrap();
    let error = Dataset::from_csv(&csv).unwrap_err().to_string();
    assert!(error.ends_with("qa.csv:2: a quoted field is not closed"), "{error}");
    std::fs::write(&csv, "").unwrap();
    assert!(Dataset::from_csv(&csv).unwrap().is_empty());
    assert!(Dataset::from_rows("bad", [json!(1)]).is_err());
}

// ---------------------------------------------------------------------------------------
// EvaluationLogger

#[test]
fn the_logger_records_weaves_imperative_tree_and_the_reference_summary() {
    let cap = capture();
    let mut attributes = weave::JsonObject::new();
    attributes.insert("team".into(), json!("search"));
    let ev = EvaluationLogger::builder()
        .name("imperative run")
        .model_name("my-model")
        .dataset_name("my-dataset")
        .eval_attributes(attributes)
        .start();
    assert_eq!(cap.items(CapturedKind::Started)[0].op_name(), "Evaluation.evaluate");
    let pred = ev.log_prediction(&json!({"q": "2+2?"}), &json!("4"));
    pred.log_score("correct", &true).unwrap();
    pred.log_score("quality", &0.5).unwrap();
    pred.finish();
    assert!(pred.log_score("late", &1).is_err());
    let summary = ev.log_summary(Some(json!({"note": "done"})));
    assert_eq!(
        summary,
        json!({"correct": {"true_count": 1, "true_fraction": 1.0}, "quality": {"mean": 0.5}, "output": {"note": "done"}})
    );

    let calls = cap.calls();
    let evaluate = one(&calls, "Evaluation.evaluate");
    assert_eq!(evaluate.display_name(), Some("imperative run"));
    assert_eq!(evaluate.output(), &summary);
    assert_eq!(evaluate.attributes()["_weave_eval_meta"], json!({"imperative": true}));
    assert_eq!(evaluate.attributes()["team"], "search");
    assert!(evaluate.inputs()["model"].as_str().unwrap().contains("/object/mymodel:"));
    assert!(evaluate.inputs()["self"].as_str().unwrap().contains("/object/my-dataset-evaluation:"));
    assert_eq!(Stored::of(&cap).resolve(&evaluate.inputs()["self"])["name"], "my-dataset-evaluation");
    let row = one(&calls, "Evaluation.predict_and_score");
    assert_eq!(row.parent_id(), Some(evaluate.id()));
    assert_eq!(row.inputs()["example"], json!({"q": "2+2?"}));
    assert_eq!(row.attributes()["_weave_eval_meta"], json!({"imperative": true}));
    assert!(row.attributes().get("team").is_none());
    assert_eq!(
        row.output(),
        &json!({"output": "4", "scores": {"correct": true, "quality": 0.5}, "model_latency": null})
    );
    let predict = one(&calls, "Model.predict");
    assert_eq!(predict.parent_id(), Some(row.id()));
    assert_eq!(predict.inputs()["inputs"], json!({"q": "2+2?"}));
    assert_eq!(predict.output(), &json!("4"));
    for name in ["correct", "quality"] {
        let score = one(&calls, name);
        assert_eq!(score.parent_id(), Some(row.id()));
        assert_eq!(score.attributes()["_weave_eval_meta"], json!({"imperative": true, "score": true}));
        assert_eq!(score.inputs()["output"], "4");
        assert_eq!(score.inputs()["inputs"], json!({"q": "2+2?"}));
        assert!(score.inputs()["self"].as_str().unwrap().contains(&format!("/object/{name}:")));
    }
    let summarize = one(&calls, "Evaluation.summarize");
    assert_eq!(summarize.parent_id(), Some(evaluate.id()));
    assert_eq!(summarize.output(), &summary);
    let feedback = cap.feedback();
    assert_eq!(feedback.len(), 2);
    assert!(feedback.iter().all(|f| f.call_id.to_string() == predict.id()));
    assert_eq!(feedback[0].feedback_type, "wandb.runnable.correct");
    let correct = one(&calls, "correct");
    assert_eq!(feedback[0].runnable_ref.as_deref(), correct.inputs()["self"].as_str());
    assert_eq!(feedback[0].call_ref, Some(format!("weave:///test-entity/test-project/call/{}", correct.id())));
}

#[test]
fn a_dropped_logger_finishes_its_open_predictions_and_itself() {
    let cap = capture();
    {
        let ev = EvaluationLogger::new();
        let pred = ev.log_prediction(&json!({"q": 1}), &json!(2));
        let pending = pred.start_score("judge").unwrap();
        weave::CallBuilder::new("judge_llm").parent(pending.context()).start().finish(&json!("yes"));
        pending.finish(&json!({"ok": true}));
        ev.log_example(&json!({"q": 3}), &json!(4), [("judge", json!({"ok": false}))]);
    }
    let calls = cap.calls();
    let evaluate = one(&calls, "Evaluation.evaluate");
    assert_eq!(evaluate.output(), &Value::Null);
    assert!(evaluate.exception().is_none());
    assert_eq!(evaluate.inputs()["model"].as_str().map(|m| m.contains("/object/Model:")), Some(true));
    assert!(evaluate.display_name().unwrap().starts_with("eval-"));
    assert_eq!(calls.iter().filter(|c| c.op_name() == "Evaluation.predict_and_score").count(), 2);
    assert!(calls.iter().all(|c| c.exception().is_none()));
    let judge_llm = one(&calls, "judge_llm");
    let judge = calls.iter().find(|c| Some(c.id()) == judge_llm.parent_id()).unwrap();
    assert_eq!(judge.op_name(), "judge");
    assert!(cap.items(CapturedKind::Unfinished).is_empty());
}

#[test]
fn a_failed_logger_records_the_error_and_no_summary() {
    let cap = capture();
    let ev = EvaluationLogger::builder().dataset(qa_dataset()).start();
    ev.fail("the harness crashed");
    let evaluate = &cap.calls_of("Evaluation.evaluate")[0];
    assert_eq!(evaluate.exception().unwrap()["message"], "the harness crashed");
    assert_eq!(ev.log_summary(None), Value::Null, "a finished logger logs nothing more");
}

#[test]
fn auto_summarize_off_uses_the_given_summary() {
    let _cap = capture();
    let ev = EvaluationLogger::new();
    ev.log_example(&json!({}), &json!(1), [("s", 1)]);
    assert_eq!(ev.log_summary_with(Some(json!({"k": 1})), false), json!({"k": 1, "output": {"k": 1}}));
    let ev = EvaluationLogger::new();
    assert_eq!(ev.log_summary(None), json!({"output": {}}));
}

#[derive(Debug)]
struct RateLimited {
    source: std::io::Error,
}

impl std::fmt::Display for RateLimited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the model provider is rate limiting us")
    }
}

impl std::error::Error for RateLimited {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[tokio::test]
async fn a_model_error_keeps_its_type_and_cause_chain() {
    let cap = capture();
    let model = model_fn("limited", |_row: Row| async move {
        let source = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer");
        Err::<String, _>(RateLimited { source })
    });
    let evaluation = Evaluation::builder(qa_dataset()).progress(false).build();
    let outcome = evaluation.evaluate(&model).await.unwrap();
    assert_eq!(outcome.model_errors(), 2);
    let exception = cap.calls_of("limited")[0].exception().unwrap();
    assert_eq!(exception["type"], "RateLimited");
    assert_eq!(
        exception["message"],
        "the model provider is rate limiting us\n\nCaused by:\n    connection reset by peer"
    );
    // A bare message (`"...".into()`) has no type of its own.
    let model = model_fn("plain", |_row: Row| async move { Err::<String, BoxError>("no answer".into()) });
    Evaluation::builder(qa_dataset()).progress(false).build().evaluate(&model).await.unwrap();
    let exception = cap.calls_of("plain")[0].exception().unwrap();
    assert_eq!((exception["type"].as_str(), exception["message"].as_str()), (Some("Error"), Some("no answer")));
}

#[tokio::test]
async fn f32_outputs_and_scores_keep_their_own_precision() {
    let cap = capture();
    #[derive(Serialize)]
    struct Answer {
        confidence: f32,
    }
    let model = model_fn("confident_f32", |_row: Row| async move { Ok::<_, BoxError>(Answer { confidence: 0.7 }) });
    let score = sync_scorer_fn("calibrated", |_input| Ok::<_, BoxError>(0.2f32));
    let outcome =
        Evaluation::builder(qa_dataset()).scorer(score).progress(false).build().evaluate(&model).await.unwrap();
    assert_eq!(outcome.rows[0].output, json!({"confidence": 0.7}));
    assert_eq!(outcome.rows[0].scores["calibrated"], json!(0.2));
    assert_eq!(cap.calls_of("confident_f32")[0].output(), &json!({"confidence": 0.7}));
    assert_eq!(cap.calls_of("calibrated")[0].output(), &json!(0.2));
    assert_eq!(outcome.summary["calibrated"], json!({"mean": 0.2}));
}
