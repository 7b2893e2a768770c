//! LLM usage and costs as the local store gives them back: on the LLM call and on every
//! ancestor, in Weave's shape, read with `weave_llm::costs`.

use serde_json::json;
use weave::store::{CallQuery, LocalStore};
use weave::Settings;
use weave_llm::{costs, total_cost, LlmCall};

#[weave::op]
fn step(question: &str) -> String {
    let call = LlmCall::start("openai.chat.completions.create", &json!({"model": "gpt-4o", "messages": [question]}));
    call.finish(&json!({"model": "gpt-4o", "choices": [],
                        "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}}));
    "done".to_string()
}

#[weave::op]
fn agent() -> String {
    step("a");
    step("b")
}

#[test]
fn costs_are_stored_with_the_calls_and_their_ancestors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weave.db");
    let weave = weave::builder()
        .project("test-entity/llm-costs")
        .settings(Settings { local_store_path: Some(path.clone()), print_call_link: false, ..Settings::default() })
        .init()
        .unwrap();
    agent();
    assert!(weave.finish().completed);

    let store = LocalStore::open(&path).unwrap();
    let calls = store.calls(&CallQuery::default()).unwrap();
    let by_op = |name: &str| calls.iter().filter(|c| c.op_base_name == name).collect::<Vec<_>>();
    let llm = by_op("openai.chat.completions.create");
    assert_eq!(llm.len(), 2);
    let one = 1000.0 * 2.5e-6 + 100.0 * 1e-5;
    assert!((total_cost(&llm[0].summary) - one).abs() < 1e-12);
    let root = by_op("agent")[0];
    let cost = &costs(&root.summary)["gpt-4o"];
    assert_eq!((cost.requests, cost.prompt_tokens, cost.completion_tokens), (2, 2000, 200));
    assert_eq!((cost.prompt_token_cost, cost.effective_date.as_str()), (2.5e-6, weave_llm::prices::current().date()));
    assert!((cost.total() - 2.0 * one).abs() < 1e-12);
    assert_eq!(root.summary["usage"]["gpt-4o"]["requests"], 2);
    // The store's own summary keys sit beside the costs.
    assert_eq!(root.summary["weave"]["status"], "success");
}
