//! Models: what an evaluation evaluates. A [`Model`] is a type with an async `predict`
//! whose fields (its `Serialize` form) are its attributes, so two configurations of one
//! model are two versions; a plain function is a model too ([`model_fn`], [`op_model`]).

use crate::columns::Columns;
use crate::objects::{fields_of, name_field_or_type, object_value, type_name_of, with_methods, Publisher};
use crate::{BoxError, ColumnError, Row};
use futures_util::FutureExt as _;
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use weave_core::context::{CallContext, FutureExt as _};
use weave_core::exception::Exception;
use weave_core::ids::Id;
use weave_core::manual::CallBuilder;
use weave_core::object::ObjectRef;
use weave_core::op::OpDef;

/// A boxed, `Send` future.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A model: an async `predict` over one (preprocessed) dataset row, and fields that are
/// its versioned attributes.
///
/// The evaluation records each prediction as a call of `<Type>.predict` (see
/// [`Model::op_name`]) with the model (its ref once published) as `self` and the row's
/// columns as inputs; calls made inside `predict` are its children.
///
/// ```
/// use serde::Serialize;
/// use weave_eval::{BoxError, Model, Row};
///
/// #[derive(Serialize)]
/// struct Shouter { exclamations: usize }
///
/// impl Model for Shouter {
///     type Output = String;
///     async fn predict(&self, input: &Row) -> Result<String, BoxError> {
///         let question: String = input.get("question")?;
///         Ok(format!("{}{}", question.to_uppercase(), "!".repeat(self.exclamations)))
///     }
/// }
/// ```
pub trait Model: Serialize + Send + Sync {
    /// What `predict` returns (recorded as the call's output and scored).
    type Output: Serialize + Send;

    /// Predicts the output for one row.
    fn predict(&self, input: &Row) -> impl Future<Output = Result<Self::Output, BoxError>> + Send;

    /// The model's name (its object name): a `name` field if it has one, else the type's
    /// name.
    fn name(&self) -> String {
        name_field_or_type(self)
    }

    /// The op name of its predictions: `<Type>.predict`.
    fn op_name(&self) -> String {
        format!("{}.predict", type_name_of::<Self>())
    }

    /// The model as a Weave object (`{"_type": <Type>, "name", "description", <fields>,
    /// "_class_name", "_bases": ["Model", "Object", "BaseModel"]}`; `name` is the `name`
    /// field, else `null`, as Python's), or `None` for a plain function (no `self`
    /// input). The evaluation adds the `predict` op ref when it saves it.
    fn object(&self) -> Option<Value> {
        let fields = fields_of(weave_core::json::to_value(self).unwrap_or(Value::Null));
        let class = type_name_of::<Self>();
        Some(object_value(&class, None, None, fields, &["Model", "Object", "BaseModel"]))
    }

    /// True when `predict` records its own call (it is an `#[op]`, or calls one that
    /// stands for the prediction): the evaluation then records no call around it.
    fn traces_itself(&self) -> bool {
        false
    }

    /// The columns `predict` receives (default: all), as Python's `predict` receives the
    /// row's keys its signature names. They are also its call's inputs. A missing column
    /// is an error on that row.
    fn columns(&self) -> Columns {
        Columns::All
    }

    /// The source code stored with its predict op. `#[weave::op]` on the `impl Model`
    /// block sets it to the block's text; `None` stores a note that the source is unknown.
    fn source_code(&self) -> Option<&'static str> {
        None
    }
}

