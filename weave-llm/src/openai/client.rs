//! [`TracedClient`]: an async-openai client whose chat completions, embeddings and responses
//! are recorded.

use super::chat::TracedChat;
use super::embeddings::TracedEmbeddings;
use super::responses::TracedResponses;
use async_openai::config::{Config, OpenAIConfig};
use async_openai::Client;

/// An async-openai client whose calls are recorded.
#[derive(Clone)]
pub struct TracedClient<C: Config = OpenAIConfig> {
    inner: Client<C>,
}

impl<C: Config> std::fmt::Debug for TracedClient<C> {
    /// The base URL only (async-openai's own `Debug` would show the configuration).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedClient").field("api_base", &self.inner.config().api_base()).finish_non_exhaustive()
    }
}

impl<C: Config> TracedClient<C> {
    /// Wraps `client`.
    pub fn new(client: Client<C>) -> TracedClient<C> {
        TracedClient { inner: client }
    }

    /// The client itself (its calls are not recorded).
    pub fn inner(&self) -> &Client<C> {
        &self.inner
    }

    /// Unwraps the client.
    pub fn into_inner(self) -> Client<C> {
        self.inner
    }

    /// Chat completions (`openai.chat.completions.create`).
    pub fn chat(&self) -> TracedChat<'_, C> {
        TracedChat::new(&self.inner)
    }

    /// Embeddings (`openai.embeddings.create`).
    pub fn embeddings(&self) -> TracedEmbeddings<'_, C> {
        TracedEmbeddings::new(&self.inner)
    }

    /// The responses API (`openai.responses.create`).
    pub fn responses(&self) -> TracedResponses<'_, C> {
        TracedResponses::new(&self.inner)
    }
}
