//! `EvaluationLogger`, Weave's imperative evaluation API: log predictions and scores you
//! computed yourself, then a summary. It records the tree `Evaluation.evaluate` →
//! `Evaluation.predict_and_score` → `Model.predict` and one call per score, then
//! `Evaluation.summarize`, with `_weave_eval_meta: {"imperative": true}` on every call
//! (`{"imperative": true, "score": true}` on score calls).
//!
//! ```
//! use serde_json::json;
//! use weave_eval::EvaluationLogger;
//! # let calls = weave_core::testing::capture();
//! let ev = EvaluationLogger::builder().model_name("my-model").dataset_name("my-dataset").start();
//! let pred = ev.log_prediction(&json!({"q": "2+2?"}), &json!("4"));
//! pred.log_score("correct", &true).unwrap();
//! pred.finish();
//! let summary = ev.log_summary(Some(json!({"note": "done"})));
//! assert_eq!(summary["correct"]["true_fraction"], 1.0);
//! ```

use crate::model::unknown_source;
use crate::names::{default_display_name, memorable_name, today};
use crate::objects::{fields_of, object_value, with_methods, Publisher};
use crate::{auto_summarize_with_unscored, Dataset, Model, Row, EVAL_META_KEY};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use weave_core::call::JsonObject;
use weave_core::context::CallContext;
use weave_core::exception::Exception;
use weave_core::ids::Id;
use weave_core::manual::{CallBuilder, StartedCall};
use weave_core::op::OpDef;

/// Why a score could not be logged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoggerError {
    /// The prediction was already finished.
    PredictionFinished,
}

impl fmt::Display for LoggerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoggerError::PredictionFinished => f.write_str("cannot log a score after the prediction has finished"),
        }
    }
}

impl std::error::Error for LoggerError {}

/// Builds an [`EvaluationLogger`] (Weave's `EvaluationLogger(name, model, dataset,
/// eval_attributes, scorers)`).
#[must_use]
#[derive(Debug, Default)]
pub struct EvaluationLoggerBuilder {
    name: Option<String>,
    model: Option<LoggedModel>,
    dataset: Option<Dataset>,
    eval_attributes: JsonObject,
    scorers: Option<Vec<String>>,
}

impl EvaluationLoggerBuilder {
    /// The evaluation's display name (default `eval-YYYY-MM-DD-<adjective>-<noun>`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The model, by name (as Weave makes a `Model` class of that name).
    pub fn model_name(mut self, name: &str) -> Self {
        let class = sanitize_class_name(name);
        self.model = Some(LoggedModel::named(class.clone(), class, JsonObject::new()));
        self
    }

    /// The model, by attributes (a map with a `name` key, as Weave's dict form).
    pub fn model_attributes(mut self, attributes: JsonObject) -> Self {
        let name = attributes.get("name").and_then(Value::as_str).unwrap_or("Model").to_string();
        self.model = Some(LoggedModel::named(name.clone(), name, attributes));
        self
    }

    /// The model, as a [`Model`] value (its name and fields).
    pub fn model<M: Model>(mut self, model: &M) -> Self {
        let class = crate::objects::type_name_of::<M>();
        let fields = fields_of(weave_core::json::to_value(model).unwrap_or(Value::Null));
        let source = model.source_code().map_or_else(
            || unknown_source(&model.op_name(), "put #[weave::op] on its `impl Model` block"),
            str::to_string,
        );
        self.model = Some(LoggedModel { class, name: model.name(), fields, predict_op: model.op_name(), source });
        self
    }

    /// The dataset, by name.
    pub fn dataset_name(mut self, name: &str) -> Self {
        self.dataset = Some(Dataset::new(name, vec![Row::new().with("dataset_id", name)]));
        self
    }

    /// The dataset.
    pub fn dataset(mut self, dataset: Dataset) -> Self {
        self.dataset = Some(dataset);
        self
    }

    /// Attributes of the `Evaluation.evaluate` call.
    pub fn eval_attributes(mut self, attributes: JsonObject) -> Self {
        self.eval_attributes = attributes;
        self
    }

