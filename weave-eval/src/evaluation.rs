//! The evaluation itself: runs a model over every row (× trials), scores each output,
//! and summarizes, recording Weave's call tree (`Evaluation.evaluate` →
//! `Evaluation.predict_and_score` → predict and score calls, then `Evaluation.summarize`).

use crate::columns::{select_columns, source_column, ColumnMap, Columns};
use crate::model::{finish_call, publish_model, run_predict, unknown_source, ModelRun};
use crate::objects::{key_ref, object_value, with_methods, Published, Publisher};
use crate::progress::Progress;
use crate::{auto_summarize, AnyModel, AnyScorer, Dataset, IntoScorer, Row, ScorerInput, EVAL_META_KEY};
use futures_util::stream::StreamExt as _;
use futures_util::FutureExt as _;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use weave_core::call::JsonObject;
use weave_core::context::{CallContext, FutureExt as _};
use weave_core::ids::Id;
use weave_core::manual::CallBuilder;
use weave_core::op::OpDef;

type Preprocess = Arc<dyn Fn(&Row) -> Row + Send + Sync>;

/// An evaluation: a dataset, scorers, and how to run them. Build it with
/// [`Evaluation::builder`], run it with [`Evaluation::evaluate`].
pub struct Evaluation {
    dataset: Dataset,
    scorers: Vec<Box<dyn AnyScorer>>,
    name: Option<String>,
    description: Option<String>,
    display_name: Option<String>,
    trials: usize,
    preprocess: Option<Preprocess>,
    concurrency: Option<usize>,
    metadata: Option<Value>,
    progress: Option<bool>,
}

impl fmt::Debug for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evaluation")
            .field("name", &self.name())
            .field("rows", &self.dataset.len())
            .field("scorers", &self.scorer_names())
            .field("trials", &self.trials)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Evaluation`].
#[must_use]
pub struct EvaluationBuilder {
    evaluation: Evaluation,
}

impl fmt::Debug for EvaluationBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EvaluationBuilder").field(&self.evaluation).finish()
    }
}

impl EvaluationBuilder {
    /// Adds a scorer (a [`Scorer`](crate::Scorer) type or a [`scorer_fn`](crate::scorer_fn)).
    pub fn scorer(mut self, scorer: impl IntoScorer) -> EvaluationBuilder {
        self.evaluation.scorers.push(scorer.into_scorer());
        self
    }

    /// The evaluation's object name (default: `<dataset name>-evaluation`).
    pub fn name(mut self, name: impl Into<String>) -> EvaluationBuilder {
        self.evaluation.name = Some(name.into());
        self
    }

    /// A description of the evaluation object.
    pub fn description(mut self, description: impl Into<String>) -> EvaluationBuilder {
        self.evaluation.description = Some(description.into());
        self
    }

    /// The display name of its runs (Weave's `evaluation_name`; default:
    /// `eval-YYYY-MM-DD-<adjective>-<noun>`, new for each run).
    pub fn display_name(mut self, display_name: impl Into<String>) -> EvaluationBuilder {
        self.evaluation.display_name = Some(display_name.into());
        self
    }

    /// Runs each row `trials` times, each scored on its own (default 1).
    pub fn trials(mut self, trials: usize) -> EvaluationBuilder {
        self.evaluation.trials = trials;
        self
    }

    /// Turns each row into the model's input (scorers still see the raw row).
    pub fn preprocess_model_input(mut self, f: impl Fn(&Row) -> Row + Send + Sync + 'static) -> EvaluationBuilder {
        self.evaluation.preprocess = Some(Arc::new(f));
        self
    }

    /// How many rows run at once (default: `WEAVE_PARALLELISM` of the running client,
    /// else 20).
    pub fn concurrency(mut self, rows: usize) -> EvaluationBuilder {
        self.evaluation.concurrency = Some(rows);
        self
    }

    /// Metadata stored with the evaluation object.
    pub fn metadata(mut self, metadata: Value) -> EvaluationBuilder {
        self.evaluation.metadata = Some(metadata);
        self
    }

    /// Shows (or hides) the progress bar on stderr: the run's display name, rows done,
    /// errors, elapsed time and ETA (default: shown when stderr is a terminal; `true`
    /// draws it even when stderr is not one).
    pub fn progress(mut self, show: bool) -> EvaluationBuilder {
        self.evaluation.progress = Some(show);
        self
    }

    /// The evaluation.
    pub fn build(self) -> Evaluation {
        self.evaluation
    }
}

/// What one row (one trial) gave.
#[derive(Debug, Clone, PartialEq)]
pub struct RowResult {
    /// The row's index in the dataset.
    pub row_index: usize,
    /// The trial (0-based).
    pub trial: usize,
    /// The row as the scorers saw it.
    pub row: Row,
    /// The model output (`null` when the model failed).
    pub output: Value,
    /// The scores by scorer name (a scorer that failed, or did not run, is absent).
    pub scores: JsonObject,
    /// Seconds spent in `predict`.
    pub model_latency: f64,
    /// The model's error, when it failed.
    pub model_error: Option<String>,
    /// The scorers' errors, by scorer name.
    pub scorer_errors: BTreeMap<String, String>,
}

/// The result of [`Evaluation::evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationOutcome {
    /// The summary, exactly as Weave's: one entry per scorer, plus `output` (when the
    /// outputs summarize) and `model_latency`.
    pub summary: Value,
    /// Every row × trial, in dataset order (trial by trial).
    pub rows: Vec<RowResult>,
    /// The model's name.
    pub model_name: String,
    /// The model's version (its object ref), when published.
    pub model_ref: Option<String>,
    /// The run's display name.
    pub display_name: String,
    /// The `Evaluation.evaluate` call, when recorded.
    pub call_id: Option<Id>,
}

