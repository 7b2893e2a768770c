//! The trace server sink under faults, against an in-process fake server on 127.0.0.1:
//! 5xx, connections reset mid-request and timeouts are retried, `Retry-After` is honoured, 413 halves a batch, 422
//! isolates the bad call while the rest goes through, other 4xx are not retried, a
//! connection reset mid-request is retried, a server down at start-up (or gone for a
//! while mid-run: connection refused) gets every call once it is up, a response that
//! never comes does not block the application, and what could not be sent by shutdown is
//! in the fallback file and replays later. Every call arrives once.

mod accounting;
mod common;
mod fake_server;

use accounting::assert_accounted;
use common::*;
use fake_server::{FakeServer, Reply, Request};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weave_core::export::{ExportItem, Exporter};
use weave_exporter::fallback::replay;
use weave_exporter::http::{ServerConfig, WeaveServerSink};
use weave_exporter::{QueueExporter, Sink};

const KEY: &str = "fault-test-key-secret";

fn config(url: &str) -> ServerConfig {
    fake_server::server_config(KEY, url)
}

fn exporter(sink: WeaveServerSink, dir: &Path) -> QueueExporter {
    fake_server::fast_retry_exporter(sink, dir, Duration::from_millis(300))
}

fn calls(n: u64) -> (Vec<ExportItem>, Vec<String>) {
    let op = op("work");
    let items: Vec<ExportItem> = (0..n).map(|i| small_call(&op, i)).collect();
    let ids = items.iter().map(id_of).collect();
    (items, ids)
}

/// Asserts every id was accepted exactly once.
fn assert_each_once(server: &FakeServer, ids: &[String]) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for id in server.accepted_call_ids() {
        *counts.entry(id).or_default() += 1;
    }
    for id in ids {
        assert_eq!(counts.get(id), Some(&1), "call {id}: {:?}", server.summary());
    }
    assert_eq!(counts.len(), ids.len(), "{:?}", server.summary());
}

/// The ids of the calls in a fallback file.
fn fallback_ids(path: &Path) -> Vec<String> {
    read_lines(path).iter().map(|line| line["item"]["id"].as_str().unwrap_or_default().to_string()).collect()
}

fn batch_len(r: &Request) -> usize {
    r.json()["batch"].as_array().map_or(0, Vec::len)
}

#[test]
fn server_errors_are_retried_and_every_call_arrives_once() {
    let server = FakeServer::start();
    server.fail("/calls/complete", 3, Reply::status(500));
    server.fail("/server_info", 1, Reply::status(502));
    let dir = tempfile::tempdir().unwrap();
    let exporter = exporter(WeaveServerSink::new(config(&server.url()), PROJECT), dir.path());
    let (items, ids) = calls(20);
    for item in items {
        exporter.export(item);
    }
    let report = exporter.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    assert_eq!((report.written, report.failed), (20, 0));
    assert_accounted(20, &report, &dir.path().join("fallback.jsonl"));
    assert_each_once(&server, &ids);
    assert!(server.requests_to("/calls/complete").iter().filter(|r| r.status == 500).count() == 3);
    // All attempts of one logical send share a retry id.
    let retry_ids: Vec<String> = server
        .requests_to("/calls/complete")
        .iter()
        .map(|r| r.header("x-weave-retry-id").unwrap().to_string())
        .collect();
    assert_eq!(retry_ids[0], retry_ids[1]);
}

#[test]
fn retry_after_is_honoured() {
    let server = FakeServer::start();
    server.fail("/calls/complete", 1, Reply::status(429).header("Retry-After", "1"));
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT);
    let (items, ids) = calls(2);
    sink.write_batch(&items).unwrap();
    let attempts = server.requests_to("/calls/complete");
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status, 429);
    let waited = attempts[1].at.duration_since(attempts[0].at);
    assert!(waited >= Duration::from_millis(950), "waited only {waited:?}");
    assert_each_once(&server, &ids);
}