    /// The scorers you intend to log (stored in the evaluation's metadata).
    pub fn scorers<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.scorers = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Starts the evaluation: its `Evaluation.evaluate` call starts now (shown as running).
    #[weave_macros::keep_source(START_SOURCE)]
    pub fn start(self) -> EvaluationLogger {
        let publisher = Publisher::current();
        let model = self.model.unwrap_or_else(|| LoggedModel::named("Model".into(), "Model".into(), JsonObject::new()));
        let predict_op = publisher.op(&model.predict_op, &model.source, None, false);
        let model_object = with_methods(
            object_value(&model.class, Some(&model.name), None, model.fields, &["Model", "Object", "BaseModel"]),
            &[("predict", publisher.op_ref(&predict_op))],
        );
        let model_input = publisher.object(&model.name, model_object).value;
        let dataset = self.dataset.unwrap_or_else(|| {
            let id = format!("{}-{}-dataset", today(), memorable_name());
            Dataset::unnamed(vec![Row::new().with("dataset_id", id)])
        });
        let (dataset_input, _) = dataset.publish_with(&publisher);
        let evaluate_op = publisher.op("Evaluation.evaluate", Self::START_SOURCE, None, true);
        let predict_and_score_op =
            publisher.op("Evaluation.predict_and_score", EvaluationLogger::LOG_PREDICTION_SOURCE, None, false);
        let summarize_op = publisher.op("Evaluation.summarize", EvaluationLogger::LOG_SUMMARY_SOURCE, None, false);
        let mut metadata = JsonObject::new();
        metadata.insert("scorers".into(), self.scorers.map_or(Value::Null, |s| json!(s)));
        metadata.extend(self.eval_attributes.clone());
        let mut fields = JsonObject::new();
        fields.insert("dataset".into(), dataset_input.value);
        fields.insert("scorers".into(), json!([]));
        fields.insert("preprocess_model_input".into(), Value::Null);
        fields.insert("trials".into(), json!(1));
        fields.insert("metadata".into(), Value::Object(metadata));
        fields.insert("evaluation_name".into(), Value::Null);
        let evaluation_name = dataset.name().map(|n| format!("{n}-evaluation"));
        let evaluation_object = with_methods(
            object_value("Evaluation", evaluation_name.as_deref(), None, fields, &["Object", "BaseModel"]),
            &[
                ("evaluate", publisher.op_ref(&evaluate_op)),
                ("predict_and_score", publisher.op_ref(&predict_and_score_op)),
                ("summarize", publisher.op_ref(&summarize_op)),
            ],
        );
        let evaluation_input =
            publisher.object(evaluation_name.as_deref().unwrap_or("Evaluation"), evaluation_object).value;

        let mut attributes = self.eval_attributes;
        attributes.insert(EVAL_META_KEY.into(), json!({"imperative": true}));
        let call = CallBuilder::for_op(Arc::clone(&evaluate_op))
            .display_name(self.name.unwrap_or_else(default_display_name))
            .attributes(attributes)
            .input("self", &evaluation_input)
            .input("model", &model_input)
            .parent(CallContext::default())
            .start();
        let context = call.context();
        let shared = Arc::new(Shared {
            publisher,
            evaluation_input,
            model_input,
            predict_op,
            predict_and_score_op,
            summarize_op,
            scorers: Mutex::new(HashMap::new()),
            context,
        });
        EvaluationLogger { shared, state: Mutex::new(LoggerState { call: Some(call), predictions: Vec::new() }) }
    }
}

/// The model an [`EvaluationLogger`] logs predictions of.
#[derive(Debug)]
struct LoggedModel {
    class: String,
    name: String,
    fields: JsonObject,
    predict_op: String,
    source: String,
}

impl LoggedModel {
    /// A model known by name (and attributes): its predictions are `Model.predict`, as
    /// Weave's logger records them.
    fn named(class: String, name: String, fields: JsonObject) -> LoggedModel {
        LoggedModel {
            class,
            name,
            fields,
            predict_op: "Model.predict".into(),
            source: EvaluationLogger::LOG_PREDICTION_SOURCE.into(),
        }
    }
}

struct Shared {
    publisher: Publisher,
    evaluation_input: Value,
    model_input: Value,
    predict_op: Arc<OpDef>,
    predict_and_score_op: Arc<OpDef>,
    summarize_op: Arc<OpDef>,
    /// The scorers logged so far, by name: their score op and object.
    scorers: Mutex<HashMap<String, LoggedScorer>>,
    context: CallContext,
}

/// A scorer of logged scores, saved on its first score.
#[derive(Clone)]
struct LoggedScorer {
    op: Arc<OpDef>,
    input: Value,
    runnable_ref: Option<String>,
}