/// Any [`Model`], behind a trait object: what [`Evaluation::evaluate`] and [`compare`]
/// take (`&[&model_a, &model_b]` coerces to `&[&dyn AnyModel]`). Implemented for every
/// `Model`.
///
/// [`Evaluation::evaluate`]: crate::Evaluation::evaluate
/// [`compare`]: crate::compare
pub trait AnyModel: Send + Sync {
    /// [`Model::name`].
    fn model_name(&self) -> String;
    /// [`Model::op_name`].
    fn predict_op_name(&self) -> String;
    /// [`Model::object`].
    fn model_object(&self) -> Option<Value>;
    /// [`Model::traces_itself`].
    fn predict_traces_itself(&self) -> bool;
    /// [`Model::source_code`].
    fn model_source_code(&self) -> Option<&'static str>;
    /// [`Model::columns`].
    fn model_columns(&self) -> Columns;
    /// [`Model::predict`], with the output as JSON.
    fn predict_json<'a>(&'a self, input: &'a Row)
        -> Pin<Box<dyn Future<Output = Result<Value, BoxError>> + Send + 'a>>;
}

impl<M: Model> AnyModel for M {
    fn model_name(&self) -> String {
        Model::name(self)
    }

    fn predict_op_name(&self) -> String {
        Model::op_name(self)
    }

    fn model_object(&self) -> Option<Value> {
        Model::object(self)
    }

    fn predict_traces_itself(&self) -> bool {
        Model::traces_itself(self)
    }

    fn model_source_code(&self) -> Option<&'static str> {
        Model::source_code(self)
    }

    fn model_columns(&self) -> Columns {
        Model::columns(self)
    }

    fn predict_json<'a>(
        &'a self,
        input: &'a Row,
    ) -> Pin<Box<dyn Future<Output = Result<Value, BoxError>> + Send + 'a>> {
        Box::pin(async move {
            let output = Model::predict(self, input).await?;
            weave_core::json::to_value(&output)
                .map_err(|e| format!("the model output could not be serialized: {e}").into())
        })
    }
}

/// A model that is a function of the row (see [`model_fn`] and [`op_model`]).
pub struct FnModel<F> {
    name: String,
    f: F,
    traces_itself: bool,
    source: Option<&'static str>,
}

impl<F> FnModel<F> {
    /// The source code stored with its predict op (the `weave::model_fn!` and
    /// `weave::op_model!` macros set it to the text of the call).
    pub fn source(mut self, text: &'static str) -> FnModel<F> {
        self.source = Some(text);
        self
    }
}

impl<F> std::fmt::Debug for FnModel<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnModel").field("name", &self.name).field("traces_itself", &self.traces_itself).finish()
    }
}

impl<F> Serialize for FnModel<F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

/// A model from an async function of the row; each prediction is recorded as a call of
/// the op `name` (as Weave records a plain op model).
///
/// ```
/// use weave_eval::{model_fn, BoxError, Row};
/// let model = model_fn("echo", |row: Row| async move { Ok::<_, BoxError>(row.get::<String>("q")?) });
/// ```
pub fn model_fn<F, Fut, O, E>(name: impl Into<String>, f: F) -> FnModel<F>
where
    F: Fn(Row) -> Fut + Send + Sync,
    Fut: Future<Output = Result<O, E>> + Send,
    O: Serialize + Send,
    E: Into<BoxError>,
{
    FnModel { name: name.into(), f, traces_itself: false, source: None }
}

/// A model from a function that calls an `#[op]` function: that op's own call is the
/// prediction's call (no call is recorded around it).
///
/// ```
/// use weave_eval::{op_model, BoxError, Row};
/// # async fn answer(q: String) -> String { q }  // an #[op] in real code
/// let model = op_model("answer", |row: Row| async move {
///     Ok::<_, BoxError>(answer(row.get("question")?).await)
/// });
/// ```
pub fn op_model<F, Fut, O, E>(name: impl Into<String>, f: F) -> FnModel<F>
where
    F: Fn(Row) -> Fut + Send + Sync,
    Fut: Future<Output = Result<O, E>> + Send,
    O: Serialize + Send,
    E: Into<BoxError>,
{
    FnModel { name: name.into(), f, traces_itself: true, source: None }
}

