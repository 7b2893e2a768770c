//! The queue exporter: batching, flush, shutdown, drops to the fallback file, retries.

mod accounting;
mod common;

use accounting::assert_accounted;
use common::*;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weave_core::export::Exporter;
use weave_exporter::{estimated_bytes, ExporterConfig, QueueExporter, Sink, SinkError};

fn start_with(sink: impl Sink, config: ExporterConfig) -> QueueExporter {
    QueueExporter::start(Box::new(sink), config)
}

#[test]
fn batches_are_cut_at_max_batch_items() {
    let dir = tempfile::tempdir().unwrap();
    let sink = RecordingSink::default();
    let config = ExporterConfig { max_batch_items: 10, max_batch_delay: Duration::from_secs(30), ..config(dir.path()) };
    let exporter = start_with(sink.clone(), config);
    let op = op("f");
    for i in 0..35 {
        exporter.export(small_call(&op, i));
    }
    wait_until(Duration::from_secs(5), "three full batches", || sink.total() >= 30);
    let report = exporter.flush(Duration::from_secs(5));
    assert!(report.completed);
    assert_eq!(*sink.batches.lock(), vec![10, 10, 10, 5]);
    assert_eq!(report.written, 35);
    assert_accounted(35, &report, &dir.path().join("dropped.jsonl"));
}

#[test]
fn batches_are_cut_at_max_batch_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let sink = RecordingSink::default();
    let op = op("big");
    let big = |i: u64| {
        let s = start(
            &op,
            None,
            serde_json::json!({ "text": "x".repeat(10_000), "i": i }),
            weave_core::time::Timestamp::now(),
        );
        finished(&s, end(weave_core::time::Timestamp::now(), None, None, 0))
    };
    let one = estimated_bytes(&big(0));
    let config = ExporterConfig {
        max_batch_bytes: 3 * one + one / 2,
        max_batch_delay: Duration::from_secs(30),
        ..config(dir.path())
    };
    let exporter = start_with(sink.clone(), config);
    for i in 0..7 {
        exporter.export(big(i));
    }
    wait_until(Duration::from_secs(5), "two full batches", || sink.total() >= 6);
    assert!(exporter.flush(Duration::from_secs(5)).completed);
    assert_eq!(*sink.batches.lock(), vec![3, 3, 1]);
}

#[test]
fn a_batch_waits_at_most_max_batch_delay_to_fill() {
    let dir = tempfile::tempdir().unwrap();
    let sink = RecordingSink::default();
    let config = ExporterConfig { max_batch_delay: Duration::from_millis(800), ..config(dir.path()) };
    let exporter = start_with(sink.clone(), config);
    let op = op("f");
    let first = Instant::now();
    exporter.export(small_call(&op, 1));
    std::thread::sleep(Duration::from_millis(100));
    exporter.export(small_call(&op, 2));
    wait_until(Duration::from_secs(5), "the delayed batch", || sink.total() == 2);
    let written_after = sink.times.lock()[0] - first;
    assert_eq!(*sink.batches.lock(), vec![2], "both items in one batch");
    assert!(written_after >= Duration::from_millis(790), "written after {written_after:?}");
    assert!(written_after < Duration::from_secs(5), "written after {written_after:?}");
}

#[test]
fn with_no_delay_an_item_is_written_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let sink = RecordingSink::default();
    let exporter = start_with(sink.clone(), config(dir.path()));
    let t = Instant::now();
    exporter.export(small_call(&op("f"), 1));
    wait_until(Duration::from_secs(5), "the item", || sink.total() == 1);
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn flush_waits_for_everything_queued_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let sink = RecordingSink { delay: Duration::from_millis(20), ..RecordingSink::default() };
    let config = ExporterConfig { max_batch_items: 10, ..config(dir.path()) };
    let exporter = start_with(sink.clone(), config);
    let op = op("f");
    let items: Vec<_> = (0..100).map(|i| small_call(&op, i)).collect();
    let ids: Vec<String> = items.iter().map(id_of).collect();
    for item in items {
        exporter.export(item);
    }
    let report = exporter.flush(Duration::from_secs(10));
    assert!(report.completed);
    assert_eq!(report.written, 100);
    assert_eq!(*sink.ids.lock(), ids, "every item, in order");
    assert_accounted(100, &report, &dir.path().join("dropped.jsonl"));
}

