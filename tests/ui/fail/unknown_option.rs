use weave::op;

#[op(nmae = "retrieve")]
fn retrieve() {}

fn main() {}
