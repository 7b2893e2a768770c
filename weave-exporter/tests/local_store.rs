//! The embedded local store: writes, queries, the tree rendering, concurrent writers.

mod common;

use common::*;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weave_core::call::{CallAttributes, CallRecord, CallStart};
use weave_core::capture::RawJson;
use weave_core::export::{ExportItem, Exporter};
use weave_core::ids::Id;
use weave_core::summary::Summary;
use weave_core::time::Timestamp;
use weave_exporter::local_store::{
    CallQuery, IndexBacklog, IndexBudget, LocalStore, Status, StoreErrorKind, DEFAULT_MAX_BACKLOG,
};
use weave_exporter::{ExporterConfig, QueueExporter, Sink};

fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_micros(1_795_790_038_000_000 + ms * 1000)
}

fn store(dir: &tempfile::TempDir) -> (LocalStore, std::path::PathBuf) {
    let path = dir.path().join(".weave").join("weave.db");
    (LocalStore::create(&path, PROJECT).unwrap(), path)
}

#[test]
fn a_complete_call_round_trips_with_all_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let op = op("answer");
    let parent = start(&op, None, json!({}), t(0));
    let weave_attrs = weave_attributes(json!({"client_version": "0.1.0", "source": "rust-sdk"}));
    let call = Arc::new(CallStart {
        id: Id::new_v7(t(1).unix_millis()),
        trace_id: parent.trace_id,
        parent_id: Some(parent.id),
        op: op.clone().into(),
        started_at: t(1),
        inputs: RawJson::from_value(&json!({"question": "why?", "n": 3})),
        attributes: CallAttributes {
            user: user_attributes(json!({"env": "test"})),
            weave: weave_attrs,
            kind: Some("agent"),
        },
        display_name: Some("start name".to_string()),
        thread_id: Some(Arc::from("thread-1")),
        turn_id: Some(parent.id),
        wb_run_id: Some("e/p/run1"),
    });
    let usage = json!({"usage": {"gpt-4o": {"requests": 1, "prompt_tokens": 3}}, "note": "hi"});
    let end = weave_core::call::CallEnd {
        ended_at: t(13),
        output: Some(RawJson::from_value(&json!({"answer": 42}))),
        exception: None,
        summary: Summary { success: 1, error: 0, rest: usage.as_object().cloned().map(Box::new) },
        display_name: Some("final name".to_string()),
    };
    store.write_batch(&[finished(&call, end)]).unwrap();

    let reader = LocalStore::open(&path).unwrap();
    let stored = reader.call(&call.id.to_string()).unwrap().expect("the call");
    assert_eq!(stored.project_id, PROJECT);
    assert_eq!(stored.id, call.id.to_string());
    assert_eq!(stored.trace_id, parent.trace_id.to_string());
    assert_eq!(stored.parent_id, Some(parent.id.to_string()));
    assert_eq!(stored.op_name, op.ref_uri(PROJECT));
    assert_eq!(stored.op_base_name, "answer");
    assert_eq!(stored.display_name.as_deref(), Some("final name"));
    assert_eq!(stored.thread_id.as_deref(), Some("thread-1"));
    assert_eq!(stored.turn_id, Some(parent.id.to_string()));
    assert_eq!(stored.started_at, t(1));
    assert_eq!(stored.ended_at, Some(t(13)));
    assert_eq!(
        stored.attributes,
        json!({"env": "test", "weave": {"client_version": "0.1.0", "source": "rust-sdk", "kind": "agent"}})
    );
    assert_eq!(stored.inputs, json!({"question": "why?", "n": 3}));
    assert_eq!(stored.output, json!({"answer": 42}));
    assert_eq!(stored.exception, None);
    assert_eq!(stored.wb_run_id.as_deref(), Some("e/p/run1"));
    assert_eq!(
        stored.summary,
        json!({
            "usage": {"gpt-4o": {"requests": 1, "prompt_tokens": 3}},
            "note": "hi",
            "status_counts": {"success": 1, "error": 0},
            "weave": {"status": "success", "latency_ms": 12, "trace_name": "final name", "display_name": "final name"}
        })
    );
    assert_eq!(stored.status(), Status::Success);
    assert_eq!(stored.latency(), Some(Duration::from_millis(12)));
    assert_eq!(stored.to_json()["started_at"], t(1).to_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn an_eager_start_then_its_finish_updates_the_row_without_duplicating_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let op = op("evaluate");
    let call = start(&op, None, json!({"model": "m"}), t(0));
    store.write_batch(&[started(&call)]).unwrap();
    let reader = LocalStore::open(&path).unwrap();
    let running = reader.call(&call.id.to_string()).unwrap().unwrap();
    assert_eq!(running.status(), Status::Running);
    assert_eq!(running.ended_at, None);
    assert_eq!(running.summary["weave"]["status"], "running");
    assert_eq!(running.latency(), None);

    store.write_batch(&[finished(&call, end(t(40), Some(json!("done")), None, 0))]).unwrap();
    let done = reader.call(&call.id.to_string()).unwrap().unwrap();
    assert_eq!(done.status(), Status::Success);
    assert_eq!(done.ended_at, Some(t(40)));
    assert_eq!(done.output, json!("done"));
    assert_eq!(reader.count_calls(Some(PROJECT)).unwrap(), 1);

    // A start arriving again (or an unfinished record) does not undo the finish.
    store.write_batch(&[started(&call), unfinished(&call)]).unwrap();
    assert_eq!(reader.call(&call.id.to_string()).unwrap().unwrap().status(), Status::Success);
    assert_eq!(reader.count_calls(None).unwrap(), 1);
}

#[test]
fn a_start_and_its_finish_in_the_same_batch_make_one_finished_row() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let call = start(&op("f"), None, json!({}), t(0));
    store.write_batch(&[started(&call), finished(&call, end(t(1), None, None, 0))]).unwrap();
    let reader = LocalStore::open(&path).unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), 1);
    assert_eq!(reader.call(&call.id.to_string()).unwrap().unwrap().status(), Status::Success);
}

