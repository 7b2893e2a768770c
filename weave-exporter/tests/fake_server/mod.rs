//! A tiny fake Weave trace server for the HTTP sink's tests: HTTP/1.1 on 127.0.0.1 (one
//! request per connection), answering the routes the sink uses like the real server
//! (digests computed as Weave computes them), recording every request, with faults
//! (a status for the next N requests of a route, a delay, a custom responder, a connection
//! cut mid-request, a response that never comes) and a switch that makes it drop
//! connections as if it were down.

#![allow(dead_code)]

use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Lowercased names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
    /// The status answered; 0 when no answer was sent (the connection was cut or held).
    pub status: u16,
}

impl Request {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The ids of the calls in a calls/complete, upsert_batch or start/end body.
    pub fn call_ids(&self) -> Vec<String> {
        let body = self.json();
        let mut out = Vec::new();
        if let Some(batch) = body.get("batch").and_then(Value::as_array) {
            for item in batch {
                let inner = item.pointer("/req/start").or_else(|| item.pointer("/req/end")).unwrap_or(item);
                if let Some(id) = inner.get("id").and_then(Value::as_str) {
                    out.push(id.to_string());
                }
            }
        }
        for key in ["start", "end"] {
            if let Some(id) = body.get(key).and_then(|s| s.get("id")).and_then(Value::as_str) {
                out.push(id.to_string());
            }
        }
        out
    }
}

/// A canned answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply { status, body: json!({"detail": format!("fault {status}")}), headers: Vec::new(), delay: Duration::ZERO }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

type Responder = Box<dyn Fn(&Request) -> Option<Reply> + Send + Sync>;

struct Fault {
    path_contains: String,
    remaining: usize,
    reply: Reply,
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    faults: Vec<Fault>,
    responders: Vec<Responder>,
    /// `(path_contains, remaining)`: requests cut off after part of their body.
    resets: Vec<(String, usize)>,
    /// Requests whose path contains this are held without an answer.
    hang: Option<String>,
}

/// What the accept loop and the connection threads share.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    down: AtomicBool,
    stop: AtomicBool,
    hung: AtomicUsize,
}

