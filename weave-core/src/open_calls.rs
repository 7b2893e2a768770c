//! The calls that have started and not yet ended, so that shutdown can write them as
//! unfinished instead of losing them.
//!
//! Sync calls start and end on one thread, innermost first: they go into a list owned by
//! that thread (an uncontended lock, a push, and a pop from the end, with no reference
//! count touched). Calls that may end on another thread (async calls, calls started by
//! hand) go into a map sharded by call id.

use crate::active::CallNode;
use crate::ids::Id;
use crate::sync::BiasedLock;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

/// A sync call in its thread's list: the client's key and the call.
///
/// The pointer is not a counted reference (that would cost two atomic operations per call,
/// and keep the client alive through the call). It is valid while the entry is listed: a
/// sync call is listed and unlisted by the thread that runs it, and
/// `CallNode::finish` unlists it (under the list's lock) before its last reference can go;
/// a call whose guard never drops (the thread called `std::process::exit`) is never freed.
struct Entry {
    key: usize,
    call: *const CallNode,
}

// SAFETY: the pointer is dereferenced only in `drain`, under the list's lock, while the
// entry is listed and so while the call is alive (see `Entry`); `CallNode` is `Sync`.
unsafe impl Send for Entry {}

const SHARDS: usize = 16;

struct ThreadList {
    /// Taken by its thread on every sync call (as owner: plain stores), by others only at
    /// shutdown and when a new thread forgets the lists of threads that are gone.
    calls: BiasedLock<Vec<Entry>>,
}

/// Every thread's list, held here too: a thread whose locals are destroyed while calls
/// are still open on it (the thread calling `std::process::exit`: the C runtime destroys
/// its thread-locals before running `atexit` handlers) leaves them for the shutdown to
/// write. A list is forgotten once its thread is gone and it is empty.
static THREAD_LISTS: Mutex<Vec<Arc<ThreadList>>> = Mutex::new(Vec::new());

thread_local! {
    static THIS_THREAD: Arc<ThreadList> = {
        let list = Arc::new(ThreadList { calls: BiasedLock::new(Vec::new()) });
        let mut lists = THREAD_LISTS.lock();
        lists.retain(|l| Arc::strong_count(l) > 1 || !l.calls.lock().is_empty());
        lists.push(Arc::clone(&list));
        list
    };
}

/// The open calls of one client that may end on another thread, and the way to reach the
/// per-thread lists.
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
    pub(crate) fn register(&self, node: &Arc<CallNode>, ends_elsewhere: bool) {
        // The call's id is read only for the shared map: the node was written just now, and
        // a read of it waits for those stores to land.
        let shared = || {
            let id = node.start().id;
            self.async_calls[Self::shard(&id)].lock().insert(id, Arc::downgrade(node));
        };
        if ends_elsewhere {
            return shared();
        }
        let entry = Entry { key: self.key, call: Arc::as_ptr(node) };
        // SAFETY: `THIS_THREAD` is this thread's list, and only its thread takes it as owner.
        let pushed = THIS_THREAD.try_with(|list| unsafe { list.calls.lock_as_owner() }.push(entry)).is_ok();
        if !pushed {
            // The thread is exiting: fall back to the shared map.
            shared();
        }
    }

    /// Unregisters a call that ended.
    pub(crate) fn unregister(&self, node: &CallNode, ends_elsewhere: bool) {
        let id = &node.start().id;
        if !ends_elsewhere {
            let removed = THIS_THREAD
                .try_with(|list| {
                    // SAFETY: as in `register`.
                    let mut calls = unsafe { list.calls.lock_as_owner() };
                    match calls.iter().rposition(|entry| std::ptr::eq(entry.call, node)) {
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
                if calls[i].key == self.key {
                    let entry = calls.swap_remove(i);
                    // SAFETY: a listed call is alive (see `Entry`), and the list's lock is
                    // held, so it cannot be unlisted and freed meanwhile; the count taken
                    // here is the new `Arc`'s own.
                    open.push(unsafe {
                        Arc::increment_strong_count(entry.call);
                        Arc::from_raw(entry.call)
                    });
                } else {
                    i += 1;
                }
            }
        }
        open
    }
}
