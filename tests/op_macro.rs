//! What `#[op]` records for each form of function it accepts and for each option, seen
//! through the in-memory capture of `weave::testing`; and that the wrapped function
//! behaves exactly as before (return values, `?`, panics, drop order).

use serde::Serialize;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::fmt;
use weave::op;
use weave::testing::{capture, CapturedCall};

fn only(calls: &[CapturedCall]) -> &CapturedCall {
    assert_eq!(calls.len(), 1, "expected exactly one call, got {calls:#?}");
    &calls[0]
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

// ---------------------------------------------------------------------------------------
// Free functions: inputs by parameter name, output, same return value.

#[op]
fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[test]
fn free_fn_records_inputs_by_name_and_output() {
    let cap = capture();
    assert_eq!(add(2, 3), 5);
    let call = only(&cap.calls()).clone();
    assert_eq!(call.op_name(), "add");
    assert_eq!(call.inputs(), &json!({"a": 2, "b": 3}));
    assert_eq!(call.output(), &json!(5));
    assert_eq!(call.exception(), None);
}

#[op]
fn no_return(log: &RefCell<Vec<String>>) {
    log.borrow_mut().push("ran".into());
}

#[test]
fn fn_without_return_type_records_null_output() {
    let cap = capture();
    let log = RefCell::new(Vec::new());
    no_return(&log);
    assert_eq!(log.borrow().as_slice(), ["ran"]);
    let call = only(&cap.calls()).clone();
    assert_eq!(call.output(), &Value::Null);
    // Inputs are captured before the body runs.
    assert_eq!(call.inputs(), &json!({"log": []}));
}

#[op]
fn early_return(n: u32) -> u32 {
    if n > 10 {
        return 10;
    }
    n
}

#[test]
fn early_return_is_the_output() {
    let cap = capture();
    assert_eq!(early_return(50), 10);
    assert_eq!(early_return(3), 3);
    let calls = cap.calls();
    assert_eq!(calls[0].output(), &json!(10));
    assert_eq!(calls[1].output(), &json!(3));
}

#[op]
fn boxed_display(n: u32) -> Box<dyn fmt::Display> {
    Box::new(n)
}

#[test]
fn coercions_in_the_body_still_apply() {
    let _cap = capture();
    assert_eq!(boxed_display(4).to_string(), "4");
}

// ---------------------------------------------------------------------------------------
// Floats at their own precision: an `f32` is written with the shortest digits that give it
// back as an `f32` (`0.2`), not those of its value widened to `f64` (`0.20000000298023224`).

#[derive(Serialize, Debug)]
struct Sample {
    weight: f32,
    ratio: f64,
}

#[op]
fn scale(factor: f32, by_ref: &f32, precise: f64, sample: Sample, weights: Vec<f32>, pair: (f32, u8)) -> f32 {
    let _ = (by_ref, precise, sample, weights, pair);
    factor * 2.0
}

#[test]
fn f32_values_are_captured_at_their_own_precision() {
    let cap = capture();
    let sample = Sample { weight: 0.2, ratio: 0.1 };
    assert_eq!(scale(0.2, &0.7, 0.1, sample, vec![0.2, 1.5, 3.4e38], (0.2, 1)), 0.4);
    let call = only(&cap.calls()).clone();
    let expected = json!({
        "factor": 0.2,
        "by_ref": 0.7,
        "precise": 0.1,
        "sample": {"weight": 0.2, "ratio": 0.1},
        "weights": [0.2, 1.5, 3.4e38],
        "pair": [0.2, 1],
    });
    assert_eq!(call.inputs(), &expected);
    assert_eq!(call.inputs().to_string(), expected.to_string(), "the same digits");
    assert_eq!(call.output(), &json!(0.4));
    assert!(!call.wire().to_string().contains("0000000"), "{}", call.wire());
}

#[test]
fn non_finite_f32_values_are_null() {
    let cap = capture();
    let sample = Sample { weight: f32::NEG_INFINITY, ratio: f64::NAN };
    assert!(scale(f32::NAN, &f32::INFINITY, f64::INFINITY, sample, vec![f32::NAN, 0.2], (f32::INFINITY, 1)).is_nan());
    let call = only(&cap.calls()).clone();
    assert_eq!(
        call.inputs(),
        &json!({
            "factor": null,
            "by_ref": null,
            "precise": null,
            "sample": {"weight": null, "ratio": null},
            "weights": [null, 0.2],
            "pair": [null, 1],
        })
    );
    assert_eq!(call.output(), &Value::Null);
}

// ---------------------------------------------------------------------------------------
// Destructured and `mut` parameters.

#[derive(Serialize, Clone)]
struct Point {
    x: i32,
    y: i32,
}

#[op]
fn destructured((a, b): (u8, u8), Point { x, y }: Point, [first, _]: [u8; 2], _: u8) -> i32 {
    a as i32 + b as i32 + x + y + first as i32
}

#[test]
fn destructured_params_are_captured_by_binding_name() {
    let cap = capture();
    assert_eq!(destructured((1, 2), Point { x: 3, y: 4 }, [5, 6], 7), 15);
    let call = only(&cap.calls()).clone();
    assert_eq!(call.inputs(), &json!({"a": 1, "b": 2, "x": 3, "y": 4, "first": 5}));
}

#[op]
fn mut_params(mut items: Vec<u32>, (mut n, m): (u32, u32)) -> Vec<u32> {
    n += m;
    items.push(n);
    items
}

#[test]
fn mut_params_are_captured_before_the_body_runs() {
    let cap = capture();
    assert_eq!(mut_params(vec![1], (2, 3)), vec![1, 5]);
    let call = only(&cap.calls()).clone();
    assert_eq!(call.inputs(), &json!({"items": [1], "n": 2, "m": 3}));
    assert_eq!(call.output(), &json!([1, 5]));
}

// ---------------------------------------------------------------------------------------
// Methods: named `Type.method`, `self` captured as the value.

#[derive(Serialize, Debug, Default)]
struct Planner {
    steps: Vec<String>,
}

impl Planner {
    #[op]
    fn new() -> Self {
        Planner::default()
    }

    #[op]
    fn plan(&self, goal: &str) -> usize {
        goal.len() + self.steps.len()
    }

    #[op]
    fn add_step(&mut self, step: &str) {
        self.steps.push(step.to_string());
    }

    #[op]
    fn steps_mut(&mut self) -> &mut Vec<String> {
        &mut self.steps
    }

    #[op]
    fn into_steps(self) -> Vec<String> {
        self.steps
    }

    #[op]
    fn helper(n: u8) -> u8 {
        n
    }

    #[op]
    async fn plan_async(&self, goal: String) -> usize {
        goal.len()
    }
}

#[test]
fn methods_are_named_type_dot_method_and_capture_self() {
    let cap = capture();
    let mut planner = Planner::new();
    planner.add_step("look");
    assert_eq!(planner.plan("go"), 3);
    planner.steps_mut().push("leap".into());
    assert_eq!(planner.into_steps(), ["look", "leap"]);
    let calls = cap.calls();
    let names: Vec<&str> = calls.iter().map(|c| c.op_name()).collect();
    assert_eq!(names, ["Planner.new", "Planner.add_step", "Planner.plan", "Planner.steps_mut", "Planner.into_steps"]);
    assert_eq!(calls[0].output(), &json!({"steps": []}));
    assert_eq!(calls[1].inputs(), &json!({"self": {"steps": []}, "step": "look"}));
    assert_eq!(calls[2].inputs(), &json!({"self": {"steps": ["look"]}, "goal": "go"}));
    assert_eq!(calls[3].output(), &json!(["look"]));
    assert_eq!(calls[4].inputs(), &json!({"self": {"steps": ["look", "leap"]}}));
}

#[test]
fn associated_fns_without_self_are_named_like_free_fns() {
    let cap = capture();
    assert_eq!(Planner::helper(7), 7);
    assert_eq!(only(&cap.calls()).op_name(), "helper");
}

#[test]
fn async_methods_are_named_type_dot_method() {
    let cap = capture();
    let planner = Planner::default();
    assert_eq!(block_on(planner.plan_async("abc".into())), 3);
    let call = only(&cap.calls()).clone();
    assert_eq!(call.op_name(), "Planner.plan_async");
    assert_eq!(call.inputs(), &json!({"self": {"steps": []}, "goal": "abc"}));
    assert_eq!(call.output(), &json!(3));
}

trait Tool {
    fn run(&self, input: u32) -> u32;
    async fn run_async(&self, input: u32) -> u32;
}

#[derive(Serialize)]
struct Doubler;

impl Tool for Doubler {
    #[op]
    fn run(&self, input: u32) -> u32 {
        input * 2
    }

    #[op]
    async fn run_async(&self, input: u32) -> u32 {
        input * 2
    }
}

#[test]
fn trait_impl_methods_are_recorded() {
    let cap = capture();
    assert_eq!(Doubler.run(2), 4);
    assert_eq!(block_on(Doubler.run_async(3)), 6);
    let calls = cap.calls();
    assert_eq!(calls[0].op_name(), "Doubler.run");
    assert_eq!(calls[0].inputs(), &json!({"self": null, "input": 2}));
    assert_eq!(calls[1].op_name(), "Doubler.run_async");
    assert_eq!(calls[1].output(), &json!(6));
}

// ---------------------------------------------------------------------------------------
// Generic functions, `impl Trait` returns, values with neither Serialize nor Debug.

#[op]
fn describe<T: fmt::Debug, U>(value: T, extra: U) -> String
where
    U: Into<u64>,
{
    format!("{value:?}/{}", extra.into())
}

#[test]
fn generic_fns_capture_through_their_bounds() {
    let cap = capture();
    assert_eq!(describe(vec![1], 2u8), "[1]/2");
    let call = only(&cap.calls()).clone();
    // Generic parameters are captured through the bounds the function declares: here
    // `T: Debug` gives the Debug text, unbounded `U` gives its type name.
    assert_eq!(call.inputs()["value"], json!("[1]"));
    assert!(call.inputs()["extra"].as_str().unwrap().contains("u8"), "{:?}", call.inputs());
    assert_eq!(call.output(), &json!("[1]/2"));
}

#[op]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[test]
fn impl_trait_returns_still_work() {
    let _cap = capture();
    assert_eq!(evens(5).collect::<Vec<_>>(), [0, 2, 4]);
}

struct Secret(#[allow(dead_code)] u64);

#[op]
fn opaque(secret: Secret) -> Secret {
    secret
}

#[test]
fn values_without_serialize_or_debug_are_named_by_type() {
    let cap = capture();
    let _ = opaque(Secret(1));
    let call = only(&cap.calls()).clone();
    let input = call.inputs()["secret"].as_str().unwrap_or_default().to_string();
    assert!(input.contains("Secret"), "{input}");
    assert!(call.output().as_str().unwrap_or_default().contains("Secret"), "{:?}", call.output());
}

// ---------------------------------------------------------------------------------------
// Results, errors and panics.

#[derive(Debug)]
struct ToolError {
    code: u16,
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tool failed with code {}", self.code)
    }
}

impl std::error::Error for ToolError {}

fn check(code: u16) -> Result<u16, ToolError> {
    if code == 0 {
        Ok(200)
    } else {
        Err(ToolError { code })
    }
}

#[op]
fn call_tool(code: u16) -> Result<u16, ToolError> {
    let status = check(code)?;
    Ok(status + 1)
}

#[test]
fn ok_is_the_output() {
    let cap = capture();
    assert_eq!(call_tool(0).unwrap(), 201);
    let call = only(&cap.calls()).clone();
    assert_eq!(call.output(), &json!(201));
    assert_eq!(call.exception(), None);
}

#[test]
fn err_is_an_exception_with_type_and_message() {
    let cap = capture();
    let err = call_tool(7).unwrap_err();
    assert_eq!(err.code, 7, "`?` returned the same error");
    let call = only(&cap.calls()).clone();
    let exception = call.exception().expect("an exception");
    assert!(exception["type"].as_str().unwrap().ends_with("ToolError"), "{exception}");
    assert_eq!(exception["message"], json!("tool failed with code 7"));
    assert_eq!(call.output(), &Value::Null);
}

#[op]
fn io_result(fail: bool) -> std::io::Result<&'static str> {
    if fail {
        return Err(std::io::Error::other("disk gone"));
    }
    Ok("fine")
}

