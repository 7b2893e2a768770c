//! Nesting: an op called inside another, through plain functions, is its child.

use crate::functions::add;
use weave::op;
use weave::testing::capture;

#[op]
fn outer_op(n: u32) -> u32 {
    plain_helper(n) + 1
}

fn plain_helper(n: u32) -> u32 {
    add(n, n)
}

#[test]
fn nested_ops_are_children_through_plain_functions() {
    let cap = capture();
    assert_eq!(outer_op(2), 5);
    let calls = cap.calls();
    assert_eq!(calls.len(), 2);
    let (child, parent) = (&calls[0], &calls[1]);
    assert_eq!(child.op_name(), "add");
    assert_eq!(child.parent_id(), Some(parent.id()));
    assert_eq!(child.trace_id(), parent.trace_id());
}
