use weave::op;

#[op(sample_rate = 1.5)]
fn sampled() {}

#[op(sample_rate = "half")]
fn sampled_text() {}

fn main() {}
