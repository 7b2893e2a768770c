//! The viewer indexes a large call-log backlog in bounded steps (a page never waits for
//! all of it) and says how many calls are not shown yet; one-shot commands index it all.

use std::path::{Path, PathBuf};
use weave::store::LocalStore;
use weave_cli::store::{Store, INDEX_STEP};

#[weave::op]
fn step(i: u64) -> u64 {
    i
}

/// The SDK's client is process-global: one store is recorded at a time.
static RECORDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A store whose call log holds one entry per call, none of them indexed.
fn store_with_backlog(dir: &Path, project: &str, calls: u64) -> PathBuf {
    let _one_at_a_time = RECORDING.lock().unwrap_or_else(|e| e.into_inner());
    let path = dir.join("weave.db");
    let mut sink = LocalStore::create(&path, project).unwrap();
    sink.set_max_backlog(None); // the writer leaves all indexing for later
    let weave = weave::builder().project(project).sink(sink).init().unwrap();
    for i in 0..calls {
        step(i);
        weave::flush(); // one log entry per call
    }
    weave.finish();
    path
}

const CALLS: u64 = 2 * INDEX_STEP.max_entries as u64 + 10;

#[test]
fn the_viewer_indexes_a_large_backlog_a_bounded_step_at_a_time_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_backlog(dir.path(), "local/backlog-viewer", CALLS);
    let before = LocalStore::open_read_only(&path).unwrap().index_backlog().unwrap();
    assert!(before.entries > INDEX_STEP.max_entries as u64, "{before:?}");

    let store = Store::open(&path).unwrap();
    let after_open = store.backlog();
    assert!(after_open.entries > 0, "a bounded step, not everything: {after_open:?}");
    assert!(after_open.entries <= before.entries - INDEX_STEP.max_entries as u64, "{after_open:?} of {before:?}");
    assert!(after_open.estimated_calls > 0);
    for _ in 0..10 {
        store.index_step().unwrap();
    }
    assert_eq!(store.backlog().entries, 0);
}

#[test]
fn a_one_shot_command_indexes_the_whole_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_backlog(dir.path(), "local/backlog-cli", CALLS);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weave"))
        .args(["--store", path.to_str().unwrap(), "calls", "--op", "step", "--limit", "1000", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let calls: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(calls.as_array().map(Vec::len), Some(CALLS as usize));
}