#[test]
fn result_aliases_are_recognised() {
    let cap = capture();
    assert_eq!(io_result(false).unwrap(), "fine");
    assert!(io_result(true).is_err());
    let calls = cap.calls();
    assert_eq!(calls[0].output(), &json!("fine"));
    assert_eq!(calls[1].exception().unwrap()["message"], json!("disk gone"));
}

/// The line of `explode`'s `#[op]`, where all the code `#[op]` generates is.
const EXPLODE_OP_LINE: u32 = line!() + 1;
#[op]
fn explode(n: u32) -> u32 {
    if n > 0 {
        panic!("exploded at {n}");
    }
    n
}

#[test]
fn panic_is_recorded_then_keeps_unwinding() {
    let cap = capture();
    let caught = std::panic::catch_unwind(|| explode(3));
    let payload = caught.expect_err("the panic reaches the caller");
    assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("exploded at 3"));
    let call = only(&cap.calls()).clone();
    let exception = call.exception().expect("an exception");
    assert_eq!(exception["type"], json!("panic"));
    assert!(exception["message"].as_str().unwrap().contains("exploded at 3"), "{exception}");
    assert_eq!(call.inputs(), &json!({"n": 3}));
}

/// Checks a panic's traceback: this test crate's frames only, oldest first, from the test
/// function `test_fn` to the body of the op `op_fn` (whose `#[op]` is on line `op_line`),
/// then the panic's location; no frame of std, tokio, the test harness, thread start,
/// weave or the code `#[op]` generates.
fn assert_program_frames(exception: &Value, test_fn: &str, op_fn: &str, op_line: u32) {
    let frames = exception["traceback"].as_array().expect("a traceback");
    let name = |frame: &Value| frame["function_name"].as_str().unwrap_or_default().to_string();
    let names: Vec<String> = frames.iter().map(name).collect();
    let (location, program) = frames.split_last().expect("at least the panic's location");
    assert_eq!(location["function_name"], "<panic>", "{names:#?}");
    assert_eq!(location["filename"], "tests/op_macro.rs", "{names:#?}");
    for frame in program {
        let function = name(frame);
        assert!(function.starts_with("op_macro::"), "{function} is not the program's, in {names:#?}");
        for foreign in
            ["std::", "core::", "alloc::", "tokio::", "futures", "test::", "weave_", "clone3", "start_thread"]
        {
            assert!(!function.contains(foreign), "{function} in {names:#?}");
        }
        assert!(frame["filename"].as_str().unwrap_or_default().ends_with("tests/op_macro.rs"), "{frame}");
        if function.starts_with(&format!("op_macro::{op_fn}")) {
            assert_ne!(frame["line_number"], op_line, "{function} is code `#[op]` generates, in {names:#?}");
        }
    }
    let first = program.first().map(name).unwrap_or_default();
    assert!(first.starts_with(&format!("op_macro::{test_fn}")), "the oldest frame is the test's: {names:#?}");
    let last = program.last().map(name).unwrap_or_default();
    assert!(last.starts_with(&format!("op_macro::{op_fn}::")), "the newest frame is the op's body: {names:#?}");
}

