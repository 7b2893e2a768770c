//! OpenAI's request ids: the `x-request-id` header of a response, recorded as `request_id`
//! in the output of a call that is not streamed, as Python's integration records it
//! (`null` when the response has none, or the client's HTTP stack does not report it).
//!
//! async-openai hands back parsed responses, not their headers, so the header is read
//! by a tower layer in the client's HTTP stack ([`RequestIdLayer`]) and passed to the call
//! waiting for it through a task-local slot that the traced method opens around the
//! request ([`with_request_id`]). The slot is looked up by the layer's response future,
//! which the request's own task awaits even when a layer in front of it calls the service
//! on another task (tower's `Buffer` does: its worker task calls the service, and hands
//! the response future back to the request to await). A stack that awaits the response
//! on another task (a service that spawns it) leaves the id unknown.

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The header that carries a response's request id.
const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    /// The id of the response to the request being made in this task, once it arrived.
    static REQUEST_ID: Arc<Mutex<Option<String>>>;
}

/// Runs `request` and returns its result with the request id its response carried (the
/// last attempt's, when the stack retries).
pub(crate) async fn with_request_id<F: Future>(request: F) -> (F::Output, Option<String>) {
    let slot = Arc::new(Mutex::new(None));
    let output = REQUEST_ID.scope(Arc::clone(&slot), request).await;
    let id = slot.lock().take();
    (output, id)
}

/// A tower layer for async-openai's HTTP stack (`Client::with_http_service`) that reports
/// each response's `x-request-id` to the traced call that made the request, so that the
/// call records it as `request_id`. [`TracedClient::with_config`](super::TracedClient::with_config)
/// puts it in the stack it builds; add it to your own stack when you wrap a client you
/// built with [`TracedClient::new`](super::TracedClient::new).
///
/// ```
/// use async_openai::config::OpenAIConfig;
/// use async_openai::middleware::ReqwestService;
/// use tower::Layer;
/// use weave_llm::openai::{async_openai, RequestIdLayer, TracedClient};
///
/// let http = RequestIdLayer.layer(ReqwestService::new(reqwest::Client::new()));
/// let client = TracedClient::new(async_openai::Client::with_config(OpenAIConfig::new()).with_http_service(http));
/// # let _ = client;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> tower::Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> RequestIdService<S> {
        RequestIdService { inner }
    }
}

/// The service of [`RequestIdLayer`]: `inner`, with its responses' request ids reported.
#[derive(Debug, Clone)]
pub struct RequestIdService<S> {
    inner: S,
}

impl<S> tower::Service<HttpRequestFactory> for RequestIdService<S>
where
    S: tower::Service<HttpRequestFactory, Response = reqwest::Response, Error = OpenAIError>,
    S::Future: Send + 'static,
{
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            let id = response.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(String::from);
            // Outside a traced request (no slot) there is no call to tell.
            let _ = REQUEST_ID.try_with(|slot| *slot.lock() = id);
            Ok(response)
        })
    }
}