impl<F, Fut, O, E> Model for FnModel<F>
where
    F: Fn(Row) -> Fut + Send + Sync,
    Fut: Future<Output = Result<O, E>> + Send,
    O: Serialize + Send,
    E: Into<BoxError>,
{
    type Output = O;

    fn predict(&self, input: &Row) -> impl Future<Output = Result<O, BoxError>> + Send {
        let future = (self.f)(input.clone());
        async move { future.await.map_err(Into::into) }
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn op_name(&self) -> String {
        self.name.clone()
    }

    fn object(&self) -> Option<Value> {
        None
    }

    fn traces_itself(&self) -> bool {
        self.traces_itself
    }

    fn source_code(&self) -> Option<&'static str> {
        self.source
    }
}

/// One prediction: the output or the error, the wall time around `predict` in seconds,
/// and the predict call (when recorded).
pub(crate) struct Prediction {
    pub(crate) output: Result<Value, String>,
    pub(crate) latency: f64,
    pub(crate) call_id: Option<Id>,
}

/// A model as an evaluation's calls take it: saved with its `predict` op.
pub(crate) struct ModelRun {
    /// The `model` input of `Evaluation.evaluate`: the model's ref (a type), or its
    /// predict op's ref (a function, as Python stores an op model).
    pub(crate) input: Value,
    /// The model's object ref, when saved.
    pub(crate) object_ref: Option<ObjectRef>,
    /// The `self` input of its predictions (types only).
    pub(crate) self_input: Option<Value>,
    /// Its predict op.
    pub(crate) predict_op: Arc<OpDef>,
}

/// The note stored as an op's code when its source is not known.
pub(crate) fn unknown_source(op_name: &str, how: &str) -> String {
    format!("// weave-rs: the source of `{op_name}` is not known; {how} to store it\n")
}

/// Saves `model` (its predict op, and the model object for a type) with `publisher`.
pub(crate) fn publish_model<M: AnyModel + ?Sized>(publisher: &Publisher, model: &M) -> ModelRun {
    let op_name = model.predict_op_name();
    let source = match model.model_source_code() {
        Some(source) => source.to_string(),
        None if model.model_object().is_some() => {
            unknown_source(&op_name, "put #[weave::op] on its `impl Model` block")
        }
        None => unknown_source(&op_name, "build it with weave::model_fn! or weave::op_model!"),
    };
    let predict_op = publisher.op(&op_name, &source, None, false);
    let op_ref = publisher.op_ref(&predict_op);
    match model.model_object() {
        Some(object) => {
            let published = publisher.object(&model.model_name(), with_methods(object, &[("predict", op_ref)]));
            ModelRun {
                input: published.value.clone(),
                object_ref: published.object_ref,
                self_input: Some(published.value),
                predict_op,
            }
        }
        None => ModelRun { input: op_ref, object_ref: None, self_input: None, predict_op },
    }
}

/// Runs one prediction as a call of the model's predict op under `parent` (or, for a
/// model that traces itself, directly in `parent`), recording `inputs` (the row's
/// columns, as refs into the dataset when it is saved) after `self`. Errors and panics
/// are recorded on the call and returned as the message.
pub(crate) async fn run_predict<M: AnyModel + ?Sized>(
    model: &M,
    run: &ModelRun,
    input: Result<&Row, ColumnError>,
    inputs: Vec<(String, Value)>,
    parent: CallContext,
) -> Prediction {
    if model.predict_traces_itself() {
        let input = match input {
            Ok(input) => input,
            Err(e) => return Prediction { output: Err(e.to_string()), latency: 0.0, call_id: None },
        };
        let started = Instant::now();
        let result = AssertUnwindSafe(model.predict_json(input).in_context(parent)).catch_unwind().await;
        let latency = started.elapsed().as_secs_f64();
        let output = match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(e.to_string()),
            Err(payload) => Err(format!("panic: {}", weave_core::panic::payload_message(&*payload))),
        };
        return Prediction { output, latency, call_id: None };
    }
    let mut builder = CallBuilder::for_op(Arc::clone(&run.predict_op)).parent(parent);
    if let Some(self_value) = &run.self_input {
        builder = builder.input("self", self_value);
    }
    for (column, value) in inputs {
        if column != "self" {
            builder = builder.input(column, &value);
        }
    }
    let call = builder.start();
    let call_id = call.id();
    let input = match input {
        Ok(input) => input,
        Err(e) => {
            let message = e.to_string();
            call.fail(error_exception(&e));
            return Prediction { output: Err(message), latency: 0.0, call_id };
        }
    };
    let started = Instant::now();
    let result = AssertUnwindSafe(model.predict_json(input).in_context(call.context())).catch_unwind().await;
    let latency = started.elapsed().as_secs_f64();
    let output = finish_call(call, result);
    Prediction { output, latency, call_id }
}

