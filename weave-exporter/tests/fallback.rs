//! The fallback file: rotation, and replay of what it holds into a sink.

mod accounting;
mod common;

use accounting::{assert_accounted, assert_nowhere_twice, read_fallback_files};
use common::*;
use std::io::Write;
use std::time::Duration;
use weave_core::export::{Exporter, FlushReport};
use weave_exporter::fallback::{encode_entry, replay, rotated_path, FallbackFile, Origin, Tally};
use weave_exporter::local_store::LocalStore;
use weave_exporter::{ExporterConfig, ItemKind, MemorySink, QueueExporter, Sink};

/// Makes a fallback file the way the exporter does (a full queue in front of a stuck
/// sink) and returns its path and the ids it holds.
fn fallback_from_a_full_queue(dir: &std::path::Path, n: u64) -> (std::path::PathBuf, Vec<String>) {
    let (sink, release) = GateSink::new();
    let config = ExporterConfig { max_queue_size: 1, ..config(dir) };
    let exporter = QueueExporter::start(Box::new(sink.clone()), config);
    let op = op("f");
    exporter.export(small_call(&op, 0));
    wait_until(Duration::from_secs(5), "the sink to block", || {
        sink.entered.load(std::sync::atomic::Ordering::SeqCst) == 1
    });
    exporter.export(small_call(&op, 1));
    let mut ids = Vec::new();
    for i in 0..n {
        let item = small_call(&op, 100 + i);
        ids.push(id_of(&item));
        exporter.export(item);
    }
    drop(release);
    let report = exporter.shutdown(Duration::from_secs(5));
    assert_eq!((report.dropped, report.written), (n, 2));
    (dir.join("dropped.jsonl"), ids)
}

#[test]
fn replay_delivers_every_item_and_skips_a_garbage_line_and_a_truncated_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ids) = fallback_from_a_full_queue(dir.path(), 2500);
    {
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"this is not json\n\n").unwrap();
        file.write_all(b"\xff\xfe binary garbage\n").unwrap();
        file.write_all(br#"{"reason":"queue_full","project_id":"e/p","kind":"call_fini"#).unwrap();
    }
    let mut sink = MemorySink::new(PROJECT);
    let handle = sink.handle();
    let report = replay(&path, &mut sink).unwrap();
    assert_eq!((report.lines, report.replayed, report.skipped, report.failed), (2503, 2500, 3, 0));
    let replayed: Vec<String> = handle.calls().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(replayed, ids);
    assert!(handle.items().iter().all(|i| i.kind == ItemKind::CallFinished));
}

#[test]
fn replay_into_the_local_store_writes_the_calls() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ids) = fallback_from_a_full_queue(dir.path(), 10);
    let db = dir.path().join("weave.db");
    drop(LocalStore::create(&db, PROJECT).unwrap());
    let mut store = LocalStore::open(&db).unwrap();
    let report = replay(&path, &mut store).unwrap();
    assert_eq!((report.replayed, report.failed), (10, 0));
    for id in &ids {
        let call = store.call(id).unwrap().expect("replayed call");
        assert_eq!(call.op_base_name, "f");
        assert_eq!(call.project_id, PROJECT);
        assert!(call.ended_at.is_some());
    }
    // Replaying twice does not duplicate.
    replay(&path, &mut store).unwrap();
    assert_eq!(store.count_calls(None).unwrap(), 10);
}

#[test]
fn replay_indexes_the_calls_logged_before_it_first() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = fallback_from_a_full_queue(dir.path(), 10);
    let db = dir.path().join("weave.db");
    let mut writer = LocalStore::create(&db, PROJECT).unwrap();
    let op = op("logged");
    writer.write_batch(&(0..5).map(|i| small_call(&op, i)).collect::<Vec<_>>()).unwrap();
    let raw = rusqlite::Connection::open(&db).unwrap();
    let log_rows = || raw.query_row("SELECT COUNT(*) FROM call_log", [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(log_rows(), 1);
    let report = replay(&path, &mut writer).unwrap();
    assert_eq!((report.replayed, report.failed), (10, 0));
    assert_eq!(log_rows(), 0, "the log was indexed before the replayed rows were written");
    assert_eq!(LocalStore::open(&db).unwrap().count_calls(None).unwrap(), 15);
}

#[test]
fn replay_of_a_missing_file_replays_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut sink = MemorySink::new(PROJECT);
    let report = replay(dir.path().join("none.jsonl"), &mut sink).unwrap();
    assert_eq!(report.lines, 0);
}

