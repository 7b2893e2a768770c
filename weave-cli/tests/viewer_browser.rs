//! The viewer in a real browser: `weave ui` (the binary, on 127.0.0.1, port 0) over a store
//! the SDK recorded (a quickstart-like agent trace, a thread, two evaluation runs, and
//! calls capturing `<script>window.__pwned=1</script>`, `javascript:alert(1)` and other
//! markup), driven in Debian's headless Chromium by the scripts of `tests/browser/` (see
//! `tests/browser/README.md` at the repository's root). Each test has its own copy of the
//! store and its own `weave ui`. Screenshots of every page go to
//! `target/browser-screenshots/viewer-*.png`; with `WEAVE_UPDATE_SCREENSHOTS=1` the
//! comparison's is also copied to `docs/images/weave-ui-compare.png` (the README's).

#[path = "../../tests/browser/mod.rs"]
mod browser;
mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use weave::store::{CallQuery, LocalStore};

/// What the page scripts are told (as `WEAVE_VIEWER_FIXTURE`, JSON).
struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    ids: Value,
}

/// Captures a `<script>` and a `javascript:` link in its inputs and more markup in its
/// output.
#[weave::op]
fn pwn_probe(comment: &str, link: &str) -> Value {
    json!({
        "html": comment,
        "href": link,
        "img": "<img src=x onerror=\"window.__pwned=2\">",
        "markdown": format!("[click me]({link})"),
    })
}

/// The support fixture's store, plus the probe call.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let base = support::fixture();
        let (dir, path) = support::copy_of_store();
        let sink = LocalStore::create(&path, support::PROJECT).expect("the store");
        let weave = weave::builder().project(support::PROJECT).sink(sink).init().expect("weave starts");
        pwn_probe("<script>window.__pwned=1</script>", "javascript:alert(1)");
        let report = weave.finish();
        assert!(report.completed, "{report:?}");
        let store = LocalStore::open(&path).expect("the store opens");
        store.index_calls().expect("indexed");
        let probe = store
            .calls(&CallQuery { op_name: Some("pwn_probe".into()), ..CallQuery::default() })
            .expect("calls")
            .pop()
            .expect("the probe call");
        let ids = json!({
            "agent_trace": base.agent_trace,
            "agent_root": base.agent_root,
            "error_call": base.error_call,
            "unsafe_trace": base.unsafe_trace,
            "unsafe_call": base.unsafe_call,
            "probe_trace": probe.trace_id,
            "probe_call": probe.id,
            "evals": base.evals,
            "thread": base.thread,
            "costs_trace": base.costs_trace,
            "costs_root": base.costs_root,
            "costs_llm_call": base.costs_llm_call,
            "recorded_models": support::RECORDED_MODELS,
        });
        Fixture { _dir: dir, path, ids }
    })
}

/// `weave ui` on a copy of the fixture's store; stopped (and the copy removed) on drop.
struct Ui {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Ui {
    fn start() -> Ui {
        let f = fixture();
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("weave.db");
        copy_store(&f.path, &path);
        let mut child = Command::new(env!("CARGO_BIN_EXE_weave"))
            .env_remove("WEAVE_LOCAL_STORE_PATH")
            .arg("--store")
            .arg(&path)
            .args(["ui", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("weave ui starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the URL line");
        let url = line.split_whitespace().last().unwrap_or_default().trim_end_matches('/').to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "weave ui printed {line:?}");
        // Keep reading its stdout, so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut rest = String::new();
            while stdout.read_line(&mut rest).map(|n| n > 0).unwrap_or(false) {
                rest.clear();
            }
        });
        Ui { child, url, _dir: dir }
    }

