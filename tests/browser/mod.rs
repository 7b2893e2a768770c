//! Test helper: runs a browser test (an ES module, see `tests/browser/run.mjs`) in Debian's
//! headless Chromium (`/usr/bin/chromium`) through playwright-core, and returns its result.
//!
//! Use from an integration test (this file is `tests/browser/mod.rs`, so Cargo does not
//! build it as a test of its own; a workspace member uses
//! `#[path = "../../tests/browser/mod.rs"] mod browser;`):
//!
//! ```ignore
//! #[path = "browser/mod.rs"]
//! mod browser;
//!
//! let run = browser::run_script(&browser::script("selftest.mjs"), "http://127.0.0.1:8123");
//! let value = run.assert_ok();                 // panics with the error, stack and stderr
//! assert!(run.dialogs().is_empty());
//! ```
//!
//! The first run in a test binary runs `tests/browser/setup.sh` (idempotent, locked against
//! concurrent runs, quiet): it installs Debian's `chromium` when `/usr/bin/chromium` is
//! missing (as root) and the pinned playwright-core into `<repo>/target/browser-node`.
//! Screenshots go to `<repo>/target/browser-screenshots` (see [`screenshots_dir`]).
//! Environment: `WEAVE_BROWSER_NODE_DIR`, `WEAVE_BROWSER_SCREENSHOTS` (as for run.mjs).
#![allow(dead_code)]

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What `setup.sh` installed.
#[derive(Clone, Debug)]
pub struct Installed {
    /// `/usr/bin/chromium`.
    pub chromium: PathBuf,
    /// The `node` binary.
    pub node: PathBuf,
    /// Where playwright-core is installed.
    pub node_dir: PathBuf,
    /// `tests/browser/run.mjs`.
    pub runner: PathBuf,
}

/// The repository's root: found from the manifest dir of the crate whose test includes
/// this module, walking up to the directory holding `tests/browser/run.mjs`.
pub fn repo_root() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .find(|d| d.join("tests").join("browser").join("run.mjs").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("tests/browser/run.mjs not found above {}", start.display()))
}

/// A script of `tests/browser/` by file name.
pub fn script(name: &str) -> PathBuf {
    repo_root().join("tests").join("browser").join(name)
}

/// Where run.mjs saves screenshots: `$WEAVE_BROWSER_SCREENSHOTS`, else
/// `<repo>/target/browser-screenshots`.
pub fn screenshots_dir() -> PathBuf {
    std::env::var_os("WEAVE_BROWSER_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target").join("browser-screenshots"))
}

/// Runs `setup.sh --quiet` once per test process and returns what it installed. Panics
/// with its output when it fails.
pub fn setup() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let setup = script("setup.sh");
        let out = Command::new("bash")
            .arg(&setup)
            .arg("--quiet")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", setup.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "browser test setup failed ({}):\n{stdout}\n{}",
            setup.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let find = |key: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(PathBuf::from)
                .unwrap_or_else(|| panic!("setup.sh printed no {key}: {stdout}"))
        };
        Installed {
            chromium: find("CHROMIUM="),
            node: find("NODE="),
            node_dir: find("NODE_DIR="),
            runner: find("RUNNER="),
        }
    })
}

/// Options of [`run`].
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The test's own time limit (run.mjs `--timeout-ms`); the process is killed 60 s
    /// after it.
    pub timeout: Duration,
    /// The name of the run (failure screenshot `<name>-failure.png`); default: the
    /// script's file name.
    pub name: Option<String>,
    /// Extra environment variables for node (the script reads them with `process.env`).
    pub env: Vec<(String, String)>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { timeout: Duration::from_secs(90), name: None, env: Vec::new() }
    }
}

/// One run of a browser test.
#[derive(Debug)]
pub struct BrowserRun {
    /// The JSON line run.mjs printed (`{"ok": false, "error": ...}` when it printed none).
    pub result: Value,
    /// What node printed on stderr (the test's `log` lines, Chromium's complaints).
    pub stderr: String,
    /// Node's exit status (`None` when it was killed for taking too long).
    pub status: Option<ExitStatus>,
}

impl BrowserRun {
    /// True when the test passed.
    pub fn ok(&self) -> bool {
        self.result["ok"] == Value::Bool(true)
    }

