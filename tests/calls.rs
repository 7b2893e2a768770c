//! What a call captures: summaries and usage roll-up, exceptions for `Err`, panics and
//! cancellations, eager starts, unfinished calls at shutdown, redaction and limits.

use serde::Serialize;
use serde_json::{json, Value};
use weave::testing::{capture, capture_with, CapturedKind};

#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

#[derive(Serialize)]
struct Completion {
    model: String,
    content: String,
    usage: Usage,
}

#[weave::op(kind = "llm")]
fn fake_llm(model: &str, prompt_tokens: u64) -> Completion {
    Completion {
        model: model.to_string(),
        content: "ok".into(),
        usage: Usage { prompt_tokens, completion_tokens: 5, total_tokens: prompt_tokens + 5 },
    }
}

#[derive(Debug)]
struct ToolError {
    source: std::io::Error,
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the tool failed")
    }
}

impl std::error::Error for ToolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[weave::op(kind = "tool")]
fn failing_tool(query: &str) -> Result<String, ToolError> {
    Err(ToolError { source: std::io::Error::other(format!("no network for {query}")) })
}

#[weave::op(kind = "agent")]
fn agent() -> String {
    let a = fake_llm("gpt-4o", 10);
    let b = fake_llm("gpt-4o", 20);
    let c = fake_llm("claude", 1);
    let _ = failing_tool("weather");
    format!("{}{}{}", a.content, b.content, c.content)
}

#[test]
fn usage_and_status_counts_roll_up_from_children() {
    let cap = capture();
    agent();
    let root = &cap.calls_of("agent")[0];
    assert_eq!(
        root.summary()["usage"],
        json!({
            "gpt-4o": {"requests": 2, "prompt_tokens": 30, "completion_tokens": 10, "total_tokens": 40},
            "claude": {"requests": 1, "prompt_tokens": 1, "completion_tokens": 5, "total_tokens": 6}
        })
    );
    assert_eq!(root.summary()["status_counts"], json!({"success": 4, "error": 1}));
    let leaf = &cap.calls_of("fake_llm")[0];
    assert_eq!(leaf.summary()["usage"]["gpt-4o"]["requests"], 1);
    assert_eq!(leaf.attributes()["weave"]["kind"], "llm");
}

#[test]
fn an_err_is_an_exception_with_type_message_and_source_chain() {
    let cap = capture();
    assert!(failing_tool("x").is_err());
    let call = &cap.calls()[0];
    assert_eq!(call.output(), &Value::Null);
    let exception = call.exception().expect("exception recorded");
    assert!(exception["type"].as_str().unwrap().ends_with("ToolError"), "{exception}");
    let message = exception["message"].as_str().unwrap();
    assert!(message.contains("the tool failed") && message.contains("no network for x"), "{message}");
    assert!(exception["traceback"].is_array());
    assert_eq!(call.summary()["status_counts"], json!({"success": 0, "error": 1}));
}

#[weave::op]
fn panicking(n: u32) -> u32 {
    if n > 0 {
        panic!("kaboom {n}");
    }
    n
}

#[test]
fn a_panic_is_recorded_and_keeps_unwinding() {
    let cap = capture();
    let result = std::panic::catch_unwind(|| panicking(7));
    let payload = result.expect_err("the panic reaches the caller");
    assert_eq!(
        weave::__private_0_1_0::type_name_of_val(&payload),
        "alloc::boxed::Box<dyn core::any::Any + core::marker::Send>"
    );
    assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("kaboom 7"));
    let call = &cap.calls()[0];
    let exception = call.exception().unwrap();
    assert_eq!(exception["type"], "panic");
    assert_eq!(exception["message"], "kaboom 7");
    assert!(!exception["traceback"].as_array().unwrap().is_empty());
    assert_eq!(call.output(), &Value::Null);
}

#[weave::op]
async fn slow_op() -> u32 {
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    1
}

#[test]
fn a_dropped_future_is_recorded_as_cancelled() {
    let cap = capture();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let timed_out = tokio::time::timeout(std::time::Duration::from_millis(10), slow_op()).await;
        assert!(timed_out.is_err());
    });
    let call = &cap.calls()[0];
    assert_eq!(call.exception().unwrap()["type"], "Cancelled");
    assert_eq!(call.output(), &Value::Null);
}

