//! The viewer indexes a large call-log backlog in bounded steps (a page never waits for
//! all of it) and says how many calls are not shown yet; one-shot commands index it within
//! a bound too (all of a small one) and say what is left; a store that cannot be written
//! shows its unindexed calls all the same.

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
    let note = store.indexing_note().unwrap().unwrap();
    assert!(note.starts_with("indexing ") && note.contains("% done: about "), "{note}");
    for _ in 0..10 {
        store.index_step().unwrap();
    }
    assert_eq!(store.backlog().entries, 0);
    assert_eq!(store.indexing_note().unwrap(), None);
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

/// `weave calls --op step` on the store at `path`, with more arguments; (stdout's calls,
/// stderr).
fn weave_calls(path: &Path, more: &[&str]) -> (usize, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weave"))
        .args(["--store", path.to_str().unwrap(), "calls", "--op", "step", "--limit", "1000", "--format", "json"])
        .args(more)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let calls: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (calls.as_array().map_or(0, Vec::len), stderr)
}

#[test]
fn a_one_shot_command_indexes_a_bounded_part_of_a_huge_backlog_and_says_how_far_it_is() {
    // A log far larger than the bound (as the soak's 10.5 GB one was than 2.5 minutes of
    // indexing): the command answers after 16 entries, and says what is not shown.
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_backlog(dir.path(), "local/backlog-bounded", CALLS);
    let entries = LocalStore::open_read_only(&path).unwrap().index_backlog().unwrap().entries;
    assert!(entries >= CALLS, "one entry per call: {entries}");
    let (shown, stderr) = weave_calls(&path, &["--index-entries", "16"]);
    assert_eq!(shown, 16, "the entries indexed, one call each");
    let left = LocalStore::open_read_only(&path).unwrap().index_backlog().unwrap();
    assert_eq!(left.entries, entries - 16, "no more indexed than the bound");
    let percent = 16 * 100 / (16 + left.estimated_calls);
    assert!(
        stderr.contains(&format!(
            "indexing {percent}% done: about {} calls written are not shown yet",
            left.estimated_calls
        )),
        "{stderr}"
    );
    // Each command goes on where the last stopped, and once all is indexed it says nothing.
    let mut runs = 1;
    loop {
        let (shown, stderr) = weave_calls(&path, &["--index-entries", "16"]);
        runs += 1;
        assert_eq!(shown as u64, CALLS.min(16 * runs), "run {runs}");
        if shown as u64 == CALLS {
            let left = LocalStore::open_read_only(&path).unwrap().index_backlog().unwrap();
            if left.is_empty() {
                assert!(!stderr.contains("indexing"), "{stderr}");
                break;
            }
        }
        assert!(stderr.contains("% done"), "run {runs}: {stderr}");
        assert!(runs < 20, "the backlog shrinks with each command");
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// Issue 18: "could not index the call log: attempt to write a readonly database". The
/// store's files and directory are read-only and the command runs as `nobody` (root writes
/// whatever the permissions say; skipped, saying so, without `setpriv`).
#[cfg(unix)]
#[test]
fn a_one_shot_command_on_a_read_only_store_shows_its_unindexed_calls_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    set_mode(dir.path(), 0o755);
    let store_dir = dir.path().join("store");
    std::fs::create_dir(&store_dir).unwrap();
    let path = store_with_backlog(&store_dir, "local/read-only", 20);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&store_dir).unwrap() {
        let file = entry.unwrap().path();
        set_mode(&file, 0o444);
        files.push((file.clone(), std::fs::read(&file).unwrap()));
    }
    set_mode(&store_dir, 0o555);
    // The command, run as `nobody` when this runs as root.
    let mut prefix: Vec<&str> = Vec::new();
    if is_root() {
        let Some(setpriv) = ["/usr/bin/setpriv", "/bin/setpriv"].into_iter().find(|p| Path::new(p).exists()) else {
            eprintln!("SKIPPED: running as root and setpriv is not installed: cannot run as an unprivileged user");
            set_mode(&store_dir, 0o755);
            return;
        };
        prefix = vec![setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"];
    }
    prefix.push(env!("CARGO_BIN_EXE_weave"));
    for args in [&["calls", "--op", "step"][..], &["calls", "--roots"][..]] {
        let out = std::process::Command::new(prefix[0])
            .args(&prefix[1..])
            .args(["--store", path.to_str().unwrap()])
            .args(args)
            .args(["--limit", "1000", "--format", "json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        let calls: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(calls.as_array().map(Vec::len), Some(20), "{args:?}: every call written; {stderr}");
        assert!(!stderr.contains("indexing"), "every call shown: {stderr}");
    }
    for (file, before) in &files {
        assert_eq!(&std::fs::read(file).unwrap(), before, "{} was not written", file.display());
    }
    set_mode(&store_dir, 0o755);
}
