//! The calls that have started and not yet ended, so that shutdown can write them as
//! unfinished instead of losing them.
//!
//! Sync calls start and end on one thread, innermost first: they go into a list owned by
//! that thread (an uncontended lock, a push, and a pop from the end). Async calls may end
//! on another thread: they go into a map sharded by call id.

use crate::active::CallNode;
use crate::ids::Id;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

const SHARDS: usize = 16;

/// The client's key and the call (weak: a call that ends is dropped from the list, and
/// the list must not keep the client alive through the call).
type Entry = (usize, Weak<CallNode>);

struct ThreadList {
    calls: Mutex<Vec<Entry>>,
}

/// Every thread's list, held here too: a thread whose locals are destroyed while calls
/// are still open on it (the thread calling `std::process::exit`: the C runtime destroys
/// its thread-locals before running `atexit` handlers) leaves them for the shutdown to
/// write. A list is forgotten once its thread is gone and it is empty.
static THREAD_LISTS: Mutex<Vec<Arc<ThreadList>>> = Mutex::new(Vec::new());

thread_local! {
    static THIS_THREAD: Arc<ThreadList> = {
        let list = Arc::new(ThreadList { calls: Mutex::new(Vec::new()) });
        let mut lists = THREAD_LISTS.lock();
        lists.retain(|l| Arc::strong_count(l) > 1 || !l.calls.lock().is_empty());
        lists.push(Arc::clone(&list));
        list
    };
}

/// The open async calls of one client, and the way to reach the per-thread lists.
pub(crate) struct OpenCalls {
    key: usize,
    async_calls: [Mutex<HashMap<Id, Weak<CallNode>>>; SHARDS],
}

impl OpenCalls {
    /// Open calls of the client identified by `key` (its address).
    pub(crate) fn new(key: usize) -> OpenCalls {
        OpenCalls { key, async_calls: std::array::from_fn(|_| Mutex::new(HashMap::new())) }
    }

    fn shard(id: &Id) -> usize {
        (id.as_u128() as usize) % SHARDS
    }

    /// Registers a call that started.
    pub(crate) fn register(&self, node: &Arc<CallNode>, is_async: bool) {
        let id = node.start().id;
        if is_async {
            self.async_calls[Self::shard(&id)].lock().insert(id, Arc::downgrade(node));
            return;
        }
        let entry = (self.key, Arc::downgrade(node));
        let pushed = THIS_THREAD.try_with(|list| list.calls.lock().push(entry)).is_ok();
        if !pushed {
            // The thread is exiting: fall back to the shared map.
            self.async_calls[Self::shard(&id)].lock().insert(id, Arc::downgrade(node));
        }
    }

    /// Unregisters a call that ended.
    pub(crate) fn unregister(&self, node: &CallNode, is_async: bool) {
        let id = &node.start().id;
        if !is_async {
            let removed = THIS_THREAD
                .try_with(|list| {
                    let mut calls = list.calls.lock();
                    match calls.iter().rposition(|(_, entry)| std::ptr::eq(entry.as_ptr(), node)) {
                        Some(i) => {
                            calls.swap_remove(i);
                            true
                        }
                        None => false,
                    }
                })
                .unwrap_or(false);
            if removed {
                return;
            }
        }
        self.async_calls[Self::shard(id)].lock().remove(id);
    }

    /// Takes every call of this client still open, on any thread.
    pub(crate) fn drain(&self) -> Vec<Arc<CallNode>> {
        let mut open = Vec::new();
        for shard in &self.async_calls {
            open.extend(shard.lock().drain().filter_map(|(_, v)| v.upgrade()));
        }
        let lists: Vec<Arc<ThreadList>> = THREAD_LISTS.lock().clone();
        for list in lists {
            let mut calls = list.calls.lock();
            let mut i = 0;
            while i < calls.len() {
                if calls[i].0 == self.key {
                    open.extend(calls.swap_remove(i).1.upgrade());
                } else {
                    i += 1;
                }
            }
        }
        open
    }
}
