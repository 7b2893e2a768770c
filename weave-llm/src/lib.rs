//! # weave-llm — LLM calls in weave-rs
//!
//! LLM calls recorded the way Weave's Python integrations record them: a call of kind
//! `llm` whose inputs are the request's fields and whose output is the response, with the
//! token usage per model in `summary.usage` and its cost in `summary.weave.costs`, both
//! rolled up to every ancestor (evaluations included).
//!
//! - [`openai`] (feature `openai`): a traced [async-openai](https://docs.rs/async-openai)
//!   client: chat completions (streaming too), embeddings and the responses API, recorded
//!   as `openai.chat.completions.create`, `openai.embeddings.create` and
//!   `openai.responses.create`.
//! - [`LlmCall`]: any other client's calls (Anthropic, Ollama, your own HTTP), by hand.
//! - [`prices`]: the price table per model (shipped, dated, yours to override) and
//!   [`costs`] to read a summary's costs back.
//! - [`scorers`]: LLM-as-judge scorers and Weave's built-in scorers for evaluations.
//! - `fake` (feature `fake-openai`): an OpenAI-compatible server on 127.0.0.1 for tests
//!   and offline examples.
//!
//! Through the facade: `weave = { features = ["openai"] }` and `weave::llm::...`.

#![deny(missing_docs)]

pub mod cost;
#[cfg(feature = "fake-openai")]
pub mod fake;
#[cfg(feature = "openai")]
pub mod openai;
pub mod prices;
pub mod record;
pub mod scorers;
pub mod usage;

pub use cost::{costs, estimate_costs, total_cost, Cost};
pub use prices::{ModelPrice, PriceTable};
pub use record::{LlmCall, LlmCallBuilder, LLM_KIND};
pub use usage::Usage;