#[test]
fn a_panics_traceback_holds_the_programs_frames_only() {
    let cap = capture();
    assert!(std::panic::catch_unwind(|| explode(4)).is_err());
    let exception = only(&cap.calls()).exception().expect("an exception");
    assert_program_frames(&exception, "a_panics_traceback_holds_the_programs_frames_only", "explode", EXPLODE_OP_LINE);
}

/// The line of `explode_later`'s `#[op]`.
const EXPLODE_LATER_OP_LINE: u32 = line!() + 1;
#[op]
async fn explode_later(n: u32) -> u32 {
    tokio::task::yield_now().await;
    if n > 0 {
        panic!("exploded later at {n}");
    }
    n
}

#[test]
fn an_async_panics_traceback_holds_the_programs_frames_only() {
    let cap = capture();
    assert!(std::panic::catch_unwind(|| block_on(explode_later(4))).is_err());
    let exception = only(&cap.calls()).exception().expect("an exception");
    assert_eq!(exception["message"], "exploded later at 4");
    assert_program_frames(
        &exception,
        "an_async_panics_traceback_holds_the_programs_frames_only",
        "explode_later",
        EXPLODE_LATER_OP_LINE,
    );
}

#[op]
async fn async_fails(code: u16) -> Result<u16, ToolError> {
    tokio::task::yield_now().await;
    let status = check(code)?;
    Ok(status)
}

