//! An OpenAI model for the scorers: a [`JudgeModel`] (chat completions) and an
//! [`Embedder`] (embeddings), through the traced client, so that the scorers' LLM calls
//! are recorded, under their score calls, with their usage and cost.

use super::client::TracedClient;
use crate::scorers::{Embedder, JudgeModel};
use async_openai::config::{Config, OpenAIConfig};
use async_openai::types::chat::CreateChatCompletionRequest;
use async_openai::types::embeddings::CreateEmbeddingRequest;
use serde_json::json;
use weave_eval::BoxError;

/// A model of an OpenAI-compatible endpoint, for the scorers.
///
/// ```no_run
/// use weave_llm::openai::{async_openai, OpenAiModel, TracedClient};
/// use weave_llm::scorers::HallucinationFreeScorer;
///
/// let client = TracedClient::new(async_openai::Client::new());
/// let judge = HallucinationFreeScorer::new(OpenAiModel::new(client, "gpt-4o-mini"));
/// # let _ = judge;
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiModel<C: Config = OpenAIConfig> {
    client: TracedClient<C>,
    model: String,
    temperature: f32,
}

impl<C: Config> OpenAiModel<C> {
    /// `model` (a chat model for judges, an embedding model for embedders) through
    /// `client`; judges ask at temperature 0.
    pub fn new(client: TracedClient<C>, model: impl Into<String>) -> Self {
        OpenAiModel { client, model: model.into(), temperature: 0.0 }
    }

    /// Asks at `temperature`.
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = temperature;
        self
    }
}

impl<C: Config> JudgeModel for OpenAiModel<C> {
    fn model_id(&self) -> String {
        self.model.clone()
    }

    async fn complete(&self, system: String, user: String) -> Result<String, BoxError> {
        let request: CreateChatCompletionRequest = serde_json::from_value(json!({
            "model": self.model,
            "temperature": self.temperature,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }))?;
        let response = self.client.chat().create(request).await?;
        let reply = response.choices.into_iter().next().and_then(|c| c.message.content);
        reply.ok_or_else(|| "the judge model's reply has no content".into())
    }
}

impl<C: Config> Embedder for OpenAiModel<C> {
    fn model_id(&self) -> String {
        self.model.clone()
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, BoxError> {
        let request: CreateEmbeddingRequest = serde_json::from_value(json!({"model": self.model, "input": texts}))?;
        let mut data = self.client.embeddings().create(request).await?.data;
        data.sort_by_key(|e| e.index);
        Ok(data.into_iter().map(|e| e.embedding).collect())
    }
}
