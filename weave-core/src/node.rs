//! A handle on a running call that others may hold: an async op's or a manual call's
//! (their state is in the handle, as they may end on any thread), or a sync call's that
//! was handed out (its state stays in its thread's frame, reached through the handle).

use crate::call::{CallEnd, CallRecord, CallStart};
use crate::call_stack::{Gathered, NodeState, SharedParent, ThreadCalls};
use crate::capture::RawJson;
use crate::client::Client;
use crate::exception::{Exception, ExceptionJson};
use crate::export::ExportItem;
use crate::ids::Id;
use crate::json::JsonObject;
use crate::op::OpHandle;
use crate::open_calls::OpenCall;
use crate::summary::Summary;
use crate::switch::ClientHandle;
use crate::time::Timestamp;
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

/// Display names longer than this are cut (to 1021 characters plus `...`), as in Weave.
const MAX_DISPLAY_NAME_CHARS: usize = 1024;

/// A running call, by handle.
pub(crate) struct CallNode {
    start: NodeStart,
    client: ClientHandle,
    home: Home,
}

/// The parts of a call's start that others read while it runs.
pub(crate) struct NodeStart {
    pub(crate) id: Id,
    pub(crate) trace_id: Id,
    pub(crate) parent_id: Option<Id>,
    pub(crate) op: OpHandle,
    pub(crate) thread_id: Option<Arc<str>>,
    pub(crate) turn_id: Option<Id>,
}

impl NodeStart {
    /// What others read of `start`.
    pub(crate) fn of(start: &CallStart) -> NodeStart {
        NodeStart {
            id: start.id,
            trace_id: start.trace_id,
            parent_id: start.parent_id,
            op: start.op.clone(),
            thread_id: start.thread_id.clone(),
            turn_id: start.turn_id,
        }
    }
}

// The variants differ in size, and the node is allocated once either way.
#[allow(clippy::large_enum_variant)]
enum Home {
    /// A sync call: its state is in its frame, on this thread's stack.
    Frame(Weak<ThreadCalls>),
    /// An async or manual call: its state is here.
    Own(OwnCall),
}

struct OwnCall {
    parent: Option<Arc<CallNode>>,
    /// The start (`None` once the call has ended: it ends once) and the state.
    state: Mutex<(Option<Box<CallRecord>>, Gathered)>,
}

impl std::fmt::Debug for CallNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallNode").field("id", &self.start.id).field("op", &self.start.op.name()).finish()
    }
}

impl CallNode {
    /// The handle of a sync call running in a frame of `thread`'s stack.
    pub(crate) fn of_frame(start: &CallStart, client: ClientHandle, thread: Weak<ThreadCalls>) -> CallNode {
        CallNode { start: NodeStart::of(start), client, home: Home::Frame(thread) }
    }

    /// A call that holds its own state (async and manual calls).
    pub(crate) fn owning(record: Box<CallRecord>, client: ClientHandle, parent: Option<Arc<CallNode>>) -> CallNode {
        CallNode {
            start: NodeStart::of(&record.start),
            client,
            home: Home::Own(OwnCall { parent, state: Mutex::new((Some(record), None)) }),
        }
    }

    /// What others may read of the start while the call runs.
    pub(crate) fn start(&self) -> &NodeStart {
        &self.start
    }

    pub(crate) fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// `f` of the call's start and state while it runs (`None` once it has ended).
    fn with_state<R>(&self, f: impl FnOnce(&CallStart, &mut NodeState) -> R) -> Option<R> {
        match &self.home {
            Home::Frame(thread) => thread.upgrade()?.with_frame(&self.start.id, |frame| {
                let state = frame.state.get_or_insert_default();
                f(&frame.record.start, state)
            }),
            Home::Own(own) => {
                let mut state = own.state.lock();
                let (record, node_state) = &mut *state;
                record.as_ref().map(|record| f(&record.start, node_state.get_or_insert_default()))
            }
        }
    }