#[test]
fn an_unfinished_call_is_stored_as_running() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let call = start(&op("stuck"), None, json!({"x": 1}), t(0));
    store.write_batch(&[unfinished(&call)]).unwrap();
    let stored = LocalStore::open(&path).unwrap().call(&call.id.to_string()).unwrap().unwrap();
    assert_eq!(stored.status(), Status::Running);
    assert_eq!(stored.inputs, json!({"x": 1}));
    assert_eq!(stored.output, serde_json::Value::Null);
}

#[test]
fn errors_and_descendant_errors_get_their_status() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let root = start(&op("root"), None, json!({}), t(0));
    let child = start(&op("tool"), Some(&root), json!({}), t(1));
    store
        .write_batch(&[
            finished(&child, end(t(2), None, Some("boom"), 0)),
            finished(&root, end(t(3), Some(json!(1)), None, 1)),
        ])
        .unwrap();
    let reader = LocalStore::open(&path).unwrap();
    let child = reader.call(&child.id.to_string()).unwrap().unwrap();
    assert_eq!(child.status(), Status::Error);
    assert_eq!(child.exception_message().as_deref(), Some("boom"));
    assert_eq!(child.summary["weave"]["status"], "error");
    let root = reader.call(&root.id.to_string()).unwrap().unwrap();
    assert_eq!(root.status(), Status::DescendantError);
    assert_eq!(root.summary["weave"]["status"], "descendant_error");
}

#[test]
fn ops_are_saved_once_with_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let a = op("alpha");
    let b = op("beta");
    let batch: Vec<ExportItem> = (0..10).map(|i| small_call(if i % 2 == 0 { &a } else { &b }, i)).collect();
    store.write_batch(&batch).unwrap();
    store.write_batch(&[small_call(&a, 99)]).unwrap();
    // Another store (another process) saving the same op does not duplicate it.
    let mut other = LocalStore::create(&path, PROJECT).unwrap();
    other.write_batch(&[small_call(&a, 100)]).unwrap();

    let reader = LocalStore::open(&path).unwrap();
    let ops = reader.ops(Some(PROJECT)).unwrap();
    let names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, vec!["alpha", "beta"]);
    assert_eq!(ops[0].digest, a.digest());
    assert_eq!(ops[0].file_digest.as_deref(), Some(a.file_digest()));
    assert_eq!(ops[0].source.as_deref(), Some(a.source_file()));
    assert_eq!(ops[0].ref_uri(), a.ref_uri(PROJECT));
    assert!(ops[0].created_at.is_some());
    let beta = reader.op_source("beta", b.digest()).unwrap();
    assert_eq!(beta.as_deref(), Some(b.source_file()));
    assert_eq!(beta.as_deref().and_then(weave_core::op::rust_source).as_deref(), Some("fn beta() {}\n"));
    assert_eq!(reader.op_source("beta", "nope").unwrap(), None);
    assert!(reader.ops(Some("other/project")).unwrap().is_empty());
}

/// root ─┬─ retrieve
///       ├─ search (error)
///       └─ summarize ── llm
fn write_a_trace(store: &mut LocalStore, base: i64) -> (Arc<CallStart>, Vec<Arc<CallStart>>) {
    let root = start(&op("answer"), None, json!({"q": "?"}), t(base));
    let retrieve = start(&op("retrieve"), Some(&root), json!({}), t(base + 1));
    let search = start(&op("search"), Some(&root), json!({}), t(base + 2));
    let summarize = start(&op("summarize"), Some(&root), json!({}), t(base + 3));
    let llm = start(&op("llm"), Some(&summarize), json!({}), t(base + 4));
    store
        .write_batch(&[
            finished(&retrieve, end(plus(t(base + 1), 400), None, None, 0)),
            finished(&search, end(t(base + 2), None, Some("offline\nsecond line"), 0)),
            finished(&llm, end(t(base + 10), None, None, 0)),
            finished(&summarize, end(t(base + 11), None, None, 0)),
            finished(&root, end(plus(t(base + 12), 300), None, None, 1)),
        ])
        .unwrap();
    (root.clone(), vec![root, retrieve, search, summarize, llm])
}

fn plus(t: Timestamp, micros: i64) -> Timestamp {
    Timestamp::from_unix_micros(t.unix_micros() + micros)
}

#[test]
fn calls_can_be_queried_by_trace_op_roots_and_children() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let (root, calls) = write_a_trace(&mut store, 0);
    let (other_root, _) = write_a_trace(&mut store, 100);
    let reader = LocalStore::open(&path).unwrap();
    let trace = reader.trace(&root.trace_id.to_string()).unwrap();
    let ids: Vec<String> = trace.iter().map(|c| c.id.clone()).collect();
    let expected: Vec<String> = calls.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(ids, expected, "all calls of the trace, in start order");

    let roots = reader.calls(&CallQuery { roots_only: true, ..Default::default() }).unwrap();
    assert_eq!(roots.len(), 2);
    assert!(roots.iter().all(|c| c.is_root() && c.op_base_name == "answer"));
    let newest =
        reader.calls(&CallQuery { roots_only: true, newest_first: true, limit: Some(1), ..Default::default() });
    assert_eq!(newest.unwrap()[0].id, other_root.id.to_string());

    let children: Vec<String> =
        reader.children(&root.id.to_string()).unwrap().into_iter().map(|c| c.op_base_name).collect();
    assert_eq!(children, vec!["retrieve", "search", "summarize"]);

    let llms = reader.calls(&CallQuery { op_name: Some("llm".into()), ..Default::default() }).unwrap();
    assert_eq!(llms.len(), 2);
    let in_project = CallQuery {
        project_id: Some(PROJECT.into()),
        op_name: Some("llm".into()),
        offset: Some(1),
        ..Default::default()
    };
    assert_eq!(reader.calls(&in_project).unwrap().len(), 1);
    let elsewhere = CallQuery { project_id: Some("x/y".into()), ..Default::default() };
    assert!(reader.calls(&elsewhere).unwrap().is_empty());
    assert_eq!(reader.count_calls(None).unwrap(), 10);
    assert_eq!(reader.projects().unwrap(), vec![PROJECT.to_string()]);
    assert_eq!(reader.call("not-an-id").unwrap(), None);
}

