//! # weave — W&B Weave for Rust
//!
//! Annotate functions with [`#[weave::op]`](op) and every call's inputs, output, source
//! code, timing, errors, token usage and trace tree are recorded and exported in the
//! background: by default into an embedded local store (`.weave/weave.db`), which works
//! offline with no account.
//!
//! ```no_run
//! #[weave::op]
//! fn add(a: u64, b: u64) -> u64 {
//!     a + b
//! }
//!
//! fn main() -> Result<(), weave::InitError> {
//!     let weave = weave::init("my-team/my-project")?;
//!     add(1, 2);
//!     weave.finish(); // flushes; dropping the guard does the same
//!     Ok(())
//! }
//! ```
//!
//! With a W&B API key (`WANDB_API_KEY`, or `~/.netrc` for the host of `WANDB_BASE_URL`),
//! or server settings given to [`InitBuilder::server`], calls go to the Weave trace server
//! instead (`WF_TRACE_SERVER_URL`, else `https://trace.wandb.ai`, else
//! `$WANDB_BASE_URL/traces`), in the Python SDK's wire format, and root calls print a
//! `🍩` link to the call. Objects are published with [`publish`]; reactions and notes are
//! added with [`CurrentCall::add_reaction`] and [`CurrentCall::add_note`]. What could
//! not be delivered is kept in the fallback file and sent later by [`replay_fallback`]
//! (`cargo run --example replay_fallback`).
//!
//! Before [`init`], and when `WEAVE_DISABLED=true`, ops are plain function calls that
//! cost one atomic load.
//!
//! ## Cargo features
//!
//! - `local-store` (default): the embedded local store, `weave::store` (SQLite, bundled).
//! - `server` (default): the Weave trace server sink, found from `WANDB_API_KEY` or given
//!   to `InitBuilder::server`, and the server parts of [`export`] (reqwest, rustls).
//! - `tokio` (default): `weave::spawn` and `weave::spawn_blocking`.
//!
//! Without `local-store`, calls go to JSON lines in `.weave/calls.jsonl` unless something
//! else is chosen. When the environment asks for a sink that is not compiled in (an API
//! key without `server`, `WEAVE_LOCAL_STORE_PATH` without `local-store`), `init` prints a
//! warning naming the feature and writes to a sink that is (JSON lines beside the store's
//! file; the local store, else JSON lines, for the server).

#![deny(missing_docs, unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod destination;
mod exit;
mod init;
mod init_error;
mod replay;

pub use exit::exit;
pub use init::{builder, finish, flush, init, InitBuilder, Weave};
pub use init_error::InitError;
pub use replay::{replay_fallback, replay_fallback_into, ReplayError, DEFAULT_FALLBACK_PATH};

/// Marks a function as a Weave op: each call is recorded (inputs by parameter name,
/// output, `Err`s and panics, timing, source code) as a node of the trace tree.
///
/// Options: `name = "..."`, `display_name = "..." | path`, `skip(a, b)`, `skip_all`,
/// `postprocess_inputs = path`, `postprocess_output = path`, `capture_code = false`,
/// `sample_rate = 0.25`, `kind = "llm"`, `eager_call_start = true`, `crate = "path"`.
/// See the README for each.
///
/// On an `impl Model for T` or `impl Scorer for T` block (see [`eval`]), `#[weave::op]`
/// keeps the block as written (its methods are not wrapped: the evaluation records their
/// calls) and adds `fn source_code(&self)` returning the block's source text, comments and
/// the `#[weave::op]` line included, which the evaluation stores with the ops it records
/// for the model or scorer. Methods of other impl blocks are made ops one by one.
///
/// ```
/// use serde::Serialize;
/// use weave::eval::{BoxError, Model, Row};
///
/// #[derive(Serialize)]
/// struct Shouter {
///     exclamations: usize,
/// }
///
/// #[weave::op]
/// impl Model for Shouter {
///     type Output = String;
///
///     async fn predict(&self, input: &Row) -> Result<String, BoxError> {
///         let question: String = input.get("question")?;
///         Ok(format!("{}{}", question.to_uppercase(), "!".repeat(self.exclamations)))
///     }
/// }
///
/// let model = Shouter { exclamations: 2 };
/// assert!(model.source_code().unwrap().contains("impl Model for Shouter"));
/// ```
pub use weave_macros::op;

/// [`eval::scorer_fn`] that also keeps the closure's source: `weave::scorer_fn!(name,
/// closure)` expands to `::weave::eval::scorer_fn(name, closure).source("...")`, with the
/// text of the invocation as written (from `scorer_fn!` to its closing parenthesis,
/// comments included), which the evaluation stores as the code of the scorer's op.
/// Builder calls chain after it as after the function.
///
/// ```
/// use weave::eval::{AnyScorer, BoxError};
///
/// let exact = weave::scorer_fn!("exact_match", |input| async move {
///     // The output must equal the row's `expected` column.
///     let expected: String = input.column("expected")?;
///     Ok::<_, BoxError>(input.output().as_str() == Some(expected.as_str()))
/// })
/// .columns(["expected"]);
/// assert!(exact.scorer_source_code().unwrap().contains("exact_match"));
/// ```
pub use weave_macros::scorer_fn;

