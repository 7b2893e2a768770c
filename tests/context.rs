//! The call context: parents through plain functions, across `.await`, threads, spawned
//! tasks, and 1,000 concurrent tasks on a multi-thread runtime.

use std::collections::HashMap;
use weave::testing::{capture, CapturedCall};
use weave::FutureExt as _;

#[weave::op]
fn leaf(n: u64) -> u64 {
    n * 2
}

fn plain_helper(n: u64) -> u64 {
    leaf(n) + 1
}

#[weave::op]
fn parent_through_plain_fn(n: u64) -> u64 {
    plain_helper(n)
}

fn by_op<'a>(calls: &'a [CapturedCall], name: &str) -> Vec<&'a CapturedCall> {
    calls.iter().filter(|c| c.op_name() == name).collect()
}

#[test]
fn a_call_through_a_plain_function_is_a_child() {
    let cap = capture();
    assert_eq!(parent_through_plain_fn(3), 7);
    let calls = cap.calls();
    let parent = by_op(&calls, "parent_through_plain_fn")[0];
    let child = by_op(&calls, "leaf")[0];
    assert_eq!(child.parent_id(), Some(parent.id()));
    assert_eq!(child.trace_id(), parent.trace_id());
    assert_eq!(parent.parent_id(), None);
    assert_ne!(parent.trace_id(), parent.id(), "a root's trace id differs from its id");
}

#[weave::op]
async fn async_leaf(n: u64) -> u64 {
    tokio::task::yield_now().await;
    n + 1
}

#[weave::op]
async fn async_parent(n: u64) -> u64 {
    let a = async_leaf(n).await;
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    let b = async_leaf(a).await;
    leaf(b)
}

#[test]
fn async_ops_keep_their_call_across_await_on_a_multi_thread_runtime() {
    let cap = capture();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    assert_eq!(rt.block_on(async_parent(1)), 6);
    let calls = cap.calls();
    let parent = by_op(&calls, "async_parent")[0];
    assert_eq!(by_op(&calls, "async_leaf").len(), 2);
    for child in by_op(&calls, "async_leaf").into_iter().chain(by_op(&calls, "leaf")) {
        assert_eq!(child.parent_id(), Some(parent.id()));
        assert_eq!(child.trace_id(), parent.trace_id());
    }
}

#[weave::op]
async fn task_child(i: u64) -> u64 {
    tokio::task::yield_now().await;
    leaf(i)
}

#[weave::op]
async fn task_root(i: u64) -> u64 {
    let spawned = weave::spawn(task_child(i)).await.unwrap();
    let carried = tokio::spawn(task_child(i + 1).in_current_call()).await.unwrap();
    spawned + carried
}

#[test]
fn a_thousand_concurrent_tasks_have_correct_parent_links() {
    let cap = capture();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    rt.block_on(async {
        let handles: Vec<_> = (0..1000u64).map(|i| tokio::spawn(task_root(i))).collect();
        for (i, h) in handles.into_iter().enumerate() {
            let i = i as u64;
            assert_eq!(h.await.unwrap(), i * 2 + (i + 1) * 2);
        }
    });
    let calls = cap.calls();
    assert_eq!(calls.len(), 1000 * 5);
    let by_id: HashMap<&str, &CapturedCall> = calls.iter().map(|c| (c.id(), c)).collect();
    assert_eq!(by_id.len(), calls.len(), "ids are unique");
    let roots = by_op(&calls, "task_root");
    assert_eq!(roots.len(), 1000);
    for root in &roots {
        assert_eq!(root.parent_id(), None);
    }
    for child in by_op(&calls, "task_child") {
        let parent = by_id[child.parent_id().expect("task_child has a parent")];
        assert_eq!(parent.op_name(), "task_root");
        assert_eq!(child.trace_id(), parent.trace_id());
        // The child's input is the root's i or i + 1.
        let i = parent.inputs()["i"].as_u64().unwrap();
        let ci = child.inputs()["i"].as_u64().unwrap();
        assert!(ci == i || ci == i + 1);
    }
    for leaf_call in by_op(&calls, "leaf") {
        let parent = by_id[leaf_call.parent_id().expect("leaf has a parent")];
        assert_eq!(parent.op_name(), "task_child");
        assert_eq!(leaf_call.inputs()["n"], parent.inputs()["i"]);
    }
    // Every root's subtree is counted in its summary.
    for root in roots {
        assert_eq!(root.summary()["status_counts"]["success"], 5);
    }
}

