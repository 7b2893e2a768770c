//! Calls started by hand (`weave::CallBuilder`): parents, outputs, errors, cancellation.

use serde_json::json;
use weave::testing::{capture, CapturedKind};

#[weave::op]
fn child(n: u32) -> u32 {
    n + 1
}

#[test]
fn a_manual_call_is_a_parent_and_records_output() {
    let cap = capture();
    let call = weave::CallBuilder::new("Evaluation.predict_and_score")
        .input("example", &json!({"question": "q", "api_key": "sk-x"}))
        .display_name("row 1")
        .attributes([("_weave_eval_meta".to_string(), json!({"declarative": true}))].into_iter().collect())
        .start();
    let context = call.context();
    let out = context.in_scope(|| child(1));
    call.finish(&json!({"output": out}));
    let calls = cap.calls();
    let parent = calls.iter().find(|c| c.op_name() == "Evaluation.predict_and_score").unwrap();
    let kid = calls.iter().find(|c| c.op_name() == "child").unwrap();
    assert_eq!(kid.parent_id(), Some(parent.id()));
    assert_eq!(parent.inputs()["example"]["question"], "q");
    assert_eq!(parent.inputs()["example"]["api_key"], "REDACTED");
    assert_eq!(parent.output(), &json!({"output": 2}));
    assert_eq!(parent.display_name(), Some("row 1"));
    assert_eq!(parent.attributes()["_weave_eval_meta"]["declarative"], true);
    assert_eq!(parent.summary()["status_counts"], json!({"success": 2, "error": 0}));
}

#[test]
fn failed_eager_and_dropped_manual_calls() {
    let cap = capture();
    let failing = weave::CallBuilder::new("scorer").start();
    failing.fail(weave::Exception::new("ValueError", "bad score"));
    let eager = weave::CallBuilder::new("Evaluation.evaluate").eager(true).start();
    assert_eq!(cap.items(CapturedKind::Started).len(), 1);
    drop(eager);
    let calls = cap.calls();
    assert_eq!(calls[0].exception().unwrap()["message"], "bad score");
    assert_eq!(calls[1].exception().unwrap()["type"], "Cancelled");
}

#[test]
fn a_call_ended_with_what_it_produced_so_far_keeps_both_its_output_and_its_exception() {
    let cap = capture();
    let call = weave::CallBuilder::new("openai.chat.completions.create").start();
    call.fail_with_output(&json!({"content": "one two"}), weave::Exception::new("Cancelled", "dropped early"));
    let calls = cap.calls();
    assert_eq!(calls[0].output(), &json!({"content": "one two"}));
    assert_eq!(calls[0].exception().unwrap()["type"], "Cancelled");
    assert_eq!(calls[0].summary()["status_counts"], json!({"success": 0, "error": 1}));
}