#[test]
fn a_trace_renders_as_an_indented_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let (root, _) = write_a_trace(&mut store, 0);
    let reader = LocalStore::open(&path).unwrap();
    let tree = reader.render_tree(&root.trace_id.to_string()).unwrap();
    assert_eq!(
        tree,
        "✓ answer 12.3 ms (1 error below)\n\
         \x20 ✓ retrieve 0.4 ms\n\
         \x20 ✗ search 0.0 ms: offline…\n\
         \x20 ✓ summarize 8.0 ms\n\
         \x20   ✓ llm 6.0 ms\n"
    );
    let lines = reader.trace_tree(&root.trace_id.to_string()).unwrap();
    let depths: Vec<usize> = lines.lines().iter().map(|l| l.depth).collect();
    assert_eq!(depths, vec![0, 1, 1, 1, 2]);
}

#[test]
fn a_running_call_and_an_orphan_render_too() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let root = start(&op("long"), None, json!({}), t(0));
    let missing_parent = start(&op("gone"), Some(&root), json!({}), t(1));
    let orphan = start(&op("orphan"), Some(&missing_parent), json!({}), t(2));
    store.write_batch(&[started(&root), finished(&orphan, end(t(1500), None, None, 0))]).unwrap();
    let tree = LocalStore::open(&path).unwrap().render_tree(&root.trace_id.to_string()).unwrap();
    assert_eq!(tree, "… long (running)\n✓ orphan 1.50 s\n");
}

#[test]
fn opening_a_missing_store_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let err = LocalStore::open(dir.path().join("nope.db")).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
    assert!(err.to_string().contains("nope.db"));
}

#[test]
fn a_store_opened_for_reading_refuses_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = store(&dir);
    let mut reader = LocalStore::open(&path).unwrap();
    let err = reader.write_batch(&[small_call(&op("f"), 0)]).unwrap_err();
    assert!(!err.retryable);
    assert_eq!(reader.describe(), format!("local store at {}", path.display()));
}

#[test]
fn two_writers_on_the_same_file_at_once_get_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared").join("weave.db");
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                // Both create the file and its tables at the same moment, then write.
                let mut store = LocalStore::create(&path, format!("entity/project{w}")).unwrap();
                let op = op("f");
                for _ in 0..40 {
                    let batch: Vec<ExportItem> = (0..100).map(|i| small_call(&op, i)).collect();
                    store.write_batch(&batch).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let reader = LocalStore::open(&path).unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), 8000);
    assert_eq!(reader.count_calls(Some("entity/project1")).unwrap(), 4000);
}

#[test]
fn the_queue_exporter_writes_into_the_local_store() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = store(&dir);
    let exporter = QueueExporter::start(Box::new(store), config(dir.path()));
    assert!(exporter.describe().starts_with("local store at "));
    let op = op("f");
    for i in 0..2500 {
        exporter.export(small_call(&op, i));
    }
    let report = exporter.shutdown(Duration::from_secs(10));
    assert!(report.completed);
    assert_eq!(report.written, 2500);
    assert_eq!(LocalStore::open(&path).unwrap().count_calls(Some(PROJECT)).unwrap(), 2500);
}

/// CPU time of this thread in ns (Linux; 0 elsewhere).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Write throughput of small calls in big batches. Run with
/// `cargo test --release -p weave-exporter --test local_store -- --ignored --nocapture`.
#[test]
#[ignore = "a benchmark: run it in release mode"]
fn write_throughput_of_small_calls() {
    let dir = tempfile::tempdir().unwrap();
    let op = op("small");
    let weave_attrs = weave_attributes(json!({"client_version": "0.1.0", "source": "rust-sdk", "os_name": "Linux"}));
    let make = |i: u64| {
        let started_at = Timestamp::now();
        let call = CallStart {
            attributes: CallAttributes { user: None, weave: weave_attrs, kind: None },
            ..Arc::try_unwrap(start(&op, None, json!({"a": i, "b": "hello"}), started_at)).unwrap()
        };
        ExportItem::CallFinished(Box::new(CallRecord {
            start: call,
            end: Some(end(plus(started_at, 3), Some(json!(i + 5)), None, 0)),
        }))
    };
    for batch_size in [1000usize, 10_000] {
        let mut store = LocalStore::create(dir.path().join(format!("bench{batch_size}.db")), PROJECT).unwrap();
        let total = 1_000_000usize;
        let batches: Vec<Vec<ExportItem>> = (0..total / batch_size)
            .map(|b| (0..batch_size).map(|i| make((b * batch_size + i) as u64)).collect())
            .collect();
        let t = Instant::now();
        let cpu = thread_cpu_ns();
        for batch in &batches {
            store.write_batch(batch).unwrap();
        }
        let secs = t.elapsed().as_secs_f64();
        let cpu_secs = (thread_cpu_ns() - cpu) as f64 / 1e9;
        println!(
            "local store: {total} calls in batches of {batch_size}: {secs:.2} s = {:.0} calls/s \
             ({:.0} calls per CPU-second of the writing thread, {:.2} us CPU per call)",
            total as f64 / secs,
            total as f64 / cpu_secs,
            cpu_secs * 1e6 / total as f64
        );
    }
    // End to end through the queue (export on this thread, the worker writing).
    let store = LocalStore::create(dir.path().join("queue.db"), PROJECT).unwrap();
    let exporter = QueueExporter::start(
        Box::new(store),
        ExporterConfig { max_queue_size: 0, max_batch_items: 10_000, ..config(dir.path()) },
    );
    let items: Vec<ExportItem> = (0..1_000_000).map(make).collect();
    let t = Instant::now();
    for item in items {
        exporter.export(item);
    }
    let report = exporter.shutdown(Duration::from_secs(120));
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(report.written, 1_000_000);
    println!("queue exporter + local store: 1000000 calls in {secs:.2} s = {:.0} calls/s", 1e6 / secs);
}

