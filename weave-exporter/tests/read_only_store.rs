//! A store that cannot be written (issue 18: "could not index the call log: attempt to
//! write a readonly database"): its files and directory are made read-only and it is
//! opened as the viewer and the `weave` command open it ([`LocalStore::open`]), by an
//! unprivileged user. Root writes whatever the permissions say, so when the tests run as
//! root the queries run in a child process (this test binary again, one test selected)
//! started as `nobody` through `setpriv`; without `setpriv` the test says so and is
//! skipped.
//!
//! What must hold: the queries succeed, they find the calls still in the unindexed call
//! log (read from the log into the connection's memory, nothing written), a finish logged
//! after its start was indexed wins, and the files are left byte for byte as they were.
#![cfg(unix)]

mod common;

use common::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use weave_core::time::Timestamp;
use weave_exporter::local_store::{CallQuery, IndexBudget, LocalStore, Status, StoreErrorKind};
use weave_exporter::Sink;

/// The variable that tells the child test which store to query.
const STORE_VAR: &str = "WEAVE_TEST_READ_ONLY_STORE";

/// The test the child process runs.
const CHILD_TEST: &str = "queries_of_a_read_only_store_as_an_unprivileged_user";

fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_micros(1_795_790_038_000_000 + ms * 1000)
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A new store at `path` whose writes are only logged: it indexes when told to.
fn writer_that_does_not_index(path: &Path) -> LocalStore {
    let mut store = LocalStore::create(path, PROJECT).unwrap();
    store.set_max_backlog(None);
    store
}

/// A store with an indexed part (a root whose child is still running) and an unindexed
/// part (that child's finish, and 3 batches of 10 calls of `late`), its files read-only
/// and its directory given `dir_mode`. Returns the store's path and its files' contents.
fn read_only_store(dir: &Path, dir_mode: u32) -> (PathBuf, Vec<(PathBuf, Vec<u8>)>) {
    set_mode(dir, 0o755);
    let store_dir = dir.join("store");
    let path = store_dir.join("weave.db");
    let mut store = writer_that_does_not_index(&path);
    let root = start(&op("answer"), None, json!({"q": "?"}), t(0));
    let child = start(&op("lookup"), Some(&root), json!({}), t(1));
    store.write_batch(&[started(&child), finished(&root, end(t(20), None, None, 0))]).unwrap();
    store.index_calls().unwrap();
    store.write_batch(&[finished(&child, end(t(10), Some(json!("found")), None, 0))]).unwrap();
    let late = op("late");
    for b in 0..3 {
        let batch: Vec<_> = (0..10).map(|i| small_call(&late, b * 10 + i)).collect();
        store.write_batch(&batch).unwrap();
    }
    drop(store);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&store_dir).unwrap() {
        let file = entry.unwrap().path();
        set_mode(&file, 0o444);
        files.push((file.clone(), std::fs::read(&file).unwrap()));
    }
    set_mode(&store_dir, dir_mode);
    (path, files)
}

/// The queries, run by a user who cannot write the store.
fn query_read_only(path: &Path) {
    let store = LocalStore::open(path).unwrap();
    assert!(store.is_read_only(), "the file cannot be written: opened read-only");
    assert_eq!(store.count_calls(None).unwrap(), 32, "2 indexed calls and 30 still in the log");
    let late = store.calls(&CallQuery { op_name: Some("late".into()), ..CallQuery::default() }).unwrap();
    assert_eq!(late.len(), 30);
    let roots = store.calls(&CallQuery { roots_only: true, newest_first: true, ..CallQuery::default() }).unwrap();
    assert_eq!(roots.len(), 31);
    let answer = roots.iter().find(|c| c.op_base_name == "answer").unwrap();
    let trace = store.trace(&answer.trace_id).unwrap();
    assert_eq!(trace.len(), 2);
    let lookup = trace.iter().find(|c| c.op_base_name == "lookup").unwrap();
    assert_eq!(lookup.status(), Status::Success, "its logged finish replaces its indexed start");
    assert_eq!(lookup.output, json!("found"));
    assert_eq!(store.children(&answer.id).unwrap().len(), 1);
    assert!(store.render_tree(&answer.trace_id).unwrap().contains("lookup"));
    assert_eq!(store.projects().unwrap(), vec![PROJECT.to_string()]);
    assert!(store.index_backlog().unwrap().is_empty(), "every logged call is seen by the queries");
    // Indexing, which writes, is refused as such (not as a SQLite error).
    assert_eq!(store.index_calls().unwrap_err().kind(), StoreErrorKind::ReadOnly);
    // Opened read-only on purpose: the same.
    let reader = LocalStore::open_read_only(path).unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), 32);
}