/// Ends a call with what its future gave: the value, the error, or the panic.
pub(crate) fn finish_call(
    call: weave_core::manual::StartedCall,
    result: Result<Result<Value, BoxError>, Box<dyn std::any::Any + Send>>,
) -> Result<Value, String> {
    match result {
        Ok(Ok(value)) => {
            call.finish(&value);
            Ok(value)
        }
        Ok(Err(error)) => {
            let exception = error_exception(&*error);
            let message = exception.message.clone();
            call.fail(exception);
            Err(message)
        }
        Err(payload) => {
            let exception = weave_core::panic::caught_panic(&*payload);
            let message = format!("panic: {}", exception.message);
            call.fail(exception);
            Err(message)
        }
    }
}

/// The exception recorded for a model's or scorer's error: its type (see [`error_type`])
/// and its message followed by its `source()` chain, as an op records an `Err`.
pub(crate) fn error_exception(error: &(dyn std::error::Error + Send + Sync + 'static)) -> Exception {
    use weave_core::capture::{ErrorMessage, ErrorViaError as _};
    let message = (&&&ErrorMessage(error)).weave_error_message();
    Exception::new(error_type(error), message)
}

/// The name of an error's type behind a [`BoxError`]: the common error types by
/// downcasting, else the type name its derived `Debug` starts with (`MyError { .. }`,
/// `MyError(..)`), else `Error`.
pub(crate) fn error_type(error: &(dyn std::error::Error + Send + Sync + 'static)) -> String {
    macro_rules! known {
        ($($ty:ty => $name:literal),* $(,)?) => {
            $(if error.is::<$ty>() { return $name.to_string(); })*
        };
    }
    known!(
        ColumnError => "ColumnError",
        crate::DatasetError => "DatasetError",
        serde_json::Error => "serde_json::Error",
        std::io::Error => "io::Error",
        std::fmt::Error => "fmt::Error",
        std::num::ParseIntError => "ParseIntError",
        std::num::ParseFloatError => "ParseFloatError",
        std::str::Utf8Error => "Utf8Error",
        std::string::FromUtf8Error => "FromUtf8Error",
    );
    let debug = format!("{error:?}");
    let name: String = debug.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    let rest = &debug[name.len()..];
    let shaped_like_a_type = name.chars().next().is_some_and(char::is_uppercase)
        && (rest.is_empty() || rest.starts_with(" {") || rest.starts_with('('));
    // A bare string error (`"x".into()`) is Debug-printed as a quoted string.
    if shaped_like_a_type {
        name
    } else {
        "Error".to_string()
    }
}

/// Runs `model` on `input` as a traced prediction under the current call (a call of
/// `<Model>.predict`), e.g. a second model inside a scorer, or a judge model.
pub async fn predict<M: AnyModel + ?Sized>(model: &M, input: &Row) -> Result<Value, BoxError> {
    let parent = CallContext::current();
    let run = publish_model(&Publisher::current(), model);
    let inputs = input.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let prediction = run_predict(model, &run, Ok(input), inputs, parent).await;
    prediction.output.map_err(Into::into)
}
