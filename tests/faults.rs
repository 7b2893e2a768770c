//! Faults seen from the application, through `weave::builder()`: a trace server that is down
//! for the whole run. The application's calls all return, the exit flush gives up after
//! the (configurable, at most 30 s by default) flush timeout, every call is then in the
//! fallback file, and replaying it into the server once it is up delivers each call once.
//! Each report is checked against the fallback file (`accounting::assert_accounted`).
//! (The sink-level faults, 5xx, 429, 413, 422, resets and timeouts, are in
//! `weave-exporter/tests/http_faults.rs`.)

#[path = "../weave-exporter/tests/accounting/mod.rs"]
mod accounting;
#[path = "../weave-exporter/tests/fake_server/mod.rs"]
mod fake_server;

use fake_server::FakeServer;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use weave::export::{ExporterConfig, WeaveServerSink};

const KEY: &str = "faults-test-key-0123456789";
const CALLS: u64 = 200;

#[weave::op]
fn work(i: u64) -> u64 {
    i + 1
}

#[test]
fn the_exit_flush_is_bounded_by_default() {
    assert!(weave::Settings::default().flush_timeout <= Duration::from_secs(30));
    assert!(ExporterConfig::default().flush_timeout <= Duration::from_secs(30));
}

#[test]
fn a_server_down_for_the_whole_run_leaves_every_call_in_the_fallback_file_and_a_replay_delivers_them() {
    let server = FakeServer::start();
    server.set_down(true);
    let dir = tempfile::tempdir().expect("temp dir");
    let fallback = dir.path().join("fallback.jsonl");
    let weave = weave::builder()
        .project("fault-entity/fault-project")
        .server(fake_server::server_config(KEY, &server.url()))
        .settings(weave::Settings {
            flush_timeout: Duration::from_secs(2),
            print_call_link: false,
            ..Default::default()
        })
        .exporter_config(ExporterConfig {
            fallback_path: fallback.clone(),
            max_batch_delay: Duration::from_millis(20),
            retry_initial_backoff: Duration::from_millis(20),
            retry_max_backoff: Duration::from_millis(200),
            ..Default::default()
        })
        .init()
        .expect("init");
    // The application never waits for the server: every call returns.
    for i in 0..CALLS {
        assert_eq!(work(i), i + 1);
    }
    let report = weave.finish();
    assert_eq!(report.written, 0, "nothing can be written while the server is down: {report:?}");
    assert_eq!(report.failed + report.dropped, CALLS, "each call is counted as not written: {report:?}");
    accounting::assert_accounted(CALLS, &report, &fallback);

    let text = std::fs::read_to_string(&fallback).expect("the fallback file");
    let mut ids = Vec::new();
    for line in text.lines() {
        let entry: Value = serde_json::from_str(line).expect("a fallback line is JSON");
        assert!(!line.contains(KEY), "the key never reaches the fallback file");
        if entry["item"]["op_name"].as_str().is_some_and(|op| op.contains("/op/work:")) {
            ids.push(entry["item"]["id"].as_str().expect("an id").to_string());
        }
    }
    assert_eq!(ids.len() as u64, CALLS, "every call is in the fallback file");

    server.set_down(false);
    let mut sink = WeaveServerSink::new(fake_server::server_config(KEY, &server.url()), "fault-entity/fault-project");
    let replayed = weave::replay_fallback_into(&fallback, &mut sink).expect("replay");
    assert_eq!(replayed.failed, 0, "{replayed:?}");
    let mut accepted: HashMap<String, usize> = HashMap::new();
    for id in server.accepted_call_ids() {
        *accepted.entry(id).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(accepted.get(id), Some(&1), "call {id} delivered once by the replay");
    }
}

#[test]
fn calls_made_after_the_store_is_deleted_go_to_the_fallback_file_not_to_the_unlinked_file() {
    let store_dir = tempfile::tempdir().expect("temp dir");
    let fallback_dir = tempfile::tempdir().expect("temp dir");
    let fallback = fallback_dir.path().join("fallback.jsonl");
    let store = weave::store::LocalStore::create(store_dir.path().join("weave.db"), "fault-entity/store-deleted")
        .expect("the store");
    let weave = weave::builder()
        .project("fault-entity/store-deleted")
        .sink(store)
        .settings(weave::Settings { print_call_link: false, ..Default::default() })
        .exporter_config(ExporterConfig {
            fallback_path: fallback.clone(),
            max_batch_delay: Duration::from_millis(20),
            ..Default::default()
        })
        .init()
        .expect("init");
    for i in 0..100 {
        work(i);
    }
    let before = weave.flush();
    assert_eq!(before.written, 100, "{before:?}");
    accounting::assert_accounted(100, &before, &fallback);
    std::fs::remove_dir_all(store_dir.path()).expect("delete the store's directory");
    for i in 0..CALLS {
        work(i);
    }
    let report = weave.finish();
    assert_eq!(report.written, 100, "nothing more is reported written after the delete: {report:?}");
    assert_eq!(report.failed, CALLS, "the calls after the delete are counted as not written: {report:?}");
    accounting::assert_accounted(100 + CALLS, &report, &fallback);
    let text = std::fs::read_to_string(&fallback).expect("the fallback file");
    let in_fallback = text.lines().filter(|line| line.contains("/op/work:")).count() as u64;
    assert_eq!(in_fallback, CALLS, "every call made after the delete is in the fallback file");
}