// ---- The call log: writes land in one blob per batch, indexed on read or when idle. ----

/// Every column of a call's raw `calls` row, as text (NULL as `None`).
fn raw_row(path: &std::path::Path, id: Id) -> Vec<Option<String>> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT project_id, id, trace_id, parent_id, op_name, op_base_name, display_name, thread_id, turn_id, \
         started_at, CAST(started_at_us AS TEXT), ended_at, CAST(ended_at_us AS TEXT), attributes, inputs, output, \
         exception, summary, wb_run_id FROM calls WHERE id = ?1",
        [id.to_string()],
        |r| (0..19).map(|i| r.get::<_, Option<String>>(i)).collect(),
    )
    .unwrap()
}

/// Rows of the call log not yet indexed, read without indexing them.
fn log_rows(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT COUNT(*) FROM call_log", [], |r| r.get(0)).unwrap()
}

fn some(s: impl Into<String>) -> Option<String> {
    Some(s.into())
}

#[test]
fn a_logged_batch_indexes_every_column_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let answer = op("answer");
    let tool = op("tool");
    let root = start(&answer, None, json!({}), t(0));
    let weave_attrs = weave_attributes(json!({"client_version": "0.1.0"}));
    let full = Arc::new(CallStart {
        id: Id::new_v7(t(1).unix_millis()),
        trace_id: root.trace_id,
        parent_id: Some(root.id),
        op: tool.clone().into(),
        started_at: plus(t(1), 123_456),
        inputs: RawJson::from_value(&json!({"q": "ünïcode \"quoted\"", "n": [1, 2]})),
        attributes: CallAttributes {
            user: user_attributes(json!({"env": "t"})),
            weave: weave_attrs,
            kind: Some("tool"),
        },
        display_name: Some("start name".to_string()),
        thread_id: Some(Arc::from("thread-1")),
        turn_id: Some(root.id),
        wb_run_id: Some("e/p/run1"),
    });
    let usage = json!({"usage": {"m": {"requests": 1}}});
    let full_end = weave_core::call::CallEnd {
        ended_at: plus(t(13), 7),
        output: Some(RawJson::from_value(&json!({"answer": 42}))),
        exception: None,
        summary: Summary { success: 1, error: 2, rest: usage.as_object().cloned().map(Box::new) },
        display_name: Some("final name".to_string()),
    };
    let failing = start(&tool, Some(&root), json!({"x": 1}), t(2));
    let running = start(&answer, None, json!({"r": true}), t(3));
    let stuck = start(&tool, Some(&running), json!({}), t(4));
    store
        .write_batch(&[
            started(&root),
            finished(&full, full_end),
            finished(&failing, end(t(5), None, Some("boom"), 0)),
            started(&running),
            unfinished(&stuck),
        ])
        .unwrap();
    assert_eq!(log_rows(&path), 1, "one batch, one blob");
    LocalStore::open(&path).unwrap().index_calls().unwrap();
    assert_eq!(log_rows(&path), 0);

    let ref_of = |op: &Arc<weave_core::op::OpDef>| some(op.ref_uri(PROJECT));
    let micros = |ts: Timestamp| some(ts.unix_micros().to_string());
    let attributes = r#"{"env":"t","weave":{"client_version":"0.1.0","kind":"tool"}}"#;
    assert_eq!(
        raw_row(&path, full.id),
        vec![
            some(PROJECT),
            some(full.id.to_string()),
            some(root.trace_id.to_string()),
            some(root.id.to_string()),
            ref_of(&tool),
            some("tool"),
            some("final name"),
            some("thread-1"),
            some(root.id.to_string()),
            some(plus(t(1), 123_456).to_string()),
            micros(plus(t(1), 123_456)),
            some(plus(t(13), 7).to_string()),
            micros(plus(t(13), 7)),
            some(attributes),
            some(r#"{"n":[1,2],"q":"ünïcode \"quoted\""}"#),
            some(r#"{"answer":42}"#),
            None,
            some(r#"{"usage":{"m":{"requests":1}},"status_counts":{"error":2,"success":1}}"#),
            some("e/p/run1"),
        ]
    );
    assert_eq!(some("2026-11-27T14:33:58.124456Z"), raw_row(&path, full.id)[9], "Weave's timestamp text");
    let failing_row = raw_row(&path, failing.id);
    assert_eq!(failing_row[3], some(root.id.to_string()));
    assert_eq!(failing_row[11], some(t(5).to_string()));
    assert_eq!(failing_row[15], None, "no output");
    assert_eq!(failing_row[16], some(r#"{"message":"boom","traceback":[],"type":"Error"}"#));
    assert_eq!(failing_row[17], some(r#"{"status_counts":{"success":0,"error":1}}"#));
    for (call, inputs) in [(&root, "{}"), (&running, r#"{"r":true}"#), (&stuck, "{}")] {
        let row = raw_row(&path, call.id);
        assert_eq!(row[1], some(call.id.to_string()));
        assert_eq!(row[3], call.parent_id.map(|p| p.to_string()));
        assert_eq!((row[6].as_deref(), row[7].as_deref(), row[8].as_deref()), (None, None, None));
        assert_eq!(row[9], some(call.started_at.to_string()));
        assert_eq!((&row[11], &row[12], &row[15], &row[16]), (&None, &None, &None, &None), "no end");
        assert_eq!(
            (row[13].as_deref(), row[14].as_deref(), row[17].as_deref()),
            (Some(r#"{"weave":{}}"#), Some(inputs), Some("{}"))
        );
        assert_eq!(row[18], None);
    }
}

#[test]
fn a_start_and_its_finish_in_different_blobs_end_as_one_finished_row() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let first = start(&op("f"), None, json!({}), t(0));
    let second = start(&op("g"), None, json!({}), t(1));
    store.write_batch(&[started(&first), started(&second)]).unwrap();
    store.write_batch(&[finished(&first, end(t(9), Some(json!("done")), None, 0))]).unwrap();
    // A late start (or unfinished record) after the finish does not undo it.
    store.write_batch(&[finished(&second, end(t(8), None, None, 0))]).unwrap();
    store.write_batch(&[started(&second), unfinished(&first)]).unwrap();
    assert_eq!(log_rows(&path), 4);
    let reader = LocalStore::open(&path).unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), 2);
    let done = reader.call(&first.id.to_string()).unwrap().unwrap();
    assert_eq!((done.status(), done.ended_at, done.output), (Status::Success, Some(t(9)), json!("done")));
    assert_eq!(reader.call(&second.id.to_string()).unwrap().unwrap().ended_at, Some(t(8)));
    assert_eq!(log_rows(&path), 0);
}

#[test]
fn unfinished_calls_are_logged_as_running_and_a_later_finish_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let stuck = start(&op("stuck"), None, json!({"x": 1}), t(0));
    let late = start(&op("late"), None, json!({}), t(1));
    store.write_batch(&[unfinished(&stuck), unfinished(&late)]).unwrap();
    store.write_batch(&[finished(&late, end(t(2), None, None, 0))]).unwrap();
    let reader = LocalStore::open(&path).unwrap();
    let stuck = reader.call(&stuck.id.to_string()).unwrap().unwrap();
    assert_eq!(
        (stuck.status(), stuck.inputs, stuck.output),
        (Status::Running, json!({"x": 1}), serde_json::Value::Null)
    );
    assert_eq!(reader.call(&late.id.to_string()).unwrap().unwrap().status(), Status::Success);
}

#[test]
fn two_writers_interleaving_their_blobs_are_applied_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, path) = store(&dir);
    let mut b = LocalStore::create(&path, "other/project").unwrap();
    let op = op("f");
    let calls: Vec<Arc<CallStart>> = (0..50).map(|i| start(&op, None, json!({ "i": i }), t(i))).collect();
    for (i, call) in calls.iter().enumerate() {
        // Starts from one writer, finishes from the other, alternating which is which.
        let (first, second) = if i % 2 == 0 { (&mut a, &mut b) } else { (&mut b, &mut a) };
        first.write_batch(&[started(call), small_call(&op, i as u64)]).unwrap();
        second.write_batch(&[finished(call, end(t(100 + i as i64), Some(json!(i)), None, 0))]).unwrap();
    }
    // The writers index as they go: the log stays a few batches behind.
    assert!(log_rows(&path) as usize <= DEFAULT_MAX_BACKLOG, "{} entries", log_rows(&path));
    let reader = LocalStore::open(&path).unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), 100);
    for (i, call) in calls.iter().enumerate() {
        let stored = reader.call(&call.id.to_string()).unwrap().unwrap();
        assert_eq!((stored.status(), stored.output.clone()), (Status::Success, json!(i)), "call {i}");
    }
    // A finished row has the project of the writer of its finish: `b` finished the even
    // calls; and `b` wrote the odd small calls.
    assert_eq!(reader.count_calls(Some("other/project")).unwrap(), 50);
}

#[test]
fn a_reader_sees_calls_written_after_it_opened_and_not_yet_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let reader = LocalStore::open(&path).unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), 0);
    let (root, calls) = write_a_trace(&mut store, 0);
    assert_eq!(log_rows(&path), 1);
    assert_eq!(reader.pending_log_entries().unwrap(), 1);
    let trace = reader.trace(&root.trace_id.to_string()).unwrap();
    assert_eq!(trace.len(), calls.len());
    assert_eq!(reader.pending_log_entries().unwrap(), 0);
    // The writing store reads what it wrote too.
    store.write_batch(&[small_call(&op("f"), 1)]).unwrap();
    assert_eq!(store.count_calls(None).unwrap(), 6);
    assert!(reader.render_tree(&root.trace_id.to_string()).unwrap().starts_with("✓ answer"));
}