/// [`eval::sync_scorer_fn`] that also keeps the closure's source: `weave::sync_scorer_fn!(name,
/// closure)` expands to `::weave::eval::sync_scorer_fn(name, closure).source("...")`, with
/// the text of the invocation as written, comments included (see [`scorer_fn!`]).
///
/// ```
/// use weave::eval::BoxError;
///
/// // Long answers score `true`.
/// let long = weave::sync_scorer_fn!("long_answer", |input| {
///     Ok::<_, BoxError>(input.output().to_string().len() > 20)
/// });
/// # let _ = long;
/// ```
pub use weave_macros::sync_scorer_fn;

/// [`eval::model_fn`] that also keeps the closure's source: `weave::model_fn!(name,
/// closure)` expands to `::weave::eval::model_fn(name, closure).source("...")`, with the
/// text of the invocation as written (from `model_fn!` to its closing parenthesis,
/// comments included), which the evaluation stores as the code of the model's predict op
/// ([`Model::source_code`]).
///
/// ```
/// use weave::eval::{BoxError, Model, Row};
///
/// let echo = weave::model_fn!("echo", |row: Row| async move {
///     // Answers with the question.
///     Ok::<_, BoxError>(row.get::<String>("question")?)
/// });
/// assert!(echo.source_code().unwrap().contains("\"echo\""));
/// ```
pub use weave_macros::model_fn;

/// [`eval::op_model`] that also keeps the closure's source: `weave::op_model!(name,
/// closure)` expands to `::weave::eval::op_model(name, closure).source("...")`, with the
/// text of the invocation as written, comments included (see [`model_fn!`]).
///
/// ```
/// use weave::eval::{BoxError, Row};
///
/// #[weave::op]
/// async fn answer(question: String) -> String {
///     question
/// }
///
/// // The `answer` op's own call is the prediction's call.
/// let model = weave::op_model!("answer", |row: Row| async move {
///     Ok::<_, BoxError>(answer(row.get("question")?).await)
/// });
/// # let _ = model;
/// ```
pub use weave_macros::op_model;

pub use weave_core::call::JsonObject;
pub use weave_core::context::{
    attributes, spawn_thread, thread, with_attributes, CallContext, ContextGuard, FutureExt, WithContext,
};
#[cfg(feature = "tokio")]
pub use weave_core::context::{spawn, spawn_blocking};
pub use weave_core::exception::Exception;
pub use weave_core::export::FlushReport;
pub use weave_core::ids::Id;
pub use weave_core::manual::{CallBuilder, StartedCall};
pub use weave_core::object::{publish, ObjectRef, PublishError};
pub use weave_core::op::CallView;
pub use weave_core::settings::Settings;
pub use weave_core::{current_call, CurrentCall};
/// Evaluations: [`Dataset`], [`Model`], [`Scorer`], [`Evaluation`], [`EvaluationLogger`],
/// and [`eval::compare`] to put several models side by side.
pub use weave_eval as eval;
pub use weave_eval::{Dataset, Evaluation, EvaluationLogger, Model, Scorer};

/// Feedback on calls by id: reactions and notes (inside a call, use
/// [`CurrentCall::add_reaction`] and [`CurrentCall::add_note`]).
pub mod feedback {
    pub use weave_core::feedback::{add_feedback, add_note, add_reaction, FeedbackError, MAX_NOTE_CHARS};
}

/// Capturing calls in memory, for your tests.
pub mod testing {
    pub use weave_core::testing::{capture, capture_with, CaptureGuard, CapturedCall, CapturedKind, TEST_PROJECT};
}

/// The embedded local store: open it and query the calls it holds. With the `local-store`
/// feature (on by default).
#[cfg(feature = "local-store")]
#[cfg_attr(docsrs, doc(cfg(feature = "local-store")))]
pub mod store {
    pub use weave_exporter::local_store::*;
}

/// Sinks and the exporter, for custom set-ups, with the call model a sink receives. [`ServerConfig`](export::ServerConfig),
/// [`WeaveServerSink`](export::WeaveServerSink) and [`Secret`](export::Secret) come with the
/// `server` feature (on by default).
pub mod export {
    pub use weave_core::call::{CallAttributes, CallEnd, CallRecord, CallStart};
    pub use weave_core::exception::ExceptionJson;
    pub use weave_core::export::{ExportItem, Exporter, FlushReport, OpItem};
    pub use weave_core::feedback::FeedbackItem;
    pub use weave_core::object::ObjectItem;
    pub use weave_core::summary::Summary;
    pub use weave_core::table::TableItem;
    pub use weave_core::time::Timestamp;
    pub use weave_exporter::fallback::ReplayReport;
    #[cfg(feature = "server")]
    #[cfg_attr(docsrs, doc(cfg(feature = "server")))]
    pub use weave_exporter::{
        credentials::Secret,
        http::{ServerConfig, WeaveServerSink},
    };
    pub use weave_exporter::{record_of, DiscardSink, ExporterConfig, JsonlSink, QueueExporter, Sink, SinkError};
}

/// LLM calls (feature `llm`; `openai` adds the traced async-openai client,
/// `weave::llm::openai`): recording any client's calls, prices and costs per model, LLM
/// scorers. See `docs/llm.md`.
#[cfg(feature = "llm")]
pub use weave_llm as llm;

/// Weave's digests and `weave:///` refs, computed as Weave computes them (for tests and
/// tools that check what was stored).
pub use weave_core::refs;

#[doc(hidden)]
pub use weave_core::__private_0_1_0;

/// The `#[op]` reference (weave-macros/src/op.md), compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../weave-macros/src/op.md")]
mod op_reference {}

/// The README's Rust examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
