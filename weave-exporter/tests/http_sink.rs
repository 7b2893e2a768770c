//! The Weave trace server sink against an in-process fake server on 127.0.0.1: the
//! routes and wire forms it writes, auth, ops saved once, objects and feedback, eager
//! and legacy paths.

mod common;
mod fake_server;

use base64::Engine as _;
use common::*;
use fake_server::{multipart_parts, FakeServer, Reply};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weave_core::export::{ExportItem, Exporter};
use weave_core::feedback::FeedbackItem;
use weave_core::ids::Id;
use weave_core::object::ObjectItem;
use weave_core::time::Timestamp;
use weave_exporter::http::{ServerConfig, WeaveServerSink};
use weave_exporter::{QueueExporter, Sink};

const KEY: &str = "test-key-0123456789";

fn config(url: &str) -> ServerConfig {
    fake_server::server_config(KEY, url)
}

fn exporter(sink: WeaveServerSink, dir: &Path) -> QueueExporter {
    fake_server::fast_retry_exporter(sink, dir, Duration::from_millis(400))
}

#[test]
fn finished_calls_go_to_calls_complete_with_auth_and_each_op_is_saved_once() {
    let server = FakeServer::start();
    let dir = tempfile::tempdir().unwrap();
    let exporter = exporter(WeaveServerSink::new(config(&server.url()), PROJECT), dir.path());
    let op = op("greet");
    let items: Vec<ExportItem> = (0..3).map(|i| small_call(&op, i)).collect();
    let ids: Vec<String> = items.iter().map(id_of).collect();
    for item in items {
        exporter.export(item);
    }
    assert!(exporter.flush(Duration::from_secs(10)).completed);
    exporter.export(small_call(&op, 9));
    let report = exporter.shutdown(Duration::from_secs(10));
    assert_eq!((report.written, report.failed, report.dropped), (4, 0, 0), "{:?}", server.summary());

    // Start-up, as weave.init: server info, then the project through GraphQL.
    let requests = server.requests();
    assert_eq!(requests[0].path, "/server_info");
    let graphql = server.requests_to("/graphql");
    assert_eq!(graphql.len(), 2, "project query, then upsertModel");
    assert_eq!(graphql[0].json()["variables"], json!({"name": "test-project", "entityName": "test-entity"}));
    assert!(graphql[1].json()["query"].as_str().unwrap().contains("upsertModel"));

    // Every request carries the API key as Basic auth with the user `api`.
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("api:{KEY}")));
    for r in requests.iter().filter(|r| r.path != "/server_info") {
        assert_eq!(r.header("authorization"), Some(expected.as_str()), "{}", r.path);
    }

    // The op: its source through /file/create (multipart obj.py), then the op object.
    let files = server.requests_to("/file/create");
    assert_eq!(files.len(), 1, "saved once per process");
    let parts = multipart_parts(&files[0]);
    let project_field = parts.iter().find(|(name, _, _)| name == "project_id").unwrap();
    assert_eq!(project_field.2, PROJECT.as_bytes());
    let file = parts.iter().find(|(name, _, _)| name == "file").unwrap();
    assert_eq!(file.1.as_deref(), Some("obj.py"));
    assert_eq!(String::from_utf8_lossy(&file.2), op.source_file());
    let objs = server.requests_to("/obj/create");
    assert_eq!(objs.len(), 1);
    let obj = objs[0].json();
    assert_eq!(obj["obj"]["object_id"], "greet");
    assert_eq!(obj["obj"]["val"], op.object_value());

    // Calls: one calls/complete per batch, op_name the op's ref, in the path's project.
    let complete = server.requests_to("/v2/test-entity/test-project/calls/complete");
    assert_eq!(complete.len(), 2);
    let batch = complete[0].json();
    let calls = batch["batch"].as_array().unwrap();
    assert_eq!(calls.iter().map(|c| c["id"].as_str().unwrap().to_string()).collect::<Vec<_>>(), ids);
    for call in calls {
        assert_eq!(call["op_name"], op.ref_uri(PROJECT));
        assert_eq!(call["project_id"], PROJECT);
        assert!(call["ended_at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(server.accepted_call_ids().len(), 4);
}

#[test]
fn eager_calls_are_started_and_ended_through_the_v2_single_call_routes() {
    let server = FakeServer::start();
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT);
    let op = op("long_running");
    let t = Timestamp::now();
    let s = start(&op, None, json!({"steps": 3}), t);
    sink.write_batch(&[started(&s)]).unwrap();
    let child = start(&op, Some(&s), json!({"step": 1}), t);
    let later = Timestamp::from_unix_micros(t.unix_micros() + 1000);
    sink.write_batch(&[
        finished(&child, end(later, Some(json!(1)), None, 0)),
        finished(&s, end(later, Some(json!("done")), None, 0)),
    ])
    .unwrap();
    assert!(sink.take_rejected().is_empty());

    let starts = server.requests_to("/v2/test-entity/test-project/call/start");
    assert_eq!(starts.len(), 1);
    let body = starts[0].json();
    assert_eq!(body["start"]["id"], s.id.to_string());
    assert_eq!(body["start"]["inputs"], json!({"steps": 3}));
    assert!(body["start"].get("output").is_none());
    assert_eq!(starts[0].header("x-weave-trace-id"), Some(s.trace_id.to_string().as_str()));

    // The child went with calls/complete; the eager parent's end with call/end.
    let complete = server.requests_to("/calls/complete");
    assert_eq!(complete.len(), 1);
    assert_eq!(complete[0].call_ids(), vec![child.id.to_string()]);
    let ends = server.requests_to("/v2/test-entity/test-project/call/end");
    assert_eq!(ends.len(), 1);
    let end_body = ends[0].json();
    assert_eq!(end_body["end"]["id"], s.id.to_string());
    assert_eq!(end_body["end"]["trace_id"], s.trace_id.to_string());
    assert_eq!(end_body["end"]["output"], "done");
    assert_eq!(end_body["end"]["summary"]["status_counts"], json!({"success": 1, "error": 0}));
    assert_eq!(ends[0].header("x-weave-trace-id"), Some(s.trace_id.to_string().as_str()));
}

#[test]
fn calls_still_open_at_shutdown_are_written_as_started() {
    let server = FakeServer::start();
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT);
    let s = start(&op("open"), None, json!({}), Timestamp::now());
    sink.write_batch(&[unfinished(&s)]).unwrap();
    let starts = server.requests_to("/call/start");
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].json()["start"]["id"], s.id.to_string());
}

