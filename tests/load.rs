//! Load: many concurrent traced tasks keep every parent link; an overflowing queue drops
//! calls that are counted exactly and all land in the fallback file (or, past its
//! rotation, are counted as lost); several processes write to one local store at once.
//! Every report is checked against the files (`accounting::assert_accounted`).

#[path = "../weave-exporter/tests/accounting/mod.rs"]
mod accounting;
mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weave::export::{ExportItem, ExporterConfig, Sink, SinkError};
use weave::testing::{capture, CapturedCall};
use weave::FlushReport;

const TASKS: u64 = 10_000;

/// The client is process-wide: these tests take turns.
static ONE_AT_A_TIME: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

#[weave::op]
fn sync_leaf(task: u64, depth: u64) -> u64 {
    task + depth
}

#[weave::op]
async fn async_middle(task: u64) -> u64 {
    tokio::task::yield_now().await;
    sync_leaf(task, 2)
}

#[weave::op]
async fn spawned_child(task: u64) -> u64 {
    tokio::task::yield_now().await;
    sync_leaf(task, 3)
}

#[weave::op]
async fn task_root(task: u64) -> u64 {
    let a = sync_leaf(task, 1);
    let b = async_middle(task).await;
    let c = weave::spawn(spawned_child(task)).await.expect("the spawned child");
    a + b + c
}

fn task_of(call: &CapturedCall) -> u64 {
    call.inputs()["task"].as_u64().expect("every op takes the task number")
}

#[test]
fn ten_thousand_concurrent_tasks_keep_every_parent_link() {
    let _turn = ONE_AT_A_TIME.lock();
    let cap = capture();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let handles: Vec<_> = (0..TASKS).map(|task| tokio::spawn(task_root(task))).collect();
        for (task, handle) in handles.into_iter().enumerate() {
            let task = task as u64;
            assert_eq!(handle.await.expect("task"), 3 * task + 6);
        }
    });
    let calls = cap.calls();
    // Per task: the root, a leaf, the middle and its leaf, the spawned child and its leaf.
    assert_eq!(calls.len() as u64, TASKS * 6, "no call lost or duplicated");
    let by_id: HashMap<&str, &CapturedCall> = calls.iter().map(|c| (c.id(), c)).collect();
    assert_eq!(by_id.len(), calls.len(), "ids are unique");
    let mut per_task: HashMap<u64, Vec<&CapturedCall>> = HashMap::new();
    for call in &calls {
        per_task.entry(task_of(call)).or_default().push(call);
    }
    assert_eq!(per_task.len() as u64, TASKS);
    for (task, calls) in per_task {
        let root = calls.iter().find(|c| c.op_name() == "task_root").expect("a root per task");
        assert_eq!(root.parent_id(), None);
        assert_eq!(root.summary()["status_counts"]["success"], 6, "task {task}: the subtree is summed");
        for call in calls.iter().filter(|c| c.op_name() != "task_root") {
            assert_eq!(call.trace_id(), root.trace_id(), "task {task}: {} is in the root's trace", call.op_name());
            let parent = by_id[call.parent_id().expect("every non-root has a parent")];
            assert_eq!(task_of(parent), task, "task {task}: the parent is of the same task");
            let expected_parent = match (call.op_name(), call.inputs()["depth"].as_u64()) {
                ("sync_leaf", Some(1)) | ("async_middle", _) | ("spawned_child", _) => "task_root",
                ("sync_leaf", Some(2)) => "async_middle",
                ("sync_leaf", Some(3)) => "spawned_child",
                other => panic!("unexpected call {other:?}"),
            };
            assert_eq!(parent.op_name(), expected_parent, "task {task}: parent of {}", call.op_name());
        }
    }
}

/// A sink that records call ids and takes its time, so that a small queue overflows.
struct SlowRecordingSink {
    ids: Arc<parking_lot::Mutex<Vec<String>>>,
}

impl Sink for SlowRecordingSink {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        std::thread::sleep(Duration::from_millis(2));
        let mut ids = self.ids.lock();
        for item in batch {
            if let Some(record) = weave::export::record_of(item) {
                ids.push(record.start.id.to_string());
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        "a slow recording sink".to_string()
    }
}

#[weave::op]
fn hot(thread: u64, i: u64) -> u64 {
    thread ^ i
}

/// `threads` × `per_thread` calls into a queue of 1,000 in front of a slow sink, with the
/// fallback file at `fallback` and the rest of `config`. Returns the report and the ids the
/// sink wrote.
fn overflow(threads: u64, per_thread: u64, fallback: &Path, config: ExporterConfig) -> (FlushReport, Vec<String>) {
    let ids = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let weave = weave::builder()
        .project("load/overflow")
        .settings(weave::Settings { max_calls_queue_size: 1_000, print_call_link: false, ..Default::default() })
        .sink(SlowRecordingSink { ids: ids.clone() })
        .exporter_config(ExporterConfig { fallback_path: fallback.to_path_buf(), ..config })
        .init()
        .expect("init");
    let threads: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    assert_eq!(hot(t, i), t ^ i);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    let report = weave.finish();
    let written = ids.lock().clone();
    (report, written)
}

#[test]
fn an_overflowing_queue_counts_every_dropped_call_and_writes_all_of_them_to_the_fallback_file() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 200_000;
    const TOTAL: u64 = THREADS * PER_THREAD;
    let _turn = ONE_AT_A_TIME.lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let fallback = dir.path().join("dropped.jsonl");
    // Nothing may be lost: when the fallback file falls behind, the application waits.
    let config = ExporterConfig { write_inline_when_fallback_behind: true, ..Default::default() };
    let (report, written) = overflow(THREADS, PER_THREAD, &fallback, config);
    assert!(report.completed, "{report:?}");
    assert!(report.dropped > 0, "the queue overflowed: {report:?}");
    assert_eq!(report.written + report.dropped, TOTAL, "every call is written or counted as dropped: {report:?}");
    assert_eq!(report.failed, 0);
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(written.len() as u64, report.written);