#[test]
fn a_413_splits_the_batch_in_halves() {
    let server = FakeServer::start();
    server.respond(|r| (r.path.contains("/calls/complete") && batch_len(r) > 2).then(|| Reply::status(413)));
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT);
    let (items, ids) = calls(8);
    sink.write_batch(&items).unwrap();
    assert!(sink.take_rejected().is_empty());
    let sizes: Vec<usize> = server.requests_to("/calls/complete").iter().map(batch_len).collect();
    assert_eq!(sizes, vec![8, 4, 2, 2, 4, 2, 2]);
    assert_each_once(&server, &ids);
}

#[test]
fn batches_respect_the_item_and_byte_limits() {
    let server = FakeServer::start();
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT).with_request_limits(3, 1 << 20);
    let (items, ids) = calls(7);
    sink.write_batch(&items).unwrap();
    let sizes: Vec<usize> = server.requests_to("/calls/complete").iter().map(batch_len).collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_each_once(&server, &ids);

    let server = FakeServer::start();
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT).with_request_limits(1000, 2000);
    let (items, ids) = calls(6);
    sink.write_batch(&items).unwrap();
    let requests = server.requests_to("/calls/complete");
    assert!(requests.len() > 1 && requests.iter().all(|r| r.body.len() <= 2000 || batch_len(r) == 1));
    assert_each_once(&server, &ids);
}

#[test]
fn a_422_isolates_the_bad_call_and_the_rest_goes_through() {
    let server = FakeServer::start();
    server.respond(|r| {
        let bad = r.json()["batch"].as_array().is_some_and(|b| b.iter().any(|c| c["inputs"]["i"] == 5));
        (r.path.contains("/calls/complete") && bad).then(|| Reply::status(422))
    });
    let dir = tempfile::tempdir().unwrap();
    let exporter = exporter(WeaveServerSink::new(config(&server.url()), PROJECT), dir.path());
    let (items, ids) = calls(16);
    for item in items {
        exporter.export(item);
    }
    let report = exporter.shutdown(Duration::from_secs(30));
    assert!(report.completed);
    assert_eq!((report.written, report.failed), (15, 1), "{:?}", server.summary());
    assert_accounted(16, &report, &dir.path().join("fallback.jsonl"));
    let good: Vec<String> = ids.iter().enumerate().filter(|(i, _)| *i != 5).map(|(_, id)| id.clone()).collect();
    assert_each_once(&server, &good);
    let fallback = std::fs::read_to_string(dir.path().join("fallback.jsonl")).unwrap();
    let lines: Vec<Value> = fallback.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["item"]["id"], ids[5].as_str());
    let reason = lines[0]["reason"].as_str().unwrap();
    assert!(reason.contains(&ids[5]) && reason.contains("422"), "{reason}");
    assert!(!fallback.contains(KEY));
}

#[test]
fn other_client_errors_are_not_retried_and_the_calls_go_to_the_fallback_file() {
    let server = FakeServer::start();
    server.respond(|r| r.path.contains("/calls/complete").then(|| Reply::status(403)));
    let dir = tempfile::tempdir().unwrap();
    let exporter = exporter(WeaveServerSink::new(config(&server.url()), PROJECT), dir.path());
    let (items, ids) = calls(3);
    for item in items {
        exporter.export(item);
    }
    let report = exporter.shutdown(Duration::from_secs(10));
    assert_eq!((report.written, report.failed), (0, 3));
    assert_accounted(3, &report, &dir.path().join("fallback.jsonl"));
    assert_eq!(server.requests_to("/calls/complete").len(), 1, "a 403 is not retried");
    let fallback = std::fs::read_to_string(dir.path().join("fallback.jsonl")).unwrap();
    for id in &ids {
        assert!(fallback.contains(id.as_str()));
    }
    assert!(fallback.contains("403") && fallback.contains("WANDB_API_KEY"));
    assert!(!fallback.contains(KEY), "the key must never reach the fallback file");
}

