//! What keeps the viewer safe to run: every answer carries a strict
//! Content-Security-Policy (scripts and styles only from the viewer's own files, no
//! inline script, nothing from elsewhere) and `nosniff`; a server on a loopback address
//! answers only requests naming a loopback host (no DNS rebinding); a request that
//! writes (POST) must come from the viewer's own origin.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;

/// The Content-Security-Policy of every answer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every answer.
pub async fn headers(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if is_api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Which `Host` headers are answered.
#[derive(Debug, Clone)]
pub struct Allowed {
    /// Only loopback names (`localhost`, `127.0.0.1`, `[::1]`): the server is bound to a
    /// loopback address. Otherwise any.
    loopback_only: bool,
}

impl Allowed {
    /// The hosts a server bound to `bound` answers.
    pub fn new(bound: IpAddr) -> Allowed {
        Allowed { loopback_only: bound.is_loopback() }
    }

    fn host_ok(&self, host: &str) -> bool {
        if !self.loopback_only {
            return true;
        }
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => host.rsplit_once(':').map_or(host, |(name, _)| name),
        };
        name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({"error": message}))).into_response()
}

/// Refuses a request for another host name, and a write from another origin.
pub async fn check_request(State(allowed): State<Allowed>, request: Request<Body>, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().to_string();
    if !allowed.host_ok(&host) {
        return refuse(StatusCode::FORBIDDEN, "this viewer answers only requests for localhost");
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let origin = request.headers().get(header::ORIGIN).and_then(|h| h.to_str().ok());
        if let Some(origin) = origin {
            let own = [format!("http://{host}"), format!("https://{host}")];
            if !own.iter().any(|o| o == origin) {
                return refuse(StatusCode::FORBIDDEN, "writes are accepted only from the viewer's own pages");
            }
        }
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        if !json {
            return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send JSON (Content-Type: application/json)");
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_servers_answer_loopback_names_only() {
        let a = Allowed::new(IpAddr::from([127, 0, 0, 1]));
        for host in ["127.0.0.1:7878", "localhost:1", "LOCALHOST", "[::1]:80", "127.0.0.2"] {
            assert!(a.host_ok(host), "{host}");
        }
        for host in ["evil.example:7878", "", "192.168.1.2:7878", "localhost.evil.example"] {
            assert!(!a.host_ok(host), "{host}");
        }
        assert!(Allowed::new(IpAddr::from([0, 0, 0, 0])).host_ok("my-machine:7878"));
    }
}
