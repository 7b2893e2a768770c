//! Results: `Ok` is the output, `Err` an exception with its type and message, whatever the
//! `Result` alias, sync or async; `?` behaves as without `#[op]`.

use crate::support::{block_on, only};
use serde_json::{json, Value};
use std::fmt;
use weave::op;
use weave::testing::capture;

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

/// A destructured parameter: the body runs in a closure borrowing the parameters, which
/// returns the declared type, so `?` and `return` convert errors as in the function.
#[op]
fn parse_sum((a, b): (&str, &str)) -> Result<u32, Box<dyn std::error::Error>> {
    if a.is_empty() {
        return Err("nothing to parse".into());
    }
    Ok(a.parse::<u32>()? + b.parse::<u32>()?)
}

#[test]
fn question_mark_and_return_convert_when_the_body_borrows_its_parameters() {
    let cap = capture();
    assert_eq!(parse_sum(("1", "2")).unwrap(), 3);
    assert_eq!(parse_sum(("", "2")).unwrap_err().to_string(), "nothing to parse");
    assert!(parse_sum(("1", "x")).is_err());
    let calls = cap.calls();
    assert_eq!(calls[0].output(), &json!(3));
    assert_eq!(calls[1].exception().unwrap()["message"], json!("nothing to parse"));
    assert_eq!(calls[2].exception().unwrap()["message"], json!("invalid digit found in string"));
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
