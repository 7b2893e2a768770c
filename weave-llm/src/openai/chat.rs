//! `client.chat()`: chat completions, plain and streamed, recorded as
//! `openai.chat.completions.create`.

use super::call::{fail_call, request_in_call, start_call, CHAT_COMPLETIONS_OP};
use super::chat_accumulator::ChatAccumulator;
use super::stream::TracedStream;
use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionStreamOptions, CreateChatCompletionRequest, CreateChatCompletionResponse,
    CreateChatCompletionStreamResponse,
};
use async_openai::Client;
use std::time::{Instant, SystemTime};

/// A streamed chat completion whose call is recorded.
pub type TracedChatStream = TracedStream<CreateChatCompletionStreamResponse, ChatAccumulator>;

/// Chat completions of a [`TracedClient`](super::TracedClient).
#[derive(Debug)]
pub struct TracedChat<'c, C: Config> {
    client: &'c Client<C>,
}

impl<'c, C: Config> TracedChat<'c, C> {
    pub(crate) fn new(client: &'c Client<C>) -> Self {
        TracedChat { client }
    }

    /// `client.chat().create(request)`, recorded.
    pub async fn create(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<CreateChatCompletionResponse, OpenAIError> {
        let call = start_call(CHAT_COMPLETIONS_OP, self.client, &request, None);
        request_in_call(call, self.client.chat().create(request)).await
    }

    /// `client.chat().create_stream(request)`, recorded: the call records the inputs as
    /// the caller gave them (with `stream: true`), asks for the usage chunk if the request
    /// has no `stream_options`, and ends with the stream.
    pub async fn create_stream(
        &self,
        mut request: CreateChatCompletionRequest,
    ) -> Result<TracedChatStream, OpenAIError> {
        let started = Instant::now();
        if request.stream == Some(false) {
            // async-openai's own error, unrecorded as Python's is.
            return Err(OpenAIError::InvalidArgument("When stream is false, use Chat::create".into()));
        }
        request.stream = Some(true);
        let call = start_call(CHAT_COMPLETIONS_OP, self.client, &request, Some(SystemTime::now()));
        let ask_for_usage = call.is_recording() && request.stream_options.is_none();
        if ask_for_usage {
            request.stream_options =
                Some(ChatCompletionStreamOptions { include_usage: Some(true), ..Default::default() });
        }
        match self.client.chat().create_stream(request).await {
            Ok(stream) => Ok(TracedStream::new(stream, call, ChatAccumulator::new(ask_for_usage), started)),
            Err(error) => {
                fail_call(call, &error);
                Err(error)
            }
        }
    }
}
