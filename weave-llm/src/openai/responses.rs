//! `client.responses()`: the responses API, plain and streamed, recorded as
//! `openai.responses.create`.

use super::call::{fail_call, request_in_call, start_call, RESPONSES_OP};
use super::responses_accumulator::ResponseAccumulator;
use super::stream::TracedStream;
use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::types::responses::{CreateResponse, Response, ResponseStreamEvent};
use async_openai::Client;
use std::time::{Instant, SystemTime};

/// A streamed response whose call is recorded.
pub type TracedResponseStream = TracedStream<ResponseStreamEvent, ResponseAccumulator>;

/// The responses API of a [`TracedClient`](super::TracedClient).
#[derive(Debug)]
pub struct TracedResponses<'c, C: Config> {
    client: &'c Client<C>,
}

impl<'c, C: Config> TracedResponses<'c, C> {
    pub(crate) fn new(client: &'c Client<C>) -> Self {
        TracedResponses { client }
    }

    /// `client.responses().create(request)`, recorded.
    pub async fn create(&self, request: CreateResponse) -> Result<Response, OpenAIError> {
        let call = start_call(RESPONSES_OP, self.client, &request, None);
        request_in_call(call, self.client.responses().create(request)).await
    }

    /// `client.responses().create_stream(request)`, recorded: the output is the
    /// response of the last `response.*` event (the completed one at the end).
    pub async fn create_stream(&self, mut request: CreateResponse) -> Result<TracedResponseStream, OpenAIError> {
        let started = Instant::now();
        if request.stream == Some(false) {
            return Err(OpenAIError::InvalidArgument("When stream is false, use Responses::create".into()));
        }
        request.stream = Some(true);
        let call = start_call(RESPONSES_OP, self.client, &request, Some(SystemTime::now()));
        match self.client.responses().create_stream(request).await {
            Ok(stream) => Ok(TracedStream::new(stream, call, ResponseAccumulator::default(), started)),
            Err(error) => {
                fail_call(call, &error);
                Err(error)
            }
        }
    }
}
