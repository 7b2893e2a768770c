//! Evaluations, as Weave runs them: a [`Dataset`] of rows, a [`Model`] that predicts an
//! output for each row, [`Scorer`]s that score each output, and an [`Evaluation`] that
//! runs them all (concurrently, `WEAVE_PARALLELISM` rows at a time) and summarizes the
//! scores with Weave's [`auto_summarize`]. The trace has the shape Weave's UI knows:
//!
//! ```text
//! Evaluation.evaluate             (display name eval-YYYY-MM-DD-<adjective>-<noun>)
//!   Evaluation.predict_and_score  (one per row and trial)
//!     <Model>.predict
//!     <scorer>                    (or <Scorer>.score for struct scorers)
//!   Evaluation.summarize
//!     <Scorer>.summarize          (struct scorers; Scorer.summarize for the default)
//! ```
//!
//! [`EvaluationLogger`] is the imperative form (log predictions and scores you computed
//! yourself), and [`compare`] runs several models over one evaluation and prints their
//! summaries side by side.
//!
//! This crate is built on weave-core's public API only: calls started by hand
//! ([`weave_core::manual::CallBuilder`]), objects, tables and ops handed to the running
//! client's exporter ([`weave_core::object::ObjectItem`], [`weave_core::table::TableItem`],
//! [`weave_core::export::ExportItem`]), scores as runnable feedback
//! ([`weave_core::feedback::add_runnable_feedback`]) and panics as exceptions
//! ([`weave_core::panic::caught_panic`]). Users reach it as `weave::eval`.
//!
//! ```
//! use weave_eval::{scorer_fn, Dataset, Evaluation, Model, Row, BoxError};
//! use serde::Serialize;
//!
//! #[derive(Serialize)]
//! struct Echo { suffix: String }
//!
//! impl Model for Echo {
//!     type Output = String;
//!     async fn predict(&self, input: &Row) -> Result<String, BoxError> {
//!         Ok(format!("{}{}", input.get::<String>("question")?, self.suffix))
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let dataset = Dataset::from_rows("qa", [
//!     serde_json::json!({"question": "hi", "expected": "hi!"}),
//! ]).unwrap();
//! let exact = scorer_fn("exact", |input| async move {
//!     Ok::<_, BoxError>(input.output() == input.value("expected").unwrap_or(&serde_json::Value::Null))
//! });
//! let evaluation = Evaluation::builder(dataset).scorer(exact).progress(false).build();
//! let outcome = evaluation.evaluate(&Echo { suffix: "!".into() }).await.unwrap();
//! assert_eq!(outcome.summary["exact"]["true_fraction"], 1.0);
//! # });
//! ```

#![deny(missing_docs)]

mod columns;
mod compare;
mod dataset;
mod evaluation;
mod logger;
mod model;
mod names;
mod objects;
mod progress;
mod scorer;
mod summarize;

pub use columns::{ColumnMap, Columns};
pub use compare::{compare, Comparison};
pub use dataset::{ColumnError, Dataset, DatasetError, Row};
pub use evaluation::{EvalError, Evaluation, EvaluationBuilder, EvaluationOutcome, RowResult};
pub use logger::{EvaluationLogger, EvaluationLoggerBuilder, LoggerError, PendingScore, ScoreLogger};
pub use model::{model_fn, op_model, predict, AnyModel, FnModel, Model};
pub use names::{default_display_name, memorable_name};
pub use scorer::{
    scorer_fn, sync_scorer_fn, AnyScorer, FnScorer, IntoScorer, Pairwise, Preference, Scorer, ScorerInput,
};
pub use summarize::{auto_summarize, auto_summarize_with_unscored, truthy};

/// The error type models and scorers return: any error converts into it with `?`
/// (`"message".into()` works too).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The `_weave_eval_meta` attribute key Weave's evaluation calls carry.
pub const EVAL_META_KEY: &str = "_weave_eval_meta";