    pub(crate) fn set_display_name(&self, name: String) {
        let name = truncate_display_name(name);
        self.with_state(|_, state| state.display_name = Some(name));
    }

    pub(crate) fn merge_user_summary(&self, values: JsonObject) {
        self.with_state(|_, state| {
            crate::summary::deep_merge(state.user_summary.get_or_insert_with(JsonObject::new), values)
        });
    }

    /// Ends an async or manual call once: computes its summary, rolls it up into the
    /// parent, exports it. Does nothing for a sync call's handle (its guard ends it).
    pub(crate) fn finish(&self, output: Option<RawJson>, exception: Option<Exception>) {
        let Home::Own(own) = &self.home else { return };
        let ended_at = Timestamp::now();
        let (mut record, state) = {
            let mut state = own.state.lock();
            let Some(record) = state.0.take() else { return };
            (record, std::mem::take(&mut state.1))
        };
        self.client.unregister_open(&self.start.id);
        end_record(&mut record, state, ended_at, &mut Outcome { output, exception });
        if let (Some(parent), Some(end)) = (&own.parent, &record.end) {
            parent.add_child_summary(&end.summary);
        }
        self.client.exporter().export(ExportItem::CallFinished(record));
    }
}

impl SharedParent for CallNode {
    fn add_child_summary(&self, child: &Summary) {
        self.with_state(|_, state| state.add_child(child));
    }
}

impl OpenCall for CallNode {
    /// A copy of the whole start, while the call runs (for a call still open at shutdown).
    fn start_if_running(&self) -> Option<CallStart> {
        self.with_state(|start, _| start.clone())
    }
}

/// How a call ended, as its code recorded it: an output, an exception, or neither.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) output: Option<RawJson>,
    pub(crate) exception: Option<Exception>,
}

/// Ends a call's record: its output or exception (taken from `outcome`: passed by
/// reference, it is not copied on its way), its summary, its display name.
pub(crate) fn end_record(record: &mut CallRecord, state: Gathered, ended_at: Timestamp, outcome: &mut Outcome) {
    let (output, exception) = (outcome.output.take(), outcome.exception.take());
    let NodeState { children, display_name, user_summary } = state.map(|state| *state).unwrap_or_default();
    let summary = summary_of(children, user_summary, &output, exception.is_some());
    // Clocks of two threads (an async call may end on another) can disagree by a few
    // microseconds: a call never ends before it started.
    let ended_at = ended_at.max(record.start.started_at);
    // The exception is encoded later, by the exporter (a panic's backtrace is resolved
    // then). A call that failed has an output only when it was ended with what it had
    // produced so far (`StartedCall::fail_with_output`: a stream dropped early).
    let exception = exception.map(ExceptionJson::new);
    record.end = Some(CallEnd { ended_at, output, exception, summary, display_name });
}

/// The call's summary: its children's, its own status, the usage of an LLM-shaped output,
/// the keys the code set.
fn summary_of(
    children: Option<Summary>,
    user_summary: Option<JsonObject>,
    output: &Option<RawJson>,
    failed: bool,
) -> Summary {
    use crate::summary::CallStatus;
    let status = if failed { CallStatus::Error } else { CallStatus::Success };
    let usage_source = match (&children, output) {
        (None, Some(raw))
            if !failed
                && raw.first_byte() == Some(b'{')
                && raw.contains_key_text("usage")
                && raw.contains_key_text("model") =>
        {
            Some(serde_json::from_str(raw.as_str()).unwrap_or(serde_json::Value::Null))
        }
        _ => None,
    };
    Summary::compute(children, usage_source.as_ref(), status, user_summary)
}

/// A display name cut to Weave's limit.
pub(crate) fn truncate_display_name(name: String) -> String {
    if name.chars().count() <= MAX_DISPLAY_NAME_CHARS {
        return name;
    }
    let mut cut: String = name.chars().take(MAX_DISPLAY_NAME_CHARS - 3).collect();
    cut.push_str("...");
    cut
}
