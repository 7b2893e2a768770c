//! A traced stream: each item goes to the caller unchanged, as soon as it arrives, after
//! being added to the call's output. The call ends with the stream: with the gathered
//! output at its end, as failed at an error, as cancelled (with what arrived) if the
//! stream is dropped before its end.

use super::accumulate::Accumulate;
use super::error::exception_kind;
use crate::record::LlmCall;
use async_openai::error::OpenAIError;
use async_openai::types::stream::StreamResponse;
use futures_core::Stream;
use serde_json::Value;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// The recording side of a traced stream.
struct Recording<A> {
    call: LlmCall,
    accumulator: A,
    started: Instant,
    time_to_first_token: Option<f64>,
}

impl<A> Recording<A> {
    fn output<T>(&self) -> Value
    where
        A: Accumulate<T>,
    {
        let mut output = self.accumulator.output();
        if let (Some(ttft), Value::Object(map)) = (self.time_to_first_token, &mut output) {
            map.insert("time_to_first_token".into(), ttft.into());
        }
        output
    }
}

/// An async-openai stream whose call is recorded (see the module documentation).
/// Dereferences to nothing: use it as the `Stream` it is.
pub struct TracedStream<T, A: Accumulate<T>> {
    inner: StreamResponse<T>,
    recording: Option<Recording<A>>,
}

impl<T, A: Accumulate<T>> std::fmt::Debug for TracedStream<T, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedStream").field("recording", &self.recording.is_some()).finish_non_exhaustive()
    }
}

impl<T, A: Accumulate<T>> TracedStream<T, A> {
    /// Wraps `inner`, recording into `call` (a call not recording passes items through).
    pub(crate) fn new(inner: StreamResponse<T>, call: LlmCall, accumulator: A, started: Instant) -> Self {
        let recording =
            call.is_recording().then_some(Recording { call, accumulator, started, time_to_first_token: None });
        TracedStream { inner, recording }
    }
}

// Nothing of a `TracedStream` is pinned in place: `inner` is boxed, and the recording is
// only ever reached through `&mut`.
impl<T, A: Accumulate<T>> Unpin for TracedStream<T, A> {}

impl<T, A: Accumulate<T>> Stream for TracedStream<T, A> {
    type Item = Result<T, OpenAIError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            let item = match this.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(item) => item,
            };
            let Some(recording) = this.recording.as_mut() else {
                return Poll::Ready(item);
            };
            match &item {
                Some(Ok(value)) => {
                    if recording.time_to_first_token.is_none() && recording.accumulator.has_content(value) {
                        recording.time_to_first_token = Some(recording.started.elapsed().as_secs_f64());
                    }
                    recording.accumulator.add(value);
                    if recording.accumulator.is_extra(value) {
                        continue;
                    }
                }
                Some(Err(error)) => {
                    if let Some(recording) = this.recording.take() {
                        let what_arrived = recording.output::<T>();
                        recording.call.fail_with_output(&what_arrived, exception_kind(error), error.to_string());
                    }
                }
                None => {
                    if let Some(recording) = this.recording.take() {
                        let output = recording.output::<T>();
                        recording.call.finish_json(output);
                    }
                }
            }
            return Poll::Ready(item);
        }
    }
}

impl<T, A: Accumulate<T>> Drop for TracedStream<T, A> {
    fn drop(&mut self) {
        if let Some(recording) = self.recording.take() {
            let output = recording.output::<T>();
            recording.call.cancel(Some(&output));
        }
    }
}