#[test]
fn flush_times_out_when_the_sink_is_stuck() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, release) = GateSink::new();
    let exporter = start_with(sink.clone(), config(dir.path()));
    exporter.export(small_call(&op("f"), 1));
    let t = Instant::now();
    let report = exporter.flush(Duration::from_millis(200));
    assert!(!report.completed);
    assert!(t.elapsed() < Duration::from_secs(2));
    // The sink holds the call: pending.
    assert_eq!(report.pending, 1, "{report:?}");
    assert_accounted(1, &report, &dir.path().join("dropped.jsonl"));
    release.send(()).unwrap();
    let report = exporter.flush(Duration::from_secs(5));
    assert!(report.completed);
    assert_accounted(1, &report, &dir.path().join("dropped.jsonl"));
}

#[test]
fn shutdown_is_bounded_by_its_timeout_with_a_sink_that_blocks_forever() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, _release) = GateSink::new();
    let exporter = start_with(sink.clone(), config(dir.path()));
    let op = op("f");
    exporter.export(small_call(&op, 0));
    wait_until(Duration::from_secs(5), "the sink to block", || sink.entered.load(Ordering::SeqCst) == 1);
    for i in 1..5 {
        exporter.export(small_call(&op, i));
    }
    let t = Instant::now();
    let report = exporter.shutdown(Duration::from_millis(300));
    let took = t.elapsed();
    assert!(!report.completed);
    assert!(took >= Duration::from_millis(290) && took < Duration::from_secs(2), "took {took:?}");
    // What the worker never took is in the fallback file, counted as dropped.
    assert_eq!(report.dropped, 4);
    let lines = read_lines(&dir.path().join("dropped.jsonl"));
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| l["reason"] == "shutdown"));
    // The call the sink is stuck on is still pending.
    assert_eq!(report.pending, 1, "{report:?}");
    assert_accounted(5, &report, &dir.path().join("dropped.jsonl"));
    // Dropping it now returns at once (the shutdown already happened).
    let t = Instant::now();
    drop(exporter);
    assert!(t.elapsed() < Duration::from_millis(500));
}

/// Gives up its write a while after it starts (as a sink past its deadline does), with a
/// retryable error.
struct LateSink {
    entered: Arc<AtomicUsize>,
    gives_up_after: Duration,
}

impl Sink for LateSink {
    fn write_batch(&mut self, _batch: &[weave_core::export::ExportItem]) -> Result<(), SinkError> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.gives_up_after);
        Err(SinkError { message: "timed out".to_string(), retryable: true })
    }
}

