//! One spare call allocation per thread: a sync call's node, once its op has returned and
//! nothing else refers to it, is emptied and kept for the thread's next call, instead of
//! being freed (two atomic subtractions of its counts, then `free`) and allocated again.

use crate::active::CallNode;
use std::cell::Cell;
use std::mem::MaybeUninit;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;

thread_local! {
    static SPARE: Cell<Option<Arc<MaybeUninit<CallNode>>>> = const { Cell::new(None) };
}

/// An allocation for a node: this thread's spare, or a new one. Its counts are those of an
/// `Arc` just made (one strong reference, no weak ones).
#[inline]
pub(crate) fn take() -> Arc<MaybeUninit<CallNode>> {
    SPARE.try_with(Cell::take).ok().flatten().unwrap_or_else(Arc::new_uninit)
}

/// Drops `node`: when it is the last reference, the node is dropped in place and its
/// allocation kept as this thread's spare.
#[inline]
pub(crate) fn recycle(node: Arc<CallNode>) {
    if Arc::strong_count(&node) != 1 || Arc::weak_count(&node) != 0 {
        drop(node);
        return;
    }
    // Another thread's last use of the node (ended by the release of its reference's
    // count) happens before the node is dropped here (as `Arc`'s own drop orders it).
    fence(Ordering::Acquire);
    let raw = Arc::into_raw(node).cast_mut();
    // SAFETY: `node` was the only reference (one strong count, which is ours, and no weak
    // one; no other reference can appear without one), so nothing else reads the node
    // while it is dropped, and nothing reads it afterwards but through the spare, as
    // uninitialized memory. `MaybeUninit<CallNode>` has the layout of `CallNode`, so the
    // allocation is the `Arc<MaybeUninit<CallNode>>`'s, with its one strong count.
    let spare = unsafe {
        std::ptr::drop_in_place(raw);
        Arc::from_raw(raw.cast_const().cast::<MaybeUninit<CallNode>>())
    };
    // With this thread's locals gone, the closure (and the spare in it) is dropped.
    let _ = SPARE.try_with(move |slot| drop(slot.replace(Some(spare))));
}
