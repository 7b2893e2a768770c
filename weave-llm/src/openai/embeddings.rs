//! `client.embeddings()`: recorded as `openai.embeddings.create`.

use super::call::{request_in_call, start_call, EMBEDDINGS_OP};
use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::types::embeddings::{CreateEmbeddingRequest, CreateEmbeddingResponse};
use async_openai::Client;

/// Embeddings of a [`TracedClient`](super::TracedClient).
#[derive(Debug)]
pub struct TracedEmbeddings<'c, C: Config> {
    client: &'c Client<C>,
}

impl<'c, C: Config> TracedEmbeddings<'c, C> {
    pub(crate) fn new(client: &'c Client<C>) -> Self {
        TracedEmbeddings { client }
    }

    /// `client.embeddings().create(request)`, recorded.
    pub async fn create(&self, request: CreateEmbeddingRequest) -> Result<CreateEmbeddingResponse, OpenAIError> {
        let call = start_call(EMBEDDINGS_OP, self.client, &request, None);
        request_in_call(call, self.client.embeddings().create(request)).await
    }
}
