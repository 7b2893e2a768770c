//! Scorers for evaluations (`weave::eval`), as Weave's built-in ones: judges that ask an
//! LLM ([`LLMAsAJudgeScorer`], [`HallucinationFreeScorer`], [`ContextRelevancyScorer`]),
//! and [`ValidJSONScorer`], [`StringMatchScorer`], [`LevenshteinScorer`],
//! [`EmbeddingSimilarityScorer`]. Their names, columns and score keys are Python's.
//!
//! A judge asks a [`JudgeModel`] and an embedding scorer an [`Embedder`]; with the
//! `openai` feature, [`OpenAiModel`](crate::openai::OpenAiModel) is both, through the
//! traced client, so the judge's LLM calls are children of its score calls and their cost
//! counts in the evaluation's.

mod context_relevancy;
mod embedding_similarity;
mod hallucination;
mod judge;
mod levenshtein;
mod parse;
mod string_match;
mod template;
mod valid_json;

pub use context_relevancy::ContextRelevancyScorer;
pub use embedding_similarity::{cosine_similarity, EmbeddingSimilarityScorer};
pub use hallucination::HallucinationFreeScorer;
pub use judge::LLMAsAJudgeScorer;
pub use levenshtein::{levenshtein, LevenshteinScorer};
pub use parse::parse_judgement;
pub use string_match::StringMatchScorer;
pub use template::{fill, placeholders, TemplateError};
pub use valid_json::ValidJSONScorer;

use std::future::Future;
use weave_core::eval::BoxError;

/// A model a judge asks: a system prompt and a user prompt in, the reply's text out.
pub trait JudgeModel: Send + Sync {
    /// The model's name (stored with the scorer as `model_id`).
    fn model_id(&self) -> String;

    /// The model's reply.
    fn complete(&self, system: String, user: String) -> impl Future<Output = Result<String, BoxError>> + Send;
}

/// Turns texts into vectors.
pub trait Embedder: Send + Sync {
    /// The model's name (stored with the scorer as `model_id`).
    fn model_id(&self) -> String;

    /// One vector per text, in order.
    fn embed(&self, texts: Vec<String>) -> impl Future<Output = Result<Vec<Vec<f32>>, BoxError>> + Send;
}

/// The model output as text: a string as is, anything else as JSON.
pub(crate) fn output_text(output: &serde_json::Value) -> String {
    match output {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
