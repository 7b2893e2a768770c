//! Drop order is the same as without `#[op]`: parameters, locals and moved values, sync and
//! async, recording and not.

use crate::support::block_on;
use std::cell::RefCell;
use weave::op;
use weave::testing::capture;

thread_local! {
    static DROPS: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        DROPS.with(|d| d.borrow_mut().push(self.0));
    }
}

fn take_drops() -> Vec<&'static str> {
    DROPS.with(|d| std::mem::take(&mut *d.borrow_mut()))
}

#[op(skip_all)]
fn drops_traced(_kept: Noisy, moved: Noisy, _: Noisy, (_x, _y): (Noisy, Noisy)) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    1
}

fn drops_plain(_kept: Noisy, moved: Noisy, _: Noisy, (_x, _y): (Noisy, Noisy)) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    1
}

#[op(skip_all)]
async fn drops_traced_async(_kept: Noisy, moved: Noisy, _: Noisy, (_x, _y): (Noisy, Noisy)) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    tokio::task::yield_now().await;
    1
}

async fn drops_plain_async(_kept: Noisy, moved: Noisy, _: Noisy, (_x, _y): (Noisy, Noisy)) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    tokio::task::yield_now().await;
    1
}

fn noisy_args() -> (Noisy, Noisy, Noisy, (Noisy, Noisy)) {
    (Noisy("kept"), Noisy("moved"), Noisy("wild"), (Noisy("x"), Noisy("y")))
}

#[test]
fn drop_order_is_unchanged() {
    let cap = capture();
    take_drops();
    let (a, b, c, d) = noisy_args();
    drops_plain(a, b, c, d);
    let plain = take_drops();
    let (a, b, c, d) = noisy_args();
    drops_traced(a, b, c, d);
    assert_eq!(take_drops(), plain);
    assert_eq!(cap.calls().len(), 1);
}

// Plain parameter names: the shorter expansion, where the body is a closure of the
// parameters (see op.md), recorded and not.
#[op(skip_all)]
fn drops_traced_named(first: Noisy, moved: Noisy, last: Noisy) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    let _ = (&first, &last);
    1
}

fn drops_plain_named(first: Noisy, moved: Noisy, last: Noisy) -> u8 {
    let _local = Noisy("local");
    drop(moved);
    let _ = (&first, &last);
    1
}

fn named_args() -> (Noisy, Noisy, Noisy) {
    (Noisy("first"), Noisy("moved"), Noisy("last"))
}

#[test]
fn drop_order_is_unchanged_with_plain_parameter_names() {
    take_drops();
    let (a, b, c) = named_args();
    drops_plain_named(a, b, c);
    let plain = take_drops();
    assert_eq!(plain, ["moved", "local", "last", "first"]);
    // No client, while holding the capture lock: another test's capture must not record
    // this call (it did, once, and that test then saw two calls).
    let idle = capture();
    idle.finish();
    let (a, b, c) = named_args();
    drops_traced_named(a, b, c);
    assert_eq!(take_drops(), plain, "not recording");
    assert!(idle.calls().is_empty());
    drop(idle);
    let cap = capture();
    let (a, b, c) = named_args();
    drops_traced_named(a, b, c);
    assert_eq!(take_drops(), plain, "recording");
    assert_eq!(cap.calls().len(), 1);
}

// A destructured parameter: the body runs in a closure that borrows what it only borrows
// (not a `move` closure, which would take `first` and `last` and drop them at its end).
#[op(skip_all)]
fn drops_traced_borrowed(first: Noisy, (_x, _y): (Noisy, Noisy), last: Noisy) -> u8 {
    let _local = Noisy("local");
    let _ = (&first, &last);
    1
}

fn drops_plain_borrowed(first: Noisy, (_x, _y): (Noisy, Noisy), last: Noisy) -> u8 {
    let _local = Noisy("local");
    let _ = (&first, &last);
    1
}

fn borrowed_args() -> (Noisy, (Noisy, Noisy), Noisy) {
    (Noisy("first"), (Noisy("x"), Noisy("y")), Noisy("last"))
}

#[test]
fn drop_order_is_unchanged_when_the_body_only_borrows_its_parameters() {
    let cap = capture();
    take_drops();
    let (a, b, c) = borrowed_args();
    drops_plain_borrowed(a, b, c);
    let plain = take_drops();
    let (a, b, c) = borrowed_args();
    drops_traced_borrowed(a, b, c);
    assert_eq!(take_drops(), plain);
    assert_eq!(cap.calls().len(), 1);
}

#[test]
fn drop_order_is_unchanged_in_async_fns() {
    let cap = capture();
    take_drops();
    let (a, b, c, d) = noisy_args();
    block_on(drops_plain_async(a, b, c, d));
    let plain = take_drops();
    let (a, b, c, d) = noisy_args();
    block_on(drops_traced_async(a, b, c, d));
    assert_eq!(take_drops(), plain);
    assert_eq!(cap.calls().len(), 1);
}