#[test]
fn a_corrupt_log_entry_is_reported_by_seq_moved_aside_and_the_others_are_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let op = op("f");
    store.write_batch(&[small_call(&op, 1), small_call(&op, 2)]).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute("INSERT INTO call_log (data) VALUES (x'01ffffff7f02')", []).unwrap();
    raw.execute("INSERT INTO call_log (data) VALUES (x'07')", []).unwrap();
    let bad_seqs: Vec<i64> = raw
        .prepare("SELECT seq FROM call_log ORDER BY seq DESC LIMIT 2")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    store.write_batch(&[small_call(&op, 3)]).unwrap();

    let reader = LocalStore::open(&path).unwrap();
    let err = reader.count_calls(None).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::CorruptLog);
    let message = err.to_string();
    assert!(message.contains(&format!("seq {}", bad_seqs[1])), "{message}");
    assert!(message.contains("call_log_bad"), "{message}");
    // The good entries before and after were indexed; the bad ones are kept aside.
    assert_eq!(reader.count_calls(None).unwrap(), 3);
    assert_eq!(log_rows(&path), 0);
    let mut kept: Vec<(i64, String)> = raw
        .prepare("SELECT seq, error FROM call_log_bad ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kept.iter().map(|k| k.0).collect::<Vec<_>>(), vec![bad_seqs[1], bad_seqs[0]]);
    assert!(kept.pop().unwrap().1.contains("format version 7"));
    // The writer's idle upkeep reports one the same way.
    raw.execute("INSERT INTO call_log (data) VALUES (x'')", []).unwrap();
    let err = store.idle().unwrap_err();
    assert!(err.message.contains("could not be decoded") && err.message.contains("empty"), "{}", err.message);
    assert_eq!(log_rows(&path), 0);
}

#[test]
fn idle_upkeep_empties_the_log_a_few_blobs_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let op = op("f");
    for b in 0..5 {
        let batch: Vec<ExportItem> = (0..10).map(|i| small_call(&op, b * 10 + i)).collect();
        store.write_batch(&batch).unwrap();
    }
    assert_eq!(log_rows(&path), 5);
    assert!(store.idle().unwrap(), "more to do");
    assert_eq!(log_rows(&path), 1, "four blobs per step");
    while store.idle().unwrap() {}
    assert_eq!(log_rows(&path), 0);
    assert!(!store.idle().unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(raw.query_row("SELECT COUNT(*) FROM calls", [], |r| r.get::<_, i64>(0)).unwrap(), 50);
}

