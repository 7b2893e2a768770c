//! `crate = "..."` lets a crate that re-exports weave use the macro.

mod my_sdk {
    pub use weave as tracing_runtime;
    pub use weave::op;
}

#[my_sdk::op(crate = "my_sdk::tracing_runtime")]
fn traced(n: u8) -> u8 {
    n
}

#[my_sdk::op(crate = "crate::my_sdk::tracing_runtime")]
async fn traced_async(n: u8) -> u8 {
    n
}

fn main() {
    assert_eq!(traced(1), 1);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(traced_async(2)), 2);
}
