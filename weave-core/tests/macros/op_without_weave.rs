//! `#[op(crate = "...")]` in a crate with no `weave` dependency (weave-core's tests have
//! none): every path the generated code names goes through the one given, so each form of
//! function compiles here, and its calls are recorded.

use serde_json::json;
use weave_core::testing::capture;

/// Plain parameter names: the body is a closure of the parameters, behind the switch.
#[weave_macros::op(crate = "weave_core")]
fn add(a: u32, b: u32) -> u32 {
    a + b
}

/// A destructured parameter and a `Result`: the body is a closure borrowing the parameters.
#[weave_macros::op(crate = "weave_core")]
fn parse((text, radix): (&str, u32)) -> Result<u32, std::num::ParseIntError> {
    u32::from_str_radix(text, radix)
}

#[weave_macros::op(crate = "weave_core", name = "halve", display_name = "Halving")]
async fn half(n: u8) -> u8 {
    n / 2
}

#[weave_macros::op(crate = "weave_core")]
fn stop() -> ! {
    panic!("stopped")
}

struct Counter(u8);

impl Counter {
    #[weave_macros::op(crate = "weave_core")]
    fn get(&self) -> u8 {
        self.0
    }
}

#[test]
fn every_form_records_through_the_given_path() {
    let cap = capture();
    assert_eq!(add(1, 2), 3);
    assert_eq!(parse(("ff", 16)), Ok(255));
    assert!(parse(("x", 10)).is_err());
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    assert_eq!(runtime.block_on(half(8)), 4);
    assert!(std::panic::catch_unwind(|| stop()).is_err());
    assert_eq!(Counter(7).get(), 7);
    let calls = cap.calls();
    let names: Vec<&str> = calls.iter().map(|c| c.op_name()).collect();
    assert_eq!(names, ["add", "parse", "parse", "halve", "stop", "Counter.get"]);
    assert_eq!(calls[0].inputs(), &json!({"a": 1, "b": 2}));
    assert_eq!(calls[1].output(), &json!(255));
    assert!(calls[2].exception().is_some());
    assert_eq!(calls[3].display_name(), Some("Halving"));
    assert_eq!(calls[4].exception().expect("the panic")["message"], json!("stopped"));
    assert_eq!(calls[5].output(), &json!(7));
}