#[test]
fn the_idle_worker_indexes_the_log_and_shutdown_does_not_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = store(&dir);
    let exporter = QueueExporter::start(Box::new(store), config(dir.path()));
    let op = op("f");
    for i in 0..3000 {
        exporter.export(small_call(&op, i));
    }
    exporter.flush(Duration::from_secs(10));
    wait_until(Duration::from_secs(10), "the idle worker to index the log", || log_rows(&path) == 0);
    let raw = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(raw.query_row("SELECT COUNT(*) FROM calls", [], |r| r.get::<_, i64>(0)).unwrap(), 3000);
    let report = exporter.shutdown(Duration::from_secs(10));
    assert_eq!(report.written, 3000);
}

#[test]
fn a_version_1_store_opens_and_a_writer_upgrades_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(
        "CREATE TABLE calls (project_id TEXT NOT NULL, id TEXT NOT NULL PRIMARY KEY, trace_id TEXT NOT NULL, \
         parent_id TEXT, op_name TEXT NOT NULL, op_base_name TEXT NOT NULL, display_name TEXT, thread_id TEXT, \
         turn_id TEXT, started_at TEXT NOT NULL, started_at_us INTEGER NOT NULL, ended_at TEXT, ended_at_us INTEGER, \
         attributes TEXT NOT NULL DEFAULT '{}', inputs TEXT NOT NULL DEFAULT '{}', output TEXT, exception TEXT, \
         summary TEXT NOT NULL DEFAULT '{}', wb_run_id TEXT);
         CREATE TABLE objects (project_id TEXT NOT NULL, object_id TEXT NOT NULL, digest TEXT NOT NULL, \
         kind TEXT NOT NULL, val TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (project_id, object_id, digest));
         CREATE TABLE files (project_id TEXT NOT NULL, digest TEXT NOT NULL, name TEXT NOT NULL, \
         content BLOB NOT NULL, PRIMARY KEY (project_id, digest));
         INSERT INTO calls (project_id, id, trace_id, op_name, op_base_name, started_at, started_at_us) \
         VALUES ('e/p', 'old', 'old', 'weave:///e/p/op/f:1', 'f', '2026-01-01T00:00:00.000000Z', 1767225600000000);
         PRAGMA user_version = 1;",
    )
    .unwrap();
    let reader = LocalStore::open(&path).unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), 1);
    let mut writer = LocalStore::create(&path, PROJECT).unwrap();
    writer.write_batch(&[small_call(&op("f"), 1)]).unwrap();
    assert_eq!(raw.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), 4);
    // The reader opened before the upgrade finds the new log.
    assert_eq!(reader.count_calls(None).unwrap(), 2);

    raw.execute_batch("PRAGMA user_version = 5").unwrap();
    let err = LocalStore::open(&path).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::NotAStore);
    assert!(err.to_string().contains("newer"), "{err}");
}

fn table_and_op_items(project_id: &str) -> (weave_core::table::TableItem, ExportItem, ExportItem) {
    let rows = vec![json!({"question": "2+2?"}), json!({"question": "capital of France?"})];
    let table = weave_core::table::TableItem::new(project_id, rows, &weave_core::refs::RefForm::AsWritten);
    let op_item = weave_core::export::OpItem { project_id: project_id.to_string(), op: op("Model.predict").into() };
    (table.clone(), ExportItem::Table(Box::new(table)), ExportItem::Op(Box::new(op_item)))
}

fn stored_tables(path: &std::path::Path) -> (Vec<(String, String)>, Vec<String>, Vec<String>) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables = conn
        .prepare("SELECT digest, row_digests FROM tables")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let rows = conn
        .prepare("SELECT digest FROM table_rows ORDER BY digest")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let ops = conn
        .prepare("SELECT object_id FROM objects WHERE kind = 'op'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (tables, rows, ops)
}

#[test]
fn tables_and_ops_are_saved_and_survive_the_fallback_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weave.db");
    let (table, table_item, op_item) = table_and_op_items(PROJECT);
    let mut writer = LocalStore::create(&path, PROJECT).unwrap();
    writer.write_batch(&[op_item, table_item]).unwrap();
    let (tables, mut rows, ops) = stored_tables(&path);
    assert_eq!(tables, [(table.digest.clone(), serde_json::to_string(&table.row_digests).unwrap())]);
    let mut expected_rows = table.row_digests.clone();
    expected_rows.sort();
    rows.sort();
    assert_eq!(rows, expected_rows);
    assert_eq!(ops, ["Model.predict"]);

    // The same items through the fallback file, replayed into a new store.
    let (_, table_item, op_item) = table_and_op_items(PROJECT);
    let mut lines = Vec::new();
    assert!(weave_exporter::fallback::encode_entry(&mut lines, "queue_full", PROJECT, &op_item));
    assert!(weave_exporter::fallback::encode_entry(&mut lines, "queue_full", PROJECT, &table_item));
    let fallback = dir.path().join("fallback.jsonl");
    std::fs::write(&fallback, &lines).unwrap();
    let replayed = dir.path().join("replayed.db");
    let mut store = LocalStore::create(&replayed, PROJECT).unwrap();
    let report = weave_exporter::fallback::replay(&fallback, &mut store).unwrap();
    assert_eq!(report.replayed, 2, "{report:?}");
    assert_eq!(stored_tables(&replayed), stored_tables(&path));
}

/// `batches` batches of `per_batch` small calls of `op`, written by `store`.
fn write_batches(store: &mut LocalStore, op: &Arc<weave_core::op::OpDef>, batches: u64, per_batch: u64) {
    for b in 0..batches {
        let batch: Vec<ExportItem> = (0..per_batch).map(|i| small_call(op, b * per_batch + i)).collect();
        store.write_batch(&batch).unwrap();
    }
}