#[test]
fn legacy_mode_writes_starts_and_ends_through_upsert_batch() {
    let server = FakeServer::start();
    let mut c = config(&server.url());
    c.use_calls_complete = false;
    let mut sink = WeaveServerSink::new(c, PROJECT);
    let item = small_call(&op("f"), 1);
    sink.write_batch(std::slice::from_ref(&item)).unwrap();
    assert!(server.requests_to("/v2/").is_empty());
    let upserts = server.requests_to("/call/upsert_batch");
    assert_eq!(upserts.len(), 1);
    let batch = upserts[0].json()["batch"].as_array().unwrap().clone();
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[0]["mode"], "start");
    assert_eq!(batch[0]["req"]["start"]["id"], id_of(&item));
    assert_eq!(batch[1]["mode"], "end");
    assert_eq!(batch[1]["req"]["end"]["output"], 1);
    assert_eq!(batch[1]["req"]["end"]["trace_id"], batch[0]["req"]["start"]["trace_id"]);
}

#[test]
fn a_server_without_the_v2_routes_gets_the_legacy_path() {
    let server = FakeServer::start();
    server.respond(|r| r.path.starts_with("/v2/").then(|| Reply::status(404)));
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT);
    let op = op("f");
    sink.write_batch(&[small_call(&op, 1), small_call(&op, 2)]).unwrap();
    sink.write_batch(&[small_call(&op, 3)]).unwrap();
    assert!(sink.take_rejected().is_empty());
    assert_eq!(server.requests_to("/calls/complete").len(), 1, "asked once, then remembered");
    assert_eq!(server.requests_to("/call/upsert_batch").len(), 2);
    assert_eq!(server.accepted_call_ids().len(), 6, "start and end of each of 3 calls");
}

#[test]
fn published_objects_and_feedback_are_sent() {
    let server = FakeServer::start();
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT);
    let object = ObjectItem::new(PROJECT, "my config", json!({"temperature": 0.5, "tags": ["a"]})).unwrap();
    let call_id = Id::now_v7();
    let mut payload = serde_json::Map::new();
    payload.insert("emoji".into(), json!("👍"));
    let feedback = FeedbackItem {
        id: Id::now_v7(),
        project_id: PROJECT.into(),
        call_id,
        feedback_type: "wandb.reaction.1".into(),
        payload,
        runnable_ref: None,
        call_ref: None,
    };
    sink.write_batch(&[ExportItem::Object(Box::new(object.clone())), ExportItem::Feedback(Box::new(feedback.clone()))])
        .unwrap();
    let objs = server.requests_to("/obj/create");
    assert_eq!(objs.len(), 1);
    let obj = objs[0].json();
    assert_eq!(obj["obj"]["object_id"], "my-config");
    assert_eq!(obj["obj"]["val"], json!({"temperature": 0.5, "tags": ["a"]}));
    let fb = server.requests_to("/feedback/batch/create");
    assert_eq!(fb.len(), 1);
    let item = &fb[0].json()["batch"][0];
    assert_eq!(item["id"], feedback.id.to_string());
    assert_eq!(item["weave_ref"], format!("weave:///{PROJECT}/call/{call_id}"));
    assert_eq!(item["feedback_type"], "wandb.reaction.1");
    assert_eq!(item["payload"], json!({"emoji": "👍"}));
}

