//! A fake OpenAI-compatible server on 127.0.0.1 (real HTTP, chunked SSE streams), for
//! tests, benchmarks and offline examples: `POST /v1/chat/completions` (plain and
//! streamed, text or tool calls, usage, errors), `/v1/embeddings` and `/v1/responses`.
//! Replies are scripted with [`FakeOpenAi::push`]; with none scripted, the assistant
//! calls the first tool the request offers (with `{"query": <last user message>}`) until
//! a tool's result comes back, and otherwise echoes the last user message. Token counts are words, so a request gets the same
//! usage whichever client sends it.
//!
//! ```
//! use weave_llm::fake::{FakeOpenAi, Reply};
//!
//! let fake = FakeOpenAi::start().unwrap();
//! fake.push(Reply::tool_call("get_weather", r#"{"city":"Paris"}"#));
//! fake.push(Reply::text("Sunny in Paris."));
//! assert!(fake.base_url().starts_with("http://127.0.0.1:"));
//! ```

mod chat;
mod embeddings;
mod reply;
mod responses;
mod tokens;

pub use embeddings::{letter_vector, DIMENSIONS};
pub use reply::{FakeToolCall, Reply, ReplyBody};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The path (`/v1/chat/completions`, ...).
    pub path: String,
    /// The `Authorization` header, as sent.
    pub authorization: Option<String>,
    /// The JSON body.
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<RecordedRequest>>,
    next_id: AtomicU64,
    next_request_id: AtomicU64,
}

impl Shared {
    fn record(&self, path: &str, headers: &HeaderMap, body: &Value) -> String {
        let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(String::from);
        self.requests.lock().push(RecordedRequest { path: path.to_string(), authorization, body: body.clone() });
        self.next_id.fetch_add(1, Ordering::Relaxed).to_string()
    }

    fn next_reply(&self, body: &Value) -> Reply {
        let mut script = self.script.lock();
        match script.front_mut() {
            Some(reply) if reply.times > 1 => {
                reply.times -= 1;
                reply.clone()
            }
            Some(_) => script.pop_front().unwrap_or_else(|| reply::default_reply(body)),
            None => reply::default_reply(body),
        }
    }
}

/// The running fake server; stopped when dropped.
pub struct FakeOpenAi {
    base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for FakeOpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOpenAi").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl FakeOpenAi {
    /// Starts a server on a free port of 127.0.0.1, on a thread of its own.
    pub fn start() -> std::io::Result<FakeOpenAi> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/responses", post(responses))
            .layer(axum::middleware::map_response_with_state(Arc::clone(&shared), add_request_id))
            .with_state(Arc::clone(&shared));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new().name("fake-openai".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                // Each event is written at once (no Nagle delay waiting for the client's ACK).
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                let stop = async {
                    let _ = stopped.await;
                };
                let _ = axum::serve(listener, app).with_graceful_shutdown(stop).await;
            });
        })?;
        Ok(FakeOpenAi { base_url: format!("http://{addr}/v1"), shared, shutdown: Some(shutdown) })
    }

    /// The API base to give a client: `http://127.0.0.1:<port>/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Queues a reply (replies are used in order; then the default echo).
    pub fn push(&self, reply: Reply) {
        self.shared.script.lock().push_back(reply);
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().clone()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.shared.requests.lock().clear();
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Every response carries an `x-request-id` header, as OpenAI's do (`req_fake_<n>`).
async fn add_request_id(State(shared): State<Arc<Shared>>, mut response: Response) -> Response {
    let n = shared.next_request_id.fetch_add(1, Ordering::Relaxed);
    if let Ok(value) = HeaderValue::from_str(&format!("req_fake_{n}")) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// The header that carries a response's request id.
const REQUEST_ID_HEADER: &str = "x-request-id";

fn error_response(status: u16, kind: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": kind}});
    (status, [(header::RETRY_AFTER, "0")], Json(body)).into_response()
}

/// How long a broken stream waits before it breaks.
const BREAK_DELAY: std::time::Duration = std::time::Duration::from_millis(50);

/// `data: <payload>` events then `data: [DONE]`, each its own chunk of the body; with
/// `reply.break_after`, the body is cut off after that many events.
fn sse(payloads: Vec<String>, reply: &Reply) -> Response {
    let events = payloads.into_iter().map(|p| format!("data: {p}\n\n")).chain(["data: [DONE]\n\n".to_string()]);
    let events = events.map(Ok).take(reply.break_after.unwrap_or(usize::MAX));
    let events = events.chain(reply.break_after.map(|_| Err(std::io::Error::other("fake: connection broken"))));
    let delay = reply.chunk_delay;
    let stream = futures_util::stream::unfold(events, move |mut events| async move {
        let event = events.next()?;
        // The break waits for what came before it to leave: hyper drops what it has not
        // written yet when the body fails, the response head included.
        let delay = if event.is_err() { delay.max(BREAK_DELAY) } else { delay };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Some((event.map(Bytes::from), events))
    });
    ([(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")], Body::from_stream(stream))
        .into_response()
}

fn is_stream(body: &Value) -> bool {
    body.get("stream").and_then(Value::as_bool) == Some(true)
}

async fn chat_completions(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let id = format!("chatcmpl-fake-{}", shared.record("/v1/chat/completions", &headers, &body));
    let reply = shared.next_reply(&body);
    if let ReplyBody::Error { status, kind, message } = &reply.body {
        return error_response(*status, kind, message);
    }
    if is_stream(&body) {
        sse(chat::chunks(&body, &reply, &id), &reply)
    } else {
        Json(chat::completion(&body, &reply, &id)).into_response()
    }
}

async fn embeddings(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    shared.record("/v1/embeddings", &headers, &body);
    Json(embeddings::embeddings(&body)).into_response()
}

async fn responses(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let id = format!("resp_fake_{}", shared.record("/v1/responses", &headers, &body));
    let reply = shared.next_reply(&body);
    if let ReplyBody::Error { status, kind, message } = &reply.body {
        return error_response(*status, kind, message);
    }
    if is_stream(&body) {
        sse(responses::events(&body, &reply, &id), &reply)
    } else {
        Json(responses::response(&body, &reply, &id, true)).into_response()
    }
}