impl Shared {
    /// The scorer `name` (sanitized like a class name), saved on first use as Weave's
    /// logger saves it: a Scorer object whose `score` is an op of the same name.
    fn scorer(&self, name: &str) -> LoggedScorer {
        let mut scorers = self.scorers.lock();
        if let Some(scorer) = scorers.get(name) {
            return scorer.clone();
        }
        let publisher = &self.publisher;
        let op = publisher.op(name, ScoreLogger::START_SCORE_SOURCE, None, false);
        let summarize = publisher.op("Scorer.summarize", crate::summarize::AUTO_SUMMARIZE_SOURCE, None, false);
        let object = with_methods(
            object_value(
                name,
                Some(name),
                None,
                fields_of(json!({"column_map": null})),
                &["Scorer", "Object", "BaseModel"],
            ),
            &[("score", publisher.op_ref(&op)), ("summarize", publisher.op_ref(&summarize))],
        );
        let published = publisher.object(name, object);
        let scorer =
            LoggedScorer { op, runnable_ref: published.object_ref.as_ref().map(|r| r.uri()), input: published.value };
        scorers.insert(name.to_string(), scorer.clone());
        scorer
    }
}

struct LoggerState {
    call: Option<StartedCall>,
    predictions: Vec<Arc<Prediction>>,
}

/// Logs an evaluation you run yourself (Weave's `EvaluationLogger`). Finish it with
/// [`EvaluationLogger::log_summary`], [`EvaluationLogger::finish`] or
/// [`EvaluationLogger::fail`]; dropped unfinished, it finishes (as Weave's exit hook does).
pub struct EvaluationLogger {
    shared: Arc<Shared>,
    state: Mutex<LoggerState>,
}

impl fmt::Debug for EvaluationLogger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("EvaluationLogger")
            .field("call_id", &state.call.as_ref().and_then(StartedCall::id))
            .field("predictions", &state.predictions.len())
            .field("finalized", &state.call.is_none())
            .finish()
    }
}

fn meta(score: bool) -> JsonObject {
    let mut attributes = JsonObject::new();
    let value = if score { json!({"imperative": true, "score": true}) } else { json!({"imperative": true}) };
    attributes.insert(EVAL_META_KEY.into(), value);
    attributes
}

fn to_value(value: &(impl Serialize + ?Sized)) -> Value {
    weave_core::json::to_value(value).unwrap_or(Value::Null)
}

impl EvaluationLogger {
    /// A logger with a default model (`Model`), dataset and display name.
    pub fn new() -> EvaluationLogger {
        EvaluationLoggerBuilder::default().start()
    }

    /// Starts configuring a logger.
    pub fn builder() -> EvaluationLoggerBuilder {
        EvaluationLoggerBuilder::default()
    }

    /// The `Evaluation.evaluate` call's id, when recorded.
    pub fn call_id(&self) -> Option<Id> {
        self.shared.context.call_id()
    }

    /// Logs one prediction: starts `Evaluation.predict_and_score` and its `Model.predict`
    /// child. Log its scores on the returned [`ScoreLogger`], then finish it.
    #[weave_macros::keep_source(LOG_PREDICTION_SOURCE)]
    pub fn log_prediction(
        &self,
        inputs: &(impl Serialize + ?Sized),
        output: &(impl Serialize + ?Sized),
    ) -> ScoreLogger {
        let inputs = to_value(inputs);
        let predict_and_score = CallBuilder::for_op(Arc::clone(&self.shared.predict_and_score_op))
            .parent(self.shared.context.clone())
            .attributes(meta(false))
            .input("self", &self.shared.evaluation_input)
            .input("model", &self.shared.model_input)
            .input("example", &inputs)
            .start();
        let predict = CallBuilder::for_op(Arc::clone(&self.shared.predict_op))
            .parent(predict_and_score.context())
            .attributes(meta(false))
            .input("self", &self.shared.model_input)
            .input("inputs", &inputs)
            .start();
        let prediction = Arc::new(Prediction {
            shared: Arc::clone(&self.shared),
            predict_and_score_context: predict_and_score.context(),
            predict_context: predict.context(),
            state: Mutex::new(PredictionState {
                predict_and_score: Some(predict_and_score),
                predict: Some(predict),
                inputs,
                output: to_value(output),
                scores: JsonObject::new(),
            }),
        });
        self.state.lock().predictions.push(Arc::clone(&prediction));
        ScoreLogger { prediction }
    }

