//! async-openai's errors as the exceptions Weave records: the type names of the Python
//! `openai` package's errors, and the error's text (which holds no API key: async-openai
//! puts none in its errors).

use async_openai::error::OpenAIError;

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
        OpenAIError::StreamError(_) => "APIError",
        OpenAIError::InvalidArgument(_) => "InvalidArgument",
        _ => "OpenAIError",
    }
}