#[test]
fn feedback_falls_back_to_single_creates_when_the_batch_route_is_missing() {
    let server = FakeServer::start();
    server.respond(|r| (r.path == "/feedback/batch/create").then(|| Reply::status(404)));
    server.respond(|r| {
        (r.path == "/feedback/create").then(|| Reply { status: 200, body: json!({"id": "x"}), ..Reply::status(200) })
    });
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT);
    let feedback = FeedbackItem {
        id: Id::now_v7(),
        project_id: PROJECT.into(),
        call_id: Id::now_v7(),
        feedback_type: "wandb.note.1".into(),
        payload: serde_json::Map::from_iter([("note".to_string(), json!("hi"))]),
        runnable_ref: None,
        call_ref: None,
    };
    sink.write_batch(&[ExportItem::Feedback(Box::new(feedback))]).unwrap();
    let single = server.requests_to("/feedback/create");
    let single: Vec<_> = single.iter().filter(|r| r.path == "/feedback/create").collect();
    assert_eq!(single.len(), 1);
    assert!(single[0].json().get("id").is_none());
    assert_eq!(single[0].json()["payload"]["note"], "hi");
}

#[test]
fn custom_headers_are_sent_and_the_key_never_shows() {
    let server = FakeServer::start();
    let mut c = config(&server.url());
    c.headers = vec![("X-Team".into(), "blue".into())];
    let sink = WeaveServerSink::new(c, PROJECT);
    let shown = format!("{sink:?} {}", sink.describe());
    assert!(!shown.contains(KEY), "{shown}");
    let mut sink = sink;
    sink.write_batch(&[small_call(&op("f"), 1)]).unwrap();
    assert!(server.requests().iter().all(|r| r.header("x-team") == Some("blue")));
    assert!(server.requests().iter().all(|r| r.header("x-weave-retry-id").is_some()));
}

#[test]
fn the_server_digests_match_the_local_ones() {
    // The fake computes digests with weave-core's functions; this pins that the op object
    // sent is exactly the value those digests were computed over.
    let server = FakeServer::start();
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT);
    let op = op("digest_check");
    sink.write_batch(&[small_call(&op, 1)]).unwrap();
    let obj = server.requests_to("/obj/create")[0].json();
    assert_eq!(weave_core::refs::object_digest(&obj["obj"]["val"]), op.digest());
    let _ = Arc::clone(&op);
}

#[test]
fn an_api_key_from_the_environment_is_found_and_hidden() {
    let (config, _) = ServerConfig::from_env_with(
        |var| match var {
            "WANDB_API_KEY" => Some(KEY.to_string()),
            "WANDB_BASE_URL" => Some("http://127.0.0.1:9".to_string()),
            _ => None,
        },
        None,
    );
    let config = config.expect("a key means a server");
    assert_eq!(config.trace_url, "http://127.0.0.1:9/traces");
    assert!(!format!("{config:?}").contains(KEY));
    let _: Value = json!(null);
}

#[test]
fn tables_and_ops_are_saved_and_start_up_learns_the_internal_project_id() {
    let server = FakeServer::start();
    server.respond(|r| {
        (r.path == "/service/projects_info").then(|| Reply {
            body: json!([{"external_project_id": PROJECT, "internal_project_id": "UHJvamVjdDox"}]),
            ..Reply::status(200)
        })
    });
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT);
    let form = sink.ref_form();
    assert!(form.wait(Duration::ZERO).is_err(), "not known before start-up");
    let rows = vec![json!({"q": "2+2?"}), json!({"q": "1+1?"})];
    let table = weave_core::table::TableItem::new(PROJECT, rows.clone(), &weave_core::refs::RefForm::AsWritten);
    let op_item = weave_core::export::OpItem { project_id: PROJECT.into(), op: op("Model.predict").into() };
    sink.write_batch(&[ExportItem::Op(Box::new(op_item)), ExportItem::Table(Box::new(table.clone()))]).unwrap();

    assert_eq!(form.wait(Duration::ZERO), Ok(weave_core::refs::RefForm::internal(PROJECT, "UHJvamVjdDox")));
    let info = server.requests_to("/service/projects_info");
    assert_eq!(info[0].json(), json!({"project_ids": [PROJECT]}));
    let tables = server.requests_to("/table/create");
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].json(), json!({"table": {"project_id": PROJECT, "rows": rows, "expected_digest": null}}));
    let objs = server.requests_to("/obj/create");
    assert_eq!(objs.len(), 1, "the op object");
    assert_eq!(objs[0].json()["obj"]["object_id"], "Model.predict");
    assert_eq!(server.requests_to("/file/create").len(), 1, "the op's source file");
}

#[test]
fn a_server_without_projects_info_says_so_to_publishers() {
    let server = FakeServer::start(); // answers 404 to /service/projects_info
    let mut sink = WeaveServerSink::new(config(&server.url()), PROJECT);
    let form = sink.ref_form();
    sink.write_batch(&[small_call(&op("f"), 1)]).unwrap();
    let why = form.wait(Duration::ZERO).unwrap_err();
    assert!(why.contains("/service/projects_info"), "{why}");
}
