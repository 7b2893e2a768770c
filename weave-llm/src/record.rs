//! Recording an LLM call of any client by hand, in the shape of Weave's integrations: a
//! call of kind `llm` whose inputs are the request's fields and whose output is the
//! response; a response with `model` and `usage` puts `summary.usage[model]` (and its
//! cost, `summary.weave.costs[model]`) on the call and every ancestor.
//!
//! A hand-written call to Anthropic's Messages API (any HTTP client will do; here the
//! request and response are shown as JSON):
//!
//! ```
//! use serde_json::json;
//! use weave_llm::LlmCall;
//!
//! let request = json!({
//!     "model": "claude-sonnet-4-5",
//!     "max_tokens": 256,
//!     "messages": [{"role": "user", "content": "Name a prime."}],
//! });
//! let call = LlmCall::start("anthropic.Messages.create", &request);
//! // let response: serde_json::Value = http.post(".../v1/messages").json(&request).send()?.json()?;
//! let response = json!({
//!     "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
//!     "content": [{"type": "text", "text": "7"}], "stop_reason": "end_turn",
//!     "usage": {"input_tokens": 12, "output_tokens": 1},
//! });
//! call.finish(&response);
//! ```
//!
//! For a response without an OpenAI- or Anthropic-shaped `usage` (Gemini's
//! `usageMetadata`, Ollama's `prompt_eval_count`), give the counts with
//! [`LlmCall::finish_with_usage`].

use crate::cost::cost_summary;
use crate::prices;
use crate::usage::{cache_token_keys, Usage};
use serde::Serialize;
use serde_json::{Map, Value};
use weave_core::context::CallContext;
use weave_core::exception::Exception;
use weave_core::ids::Id;
use weave_core::manual::{CallBuilder, StartedCall};
use weave_core::summary::deep_merge;

/// The kind Weave gives LLM calls (`attributes.weave.kind`).
pub const LLM_KIND: &str = "llm";

/// Builds an [`LlmCall`]. Nothing is serialized when no Weave client is installed.
#[must_use]
#[derive(Debug)]
pub struct LlmCallBuilder {
    builder: Option<CallBuilder>,
}

impl LlmCallBuilder {
    /// A call of the op `op_name` (e.g. `anthropic.Messages.create`), kind `llm`.
    pub fn new(op_name: impl Into<String>) -> LlmCallBuilder {
        let builder = weave_core::runtime::is_enabled().then(|| {
            let op_name = op_name.into();
            let source = format!("// `{op_name}`: an LLM call recorded by weave-llm\n");
            CallBuilder::new(op_name).kind(LLM_KIND).source(source)
        });
        LlmCallBuilder { builder }
    }

    /// True when the call will be recorded (a Weave client is installed).
    pub fn is_recording(&self) -> bool {
        self.builder.is_some()
    }

    /// The request: each field of its JSON object is an input (a request that is not an
    /// object is the input `request`).
    pub fn request(self, request: &(impl Serialize + ?Sized)) -> LlmCallBuilder {
        if self.builder.is_none() {
            return self;
        }
        let value = serde_json::to_value(request)
            .unwrap_or_else(|e| Value::String(format!("[weave: could not serialize the request: {e}]")));
        self.request_json(value)
    }

    /// [`request`](Self::request) from JSON already built.
    pub fn request_json(mut self, request: Value) -> LlmCallBuilder {
        self.builder = self.builder.map(|builder| match request {
            Value::Object(fields) => fields.into_iter().fold(builder, |b, (name, value)| b.input(name, &value)),
            other => builder.input("request", &other),
        });
        self
    }

    /// Adds one input.
    pub fn input(mut self, name: impl Into<String>, value: &(impl Serialize + ?Sized)) -> LlmCallBuilder {
        self.builder = self.builder.map(|b| b.input(name, value));
        self
    }

    /// Sets the call's display name.
    pub fn display_name(mut self, name: impl Into<String>) -> LlmCallBuilder {
        self.builder = self.builder.map(|b| b.display_name(name));
        self
    }

    /// Makes the call a child of the call current in `context` (default: the context
    /// current where [`start`](Self::start) runs).
    pub fn parent(mut self, context: CallContext) -> LlmCallBuilder {
        self.builder = self.builder.map(|b| b.parent(context));
        self
    }

    /// Starts the call.
    pub fn start(self) -> LlmCall {
        LlmCall { call: self.builder.map(CallBuilder::start).filter(StartedCall::is_recording) }
    }
}

