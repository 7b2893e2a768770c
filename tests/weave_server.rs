//! Interop with the real Weave: Rust writes to Weave's real trace-server logic
//! (`weave==0.52.42`'s `SqliteTraceServer` on 127.0.0.1, see `tests/weave_server/`), and
//! the real Python client (`weave==0.54.0`) reads it back. The harness installs its two
//! virtualenvs on first use (`tests/weave_server/setup.py`, idempotent), and every server
//! is stopped when its guard is dropped, failures included.
//!
//! Checked: op names are refs that resolve to ops holding their Rust source; inputs,
//! outputs, exceptions, parent and trace ids, display names, attributes, summaries
//! (`status_counts`, `usage`) and `summary.weave.status` come back as sent; a published
//! object reads back with `ref.get()` and a ref passed to an op is stored as its URI;
//! feedback is attached; eager calls; the quickstart run as a user runs it (settings from
//! the environment); and under injected faults (500s, 429 with `Retry-After`, a slow
//! server, a server down for a while) every call is stored once.

#[path = "weave_server/mod.rs"]
mod harness;

use harness::WeaveServer;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use weave::export::{ExporterConfig, ServerConfig};
use weave::{ObjectRef, Settings};

/// The client is process-global: tests that install one run one at a time.
static CLIENT_LOCK: Mutex<()> = Mutex::new(());

fn server_config(server: &WeaveServer) -> ServerConfig {
    server.rust_server_config()
}

fn init(server: &WeaveServer, project: &str, config: ServerConfig, dir: &std::path::Path) -> weave::Weave {
    weave::builder()
        .project(project)
        .server(config)
        .settings(Settings { print_call_link: false, ..Settings::default() })
        .exporter_config(ExporterConfig {
            fallback_path: dir.join("fallback.jsonl"),
            max_batch_delay: Duration::from_millis(20),
            retry_initial_backoff: Duration::from_millis(200),
            retry_max_backoff: Duration::from_secs(1),
            ..ExporterConfig::default()
        })
        .init()
        .unwrap_or_else(|e| panic!("init against {}: {e}", server.url()))
}

fn calls_by_op(doc: &Value) -> HashMap<String, Vec<Value>> {
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    for call in doc["calls"].as_array().expect("calls") {
        let op_ref = call["op_name"].as_str().expect("op_name");
        let name = op_ref.rsplit_once("/op/").map(|(_, n)| n).unwrap_or(op_ref);
        let name = name.rsplit_once(':').map(|(n, _)| n).unwrap_or(name);
        out.entry(name.to_string()).or_default().push(call.clone());
    }
    out
}

fn one<'a>(calls: &'a HashMap<String, Vec<Value>>, op: &str) -> &'a Value {
    let found = calls.get(op).unwrap_or_else(|| panic!("no call of {op}: {:?}", calls.keys().collect::<Vec<_>>()));
    assert_eq!(found.len(), 1, "{op}: {found:#?}");
    &found[0]
}

/// Every op ref of the read-back resolves to an Op object whose `obj.py` holds its Rust source.
fn assert_ops_resolve_to_rust_source(doc: &Value, expected: &[(&str, &str)]) {
    let refs = doc["op_refs"].as_object().expect("op_refs");
    for (op, snippet) in expected {
        let (uri, info) = refs
            .iter()
            .find(|(uri, _)| uri.contains(&format!("/op/{op}:")))
            .unwrap_or_else(|| panic!("no op ref for {op}: {refs:#?}"));
        assert!(uri.starts_with("weave:///"), "{uri}");
        assert_eq!(info["resolved"], true, "{uri}: {info:#}");
        assert_eq!(info["kind"], "op", "{uri}");
        assert_eq!(info["val"]["_type"], "CustomWeaveType");
        assert_eq!(info["val"]["weave_type"]["type"], "Op");
        let source = info["source"].as_str().unwrap_or_default();
        assert!(source.contains(snippet), "{op}: source {source:?} lacks {snippet:?}");
    }
}

