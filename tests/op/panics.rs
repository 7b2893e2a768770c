//! Panics: recorded with their message, then unwinding on; the traceback holds the
//! program's frames only, sync and async.

use crate::support::{block_on, only};
use serde_json::{json, Value};
use std::path::Path;
use weave::op;
use weave::testing::capture;

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

/// The line of the `#[op]` above `fn <op_fn>(` in this file, where all the code `#[op]`
/// generates is (the body keeps its own lines). Read from the file's text, so code moved
/// around the op changes nothing.
fn op_attribute_line(op_fn: &str) -> u32 {
    let lines: Vec<&str> = include_str!("panics.rs").lines().collect();
    let declaration = format!("fn {op_fn}(");
    let fn_line = lines.iter().position(|line| line.contains(&declaration)).expect("the op is in this file");
    let attribute = lines[..fn_line].iter().rposition(|line| line.trim_start().starts_with("#[op")).expect("its #[op]");
    u32::try_from(attribute + 1).expect("a line number")
}

/// Checks a panic's traceback: this test binary's frames only, oldest first, from the test
/// function `test_fn` to the body of the op `op_fn` (both in this module), then the panic's
/// location; no frame of std, tokio, the test harness, thread start, weave or the code
/// `#[op]` generates.
fn assert_program_frames(exception: &Value, test_fn: &str, op_fn: &str) {
    let module = module_path!();
    let krate = module.split("::").next().unwrap_or(module);
    let binary_dir = Path::new(file!()).parent().expect("the test binary's directory");
    let op_line = op_attribute_line(op_fn);
    let frames = exception["traceback"].as_array().expect("a traceback");
    let name = |frame: &Value| frame["function_name"].as_str().unwrap_or_default().to_string();
    let names: Vec<String> = frames.iter().map(name).collect();
    let (location, program) = frames.split_last().expect("at least the panic's location");
    assert_eq!(location["function_name"], "<panic>", "{names:#?}");
    assert_eq!(location["filename"], file!(), "{names:#?}");
    for frame in program {
        let function = name(frame);
        assert!(function.starts_with(&format!("{krate}::")), "{function} is not the program's, in {names:#?}");
        for foreign in
            ["std::", "core::", "alloc::", "tokio::", "futures", "test::", "weave_", "clone3", "start_thread"]
        {
            assert!(!function.contains(foreign), "{function} in {names:#?}");
        }
        let file = Path::new(frame["filename"].as_str().unwrap_or_default());
        assert!(file.parent().is_some_and(|dir| dir.ends_with(binary_dir)), "{frame}");
        if function.starts_with(&format!("{module}::{op_fn}")) {
            assert_ne!(frame["line_number"], op_line, "{function} is code `#[op]` generates, in {names:#?}");
        }
    }
    let (first, last) = (program.first().expect("the test's frame"), program.last().expect("the op's frame"));
    assert!(name(first).starts_with(&format!("{module}::{test_fn}")), "the oldest frame is the test's: {names:#?}");
    assert!(name(last).starts_with(&format!("{module}::{op_fn}::")), "the newest frame is the op's body: {names:#?}");
    for frame in [first, last] {
        assert!(frame["filename"].as_str().unwrap_or_default().ends_with(file!()), "{frame}");
    }
}

#[test]
fn a_panics_traceback_holds_the_programs_frames_only() {
    let cap = capture();
    assert!(std::panic::catch_unwind(|| explode(4)).is_err());
    let exception = only(&cap.calls()).exception().expect("an exception");
    assert_program_frames(&exception, "a_panics_traceback_holds_the_programs_frames_only", "explode");
}

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
    assert_program_frames(&exception, "an_async_panics_traceback_holds_the_programs_frames_only", "explode_later");
}
