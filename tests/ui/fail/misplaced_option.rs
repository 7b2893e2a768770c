use weave::op;

#[op(skip_all = true)]
fn a(x: u8) -> u8 {
    x
}

#[op(skip = x)]
fn b(x: u8) -> u8 {
    x
}

#[op(name)]
fn c() {}

#[op(skip(x), skip_all)]
fn d(x: u8) -> u8 {
    x
}

#[op(kind = "llm" name = "x")]
fn e() {}

fn main() {}
