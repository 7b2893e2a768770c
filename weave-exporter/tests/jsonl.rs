//! The JSON-lines sink: one wire call per line.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;
use weave_core::export::Exporter;
use weave_core::time::Timestamp;
use weave_exporter::{ExporterConfig, JsonlSink, QueueExporter, Sink};

#[test]
fn the_jsonl_sink_writes_one_wire_call_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out").join("calls.jsonl");
    let sink = JsonlSink::file(&path, PROJECT).unwrap();
    assert!(!sink.supports_call_start());
    let exporter = QueueExporter::start(Box::new(sink), ExporterConfig { max_batch_items: 3, ..config(dir.path()) });
    let op = op("f");
    let eager = start(&op, None, json!({"x": 1}), Timestamp::now());
    exporter.export(started(&eager));
    let items: Vec<_> = (0..10).map(|i| small_call(&op, i)).collect();
    let mut ids: Vec<String> = items.iter().map(id_of).collect();
    for item in items {
        exporter.export(item);
    }
    exporter.export(unfinished(&eager));
    ids.push(eager.id.to_string());
    assert!(exporter.shutdown(Duration::from_secs(5)).completed);

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    let got: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(got, ids, "finished and unfinished calls, no eager starts");
    assert_eq!(lines[0]["project_id"], PROJECT);
    assert_eq!(lines[0]["op_name"], op.ref_uri(PROJECT));
    assert_eq!(lines[0]["inputs"], json!({"i": 0}));
    assert_eq!(lines[0]["output"], json!(0));
    assert_eq!(lines[0]["summary"]["status_counts"], json!({"success": 1, "error": 0}));
    assert_eq!(lines[10]["ended_at"], Value::Null);

    // Appends: a second sink on the same file keeps the first lines.
    let mut again = JsonlSink::file(&path, PROJECT).unwrap();
    again.write_batch(&[small_call(&op, 99)]).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 12);
}

#[test]
fn the_jsonl_sink_writes_to_any_writer() {
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<parking_lot::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = Shared::default();
    let mut sink = JsonlSink::writer(out.clone(), PROJECT, "a buffer".to_string());
    sink.write_batch(&[small_call(&op("g"), 7)]).unwrap();
    let text = String::from_utf8(out.0.lock().clone()).unwrap();
    assert!(text.ends_with('\n'));
    let line: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(line["inputs"], json!({"i": 7}));
    assert_eq!(sink.describe(), "a buffer");
}