#[test]
fn a_shutdown_that_runs_out_of_time_counts_the_batch_the_sink_was_writing() {
    let dir = tempfile::tempdir().unwrap();
    let entered = Arc::new(AtomicUsize::new(0));
    let sink = LateSink { entered: entered.clone(), gives_up_after: Duration::from_millis(400) };
    let exporter = start_with(sink, config(dir.path()));
    exporter.export(small_call(&op("f"), 0));
    wait_until(Duration::from_secs(5), "the sink to start writing", || entered.load(Ordering::SeqCst) == 1);
    let t = Instant::now();
    let report = exporter.shutdown(Duration::from_millis(300));
    assert!(!report.completed);
    // The sink gave the batch up after the deadline, and the worker set it aside: the
    // report counts it, though it came after the timeout.
    assert_eq!(report.failed + report.dropped, 1, "{report:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "took {:?}", t.elapsed());
    let lines = read_lines(&dir.path().join("dropped.jsonl"));
    assert_eq!(lines.len(), 1);
    assert_accounted(1, &report, &dir.path().join("dropped.jsonl"));
}

#[test]
fn dropping_the_exporter_shuts_it_down_within_the_flush_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, _release) = GateSink::new();
    let config = ExporterConfig { flush_timeout: Duration::from_millis(200), ..config(dir.path()) };
    let exporter = start_with(sink, config);
    exporter.export(small_call(&op("f"), 0));
    let t = Instant::now();
    drop(exporter);
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn dropping_the_exporter_writes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let sink = RecordingSink { delay: Duration::from_millis(5), ..RecordingSink::default() };
    let exporter = start_with(sink.clone(), ExporterConfig { max_batch_items: 7, ..config(dir.path()) });
    let op = op("f");
    for i in 0..50 {
        exporter.export(small_call(&op, i));
    }
    drop(exporter);
    assert_eq!(sink.total(), 50);
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_full_queue_drops_counts_exactly_and_writes_every_dropped_item_to_the_fallback_file() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, release) = GateSink::new();
    let config = ExporterConfig { max_queue_size: 5, ..config(dir.path()) };
    let exporter = start_with(sink.clone(), config);
    let op = op("f");
    exporter.export(small_call(&op, 0));
    wait_until(Duration::from_secs(5), "the sink to block", || sink.entered.load(Ordering::SeqCst) == 1);
    for i in 1..=5 {
        exporter.export(small_call(&op, i));
    }
    let dropped: Vec<_> = (6..13).map(|i| small_call(&op, i)).collect();
    let dropped_ids: Vec<String> = dropped.iter().map(id_of).collect();
    for item in dropped {
        exporter.export(item);
    }
    assert_eq!(exporter.counters().dropped, 7);
    release.send(()).unwrap();
    release.send(()).unwrap();
    let report = exporter.flush(Duration::from_secs(5));
    assert!(report.completed);
    assert_eq!((report.written, report.dropped, report.failed), (6, 7, 0));
    assert_accounted(13, &report, &dir.path().join("dropped.jsonl"));

    let path = dir.path().join("dropped.jsonl");
    let lines = read_lines(&path);
    let ids: Vec<&str> = lines.iter().map(|l| l["item"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, dropped_ids);
    for line in &lines {
        assert_eq!(line["reason"], "queue_full");
        assert_eq!(line["project_id"], PROJECT);
        assert_eq!(line["kind"], "call_finished");
        assert!(line["item"]["op_name"].as_str().unwrap().starts_with("weave:///test-entity/test-project/op/f:"));
    }
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn with_disk_fallback_off_dropped_items_are_only_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, release) = GateSink::new();
    let config = ExporterConfig { max_queue_size: 1, enable_disk_fallback: false, ..config(dir.path()) };
    let exporter = start_with(sink.clone(), config);
    let op = op("f");
    exporter.export(small_call(&op, 0));
    wait_until(Duration::from_secs(5), "the sink to block", || sink.entered.load(Ordering::SeqCst) == 1);
    for i in 1..5 {
        exporter.export(small_call(&op, i));
    }
    assert_eq!(exporter.counters().dropped, 3);
    drop(release);
    let report = exporter.shutdown(Duration::from_secs(5));
    assert!(!dir.path().join("dropped.jsonl").exists());
    assert_eq!((report.dropped, report.lost, report.lost_dropped), (3, 3, 3), "{report:?}");
    assert_accounted(5, &report, &dir.path().join("dropped.jsonl"));
}

#[test]
fn items_exported_after_shutdown_are_dropped_counted_and_saved() {
    let dir = tempfile::tempdir().unwrap();
    let sink = RecordingSink::default();
    let exporter = start_with(sink.clone(), config(dir.path()));
    let op = op("f");
    exporter.export(small_call(&op, 0));
    let report = exporter.shutdown(Duration::from_secs(5));
    assert!(report.completed);
    assert_eq!((report.written, report.dropped), (1, 0));
    assert_accounted(1, &report, &dir.path().join("dropped.jsonl"));
    for i in 1..4 {
        exporter.export(small_call(&op, i));
    }
    // A second shutdown is a no-op that reports the counters.
    let again = exporter.shutdown(Duration::from_secs(5));
    assert_eq!((again.written, again.dropped), (1, 3));
    assert_eq!(sink.total(), 1);
    let lines = read_lines(&dir.path().join("dropped.jsonl"));
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["reason"] == "shutdown"));
    assert_accounted(4, &again, &dir.path().join("dropped.jsonl"));
}

#[test]
fn retryable_sink_errors_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let attempts = Arc::new(AtomicUsize::new(0));
    let written = Arc::new(AtomicUsize::new(0));
    let sink = FlakySink { attempts: attempts.clone(), failures: 2, retryable: true, written: written.clone() };
    let exporter = start_with(sink, config(dir.path()));
    exporter.export(small_call(&op("f"), 0));
    let report = exporter.flush(Duration::from_secs(5));
    assert_eq!((report.written, report.failed), (1, 0));
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert!(!dir.path().join("dropped.jsonl").exists());
    assert_accounted(1, &report, &dir.path().join("dropped.jsonl"));
}