#[test]
fn a_slow_server_is_retried_after_the_timeout_and_every_call_arrives_once() {
    let server = FakeServer::start();
    // Answers too late (and refuses, as a server that gave up would).
    server.fail("/calls/complete", 1, Reply::status(503).delay(Duration::from_millis(1500)));
    let mut c = config(&server.url());
    c.timeout = Duration::from_millis(500);
    let dir = tempfile::tempdir().unwrap();
    let exporter = exporter(WeaveServerSink::new(c, PROJECT), dir.path());
    let (items, ids) = calls(5);
    for item in items {
        exporter.export(item);
    }
    let report = exporter.shutdown(Duration::from_secs(30));
    assert!(report.completed && report.written == 5, "{report:?}");
    assert_accounted(5, &report, &dir.path().join("fallback.jsonl"));
    server.wait_for(Duration::from_secs(5), |s| s.requests_to("/calls/complete").len() >= 2);
    assert_each_once(&server, &ids);
}

#[test]
fn a_server_down_at_start_up_gets_every_call_once_it_is_up() {
    let addr = FakeServer::unused_addr();
    let url = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let exporter = exporter(WeaveServerSink::new(config(&url), PROJECT), dir.path());
    let (items, ids) = calls(10);
    for item in items {
        exporter.export(item);
    }
    assert!(started.elapsed() < Duration::from_millis(500), "export must not wait for the server");
    std::thread::sleep(Duration::from_millis(800));
    let server = FakeServer::start_at(addr);
    let report = exporter.flush(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    assert_eq!((report.written, report.failed, report.dropped), (10, 0, 0));
    assert!(!dir.path().join("fallback.jsonl").exists());
    assert_accounted(10, &report, &dir.path().join("fallback.jsonl"));
    assert_eq!(server.requests()[0].path, "/server_info");
    assert_each_once(&server, &ids);
}

#[test]
fn calls_not_delivered_by_shutdown_are_in_the_fallback_file_and_replay_later() {
    let server = FakeServer::start();
    server.set_down(true);
    let dir = tempfile::tempdir().unwrap();
    let exporter = exporter(WeaveServerSink::new(config(&server.url()), PROJECT), dir.path());
    let (items, ids) = calls(4);
    for item in items {
        exporter.export(item);
    }
    let started = Instant::now();
    let report = exporter.shutdown(Duration::from_secs(2));
    assert!(started.elapsed() < Duration::from_secs(6), "shutdown must respect its timeout");
    assert_eq!(report.written, 0, "{report:?}");
    assert_accounted(4, &report, &dir.path().join("fallback.jsonl"));
    let path = dir.path().join("fallback.jsonl");
    let fallback = std::fs::read_to_string(&path).unwrap();
    assert_eq!(fallback.lines().count(), 4);
    assert!(fallback.contains("\"op\":{"), "the op travels with its first call");
    assert!(!fallback.contains(KEY));

    server.set_down(false);
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT);
    let replayed = replay(&path, &mut sink).unwrap();
    assert_eq!((replayed.lines, replayed.replayed, replayed.failed), (4, 4, 0), "{:?}", replayed.last_error);
    assert_each_once(&server, &ids);
    let files = server.requests_to("/file/create");
    assert!(files.iter().any(|r| r.status == 200), "replay saves the op");
}

#[test]
fn a_connection_reset_mid_request_is_retried_and_every_call_arrives_once() {
    let server = FakeServer::start();
    server.reset_mid_request("/calls/complete", 2);
    let dir = tempfile::tempdir().unwrap();
    let exporter = exporter(WeaveServerSink::new(config(&server.url()), PROJECT), dir.path());
    let (items, ids) = calls(10);
    for item in items {
        exporter.export(item);
    }
    let report = exporter.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    assert_eq!((report.written, report.failed, report.dropped), (10, 0, 0));
    let cut = server.requests_to("/calls/complete").iter().filter(|r| r.status == 0).count();
    assert_eq!(cut, 2, "{:?}", server.summary());
    assert_accounted(10, &report, &dir.path().join("fallback.jsonl"));
    assert!(!dir.path().join("fallback.jsonl").exists());
    assert_each_once(&server, &ids);
}