#[test]
fn queries_of_a_read_only_store_as_an_unprivileged_user() {
    // Run by the parent test below (in a child process, as `nobody`); alone, nothing to do.
    if let Ok(path) = std::env::var(STORE_VAR) {
        query_read_only(Path::new(&path));
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

fn setpriv() -> Option<PathBuf> {
    ["/usr/bin/setpriv", "/bin/setpriv"].iter().map(PathBuf::from).find(|p| p.exists())
}

#[test]
fn a_read_only_store_is_queried_with_its_unindexed_calls_and_left_unchanged() {
    // The directory read-only too, or one anybody may write to (SQLite could add files).
    for dir_mode in [0o555, 0o777] {
        query_as_unprivileged_user(dir_mode);
    }
}

fn query_as_unprivileged_user(dir_mode: u32) {
    let dir = tempfile::tempdir().unwrap();
    let (path, files) = read_only_store(dir.path(), dir_mode);
    if is_root() {
        let Some(setpriv) = setpriv() else {
            eprintln!("SKIPPED: running as root and setpriv is not installed: cannot query as an unprivileged user");
            return;
        };
        let out = std::process::Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(STORE_VAR, &path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "directory {dir_mode:o}: the child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("1 passed"), "the child ran the queries:\n{stdout}");
    } else {
        query_read_only(&path);
    }
    for (file, before) in &files {
        assert_eq!(&std::fs::read(file).unwrap(), before, "{} was not written", file.display());
    }
    assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), files.len(), "no file was added");
    set_mode(path.parent().unwrap(), 0o755);
}

#[test]
fn a_read_only_reader_sees_what_a_writer_indexes_after_it_read_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weave.db");
    let mut writer = writer_that_does_not_index(&path);
    let call = start(&op("slow"), None, json!({}), t(0));
    writer.write_batch(&[started(&call)]).unwrap();
    let reader = LocalStore::open_read_only(&path).unwrap();
    let running = reader.calls(&CallQuery::default()).unwrap();
    assert_eq!((running.len(), running[0].status()), (1, Status::Running), "the start, read from the log");
    // The writer logs the finish and indexes both entries: the reader's copy of the start
    // must not hide the finished row.
    writer.write_batch(&[finished(&call, end(t(5), Some(json!(1)), None, 0))]).unwrap();
    writer.index_calls().unwrap();
    let done = reader.calls(&CallQuery::default()).unwrap();
    assert_eq!((done.len(), done[0].status(), done[0].output.clone()), (1, Status::Success, json!(1)));
    // More logged and not indexed: read on top of the indexed rows again.
    writer.write_batch(&[small_call(&op("next"), 1)]).unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), 2);
    assert!(reader.index_backlog().unwrap().is_empty());
}

#[test]
fn a_read_only_reader_leaves_the_log_to_a_writer_that_is_indexing_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weave.db");
    let mut writer = writer_that_does_not_index(&path);
    for i in 0..4 {
        writer.write_batch(&[small_call(&op("logged"), i)]).unwrap();
    }
    let reader = LocalStore::open_read_only(&path).unwrap();
    // Nothing indexed, no writer seen at work: the reader reads the log itself.
    assert_eq!(reader.count_calls(None).unwrap(), 4);
    assert!(reader.index_backlog().unwrap().is_empty());
    // A writer indexes the first entry: the reader drops what it read (its copy could hide
    // newer rows) and does not read the rest again, which the writer is indexing.
    writer.index_some(IndexBudget { max_entries: 1, max_time: Duration::from_secs(60) }).unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), 1, "what the writer indexed");
    assert_eq!(reader.index_backlog().unwrap().entries, 3, "the rest, reported as the backlog");
    // The log's first entry has not moved since: the writer may be between two of its
    // transactions, and is left to it for a second after the reader last saw it move.
    assert_eq!(reader.count_calls(None).unwrap(), 1, "the writer is still given the log");
    assert_eq!(reader.index_backlog().unwrap().entries, 3);
    // The writer stopped (the first entry stayed where it is for longer): the reader reads
    // the log again.
    std::thread::sleep(Duration::from_millis(1_100));
    assert_eq!(reader.count_calls(None).unwrap(), 4);
    assert!(reader.index_backlog().unwrap().is_empty());
    // The writer indexes it all: the reader reads nothing, and sees every call.
    writer.index_calls().unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), 4);
    writer.write_batch(&[small_call(&op("logged"), 4)]).unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), 5, "new entries after an empty log are read");
}