#[test]
fn retryable_errors_are_retried_a_bounded_number_of_times_then_spilled() {
    let dir = tempfile::tempdir().unwrap();
    let attempts = Arc::new(AtomicUsize::new(0));
    let sink =
        FlakySink { attempts: attempts.clone(), failures: usize::MAX, retryable: true, written: Default::default() };
    let config = ExporterConfig { max_retries: 3, max_batch_delay: Duration::from_millis(100), ..config(dir.path()) };
    let exporter = start_with(sink, config);
    let op = op("f");
    let items: Vec<_> = (0..3).map(|i| small_call(&op, i)).collect();
    let ids: Vec<String> = items.iter().map(id_of).collect();
    for item in items {
        exporter.export(item);
    }
    let report = exporter.flush(Duration::from_secs(5));
    assert!(report.completed);
    assert_eq!((report.written, report.failed, report.dropped), (0, 3, 0));
    assert_eq!(attempts.load(Ordering::SeqCst), 4, "one attempt and three retries");
    let lines = read_lines(&dir.path().join("dropped.jsonl"));
    let spilled: Vec<&str> = lines.iter().map(|l| l["item"]["id"].as_str().unwrap()).collect();
    assert_eq!(spilled, ids);
    let reason = lines[0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("sink_error: attempt 3 failed"), "{reason}");
    assert_accounted(3, &report, &dir.path().join("dropped.jsonl"));
}

#[test]
fn permanent_sink_errors_are_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let attempts = Arc::new(AtomicUsize::new(0));
    let written = Arc::new(AtomicUsize::new(0));
    let sink = FlakySink { attempts: attempts.clone(), failures: 1, retryable: false, written: written.clone() };
    let exporter = start_with(sink, config(dir.path()));
    let op = op("f");
    exporter.export(small_call(&op, 0));
    exporter.flush(Duration::from_secs(5));
    exporter.export(small_call(&op, 1));
    let report = exporter.flush(Duration::from_secs(5));
    assert_eq!((report.written, report.failed), (1, 1));
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(read_lines(&dir.path().join("dropped.jsonl")).len(), 1);
    assert_accounted(2, &report, &dir.path().join("dropped.jsonl"));
}

struct PanickySink {
    calls: usize,
}

impl Sink for PanickySink {
    fn write_batch(&mut self, _batch: &[weave_core::export::ExportItem]) -> Result<(), SinkError> {
        self.calls += 1;
        if self.calls == 1 {
            panic!("sink bug");
        }
        Ok(())
    }
}

#[test]
fn a_panicking_sink_fails_its_batch_and_the_worker_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = start_with(PanickySink { calls: 0 }, config(dir.path()));
    let op = op("f");
    exporter.export(small_call(&op, 0));
    exporter.flush(Duration::from_secs(5));
    exporter.export(small_call(&op, 1));
    let report = exporter.flush(Duration::from_secs(5));
    assert!(report.completed);
    assert_eq!((report.written, report.failed), (1, 1));
    let lines = read_lines(&dir.path().join("dropped.jsonl"));
    assert!(lines[0]["reason"].as_str().unwrap().contains("sink bug"));
    assert_accounted(2, &report, &dir.path().join("dropped.jsonl"));
}

#[test]
fn flush_and_shutdown_work_inside_a_tokio_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let sink = RecordingSink::default();
    let exporter = start_with(sink.clone(), config(dir.path()));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        exporter.export(small_call(&op("f"), 0));
        assert!(exporter.flush(Duration::from_secs(5)).completed);
        assert!(exporter.shutdown(Duration::from_secs(5)).completed);
    });
    assert_eq!(sink.total(), 1);
}

#[test]
fn many_threads_exporting_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sink = RecordingSink::default();
    let config = ExporterConfig { max_queue_size: 0, ..config(dir.path()) };
    let exporter = Arc::new(start_with(sink.clone(), config));
    let op = op("f");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let exporter = exporter.clone();
            let op = op.clone();
            std::thread::spawn(move || {
                for i in 0..2500 {
                    exporter.export(small_call(&op, t * 10_000 + i));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let report = exporter.shutdown(Duration::from_secs(10));
    assert!(report.completed);
    assert_eq!((report.written, report.dropped), (10_000, 0));
    assert_eq!(sink.total(), 10_000);
    assert_accounted(10_000, &report, &dir.path().join("dropped.jsonl"));
}

#[test]
fn the_sink_decides_whether_call_starts_are_sent() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = weave_exporter::JsonlSink::file(dir.path().join("c.jsonl"), PROJECT).unwrap();
    let exporter = start_with(jsonl, config(dir.path()));
    assert!(!exporter.supports_call_start());
    assert!(exporter.describe().contains("c.jsonl"));
    let memory = start_with(weave_exporter::MemorySink::new(PROJECT), config(dir.path()));
    assert!(memory.supports_call_start());
    let _: Value = Value::Null;
}