#[test]
fn a_server_gone_for_a_while_mid_run_gets_every_call_once_it_is_back() {
    let first = FakeServer::start();
    let addr = first.addr();
    let dir = tempfile::tempdir().unwrap();
    let exporter = exporter(WeaveServerSink::new(config(&first.url()), PROJECT), dir.path());
    let (items, ids) = calls(10);
    let mut items = items.into_iter();
    for item in items.by_ref().take(5) {
        exporter.export(item);
    }
    let first_half = exporter.flush(Duration::from_secs(30));
    assert_eq!(first_half.written, 5);
    assert_accounted(5, &first_half, &dir.path().join("fallback.jsonl"));
    drop(first);
    // Connections are refused from now on.
    wait_until(Duration::from_secs(10), "the port to close", || std::net::TcpStream::connect(addr).is_err());
    for item in items {
        exporter.export(item);
    }
    // Let the worker meet the refused connections for a while (not asserted: any time works).
    std::thread::sleep(Duration::from_millis(500));
    let second = FakeServer::start_at(addr);
    let report = exporter.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    assert_eq!((report.written, report.failed, report.dropped), (10, 0, 0));
    assert_accounted(10, &report, &dir.path().join("fallback.jsonl"));
    assert_each_once(&second, &ids[5..]);
    assert!(!dir.path().join("fallback.jsonl").exists());
}

#[test]
fn a_response_that_never_comes_does_not_block_the_app_and_nothing_is_lost() {
    let server = FakeServer::start();
    server.hang("/calls/complete");
    let mut c = config(&server.url());
    c.timeout = Duration::from_millis(300);
    let dir = tempfile::tempdir().unwrap();
    let exporter_config = weave_exporter::ExporterConfig {
        max_queue_size: 50,
        ..fake_server::fast_retry_config(dir.path(), Duration::from_millis(300))
    };
    let exporter = Arc::new(QueueExporter::start(Box::new(WeaveServerSink::new(c, PROJECT)), exporter_config));
    let (items, ids) = calls(1000);
    let mut items = items.into_iter();
    exporter.export(items.next().unwrap());
    // The worker is now inside the sink, waiting for an answer that does not come.
    server.wait_for(Duration::from_secs(10), |s| s.hung() >= 1);

    // The application keeps calling: every export returns although the server never
    // answers (the bound is a guard against a hang, not a speed requirement).
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let app = {
        let exporter = exporter.clone();
        std::thread::spawn(move || {
            for item in items {
                exporter.export(item);
            }
            let _ = done_tx.send(());
        })
    };
    done_rx.recv_timeout(Duration::from_secs(120)).expect("export blocked while the server hung");
    app.join().unwrap();
    let during = exporter.counters();
    assert_eq!(during.written, 0, "the server has answered nothing yet");
    assert!(during.dropped > 0, "a 50-item queue overflows: {during:?}");
    assert!(server.accepted_call_ids().is_empty());

    server.release();
    let report = exporter.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(report.written + report.dropped, 1000, "{report:?}");
    accounting::assert_nowhere_twice(
        &server.accepted_call_ids(),
        &assert_accounted(1000, &report, &dir.path().join("fallback.jsonl")),
    );
    // Every call was either accepted once or put in the fallback file, never both.
    let accepted = server.accepted_call_ids();
    let spilled = fallback_ids(&dir.path().join("fallback.jsonl"));
    assert_eq!(accepted.len() as u64, report.written);
    assert_eq!(spilled.len() as u64, report.dropped);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in accepted.iter().chain(&spilled) {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(counts.get(id.as_str()), Some(&1), "call {id}");
    }
    assert_eq!(counts.len(), ids.len());
}
