//! Free functions: inputs by parameter name (destructured and `mut` parameters included),
//! the output, the same return value; generic functions and `impl Trait` returns.

use crate::support::{block_on, only};
use serde::Serialize;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::fmt;
use weave::op;
use weave::testing::capture;

#[op]
pub(crate) fn add(a: u32, b: u32) -> u32 {
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

/// A destructured parameter: the body runs in a closure borrowing the parameters, which
/// returns the declared type, so a `return` and the tail coerce to it as in the function.
#[op]
fn boxed_display_of_pair((a, b): (u32, u32)) -> Box<dyn fmt::Display> {
    if a == 0 {
        return Box::new("none");
    }
    Box::new(a + b)
}

#[test]
fn coercions_in_the_body_still_apply_when_it_borrows_its_parameters() {
    let cap = capture();
    assert_eq!(boxed_display_of_pair((0, 1)).to_string(), "none");
    assert_eq!(boxed_display_of_pair((1, 2)).to_string(), "3");
    assert_eq!(cap.calls().len(), 2);
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

/// Plain names, one `mut`: the body's closure takes the parameters as written.
#[op]
fn appended(count: u64, mut text: String) -> usize {
    text.push('!');
    count as usize + text.len()
}

#[op]
async fn pushed(mut bytes: Vec<u8>) -> usize {
    bytes.push(1);
    bytes.len()
}

#[test]
fn mut_plain_params_can_be_changed_by_the_body_sync_and_async() {
    let cap = capture();
    assert_eq!(appended(1, "ab".into()), 4);
    assert_eq!(block_on(pushed(vec![0])), 2);
    let calls = cap.calls();
    assert_eq!(calls[0].inputs(), &json!({"count": 1, "text": "ab"}));
    assert_eq!(calls[1].inputs(), &json!({"bytes": [0]}));
}

// ---------------------------------------------------------------------------------------
// Generic functions, `impl Trait` returns.

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
