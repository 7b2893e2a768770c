use weave::op;

#[op]
struct Agent {
    name: String,
}

fn main() {}