#[test]
fn async_err_is_an_exception() {
    let cap = capture();
    assert_eq!(block_on(async_fails(0)).unwrap(), 200);
    assert_eq!(block_on(async_fails(5)).unwrap_err().code, 5);
    let calls = cap.calls();
    assert_eq!(calls[0].output(), &json!(200));
    assert_eq!(calls[1].exception().unwrap()["message"], json!("tool failed with code 5"));
}

// ---------------------------------------------------------------------------------------
// Drop order is the same as without `#[op]`.

thread_local! {
    static DROPS: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        DROPS.with(|d| d.borrow_mut().push(self.0));
    }
}

fn take_drops() -> Vec<&'static str> {
    DROPS.with(|d| std::mem::take(&mut *d.borrow_mut()))
}

#[op(skip_all)]
fn drops_traced(_kept: Noisy, moved: Noisy, _: Noisy, (_x, _y): (Noisy, Noisy)) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    1
}

fn drops_plain(_kept: Noisy, moved: Noisy, _: Noisy, (_x, _y): (Noisy, Noisy)) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    1
}

#[op(skip_all)]
async fn drops_traced_async(_kept: Noisy, moved: Noisy, _: Noisy, (_x, _y): (Noisy, Noisy)) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    tokio::task::yield_now().await;
    1
}

