//! [`TracedClient`]: an async-openai client whose chat completions, embeddings and responses
//! are recorded.

use super::chat::TracedChat;
use super::embeddings::TracedEmbeddings;
use super::request_id::RequestIdLayer;
use super::responses::TracedResponses;
use async_openai::config::{Config, OpenAIConfig};
use async_openai::middleware::retry::OpenAIRetryLayer;
use async_openai::middleware::ReqwestService;
use async_openai::Client;
use tower::Layer;

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
    /// A client with `config` and async-openai's default HTTP stack (its retry layer over a
    /// new `reqwest::Client`), plus the [`RequestIdLayer`] that lets non-streamed calls
    /// record OpenAI's request id.
    ///
    /// ```
    /// use weave_llm::openai::async_openai::config::OpenAIConfig;
    /// use weave_llm::openai::TracedClient;
    ///
    /// let client = TracedClient::with_config(OpenAIConfig::new().with_api_base("http://127.0.0.1:8080/v1"));
    /// # let _ = client;
    /// ```
    pub fn with_config(config: C) -> TracedClient<C> {
        let http = ReqwestService::new(reqwest::Client::new());
        let http = RequestIdLayer.layer(OpenAIRetryLayer::default().layer(http));
        TracedClient { inner: Client::with_config(config).with_http_service(http) }
    }

    /// Wraps `client`, a client you built. Its calls record OpenAI's request id only if
    /// its HTTP stack has a [`RequestIdLayer`] (otherwise `request_id` is `null`).
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