fn raw_calls(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT COUNT(*) FROM calls", [], |r| r.get(0)).unwrap()
}

#[test]
fn the_log_stays_a_few_batches_behind_while_writing_without_any_query() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let op = op("f");
    let mut most = 0;
    for b in 0..60 {
        write_batches(&mut store, &op, 1, 20);
        let rows = log_rows(&path) as usize;
        most = most.max(rows);
        assert!(rows <= DEFAULT_MAX_BACKLOG, "after batch {b}: {rows} entries in the log");
    }
    assert_eq!(most, DEFAULT_MAX_BACKLOG, "the writer lets a few batches pile up, no more");
    let left = log_rows(&path) as usize;
    assert_eq!(raw_calls(&path) as usize, (60 - left) * 20, "the rest is indexed");

    // A backlog left by another writer (say, one that stopped early) shrinks while this
    // one writes: half the limit plus one indexed for each batch written.
    let slice = DEFAULT_MAX_BACKLOG / 2 + 1;
    let mut other = LocalStore::create(&path, PROJECT).unwrap();
    other.set_max_backlog(None);
    write_batches(&mut other, &op, 30, 20);
    assert_eq!(log_rows(&path) as usize, left + 30);
    write_batches(&mut store, &op, 1, 20);
    assert_eq!(log_rows(&path) as usize, left + 30 + 1 - slice);
    for _ in 0..10 {
        write_batches(&mut store, &op, 1, 20);
    }
    assert!(log_rows(&path) as usize <= DEFAULT_MAX_BACKLOG);

    // Through the exporter: a burst is written at full speed, then the worker indexes it
    // (with nothing else to do), without any query.
    let exporter = QueueExporter::start(Box::new(store), ExporterConfig { max_batch_items: 50, ..config(dir.path()) });
    for i in 0..5_000 {
        exporter.export(small_call(&op, i));
    }
    assert!(exporter.flush(Duration::from_secs(30)).completed);
    wait_until(Duration::from_secs(30), "the worker to index the burst", || {
        log_rows(&path) as usize <= DEFAULT_MAX_BACKLOG
    });
    let report = exporter.shutdown(Duration::from_secs(10));
    assert_eq!((report.written, report.dropped), (5_000, 0));
}

#[test]
fn a_writer_behind_its_queue_leaves_indexing_for_later() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let op = op("f");
    // Another batch (or more) waits behind each one: the burst is only logged.
    store.set_waiting_items(20);
    write_batches(&mut store, &op, 30, 20);
    assert_eq!(log_rows(&path), 30);
    // Less than a batch waits: the writer indexes again, half its limit at a time.
    store.set_waiting_items(19);
    write_batches(&mut store, &op, 1, 20);
    assert_eq!(log_rows(&path) as usize, 31 - (DEFAULT_MAX_BACKLOG / 2 + 1));
    store.set_waiting_items(0);
    for _ in 0..20 {
        write_batches(&mut store, &op, 1, 20);
    }
    assert!(log_rows(&path) as usize <= DEFAULT_MAX_BACKLOG);
}

#[test]
fn once_a_shutdown_starts_the_writer_leaves_indexing_for_later() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    store.set_deadline(Some(Instant::now() + Duration::from_secs(5)));
    write_batches(&mut store, &op("f"), 20, 5);
    assert_eq!(log_rows(&path), 20, "nothing indexed while shutting down");
    assert_eq!(LocalStore::open(&path).unwrap().index_backlog().unwrap().entries, 20);
}

#[test]
fn a_query_indexes_a_bounded_part_of_a_large_backlog_and_says_how_far_behind_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    store.set_max_backlog(None);
    write_batches(&mut store, &op("f"), 40, 25);
    drop(store);

    let mut reader = LocalStore::open(&path).unwrap();
    let backlog = reader.index_backlog().unwrap();
    assert_eq!(backlog.entries, 40);
    assert_eq!(reader.index_percent_done().unwrap(), 0);
    assert!(backlog.bytes > 40 * 25 * 20, "{backlog:?}");
    assert!((950..=1050).contains(&backlog.estimated_calls), "about 1,000 calls: {backlog:?}");
    // Each query indexes at most its budget (16 entries by default) before it reads.
    assert_eq!(IndexBudget::QUERY.max_entries, 16);
    assert_eq!(reader.count_calls(None).unwrap(), 16 * 25);
    assert_eq!(reader.pending_log_entries().unwrap(), 24);
    assert_eq!(reader.calls(&CallQuery::default()).unwrap().len(), 32 * 25);
    // A budget of time: nothing is started after it.
    reader.set_query_index_budget(IndexBudget { max_entries: 100, max_time: Duration::ZERO });
    assert_eq!(reader.count_calls(None).unwrap(), 32 * 25);
    // No indexing at all, then a step of 3 entries asked for.
    reader.set_query_index_budget(IndexBudget { max_entries: 0, max_time: Duration::from_secs(1) });
    assert_eq!(reader.count_calls(None).unwrap(), 32 * 25);
    let left = reader.index_some(IndexBudget { max_entries: 3, max_time: Duration::from_secs(60) }).unwrap();
    assert_eq!((left.entries, left.estimated_calls), (5, 5 * 25));
    assert_eq!(reader.count_calls(None).unwrap(), 35 * 25);
    assert_eq!(reader.index_percent_done().unwrap(), 87, "35 of 40 entries");
    // Everything, when asked for.
    reader.index_calls().unwrap();
    assert!(reader.index_backlog().unwrap().is_empty());
    assert_eq!(reader.index_backlog().unwrap(), IndexBacklog::default());
    assert_eq!(reader.index_percent_done().unwrap(), 100);
    assert_eq!(reader.count_calls(None).unwrap(), 1000);
}