    /// What the test returned; panics (with the error, its stack and node's stderr) when
    /// it failed.
    pub fn assert_ok(&self) -> &Value {
        assert!(
            self.ok(),
            "browser test {} failed: {}\n{}\nscreenshots: {}\nnode stderr:\n{}",
            self.result["name"].as_str().unwrap_or("?"),
            self.result["error"].as_str().unwrap_or("(no error)"),
            self.result["stack"].as_str().unwrap_or(""),
            self.result["screenshots"],
            self.stderr
        );
        &self.result["value"]
    }

    /// Every dialog (alert, confirm, prompt) a page opened.
    pub fn dialogs(&self) -> Vec<Value> {
        self.result["dialogs"].as_array().cloned().unwrap_or_default()
    }

    /// Uncaught exceptions of the pages.
    pub fn page_errors(&self) -> Vec<String> {
        strings(&self.result["page_errors"])
    }

    /// Requests to anything but loopback, refused.
    pub fn blocked_requests(&self) -> Vec<String> {
        strings(&self.result["blocked_requests"])
    }

    /// The screenshots whose page was wider than the test's window (it scrolled
    /// sideways): `(screenshot, pixels)`.
    pub fn wider_than_window(&self) -> Vec<(String, u64)> {
        let entries = self.result["wider_than_window"].as_array().cloned().unwrap_or_default();
        entries
            .iter()
            .map(|e| (e["screenshot"].as_str().unwrap_or("?").to_string(), e["px"].as_u64().unwrap_or(0)))
            .collect()
    }

    /// The screenshots saved.
    pub fn screenshots(&self) -> Vec<PathBuf> {
        strings(&self.result["screenshots"]).into_iter().map(PathBuf::from).collect()
    }
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Runs `script` against `base_url` with the default options.
pub fn run_script(script: &Path, base_url: &str) -> BrowserRun {
    run(script, base_url, &RunOptions::default())
}

/// Runs `script` (an ES module, see run.mjs) against `base_url` in a fresh headless
/// Chromium, after [`setup`].
pub fn run(script: &Path, base_url: &str, options: &RunOptions) -> BrowserRun {
    let installed = setup();
    let mut cmd = Command::new(&installed.node);
    cmd.arg(&installed.runner)
        .arg("--test")
        .arg(script)
        .arg("--base-url")
        .arg(base_url)
        .arg("--node-dir")
        .arg(&installed.node_dir)
        .arg("--screenshots")
        .arg(screenshots_dir())
        .arg("--timeout-ms")
        .arg(options.timeout.as_millis().to_string());
    if let Some(name) = &options.name {
        cmd.arg("--name").arg(name);
    }
    cmd.envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", installed.node.display(), installed.runner.display()));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let give_up = Instant::now() + options.timeout + Duration::from_secs(60);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < give_up => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let result = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok().filter(Value::is_object))
        .unwrap_or_else(|| {
            let why = if status.is_none() { "was killed after its time limit" } else { "printed no JSON line" };
            serde_json::json!({"ok": false, "error": format!("run.mjs {why}; stdout: {stdout}")})
        });
    BrowserRun { result, stderr, status }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

/// A tiny HTTP server on 127.0.0.1 (a free port) serving fixed pages, for testing
/// browser scripts against; stopped when dropped.
pub struct StaticServer {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StaticServer {
    /// Serves `pages` (path, content type, body) for GET; anything else is a 404.
    pub fn serve(pages: Vec<(&str, &str, String)>) -> StaticServer {
        use std::io::Write;
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let pages: Vec<(String, String, String)> =
            pages.into_iter().map(|(p, t, b)| (p.to_string(), t.to_string(), b)).collect();
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Acquire) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let mut parts = text.lines().next().unwrap_or("").split_whitespace();
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
                let path = target.split('?').next().unwrap_or("/");
                let page = pages.iter().find(|(p, _, _)| p == path).filter(|_| method == "GET");
                let (status, content_type, body) = match page {
                    Some((_, t, b)) => ("200 OK", t.as_str(), b.as_str()),
                    None => ("404 Not Found", "text/plain", "not found"),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        StaticServer { port, stop, thread: Some(thread) }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        // Wake the accept loop.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