    /// Logs a prediction with its scores and finishes it.
    pub fn log_example<K: AsRef<str>, V: Serialize>(
        &self,
        inputs: &(impl Serialize + ?Sized),
        output: &(impl Serialize + ?Sized),
        scores: impl IntoIterator<Item = (K, V)>,
    ) {
        let prediction = self.log_prediction(inputs, output);
        for (name, value) in scores {
            let _ = prediction.log_score(name.as_ref(), &value);
        }
        prediction.finish();
    }

    /// Ends the evaluation with a summary: Weave's `auto_summarize` of the logged scores,
    /// plus `"output"`: `summary` (`{}` when `None`). Returns the summary.
    pub fn log_summary(&self, summary: Option<Value>) -> Value {
        self.log_summary_with(summary, true)
    }

    /// [`EvaluationLogger::log_summary`]; without `auto_summarize`, the summary is
    /// `summary` itself plus `"output": summary`, as Weave's.
    #[weave_macros::keep_source(LOG_SUMMARY_SOURCE)]
    pub fn log_summary_with(&self, summary: Option<Value>, auto_summarize: bool) -> Value {
        let mut state = self.state.lock();
        if state.call.is_none() {
            return Value::Null;
        }
        let summary = summary.unwrap_or_else(|| json!({}));
        let summary_data = if auto_summarize {
            let scores: Vec<Value> =
                state.predictions.iter().map(|p| Value::Object(p.state.lock().scores.clone())).collect();
            auto_summarize_with_unscored(&scores, 0)
        } else {
            Some(summary.clone())
        };
        let mut final_summary = match summary_data {
            Some(Value::Object(map)) => map,
            _ => JsonObject::new(),
        };
        final_summary.insert("output".into(), summary);
        let final_summary = Value::Object(final_summary);
        CallBuilder::for_op(Arc::clone(&self.shared.summarize_op))
            .parent(self.shared.context.clone())
            .attributes(meta(false))
            .input("self", &self.shared.evaluation_input)
            .start()
            .finish(&final_summary);
        finalize(&mut state, Some(&final_summary), None);
        final_summary
    }

    /// Ends the evaluation without a summary (unfinished predictions are finished).
    pub fn finish(&self) {
        finalize(&mut self.state.lock(), None, None);
    }

    /// Ends the evaluation with an error.
    pub fn fail(&self, error: impl fmt::Display) {
        finalize(&mut self.state.lock(), None, Some(Exception::new("Error", error.to_string())));
    }
}

impl Default for EvaluationLogger {
    fn default() -> Self {
        EvaluationLogger::new()
    }
}

fn finalize(state: &mut LoggerState, output: Option<&Value>, exception: Option<Exception>) {
    let Some(call) = state.call.take() else {
        return;
    };
    for prediction in &state.predictions {
        prediction.finish(None);
    }
    match exception {
        Some(exception) => call.fail(exception),
        None => call.finish(&output.cloned().unwrap_or(Value::Null)),
    }
}

impl Drop for EvaluationLogger {
    fn drop(&mut self) {
        finalize(self.state.get_mut(), None, None);
    }
}

struct Prediction {
    shared: Arc<Shared>,
    predict_and_score_context: CallContext,
    predict_context: CallContext,
    state: Mutex<PredictionState>,
}

struct PredictionState {
    predict_and_score: Option<StartedCall>,
    predict: Option<StartedCall>,
    inputs: Value,
    output: Value,
    scores: JsonObject,
}

impl Prediction {
    fn finish(&self, output: Option<Value>) {
        let mut state = self.state.lock();
        if let Some(output) = output {
            state.output = output;
        }
        if let Some(predict) = state.predict.take() {
            predict.finish(&state.output);
        }
        if let Some(predict_and_score) = state.predict_and_score.take() {
            predict_and_score.finish(&json!({"output": state.output, "scores": state.scores, "model_latency": null}));
        }
    }
}

/// One logged prediction: log its scores, then [`ScoreLogger::finish`] it (else it is
/// finished when the evaluation ends).
pub struct ScoreLogger {
    prediction: Arc<Prediction>,
}

impl fmt::Debug for ScoreLogger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.prediction.state.lock();
        f.debug_struct("ScoreLogger")
            .field("scores", &state.scores)
            .field("finished", &state.predict_and_score.is_none())
            .finish()
    }
}

impl ScoreLogger {
    /// The `Model.predict` call's context: calls made in it (enter it, or wrap futures
    /// with it) are children of the prediction.
    pub fn context(&self) -> CallContext {
        self.prediction.predict_context.clone()
    }

    /// Replaces the output (recorded when the prediction finishes).
    pub fn set_output(&self, output: &(impl Serialize + ?Sized)) {
        self.prediction.state.lock().output = to_value(output);
    }

