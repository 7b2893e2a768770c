//! The generic recording API: shape of the call, usage and cost rolled up to ancestors.

use serde_json::{json, Value};
use weave_core::manual::CallBuilder;
use weave_core::testing::capture;
use weave_llm::prices::{self, ModelPrice};
use weave_llm::{costs, total_cost, LlmCall, Usage};

fn anthropic_response(input: u64, output: u64) -> Value {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
           "content": [{"type": "text", "text": "7"}], "stop_reason": "end_turn",
           "usage": {"input_tokens": input, "output_tokens": output, "cache_read_input_tokens": 0}})
}

#[test]
fn a_hand_recorded_call_has_the_integrations_shape() {
    let calls = capture();
    let request =
        json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "prime?"}]});
    let call = LlmCall::start("anthropic.Messages.create", &request);
    assert!(call.is_recording());
    call.finish(&anthropic_response(12, 3));
    let recorded = calls.calls_of("anthropic.Messages.create");
    let [call] = recorded.as_slice() else { panic!("{recorded:?}") };
    assert_eq!(call.inputs(), &request);
    assert_eq!(call.attributes()["weave"]["kind"], "llm");
    assert_eq!(call.output()["content"][0]["text"], "7");
    let usage = &call.summary()["usage"]["claude-sonnet-4-5"];
    assert_eq!(usage, &json!({"requests": 1, "input_tokens": 12, "output_tokens": 3, "cache_read_input_tokens": 0}));
    let cost = &costs(call.summary())["claude-sonnet-4-5"];
    assert_eq!((cost.prompt_tokens, cost.completion_tokens, cost.provider_id.as_str()), (12, 3, "anthropic"));
    assert!((cost.total() - (12.0 * 3e-6 + 3.0 * 1.5e-5)).abs() < 1e-12, "{cost:?}");
}

#[test]
fn usage_and_cost_roll_up_to_every_ancestor() {
    let calls = capture();
    prices::set_price("local-llama", ModelPrice::per_million("ollama", 1.0, 2.0));
    let root = CallBuilder::new("agent").start();
    let step = CallBuilder::new("step").parent(root.context()).start();
    for _ in 0..2 {
        LlmCall::builder("anthropic.Messages.create")
            .request(&json!({"model": "claude-sonnet-4-5"}))
            .parent(step.context())
            .start()
            .finish(&anthropic_response(100, 10));
    }
    // A response without a usage Weave reads: the counts given by hand.
    LlmCall::builder("ollama.chat")
        .request(&json!({"model": "local-llama"}))
        .parent(root.context())
        .start()
        .finish_with_usage(
            &json!({"message": {"content": "hi"}, "prompt_eval_count": 7}),
            "local-llama",
            &Usage::new(7, 5),
        );
    step.finish(&json!("done"));
    root.finish(&json!("done"));

    let root = &calls.calls_of("agent")[0];
    let summary = root.summary();
    assert_eq!(summary["usage"]["claude-sonnet-4-5"]["requests"], 2);
    assert_eq!(summary["usage"]["claude-sonnet-4-5"]["input_tokens"], 200);
    assert_eq!(
        summary["usage"]["local-llama"],
        json!({"requests": 1, "prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12})
    );
    let costs = costs(summary);
    let claude = &costs["claude-sonnet-4-5"];
    assert_eq!((claude.requests, claude.prompt_tokens, claude.completion_tokens), (2, 200, 20));
    // Amounts are summed, unit prices kept.
    assert_eq!(claude.prompt_token_cost, 3e-6);
    assert!((claude.prompt_tokens_total_cost - 200.0 * 3e-6).abs() < 1e-12);
    let llama = &costs["local-llama"];
    assert_eq!((llama.pricing_level_id.as_str(), llama.created_by.as_str()), ("weave-rs", "user"));
    let expected = 200.0 * 3e-6 + 20.0 * 1.5e-5 + 7.0 * 1e-6 + 5.0 * 2e-6;
    assert!((total_cost(summary) - expected).abs() < 1e-12);
    let step = &calls.calls_of("step")[0];
    assert!(costs_of(step.summary()).contains_key("claude-sonnet-4-5"));
    assert!(!costs_of(step.summary()).contains_key("local-llama"));
}

fn costs_of(summary: &Value) -> std::collections::BTreeMap<String, weave_llm::Cost> {
    costs(summary)
}

#[test]
fn failures_and_drops_are_errors() {
    let calls = capture();
    LlmCall::start("x.create", &json!({"model": "m"})).fail("RateLimitError", "429 slow down");
    drop(LlmCall::start("y.create", &json!({"model": "m"})));
    let failed = &calls.calls_of("x.create")[0];
    assert_eq!(failed.exception().unwrap()["type"], "RateLimitError");
    let dropped = &calls.calls_of("y.create")[0];
    assert_eq!(dropped.exception().unwrap()["type"], "Cancelled");
    assert_eq!(dropped.summary()["status_counts"]["error"], 1);
}
