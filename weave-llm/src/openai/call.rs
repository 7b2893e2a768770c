//! Starting and ending the call of one request: the op names, the inputs as Python's
//! integration records them, the outcome.

use super::error::exception_kind;
use super::json::to_json_without_nulls;
use super::request_id::with_request_id;
use crate::record::{LlmCall, LlmCallBuilder};
use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::Client;
use serde::Serialize;
use serde_json::{json, Value};
use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

/// Op name of chat completions.
pub const CHAT_COMPLETIONS_OP: &str = "openai.chat.completions.create";
/// Op name of embeddings.
pub const EMBEDDINGS_OP: &str = "openai.embeddings.create";
/// Op name of the responses API.
pub const RESPONSES_OP: &str = "openai.responses.create";

/// The client version recorded in the `self` input.
const CLIENT_VERSION: &str = "async-openai 0.43";

/// The input Weave's integration gives streamed calls: when the stream was asked for, in
/// seconds since the Unix epoch.
const STREAM_START_INPUT: &str = "_weave_stream_start_time";

/// Starts the call of `op` on `client` for `request` (as the caller gave it); for a
/// stream, with the time it was asked for.
pub(crate) fn start_call<C: Config>(
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
    let mut builder = builder.input("self", &this).request_json(to_json_without_nulls(request));
    if let Some(started) = stream_started {
        let seconds = started.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        builder = builder.input(STREAM_START_INPUT, &seconds);
    }
    builder.start()
}

/// Makes a request that is not streamed and ends `call` with its outcome and the request
/// id its response carried (recorded as `request_id`, `null` when unknown, as Python does).
pub(crate) async fn request_in_call<R: Serialize>(
    call: LlmCall,
    request: impl Future<Output = Result<R, OpenAIError>>,
) -> Result<R, OpenAIError> {
    let (result, request_id) = with_request_id(request).await;
    end_call(call, &result, request_id);
    result
}

fn end_call<R: Serialize>(call: LlmCall, result: &Result<R, OpenAIError>, request_id: Option<String>) {
    if !call.is_recording() {
        return;
    }
    match result {
        Ok(response) => {
            let mut output = to_json_without_nulls(response);
            if let Value::Object(fields) = &mut output {
                fields.insert("request_id".to_string(), request_id.map_or(Value::Null, Value::String));
            }
            call.finish_json(output)
        }
        Err(e) => fail_call(call, e),
    }
}

/// Ends `call` with an error of the request.
pub(crate) fn fail_call(call: LlmCall, error: &OpenAIError) {
    call.fail(exception_kind(error), error.to_string());
}