#[weave::op]
fn fan_out_threads() -> u64 {
    let a = weave::spawn_thread(|| leaf(1));
    let context = weave::CallContext::current();
    let b = std::thread::spawn(move || {
        let _entered = context.enter();
        leaf(2)
    });
    let c = std::thread::spawn(|| leaf(3)); // not carried: a root of its own
    a.join().unwrap() + b.join().unwrap() + c.join().unwrap()
}

#[test]
fn threads_carry_the_call_only_when_asked() {
    let cap = capture();
    assert_eq!(fan_out_threads(), 12);
    let calls = cap.calls();
    let parent = by_op(&calls, "fan_out_threads")[0];
    let leaves = by_op(&calls, "leaf");
    let carried: Vec<_> = leaves.iter().filter(|c| c.parent_id() == Some(parent.id())).collect();
    assert_eq!(carried.len(), 2);
    let orphan = leaves.iter().find(|c| c.inputs()["n"] == 3).unwrap();
    assert_eq!(orphan.parent_id(), None);
    assert_ne!(orphan.trace_id(), parent.trace_id());
}

#[weave::op]
fn with_attrs() -> u64 {
    let _outer = weave::attributes([("env", "prod"), ("team", "search")]);
    weave::with_attributes([("env", "staging")], || leaf(1)) + leaf(2)
}

#[test]
fn attributes_nest_inner_wins_and_are_frozen_at_start() {
    let cap = capture();
    with_attrs();
    let calls = cap.calls();
    let leaves = by_op(&calls, "leaf");
    let inner = leaves.iter().find(|c| c.inputs()["n"] == 1).unwrap();
    let outer = leaves.iter().find(|c| c.inputs()["n"] == 2).unwrap();
    assert_eq!(inner.attributes()["env"], "staging");
    assert_eq!(inner.attributes()["team"], "search");
    assert_eq!(outer.attributes()["env"], "prod");
    let root = by_op(&calls, "with_attrs")[0];
    assert!(root.attributes().get("env").is_none(), "attributes are frozen when a call starts");
    assert_eq!(root.attributes()["weave"]["source"], "rust-sdk");
}

#[test]
fn threads_and_turns() {
    let cap = capture();
    {
        let _thread = weave::thread("conversation-1");
        parent_through_plain_fn(1);
        parent_through_plain_fn(2);
    }
    leaf(9);
    let calls = cap.calls();
    let turns = by_op(&calls, "parent_through_plain_fn");
    for turn in &turns {
        assert_eq!(turn.thread_id(), Some("conversation-1"));
        assert_eq!(turn.turn_id(), Some(turn.id()), "a top-level call in a thread is a turn");
    }
    let inside: Vec<_> = by_op(&calls, "leaf").into_iter().filter(|c| c.parent_id().is_some()).collect();
    for child in inside {
        let parent = turns.iter().find(|t| Some(t.id()) == child.parent_id()).unwrap();
        assert_eq!(child.thread_id(), Some("conversation-1"));
        assert_eq!(child.turn_id(), Some(parent.id()));
    }
    let outside = by_op(&calls, "leaf").into_iter().find(|c| c.inputs()["n"] == 9).unwrap();
    assert_eq!(outside.thread_id(), None);
}

#[test]
fn current_call_sets_display_name_and_summary() {
    #[weave::op]
    fn named() -> u64 {
        let call = weave::current_call().expect("inside an op");
        call.set_display_name("custom name");
        let mut extra = weave::JsonObject::new();
        extra.insert("score".into(), 3.into());
        call.add_summary(extra);
        1
    }
    let cap = capture();
    named();
    let call = &cap.calls()[0];
    assert_eq!(call.display_name(), Some("custom name"));
    assert_eq!(call.summary()["score"], 3);
    assert_eq!(call.summary()["status_counts"]["success"], 1);
    assert!(weave::current_call().is_none());
}

// A sync op's context refers to its call without counting it (the op's guard owns the
// call); whatever keeps that context beyond the op must count it. A `ContextGuard` entered
// inside an op and returned from it keeps the op's context, to restore when dropped.
#[weave::op(skip_all)]
fn returns_an_entered_guard(other: &weave::CallContext) -> weave::ContextGuard {
    other.enter()
}

