//! The fallback file: rotation, and replay of what it holds into a sink.

mod common;

use common::*;
use std::io::Write;
use std::time::Duration;
use weave_core::export::Exporter;
use weave_exporter::fallback::{encode_entry, replay, rotated_path, FallbackFile};
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
        file.append(&line).unwrap();
    }
    file.flush().unwrap();
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
