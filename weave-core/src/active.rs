//! A running call: starting it (parent, ids, inputs, attributes), finishing it (output or
//! exception, the summary rolled up into the parent), and the guard and future wrapper
//! that the `#[op]` macro puts around a function body.

use crate::call::{CallAttributes, CallEnd, CallRecord, CallStart, JsonObject};
use crate::capture::{capture_inputs, capture_value, CaptureConfig, InputsWriter, RawJson, ValueWriter};
use crate::context::{replace_current, CallContext, CallRef, Suppressed};
use crate::exception::{Exception, ExceptionJson, Frame};
use crate::export::{ExportItem, FinishedCall};
use crate::ids::{next_random_f64, Id};
use crate::op::{CallView, DisplayName, OpHandle, OpSite, OpStatic};
use crate::runtime::{current_client_handle, parse_json, Client, ClientHandle};
use crate::summary::{CallStatus, Summary};
use crate::sync::OwnerLock;
use crate::time::Timestamp;
use std::cell::UnsafeCell;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

/// Display names longer than this are cut (to 1021 characters plus `...`), as in Weave.
const MAX_DISPLAY_NAME_CHARS: usize = 1024;

/// A call that has started and not yet ended.
///
/// One allocation per call: the whole start waits inline in the node and moves into the
/// record when the call ends (no copy of its shared parts); what others read while the
/// call runs (its children, `current_call`) is copied out into [`NodeStart`]. The record
/// sent to the exporter is a value, not a box.
pub(crate) struct CallNode {
    start: NodeStart,
    client: ClientHandle,
    parent: Option<Arc<CallNode>>,
    info: &'static OpStatic,
    /// Taken by the call's own thread when it ends, by others now and then (a child on
    /// another thread rolling its summary up, `current_call()` setting a name).
    state: OwnerLock<NodeState>,
    /// The call's item to export (`ExportItem::CallFinished`), its start written when the
    /// call starts and its end when it ends, so that the exporter moves it whole, with one
    /// copy. Read only with `state` locked and `ended` not set (a copy of the start for a
    /// call still open at shutdown); written and taken by the one `finish` that sets
    /// `ended`, after it has released the lock. So the exporter moves it straight from here
    /// into its buffer without the lock held (exporters are not made to run under a call's
    /// lock).
    record: UnsafeCell<Option<ExportItem>>,
}

// SAFETY: every field but `record` is `Sync`; `record` is read only under the `state`
// lock while `ended` is unset, and written (then taken) only by the `finish` that set
// `ended` under that lock: after it, no reader reaches it, and before it, the lock orders
// the readers before the write. `ExportItem` is `Send` and `Sync`.
unsafe impl Sync for CallNode {}

impl std::fmt::Debug for CallNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallNode").field("id", &self.start().id).field("op", &self.start().op.name()).finish()
    }
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

#[derive(Default)]
struct NodeState {
    /// Set by the first end (the call ends once): from then on `call_start` is its.
    ended: bool,
    children: Option<Summary>,
    display_name: Option<String>,
    user_summary: Option<JsonObject>,
}

impl CallNode {
    /// What others may read of the start while the call runs.
    pub(crate) fn start(&self) -> &NodeStart {
        &self.start
    }

    /// A copy of the whole start, while the call has not ended (for a call still open at
    /// shutdown).
    pub(crate) fn start_if_running(&self) -> Option<CallStart> {
        let state = self.state.lock();
        if state.ended {
            return None;
        }
        // SAFETY: `state` is locked and `ended` unset: no `finish` has taken the record,
        // and none can until this lock is released (see `record`).
        unsafe { self.record_start() }.cloned()
    }

    /// The start in `record`.
    ///
    /// # Safety
    /// As for reading `record` (see the field).
    unsafe fn record_start(&self) -> Option<&CallStart> {
        // SAFETY: the caller's.
        match unsafe { &*self.record.get() } {
            Some(ExportItem::CallFinished(record)) => Some(&record.start),
            _ => None,
        }
    }

    pub(crate) fn client(&self) -> &Arc<Client> {
        &self.client
    }

    pub(crate) fn set_display_name(&self, name: String) {
        self.state.lock().display_name = Some(truncate_display_name(name));
    }

    pub(crate) fn merge_user_summary(&self, values: JsonObject) {
        let mut state = self.state.lock();
        let summary = state.user_summary.get_or_insert_with(JsonObject::new);
        crate::summary::deep_merge(summary, values);
    }