/// The Python client loads each of these ops (`weave.ref(op).get()` imports its `obj.py`
/// and returns the op it defines) without an error.
fn assert_ops_load_in_python(doc: &Value, ops: &[&str]) {
    let refs = doc["op_refs"].as_object().expect("op_refs");
    for op in ops {
        let (uri, info) = refs
            .iter()
            .find(|(uri, _)| uri.contains(&format!("/op/{op}:")))
            .unwrap_or_else(|| panic!("no op ref for {op}: {refs:#?}"));
        assert_eq!(info["loaded"], true, "{uri}: {info:#}");
        assert!(info.get("load_error").is_none_or(Value::is_null), "{uri}: {info:#}");
    }
}

fn duplicates(server: &WeaveServer) -> Vec<Value> {
    server.stats()["duplicate_call_ids"].as_array().cloned().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The ops of the in-process scenario.

#[derive(Debug, Serialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

#[derive(Debug, Serialize)]
struct Completion {
    model: String,
    usage: Usage,
    text: String,
}

#[derive(Debug)]
struct Kaboom(String);

impl std::fmt::Display for Kaboom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kaboom: {}", self.0)
    }
}

impl std::error::Error for Kaboom {}

#[weave::op]
fn interop_child_ok(x: u64) -> u64 {
    x * 2
}

#[weave::op]
fn interop_child_fail(msg: &str) -> Result<(), Kaboom> {
    Err(Kaboom(msg.to_string()))
}