#[cfg(unix)]
fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn a_read_only_copy_of_a_store_can_be_queried_and_reports_its_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    store.set_max_backlog(None);
    let (root, calls) = write_a_trace(&mut store, 0);
    store.index_calls().unwrap();
    write_batches(&mut store, &op("late"), 2, 10);
    drop(store);

    // A copy (the database and its WAL), its files and directory made read-only.
    let copy_dir = dir.path().join("copy");
    std::fs::create_dir(&copy_dir).unwrap();
    let copy = copy_dir.join("weave.db");
    for suffix in ["", "-wal"] {
        let from = format!("{}{suffix}", path.display());
        if std::path::Path::new(&from).exists() {
            let to = format!("{}{suffix}", copy.display());
            std::fs::copy(&from, &to).unwrap();
            set_mode(std::path::Path::new(&to), 0o444);
        }
    }
    let before = std::fs::read(&copy).unwrap();

    let reader = LocalStore::open_read_only(&copy).unwrap();
    assert!(reader.is_read_only());
    let backlog = reader.index_backlog().unwrap();
    assert_eq!((backlog.entries, backlog.estimated_calls), (2, 20), "what is not indexed");
    // A query reads the unindexed entries into the connection's memory (nothing written).
    assert_eq!(reader.count_calls(None).unwrap(), calls.len() as u64 + 20, "what is indexed, and the log");
    assert!(reader.index_backlog().unwrap().is_empty(), "the queries see every call");
    assert_eq!(reader.calls(&CallQuery { op_name: Some("late".into()), ..CallQuery::default() }).unwrap().len(), 20);
    assert_eq!(reader.trace(&root.trace_id.to_string()).unwrap().len(), calls.len());
    assert!(reader.render_tree(&root.trace_id.to_string()).unwrap().starts_with("✓ answer"));
    assert!(reader.ops(None).unwrap().iter().any(|op| op.name == "late"), "ops are saved as rows, not logged");
    // A query that reads none of the log sees what is indexed, and says what is not.
    let mut unread = LocalStore::open_read_only(&copy).unwrap();
    unread.set_query_index_budget(IndexBudget { max_entries: 0, max_time: Duration::from_secs(1) });
    assert_eq!(unread.count_calls(None).unwrap(), calls.len() as u64, "what is indexed");
    assert_eq!(unread.index_backlog().unwrap(), backlog);
    drop(unread);
    assert_eq!(reader.index_calls().unwrap_err().kind(), StoreErrorKind::ReadOnly);
    let err = reader.index_some(IndexBudget::QUERY).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::ReadOnly);
    assert!(err.to_string().contains("read-only"), "{err}");
    drop(reader);
    assert_eq!(std::fs::read(&copy).unwrap(), before, "nothing was written");

    // `open` on a file it cannot write opens it read-only too (as root, where every file
    // can be written, it opens it for writing and indexes as usual).
    set_mode(&copy_dir, 0o555);
    let reader = LocalStore::open(&copy).unwrap();
    assert_eq!(reader.count_calls(None).unwrap(), calls.len() as u64 + 20);
    drop(reader);
    set_mode(&copy_dir, 0o755);
}

#[test]
fn calls_can_be_filtered_by_status_and_op() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    let root = start(&op("root"), None, json!({}), t(0));
    let failing = start(&op("tool"), Some(&root), json!({}), t(1));
    let fine = start(&op("tool"), Some(&root), json!({}), t(2));
    let running = start(&op("tool"), None, json!({}), t(3));
    store
        .write_batch(&[
            finished(&failing, end(t(2), None, Some("boom"), 0)),
            finished(&fine, end(t(3), Some(json!(1)), None, 0)),
            finished(&root, end(t(4), Some(json!(1)), None, 1)),
            started(&running),
        ])
        .unwrap();
    let reader = LocalStore::open(&path).unwrap();
    let ids = |op: Option<&str>, status: Status| -> Vec<String> {
        let query = CallQuery { op_name: op.map(str::to_string), status: Some(status), ..Default::default() };
        reader.calls(&query).unwrap().into_iter().map(|c| c.id).collect()
    };
    assert_eq!(ids(None, Status::Error), vec![failing.id.to_string()]);
    assert_eq!(ids(None, Status::DescendantError), vec![root.id.to_string()]);
    assert_eq!(ids(None, Status::Running), vec![running.id.to_string()]);
    assert_eq!(ids(None, Status::Success), vec![fine.id.to_string()]);
    assert_eq!(ids(Some("tool"), Status::Error), vec![failing.id.to_string()]);
    assert_eq!(ids(Some("root"), Status::Error), Vec::<String>::new());
    for call in reader.calls(&CallQuery::default()).unwrap() {
        assert_eq!(ids(None, call.status()), vec![call.id.clone()], "the filter agrees with status()");
    }
}

fn index_columns(conn: &rusqlite::Connection, index: &str) -> Vec<String> {
    conn.prepare(&format!("PRAGMA index_info({index})"))
        .unwrap()
        .query_map([], |r| r.get::<_, String>(2))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_version_3_store_gets_its_parent_and_op_indexes_rebuilt_with_the_start_time() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store(&dir);
    write_batches(&mut store, &op("f"), 1, 10);
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(
        "DROP INDEX calls_parent_id; CREATE INDEX calls_parent_id ON calls (parent_id);
         DROP INDEX calls_op_base_name; CREATE INDEX calls_op_base_name ON calls (op_base_name);
         PRAGMA user_version = 3;",
    )
    .unwrap();
    assert_eq!(index_columns(&raw, "calls_parent_id"), ["parent_id"]);
    // A reader leaves it as it is; a writer upgrades it.
    assert_eq!(LocalStore::open(&path).unwrap().count_calls(None).unwrap(), 10);
    assert_eq!(index_columns(&raw, "calls_op_base_name"), ["op_base_name"]);
    drop(LocalStore::create(&path, PROJECT).unwrap());
    assert_eq!(index_columns(&raw, "calls_parent_id"), ["parent_id", "started_at_us"]);
    assert_eq!(index_columns(&raw, "calls_op_base_name"), ["op_base_name", "started_at_us"]);
    assert_eq!(raw.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), 4);
    assert_eq!(LocalStore::open(&path).unwrap().count_calls(None).unwrap(), 10);
}
