//! Scorers: each scores a model output against the row it came from. A scorer is a
//! function ([`scorer_fn`], recorded as a call of the op named after it) or a type
//! implementing [`Scorer`] (recorded as `<Type>.score` with kind `scorer`, with its own
//! [`Scorer::summarize`]). A scorer asks for the columns it needs by name
//! ([`Columns`]), optionally renamed ([`ColumnMap`]), and returns a bool, a number, or a
//! map of them. An LLM judge is a scorer that calls a model; [`Pairwise`] compares the
//! output with a second model's.

use crate::columns::{ColumnMap, Columns};
use crate::model::{publish_model, run_predict, BoxFuture, ModelRun};
use crate::objects::{fields_of, name_field_or_type, object_value, sanitize, type_name_of, Publisher};
use crate::{auto_summarize, AnyModel, BoxError, ColumnError, Row};
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::cell::Cell;
use std::future::Future;
use std::sync::OnceLock;
use weave_core::context::CallContext;

thread_local! {
    /// Set by the default [`Scorer::summarize`]: the scorer has no summarize of its own.
    static DEFAULT_SUMMARIZE: Cell<bool> = const { Cell::new(false) };
}

/// What a scorer receives: the model output, the columns it asked for (under its own
/// names), and the raw row.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorerInput {
    output: Value,
    columns: Row,
    row: Row,
}

impl ScorerInput {
    /// An input from its parts (for testing scorers).
    pub fn new(output: Value, columns: Row, row: Row) -> ScorerInput {
        ScorerInput { output, columns, row }
    }

    /// The model output.
    pub fn output(&self) -> &Value {
        &self.output
    }

    /// The model output, deserialized into `T`.
    pub fn output_as<T: DeserializeOwned>(&self) -> Result<T, ColumnError> {
        T::deserialize(&self.output)
            .map_err(|e| ColumnError::Type { column: "output".to_string(), message: e.to_string() })
    }

    /// A column the scorer asked for, deserialized into `T`.
    pub fn column<T: DeserializeOwned>(&self, name: &str) -> Result<T, ColumnError> {
        self.columns.get(name)
    }

    /// A column's JSON value.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.columns.value(name)
    }

    /// A string column.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.columns.str(name)
    }

    /// The columns the scorer asked for.
    pub fn columns(&self) -> &Row {
        &self.columns
    }

    /// The whole dataset row (before `preprocess_model_input`).
    pub fn row(&self) -> &Row {
        &self.row
    }
}

/// A scorer type (Weave's `Scorer` class): its fields are its attributes, its calls are
/// `<Type>.score` with kind `scorer`, and it may summarize its own scores.
///
/// ```
/// use serde::Serialize;
/// use serde_json::{json, Value};
/// use weave_eval::{BoxError, Columns, Scorer, ScorerInput};
///
/// #[derive(Serialize)]
/// struct LengthScorer { max: usize }
///
/// impl Scorer for LengthScorer {
///     type Output = Value;
///     fn columns(&self) -> Columns { Columns::only(["expected"]) }
///     async fn score(&self, input: ScorerInput) -> Result<Value, BoxError> {
///         let len = input.output().as_str().unwrap_or("").len();
///         Ok(json!({"len": len, "short": len <= self.max}))
///     }
///     fn summarize(&self, scores: &[Value]) -> Option<Value> {
///         Some(json!({"scored": scores.len()}))
///     }
/// }
/// ```
pub trait Scorer: Serialize + Send + Sync {
    /// The score: a bool, a number, or a map of them (anything `Serialize`).
    type Output: Serialize + Send;

    /// Scores one output.
    fn score(&self, input: ScorerInput) -> impl Future<Output = Result<Self::Output, BoxError>> + Send;

    /// The scorer's name (the key of its scores): a `name` field if it has one, else the
    /// type's name.
    fn name(&self) -> String {
        name_field_or_type(self)
    }

    /// The columns it receives (default: all).
    fn columns(&self) -> Columns {
        Columns::All
    }

    /// Column renames (default: none).
    fn column_map(&self) -> ColumnMap {
        ColumnMap::new()
    }

