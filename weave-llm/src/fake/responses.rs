//! `POST /v1/responses`: a response, or its events for a stream.

use super::chat::CREATED;
use super::reply::{Reply, ReplyBody};
use super::tokens::{prompt_tokens, stream_pieces, words};
use serde_json::{json, Value};

fn usage(request: &Value, reply: &Reply) -> Value {
    let input = prompt_tokens(request);
    let output = match &reply.body {
        ReplyBody::Text(text) => words(text),
        ReplyBody::ToolCalls(calls) => calls.len() as u64,
        ReplyBody::Error { .. } => 0,
    };
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": reply.cached_tokens},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input + output,
    })
}

fn output_items(reply: &Reply) -> Vec<Value> {
    match &reply.body {
        ReplyBody::Text(text) => vec![json!({
            "type": "message", "id": "msg_fake", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
        })],
        ReplyBody::ToolCalls(calls) => calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({"type": "function_call", "id": format!("fc_{i}"), "call_id": format!("call_{i}"),
                       "name": c.name, "arguments": c.arguments, "status": "completed"})
            })
            .collect(),
        ReplyBody::Error { .. } => Vec::new(),
    }
}

/// The response object; `done` false gives the in-progress form (no output, no usage).
pub(crate) fn response(request: &Value, reply: &Reply, id: &str, done: bool) -> Value {
    json!({
        "id": id,
        "object": "response",
        "created_at": CREATED,
        "status": if done { "completed" } else { "in_progress" },
        "model": request.get("model").and_then(Value::as_str).unwrap_or("gpt-4o-mini"),
        "output": if done { output_items(reply) } else { Vec::new() },
        "parallel_tool_calls": true,
        "tool_choice": "auto",
        "tools": [],
        "usage": if done { usage(request, reply) } else { Value::Null },
    })
}

/// The events of the streamed response, as `data:` payloads: created, the text deltas,
/// completed.
pub(crate) fn events(request: &Value, reply: &Reply, id: &str) -> Vec<String> {
    let mut seq = 0u64;
    let mut next = || {
        seq += 1;
        seq
    };
    let mut out = vec![json!({"type": "response.created", "sequence_number": next(),
                              "response": response(request, reply, id, false)})
    .to_string()];
    if let ReplyBody::Text(text) = &reply.body {
        for piece in stream_pieces(text) {
            out.push(
                json!({"type": "response.output_text.delta", "sequence_number": next(), "item_id": "msg_fake",
                       "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []})
                .to_string(),
            );
        }
    }
    out.push(
        json!({"type": "response.completed", "sequence_number": next(), "response": response(request, reply, id, true)})
            .to_string(),
    );
    out
}
