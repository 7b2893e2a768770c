//! The calls that have started and not yet ended, so that shutdown can write them as
//! unfinished instead of losing them.
//!
//! Sync calls are on their threads' stacks ([`crate::call_stack`]). Calls that may end on
//! another thread (async calls, calls started by hand) are listed here, in a map sharded
//! by call id.

use crate::call::CallStart;
use crate::ids::Id;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Weak;

const SHARDS: usize = 16;

/// A call listed here, as a shutdown reads it. The calls are `CallNode`s (`node.rs`), which
/// hold the client that lists them: the list knows them by this trait, asked at shutdown only.
pub(crate) trait OpenCall: Send + Sync {
    /// A copy of the call's whole start, while it runs (`None` once it has ended).
    fn start_if_running(&self) -> Option<CallStart>;
}

/// The open calls of one client that may end on another thread.
pub(crate) struct OpenCalls {
    shards: [Mutex<HashMap<Id, Weak<dyn OpenCall>>>; SHARDS],
}

impl OpenCalls {
    /// No open calls.
    pub(crate) fn new() -> OpenCalls {
        OpenCalls { shards: std::array::from_fn(|_| Mutex::new(HashMap::new())) }
    }

    fn shard(&self, id: &Id) -> &Mutex<HashMap<Id, Weak<dyn OpenCall>>> {
        &self.shards[(id.as_u128() as usize) % SHARDS]
    }

    /// Lists a call that started.
    pub(crate) fn register(&self, id: Id, call: Weak<dyn OpenCall>) {
        self.shard(&id).lock().insert(id, call);
    }

    /// Unlists a call that ended.
    pub(crate) fn unregister(&self, id: &Id) {
        self.shard(id).lock().remove(id);
    }

    /// Takes the starts of the calls still open.
    pub(crate) fn drain(&self) -> Vec<CallStart> {
        let mut open = Vec::new();
        for shard in &self.shards {
            let calls: Vec<Weak<dyn OpenCall>> = shard.lock().drain().map(|(_, call)| call).collect();
            open.extend(calls.iter().filter_map(Weak::upgrade).filter_map(|call| call.start_if_running()));
        }
        open
    }
}
