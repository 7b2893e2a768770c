use weave::op;

#[op(capture_code = "no")]
fn a() {}

#[op(name = retrieve)]
fn b() {}

#[op(kind = "")]
fn c() {}

#[op(display_name = 3)]
fn d() {}

#[op(postprocess_output = "redact")]
fn e() {}

fn main() {}
