//! A panic in an op costs its thread the capture of a backtrace, not the lookup of its
//! symbols: the call reaches the exporter's worker with its exception not encoded and its
//! backtrace not resolved, and the worker resolves it when it encodes the call.

use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;
use weave::export::{ExportItem, ExporterConfig, QueueExporter, Sink, SinkError};
use weave_core::project::ProjectId;
use weave_core::runtime::{install, uninstall, Client};

/// What the sink saw of a call with an exception.
#[derive(Debug, Clone)]
struct Seen {
    op: String,
    thread: ThreadId,
    /// The exception was a JSON string already when the call reached the sink.
    encoded_on_arrival: bool,
    /// Its traceback was resolved already when the call reached the sink.
    resolved_on_arrival: bool,
    /// Resolved once the sink had encoded the call.
    resolved_after_encoding: bool,
    /// The call as the sink encoded it.
    wire: Value,
}

/// Encodes every call it is given (as a sink writing to a server or a file does), noting
/// for calls with an exception what state that exception was in.
#[derive(Clone, Default)]
struct InspectingSink {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Sink for InspectingSink {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        for item in batch {
            let ExportItem::CallFinished(record) = item else { continue };
            let Some(exception) = record.end.as_ref().and_then(|end| end.exception.as_ref()) else { continue };
            let traceback_resolved = || exception.exception().is_none_or(|e| e.traceback.is_resolved());
            let encoded_on_arrival = exception.is_encoded();
            let resolved_on_arrival = traceback_resolved();
            let wire = serde_json::to_value(record.wire("entity/project")).unwrap_or(Value::Null);
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(Seen {
                    op: record.start.op.name().to_string(),
                    thread: std::thread::current().id(),
                    encoded_on_arrival,
                    resolved_on_arrival,
                    resolved_after_encoding: traceback_resolved(),
                    wire,
                });
            }
        }
        Ok(())
    }
}

#[weave::op]
fn parse_amount(text: &str) -> u64 {
    match text.parse() {
        Ok(amount) => amount,
        Err(_) => panic!("not an amount: {text:?}"),
    }
}

#[test]
fn the_backtrace_of_a_panic_is_resolved_by_the_exporters_worker() {
    let sink = InspectingSink::default();
    let config = ExporterConfig { enable_disk_fallback: false, ..ExporterConfig::default() };
    let exporter = Arc::new(QueueExporter::start(Box::new(sink.clone()), config));
    let project = ProjectId::parse("entity/project", "entity").expect("a valid project");
    let settings = weave::Settings { print_call_link: false, ..weave::Settings::default() };
    let _client = install(Client::new(project, settings, exporter));

    let app_thread = std::thread::current().id();
    assert_eq!(parse_amount("12"), 12);
    assert!(std::panic::catch_unwind(|| parse_amount("twelve")).is_err());
    let report = uninstall(Duration::from_secs(20));
    assert!(report.is_some_and(|r| r.completed), "the exporter wrote everything");

    let seen = sink.seen.lock().map(|seen| seen.clone()).unwrap_or_default();
    assert_eq!(seen.len(), 1, "one call with an exception: {seen:#?}");
    let call = &seen[0];
    assert_eq!(call.op, "parse_amount");
    assert_ne!(call.thread, app_thread, "the sink runs on the exporter's worker");
    assert!(!call.encoded_on_arrival, "the exception was encoded before it reached the worker");
    assert!(!call.resolved_on_arrival, "the backtrace was resolved before it reached the worker");
    assert!(call.resolved_after_encoding, "encoding the call resolved the backtrace");

    let exception: Value =
        serde_json::from_str(call.wire["exception"].as_str().unwrap_or_default()).unwrap_or_default();
    assert_eq!(exception["type"], "panic");
    assert_eq!(exception["message"], "not an amount: \"twelve\"");
    let functions: Vec<&str> = exception["traceback"]
        .as_array()
        .map(|frames| frames.iter().filter_map(|f| f["function_name"].as_str()).collect())
        .unwrap_or_default();
    assert!(functions.iter().any(|f| f.starts_with("panic_export::parse_amount::")), "{functions:#?}");
    assert_eq!(functions.last(), Some(&"<panic>"), "{functions:#?}");
}