#[test]
fn a_sink_that_cannot_replay_reports_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = fallback_from_a_full_queue(dir.path(), 3);
    let mut sink = RecordingSink::default();
    let report = replay(&path, &mut sink).unwrap();
    assert_eq!((report.replayed, report.failed), (0, 3));
    assert!(report.last_error.unwrap().message.contains("cannot replay"));
}

#[test]
fn the_fallback_file_rotates_keeping_three_old_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("dropped.jsonl");
    let mut file = FallbackFile::new(&path, 1000);
    let op = op("f");
    let mut line = Vec::new();
    encode_entry(&mut line, "queue_full", PROJECT, &small_call(&op, 1));
    assert!(line.len() < 1000 && line.ends_with(b"\n"));
    for _ in 0..40 {
        file.append(&line, Tally::of(Origin::Dropped, 1)).unwrap();
    }
    file.flush().unwrap();
    // What the four files do not hold, the rotations discarded, and counted.
    let kept = read_fallback_files(&path).total();
    assert!(kept < 40, "{kept}");
    assert_eq!(file.take_discarded(), Tally { dropped: 40 - kept, failed: 0 });
    for p in [path.clone(), rotated_path(&path, 1), rotated_path(&path, 2), rotated_path(&path, 3)] {
        let len = std::fs::metadata(&p).unwrap().len();
        assert!(len > 0 && len <= 1000, "{} has {len} bytes", p.display());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
    assert!(!rotated_path(&path, 4).exists());
}

/// `calls` through a queue of `max_queue_size` in front of `sink`, and a fallback file of
/// 4 KB: the calls the sink does not write fill the file and its three rotated files many
/// times over. (Before, the calls in the rotated file each rotation deleted were counted
/// nowhere.)
fn through_rotation(dir: &std::path::Path, sink: impl Sink, max_queue_size: usize, calls: u64) -> FlushReport {
    let config = ExporterConfig {
        max_queue_size,
        max_batch_items: 10,
        fallback_max_bytes: 4_000,
        // The file never falls behind: every item lost is lost to the rotation.
        write_inline_when_fallback_behind: true,
        ..config(dir)
    };
    let exporter = QueueExporter::start(Box::new(sink), config);
    let op = op("f");
    for i in 0..calls {
        exporter.export(small_call(&op, i));
    }
    let report = exporter.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    report
}

#[test]
fn calls_a_rotation_discards_are_counted_as_lost_and_the_counts_add_up_to_the_files() {
    const CALLS: u64 = 2_000;
    let sink = RecordingSink { delay: Duration::from_millis(5), ..RecordingSink::default() };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropped.jsonl");
    // A queue of 10 in front of a slow sink: most calls overflow.
    let report = through_rotation(dir.path(), sink.clone(), 10, CALLS);
    assert!(rotated_path(&path, 3).exists(), "the file rotated past its kept files");
    assert!(report.rotated_out > 0, "the rotation discarded calls: {report:?}");
    assert_eq!((report.lost, report.lost_dropped, report.failed), (report.rotated_out, report.rotated_out, 0));
    let files = assert_accounted(CALLS, &report, &path);
    assert_eq!(sink.total() as u64, report.written);
    assert_nowhere_twice(&sink.ids.lock(), &files);
}

#[test]
fn failed_calls_a_rotation_discards_are_counted_as_lost_apart_from_the_dropped_ones() {
    const CALLS: u64 = 500;
    let refusing =
        FlakySink { attempts: Default::default(), failures: usize::MAX, retryable: false, written: Default::default() };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropped.jsonl");
    // An unbounded queue: nothing is dropped, every call fails.
    let report = through_rotation(dir.path(), refusing, 0, CALLS);
    assert_eq!((report.written, report.dropped, report.failed), (0, 0, CALLS), "{report:?}");
    assert!(report.rotated_out > 0, "{report:?}");
    assert_eq!((report.lost, report.lost_dropped), (report.rotated_out, 0), "{report:?}");
    let files = assert_accounted(CALLS, &report, &path);
    assert_eq!((files.dropped, files.failed), (0, CALLS - report.lost), "{files:?}");
}
