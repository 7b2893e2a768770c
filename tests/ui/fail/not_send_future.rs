use std::rc::Rc;
use weave::op;

#[op]
async fn holds_rc_across_await() -> usize {
    let shared = Rc::new(1);
    tokio::task::yield_now().await;
    *shared
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    assert_send(holds_rc_across_await());
}