impl EvaluationOutcome {
    /// How many rows the model failed on.
    pub fn model_errors(&self) -> usize {
        self.rows.iter().filter(|r| r.model_error.is_some()).count()
    }

    /// How many scores failed.
    pub fn scorer_errors(&self) -> usize {
        self.rows.iter().map(|r| r.scorer_errors.len()).sum()
    }
}

/// An evaluation that cannot run as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvalError {
    /// Two scorers have the same name (their scores would overwrite each other).
    DuplicateScorer(String),
    /// A column map renames a column the scorer does not ask for.
    InvalidColumnMap {
        /// The scorer.
        scorer: String,
        /// The column map key.
        column: String,
    },
    /// Concurrency 0.
    ZeroConcurrency,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::DuplicateScorer(name) => write!(f, "two scorers are named `{name}`"),
            EvalError::InvalidColumnMap { scorer, column } => write!(
                f,
                "scorer `{scorer}`: its column_map renames `{column}`, which is not one of the columns it asks for"
            ),
            EvalError::ZeroConcurrency => f.write_str("concurrency must be at least 1"),
        }
    }
}

impl std::error::Error for EvalError {}

impl Evaluation {
    /// Starts building an evaluation of `dataset`.
    pub fn builder(dataset: Dataset) -> EvaluationBuilder {
        EvaluationBuilder {
            evaluation: Evaluation {
                dataset,
                scorers: Vec::new(),
                name: None,
                description: None,
                display_name: None,
                trials: 1,
                preprocess: None,
                concurrency: None,
                metadata: None,
                progress: None,
            },
        }
    }

    /// The object name: the one given, else `<dataset name>-evaluation`, else `Evaluation`.
    pub fn name(&self) -> String {
        match (&self.name, self.dataset.name()) {
            (Some(name), _) => name.clone(),
            (None, Some(dataset)) => format!("{dataset}-evaluation"),
            (None, None) => "Evaluation".to_string(),
        }
    }

    /// The dataset.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// The scorers' names, in order.
    pub fn scorer_names(&self) -> Vec<String> {
        self.scorers.iter().map(|s| s.scorer_name()).collect()
    }

    /// The number of trials.
    pub fn trials(&self) -> usize {
        self.trials
    }

    fn validate(&self) -> Result<(), EvalError> {
        if self.concurrency == Some(0) {
            return Err(EvalError::ZeroConcurrency);
        }
        let mut seen = Vec::new();
        for scorer in &self.scorers {
            let name = scorer.scorer_name();
            if seen.contains(&name) {
                return Err(EvalError::DuplicateScorer(name));
            }
            if let Columns::Only(columns) = scorer.scorer_columns() {
                if let Some(column) = scorer.scorer_column_map().into_keys().find(|k| !columns.contains(k)) {
                    return Err(EvalError::InvalidColumnMap { scorer: name, column });
                }
            }
            seen.push(name);
        }
        Ok(())
    }