/// An LLM call being recorded. End it with [`finish`](Self::finish) (or
/// [`fail`](Self::fail)); dropped unfinished, it is recorded as cancelled.
#[derive(Debug)]
pub struct LlmCall {
    call: Option<StartedCall>,
}

impl LlmCall {
    /// A builder for a call of `op_name`.
    pub fn builder(op_name: impl Into<String>) -> LlmCallBuilder {
        LlmCallBuilder::new(op_name)
    }

    /// Starts a call of `op_name` with the request's fields as inputs.
    pub fn start(op_name: impl Into<String>, request: &(impl Serialize + ?Sized)) -> LlmCall {
        LlmCallBuilder::new(op_name).request(request).start()
    }

    /// True when the call is recorded (a Weave client is installed).
    pub fn is_recording(&self) -> bool {
        self.call.is_some()
    }

    /// The call's id, when recorded.
    pub fn id(&self) -> Option<Id> {
        self.call.as_ref().and_then(StartedCall::id)
    }

    /// The context with this call current (calls made in it are its children).
    pub fn context(&self) -> CallContext {
        self.call.as_ref().map_or_else(CallContext::current, StartedCall::context)
    }

    /// Ends the call with the response as its output. A `model` and `usage` in it give
    /// the call's usage and cost.
    pub fn finish(self, response: &(impl Serialize + ?Sized)) {
        if self.call.is_none() {
            return;
        }
        let value = serde_json::to_value(response)
            .unwrap_or_else(|e| Value::String(format!("[weave: could not serialize the response: {e}]")));
        self.finish_json(value);
    }

    /// [`finish`](Self::finish) with the response as JSON already built.
    pub fn finish_json(mut self, response: Value) {
        let Some(call) = self.call.take() else { return };
        if let Some(extra) = usage_extras(&response) {
            call.add_summary(extra);
        }
        call.finish(&response);
    }

    /// Ends the call with the response as its output, and `usage` of `model` as its usage
    /// and cost (for responses whose usage Weave does not read itself).
    pub fn finish_with_usage(mut self, response: &(impl Serialize + ?Sized), model: &str, usage: &Usage) {
        let Some(call) = self.call.take() else { return };
        let mut summary = Map::new();
        let mut per_model = Map::new();
        per_model.insert(model.to_string(), Value::Object(usage.summary_entry()));
        summary.insert("usage".into(), Value::Object(per_model));
        if let Some(cost) = cost_summary(model, usage, &prices::current()) {
            deep_merge(&mut summary, cost);
        }
        call.add_summary(summary);
        call.finish(response);
    }

    /// Ends the call with an error (`kind` is its type name, as Weave shows it).
    pub fn fail(mut self, kind: &str, message: impl Into<String>) {
        if let Some(call) = self.call.take() {
            call.fail(Exception::new(kind, message));
        }
    }

    /// Ends the call with an error and what arrived before it as its output (a stream that
    /// failed midway).
    pub fn fail_with_output(mut self, what_arrived: &Value, kind: &str, message: impl Into<String>) {
        if let Some(call) = self.call.take() {
            call.fail_with_output(what_arrived, Exception::new(kind, message));
        }
    }

    /// Ends the call as cancelled (its consumer stopped early), with what arrived until
    /// then as its output.
    pub fn cancel(self, what_arrived: Option<&Value>) {
        const DROPPED: &str = "the response was dropped before it ended";
        match what_arrived {
            Some(partial) => self.fail_with_output(partial, "Cancelled", DROPPED),
            None => self.fail("Cancelled", DROPPED),
        }
    }
}

impl Drop for LlmCall {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.fail(Exception::new("Cancelled", "the LLM call was dropped before it ended"));
        }
    }
}

/// What the summary gets on top of Weave's own `usage[model]` for a response with `model`
/// and `usage`: the cache counts Weave's OpenAI integration copies, and the cost.
fn usage_extras(response: &Value) -> Option<Map<String, Value>> {
    let obj = response.as_object()?;
    let model = obj.get("model")?.as_str()?;
    let usage_json = obj.get("usage")?;
    let usage = Usage::from_json(usage_json)?;
    let mut extra = Map::new();
    let cache_keys = usage_json.as_object().map(cache_token_keys).unwrap_or_default();
    if !cache_keys.is_empty() {
        let mut per_model = Map::new();
        per_model.insert(model.to_string(), Value::Object(cache_keys));
        extra.insert("usage".into(), Value::Object(per_model));
    }
    if let Some(cost) = cost_summary(model, &usage, &prices::current()) {
        deep_merge(&mut extra, cost);
    }
    (!extra.is_empty()).then_some(extra)
}
