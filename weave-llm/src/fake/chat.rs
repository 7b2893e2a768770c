//! `POST /v1/chat/completions`: a completion, or its chunks for a stream.

use super::reply::{FakeToolCall, Reply, ReplyBody};
use super::tokens::{prompt_tokens, stream_pieces, words};
use serde_json::{json, Value};

/// When the fake's completions were "created".
pub(crate) const CREATED: u64 = 1_767_225_600;

/// The usage of `reply` to `request`.
pub(crate) fn usage(request: &Value, reply: &Reply) -> Value {
    let prompt = prompt_tokens(request);
    let completion = completion_tokens(reply);
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": reply.cached_tokens},
    })
}

fn completion_tokens(reply: &Reply) -> u64 {
    match &reply.body {
        ReplyBody::Text(text) => words(text),
        ReplyBody::ToolCalls(calls) => calls.iter().map(|c| 1 + words(&c.arguments.replace([',', ':'], " "))).sum(),
        ReplyBody::Error { .. } => 0,
    }
}

fn model_of(request: &Value) -> &str {
    request.get("model").and_then(Value::as_str).unwrap_or("gpt-4o-mini")
}

fn tool_call_json(index: usize, call: &FakeToolCall) -> Value {
    json!({"id": format!("call_{index}"), "type": "function",
           "function": {"name": call.name, "arguments": call.arguments}})
}

/// The whole completion.
pub(crate) fn completion(request: &Value, reply: &Reply, id: &str) -> Value {
    let (message, finish_reason) = match &reply.body {
        ReplyBody::ToolCalls(calls) => {
            let calls: Vec<Value> = calls.iter().enumerate().map(|(i, c)| tool_call_json(i, c)).collect();
            (json!({"role": "assistant", "content": null, "tool_calls": calls, "refusal": null}), "tool_calls")
        }
        ReplyBody::Text(text) => (json!({"role": "assistant", "content": text, "refusal": null}), "stop"),
        ReplyBody::Error { .. } => (json!({"role": "assistant", "content": null}), "stop"),
    };
    json!({
        "id": id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model_of(request),
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason}],
        "usage": usage(request, reply),
        "system_fingerprint": "fp_fake",
    })
}

/// The chunks of the streamed completion, as `data:` payloads (without `[DONE]`): the
/// role, the content word by word or each tool call's name then its arguments in pieces,
/// the finish reason, then the usage alone if the request asked for it.
pub(crate) fn chunks(request: &Value, reply: &Reply, id: &str) -> Vec<String> {
    let include_usage = request.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true);
    let model = model_of(request);
    let chunk = |delta: Value, finish_reason: Value| {
        let mut chunk = json!({
            "id": id, "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        });
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk.to_string()
    };
    let mut out = vec![chunk(json!({"role": "assistant", "content": "", "refusal": null}), Value::Null)];
    let finish = match &reply.body {
        ReplyBody::Text(text) => {
            out.extend(stream_pieces(text).into_iter().map(|p| chunk(json!({"content": p}), Value::Null)));
            "stop"
        }
        ReplyBody::ToolCalls(calls) => {
            for (index, call) in calls.iter().enumerate() {
                let head = json!({"index": index, "id": format!("call_{index}"), "type": "function",
                                  "function": {"name": call.name, "arguments": ""}});
                out.push(chunk(json!({"tool_calls": [head]}), Value::Null));
                for piece in argument_pieces(&call.arguments) {
                    let part = json!({"index": index, "function": {"arguments": piece}});
                    out.push(chunk(json!({"tool_calls": [part]}), Value::Null));
                }
            }
            "tool_calls"
        }
        ReplyBody::Error { .. } => "stop",
    };
    out.push(chunk(json!({}), json!(finish)));
    if include_usage {
        out.push(
            json!({"id": id, "object": "chat.completion.chunk", "created": CREATED, "model": model,
                   "system_fingerprint": "fp_fake", "choices": [], "usage": usage(request, reply)})
            .to_string(),
        );
    }
    out
}

/// Arguments cut in pieces of at most 8 characters (on character boundaries).
fn argument_pieces(arguments: &str) -> Vec<String> {
    let chars: Vec<char> = arguments.chars().collect();
    chars.chunks(8).map(|c| c.iter().collect()).collect()
}
