//! Helpers the topics share.

use weave::testing::CapturedCall;

/// The one call of `calls`.
pub fn only(calls: &[CapturedCall]) -> &CapturedCall {
    assert_eq!(calls.len(), 1, "expected exactly one call, got {calls:#?}");
    &calls[0]
}

/// Runs `future` to completion on a current-thread runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}
