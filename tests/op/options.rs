//! The options of `#[op]`: `skip`, `skip_all`, `name`, `display_name`, `postprocess_*`,
//! `kind`, `sample_rate`, `capture_code`, `eager_call_start`, `crate`.

use crate::methods::Planner;
use crate::support::only;
use serde::Serialize;
use serde_json::{json, Value};
use weave::op;
use weave::testing::capture;

#[op(skip(api_client, scratch))]
fn skips(prompt: &str, api_client: &str, scratch: u8) -> usize {
    prompt.len() + api_client.len() + scratch as usize
}

#[op(skip_all)]
fn skips_all(prompt: &str) -> usize {
    prompt.len()
}

#[test]
fn skip_leaves_out_named_params() {
    let cap = capture();
    assert_eq!(skips("hi", "key", 1), 6);
    assert_eq!(only(&cap.calls()).inputs(), &json!({"prompt": "hi"}));
}

#[test]
fn skip_all_leaves_out_every_param() {
    let cap = capture();
    assert_eq!(skips_all("hi"), 2);
    assert_eq!(only(&cap.calls()).inputs(), &json!({}));
}

#[derive(Serialize)]
struct Session {
    token: String,
}

impl Session {
    #[op(skip(self))]
    fn ask(&self, question: &str) -> usize {
        self.token.len() + question.len()
    }
}

#[test]
fn skip_self_leaves_out_the_receiver() {
    let cap = capture();
    assert_eq!(Session { token: "t".into() }.ask("q"), 2);
    assert_eq!(only(&cap.calls()).inputs(), &json!({"question": "q"}));
}

#[op(name = "retrieve_documents")]
fn retrieve(query: &str) -> Vec<String> {
    vec![query.to_uppercase()]
}

#[test]
fn name_option_sets_the_op_name() {
    let cap = capture();
    retrieve("a");
    assert_eq!(only(&cap.calls()).op_name(), "retrieve_documents");
}

impl Planner {
    #[op(name = "planning")]
    fn named_method(&self) -> u8 {
        1
    }
}

#[test]
fn explicit_name_is_used_as_is_for_methods() {
    let cap = capture();
    Planner::default().named_method();
    assert_eq!(only(&cap.calls()).op_name(), "planning");
}

#[op(display_name = "Fetch page")]
fn fetch(url: &str) -> usize {
    url.len()
}

fn display_from_inputs(call: &weave::CallView<'_>) -> String {
    format!("{} {}", call.op_name, call.inputs["city"].as_str().unwrap_or("?"))
}

#[op(display_name = display_from_inputs)]
fn weather(city: &str) -> String {
    format!("sunny in {city}")
}

#[test]
fn display_name_fixed_and_computed() {
    let cap = capture();
    fetch("https://example.test");
    weather("Oslo");
    let calls = cap.calls();
    assert_eq!(calls[0].display_name(), Some("Fetch page"));
    assert_eq!(calls[1].display_name(), Some("weather Oslo"));
}

fn redact_inputs(mut inputs: Value) -> Value {
    inputs["password"] = json!("***");
    inputs
}

fn wrap_output(output: Value) -> Value {
    json!({"wrapped": output})
}

#[op(postprocess_inputs = redact_inputs, postprocess_output = wrap_output)]
fn login(user: &str, password: &str) -> bool {
    !user.is_empty() && !password.is_empty()
}

#[test]
fn postprocess_functions_rewrite_inputs_and_output() {
    let cap = capture();
    assert!(login("ada", "hunter2"));
    let call = only(&cap.calls()).clone();
    assert_eq!(call.inputs(), &json!({"user": "ada", "password": "***"}));
    assert_eq!(call.output(), &json!({"wrapped": true}));
}

#[op(kind = "llm")]
fn complete(prompt: &str) -> String {
    format!("{prompt}...")
}

#[test]
fn kind_is_written_to_weave_attributes() {
    let cap = capture();
    complete("Once");
    assert_eq!(only(&cap.calls()).attributes()["weave"]["kind"], json!("llm"));
}

#[op]
fn traced_child(n: u32) -> u32 {
    n
}

#[op(sample_rate = 0.0)]
fn never_sampled(n: u32) -> u32 {
    traced_child(n) + 1
}

#[op]
fn sampled_parent(n: u32) -> u32 {
    never_sampled(n)
}

#[test]
fn sample_rate_zero_skips_a_root_and_its_children() {
    let cap = capture();
    assert_eq!(never_sampled(1), 2);
    assert!(cap.calls().is_empty(), "{:#?}", cap.calls());
}

#[test]
fn sample_rate_applies_to_roots_only() {
    let cap = capture();
    assert_eq!(sampled_parent(1), 2);
    let names: Vec<String> = cap.calls().iter().map(|c| c.op_name().to_string()).collect();
    assert_eq!(names, ["traced_child", "never_sampled", "sampled_parent"]);
}

/// The doc comment is part of the captured code.
#[op(capture_code = false, eager_call_start = true)]
fn quiet(n: u8) -> u8 {
    n
}

#[test]
fn capture_code_and_eager_call_start_options_compile_and_record() {
    let cap = capture();
    assert_eq!(quiet(4), 4);
    assert_eq!(only(&cap.calls()).output(), &json!(4));
}

mod reexport {
    pub use weave as runtime;
}

#[op(crate = "reexport::runtime")]
fn through_reexport(n: u8) -> u8 {
    n + 1
}

#[test]
fn crate_option_reaches_the_runtime_through_another_path() {
    let cap = capture();
    assert_eq!(through_reexport(1), 2);
    assert_eq!(only(&cap.calls()).op_name(), "through_reexport");
}
