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
mod output;
mod parse;
mod string_match;
mod template;
mod traits;
mod valid_json;

pub use context_relevancy::ContextRelevancyScorer;
pub use embedding_similarity::{cosine_similarity, EmbeddingSimilarityScorer};
pub use hallucination::HallucinationFreeScorer;
pub use judge::LLMAsAJudgeScorer;
pub use levenshtein::{levenshtein, LevenshteinScorer};
pub use parse::parse_judgement;
pub use string_match::StringMatchScorer;
pub use template::{fill, placeholders, TemplateError};
pub use traits::{Embedder, JudgeModel};
pub use valid_json::ValidJSONScorer;
