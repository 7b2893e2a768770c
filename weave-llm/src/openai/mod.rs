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
//! Calls not streamed record OpenAI's request id (`request_id`, from the `x-request-id`
//! header) when the client's HTTP stack has a [`RequestIdLayer`], as the one
//! [`TracedClient::with_config`] builds does.
//!
//! The API key is never recorded: inputs hold the request and the base URL only.
//!
//! ```no_run
//! use async_openai::config::OpenAIConfig;
//! use async_openai::types::chat::{ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs};
//! use weave_llm::openai::{async_openai, TracedClient};
//!
//! # async fn run() -> Result<(), async_openai::error::OpenAIError> {
//! let client = TracedClient::with_config(OpenAIConfig::new()); // OPENAI_API_KEY, OPENAI_BASE_URL
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
mod call;
mod chat;
mod chat_accumulator;
mod client;
mod embeddings;
mod error;
mod json;
mod model;
mod request_id;
mod responses;
mod responses_accumulator;
mod stream;

pub use accumulate::Accumulate;
pub use async_openai;
pub use call::{CHAT_COMPLETIONS_OP, EMBEDDINGS_OP, RESPONSES_OP};
pub use chat::{TracedChat, TracedChatStream};
pub use chat_accumulator::ChatAccumulator;
pub use client::TracedClient;
pub use embeddings::TracedEmbeddings;
pub use model::OpenAiModel;
pub use request_id::{RequestIdLayer, RequestIdService};
pub use responses::{TracedResponseStream, TracedResponses};
pub use responses_accumulator::ResponseAccumulator;
pub use stream::TracedStream;
