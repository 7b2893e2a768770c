//! The HTTP client of the trace server sink: a blocking `reqwest` client (rustls) with
//! the auth and Weave headers on every request, per-request timeouts that shrink to fit
//! a shutdown deadline, and the first layer of retries: connection errors, timeouts,
//! 408, 409, 429 and 5xx are retried (`x-should-retry` overrides) with jittered
//! exponential backoff, `min(0.5 * 2^n, 8)` s times `[0.75, 1]`, or the server's
//! `Retry-After` when it gives one. Every attempt of one logical send carries the same
//! `X-Weave-Retry-Id`.
//!
//! Errors never hold the API key: messages name the route, the status and an excerpt
//! of the response body.

use super::config::{is_loopback, ServerConfig};
use base64::Engine as _;
use reqwest::blocking::{multipart, Client, RequestBuilder};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant, SystemTime};
use weave_core::ids::Id;

/// The capabilities this client announces (`X-Weave-Client-Capabilities`).
const CAPABILITIES: &str = "trace_id_on_end";
/// The longest `Retry-After` honoured; longer waits are left to the exporter's backoff.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The shortest time a request is given when a deadline is near.
const MIN_REQUEST_TIME: Duration = Duration::from_millis(200);
/// How much of an error response body is kept in messages.
const BODY_EXCERPT_CHARS: usize = 300;

/// A request body.
pub(crate) enum Body<'a> {
    /// No body (GET).
    None,
    /// JSON bytes.
    Json(&'a [u8]),
    /// `multipart/form-data`: text fields, then one file part named `file`.
    File {
        /// Text fields.
        fields: &'a [(&'a str, &'a str)],
        /// The file's name.
        file_name: &'a str,
        /// The file's bytes.
        content: &'a [u8],
    },
}

/// A successful (2xx) response.
#[derive(Debug)]
pub(crate) struct Response {
    /// The body.
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The body as JSON (`Null` when it is not JSON).
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What kind of failure a request ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// Worth retrying later: connection error, timeout, 408, 409, 429, 5xx.
    Retryable,
    /// 413: the body is too large.
    TooLarge,
    /// 422 (or 400 on a batch route): an item is invalid.
    Invalid,
    /// 404: the route (or the project) does not exist.
    NotFound,
    /// 401 or 403.
    Unauthorized,
    /// Any other 4xx, or a local problem (the request could not be built).
    Rejected,
}

/// A failed request.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// What kind.
    pub(crate) kind: FailureKind,
    /// The route and what went wrong (never the key).
    pub(crate) message: String,
    /// The `error_code` of a FastAPI-style error body, if any.
    pub(crate) error_code: Option<String>,
}

impl Failure {
    /// A failure found before sending (the request could not be built).
    pub(crate) fn local(message: String) -> Failure {
        Failure { kind: FailureKind::Rejected, message, error_code: None }
    }
}

/// The trace server's (and W&B API's) HTTP client. Build and use it on one thread that
/// is not inside an async runtime (the exporter's worker).
pub(crate) struct HttpClient {
    client: Client,
    trace_url: String,
    timeout: Duration,
    retries: u32,
    deadline: Option<Instant>,
}