    fn add_child_summary(&self, child: &Summary) {
        let mut state = self.state.lock();
        if !state.ended {
            state.children.get_or_insert_with(Summary::default).add_child(child);
        }
    }

    /// True when the call may end on another thread than the one it started on: async
    /// calls, and calls started by hand ([`crate::manual`]), whose handle is `Send`.
    fn may_end_elsewhere(&self) -> bool {
        self.info.is_async || std::ptr::eq(self.info, &MANUAL_OP)
    }

    fn op_frame(&self) -> Frame {
        Frame {
            filename: self.info.file.to_string(),
            line_number: self.info.line,
            function_name: self.start.op.name().to_string(),
            text: String::new(),
        }
    }

    /// Ends the call once: computes the summary, rolls it up into the parent, exports it.
    pub(crate) fn finish(&self, output: Option<RawJson>, exception: Option<Exception>) {
        let ended_at = Timestamp::now();
        let (started_at, children, display_name, user_summary) = {
            let mut state = self.state.lock();
            // Ends once: the first end sets `ended`, and the start is then this call's.
            if state.ended {
                return;
            }
            state.ended = true;
            // SAFETY: `state` is locked (see `record`); a read.
            let Some(started_at) = (unsafe { self.record_start() }).map(|start| start.started_at) else {
                return;
            };
            (started_at, state.children.take(), state.display_name.take(), state.user_summary.take())
        };
        // No longer open (and, for the open-calls list, unlisted before anything here can
        // fail: a listed call must be alive).
        self.client.unregister_open(self, self.may_end_elsewhere());
        // Clocks of two threads (an async call may end on another) can disagree by a few
        // microseconds: a call never ends before it started.
        let ended_at = ended_at.max(started_at);
        let (output, exception, status) = match exception {
            // Encoded later, by the exporter (a panic's backtrace is resolved then).
            Some(e) => (None, Some(ExceptionJson::new(e)), CallStatus::Error),
            None => (output, None, CallStatus::Success),
        };
        let usage_source = match (&children, &output) {
            (None, Some(raw))
                if raw.as_str().starts_with('{')
                    && raw.contains_key_text("usage")
                    && raw.contains_key_text("model") =>
            {
                Some(parse_json(raw.as_str()))
            }
            _ => None,
        };
        let summary = Summary::compute(children, usage_source.as_ref(), status, user_summary);
        if let Some(parent) = &self.parent {
            parent.add_child_summary(&summary);
        }
        // SAFETY: this `finish` set `ended` (above), so the record is its alone (see
        // `record`); the end is written into it in place, and the exporter moves the item
        // once, from here into its buffer (each move of a record is a copy of a few hundred
        // bytes, and a move right after another waits for its stores).
        let record = unsafe { &mut *self.record.get() };
        if let Some(ExportItem::CallFinished(record)) = record.as_mut() {
            record.end = Some(CallEnd { ended_at, output, exception, summary, display_name });
        }
        self.client.exporter().export_finished(&mut FinishedCall::new(record));
        // Ended, whatever the exporter did with it.
        *record = None;
    }
}

fn truncate_display_name(name: String) -> String {
    if name.chars().count() <= MAX_DISPLAY_NAME_CHARS {
        return name;
    }
    let mut cut: String = name.chars().take(MAX_DISPLAY_NAME_CHARS - 3).collect();
    cut.push_str("...");
    cut
}

enum Begin {
    /// Not recording, nothing to change.
    Skip,
    /// An unsampled root: nothing inside it is traced.
    Suppress(CallContext),
    /// Recording: the new call and the context to make current while it runs (its call
    /// not yet set: see [`start_node`]).
    Record(Arc<CallNode>, CallContext),
}

/// What is needed to start a call besides its op and inputs.
pub(crate) struct StartOptions {
    /// The op's static description (macro ops), used for post-processing and locations.
    pub(crate) info: &'static OpStatic,
    /// Extra user attributes for this call (win over the scoped ones).
    pub(crate) attributes: Option<JsonObject>,
    /// A display name fixed by the caller (wins over the op's option).
    pub(crate) display_name: Option<String>,
}

/// The description used for calls started by hand rather than by `#[op]`.
pub(crate) static MANUAL_OP: OpStatic = OpStatic::new("");