async fn drops_plain_async(_kept: Noisy, moved: Noisy, _: Noisy, (_x, _y): (Noisy, Noisy)) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    tokio::task::yield_now().await;
    1
}

fn noisy_args() -> (Noisy, Noisy, Noisy, (Noisy, Noisy)) {
    (Noisy("kept"), Noisy("moved"), Noisy("wild"), (Noisy("x"), Noisy("y")))
}

#[test]
fn drop_order_is_unchanged() {
    let cap = capture();
    take_drops();
    let (a, b, c, d) = noisy_args();
    drops_plain(a, b, c, d);
    let plain = take_drops();
    let (a, b, c, d) = noisy_args();
    drops_traced(a, b, c, d);
    assert_eq!(take_drops(), plain);
    assert_eq!(cap.calls().len(), 1);
}

// Plain parameter names: the shorter expansion, where the body is a closure of the
// parameters (see op.md), recorded and not.
#[op(skip_all)]
fn drops_traced_named(first: Noisy, moved: Noisy, last: Noisy) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    let _ = (&first, &last);
    1
}

fn drops_plain_named(first: Noisy, moved: Noisy, last: Noisy) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    let _ = (&first, &last);
    1
}

fn named_args() -> (Noisy, Noisy, Noisy) {
    (Noisy("first"), Noisy("moved"), Noisy("last"))
}

#[test]
fn drop_order_is_unchanged_with_plain_parameter_names() {
    take_drops();
    let (a, b, c) = named_args();
    drops_plain_named(a, b, c);
    let plain = take_drops();
    assert_eq!(plain, ["moved", "local", "last", "first"]);
    // No client, while holding the capture lock: another test's capture must not record
    // this call (it did, once, and that test then saw two calls).
    let idle = capture();
    idle.finish();
    let (a, b, c) = named_args();
    drops_traced_named(a, b, c);
    assert_eq!(take_drops(), plain, "not recording");
    assert!(idle.calls().is_empty());
    drop(idle);
    let cap = capture();
    let (a, b, c) = named_args();
    drops_traced_named(a, b, c);
    assert_eq!(take_drops(), plain, "recording");
    assert_eq!(cap.calls().len(), 1);
}