    /// Logs a score: a call of the scorer `name` (its result is `value`) under
    /// `Evaluation.predict_and_score`, and `wandb.runnable.<name>` feedback on the
    /// prediction.
    pub fn log_score(&self, name: &str, value: &(impl Serialize + ?Sized)) -> Result<(), LoggerError> {
        self.start_score(name)?.finish(value);
        Ok(())
    }

    /// Starts a score whose value is computed later: calls made in
    /// [`PendingScore::context`] are children of the score call.
    #[weave_macros::keep_source(START_SCORE_SOURCE)]
    pub fn start_score(&self, name: &str) -> Result<PendingScore, LoggerError> {
        let state = self.prediction.state.lock();
        if state.predict_and_score.is_none() {
            return Err(LoggerError::PredictionFinished);
        }
        let name = sanitize_class_name(name);
        let scorer = self.prediction.shared.scorer(&name);
        let runnable_ref = scorer.runnable_ref;
        let call = CallBuilder::for_op(scorer.op)
            .parent(self.prediction.predict_and_score_context.clone())
            .attributes(meta(true))
            .input("self", &scorer.input)
            .input("output", &state.output)
            .input("inputs", &state.inputs)
            .start();
        Ok(PendingScore { name, runnable_ref, call, prediction: Arc::clone(&self.prediction) })
    }

    /// Finishes the prediction: ends `Model.predict` (with the output) and
    /// `Evaluation.predict_and_score` (with `{"output", "scores", "model_latency": null}`).
    pub fn finish(&self) {
        self.prediction.finish(None);
    }

    /// [`ScoreLogger::finish`] with a new output.
    pub fn finish_with_output(&self, output: &(impl Serialize + ?Sized)) {
        self.prediction.finish(Some(to_value(output)));
    }

    /// The scores logged so far.
    pub fn scores(&self) -> JsonObject {
        self.prediction.state.lock().scores.clone()
    }
}

/// A score call started by [`ScoreLogger::start_score`]; finish it with its value.
/// Dropped unfinished, the score call is recorded as cancelled and no score is kept.
pub struct PendingScore {
    name: String,
    runnable_ref: Option<String>,
    call: StartedCall,
    prediction: Arc<Prediction>,
}

impl fmt::Debug for PendingScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingScore").field("name", &self.name).finish()
    }
}

impl PendingScore {
    /// The score call's context (calls made in it are its children).
    pub fn context(&self) -> CallContext {
        self.call.context()
    }

    /// Ends the score call with the score, keeps it on the prediction, and adds the
    /// score feedback to the `Model.predict` call.
    pub fn finish(self, value: &(impl Serialize + ?Sized)) {
        let value = to_value(value);
        let score_call = self.call.id();
        self.call.finish(&value);
        if let (Some(predict_call), Some(score_call), Some(runnable_ref)) =
            (self.prediction.predict_context.call_id(), score_call, &self.runnable_ref)
        {
            let _ = weave_core::feedback::add_runnable_feedback(predict_call, runnable_ref, score_call, value.clone());
        }
        self.prediction.state.lock().scores.insert(self.name, value);
    }

    /// Ends the score call with an error (no score is kept).
    pub fn fail(self, error: impl fmt::Display) {
        self.call.fail(Exception::new("Error", error.to_string()));
    }
}

/// Weave's `_sanitize_class_name`: drops characters outside `[A-Za-z0-9_]`, prefixes `C`
/// when the result does not start with a letter or `_`, appends `Class` to Python
/// keywords; `GeneratedClass` when nothing is left.
pub(crate) fn sanitize_class_name(name: &str) -> String {
    const KEYWORDS: [&str; 35] = [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
        "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
        "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
    ];
    let mut class: String = name.chars().filter(|c| c.is_alphanumeric() || *c == '_').collect();
    if class.is_empty() {
        return "GeneratedClass".to_string();
    }
    if class.chars().next().is_some_and(|c| !c.is_alphabetic() && c != '_') {
        class.insert(0, 'C');
    }
    if KEYWORDS.contains(&class.as_str()) {
        class.push_str("Class");
    }
    class
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_are_sanitized_like_weave() {
        assert_eq!(sanitize_class_name("my-model v2"), "mymodelv2");
        assert_eq!(sanitize_class_name("3d"), "C3d");
        assert_eq!(sanitize_class_name("class"), "classClass");
        assert_eq!(sanitize_class_name("!!"), "GeneratedClass");
    }
}
