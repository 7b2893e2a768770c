//! The calls that have started and not yet ended, so that shutdown can write them as
//! unfinished instead of losing them.
//!
//! Sync calls are on their threads' stacks ([`crate::call_stack`]). Calls that may end on
//! another thread (async calls, calls started by hand) are listed here, in a map sharded
//! by call id.

use crate::call::CallStart;
use crate::ids::Id;
use crate::node::CallNode;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

const SHARDS: usize = 16;

/// The open calls of one client that may end on another thread.
pub(crate) struct OpenCalls {
    shards: [Mutex<HashMap<Id, Weak<CallNode>>>; SHARDS],
}

impl OpenCalls {
    /// No open calls.
    pub(crate) fn new() -> OpenCalls {
        OpenCalls { shards: std::array::from_fn(|_| Mutex::new(HashMap::new())) }
    }

    fn shard(&self, id: &Id) -> &Mutex<HashMap<Id, Weak<CallNode>>> {
        &self.shards[(id.as_u128() as usize) % SHARDS]
    }

    /// Lists a call that started.
    pub(crate) fn register(&self, node: &Arc<CallNode>) {
        let id = node.start().id;
        self.shard(&id).lock().insert(id, Arc::downgrade(node));
    }

    /// Unlists a call that ended.
    pub(crate) fn unregister(&self, id: &Id) {
        self.shard(id).lock().remove(id);
    }

    /// Takes the starts of the calls still open.
    pub(crate) fn drain(&self) -> Vec<CallStart> {
        let mut open = Vec::new();
        for shard in &self.shards {
            let nodes: Vec<Weak<CallNode>> = shard.lock().drain().map(|(_, node)| node).collect();
            open.extend(nodes.iter().filter_map(Weak::upgrade).filter_map(|node| node.start_if_running()));
        }
        open
    }
}