#[weave::op(kind = "llm")]
fn interop_llm(prompt: &str, config: &ObjectRef) -> Completion {
    Completion {
        model: "gpt-4o".to_string(),
        usage: Usage { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
        text: format!("echo: {prompt} ({})", config.name()),
    }
}

#[weave::op(display_name = "rust-root")]
fn interop_parent(x: u64, config: ObjectRef) -> Value {
    let call = weave::current_call().expect("inside an op");
    call.add_reaction("👍").expect("reaction");
    call.add_note("written by weave-rs").expect("note");
    let doubled = interop_child_ok(x);
    let _ = interop_child_fail("bad input");
    let answer = interop_llm("hello", &config);
    json!({"doubled": doubled, "text": answer.text})
}

#[weave::op(eager_call_start = true)]
fn interop_long_job(steps: u32) -> u32 {
    let mut total = 0;
    for step in 0..steps {
        total += interop_step(step);
    }
    total
}

#[weave::op]
fn interop_step(step: u32) -> u32 {
    step + 1
}

#[test]
fn python_reads_back_calls_ops_objects_and_feedback_written_by_rust() {
    let _lock = CLIENT_LOCK.lock();
    let server = WeaveServer::start();
    let dir = tempfile::tempdir().unwrap();
    let project = "test-entity/rust-interop";
    let weave = init(&server, project, server_config(&server), dir.path());
    assert!(weave.destination().contains(&server.url()), "{}", weave.destination());

    let config_value = json!({"temperature": 0.5, "model": "gpt-4o", "tags": ["a", "b"], "name": "café ☕"});
    let config = weave::publish("rust config", &config_value).expect("publish");
    assert_eq!(config.name(), "rust-config");
    let root_output = weave::with_attributes([("harness", json!("rust")), ("run", json!({"n": 1}))], || {
        interop_parent(21, config.clone())
    });
    assert_eq!(root_output["doubled"], 42);
    assert_eq!(interop_long_job(3), 6);
    let report = weave.finish();
    assert!(report.completed && report.failed == 0 && report.dropped == 0, "{report:?}\n{}", server.log());

    // Ops are loaded too (`weave.ref(op).get()`, which imports their `obj.py`).
    let doc = server.read_back(project, &["--object", &config.uri()]);
    assert_eq!(doc["blocked_connections"], json!([]));
    let calls = calls_by_op(&doc);
    assert_eq!(doc["calls"].as_array().unwrap().len(), 8, "{:#?}", calls.keys().collect::<Vec<_>>());
    let ops = [
        ("interop_parent", "fn interop_parent(x: u64, config: ObjectRef) -> Value"),
        ("interop_child_ok", "fn interop_child_ok(x: u64) -> u64"),
        ("interop_child_fail", "fn interop_child_fail"),
        ("interop_llm", "fn interop_llm"),
        ("interop_long_job", "fn interop_long_job"),
    ];
    assert_ops_resolve_to_rust_source(&doc, &ops);
    assert_ops_load_in_python(&doc, &ops.map(|(op, _)| op));

    // The root: inputs (the object ref stored as its URI), output, display name,
    // attributes, summary rolled up from the children, and its feedback.
    let root = one(&calls, "interop_parent");
    assert_eq!(root["parent_id"], Value::Null);
    assert_ne!(root["trace_id"], root["id"]);
    assert_eq!(root["display_name"], "rust-root");
    assert_eq!(root["inputs"], json!({"x": 21, "config": config.uri()}));
    // The Python client resolves the ref to the published value.
    assert_eq!(root["inputs_resolved"]["config"], config_value);
    assert_eq!(root["output"], json!({"doubled": 42, "text": "echo: hello (rust-config)"}));
    assert_eq!(root["attributes"]["harness"], "rust");
    assert_eq!(root["attributes"]["run"], json!({"n": 1}));
    assert_eq!(root["attributes"]["weave"]["source"], "rust-sdk", "{:#}", root["attributes"]);
    let summary = &root["summary"];
    assert_eq!(summary["status_counts"], json!({"success": 3, "error": 1}));
    let usage = &summary["usage"]["gpt-4o"];
    assert_eq!((usage["prompt_tokens"].as_u64(), usage["total_tokens"].as_u64()), (Some(11), Some(18)));
    assert_eq!(usage["requests"], 1);
    assert_eq!(summary["weave"]["status"], "descendant_error");
    assert!(root["started_at"].as_str().is_some() && root["ended_at"].as_str().is_some());
    let feedback = root["feedback"].as_array().expect("feedback");
    let types: Vec<&str> = feedback.iter().filter_map(|f| f["feedback_type"].as_str()).collect();
    assert!(types.contains(&"wandb.reaction.1") && types.contains(&"wandb.note.1"), "{feedback:#?}");
    let reaction = feedback.iter().find(|f| f["feedback_type"] == "wandb.reaction.1").unwrap();
    assert_eq!(reaction["payload"]["emoji"], "👍");
    let note = feedback.iter().find(|f| f["feedback_type"] == "wandb.note.1").unwrap();
    assert_eq!(note["payload"]["note"], "written by weave-rs");
    assert_eq!(doc["feedback_unattached"], json!([]));

    // Children: parent and trace ids, outputs, the error with its exception.
    for op in ["interop_child_ok", "interop_child_fail", "interop_llm"] {
        let child = one(&calls, op);
        assert_eq!(child["parent_id"], root["id"], "{op}");
        assert_eq!(child["trace_id"], root["trace_id"], "{op}");
    }
    let ok = one(&calls, "interop_child_ok");
    assert_eq!((&ok["inputs"], &ok["output"]), (&json!({"x": 21}), &json!(42)));
    assert_eq!(ok["summary"]["weave"]["status"], "success");
    let failed = one(&calls, "interop_child_fail");
    assert_eq!(failed["summary"]["weave"]["status"], "error");
    assert_eq!(failed["output"], Value::Null);
    let exception: Value = serde_json::from_str(failed["exception"].as_str().expect("exception string")).unwrap();
    assert_eq!(exception["message"], "kaboom: bad input", "{exception:#}");
    let llm = one(&calls, "interop_llm");
    assert_eq!(llm["inputs"]["config"], config.uri());
    assert_eq!(llm["attributes"]["weave"]["kind"], "llm");
    assert_eq!(llm["summary"]["usage"]["gpt-4o"]["completion_tokens"], 7);

    // The eager call: started through call/start, ended through call/end.
    let job = one(&calls, "interop_long_job");
    assert_eq!(job["output"], 6);
    assert_eq!(job["summary"]["status_counts"], json!({"success": 4, "error": 0}));
    assert_eq!(job["summary"]["weave"]["status"], "success");
    let steps = &calls["interop_step"];
    assert_eq!(steps.len(), 3);
    assert!(steps.iter().all(|s| s["parent_id"] == job["id"]));
    let routes = server.stats()["routes"].clone();
    assert!(routes.get("POST /v2/{entity}/{project}/call/start").is_some(), "{routes:#}");
    assert!(routes.get("POST /v2/{entity}/{project}/call/end").is_some(), "{routes:#}");

    // The published object reads back with ref.get().
    let object = &doc["objects"][config.uri()];
    assert_eq!(object["value"], config_value, "{object:#}");
    assert!(
        duplicates(&server).is_empty(),
        "duplicates: {:#?}\nrequests: {:#?}",
        duplicates(&server),
        server.requests()
    );
}

#[test]
fn the_legacy_upsert_batch_path_reads_back_the_same() {
    let _lock = CLIENT_LOCK.lock();
    let server = WeaveServer::start();
    let dir = tempfile::tempdir().unwrap();
    let project = "test-entity/rust-legacy";
    let mut config = server_config(&server);
    config.use_calls_complete = false;
    let weave = init(&server, project, config, dir.path());
    let _ = interop_child_ok(5);
    assert_eq!(interop_long_job(2), 3);
    assert!(weave.finish().completed);
    let doc = server.read_back(project, &["--no-load-ops"]);
    let calls = calls_by_op(&doc);
    assert_eq!(one(&calls, "interop_child_ok")["output"], 10);
    assert_eq!(one(&calls, "interop_long_job")["summary"]["status_counts"], json!({"success": 3, "error": 0}));
    assert_ops_resolve_to_rust_source(&doc, &[("interop_child_ok", "fn interop_child_ok")]);
    let routes = server.stats()["routes"].clone();
    assert!(routes.get("POST /call/upsert_batch").is_some(), "{routes:#}");
    assert!(routes.get("POST /v2/{entity}/{project}/calls/complete").is_none(), "{routes:#}");
    assert!(
        duplicates(&server).is_empty(),
        "duplicates: {:#?}\nrequests: {:#?}",
        duplicates(&server),
        server.requests()
    );
}

#[test]
fn under_faults_every_call_is_stored_once() {
    let _lock = CLIENT_LOCK.lock();
    let mut server = WeaveServer::start();
    let dir = tempfile::tempdir().unwrap();
    let project = "test-entity/rust-faults";
    server.faults(json!([
        {"path_regex": "calls/complete$", "status": 500, "times": 2},
        {"path_regex": "calls/complete$", "status": 429, "retry_after": 1, "times": 1},
        {"path_regex": "calls/complete$", "delay_s": 0.5, "times": 1},
        {"path_regex": "obj/create$", "status": 503, "times": 1},
    ]));
    let weave = init(&server, project, server_config(&server), dir.path());
    for i in 0..20 {
        interop_child_ok(i);
    }
    assert!(weave.flush().completed);
    let before = server.stats();
    assert!(before["faults_injected"].as_u64().unwrap_or(0) >= 5, "{before:#}");
    assert_eq!(before["duplicate_call_ids"], json!([]), "{before:#}");
    assert_eq!(before["calls_stored"], 20, "{before:#}");
    // Down for a while: calls made meanwhile wait, and are sent once it is back.
    server.stop();
    for i in 100..110 {
        interop_child_ok(i);
    }
    std::thread::sleep(Duration::from_millis(1500));
    server.restart();
    let report = weave.finish();
    assert!(report.completed, "{report:?}");
    assert_eq!((report.written, report.failed, report.dropped), (30, 0, 0), "{report:?}");
    let doc = server.read_back(project, &["--no-load-ops"]);
    let calls = calls_by_op(&doc);
    let mut inputs: Vec<u64> = calls["interop_child_ok"].iter().map(|c| c["inputs"]["x"].as_u64().unwrap()).collect();
    inputs.sort_unstable();
    let expected: Vec<u64> = (0..20).chain(100..110).collect();
    assert_eq!(inputs, expected);
    assert!(duplicates(&server).is_empty(), "{:#}", server.stats());
    assert!(!dir.path().join("fallback.jsonl").exists());
}

fn quickstart_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let profile_dir = exe.parent().and_then(|p| p.parent()).expect("target dir");
    profile_dir.join("examples").join(format!("quickstart{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn the_quickstart_with_an_api_key_in_the_environment_writes_to_the_server() {
    let server = WeaveServer::start();
    let dir = tempfile::tempdir().unwrap();
    let project = "test-entity/quickstart";
    let mut command = Command::new(quickstart_binary());
    command.current_dir(dir.path());
    for var in ["WEAVE_DISABLED", "WEAVE_LOCAL_STORE_PATH", "WEAVE_JSONL_PATH", "WANDB_ENTITY", "NETRC"] {
        command.env_remove(var);
    }
    command.envs(server.client_env()).env("WEAVE_PROJECT", project).env("WEAVE_PRINT_CALL_LINK", "true");
    let output = command.output().expect("cargo builds examples before running tests");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{}", server.log());
    assert!(
        !dir.path().join(".weave").exists(),
        "nothing goes to the local store: {stderr}\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(!stderr.contains("harness-test-key"), "{stderr}");

    let doc = server.read_back(project, &["--no-load-ops"]);
    let calls = calls_by_op(&doc);
    assert_eq!(doc["calls"].as_array().unwrap().len(), 8, "{:#?}", calls.keys().collect::<Vec<_>>());
    assert_ops_resolve_to_rust_source(
        &doc,
        &[
            ("answer", "async fn answer(question: String) -> String"),
            ("retrieve", "fn retrieve(query: &str, top_k: usize) -> Vec<Document>"),
            ("web_search", "fn web_search"),
            ("chat_completion", "async fn chat_completion"),
            ("summarize", "async fn summarize"),
        ],
    );
    let root = one(&calls, "answer");
    assert!(
        stderr.contains(&format!("🍩 {}/{project}/r/call/{}", server.url(), root["id"].as_str().unwrap())),
        "{stderr}"
    );
    assert_eq!(root["summary"]["status_counts"], json!({"success": 7, "error": 1}));
    assert_eq!(root["summary"]["usage"]["gpt-4o-mini"]["requests"], 2);
    assert_eq!(root["summary"]["usage"]["gpt-4o"]["requests"], 1);
    assert_eq!(root["summary"]["weave"]["status"], "descendant_error");
    assert_eq!(root["attributes"]["weave"]["kind"], "agent");
    let search = one(&calls, "web_search");
    let exception: Value = serde_json::from_str(search["exception"].as_str().unwrap()).unwrap();
    assert!(exception["message"].as_str().unwrap().contains("offline"), "{exception:#}");
    for call in doc["calls"].as_array().unwrap() {
        assert_eq!(call["trace_id"], root["trace_id"]);
        assert!(call["ended_at"].is_string());
    }
    assert_eq!(calls["summarize"].len(), 2);
    assert!(calls["summarize"].iter().all(|s| s["parent_id"] == root["id"]));
    assert!(
        duplicates(&server).is_empty(),
        "duplicates: {:#?}\nrequests: {:#?}",
        duplicates(&server),
        server.requests()
    );
}

fn example_binary(name: &str) -> PathBuf {
    quickstart_binary().with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn calls_left_undelivered_at_shutdown_are_replayed_with_the_replay_command() {
    let _lock = CLIENT_LOCK.lock();
    let mut server = WeaveServer::start();
    server.stop();
    let dir = tempfile::tempdir().unwrap();
    let project = "test-entity/rust-replay";
    let weave = weave::builder()
        .project(project)
        .server(server_config(&server))
        .settings(Settings { print_call_link: false, flush_timeout: Duration::from_secs(2), ..Settings::default() })
        .exporter_config(ExporterConfig {
            fallback_path: dir.path().join("fallback.jsonl"),
            max_batch_delay: Duration::from_millis(20),
            ..ExporterConfig::default()
        })
        .init()
        .expect("init does not need the server");
    for i in 0..3 {
        interop_child_ok(i);
    }
    let report = weave.finish();
    assert_eq!(report.written, 0, "{report:?}");
    let fallback = dir.path().join("fallback.jsonl");
    let text = std::fs::read_to_string(&fallback).expect("undelivered calls are in the fallback file");
    assert_eq!(text.lines().count(), 3);
    assert!(!text.contains("harness-test-key"));

    server.restart();
    let output = Command::new(example_binary("replay_fallback"))
        .arg(&fallback)
        .current_dir(dir.path())
        .env_remove("NETRC")
        .envs(server.client_env())
        .output()
        .expect("cargo builds examples before running tests");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("3 replayed") && stdout.contains("0 failed"), "{stdout}");

    let doc = server.read_back(project, &["--no-load-ops"]);
    let calls = calls_by_op(&doc);
    let mut outputs: Vec<u64> = calls["interop_child_ok"].iter().map(|c| c["output"].as_u64().unwrap()).collect();
    outputs.sort_unstable();
    assert_eq!(outputs, vec![0, 2, 4]);
    assert_ops_resolve_to_rust_source(&doc, &[("interop_child_ok", "fn interop_child_ok(x: u64) -> u64")]);
    assert!(duplicates(&server).is_empty());
}
