//! The running call, seen from inside it: `weave::current_call()`.

use crate::context::{with_current, CallContext, CallRef};
use crate::ids::Id;
use crate::json::JsonObject;
use crate::node::CallNode;
use std::sync::Arc;

/// A handle to a running call (see [`current_call`]).
#[derive(Clone)]
pub struct CurrentCall {
    node: Arc<CallNode>,
}

impl std::fmt::Debug for CurrentCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentCall").field("id", &self.id()).field("op_name", &self.op_name()).finish()
    }
}

/// The call running on this thread (or in this task), if any.
pub fn current_call() -> Option<CurrentCall> {
    with_current(|c| c.call.as_ref().and_then(CallRef::to_shared)).flatten().map(|node| CurrentCall { node })
}

impl CurrentCall {
    /// The call's id.
    pub fn id(&self) -> Id {
        self.node.start().id
    }

    /// The trace's id.
    pub fn trace_id(&self) -> Id {
        self.node.start().trace_id
    }

    /// The parent call's id.
    pub fn parent_id(&self) -> Option<Id> {
        self.node.start().parent_id
    }

    /// The op's name.
    pub fn op_name(&self) -> &str {
        self.node.start().op.name()
    }

    /// The call's `weave:///entity/project/call/<id>` ref.
    pub fn ref_uri(&self) -> String {
        crate::refs::call_ref_uri(self.node.client().project_id_str(), &self.id().to_string())
    }

    /// Sets the call's display name (cut at 1024 characters).
    pub fn set_display_name(&self, name: impl Into<String>) {
        self.node.set_display_name(name.into());
    }

    /// Adds keys to the call's summary (deep-merged; computed keys such as
    /// `status_counts` and `usage` win).
    pub fn add_summary(&self, values: JsonObject) {
        self.node.merge_user_summary(values);
    }

    /// Adds a reaction (an emoji such as `"👍"`) to this call. Returns the feedback's id.
    pub fn add_reaction(&self, emoji: &str) -> Result<Id, crate::feedback::FeedbackError> {
        crate::feedback::send_reaction(self.node.client(), self.id(), emoji)
    }

    /// Adds a note (at most 1024 characters) to this call. Returns the feedback's id.
    pub fn add_note(&self, note: &str) -> Result<Id, crate::feedback::FeedbackError> {
        crate::feedback::send_note(self.node.client(), self.id(), note)
    }

    /// The context of this call, to carry it somewhere else.
    pub fn context(&self) -> CallContext {
        CallContext::current()
    }
}