impl HttpClient {
    /// A client for `config`.
    pub(crate) fn new(config: &ServerConfig) -> Result<HttpClient, String> {
        let mut headers = HeaderMap::new();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("api:{}", config.api_key.expose()));
        let mut auth = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| "the API key contains characters that cannot be sent in a header".to_string())?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("weave-rs/", env!("CARGO_PKG_VERSION"), " (WeaveTrace/Rust)")),
        );
        headers.insert(HeaderName::from_static("x-weave-client-capabilities"), HeaderValue::from_static(CAPABILITIES));
        for (name, value) in &config.headers {
            match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                (Ok(name), Ok(mut value)) => {
                    value.set_sensitive(true);
                    headers.insert(name, value);
                }
                _ => weave_core::warn!(
                    "weave: ignoring the custom header {name:?} from WEAVE_TRACE_CUSTOM_HEADERS: not a valid header"
                ),
            }
        }
        let mut builder = Client::builder();
        if is_loopback(&config.trace_url) && is_loopback(&config.base_url) {
            // A local server is never reached through a proxy from the environment.
            builder = builder.no_proxy();
        }
        let client = builder
            .use_rustls_tls()
            .danger_accept_invalid_certs(config.insecure_disable_ssl)
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| format!("could not set up the HTTP client: {e}"))?;
        Ok(HttpClient {
            client,
            trace_url: config.trace_url.clone(),
            timeout: config.timeout,
            retries: config.request_retries,
            deadline: None,
        })
    }

    /// The trace server's base URL.
    pub(crate) fn trace_url(&self) -> &str {
        &self.trace_url
    }

    /// Sets the time by which every request must be over (a shutdown is under way).
    pub(crate) fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// `POST {trace_url}{path}` with a JSON body.
    pub(crate) fn post_json(&self, path: &str, body: &[u8], headers: &[(&str, String)]) -> Result<Response, Failure> {
        self.send(&format!("{}{}", self.trace_url, path), "POST", &Body::Json(body), headers)
    }

    /// `GET {trace_url}{path}`.
    pub(crate) fn get(&self, path: &str) -> Result<Response, Failure> {
        self.send(&format!("{}{}", self.trace_url, path), "GET", &Body::None, &[])
    }

    /// Sends a request to any URL (the W&B GraphQL API too), retrying retryable failures.
    pub(crate) fn send(
        &self,
        url: &str,
        method: &str,
        body: &Body<'_>,
        headers: &[(&str, String)],
    ) -> Result<Response, Failure> {
        let retry_id = Id::now_v7().to_string();
        let route = route_of(url);
        let mut attempt = 0;
        loop {
            let Some(timeout) = self.time_left() else {
                return Err(Failure {
                    kind: FailureKind::Retryable,
                    message: format!("{method} {route}: no time left before shutdown"),
                    error_code: None,
                });
            };
            let request = self.build(url, method, body, headers, &retry_id)?.timeout(timeout);
            let (result, should_retry, retry_after) = match request.send() {
                Ok(response) => classify(response, method, &route),
                Err(e) => {
                    let message = format!("{method} {route}: {}", describe_reqwest_error(&e));
                    let failure = Failure { kind: FailureKind::Retryable, message, error_code: None };
                    (Err(failure), None, None)
                }
            };
            let failure = match result {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            let retry = should_retry.unwrap_or(failure.kind == FailureKind::Retryable);
            if !retry || attempt >= self.retries {
                return Err(failure);
            }
            let wait = retry_after.filter(|w| *w <= MAX_RETRY_AFTER).unwrap_or_else(|| backoff(attempt));
            if self.deadline.is_some_and(|d| Instant::now() + wait >= d) {
                return Err(failure);
            }
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn time_left(&self) -> Option<Duration> {
        match self.deadline {
            None => Some(self.timeout),
            Some(deadline) => {
                let left = deadline.checked_duration_since(Instant::now())?;
                (left >= MIN_REQUEST_TIME).then(|| left.min(self.timeout))
            }
        }
    }

    fn build(
        &self,
        url: &str,
        method: &str,
        body: &Body<'_>,
        headers: &[(&str, String)],
        retry_id: &str,
    ) -> Result<RequestBuilder, Failure> {
        let mut request = match method {
            "GET" => self.client.get(url),
            _ => self.client.post(url),
        };
        request = request.header("x-weave-retry-id", retry_id);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        Ok(match body {
            Body::None => request,
            Body::Json(bytes) => request.header(CONTENT_TYPE, "application/json").body(bytes.to_vec()),
            Body::File { fields, file_name, content } => {
                let mut form = multipart::Form::new();
                for (name, value) in fields.iter() {
                    form = form.text(name.to_string(), value.to_string());
                }
                let part = multipart::Part::bytes(content.to_vec())
                    .file_name(file_name.to_string())
                    .mime_str("application/octet-stream")
                    .map_err(|e| Failure::local(format!("could not build the upload of {file_name}: {e}")))?;
                request.multipart(form.part("file", part))
            }
        })
    }
}

/// Turns a response into the body (2xx) or a failure, with the `x-should-retry` and
/// `Retry-After` headers.
fn classify(
    response: reqwest::blocking::Response,
    method: &str,
    route: &str,
) -> (Result<Response, Failure>, Option<bool>, Option<Duration>) {
    let status = response.status().as_u16();
    let should_retry = header_str(&response, "x-should-retry");
    let retry_after = header_str(&response, "retry-after");
    match response.bytes() {
        Ok(bytes) => {
            classify_parts(status, should_retry.as_deref(), retry_after.as_deref(), bytes.to_vec(), method, route)
        }
        Err(e) => {
            let message = format!("{method} {route}: reading the response failed: {}", describe_reqwest_error(&e));
            (Err(Failure { kind: FailureKind::Retryable, message, error_code: None }), None, None)
        }
    }
}

/// [`classify`] on a response's parts (what a server sends is untrusted: this is fuzzed).
pub(crate) fn classify_parts(
    status: u16,
    should_retry: Option<&str>,
    retry_after: Option<&str>,
    body: Vec<u8>,
    method: &str,
    route: &str,
) -> (Result<Response, Failure>, Option<bool>, Option<Duration>) {
    let should_retry = should_retry.and_then(|v| match v.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    });
    let retry_after = retry_after.and_then(parse_retry_after);
    if (200..300).contains(&status) {
        return (Ok(Response { body }), None, None);
    }
    let kind = match status {
        408 | 409 | 429 | 500..=599 => FailureKind::Retryable,
        413 => FailureKind::TooLarge,
        400 | 422 => FailureKind::Invalid,
        404 => FailureKind::NotFound,
        401 | 403 => FailureKind::Unauthorized,
        _ => FailureKind::Rejected,
    };
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let error_code = parsed.get("error_code").and_then(|c| c.as_str()).map(str::to_string);
    let message = format!("{method} {route}: HTTP {status}: {}", excerpt(&body));
    (Err(Failure { kind, message, error_code }), should_retry, retry_after)
}

fn header_str(response: &reqwest::blocking::Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// `Retry-After`: seconds (possibly fractional) or an HTTP date (IMF-fixdate, or the
/// obsolete RFC 850 and asctime forms that RFC 9110 asks recipients to accept).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        // `try_from`: a server may send 1e300 (or -0.0, NaN): never panic on its say-so.
        return Duration::try_from_secs_f64(secs).ok();
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// `min(0.5 * 2^attempt, 8)` seconds times a jitter in `[0.75, 1]`.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(500).saturating_mul(1u32 << attempt.min(10)).min(Duration::from_secs(8));
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(attempt);
    base.mul_f64(0.75 + 0.25 * (hasher.finish() % 1024) as f64 / 1023.0)
}

/// The path of a URL, for messages (`http://h:1/v2/e/p/calls/complete` →
/// `/v2/e/p/calls/complete`).
fn route_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].to_string(),
        None => "/".to_string(),
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    let mut out: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
    if text.chars().count() > BODY_EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// A reqwest error in words, with its causes (URLs carry no secrets; headers are never
/// part of these messages).
fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        // The obsolete forms too.
        assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Sun Nov  6 08:49:37 1994"), Some(Duration::ZERO));
        let in_two_minutes = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let wait = parse_retry_after(&in_two_minutes).unwrap();
        assert!(wait > Duration::from_secs(115) && wait <= Duration::from_secs(120), "{wait:?}");
        assert!(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT").unwrap() > Duration::from_secs(200_000_000_000));
        assert_eq!(parse_retry_after("soon"), None);
        // Values that would overflow a Duration or the date arithmetic.
        assert_eq!(parse_retry_after("1e300"), None);
        assert_eq!(parse_retry_after("Sun, 99999999999 Nov 9223372036854775807 08:49:37 GMT"), None);
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 99999999999999:49:37 GMT"), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) <= Duration::from_millis(500) && backoff(0) >= Duration::from_millis(375));
        assert!(backoff(10) <= Duration::from_secs(8));
        assert_eq!(route_of("http://127.0.0.1:9/v2/e/p/calls/complete"), "/v2/e/p/calls/complete");
    }
}
