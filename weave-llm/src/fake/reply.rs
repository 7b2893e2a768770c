//! What the fake answers: scripted replies, taken in order, and the default one.

use std::time::Duration;

/// One function call of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeToolCall {
    /// The function's name.
    pub name: String,
    /// Its arguments, a JSON text.
    pub arguments: String,
}

/// What a reply holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyBody {
    /// Assistant text, streamed word by word (each word with the space before it).
    Text(String),
    /// Function calls (chat completions: `tool_calls`, finish reason `tool_calls`).
    ToolCalls(Vec<FakeToolCall>),
    /// An HTTP error with OpenAI's error body.
    Error {
        /// The status (429, 500, ...).
        status: u16,
        /// The error's `type` (`rate_limit_error`, `server_error`, `insufficient_quota`).
        kind: String,
        /// The message.
        message: String,
    },
}

/// A scripted reply of the fake server.
///
/// ```
/// use weave_llm::fake::Reply;
/// let reply = Reply::text("Paris is the capital.").cached_tokens(4);
/// # let _ = reply;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub(crate) body: ReplyBody,
    pub(crate) chunk_delay: Duration,
    pub(crate) cached_tokens: u64,
    pub(crate) times: usize,
    pub(crate) break_after: Option<usize>,
}

impl Reply {
    fn of(body: ReplyBody) -> Reply {
        Reply { body, chunk_delay: Duration::ZERO, cached_tokens: 0, times: 1, break_after: None }
    }

    /// The assistant says `text`.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::of(ReplyBody::Text(text.into()))
    }

    /// The assistant calls `name` with `arguments` (a JSON text).
    pub fn tool_call(name: impl Into<String>, arguments: impl Into<String>) -> Reply {
        Reply::of(ReplyBody::ToolCalls(vec![FakeToolCall { name: name.into(), arguments: arguments.into() }]))
    }

    /// And also calls `name` with `arguments` (a reply of several tool calls).
    pub fn and_tool_call(mut self, name: impl Into<String>, arguments: impl Into<String>) -> Reply {
        if let ReplyBody::ToolCalls(calls) = &mut self.body {
            calls.push(FakeToolCall { name: name.into(), arguments: arguments.into() });
        }
        self
    }

    /// An HTTP error: 429 is a `rate_limit_error` (async-openai retries it), 5xx a
    /// `server_error` (retried too), others an `invalid_request_error`. The response has
    /// `Retry-After: 0`, so retries are immediate.
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        let kind = match status {
            429 => "rate_limit_error",
            500..=599 => "server_error",
            _ => "invalid_request_error",
        };
        Reply::of(ReplyBody::Error { status, kind: kind.into(), message: message.into() })
    }

    /// A 429 that is not retried: the `insufficient_quota` error.
    pub fn quota_exceeded() -> Reply {
        Reply::of(ReplyBody::Error {
            status: 429,
            kind: "insufficient_quota".into(),
            message: "You exceeded your current quota.".into(),
        })
    }

    /// Waits `delay` before each streamed chunk.
    pub fn chunk_delay(mut self, delay: Duration) -> Reply {
        self.chunk_delay = delay;
        self
    }

    /// Streamed, the connection breaks after `events` events (no `[DONE]`, the body cut
    /// off): a stream that fails midway.
    pub fn break_after(mut self, events: usize) -> Reply {
        self.break_after = Some(events);
        self
    }

    /// Reports `tokens` of the prompt as read from the cache
    /// (`prompt_tokens_details.cached_tokens`).
    pub fn cached_tokens(mut self, tokens: u64) -> Reply {
        self.cached_tokens = tokens;
        self
    }

    /// Gives this reply to the next `times` requests (an error that outlasts the client's
    /// retries).
    pub fn times(mut self, times: usize) -> Reply {
        self.times = times.max(1);
        self
    }
}

/// The reply when nothing is scripted: for a request offering tools whose last message is
/// not a tool's result, a call of the first tool with `{"query": <last user message>}`;
/// otherwise the assistant echoes the last user message.
pub(crate) fn default_reply(request: &serde_json::Value) -> Reply {
    let last_user_text = super::tokens::last_user_text(request);
    let first_tool = request.pointer("/tools/0/function/name").or_else(|| request.pointer("/tools/0/name"));
    let answered =
        request.pointer("/messages").and_then(|m| m.as_array()).and_then(|m| m.last()).and_then(|m| m.get("role"))
            == Some(&serde_json::Value::from("tool"));
    match first_tool.and_then(|t| t.as_str()) {
        Some(tool) if !answered => Reply::tool_call(tool, serde_json::json!({"query": last_user_text}).to_string()),
        _ => Reply::text(format!("You said: {last_user_text}")),
    }
}
