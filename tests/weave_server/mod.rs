//! Test helper: Weave's real trace-server logic (weave 0.52.42 `SqliteTraceServer`) on
//! 127.0.0.1, and the real Python client (weave 0.54.0) to read back what Rust wrote.
//!
//! Use from an integration test with `mod weave_server;` (this file is
//! `tests/weave_server/mod.rs`, so Cargo does not build it as a test of its own):
//!
//! ```ignore
//! mod weave_server;
//! use weave_server::WeaveServer;
//!
//! let server = WeaveServer::start();           // installs the venvs once, then starts
//! // run Rust code with server.client_env() (WANDB_API_KEY, WF_TRACE_SERVER_URL, ...)
//! let doc = server.read_back("test-entity/my-test", &[]);   // serde_json::Value
//! assert_eq!(doc["calls"].as_array().unwrap().len(), 3);
//! server.faults(serde_json::json!([{"path_regex": "calls/complete", "status": 503, "times": 2}]));
//! // dropped at the end of the test: the server is shut down, its temp dir removed
//! ```
//!
//! Environment: `WEAVE_HARNESS_PYTHON` (python3 used to run setup.py, default `python3`),
//! `WEAVE_HARNESS_VENV_ROOT` (default `<repo>/target/weave-venvs`), `WEAVE_HARNESS_KEEP=1`
//! keeps each server's temp dir (database, `server.log`) for inspection.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Python interpreters of the two harness virtualenvs.
#[derive(Clone, Debug)]
pub struct Pythons {
    pub server: PathBuf,
    pub client: PathBuf,
}

/// `tests/weave_server` of the repository: found from the manifest dir of the crate whose
/// test includes this module, walking up (so a workspace member can use
/// `#[path = "../../tests/weave_server/mod.rs"] mod weave_server;` too).
fn harness_dir() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|d| d.join("tests").join("weave_server"))
        .find(|d| d.join("server.py").is_file())
        .unwrap_or_else(|| panic!("tests/weave_server/server.py not found above {}", start.display()))
}

/// Runs `setup.py` once per test process (it is idempotent and locks against
/// concurrent runs) and returns the two interpreters. Panics with setup's output on failure.
pub fn pythons() -> &'static Pythons {
    static PYTHONS: OnceLock<Pythons> = OnceLock::new();
    PYTHONS.get_or_init(|| {
        let python = std::env::var("WEAVE_HARNESS_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut cmd = Command::new(&python);
        cmd.arg(harness_dir().join("setup.py")).arg("--quiet");
        if let Ok(root) = std::env::var("WEAVE_HARNESS_VENV_ROOT") {
            cmd.arg("--venv-root").arg(root);
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python} tests/weave_server/setup.py: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "weave harness setup failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let find = |key: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(PathBuf::from)
                .unwrap_or_else(|| panic!("setup.py printed no {key}: {stdout}"))
        };
        Pythons { server: find("SERVER_PYTHON="), client: find("CLIENT_PYTHON=") }
    })
}

/// One running harness server (its own sqlite database in a temp dir).
pub struct WeaveServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl WeaveServer {
    /// Starts a server with a fresh database on a free port.
    pub fn start() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "weave-harness-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("harness temp dir");
        let mut server = WeaveServer { child: None, port: 0, dir };
        server.spawn(0);
        server
    }

    fn spawn(&mut self, port: u16) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("server.log");
        let mut child = Command::new(&pythons().server)
            .arg(harness_dir().join("server.py"))
            .args(["--port", &port.to_string(), "--db"])
            .arg(self.db_path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start server.py");
        let stdout = child.stdout.take().expect("server stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read LISTENING line");
        let Some(port) = line.trim().strip_prefix("LISTENING ").and_then(|p| p.parse().ok()) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server.py did not start (stdout {line:?}); log:\n{}", self.log());
        };
        self.port = port;
        self.child = Some(child);
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A Rust client configuration pointing at this server (a test key, 10 s timeout).
    pub fn rust_server_config(&self) -> weave::export::ServerConfig {
        let url = self.url();
        let key = weave::export::Secret::new("harness-test-key");
        let mut config = weave::export::ServerConfig::for_urls(key, &url, Some(&url));
        config.timeout = Duration::from_secs(10);
        config
    }

    /// `http://127.0.0.1:<port>`: both the trace server URL and the W&B base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.join("trace.db")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// The server's stderr so far (errors, tracebacks, dropped-field notes).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Environment for a Rust process (or `Command`) that should send to this server.
    pub fn client_env(&self) -> Vec<(String, String)> {
        vec![
            ("WANDB_API_KEY".into(), "harness-test-key".into()),
            ("WF_TRACE_SERVER_URL".into(), self.url()),
            ("WANDB_BASE_URL".into(), self.url()),
            ("WEAVE_PRINT_CALL_LINK".into(), "false".into()),
        ]
    }

    /// Stops the server (graceful `/__shutdown`, then kill). The database stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = http(self.port, "POST", "/__shutdown", None);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same database (after `stop`, to
    /// simulate a server that was down for a while).
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port;
        self.spawn(port);
    }

    /// Adds fault rules (`POST /__faults`): a rule object or a list of them.
    pub fn faults(&self, rules: Value) {
        self.control("POST", "/__faults", Some(rules));
    }

    pub fn clear_faults(&self) {
        self.control("DELETE", "/__faults", None);
    }

    /// The request log (`GET /__requests`): `[{method, path, route, status, headers
    /// (names only), content_type, body_size, auth, call_ids?, fault, duration_ms}]`.
    pub fn requests(&self) -> Vec<Value> {
        match self.control("GET", "/__requests", None) {
            Value::Object(mut m) => match m.remove("requests") {
                Some(Value::Array(v)) => v,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    pub fn clear_requests(&self) {
        self.control("DELETE", "/__requests", None);
    }

    /// `GET /__stats`: counts per route and status, `duplicate_call_ids`,
    /// `pending_end_ids`, `dropped_fields`, `calls_stored`, ...
    pub fn stats(&self) -> Value {
        self.control("GET", "/__stats", None)
    }

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, body) = http(self.port, method, path, body.as_ref())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}; log:\n{}", self.log()));
        assert_eq!(status, 200, "{method} {path}: {body}");
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    /// Runs `read_back.py` (the real Python client) for `project` and returns its JSON.
    /// `args` are extra flags: `--op NAME`, `--call-id ID`, `--object REF`,
    /// `--include-costs`, `--no-load-ops`. Panics with the script's output if it fails.
    pub fn read_back(&self, project: &str, args: &[&str]) -> Value {
        self.client_script("read_back.py", project, args)
    }

    /// Runs `write_sample.py` (the Python client writes its reference trace).
    pub fn write_sample(&self, project: &str, args: &[&str]) -> Value {
        self.client_script("write_sample.py", project, args)
    }

    fn client_script(&self, script: &str, project: &str, args: &[&str]) -> Value {
        let out = Command::new(&pythons().client)
            .arg(harness_dir().join(script))
            .args(["--url", &self.url(), "--project", project])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {script}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{script} failed: {stdout}\n{stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{script}: bad JSON ({e}): {stdout}"))
    }
}

impl Drop for WeaveServer {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("WEAVE_HARNESS_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Minimal HTTP/1.1 request to 127.0.0.1 (control routes only; no auth needed there).
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {head}")))?;
    Ok((status, body.to_string()))
}
