//! A chat completion gathered from its streamed chunks, as Weave's OpenAI integration
//! gathers it: content appended, tool calls merged by index, finish reasons kept, the
//! usage of the final chunk; recorded as a `chat.completion` without empty fields.

use super::accumulate::Accumulate;
use super::json::{to_json_without_nulls, wire_name};
use async_openai::types::chat::{ChatCompletionMessageToolCallChunk, CreateChatCompletionStreamResponse};
use serde_json::{json, Map, Value};

#[derive(Debug, Default, Clone)]
struct ToolCall {
    id: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    arguments: String,
}

#[derive(Debug, Default, Clone)]
struct Choice {
    role: Option<String>,
    content: Option<String>,
    refusal: Option<String>,
    tool_calls: Vec<ToolCall>,
    finish_reason: Option<String>,
}

/// The chat completion of a stream so far (see the module documentation).
#[derive(Debug, Default, Clone)]
pub struct ChatAccumulator {
    id: String,
    created: u32,
    model: String,
    system_fingerprint: Option<String>,
    service_tier: Option<String>,
    choices: Vec<Choice>,
    usage: Option<Value>,
    started: bool,
    hide_usage_chunk: bool,
}

impl ChatAccumulator {
    /// An empty completion; `hide_usage_chunk` when the wrapper asked for the usage
    /// chunk and the caller did not.
    pub fn new(hide_usage_chunk: bool) -> ChatAccumulator {
        ChatAccumulator { hide_usage_chunk, ..ChatAccumulator::default() }
    }

    fn merge_tool_call(choice: &mut Choice, delta: &ChatCompletionMessageToolCallChunk) {
        let index = delta.index as usize;
        if choice.tool_calls.len() <= index {
            choice.tool_calls.resize_with(index + 1, ToolCall::default);
        }
        let call = &mut choice.tool_calls[index];
        if let Some(id) = &delta.id {
            call.id = Some(id.clone());
        }
        if let Some(kind) = &delta.r#type {
            call.kind = Some(wire_name(kind));
        }
        if let Some(function) = &delta.function {
            if let Some(name) = &function.name {
                call.name = Some(name.clone());
            }
            if let Some(arguments) = &function.arguments {
                call.arguments.push_str(arguments);
            }
        }
    }
}

impl Accumulate<CreateChatCompletionStreamResponse> for ChatAccumulator {
    #[allow(deprecated)] // system_fingerprint: still sent, and recorded by Weave
    fn add(&mut self, chunk: &CreateChatCompletionStreamResponse) {
        if !self.started {
            self.started = true;
            self.id.clone_from(&chunk.id);
            self.created = chunk.created;
            self.model.clone_from(&chunk.model);
            self.system_fingerprint.clone_from(&chunk.system_fingerprint);
            self.service_tier = chunk.service_tier.as_ref().map(wire_name);
        }
        for choice in &chunk.choices {
            let index = choice.index as usize;
            if self.choices.len() <= index {
                self.choices.resize_with(index + 1, Choice::default);
            }
            let acc = &mut self.choices[index];
            if let Some(reason) = &choice.finish_reason {
                acc.finish_reason = Some(wire_name(reason));
            }
            let delta = &choice.delta;
            if let Some(content) = &delta.content {
                if !content.is_empty() || acc.content.is_some() {
                    acc.content.get_or_insert_with(String::new).push_str(content);
                }
            }
            if let Some(refusal) = &delta.refusal {
                acc.refusal.get_or_insert_with(String::new).push_str(refusal);
            }
            if let Some(role) = &delta.role {
                acc.role = Some(wire_name(role));
            }
            for call in delta.tool_calls.iter().flatten() {
                ChatAccumulator::merge_tool_call(acc, call);
            }
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(to_json_without_nulls(usage));
        }
    }

    fn has_content(&self, chunk: &CreateChatCompletionStreamResponse) -> bool {
        chunk.choices.iter().any(|c| c.delta.content.as_deref().is_some_and(|s| !s.is_empty()))
    }

    fn is_extra(&self, chunk: &CreateChatCompletionStreamResponse) -> bool {
        self.hide_usage_chunk && chunk.choices.is_empty() && chunk.usage.is_some()
    }

    fn output(&self) -> Value {
        let choices: Vec<Value> = self
            .choices
            .iter()
            .enumerate()
            .map(|(index, choice)| {
                let mut message = Map::new();
                if let Some(content) = &choice.content {
                    message.insert("content".into(), content.clone().into());
                }
                if let Some(refusal) = &choice.refusal {
                    message.insert("refusal".into(), refusal.clone().into());
                }
                if let Some(role) = &choice.role {
                    message.insert("role".into(), role.clone().into());
                }
                if !choice.tool_calls.is_empty() {
                    let calls: Vec<Value> = choice
                        .tool_calls
                        .iter()
                        .map(|call| {
                            let mut out = Map::new();
                            if let Some(id) = &call.id {
                                out.insert("id".into(), id.clone().into());
                            }
                            if let Some(kind) = &call.kind {
                                out.insert("type".into(), kind.clone().into());
                            }
                            let mut function = Map::new();
                            if let Some(name) = &call.name {
                                function.insert("name".into(), name.clone().into());
                            }
                            function.insert("arguments".into(), call.arguments.clone().into());
                            out.insert("function".into(), Value::Object(function));
                            Value::Object(out)
                        })
                        .collect();
                    message.insert("tool_calls".into(), Value::Array(calls));
                }
                let mut out = Map::new();
                out.insert("index".into(), index.into());
                out.insert("message".into(), Value::Object(message));
                if let Some(reason) = &choice.finish_reason {
                    out.insert("finish_reason".into(), reason.clone().into());
                }
                Value::Object(out)
            })
            .collect();
        let mut out = json!({
            "id": self.id,
            "choices": choices,
            "created": self.created,
            "model": self.model,
            "object": "chat.completion",
        });
        if let Some(fingerprint) = &self.system_fingerprint {
            out["system_fingerprint"] = fingerprint.clone().into();
        }
        if let Some(tier) = &self.service_tier {
            out["service_tier"] = tier.clone().into();
        }
        if let Some(usage) = &self.usage {
            out["usage"] = usage.clone();
        }
        out
    }
}
