//! async-openai's errors as the exceptions Weave records: the type names of the Python
//! `openai` package's errors, and the error's text (which holds no API key: async-openai
//! puts none in its errors).

use async_openai::error::{OpenAIError, StreamError};

/// How eventsource-stream starts the text of an error of the connection itself (its
/// `EventStreamError::Transport`), which async-openai keeps only as text.
const TRANSPORT_ERROR_PREFIX: &str = "Transport error";

/// The Python `openai` exception class matching `error`.
pub(crate) fn exception_kind(error: &OpenAIError) -> &'static str {
    match error {
        OpenAIError::ApiError(response) => match response.status_code.as_u16() {
            400 => "BadRequestError",
            401 => "AuthenticationError",
            403 => "PermissionDeniedError",
            404 => "NotFoundError",
            409 => "ConflictError",
            422 => "UnprocessableEntityError",
            429 => "RateLimitError",
            500..=599 => "InternalServerError",
            _ => "APIStatusError",
        },
        OpenAIError::Reqwest(_) => "APIConnectionError",
        OpenAIError::JSONDeserialize(..) => "APIResponseValidationError",
        OpenAIError::StreamError(error) => stream_exception_kind(error),
        OpenAIError::InvalidArgument(_) => "InvalidArgument",
        _ => "OpenAIError",
    }
}

/// A stream's error: a connection broken midway is an `APIConnectionError` (Python's
/// client wraps httpx's error so), a bad event an `APIError`.
fn stream_exception_kind(error: &StreamError) -> &'static str {
    match error {
        StreamError::EventStream(text) if text.starts_with(TRANSPORT_ERROR_PREFIX) => "APIConnectionError",
        _ => "APIError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_connection_is_a_connection_error_and_a_bad_event_an_api_error() {
        let stream = |text: &str| OpenAIError::StreamError(Box::new(StreamError::EventStream(text.into())));
        assert_eq!(exception_kind(&stream("Transport error: error decoding response body")), "APIConnectionError");
        assert_eq!(exception_kind(&stream("Parse error: bad line")), "APIError");
        assert_eq!(exception_kind(&stream("UTF8 error: invalid utf-8")), "APIError");
    }
}
