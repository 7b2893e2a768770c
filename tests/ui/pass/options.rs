//! Every option, alone and together.

use weave::op;

fn display(call: &weave::CallView<'_>) -> String {
    format!("{}!", call.op_name)
}

fn keep(value: serde_json::Value) -> serde_json::Value {
    value
}

#[op(name = "renamed")]
fn a() {}

#[op(display_name = "Fixed name")]
fn b() {}

#[op(display_name = display)]
fn c() {}

#[op(skip(secret, other))]
fn d(visible: u8, secret: &str, other: u8) -> u8 {
    visible + secret.len() as u8 + other
}

#[op(skip_all)]
fn e(secret: &str) -> usize {
    secret.len()
}

#[op(postprocess_inputs = keep, postprocess_output = crate::keep)]
fn f(x: u8) -> u8 {
    x
}

#[op(capture_code = false)]
fn g() {}

#[op(sample_rate = 0.25)]
fn h() {}

#[op(sample_rate = 1)]
fn h2() {}

#[op(kind = "llm")]
fn i() {}

#[op(eager_call_start = true)]
fn j() {}

#[op(crate = "weave")]
fn k() {}

#[op(
    name = "everything",
    display_name = "Everything",
    skip(y),
    postprocess_inputs = keep,
    postprocess_output = keep,
    capture_code = true,
    sample_rate = 0.5,
    kind = "agent",
    eager_call_start = false,
    crate = "::weave",
)]
fn all(x: u8, y: u8) -> u8 {
    x + y
}

struct Agent;

impl Agent {
    #[op(skip(self), kind = "agent")]
    fn step(&self, n: u8) -> u8 {
        n
    }
}

fn main() {
    a();
    b();
    c();
    assert_eq!(d(1, "ab", 3), 6);
    assert_eq!(e("abc"), 3);
    assert_eq!(f(2), 2);
    g();
    h();
    h2();
    i();
    j();
    k();
    assert_eq!(all(1, 2), 3);
    assert_eq!(Agent.step(4), 4);
}