    /// Summarizes all its scores (one per row and trial; `{}` for a row that was not
    /// scored). Recorded as `<Type>.summarize`; the default, Weave's [`auto_summarize`],
    /// is recorded as `Scorer.summarize` (as Weave's base class method).
    fn summarize(&self, scores: &[Value]) -> Option<Value> {
        let _ = DEFAULT_SUMMARIZE.try_with(|flag| flag.set(true));
        auto_summarize(scores)
    }

    /// True when `score` records its own call (it is an `#[op]`): the evaluation then
    /// records no call around it.
    fn traces_itself(&self) -> bool {
        false
    }

    /// The source code stored with its `score` and `summarize` ops. `#[weave::op]` on the
    /// `impl Scorer` block sets it to the block's text; `None` stores a note that the
    /// source is unknown.
    fn source_code(&self) -> Option<&'static str> {
        None
    }
}

/// Any scorer behind a trait object, as an [`Evaluation`](crate::Evaluation) holds it.
pub trait AnyScorer: Send + Sync {
    /// The name its scores are stored under (sanitized like Weave's object names).
    fn scorer_name(&self) -> String;
    /// The op of its score calls: the name for a function, `<Type>.score` for a type.
    fn score_op_name(&self) -> String;
    /// True for a scorer type (its calls are `<Type>.score` with kind `scorer`, and its
    /// summarize is recorded); false for a function.
    fn is_type(&self) -> bool;
    /// The columns it receives.
    fn scorer_columns(&self) -> Columns;
    /// Its column renames.
    fn scorer_column_map(&self) -> ColumnMap;
    /// The scorer as a Weave object (types only).
    fn scorer_object(&self) -> Option<Value>;
    /// True when its score function records its own call.
    fn score_traces_itself(&self) -> bool;
    /// [`Scorer::source_code`], or the source given to a [`FnScorer`].
    fn scorer_source_code(&self) -> Option<&'static str>;
    /// Scores one output, as JSON.
    fn score_json(&self, input: ScorerInput) -> BoxFuture<'_, Result<Value, BoxError>>;
    /// Summarizes its scores; with the op name to record the summarize call under
    /// (`<Type>.summarize`, `Scorer.summarize` for the default) for scorer types, `None`
    /// for functions (summarized untraced, as Weave does).
    fn summarize_json(&self, scores: &[Value]) -> (Option<Value>, Option<String>);
    /// The op name its summarize calls are recorded under (`<Type>.summarize`, or
    /// `Scorer.summarize` for Weave's default) for scorer types, `None` for functions.
    /// A type's `summarize` is called once, on no scores, to tell the default apart.
    fn summarize_op_name(&self) -> Option<String>;
}

/// What [`EvaluationBuilder::scorer`](crate::EvaluationBuilder::scorer) accepts: a
/// [`Scorer`] type or a [`FnScorer`].
pub trait IntoScorer {
    /// Boxes the scorer.
    fn into_scorer(self) -> Box<dyn AnyScorer>;
}

struct TypeScorer<S>(S);

impl<S: Scorer> AnyScorer for TypeScorer<S> {
    fn scorer_name(&self) -> String {
        sanitize(&self.0.name())
    }

    fn score_op_name(&self) -> String {
        format!("{}.score", type_name_of::<S>())
    }

    fn is_type(&self) -> bool {
        true
    }

    fn scorer_columns(&self) -> Columns {
        self.0.columns()
    }

    fn scorer_column_map(&self) -> ColumnMap {
        self.0.column_map()
    }

    fn scorer_object(&self) -> Option<Value> {
        let mut fields = fields_of(weave_core::json::to_value(&self.0).unwrap_or(Value::Null));
        let map = self.0.column_map();
        fields.entry("column_map").or_insert_with(|| {
            if map.is_empty() {
                Value::Null
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
            }
        });
        let class = type_name_of::<S>();
        Some(object_value(&class, None, None, fields, &["Scorer", "Object", "BaseModel"]))
    }

    fn score_traces_itself(&self) -> bool {
        self.0.traces_itself()
    }