fn begin(
    site: &'static OpSite,
    self_type: Option<fn() -> &'static str>,
    inputs: impl FnOnce(&mut InputsWriter<'_>),
) -> Begin {
    let Some(client) = current_client_handle() else {
        return Begin::Skip;
    };
    let parent_context = CallContext::current();
    if parent_context.suppressed.is_set() {
        return Begin::Skip;
    }
    let info = site.info();
    if parent_context.call.is_none() && info.sample_rate < 1.0 && next_random_f64() >= info.sample_rate {
        return Begin::Suppress(CallContext { suppressed: Suppressed::YES, ..parent_context });
    }
    let op = OpHandle::from_static(site.def(self_type.map(|f| f()), client.settings().capture_code));
    let options = StartOptions { info, attributes: None, display_name: None };
    let (node, context) = start_node(client, parent_context, op, options, |config| capture_inputs(config, inputs));
    Begin::Record(node, context)
}

/// Starts a call of `op` under `parent_context` and returns it with the context to make
/// current while it runs, but for its call, which the caller sets: a reference borrowed
/// from the sync op's guard, or a counted one.
pub(crate) fn start_node(
    client: ClientHandle,
    parent_context: CallContext,
    op: OpHandle,
    options: StartOptions,
    capture: impl FnOnce(&CaptureConfig) -> RawJson,
) -> (Arc<CallNode>, CallContext) {
    let info = options.info;
    let started_at = Timestamp::now();
    let id = Id::new_v7(started_at.unix_millis());
    let mut parent_context = parent_context;
    // The parent's reference moves from the context (a copy, counted) into the call.
    let parent = parent_context.call.take().map(CallRef::into_arc);
    let (trace_id, parent_id) = match &parent {
        Some(p) => (p.start.trace_id, Some(p.start.id)),
        None => (Id::new_v7(started_at.unix_millis()), None),
    };
    let mut inputs = capture(client.capture_config());
    if let Some(postprocess) = info.postprocess_inputs {
        inputs = RawJson::from_value(&postprocess(inputs.to_value()));
    }
    let display_name = match (options.display_name, info.display_name) {
        (Some(name), _) => Some(truncate_display_name(name)),
        (None, None) => None,
        (None, Some(DisplayName::Fixed(name))) => Some(truncate_display_name(name.to_string())),
        (None, Some(DisplayName::Computed(f))) => {
            let inputs = inputs.to_value();
            Some(truncate_display_name(f(&CallView { op_name: op.name(), inputs: &inputs })))
        }
    };
    let (thread_id, turn_id) = match (&parent_context.thread_id, &parent) {
        (Some(scope), Some(p)) if p.start.thread_id.as_deref() == Some(&**scope) => {
            (Some(Arc::clone(scope)), p.start.turn_id)
        }
        (Some(scope), _) => (Some(Arc::clone(scope)), Some(id)),
        (None, Some(p)) => (p.start.thread_id.clone(), p.start.turn_id),
        (None, None) => (None, None),
    };
    let user_attributes = match options.attributes {
        None => parent_context.attributes.clone(),
        Some(extra) => {
            let mut merged = parent_context.attributes.as_deref().cloned().unwrap_or_default();
            crate::summary::deep_merge(&mut merged, extra);
            Some(Arc::new(merged))
        }
    };
    let node_start = NodeStart { id, trace_id, parent_id, op: op.clone(), thread_id: thread_id.clone(), turn_id };
    let eager = op.eager_call_start();
    let weave_attributes = client.weave_attributes(info.is_async);
    let wb_run_id = client.wb_run_id();
    if parent.is_none() {
        client.print_call_link(&id);
    }
    // The start (a few hundred bytes) is written straight into the call's allocation:
    // built on the stack and moved, it was copied three times.
    let make = move || CallNode {
        start: node_start,
        client,
        parent,
        info,
        state: OwnerLock::new(NodeState { ended: false, children: None, display_name: None, user_summary: None }),
        record: UnsafeCell::new(Some(ExportItem::CallFinished(CallRecord {
            start: CallStart {
                id,
                trace_id,
                parent_id,
                attributes: CallAttributes { user: user_attributes, weave: weave_attributes, kind: op.kind() },
                op,
                started_at,
                inputs,
                display_name,
                thread_id,
                turn_id,
                wb_run_id,
            },
            end: None,
        }))),
    };
    let slot = Arc::into_raw(crate::spare_node::take()).cast_mut();
    // SAFETY: the `Arc` is new or this thread's spare, and its one reference is `slot`
    // (see `spare_node::take`), so nothing else can reach the memory written here (what
    // `Arc::get_mut` would check with an atomic compare-and-swap); `from_raw` takes that
    // reference back, as a `CallNode`'s (`MaybeUninit<T>` has the layout of `T`), once it
    // is written.
    let node = unsafe {
        (*slot).write(make());
        Arc::from_raw(slot.cast::<CallNode>().cast_const())
    };
    if eager {
        if let Some(start) = node.start_if_running() {
            node.client.exporter().export(ExportItem::CallStarted(CallRecord { start, end: None }));
        }
    }
    node.client.register_open(&node, node.may_end_elsewhere());
    let context = CallContext {
        call: None,
        attributes: parent_context.attributes,
        thread_id: parent_context.thread_id,
        suppressed: Suppressed::NO,
    };
    (node, context)
}

/// How a call ends, filled in by the macro-generated code.
pub struct CallEnding<'a> {
    node: &'a CallNode,
    output: Option<RawJson>,
    exception: Option<Exception>,
}

