//! The API key never shows: a child process runs with a key in its environment, against a
//! local fake server that refuses the calls (so errors are printed and calls go to the
//! fallback file), and against the local store with the key among its inputs; the test then
//! greps everything the child printed (including the `Debug` of the guard, the server
//! configuration and the reports) and every file it wrote. The files are owner-only.

#[path = "../weave-exporter/tests/fake_server/mod.rs"]
mod fake_server;
mod support;

use fake_server::{FakeServer, Reply};
use std::collections::BTreeMap;
use std::path::Path;

const KEY: &str = "sk-secret-KEY-7f3a9c1e5b2d4f6a8c0e";

#[weave::op]
fn call_model(api_key: &str, headers: BTreeMap<String, String>, prompt: &str) -> usize {
    api_key.len() + headers.len() + prompt.len()
}

fn traced_work() {
    let key = std::env::var("WANDB_API_KEY").expect("the key is in the environment");
    for i in 0..20 {
        let headers = BTreeMap::from([("Authorization".to_string(), format!("Bearer {key}"))]);
        assert_eq!(call_model(&key, headers, &format!("prompt {i}")), key.len() + 1 + 7 + i.to_string().len());
    }
}

#[test]
fn secrets_child_entry() {
    let Some(scenario) = support::scenario() else { return };
    match scenario.as_str() {
        "server" => {
            let fallback = std::env::var("WEAVE_TEST_FALLBACK").expect("fallback path");
            let weave = weave::builder()
                .project("secret-entity/secret-project")
                .exporter_config(weave::export::ExporterConfig {
                    fallback_path: fallback.into(),
                    retry_initial_backoff: std::time::Duration::from_millis(10),
                    ..Default::default()
                })
                .init()
                .expect("init");
            println!("guard: {weave:?}");
            println!("server config: {:?}", weave::export::ServerConfig::from_env());
            traced_work();
            let report = weave.finish();
            println!("report: {report:?}");
        }
        "local_store" => {
            let weave = weave::init("secret-project").expect("init");
            println!("guard: {weave:?}");
            traced_work();
            println!("report: {:?}", weave.finish());
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn assert_no_key_anywhere(output: &std::process::Output, dir: &Path) -> usize {
    for (what, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(text);
        assert!(!text.contains(KEY), "the key is in the child's {what}:\n{text}");
    }
    let files = files(dir);
    for file in &files {
        let bytes = std::fs::read(file).expect("read a written file");
        assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "the key is in {}", file.display());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file).expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is not owner-only", file.display());
        }
    }
    files.len()
}

#[test]
fn the_key_is_never_printed_nor_written_when_the_server_refuses_the_calls() {
    let server = FakeServer::start();
    server.fail("/calls/complete", 1000, Reply::status(401));
    let dir = tempfile::tempdir().expect("temp dir");
    let fallback = dir.path().join("fallback.jsonl");
    let fallback_var = fallback.to_string_lossy().into_owned();
    let url = server.url();
    let output = support::run_scenario(
        "secrets_child_entry",
        "server",
        dir.path(),
        &[
            ("WANDB_API_KEY", KEY),
            ("WANDB_BASE_URL", url.as_str()),
            ("WF_TRACE_SERVER_URL", url.as_str()),
            ("WEAVE_TEST_FALLBACK", fallback_var.as_str()),
            ("WEAVE_PRINT_CALL_LINK", "false"),
        ],
    );
    support::assert_exit_code(&output, 0, "the server scenario");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("guard: Weave") && stdout.contains("server config: Some"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("401"), "the refusal is reported: {stderr}");
    let text = std::fs::read_to_string(&fallback).expect("the refused calls are in the fallback file");
    assert!(text.lines().count() >= 20, "{text}");
    assert!(assert_no_key_anywhere(&output, dir.path()) >= 1);
    // The key did travel, where it must: to the server, in the Authorization header.
    assert!(server.requests().iter().any(|r| r.header("authorization").is_some()));
}

#[test]
fn the_key_is_never_printed_nor_written_into_the_local_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store").join("weave.db");
    let store_var = store.to_string_lossy().into_owned();
    let output = support::run_scenario(
        "secrets_child_entry",
        "local_store",
        dir.path(),
        &[("WANDB_API_KEY", KEY), ("WEAVE_LOCAL_STORE_PATH", store_var.as_str())],
    );
    support::assert_exit_code(&output, 0, "the local store scenario");
    let reader = weave::store::LocalStore::open(&store).expect("the store");
    assert_eq!(reader.count_calls(None).expect("count"), 20);
    assert!(assert_no_key_anywhere(&output, dir.path()) >= 1);
}