    fn scorer_source_code(&self) -> Option<&'static str> {
        self.0.source_code()
    }

    fn score_json(&self, input: ScorerInput) -> BoxFuture<'_, Result<Value, BoxError>> {
        Box::pin(async move {
            let score = self.0.score(input).await?;
            weave_core::json::to_value(&score).map_err(|e| format!("the score could not be serialized: {e}").into())
        })
    }

    fn summarize_json(&self, scores: &[Value]) -> (Option<Value>, Option<String>) {
        let _ = DEFAULT_SUMMARIZE.try_with(|flag| flag.set(false));
        let summary = self.0.summarize(scores);
        let by_default = DEFAULT_SUMMARIZE.try_with(|flag| flag.replace(false)).unwrap_or(false);
        let class = if by_default { "Scorer".to_string() } else { type_name_of::<S>() };
        (summary, Some(format!("{class}.summarize")))
    }

    fn summarize_op_name(&self) -> Option<String> {
        // A summarize that panics on no scores is not the default (which does not): the
        // panic is kept quiet, as it comes from this probe, not from the program.
        let probe = weave_core::panic::catch_quietly(std::panic::AssertUnwindSafe(|| self.summarize_json(&[]).1));
        let fallback = || Some(format!("{}.summarize", type_name_of::<S>()));
        probe.unwrap_or_else(|_| fallback())
    }
}

impl<S: Scorer + 'static> IntoScorer for S {
    fn into_scorer(self) -> Box<dyn AnyScorer> {
        Box::new(TypeScorer(self))
    }
}

/// A scorer that is a function (Weave's op scorer); see [`scorer_fn`].
pub struct FnScorer<F> {
    name: String,
    f: F,
    columns: Columns,
    column_map: ColumnMap,
    source: Option<&'static str>,
}

impl<F> std::fmt::Debug for FnScorer<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnScorer")
            .field("name", &self.name)
            .field("columns", &self.columns)
            .field("column_map", &self.column_map)
            .finish()
    }
}

impl<F> FnScorer<F> {
    /// Receives only these columns (a missing one is an error on that score).
    pub fn columns<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> FnScorer<F> {
        self.columns = Columns::only(names);
        self
    }

    /// Renames columns: pairs of (scorer's column name, dataset column name).
    pub fn column_map<K: Into<String>, V: Into<String>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> FnScorer<F> {
        self.column_map.extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// The source code stored with its score op (the `weave::scorer_fn!` and
    /// `weave::sync_scorer_fn!` macros set it to the text of the call).
    pub fn source(mut self, text: &'static str) -> FnScorer<F> {
        self.source = Some(text);
        self
    }
}

/// A scorer from an async function of the [`ScorerInput`], recorded as a call of the op
/// `name`. Its scores are summarized with [`auto_summarize`].
///
/// ```
/// use weave_eval::{scorer_fn, BoxError};
/// let exact = scorer_fn("exact_match", |input| async move {
///     let expected: String = input.column("expected")?;
///     Ok::<_, BoxError>(input.output().as_str() == Some(expected.as_str()))
/// })
/// .columns(["expected"]);
/// ```
pub fn scorer_fn<F, Fut, T, E>(name: impl Into<String>, f: F) -> FnScorer<F>
where
    F: Fn(ScorerInput) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Serialize,
    E: Into<BoxError>,
{
    FnScorer { name: name.into(), f, columns: Columns::All, column_map: ColumnMap::new(), source: None }
}

/// [`scorer_fn`] for a plain (not async) function.
///
/// ```
/// use weave_eval::{sync_scorer_fn, BoxError};
/// let long = sync_scorer_fn("long_answer", |input| Ok::<_, BoxError>(input.output().to_string().len() > 20));
/// ```
pub fn sync_scorer_fn<F, T, E>(
    name: impl Into<String>,
    f: F,
) -> FnScorer<impl Fn(ScorerInput) -> std::future::Ready<Result<T, E>> + Send + Sync + 'static>
where
    F: Fn(&ScorerInput) -> Result<T, E> + Send + Sync + 'static,
    T: Serialize + Send + 'static,
    E: Into<BoxError> + Send + 'static,
{
    scorer_fn(name, move |input: ScorerInput| std::future::ready(f(&input)))
}

impl<F, Fut, T, E> AnyScorer for FnScorer<F>
where
    F: Fn(ScorerInput) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Serialize,
    E: Into<BoxError>,
{
    fn scorer_name(&self) -> String {
        sanitize(&self.name)
    }

    fn score_op_name(&self) -> String {
        self.name.clone()
    }

    fn is_type(&self) -> bool {
        false
    }

    fn scorer_columns(&self) -> Columns {
        self.columns.clone()
    }

    fn scorer_column_map(&self) -> ColumnMap {
        self.column_map.clone()
    }

    fn scorer_object(&self) -> Option<Value> {
        None
    }

    fn score_traces_itself(&self) -> bool {
        false
    }

    fn scorer_source_code(&self) -> Option<&'static str> {
        self.source
    }

