//! What the LLM scorers ask: a [`JudgeModel`] (a judge's prompts in, its reply out) and an
//! [`Embedder`] (texts in, vectors out).

use std::future::Future;
use weave_eval::BoxError;

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