/// The fake server; stops when dropped.
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FakeServer {
    pub fn start() -> FakeServer {
        FakeServer::start_on(TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1"))
    }

    /// Starts on a given port (e.g. one a sink was pointed at while nothing listened).
    pub fn start_at(addr: SocketAddr) -> FakeServer {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match TcpListener::bind(addr) {
                Ok(listener) => return FakeServer::start_on(listener),
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("could not bind {addr}: {e}"),
            }
        }
    }

    fn start_on(listener: TcpListener) -> FakeServer {
        let addr = listener.local_addr().expect("local addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        std::thread::spawn(move || {
            while !accepting.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let shared = accepting.clone();
                        std::thread::spawn(move || handle(stream, &shared));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeServer { addr, shared }
    }

    /// A free loopback address nothing listens on (yet).
    pub fn unused_addr() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers the next `times` requests whose path contains `path_contains` with `reply`.
    pub fn fail(&self, path_contains: &str, times: usize, reply: Reply) {
        self.shared.state.lock().faults.push(Fault {
            path_contains: path_contains.to_string(),
            remaining: times,
            reply,
        });
    }

    /// A responder consulted before the default routes (first `Some` wins).
    pub fn respond(&self, f: impl Fn(&Request) -> Option<Reply> + Send + Sync + 'static) {
        self.shared.state.lock().responders.push(Box::new(f));
    }

    /// Cuts off the next `times` requests whose path contains `path_contains`: the server
    /// reads the head and half of the body, then closes the socket with the rest unread
    /// (the kernel answers with a reset). Recorded with status 0.
    pub fn reset_mid_request(&self, path_contains: &str, times: usize) {
        self.shared.state.lock().resets.push((path_contains.to_string(), times));
    }

    /// From now on, requests whose path contains `path_contains` are read and then held
    /// without an answer until [`FakeServer::release`] (then the connection is closed,
    /// still unanswered). Recorded with status 0.
    pub fn hang(&self, path_contains: &str) {
        self.shared.state.lock().hang = Some(path_contains.to_string());
    }

    /// Ends [`FakeServer::hang`]: held connections are closed, new requests are answered.
    pub fn release(&self) {
        self.shared.state.lock().hang = None;
    }

    /// Requests held by [`FakeServer::hang`] so far.
    pub fn hung(&self) -> usize {
        self.shared.hung.load(Ordering::SeqCst)
    }

    /// While down, connections are closed without an answer.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.state.lock().requests.clone()
    }

    /// Requests whose path contains `part`.
    pub fn requests_to(&self, part: &str) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.path.contains(part)).collect()
    }

    /// Ids of calls accepted (2xx) by call-writing routes, in order, with repeats.
    pub fn accepted_call_ids(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status) && (r.path.contains("/call") || r.path.contains("/calls/")))
            .flat_map(|r| r.call_ids())
            .collect()
    }

    /// Waits until `f` holds (or panics after `timeout`).
    pub fn wait_for(&self, timeout: Duration, f: impl Fn(&FakeServer) -> bool) {
        let deadline = Instant::now() + timeout;
        while !f(self) {
            assert!(Instant::now() < deadline, "timed out; requests: {:#?}", self.summary());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `METHOD path status` of every request.
    pub fn summary(&self) -> Vec<String> {
        self.requests().iter().map(|r| format!("{} {} {}", r.method, r.path, r.status)).collect()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

/// Takes one use of a matching reset fault.
fn take_reset(state: &mut State, path: &str) -> bool {
    match state.resets.iter_mut().find(|(part, remaining)| *remaining > 0 && path.contains(part.as_str())) {
        Some((_, remaining)) => {
            *remaining -= 1;
            true
        }
        None => false,
    }
}

/// Holds a request while the server hangs on its path; true when it was held.
fn hold_while_hanging(shared: &Shared, path: &str) -> bool {
    let hanging = |shared: &Shared| shared.state.lock().hang.as_ref().is_some_and(|part| path.contains(part.as_str()));
    if !hanging(shared) {
        return false;
    }
    shared.hung.fetch_add(1, Ordering::SeqCst);
    while hanging(shared) && !shared.stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn handle(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    if shared.down.load(Ordering::SeqCst) {
        drop(stream);
        return;
    }
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = Vec::new();
    let content_length = headers.get("content-length").and_then(|l| l.parse::<usize>().ok());
    if take_reset(&mut shared.state.lock(), &path) {
        body.resize(content_length.unwrap_or(0) / 2, 0);
        let _ = reader.read_exact(&mut body);
        let request = Request { method, path, headers, body, at: Instant::now(), status: 0 };
        shared.state.lock().requests.push(request);
        // A zero linger makes the close a reset (RST), as a crashing peer's would be.
        let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        return;
    }
    if let Some(len) = content_length {
        body.resize(len, 0);
        if reader.read_exact(&mut body).is_err() {
            return;
        }
    } else if headers.get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                return;
            }
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            if reader.read_exact(&mut chunk).is_err() {
                return;
            }
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    let mut request = Request { method, path, headers, body, at: Instant::now(), status: 0 };
    if hold_while_hanging(shared, &request.path) {
        shared.state.lock().requests.push(request);
        return;
    }
    let reply = {
        let mut st = shared.state.lock();
        let fault = st.faults.iter_mut().find(|f| f.remaining > 0 && request.path.contains(&f.path_contains));
        match fault {
            Some(f) => {
                f.remaining -= 1;
                Some(f.reply.clone())
            }
            None => st.responders.iter().find_map(|r| r(&request)),
        }
    }
    .unwrap_or_else(|| default_reply(&request));
    if !reply.delay.is_zero() {
        std::thread::sleep(reply.delay);
    }
    request.status = reply.status;
    shared.state.lock().requests.push(request);
    let body = match &reply.body {
        Value::String(s) => s.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    };
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        body.len()
    );
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut stream = stream;
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}

fn ok(body: Value) -> Reply {
    Reply { status: 200, body, headers: Vec::new(), delay: Duration::ZERO }
}

/// What the real server answers (enough of it for the sink).
fn default_reply(r: &Request) -> Reply {
    let body = r.json();
    let path = r.path.as_str();
    if path == "/server_info" {
        return ok(json!({"min_required_weave_python_version": "0.0.1", "trace_server_version": "fake"}));
    }
    if r.header("authorization").is_none_or(|a| !a.starts_with("Basic ")) {
        return Reply {
            status: 401,
            body: json!({"detail": "unauthorized"}),
            headers: Vec::new(),
            delay: Duration::ZERO,
        };
    }
    match path {
        "/graphql" => {
            let query = body.get("query").and_then(Value::as_str).unwrap_or_default();
            if query.contains("upsertModel") {
                ok(json!({"data": {"upsertModel": {"model": {"name": body.pointer("/variables/name")}}}}))
            } else if query.contains("viewer") {
                ok(json!({"data": {"viewer": {"username": "tester", "defaultEntity": {"name": "fake-entity"}}}}))
            } else {
                ok(json!({"data": {"project": null}}))
            }
        }
        "/file/create" => {
            let content = multipart_file(r).unwrap_or_default();
            ok(json!({"digest": weave_core::refs::bytes_digest(&content)}))
        }
        "/obj/create" => {
            let val = body.pointer("/obj/val").cloned().unwrap_or(Value::Null);
            let object_id = body.pointer("/obj/object_id").cloned().unwrap_or(Value::Null);
            ok(json!({"digest": weave_core::refs::object_digest(&val), "object_id": object_id}))
        }
        "/table/create" => {
            let rows = body.pointer("/table/rows").and_then(Value::as_array).cloned().unwrap_or_default();
            let digests: Vec<String> = rows.iter().map(weave_core::refs::object_digest).collect();
            ok(json!({"digest": weave_core::refs::table_digest(&digests), "row_digests": digests}))
        }
        "/call/upsert_batch" => {
            let n = body.get("batch").and_then(Value::as_array).map_or(0, Vec::len);
            ok(json!({"res": vec![json!({}); n]}))
        }
        "/feedback/batch/create" => {
            let n = body.get("batch").and_then(Value::as_array).map_or(0, Vec::len);
            ok(
                json!({"res": vec![json!({"id": "x", "created_at": "2026-01-01T00:00:00Z", "wb_user_id": "u", "payload": {}}); n]}),
            )
        }
        p if p.starts_with("/v2/") && p.ends_with("/call/start") => {
            ok(json!({"id": body.pointer("/start/id"), "trace_id": body.pointer("/start/trace_id")}))
        }
        p if p.starts_with("/v2/") => ok(json!({})),
        _ => Reply { status: 404, body: json!({"detail": "Not Found"}), headers: Vec::new(), delay: Duration::ZERO },
    }
}

/// The bytes of the `file` part of a multipart body.
pub fn multipart_file(r: &Request) -> Option<Vec<u8>> {
    multipart_parts(r).into_iter().find(|(name, _, _)| name == "file").map(|(_, _, data)| data)
}

/// `(name, filename, data)` of each part of a multipart body.
pub fn multipart_parts(r: &Request) -> Vec<(String, Option<String>, Vec<u8>)> {
    let ctype = r.header("content-type").unwrap_or_default();
    let Some(boundary) = ctype.split("boundary=").nth(1) else { return Vec::new() };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let body = &r.body;
    let mut out = Vec::new();
    let positions: Vec<usize> = find_all(body, delimiter.as_bytes());
    for pair in positions.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = find_all(part, b"\r\n\r\n").first().copied() else { continue };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let mut data = part[split + 4..].to_vec();
        if data.ends_with(b"\r\n") {
            data.truncate(data.len() - 2);
        }
        let name = attr(&head, "name").unwrap_or_default();
        out.push((name, attr(&head, "filename"), data));
    }
    out
}

fn attr(head: &str, key: &str) -> Option<String> {
    let needle = format!(" {key}=\"");
    let start = head.find(&needle).or_else(|| head.find(&format!(";{key}=\"")))? + needle.len();
    let rest = &head[start..];
    Some(rest[..rest.find('"')?].to_string())
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        if &haystack[i..i + needle.len()] == needle {
            out.push(i);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

/// A server configuration pointing every URL at the fake server, with a 5 s timeout.
pub fn server_config(key: &str, url: &str) -> weave_exporter::http::ServerConfig {
    let mut c =
        weave_exporter::http::ServerConfig::for_urls(weave_exporter::credentials::Secret::new(key), url, Some(url));
    c.timeout = Duration::from_secs(5);
    c
}

/// Exporter options for tests: short batching delays and fast, unbounded retries, the
/// fallback file `fallback.jsonl` in `dir`.
pub fn fast_retry_config(dir: &std::path::Path, retry_max_backoff: Duration) -> weave_exporter::ExporterConfig {
    weave_exporter::ExporterConfig {
        max_batch_delay: Duration::from_millis(20),
        fallback_path: dir.join("fallback.jsonl"),
        max_retries: u32::MAX,
        retry_initial_backoff: Duration::from_millis(50),
        retry_max_backoff,
        ..weave_exporter::ExporterConfig::default()
    }
}

/// An exporter over `sink` with [`fast_retry_config`].
pub fn fast_retry_exporter(
    sink: weave_exporter::http::WeaveServerSink,
    dir: &std::path::Path,
    retry_max_backoff: Duration,
) -> weave_exporter::QueueExporter {
    weave_exporter::QueueExporter::start(Box::new(sink), fast_retry_config(dir, retry_max_backoff))
}