#[test]
fn a_context_guard_returned_from_an_op_keeps_the_op_alive_for_the_calls_after_it() {
    let cap = capture();
    let other = weave::CallContext::default();
    let guard = returns_an_entered_guard(&other);
    // The op has ended and its guard dropped its call; `guard` still holds its context.
    let _churn: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 512]).collect();
    drop(guard);
    let current = weave::CallContext::current();
    assert_eq!(leaf(1), 2);
    let calls = cap.calls();
    let op = by_op(&calls, "returns_an_entered_guard")[0];
    let child = by_op(&calls, "leaf")[0];
    assert_eq!(current.call_id().map(|id| id.to_string()).as_deref(), Some(op.id()));
    assert_eq!(child.parent_id(), Some(op.id()));
    assert_eq!(child.trace_id(), op.trace_id());
}

// A sync call's allocation is reused by the thread's next call once nothing refers to it:
// a handle kept after the op returns keeps it from being reused.
#[weave::op(skip_all)]
fn hands_out_its_call() -> Option<weave::CurrentCall> {
    weave::current_call()
}

#[test]
fn a_call_handle_kept_after_its_op_still_reads_that_call_while_later_calls_run() {
    let cap = capture();
    let kept = hands_out_its_call().expect("inside an op");
    let id = kept.id();
    for i in 0..100 {
        assert_eq!(leaf(i), 2 * i);
    }
    assert_eq!(kept.id(), id);
    assert_eq!(kept.op_name(), "hands_out_its_call");
    let calls = cap.calls();
    assert_eq!(by_op(&calls, "leaf").len(), 100);
    let ids: std::collections::HashSet<&str> = calls.iter().map(CapturedCall::id).collect();
    assert_eq!(ids.len(), 101, "every call has its own id");
    assert_eq!(by_op(&calls, "hands_out_its_call")[0].id(), id.to_string());
}

// The op's guard is reachable from safe code through the hidden `__private_<version>` API. Dropping
// two guards out of order (the outer first) must not leave the thread's context pointing
// at a call that is gone: each guard ends its own call, and what is current afterwards
// still reads (the design holds no pointer to a call in the context; this test ran under
// valgrind as an invalid read in the former design).
#[test]
fn op_guards_dropped_out_of_order_end_their_own_calls_and_leave_a_readable_context() {
    use weave::__private_0_1_0::{start_call, OpSite, OpStatic};
    static OUTER: OpSite = OpSite::new(OpStatic::new("outer_by_hand"));
    static INNER: OpSite = OpSite::new(OpStatic::new("inner_by_hand"));
    let cap = capture();
    let outer = start_call(&OUTER, None, |_| {});
    let inner = start_call(&INNER, None, |_| {});
    drop(outer);
    drop(inner);
    let _churn: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 512]).collect();
    let current = weave::CallContext::current();
    let _ = current.call_id();
    assert_eq!(leaf(2), 4);
    let calls = cap.calls();
    let outer = by_op(&calls, "outer_by_hand");
    let inner = by_op(&calls, "inner_by_hand");
    assert_eq!((outer.len(), inner.len()), (1, 1), "each guard ended its own call: {calls:?}");
    assert_eq!(inner[0].parent_id(), Some(outer[0].id()));
    assert_eq!(by_op(&calls, "leaf").len(), 1);
}

// A sync op changes nothing of the context but its call: attributes set inside it and left
// set (their guard forgotten) stay set after it returns, as they do without `#[op]`.
#[weave::op]
fn forgets_an_attributes_guard() -> u64 {
    std::mem::forget(weave::attributes([("leaked", "yes")]));
    1
}

#[weave::op]
fn after_the_leak(_case: &str) -> u64 {
    2
}

#[test]
fn attributes_left_set_inside_an_op_stay_set_after_it_as_without_op() {
    let cap = capture();
    std::thread::spawn(|| {
        forgets_an_attributes_guard();
        after_the_leak("op");
    })
    .join()
    .unwrap();
    std::thread::spawn(|| {
        std::mem::forget(weave::attributes([("leaked", "yes")]));
        after_the_leak("plain");
    })
    .join()
    .unwrap();
    let calls = cap.calls();
    let leaking = by_op(&calls, "forgets_an_attributes_guard")[0];
    assert!(leaking.attributes().get("leaked").is_none(), "frozen when the call started");
    let after = by_op(&calls, "after_the_leak");
    let leaked = |case: &str| {
        let call = after.iter().find(|c| c.inputs()["_case"] == case).unwrap();
        call.attributes().get("leaked").cloned()
    };
    assert_eq!(leaked("op"), leaked("plain"));
    assert_eq!(leaked("op"), Some(serde_json::json!("yes")));
}