    // The file rotates at 512 MiB: the rotated files are read too.
    let files = accounting::assert_accounted(TOTAL, &report, &fallback);
    assert_eq!(files.reasons.get("queue_full").copied(), Some(report.dropped), "{:?}", files.reasons);
    assert_eq!(files.kinds.get("call_finished").copied(), Some(report.dropped), "{:?}", files.kinds);
    assert_eq!(files.call_ids.len() as u64, report.dropped, "the fallback file holds exactly the dropped calls");
    accounting::assert_nowhere_twice(&written, &files);
    let all: HashSet<&String> = written.iter().chain(&files.call_ids).collect();
    assert_eq!(all.len() as u64, TOTAL, "written and dropped calls are distinct and cover every call");
}

#[test]
fn an_overflow_past_the_fallback_files_rotation_counts_every_call_it_discards() {
    const THREADS: u64 = 2;
    const PER_THREAD: u64 = 100_000;
    const TOTAL: u64 = THREADS * PER_THREAD;
    let _turn = ONE_AT_A_TIME.lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let fallback = dir.path().join("dropped.jsonl");
    // Files of 1 MiB: the overflow rotates them many times (and the file may fall behind).
    let config = ExporterConfig { fallback_max_bytes: 1024 * 1024, ..Default::default() };
    let (report, written) = overflow(THREADS, PER_THREAD, &fallback, config);
    assert!(report.completed, "{report:?}");
    assert!(report.rotated_out > 0, "the rotation discarded calls: {report:?}");
    assert_eq!(report.pending, 0, "{report:?}");
    let files = accounting::assert_accounted(TOTAL, &report, &fallback);
    assert_eq!(written.len() as u64, report.written);
    accounting::assert_nowhere_twice(&written, &files);
}

const PROCESSES: u64 = 4;
const CALLS_PER_PROCESS: u64 = 5_000;

#[weave::op]
fn in_process(process: u64, i: u64) -> u64 {
    process * 1_000_000 + i
}

/// A child process of the multi-process test: writes its calls into the shared store.
#[test]
fn load_child_entry() {
    if support::scenario().as_deref() != Some("write_shared_store") {
        return;
    }
    let process: u64 = std::env::var("WEAVE_TEST_PROCESS").ok().and_then(|p| p.parse().ok()).expect("process number");
    let weave = weave::builder()
        .project("load/shared")
        .exporter_config(ExporterConfig { max_batch_items: 100, ..Default::default() })
        .init()
        .expect("init");
    for i in 0..CALLS_PER_PROCESS {
        assert_eq!(in_process(process, i), process * 1_000_000 + i);
    }
    let report = weave.finish();
    assert!(report.completed && report.failed == 0 && report.dropped == 0, "{report:?}");
    accounting::assert_accounted(CALLS_PER_PROCESS, &report, Path::new(weave::DEFAULT_FALLBACK_PATH));
}

#[test]
fn several_processes_write_to_one_local_store_at_once_and_nothing_is_lost() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("shared.db");
    let store_var = store.to_string_lossy().into_owned();
    let children: Vec<_> = (0..PROCESSES)
        .map(|process| {
            let dir = dir.path().to_path_buf();
            let store_var = store_var.clone();
            std::thread::spawn(move || {
                let number = process.to_string();
                support::run_scenario(
                    "load_child_entry",
                    "write_shared_store",
                    &dir,
                    &[
                        ("WEAVE_LOCAL_STORE_PATH", store_var.as_str()),
                        ("WEAVE_TEST_PROCESS", number.as_str()),
                        ("WEAVE_PRINT_CALL_LINK", "false"),
                    ],
                )
            })
        })
        .collect();
    // A reader reads while they write.
    let mut reads = 0;
    while !children.iter().all(|c| c.is_finished()) {
        if let Ok(reader) = weave::store::LocalStore::open(&store) {
            reader.count_calls(None).expect("reading while others write");
            reads += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for child in children {
        let output = child.join().expect("child thread");
        support::assert_exit_code(&output, 0, "a writer process");
        let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
        assert!(!stderr.contains("locked") && !stderr.contains("busy"), "{stderr}");
    }
    let reader = weave::store::LocalStore::open(&store).expect("the store");
    // Each writer left up to a few batches un-indexed (a query indexes a bounded part):
    // index them all before checking.
    reader.index_calls().expect("indexing the rest of the log");
    let query = weave::store::CallQuery { op_name: Some("in_process".into()), ..Default::default() };
    let calls = reader.calls(&query).expect("query");
    let ids: HashSet<&str> = calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(calls.len() as u64, PROCESSES * CALLS_PER_PROCESS, "every call of every process, once");
    assert_eq!(ids.len(), calls.len());
    eprintln!("{reads} reads while writing");
}
