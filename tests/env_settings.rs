//! Settings from environment variables, each checked in a child process (the environment
//! is process-global): the test binary runs itself with `WEAVE_TEST_SCENARIO` set, and the
//! parent checks what the child recorded in its local store and printed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use weave::store::{CallQuery, LocalStore};

/// Sums two numbers (this comment is part of the captured source).
#[weave::op]
fn add(a: u64, b: u64) -> u64 {
    let recording = weave::current_call().is_some();
    if std::env::var("WEAVE_TEST_EXPECT_RECORDING").as_deref() == Ok("no") {
        assert!(!recording, "the op recorded although tracing is off");
    }
    a + b
}

/// What a child process does, by scenario.
fn run_child(scenario: &str) {
    match scenario {
        "init_from_env_project" => {
            let weave = weave::builder().init().expect("WEAVE_PROJECT is used");
            assert_eq!(weave.project_id(), "env-entity/env-project");
            assert_eq!(add(1, 2), 3);
            assert!(weave.finish().completed);
        }
        "invalid_project" => {
            let err = weave::init("a/b/c").expect_err("three parts are refused");
            eprintln!("INIT ERROR: {err}");
        }
        "no_project" => {
            let err = weave::builder().init().expect_err("no project anywhere");
            eprintln!("INIT ERROR: {err}");
        }
        _ => {
            let weave = weave::init("env-entity/env-project").expect("init");
            assert_eq!(add(1, 2), 3);
            assert!(weave.finish().completed);
        }
    }
}

#[test]
fn child_process_entry() {
    if let Some(scenario) = support::scenario() {
        run_child(&scenario);
    }
}

fn run(scenario: &str, envs: &[(&str, &str)]) -> (Output, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store").join("weave.db");
    let store_var = store.to_string_lossy().into_owned();
    let mut all = vec![("WEAVE_LOCAL_STORE_PATH", store_var.as_str())];
    all.extend_from_slice(envs);
    let output = support::run_scenario("child_process_entry", scenario, dir.path(), &all);
    support::assert_exit_code(&output, 0, scenario);
    (output, store, dir)
}

fn stored_add_calls(store: &Path) -> Vec<weave::store::StoredCall> {
    let store = LocalStore::open(store).expect("store exists");
    store.calls(&CallQuery { op_name: Some("add".into()), ..Default::default() }).expect("query")
}

#[test]
fn weave_disabled_records_nothing_and_creates_no_store() {
    for value in ["true", "YES", "1", "on"] {
        let (_, store, _dir) = run("default", &[("WEAVE_DISABLED", value), ("WEAVE_TEST_EXPECT_RECORDING", "no")]);
        assert!(!store.exists(), "WEAVE_DISABLED={value} still created {}", store.display());
    }
}

#[test]
fn calls_land_in_the_local_store_with_their_source() {
    let (_, store_path, _dir) = run("default", &[]);
    let calls = stored_add_calls(&store_path);
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.project_id, "env-entity/env-project");
    assert_eq!(call.inputs, serde_json::json!({"a": 1, "b": 2}));
    assert_eq!(call.output, serde_json::json!(3));
    assert_eq!(call.summary["weave"]["status"], "success");
    let store = LocalStore::open(&store_path).unwrap();
    let ops = store.ops(None).unwrap();
    let op = ops.iter().find(|o| o.name == "add").expect("op saved");
    let source = op.source.as_deref().unwrap_or_default();
    assert!(source.contains("this comment is part of the captured source"), "{source}");
    assert!(source.contains("fn add(a: u64, b: u64) -> u64"), "{source}");
    assert_eq!(call.op_name, op.ref_uri());
}

#[test]
fn weave_capture_code_false_keeps_only_a_hash() {
    let (_, store_path, _dir) = run("default", &[("WEAVE_CAPTURE_CODE", "false")]);
    let store = LocalStore::open(&store_path).unwrap();
    let op = store.ops(None).unwrap().into_iter().find(|o| o.name == "add").expect("op saved");
    let source = op.source.unwrap_or_default();
    assert!(!source.contains("fn add"), "{source}");
    assert!(source.contains("RUST_SOURCE_SHA256 = \""), "{source}");
}

#[test]
fn client_and_system_info_can_be_switched_off() {
    let (_, on, _d1) = run("default", &[]);
    let weave_attrs = &stored_add_calls(&on)[0].attributes["weave"];
    assert_eq!(weave_attrs["source"], "rust-sdk");
    assert!(weave_attrs["os_name"].is_string());
    let (_, off, _d2) = run("default", &[("WEAVE_CAPTURE_CLIENT_INFO", "false"), ("WEAVE_CAPTURE_SYSTEM_INFO", "0")]);
    let weave_attrs = &stored_add_calls(&off)[0].attributes["weave"];
    assert!(weave_attrs.get("source").is_none() && weave_attrs.get("os_name").is_none(), "{weave_attrs}");
}

#[test]
fn weave_project_is_used_when_init_has_none() {
    let (_, store, _dir) = run("init_from_env_project", &[("WEAVE_PROJECT", "env-entity/env-project")]);
    assert_eq!(stored_add_calls(&store)[0].project_id, "env-entity/env-project");
}

#[test]
fn wandb_run_id_is_recorded() {
    let (_, store, _dir) = run("default", &[("WANDB_RUN_ID", "run-7")]);
    assert_eq!(stored_add_calls(&store)[0].wb_run_id.as_deref(), Some("env-entity/env-project/run-7"));
}

#[test]
fn invalid_values_print_one_warning_naming_variable_value_and_default() {
    let (output, store, _dir) = run(
        "default",
        &[("WEAVE_DISABLED", "perhaps"), ("WEAVE_MAX_CALLS_QUEUE_SIZE", "-5"), ("WEAVE_FLUSH_TIMEOUT", "soon")],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("weave: ignoring")).collect();
    assert_eq!(warnings.len(), 3, "{stderr}");
    assert!(warnings[0].contains("WEAVE_DISABLED=\"perhaps\"") && warnings[0].contains("using false"), "{stderr}");
    assert!(warnings[1].contains("WEAVE_MAX_CALLS_QUEUE_SIZE=\"-5\"") && warnings[1].contains("100000"));
    assert!(warnings[2].contains("WEAVE_FLUSH_TIMEOUT"));
    assert_eq!(stored_add_calls(&store).len(), 1, "the defaults apply: tracing stays on");
}

#[test]
fn invalid_project_names_get_a_clear_error() {
    let (output, _, _dir) = run("invalid_project", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("INIT ERROR: invalid Weave project name \"a/b/c\": it has more than one '/'"), "{stderr}");
    let (output, _, _dir) = run("no_project", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("INIT ERROR: no Weave project"), "{stderr}");
}

#[test]
fn jsonl_sink_writes_one_call_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.jsonl");
    let (_, store, _d) = run("default", &[("WEAVE_JSONL_PATH", path.to_str().unwrap())]);
    assert!(!store.exists());
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["inputs"], serde_json::json!({"a": 1, "b": 2}));
    assert!(lines[0]["op_name"].as_str().unwrap().starts_with("weave:///env-entity/env-project/op/add:"));
}