impl CallEnding<'_> {
    /// Records the output, written by `capture`.
    pub fn output(&mut self, capture: impl FnOnce(&mut ValueWriter<'_>)) {
        let mut output = capture_value(self.node.client.capture_config(), capture);
        if let Some(postprocess) = self.node.info.postprocess_output {
            output = RawJson::from_value(&postprocess(output.to_value()));
        }
        self.output = Some(output);
    }

    /// Records an `Err`: the error's type name and its message.
    pub fn error(&mut self, type_name: &'static str, message: impl FnOnce() -> String) {
        self.exception = Some(Exception::from_error(type_name, message(), Some(self.node.op_frame())));
    }

    fn complete(self) {
        self.node.finish(self.output, self.exception);
    }
}

/// The guard around a sync op's body. Dropping it without `finish` (a panic unwinding)
/// records the panic; either way the previous context is restored.
///
/// Its fields are `ManuallyDrop` so that, when nothing is recorded, dropping it is one
/// inlined check (the disabled path must cost about one atomic load).
#[must_use]
pub struct SyncCall {
    inner: ManuallyDrop<Option<SyncInner>>,
    _not_send: PhantomData<*const ()>,
}

struct SyncInner {
    /// The call, owned here: the current context borrows it (see [`CallRef`]), so it is
    /// dropped only after that context is replaced by `previous`.
    node: Option<Arc<CallNode>>,
    /// Set once `finish` has ended the call.
    finished: bool,
    previous: CallContext,
}

impl SyncCall {
    #[inline]
    fn disabled() -> SyncCall {
        SyncCall { inner: ManuallyDrop::new(None), _not_send: PhantomData }
    }

    fn entered(node: Option<Arc<CallNode>>, previous: CallContext) -> SyncCall {
        SyncCall {
            inner: ManuallyDrop::new(Some(SyncInner { node, finished: false, previous })),
            _not_send: PhantomData,
        }
    }