#[weave::op(eager_call_start = true)]
fn long_running() -> u32 {
    42
}

#[test]
fn eager_calls_are_visible_before_they_end() {
    let cap = capture();
    long_running();
    let started = cap.items(CapturedKind::Started);
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].ended_at(), None);
    let finished = cap.calls();
    assert_eq!(finished[0].id(), started[0].id());
    assert_eq!(finished[0].output(), &json!(42));
}

#[test]
fn calls_open_at_shutdown_are_written_as_unfinished() {
    let cap = capture();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    #[weave::op]
    fn blocked(entered: std::sync::mpsc::Sender<()>, release: std::sync::mpsc::Receiver<()>) -> u32 {
        let _ = entered.send(());
        let _ = release.recv();
        1
    }
    let worker = std::thread::spawn(move || blocked(entered_tx, release_rx));
    entered_rx.recv().unwrap();
    let everything = cap.finish();
    let unfinished: Vec<_> = cap.items(CapturedKind::Unfinished);
    assert_eq!(unfinished.len(), 1, "{everything:?}");
    assert_eq!(unfinished[0].op_name(), "blocked");
    assert_eq!(unfinished[0].ended_at(), None);
    release_tx.send(()).unwrap();
    assert_eq!(worker.join().unwrap(), 1);
}

#[derive(Serialize)]
struct Request {
    url: String,
    headers: std::collections::BTreeMap<String, String>,
    nested: Vec<Credentials>,
}

#[derive(Serialize)]
struct Credentials {
    api_key: String,
    user: String,
}

#[weave::op]
fn send(api_key: &str, request: Request, ratio: f64) -> f64 {
    let _ = (api_key, request);
    ratio
}

#[test]
fn secrets_are_redacted_and_nan_becomes_null() {
    let cap = capture();
    let mut headers = std::collections::BTreeMap::new();
    headers.insert("Authorization".to_string(), "Bearer sk-secret".to_string());
    headers.insert("Accept".to_string(), "json".to_string());
    let request = Request {
        url: "http://127.0.0.1".into(),
        headers,
        nested: vec![Credentials { api_key: "sk-nested".into(), user: "me".into() }],
    };
    send("sk-top", request, f64::NAN);
    let call = &cap.calls()[0];
    let wire = call.wire().to_string();
    assert!(!wire.contains("sk-"), "a secret leaked: {wire}");
    assert_eq!(call.inputs()["api_key"], "REDACTED");
    assert_eq!(call.inputs()["request"]["headers"]["Authorization"], "REDACTED");
    assert_eq!(call.inputs()["request"]["headers"]["Accept"], "json");
    assert_eq!(call.inputs()["request"]["nested"][0]["api_key"], "REDACTED");
    assert_eq!(call.inputs()["request"]["nested"][0]["user"], "me");
    assert_eq!(call.inputs()["ratio"], Value::Null);
    assert_eq!(call.output(), &Value::Null);
}

#[weave::op]
fn takes_big(text: String) -> usize {
    text.len()
}

#[test]
fn huge_values_are_truncated_with_a_marker() {
    let settings = weave::Settings { max_value_bytes: 1024, print_call_link: false, ..weave::Settings::default() };
    let cap = capture_with(settings);
    assert_eq!(takes_big("x".repeat(1_000_000)), 1_000_000);
    let call = &cap.calls()[0];
    let text = call.inputs()["text"].as_str().unwrap();
    assert!(text.len() < 2048, "{}", text.len());
    assert!(text.contains("truncated"), "{text}");
    assert_eq!(call.output(), &json!(1_000_000));
}

#[test]
fn op_refs_carry_the_source_digest() {
    let cap = capture();
    leaf_plain_recorded(1);
    let call = &cap.calls()[0];
    let op_ref = call.op_ref();
    assert!(op_ref.starts_with("weave:///test-entity/test-project/op/leaf_plain_recorded:"), "{op_ref}");
    let digest = op_ref.rsplit(':').next().unwrap();
    assert_eq!(digest.len(), 43);
    assert!(call.started_at().ends_with('Z') && call.started_at().len() == 27, "{}", call.started_at());
}

#[weave::op]
fn leaf_plain_recorded(n: u64) -> u64 {
    n
}