    fn parallelism(&self) -> usize {
        self.concurrency
            .or_else(|| weave_core::runtime::current_client().map(|c| c.settings().parallelism))
            .unwrap_or(20)
            .max(1)
    }

    /// The evaluation as a Weave object: its dataset, its scorers (object refs for types,
    /// op refs for functions) and its methods' op refs.
    fn object(&self, dataset: &Value, scorers: &[ScorerRun], ops: &SdkOps, publisher: &Publisher) -> Value {
        let mut fields = JsonObject::new();
        fields.insert("dataset".into(), dataset.clone());
        fields.insert("scorers".into(), Value::Array(scorers.iter().map(|s| s.entry.clone()).collect()));
        let preprocess = self.preprocess.as_ref().map_or(Value::Null, |_| {
            let source = unknown_source("preprocess_model_input", "its code is a closure");
            publisher.op_ref(&publisher.op("preprocess_model_input", &source, None, false))
        });
        fields.insert("preprocess_model_input".into(), preprocess);
        fields.insert("trials".into(), Value::from(self.trials));
        fields.insert("metadata".into(), self.metadata.clone().unwrap_or(Value::Null));
        fields.insert("evaluation_name".into(), self.display_name.clone().map_or(Value::Null, Value::String));
        let object = object_value(
            "Evaluation",
            Some(&self.name()),
            self.description.as_deref(),
            fields,
            &["Object", "BaseModel"],
        );
        with_methods(
            object,
            &[
                ("evaluate", publisher.op_ref(&ops.evaluate)),
                ("predict_and_score", publisher.op_ref(&ops.predict_and_score)),
                ("summarize", publisher.op_ref(&ops.summarize)),
            ],
        )
    }

    /// Runs `model` over every row × trial, scores the outputs and summarizes them.
    /// Rows run concurrently, at most `concurrency` at once. A model error on a row is
    /// recorded on that row (output `null`, no scores); a scorer error on that score.
    pub async fn evaluate<M: AnyModel>(&self, model: &M) -> Result<EvaluationOutcome, EvalError> {
        self.run(model, None).await
    }

    /// [`Evaluation::evaluate`] with a display name for this run.
    pub async fn evaluate_named<M: AnyModel>(
        &self,
        model: &M,
        display_name: impl Into<String>,
    ) -> Result<EvaluationOutcome, EvalError> {
        self.run(model, Some(display_name.into())).await
    }

    #[weave_macros::keep_source(EVALUATE_SOURCE)]
    pub(crate) async fn run(
        &self,
        model: &dyn AnyModel,
        display_name: Option<String>,
    ) -> Result<EvaluationOutcome, EvalError> {
        self.validate()?;
        let display_name =
            display_name.or_else(|| self.display_name.clone()).unwrap_or_else(crate::names::default_display_name);
        let publisher = Publisher::current();
        let ops = SdkOps::new(&publisher);
        let (dataset, row_digests) = self.dataset.publish_with(&publisher);
        let scorers: Vec<ScorerRun> = self.scorers.iter().map(|s| ScorerRun::new(&**s, &publisher)).collect();
        let evaluation = publisher.object(&self.name(), self.object(&dataset.value, &scorers, &ops, &publisher));
        let model_run = publish_model(&publisher, model);
        let call = CallBuilder::for_op(Arc::clone(&ops.evaluate))
            .display_name(display_name.clone())
            .input("self", &evaluation.value)
            .input("model", &model_run.input)
            .start();
        let call_id = call.id();
        let mut meta = JsonObject::new();
        meta.insert(EVAL_META_KEY.into(), json!({"declarative": true}));
        let context = call.context().with_attributes(meta);
        let run = Run {
            evaluation: self,
            model,
            publisher,
            ops,
            evaluation_input: evaluation.value,
            dataset,
            row_digests,
            model_run,
            scorers,
            context,
        };

        let jobs: Vec<(usize, usize, &Row)> = (0..self.trials)
            .flat_map(|trial| self.dataset.rows().iter().enumerate().map(move |(index, row)| (index, trial, row)))
            .collect();
        let mut progress = Progress::new(&display_name, jobs.len(), self.progress);
        let mut results: Vec<(usize, RowResult)> = Vec::with_capacity(jobs.len());
        let mut stream = futures_util::stream::iter(jobs.into_iter().enumerate())
            .map(|(order, (index, trial, row))| {
                let run = &run;
                async move { (order, run.predict_and_score(index, trial, row).await) }
            })
            .buffer_unordered(self.parallelism());
        while let Some((order, result)) = stream.next().await {
            progress.row_done(result.model_error.is_some() || !result.scorer_errors.is_empty());
            results.push((order, result));
        }
        drop(stream);
        progress.finish();
        results.sort_by_key(|(order, _)| *order);
        let rows: Vec<RowResult> = results.into_iter().map(|(_, r)| r).collect();

        let summary = run.summarize(&rows);
        call.finish(&summary);
        Ok(EvaluationOutcome {
            summary,
            rows,
            model_name: model.model_name(),
            model_ref: run.model_run.object_ref.as_ref().map(|r| r.uri()),
            display_name,
            call_id,
        })
    }
}