    fn score_json(&self, input: ScorerInput) -> BoxFuture<'_, Result<Value, BoxError>> {
        let future = (self.f)(input);
        Box::pin(async move {
            let score = future.await.map_err(Into::into)?;
            weave_core::json::to_value(&score).map_err(|e| format!("the score could not be serialized: {e}").into())
        })
    }

    fn summarize_json(&self, scores: &[Value]) -> (Option<Value>, Option<String>) {
        (auto_summarize(scores), None)
    }

    fn summarize_op_name(&self) -> Option<String> {
        None
    }
}

impl<F, Fut, T, E> IntoScorer for FnScorer<F>
where
    F: Fn(ScorerInput) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Serialize,
    E: Into<BoxError>,
{
    fn into_scorer(self) -> Box<dyn AnyScorer> {
        Box::new(self)
    }
}

/// Which output a pairwise judge prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preference {
    /// The evaluated model's output.
    Model,
    /// The baseline's output.
    Baseline,
    /// Neither.
    Tie,
}

impl Serialize for Preference {
    /// `{"model_wins": bool, "baseline_wins": bool, "tie": bool}`: summarized, each gives
    /// its `true_fraction` (the win rates).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("model_wins", &(*self == Preference::Model))?;
        map.serialize_entry("baseline_wins", &(*self == Preference::Baseline))?;
        map.serialize_entry("tie", &(*self == Preference::Tie))?;
        map.end()
    }
}

/// A pairwise scorer: runs a baseline model on the same row (a traced prediction under
/// the score call) and asks a judge which output it prefers. The score is a
/// [`Preference`]; the summary gives the win rates.
///
/// ```
/// use weave_eval::{model_fn, BoxError, Pairwise, Preference, Row};
/// let baseline = model_fn("baseline", |_row: Row| async { Ok::<_, BoxError>("I don't know") });
/// let preference = Pairwise::new("preference", baseline, |input, baseline_output| async move {
///     let longer = input.output().to_string().len() > baseline_output.to_string().len();
///     Ok::<_, BoxError>(if longer { Preference::Model } else { Preference::Baseline })
/// });
/// ```
pub struct Pairwise<B, J> {
    name: String,
    baseline: B,
    judge: J,
    baseline_run: OnceLock<ModelRun>,
}

impl<B, J> Pairwise<B, J> {
    /// A pairwise scorer named `name` comparing with `baseline`, judged by `judge`
    /// (given the scorer input and the baseline's output).
    pub fn new<Fut, E>(name: impl Into<String>, baseline: B, judge: J) -> Pairwise<B, J>
    where
        B: AnyModel,
        J: Fn(ScorerInput, Value) -> Fut + Send + Sync,
        Fut: Future<Output = Result<Preference, E>> + Send,
        E: Into<BoxError>,
    {
        Pairwise { name: name.into(), baseline, judge, baseline_run: OnceLock::new() }
    }
}

impl<B: AnyModel, J> Serialize for Pairwise<B, J> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry(
            "baseline",
            &self.baseline.model_object().unwrap_or(Value::String(self.baseline.model_name())),
        )?;
        map.end()
    }
}

impl<B, J, Fut, E> Scorer for Pairwise<B, J>
where
    B: AnyModel,
    J: Fn(ScorerInput, Value) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Preference, E>> + Send,
    E: Into<BoxError>,
{
    type Output = Preference;

    fn name(&self) -> String {
        self.name.clone()
    }

    async fn score(&self, input: ScorerInput) -> Result<Preference, BoxError> {
        let run = self.baseline_run.get_or_init(|| publish_model(&Publisher::current(), &self.baseline));
        let inputs = input.row().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let prediction = run_predict(&self.baseline, run, Ok(input.row()), inputs, CallContext::current()).await;
        let baseline_output = prediction.output.map_err(|e| format!("the baseline model failed: {e}"))?;
        (self.judge)(input, baseline_output).await.map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn preferences_serialize_as_win_flags() {
        assert_eq!(
            serde_json::to_value(Preference::Model).unwrap(),
            json!({"model_wins": true, "baseline_wins": false, "tie": false})
        );
    }
}
