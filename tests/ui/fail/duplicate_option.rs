use weave::op;

#[op(name = "a", kind = "llm", name = "b")]
fn named() {}

fn main() {}