    /// Runs `script` (a file of `weave-cli/tests/browser/`) against this viewer.
    fn run(&self, script: &str) -> browser::BrowserRun {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("browser").join(script);
        let options = browser::RunOptions {
            timeout: Duration::from_secs(90),
            name: Some(script.trim_end_matches(".mjs").to_string()),
            env: vec![("WEAVE_VIEWER_FIXTURE".into(), fixture().ids.to_string())],
        };
        browser::run(&path, &self.url, &options)
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn copy_store(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy the store");
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", from.display()));
        if side.exists() {
            std::fs::copy(&side, format!("{}{suffix}", to.display())).expect("copy the WAL");
        }
    }
}

/// The checks every run gets: it passed, no page opened a dialog or threw, nothing but
/// loopback was asked for (the viewer is offline: no CDN), and no page it took a
/// screenshot of scrolled sideways.
fn checked(run: &browser::BrowserRun) -> Value {
    let value = run.assert_ok().clone();
    assert!(run.wider_than_window().is_empty(), "pages wider than the window: {:?}", run.wider_than_window());
    assert!(run.dialogs().is_empty(), "a page opened a dialog: {:?}", run.dialogs());
    assert!(run.page_errors().is_empty(), "a page threw: {:?}", run.page_errors());
    assert!(run.blocked_requests().is_empty(), "a page asked for more than loopback: {:?}", run.blocked_requests());
    value
}

#[test]
fn every_page_opens_and_the_traces_filters_live_in_the_url() {
    let ui = Ui::start();
    let value = checked(&ui.run("viewer_pages.mjs"));
    assert_eq!(value["filtered_by_op"], 1, "{value}");
    assert!(value["all_roots"].as_u64().unwrap_or(0) > value["filtered_by_op"].as_u64().unwrap_or(0), "{value}");
    for page in ["traces", "evals", "ops", "threads", "op", "thread"] {
        let shot = browser::screenshots_dir().join(format!("viewer-{page}.png"));
        assert!(shot.is_file(), "{} was not saved", shot.display());
    }
}

#[test]
fn a_trace_expands_a_call_shows_its_inputs_and_costs_and_takes_a_reaction_and_a_note() {
    let ui = Ui::start();
    let value = checked(&ui.run("viewer_trace.mjs"));
    assert_eq!(value["nodes"], 5, "{value}");
    assert_eq!(value["collapsed"], 1, "{value}");
    assert_eq!(value["feedback_after_reload"], 2, "{value}");
    assert_eq!(value["cost_models"], json!(support::RECORDED_MODELS), "{value}");
    assert_eq!(value["estimated_marks"], 0, "recorded costs are not estimates: {value}");
    assert_eq!(value["agent_estimated"], true, "usage without recorded costs is an estimate: {value}");
    for page in ["trace", "trace-costs"] {
        let shot = browser::screenshots_dir().join(format!("viewer-{page}.png"));
        assert!(shot.is_file(), "{} was not saved", shot.display());
    }
}

#[test]
fn two_evaluation_runs_compare_and_their_rows_filter_and_group() {
    let ui = Ui::start();
    let value = checked(&ui.run("viewer_compare.mjs"));
    assert_eq!(value["zero_looking_coloured"], json!([]), "a coloured delta reads as zero: {value}");
    assert_eq!(value["overflow"], json!({"page": 0, "main": 0, "rows_table": 0}), "wider than the page: {value}");
    assert_eq!(value["rows_before"], "6 of 6 rows", "{value}");
    assert_eq!(value["rows_after"], "4 of 6 rows", "{value}");
    assert_eq!(value["compare_rows_after"], 4, "{value}");
    assert!(value["groups"].as_u64().unwrap_or(0) >= 2, "{value}");
    let shot = browser::screenshots_dir().join("viewer-compare.png");
    assert!(shot.is_file());
    if std::env::var_os("WEAVE_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        let docs = browser::repo_root().join("docs").join("images");
        std::fs::create_dir_all(&docs).expect("docs/images");
        std::fs::copy(&shot, docs.join("weave-ui-compare.png")).expect("copy the screenshot");
    }
}

#[test]
fn captured_script_tags_and_javascript_links_execute_nothing() {
    let ui = Ui::start();
    let run = ui.run("viewer_unsafe.mjs");
    let value = checked(&run);
    assert_eq!(value["pwned"], Value::Null, "{value}");
    assert!(value["pages"].as_u64().unwrap_or(0) >= 5, "{value}");
}