    /// Records the return value through `f` and ends the call.
    #[inline]
    pub fn finish<R: ?Sized>(mut self, out: &R, f: impl FnOnce(&mut CallEnding<'_>, &R)) {
        if let Some(inner) = self.inner.as_mut() {
            if let (Some(node), false) = (&inner.node, inner.finished) {
                let mut ending = CallEnding { node, output: None, exception: None };
                f(&mut ending, out);
                ending.complete();
                inner.finished = true;
            }
        }
        // Dropping `self` restores the previous context, then drops the call.
    }

    /// True when this call is being recorded.
    pub fn is_recording(&self) -> bool {
        self.inner.as_ref().is_some_and(|inner| inner.node.is_some() && !inner.finished)
    }

    /// Records a call left without `finish` (a panic unwinding) and restores the context.
    #[inline(never)]
    fn end(&mut self) {
        // SAFETY: `end` is called once, from `drop`, and `inner` is not used afterwards.
        let Some(SyncInner { node, finished, previous }) = (unsafe { ManuallyDrop::take(&mut self.inner) }) else {
            return;
        };
        // Puts the previous context back when dropped: the current one borrows `node`, so
        // it must go first, also if ending the call below panics (an exporter's panic).
        // Declared after `node`, it is dropped before it.
        struct Restore(Option<CallContext>);
        impl Drop for Restore {
            fn drop(&mut self) {
                if let Some(previous) = self.0.take() {
                    replace_current(previous);
                }
            }
        }
        let restore = Restore(Some(previous));
        if let (Some(node), false) = (&node, finished) {
            let exception = if std::thread::panicking() {
                crate::panic::current_panic()
            } else {
                Exception {
                    kind: "Unfinished".to_string(),
                    message: "the op's guard was dropped before the call finished".to_string(),
                    traceback: Default::default(),
                }
            };
            node.finish(None, Some(exception));
        }
        drop(restore);
        if let Some(node) = node {
            crate::spare_node::recycle(node);
        }
    }
}

impl Drop for SyncCall {
    #[inline]
    fn drop(&mut self) {
        if self.inner.is_some() {
            self.end();
        }
    }
}

/// Starts a call of a sync op. When nothing is recorded (no client, disabled) this is one
/// atomic load.
#[inline]
pub fn start_call(
    site: &'static OpSite,
    self_type: Option<fn() -> &'static str>,
    inputs: impl FnOnce(&mut InputsWriter<'_>),
) -> SyncCall {
    if !crate::runtime::is_enabled() {
        return SyncCall::disabled();
    }
    start_call_slow(site, self_type, inputs)
}

#[inline(never)]
fn start_call_slow(
    site: &'static OpSite,
    self_type: Option<fn() -> &'static str>,
    inputs: impl FnOnce(&mut InputsWriter<'_>),
) -> SyncCall {
    match begin(site, self_type, inputs) {
        Begin::Skip => SyncCall::disabled(),
        Begin::Suppress(context) => SyncCall::entered(None, replace_current(context)),
        Begin::Record(node, context) => {
            // SAFETY: the guard made here owns `node`, and it restores the previous context
            // before dropping `node` (`SyncCall::end`): the current context holds the
            // borrowed reference only while `node` is alive.
            let context = CallContext { call: Some(unsafe { CallRef::borrowed(&node) }), ..context };
            SyncCall::entered(Some(node), replace_current(context))
        }
    }
}

/// A started call of an async op, not yet entered (its future enters it on every poll).
pub struct AsyncCall {
    node: Option<Arc<CallNode>>,
    context: Option<CallContext>,
}

/// Starts a call of an async op (at its first poll, so the parent is the call current
/// where it is awaited).
#[inline]
pub fn start_async_call(
    site: &'static OpSite,
    self_type: Option<fn() -> &'static str>,
    inputs: impl FnOnce(&mut InputsWriter<'_>),
) -> AsyncCall {
    if !crate::runtime::is_enabled() {
        return AsyncCall { node: None, context: None };
    }
    match begin(site, self_type, inputs) {
        Begin::Skip => AsyncCall { node: None, context: None },
        Begin::Suppress(context) => AsyncCall { node: None, context: Some(context) },
        Begin::Record(node, context) => {
            let context = CallContext { call: Some(CallRef::counted(Arc::clone(&node))), ..context };
            AsyncCall { node: Some(node), context: Some(context) }
        }
    }
}

/// Wraps an async op's body: enters the call on every poll, records the output through
/// `on_output` when it completes, a panic if polling panics, a cancellation if dropped
/// before completing.
pub fn instrument<F, C>(call: AsyncCall, future: F, on_output: C) -> OpFuture<F, C>
where
    F: Future,
    C: FnOnce(&mut CallEnding<'_>, &F::Output),
{
    OpFuture { node: call.node, context: call.context, on_output: Some(on_output), inner: future }
}

pin_project_lite::pin_project! {
    /// The future of an async op (see [`instrument`]).
    pub struct OpFuture<F, C> {
        node: Option<Arc<CallNode>>,
        context: Option<CallContext>,
        on_output: Option<C>,
        #[pin]
        inner: F,
    }

    impl<F, C> PinnedDrop for OpFuture<F, C> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(node) = this.node.take() {
                let exception = Exception::cancelled(node.start.op.name());
                node.finish(None, Some(exception));
            }
        }
    }
}

struct PollPanicGuard<'a> {
    node: &'a mut Option<Arc<CallNode>>,
}

impl Drop for PollPanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(node) = self.node.take() {
                node.finish(None, Some(crate::panic::current_panic()));
            }
        }
    }
}

impl<F, C> Future for OpFuture<F, C>
where
    F: Future,
    C: FnOnce(&mut CallEnding<'_>, &F::Output),
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.context.as_ref().map(CallContext::enter);
        let guard = PollPanicGuard { node: this.node };
        let output = match this.inner.poll(cx) {
            Poll::Ready(output) => output,
            Poll::Pending => return Poll::Pending,
        };
        if let Some(node) = guard.node.take() {
            if let Some(on_output) = this.on_output.take() {
                let mut ending = CallEnding { node: &node, output: None, exception: None };
                on_output(&mut ending, &output);
                ending.complete();
            } else {
                node.finish(None, None);
            }
        }
        Poll::Ready(output)
    }
}