/// The SDK's own ops of an evaluation, with their source in the SDK.
struct SdkOps {
    evaluate: Arc<OpDef>,
    predict_and_score: Arc<OpDef>,
    summarize: Arc<OpDef>,
}

impl SdkOps {
    fn new(publisher: &Publisher) -> SdkOps {
        SdkOps {
            evaluate: publisher.op("Evaluation.evaluate", Evaluation::EVALUATE_SOURCE, None, true),
            predict_and_score: publisher.op("Evaluation.predict_and_score", Run::PREDICT_AND_SCORE_SOURCE, None, false),
            summarize: publisher.op("Evaluation.summarize", Run::SUMMARIZE_SOURCE, None, false),
        }
    }
}

/// Everything one run shares.
struct Run<'a> {
    evaluation: &'a Evaluation,
    model: &'a dyn AnyModel,
    publisher: Publisher,
    ops: SdkOps,
    evaluation_input: Value,
    dataset: Published,
    row_digests: Vec<String>,
    model_run: ModelRun,
    scorers: Vec<ScorerRun>,
    context: CallContext,
}

/// A scorer's part of a run: its ops, its `self` input (types), its entry in the
/// evaluation's `scorers`, and the ref its score feedback names (the scorer object, else
/// the score op).
struct ScorerRun {
    score_op: Arc<OpDef>,
    summarize_op: Option<Arc<OpDef>>,
    self_input: Option<Value>,
    entry: Value,
    runnable_ref: Option<String>,
}

impl ScorerRun {
    fn new(scorer: &dyn AnyScorer, publisher: &Publisher) -> ScorerRun {
        let name = scorer.score_op_name();
        let how = if scorer.is_type() {
            "put #[weave::op] on its `impl Scorer` block"
        } else {
            "build it with weave::scorer_fn!"
        };
        let source = scorer.scorer_source_code().map_or_else(|| unknown_source(&name, how), str::to_string);
        let kind = scorer.is_type().then_some("scorer");
        let score_op = publisher.op(&name, &source, kind, false);
        let score_ref = publisher.op_ref(&score_op);
        let Some(object) = scorer.scorer_object() else {
            let runnable_ref = score_ref.as_str().filter(|r| r.starts_with("weave:///")).map(str::to_string);
            return ScorerRun { score_op, summarize_op: None, self_input: None, entry: score_ref, runnable_ref };
        };
        let summarize_op = scorer.summarize_op_name().map(|op_name| {
            let source =
                if op_name == "Scorer.summarize" { crate::summarize::AUTO_SUMMARIZE_SOURCE } else { source.as_str() };
            publisher.op(&op_name, source, None, false)
        });
        let mut methods = vec![("score", score_ref)];
        if let Some(op) = &summarize_op {
            methods.push(("summarize", publisher.op_ref(op)));
        }
        let published = publisher.object(&scorer.scorer_name(), with_methods(object, &methods));
        let runnable_ref = published.object_ref.as_ref().map(|r| r.uri());
        ScorerRun {
            score_op,
            summarize_op,
            self_input: Some(published.value.clone()),
            entry: published.value,
            runnable_ref,
        }
    }
}

