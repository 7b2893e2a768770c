use weave::op;

#[op]
extern "C" fn callback(n: i32) -> i32 {
    n
}

fn main() {}
