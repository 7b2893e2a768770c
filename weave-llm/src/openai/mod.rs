//! The traced [async-openai](https://docs.rs/async-openai) client: wrap a `Client` in a
//! [`TracedClient`] and call it as before; chat completions, embeddings and responses
//! are recorded as Weave's Python integration records them (same op names, kind `llm`,
//! inputs = the request's fields plus `self` = the client's base URL and version,
//! output = the response without empty fields, usage and cost per model in the summary).
//!
//! Streams ([`TracedChat::create_stream`]) hand each chunk over unchanged as it arrives;
//! the call records the completion gathered from them, the usage of the final chunk (the
//! wrapper asks for it with `stream_options.include_usage` when the request did not, and
//! then keeps that extra chunk from the caller, as Python does) and the time to first
//! token. A stream dropped early is recorded as cancelled, with what had arrived.
//!
//! The API key is never recorded: inputs hold the request and the base URL only.
//!
//! ```no_run
//! use async_openai::types::chat::{ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs};
//! use weave_llm::openai::{async_openai, TracedClient};
//!
//! # async fn run() -> Result<(), async_openai::error::OpenAIError> {
//! let client = TracedClient::new(async_openai::Client::new());
//! let request = CreateChatCompletionRequestArgs::default()
//!     .model("gpt-4o-mini")
//!     .messages([ChatCompletionRequestUserMessage::from("Name a prime.").into()])
//!     .build()?;
//! let response = client.chat().create(request).await?; // one `openai.chat.completions.create` call
//! # let _ = response;
//! # Ok(())
//! # }
//! ```

mod accumulate;
mod chat;
mod chat_accumulator;
mod embeddings;
mod error;
mod json;
mod model;
mod responses;
mod responses_accumulator;
mod stream;

pub use accumulate::Accumulate;
pub use async_openai;
pub use chat::{TracedChat, TracedChatStream};
pub use chat_accumulator::ChatAccumulator;
pub use embeddings::TracedEmbeddings;
pub use model::OpenAiModel;
pub use responses::{TracedResponseStream, TracedResponses};
pub use responses_accumulator::ResponseAccumulator;
pub use stream::TracedStream;

use crate::record::{LlmCall, LlmCallBuilder};
use async_openai::config::{Config, OpenAIConfig};
use async_openai::Client;
use serde::Serialize;
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

/// Op name of chat completions.
pub const CHAT_COMPLETIONS_OP: &str = "openai.chat.completions.create";
/// Op name of embeddings.
pub const EMBEDDINGS_OP: &str = "openai.embeddings.create";
/// Op name of the responses API.
pub const RESPONSES_OP: &str = "openai.responses.create";

/// The client version recorded in the `self` input.
const CLIENT_VERSION: &str = "async-openai 0.43";

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

/// The input Weave's integration gives streamed calls: when the stream was asked for, in
/// seconds since the Unix epoch.
const STREAM_START_INPUT: &str = "_weave_stream_start_time";

/// Starts the call of `op` on `client` for `request` (as the caller gave it); for a
/// stream, with the time it was asked for.
fn start_call<C: Config>(
    op: &'static str,
    client: &Client<C>,
    request: &impl Serialize,
    stream_started: Option<SystemTime>,
) -> LlmCall {
    let builder = LlmCallBuilder::new(op);
    if !builder.is_recording() {
        return builder.start();
    }
    let this = json!({"client": {"base_url": client.config().api_base(), "version": CLIENT_VERSION}});
    let mut builder = builder.input("self", &this).request_json(json::to_json_without_nulls(request));
    if let Some(started) = stream_started {
        let seconds = started.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        builder = builder.input(STREAM_START_INPUT, &seconds);
    }
    builder.start()
}

/// Ends `call` with the outcome of a request.
fn end_call<R: Serialize>(call: LlmCall, result: &Result<R, async_openai::error::OpenAIError>) {
    if !call.is_recording() {
        return;
    }
    match result {
        Ok(response) => call.finish_json(json::to_json_without_nulls(response)),
        Err(e) => fail_call(call, e),
    }
}

/// Ends `call` with an error of the request.
fn fail_call(call: LlmCall, error: &async_openai::error::OpenAIError) {
    call.fail(error::exception_kind(error), error.to_string());
}