impl Run<'_> {
    #[weave_macros::keep_source(PREDICT_AND_SCORE_SOURCE)]
    async fn predict_and_score(&self, row_index: usize, trial: usize, row: &Row) -> RowResult {
        let row_ref = self.row_digests.get(row_index).and_then(|digest| self.dataset.row_ref(digest));
        let example = row_ref.as_ref().map_or_else(|| Value::Object(row.as_object().clone()), |r| json!(r));
        let call = CallBuilder::for_op(Arc::clone(&self.ops.predict_and_score))
            .parent(self.context.clone())
            .input("self", &self.evaluation_input)
            .input("model", &self.model_run.input)
            .input("example", &example)
            .start();
        let context = call.context();
        // The model gets the columns it asks for, of the preprocessed row if any; they are
        // recorded as refs into the dataset, or as values for a preprocessed row (as Python).
        let (model_row, inputs_ref) = match &self.evaluation.preprocess {
            Some(preprocess) => (preprocess(row), None),
            None => (row.clone(), row_ref.as_deref()),
        };
        let model_input = select_columns(&self.model.model_columns(), &ColumnMap::new(), &model_row);
        let recorded = model_input.as_ref().unwrap_or(&model_row);
        let inputs = recorded.iter().map(|(k, v)| (k.clone(), column_input(inputs_ref, k, v))).collect();
        let prediction = run_predict(
            self.model,
            &self.model_run,
            model_input.as_ref().map_err(Clone::clone),
            inputs,
            context.clone(),
        )
        .await;
        let mut result = RowResult {
            row_index,
            trial,
            row: row.clone(),
            output: Value::Null,
            scores: JsonObject::new(),
            model_latency: prediction.latency,
            model_error: None,
            scorer_errors: BTreeMap::new(),
        };
        match prediction.output {
            Err(error) => result.model_error = Some(error),
            Ok(output) => {
                let scored =
                    futures_util::future::join_all(
                        self.evaluation.scorers.iter().zip(&self.scorers).map(|(scorer, run)| {
                            self.score(&**scorer, run, &output, row, row_ref.as_deref(), &context)
                        }),
                    );
                let scored = scored.await;
                for ((scorer, run), (score, score_call)) in
                    self.evaluation.scorers.iter().zip(&self.scorers).zip(scored)
                {
                    let name = scorer.scorer_name();
                    match score {
                        Ok(value) => {
                            if let (Some(predict_call), Some(score_call), Some(runnable_ref)) =
                                (prediction.call_id, score_call, &run.runnable_ref)
                            {
                                let _ = weave_core::feedback::add_runnable_feedback(
                                    predict_call,
                                    runnable_ref,
                                    score_call,
                                    value.clone(),
                                );
                            }
                            result.scores.insert(name, value);
                        }
                        Err(error) => {
                            result.scorer_errors.insert(name, error);
                        }
                    }
                }
                result.output = output;
            }
        }
        call.finish(&json!({
            "output": result.output,
            "scores": result.scores,
            "model_latency": result.model_latency,
        }));
        result
    }

    /// Runs one scorer on one output: its result and its score call.
    async fn score(
        &self,
        scorer: &dyn AnyScorer,
        run: &ScorerRun,
        output: &Value,
        row: &Row,
        row_ref: Option<&str>,
        parent: &CallContext,
    ) -> (Result<Value, String>, Option<Id>) {
        let column_map = scorer.scorer_column_map();
        let columns = select_columns(&scorer.scorer_columns(), &column_map, row);
        if scorer.score_traces_itself() {
            let columns = match columns {
                Ok(columns) => columns,
                Err(e) => return (Err(e.to_string()), None),
            };
            let input = ScorerInput::new(output.clone(), columns, row.clone());
            let result = AssertUnwindSafe(scorer.score_json(input).in_context(parent.clone())).catch_unwind().await;
            let result = match result {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => Err(e.to_string()),
                Err(payload) => Err(format!("panic: {}", weave_core::panic::payload_message(&*payload))),
            };
            return (result, None);
        }
        let mut builder = CallBuilder::for_op(Arc::clone(&run.score_op)).parent(parent.clone());
        if let Some(self_value) = &run.self_input {
            builder = builder.input("self", self_value);
        }
        if let Ok(columns) = &columns {
            for (name, value) in columns.iter() {
                if name != "output" && name != "self" {
                    let column = source_column(name, &column_map, row);
                    builder = builder.input(name.clone(), &column_input(row_ref, column, value));
                }
            }
        }
        let call = builder.input("output", output).start();
        let call_id = call.id();
        let columns = match columns {
            Ok(columns) => columns,
            Err(error) => {
                let message = error.to_string();
                call.fail(weave_core::exception::Exception::new("ColumnError", message.clone()));
                return (Err(message), call_id);
            }
        };
        let input = ScorerInput::new(output.clone(), columns, row.clone());
        let result = AssertUnwindSafe(scorer.score_json(input).in_context(call.context())).catch_unwind().await;
        (finish_call(call, result), call_id)
    }

    /// Weave's `Evaluation.summarize`: each scorer's summary (its own `summarize`, traced
    /// for scorer types; `auto_summarize` for functions), then the other columns
    /// (`output`, `model_latency`) when they summarize to something. The rows are saved
    /// first, as an `EvaluationResults` object whose `rows` table the summarize calls
    /// refer to.
    #[weave_macros::keep_source(SUMMARIZE_SOURCE)]
    fn summarize(&self, rows: &[RowResult]) -> Value {
        let names = self.evaluation.scorer_names();
        let table = self.publisher.table(rows.iter().map(|row| table_row(row, &names)).collect());
        let results = self.publisher.object(
            "EvaluationResults",
            object_value("EvaluationResults", None, None, fields([("rows", table.value)]), &["Object", "BaseModel"]),
        );
        let call = CallBuilder::for_op(Arc::clone(&self.ops.summarize))
            .parent(self.context.clone())
            .input("self", &self.evaluation_input)
            .input("eval_table", &results.value)
            .start();
        let context = call.context();
        let mut summary = JsonObject::new();
        if rows.is_empty() {
            call.finish(&summary);
            return Value::Object(summary);
        }
        let outputs: Vec<Value> = rows.iter().map(|r| r.output.clone()).collect();
        if let Some(output_summary) = auto_summarize(&outputs).filter(non_empty) {
            summary.insert("output".into(), output_summary);
        }
        for (scorer, run) in self.evaluation.scorers.iter().zip(&self.scorers) {
            let name = scorer.scorer_name();
            let scores: Vec<Value> =
                rows.iter().map(|r| r.scores.get(&name).cloned().unwrap_or_else(|| json!({}))).collect();
            // Python passes each score as a ref into the results table.
            let score_inputs: Vec<Value> = table
                .row_digests
                .iter()
                .zip(&scores)
                .map(|(digest, score)| match results.row_ref(digest) {
                    Some(row_ref) => json!(key_ref(&key_ref(&row_ref, "scores"), &name)),
                    None => score.clone(),
                })
                .collect();
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| scorer.summarize_json(&scores)));
            let (scorer_summary, failure) = match result {
                Ok((value, _)) => (value, None),
                Err(payload) => (None, Some(weave_core::panic::caught_panic(&*payload))),
            };
            if let Some(op) = &run.summarize_op {
                let mut builder = CallBuilder::for_op(Arc::clone(op)).parent(context.clone());
                if let Some(self_value) = &run.self_input {
                    builder = builder.input("self", self_value);
                }
                let call = builder.input("score_rows", &score_inputs).start();
                match failure {
                    Some(exception) => call.fail(exception),
                    None => call.finish(&scorer_summary),
                }
            }
            summary.insert(name, scorer_summary.unwrap_or(Value::Null));
        }
        let latencies: Vec<Value> = rows.iter().map(|r| json!(r.model_latency)).collect();
        if let Some(latency_summary) = auto_summarize(&latencies).filter(non_empty) {
            summary.insert("model_latency".into(), latency_summary);
        }
        call.finish(&summary);
        Value::Object(summary)
    }
}

/// A row's column as a call input: a ref to it in the saved dataset, else its value.
fn column_input(row_ref: Option<&str>, column: &str, value: &Value) -> Value {
    row_ref.map_or_else(|| value.clone(), |row_ref| Value::String(key_ref(row_ref, column)))
}

fn non_empty(value: &Value) -> bool {
    !matches!(value, Value::Object(map) if map.is_empty())
}

fn fields<const N: usize>(entries: [(&str, Value); N]) -> JsonObject {
    entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A row of Weave's `EvaluationResults` table: `{"output", "scores", "model_latency"}`,
/// with `{}` for each scorer that gave no score.
fn table_row(row: &RowResult, scorer_names: &[String]) -> Value {
    let mut scores = row.scores.clone();
    for name in scorer_names {
        scores.entry(name.as_str()).or_insert_with(|| json!({}));
    }
    json!({"output": row.output, "scores": scores, "model_latency": row.model_latency})
}