#[test]
fn drop_order_is_unchanged_in_async_fns() {
    let cap = capture();
    take_drops();
    let (a, b, c, d) = noisy_args();
    block_on(drops_plain_async(a, b, c, d));
    let plain = take_drops();
    let (a, b, c, d) = noisy_args();
    block_on(drops_traced_async(a, b, c, d));
    assert_eq!(take_drops(), plain);
    assert_eq!(cap.calls().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Options.

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

// ---------------------------------------------------------------------------------------
// Nesting.

#[op]
fn outer_op(n: u32) -> u32 {
    plain_helper(n) + 1
}

fn plain_helper(n: u32) -> u32 {
    add(n, n)
}

#[test]
fn nested_ops_are_children_through_plain_functions() {
    let cap = capture();
    assert_eq!(outer_op(2), 5);
    let calls = cap.calls();
    assert_eq!(calls.len(), 2);
    let (child, parent) = (&calls[0], &calls[1]);
    assert_eq!(child.op_name(), "add");
    assert_eq!(child.parent_id(), Some(parent.id()));
    assert_eq!(child.trace_id(), parent.trace_id());
}

// ---------------------------------------------------------------------------------------
// The static description the macro emits (source text, line, flags), seen through a spy
// runtime reached with `crate = "..."`.

mod spy {
    pub mod __private {
        use std::cell::RefCell;
        pub use weave::__private::{
            call_out_of_line, type_name_of, CallEnding, Capture, CaptureViaDebug, CaptureViaPrimitive,
            CaptureViaSerialize, CaptureViaTypeName, ErrorViaDebug, ErrorViaDisplay, ErrorViaError, ErrorViaTypeName,
            InputsWriter, OpStatic,
        };

        pub struct OpSite(pub OpStatic);

        impl OpSite {
            pub const fn new(info: OpStatic) -> OpSite {
                OpSite(info)
            }
        }

        thread_local! {
            pub static SEEN: RefCell<Vec<(&'static OpStatic, Option<&'static str>)>> = const { RefCell::new(Vec::new()) };
        }

        /// The spy records every call.
        pub fn is_enabled() -> bool {
            true
        }

        pub struct Spied;

        impl Spied {
            pub fn finish<R: ?Sized>(self, _out: &R, _f: impl FnOnce(&mut CallEnding<'_>, &R)) {}
        }

        pub fn start_call(
            site: &'static OpSite,
            self_type: Option<fn() -> &'static str>,
            _inputs: impl FnOnce(&mut InputsWriter<'_>),
        ) -> Spied {
            SEEN.with(|s| s.borrow_mut().push((&site.0, self_type.map(|f| f()))));
            Spied
        }
    }

    pub fn take() -> Vec<(&'static weave::__private::OpStatic, Option<&'static str>)> {
        __private::SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()))
    }
}

const SPIED_LINE: u32 = line!() + 1;
/// Doubles a number.
#[op(crate = "spy", kind = "tool")]
fn spied(n: u32) -> u32 {
    // Comments are part of the captured source.
    n * 2
}

struct Spiedy;

impl Spiedy {
    #[op(crate = "spy", capture_code = false, sample_rate = 0.5, eager_call_start = true)]
    fn method(&self) -> u8 {
        1
    }
}

#[test]
fn op_static_holds_source_with_comments_and_the_first_line() {
    assert_eq!(spied(2), 4);
    let seen = spy::take();
    let (info, self_type) = seen[0];
    assert_eq!(self_type, None);
    assert_eq!(info.name, "spied");
    assert!(!info.name_is_explicit && !info.is_method && !info.is_async);
    assert_eq!(info.line, SPIED_LINE);
    assert_eq!(info.file, file!());
    assert_eq!(info.module_path, module_path!());
    assert_eq!(info.kind, Some("tool"));
    assert_eq!(
        info.source,
        "/// Doubles a number.\n\
         #[op(crate = \"spy\", kind = \"tool\")]\n\
         fn spied(n: u32) -> u32 {\n    \
             // Comments are part of the captured source.\n    \
             n * 2\n\
         }\n"
    );
    assert!(info.capture_code);
    assert_eq!(info.sample_rate, 1.0);
}

#[test]
fn op_static_of_a_method_is_dedented_and_carries_the_options() {
    assert_eq!(Spiedy.method(), 1);
    let seen = spy::take();
    let (info, self_type) = seen[0];
    assert!(self_type.unwrap().ends_with("Spiedy"));
    assert!(info.is_method);
    assert!(!info.capture_code && info.eager_call_start);
    assert_eq!(info.sample_rate, 0.5);
    assert!(info.source.starts_with("#[op(crate = \"spy\""), "{}", info.source);
    assert!(info.source.contains("\nfn method(&self) -> u8 {\n    1\n}\n"), "{}", info.source);
}

trait Greeter {
    fn who(&self) -> &'static str;

    #[op]
    fn greet(&self) -> String {
        format!("hi from {}", self.who())
    }
}

#[derive(Serialize)]
struct English;

#[derive(Serialize)]
struct French;

impl Greeter for English {
    fn who(&self) -> &'static str {
        "en"
    }
}

impl Greeter for French {
    fn who(&self) -> &'static str {
        "fr"
    }
}

#[test]
fn a_default_trait_method_is_named_after_each_implementor() {
    let cap = capture();
    assert_eq!(English.greet(), "hi from en");
    assert_eq!(French.greet(), "hi from fr");
    let names: Vec<String> = cap.calls().iter().map(|c| c.op_name().to_string()).collect();
    assert_eq!(names, ["English.greet", "French.greet"]);
}
