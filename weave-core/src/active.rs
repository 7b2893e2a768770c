//! Starting and ending calls: the guard and the future wrapper that the `#[op]` macro puts
//! around a function body, and the start shared with calls made by hand.
//!
//! A sync op's call lives in a frame of its thread's stack ([`crate::call_stack`]) and is
//! current through a [`CallRef::Local`]; an async op's call (and a manual one) is a
//! [`CallNode`] of its own, as it may end on another thread.

use crate::call::{CallRecord, CallStart};
use crate::call_stack::Popped;
use crate::capture::{capture_inputs, capture_value, CaptureConfig, InputsWriter, RawJson, ValueWriter};
use crate::context::{
    replace_current_call, set_current_suppressed, with_current, CallContext, CallRef, LocalCall, Suppressed,
};
use crate::exception::{Exception, Frame as ExceptionFrame};
use crate::export::ExportItem;
use crate::ids::{next_random_f64, Id};
use crate::json::JsonObject;
use crate::node::{end_record, truncate_display_name, CallNode, Outcome};
use crate::op::{CallView, DisplayName, OpHandle, OpSite, OpStatic};
use crate::switch::{current_local_client, ClientHandle, LocalClient};
use crate::time::Timestamp;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

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

/// The context a call starts in: its parent, the attributes and conversation thread in
/// scope.
pub(crate) struct Scope {
    /// The parent, as the context holds it (a sync parent of this thread stays local).
    pub(crate) parent: Option<CallRef>,
    pub(crate) attributes: Option<Arc<JsonObject>>,
    pub(crate) thread_id: Option<Arc<str>>,
}

impl Scope {
    /// The scope of `context`.
    #[inline]
    pub(crate) fn of(context: &CallContext) -> Scope {
        Scope {
            parent: context.call.clone(),
            attributes: context.attributes.clone(),
            thread_id: context.thread_id.clone(),
        }
    }

    /// The context to make current while the call runs, but for its call.
    #[inline]
    fn into_context(self) -> CallContext {
        CallContext { call: None, attributes: self.attributes, thread_id: self.thread_id, suppressed: Suppressed::NO }
    }
}

/// A call's start, built: its record (the end still empty), its parent, and the rest of
/// its scope (for a call with a context of its own, `start_owning`). The scope's parts are
/// kept apart rather than as a `CallContext`: a sync call drops them, and dropping a
/// context just built reads its call's 16-byte tag back before the stores that wrote it
/// have landed, a stall on every call.
pub(crate) struct NewCall {
    pub(crate) record: Box<CallRecord>,
    pub(crate) parent: Option<CallRef>,
    pub(crate) attributes: Option<Arc<JsonObject>>,
    pub(crate) thread_id: Option<Arc<str>>,
}

/// Builds the start of a call of `op` in `scope`.
#[inline]
pub(crate) fn new_call(
    client: &ClientHandle,
    scope: Scope,
    op: OpHandle,
    options: StartOptions,
    capture: impl FnOnce(&CaptureConfig) -> RawJson,
) -> NewCall {
    let info = options.info;
    let started_at = Timestamp::now();
    let id = Id::new_v7(started_at.unix_millis());
    let (trace_id, parent_id, parent_thread, parent_turn) = match &scope.parent {
        None => (Id::new_v7(started_at.unix_millis()), None, None, None),
        Some(CallRef::Local(p)) => (p.trace_id, Some(p.id), p.thread_id.clone(), p.turn_id),
        Some(CallRef::Shared(p)) => {
            let p = p.start();
            (p.trace_id, Some(p.id), p.thread_id.clone(), p.turn_id)
        }
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
    let has_parent = parent_id.is_some();
    let (thread_id, turn_id) = match (&scope.thread_id, parent_thread) {
        (Some(scope), Some(parent)) if *parent == **scope => (Some(Arc::clone(scope)), parent_turn),
        (Some(scope), _) => (Some(Arc::clone(scope)), Some(id)),
        (None, parent) if has_parent => (parent, parent_turn),
        (None, _) => (None, None),
    };
    let user_attributes = match options.attributes {
        None => scope.attributes.clone(),
        Some(extra) => {
            let mut merged = scope.attributes.as_deref().cloned().unwrap_or_default();
            crate::summary::deep_merge(&mut merged, extra);
            Some(Arc::new(merged))
        }
    };
    if !has_parent {
        client.print_call_link(&id);
    }
    // Set field by field in a spare box: built whole and then moved, the record (a few
    // hundred bytes) was copied once more, and read back before its stores had landed.
    let weave = client.weave_attributes(info.is_async);
    let kind = op.kind();
    let mut record = crate::export::spare_record().unwrap_or_else(|| Box::new(CallRecord::blank(op.clone())));
    let start = &mut record.start;
    start.id = id;
    start.trace_id = trace_id;
    start.parent_id = parent_id;
    start.attributes.user = user_attributes;
    start.attributes.weave = weave;
    start.attributes.kind = kind;
    start.op = op;
    start.started_at = started_at;
    start.inputs = inputs;
    start.display_name = display_name;
    start.thread_id = thread_id;
    start.turn_id = turn_id;
    start.wb_run_id = client.wb_run_id();
    record.end = None;
    let Scope { parent, attributes, thread_id } = scope;
    NewCall { record, parent, attributes, thread_id }
}

/// Writes the start at once when the op asks for it (a long-running call shows as running).
#[inline]
fn export_eager_start(client: &ClientHandle, start: &CallStart) {
    if start.op.eager_call_start() {
        client.exporter().export(ExportItem::CallStarted(Box::new(CallRecord { start: start.clone(), end: None })));
    }
}

/// Starts a call with a handle of its own (async and manual calls), under `scope`.
pub(crate) fn start_owning(
    client: ClientHandle,
    scope: Scope,
    op: OpHandle,
    options: StartOptions,
    capture: impl FnOnce(&CaptureConfig) -> RawJson,
) -> (Arc<CallNode>, CallContext) {
    let NewCall { record, parent, attributes, thread_id } = new_call(&client, scope, op, options, capture);
    export_eager_start(&client, &record.start);
    // It may end on any thread: a parent on this thread's stack is held by handle.
    let parent = match parent {
        None => None,
        Some(CallRef::Shared(node)) => Some(node),
        Some(local) => local.to_shared(),
    };
    let node = Arc::new(CallNode::owning(record, client, parent));
    node.client().register_open(node.start().id, Arc::<CallNode>::downgrade(&node));
    let context = CallContext {
        call: Some(CallRef::Shared(Arc::clone(&node))),
        attributes,
        thread_id,
        suppressed: Suppressed::NO,
    };
    (node, context)
}

enum Begin {
    /// Not recording, nothing to change.
    Skip,
    /// An unsampled root: nothing inside it is traced.
    Suppress(CallContext),
    /// Recording.
    Record(LocalClient, Scope, OpHandle, &'static OpStatic),
}

#[inline]
fn begin(site: &'static OpSite, self_type: Option<fn() -> &'static str>) -> Begin {
    let Some(client) = current_local_client() else {
        return Begin::Skip;
    };
    let Some((suppressed, scope)) = with_current(|c| (c.suppressed, Scope::of(c))) else {
        return Begin::Skip;
    };
    if suppressed.is_set() {
        return Begin::Skip;
    }
    let info = site.info();
    if scope.parent.is_none() && info.sample_rate < 1.0 && next_random_f64() >= info.sample_rate {
        let context = CallContext { suppressed: Suppressed::YES, ..Scope { parent: None, ..scope }.into_context() };
        return Begin::Suppress(context);
    }
    let op = OpHandle::from_static(site.def(self_type.map(|f| f()), client.settings().capture_code));
    Begin::Record(client, scope, op, info)
}

/// How a call ends, filled in by the macro-generated code.
pub struct CallEnding<'a> {
    info: &'static OpStatic,
    op_name: &'a str,
    config: &'a CaptureConfig,
    outcome: &'a mut Outcome,
}

impl CallEnding<'_> {
    /// Records the output, written by `capture`.
    #[inline]
    pub fn output(&mut self, capture: impl FnOnce(&mut ValueWriter<'_>)) {
        let mut output = capture_value(self.config, capture);
        if let Some(postprocess) = self.info.postprocess_output {
            output = RawJson::from_value(&postprocess(output.to_value()));
        }
        self.outcome.output = Some(output);
    }

    /// Records an `Err`: the error's type name and its message.
    pub fn error(&mut self, type_name: &'static str, message: impl FnOnce() -> String) {
        let frame = ExceptionFrame {
            filename: self.info.file.to_string(),
            line_number: self.info.line,
            function_name: self.op_name.to_string(),
            text: String::new(),
        };
        self.outcome.exception = Some(Exception::from_error(type_name, message(), Some(frame)));
    }
}

/// The guard around a sync op's body. Dropping it without `finish` (a panic unwinding)
/// records the panic; either way the previous call is current again.
///
/// A sync op changes only its thread's current call (or, in an unsampled root, whether
/// tracing is suppressed): the rest of the context (attributes, conversation thread) is
/// the one in scope. So the guard keeps the previous call alone (128 bytes, moved by a
/// few inline stores; with a whole previous context it was 160, copied by `memcpy` on
/// each of its moves and read back before its stores had landed: with the end's outcome
/// returned by value, about a tenth of an op call).
#[must_use]
pub struct SyncCall {
    inner: SyncInner,
    _not_send: PhantomData<*const ()>,
}

enum SyncInner {
    /// Not recording, and nothing to restore (or already ended).
    Off,
    /// Inside an unsampled root: tracing is suppressed until the guard ends.
    Suppressed,
    /// Recording.
    Running(Running),
}

/// A sync call running on this thread's stack.
struct Running {
    id: Id,
    op: OpHandle,
    info: &'static OpStatic,
    client: LocalClient,
    /// The call current before this one started (its parent, as the context held it).
    previous: Option<CallRef>,
}

impl SyncCall {
    #[inline]
    fn disabled() -> SyncCall {
        SyncCall { inner: SyncInner::Off, _not_send: PhantomData }
    }

    /// Records the return value through `f` and ends the call.
    #[inline]
    pub fn finish<R: ?Sized>(mut self, out: &R, f: impl FnOnce(&mut CallEnding<'_>, &R)) {
        let SyncInner::Running(call) = &self.inner else {
            // Nothing recorded: dropping `self` restores the context, if it was changed.
            return;
        };
        // Should `f` panic, `self` is dropped while unwinding and records the panic.
        let mut outcome = Outcome::default();
        ending_of(call.op.name(), call.client.capture_config(), call.info, &mut outcome, |e| f(e, out));
        if let SyncInner::Running(call) = std::mem::replace(&mut self.inner, SyncInner::Off) {
            call.end(&mut outcome);
        }
    }

    /// True when this call is being recorded.
    pub fn is_recording(&self) -> bool {
        matches!(self.inner, SyncInner::Running(_))
    }
}

impl Running {
    /// Ends the call (off this thread's stack, into the exporter) and restores the
    /// previous call.
    fn end(self, outcome: &mut Outcome) {
        let Running { id, client, previous, .. } = self;
        let ended_at = Timestamp::now();
        let popped = crate::call_stack::pop(&id, |record, state| end_record(record, state, ended_at, outcome));
        // The context goes back first, whatever the exporter does below.
        drop(replace_current_call(previous));
        let Some(Popped { record, shared_parent }) = popped else { return };
        if let (Some(parent), Some(end)) = (&shared_parent, &record.end) {
            parent.add_child_summary(&end.summary);
        }
        client.exporter().export(ExportItem::CallFinished(record));
    }

    /// Ends a call left without `finish`: a panic unwinding, or a guard dropped unused.
    #[inline(never)]
    fn end_unfinished(self) {
        let exception = if std::thread::panicking() {
            crate::panic::current_panic()
        } else {
            Exception {
                kind: "Unfinished".to_string(),
                message: "the op's guard was dropped before the call finished".to_string(),
                traceback: Default::default(),
            }
        };
        self.end(&mut Outcome { output: None, exception: Some(exception) });
    }
}

impl Drop for SyncCall {
    #[inline]
    fn drop(&mut self) {
        match std::mem::replace(&mut self.inner, SyncInner::Off) {
            SyncInner::Off => {}
            SyncInner::Suppressed => set_current_suppressed(Suppressed::NO),
            SyncInner::Running(call) => call.end_unfinished(),
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
    if !crate::switch::is_enabled() {
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
    let (client, scope, op, info) = match begin(site, self_type) {
        Begin::Skip => return SyncCall::disabled(),
        Begin::Suppress(_) => {
            // The current call is none (only a root is sampled out): the flag is all that
            // changes.
            set_current_suppressed(Suppressed::YES);
            return SyncCall { inner: SyncInner::Suppressed, _not_send: PhantomData };
        }
        Begin::Record(client, scope, op, info) => (client, scope, op, info),
    };
    let options = StartOptions { info, attributes: None, display_name: None };
    let NewCall { record, parent, .. } = new_call(&client, scope, op, options, |config| capture_inputs(config, inputs));
    export_eager_start(&client, &record.start);
    let start = &record.start;
    let id = start.id;
    let op = start.op.clone();
    let local = LocalCall { id, trace_id: start.trace_id, thread_id: start.thread_id.clone(), turn_id: start.turn_id };
    let shared_parent = match parent {
        Some(CallRef::Shared(p)) => Some(p as Arc<dyn crate::call_stack::SharedParent>),
        None | Some(CallRef::Local(_)) => None,
    };
    let client_key = client.key();
    if !crate::call_stack::push(record, client_key, shared_parent) {
        // The thread is exiting: the op runs unrecorded.
        return SyncCall::disabled();
    }
    let previous = replace_current_call(Some(CallRef::Local(local)));
    SyncCall { inner: SyncInner::Running(Running { id, op, info, client, previous }), _not_send: PhantomData }
}

/// A started call of an async op, not yet entered (its future enters it on every poll).
pub struct AsyncCall {
    node: Option<Arc<CallNode>>,
    context: Option<CallContext>,
    info: &'static OpStatic,
}

/// Starts a call of an async op (at its first poll, so the parent is the call current
/// where it is awaited).
#[inline]
pub fn start_async_call(
    site: &'static OpSite,
    self_type: Option<fn() -> &'static str>,
    inputs: impl FnOnce(&mut InputsWriter<'_>),
) -> AsyncCall {
    let unrecorded = |context| AsyncCall { node: None, context, info: site.info() };
    if !crate::switch::is_enabled() {
        return unrecorded(None);
    }
    match begin(site, self_type) {
        Begin::Skip => unrecorded(None),
        Begin::Suppress(context) => unrecorded(Some(context)),
        Begin::Record(client, scope, op, info) => {
            let options = StartOptions { info, attributes: None, display_name: None };
            let (node, context) =
                start_owning(client.shared(), scope, op, options, |config| capture_inputs(config, inputs));
            AsyncCall { node: Some(node), context: Some(context), info }
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
    OpFuture { node: call.node, context: call.context, info: call.info, on_output: Some(on_output), inner: future }
}

pin_project_lite::pin_project! {
    /// The future of an async op (see [`instrument`]).
    pub struct OpFuture<F, C> {
        node: Option<Arc<CallNode>>,
        context: Option<CallContext>,
        info: &'static OpStatic,
        on_output: Option<C>,
        #[pin]
        inner: F,
    }

    impl<F, C> PinnedDrop for OpFuture<F, C> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(node) = this.node.take() {
                let exception = Exception::cancelled(node.start().op.name());
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
            match this.on_output.take() {
                Some(on_output) => {
                    let mut outcome = Outcome::default();
                    let config = node.client().capture_config();
                    ending_of(node.start().op.name(), config, this.info, &mut outcome, |e| on_output(e, &output));
                    node.finish(outcome.output, outcome.exception);
                }
                None => node.finish(None, None),
            }
        }
        Poll::Ready(output)
    }
}

/// Runs the macro's recording of a call's end, into `outcome` (its output and exception:
/// filled in place, it is not copied on its way back).
fn ending_of(
    op_name: &str,
    config: &CaptureConfig,
    info: &'static OpStatic,
    outcome: &mut Outcome,
    record: impl FnOnce(&mut CallEnding<'_>),
) {
    record(&mut CallEnding { info, op_name, config, outcome });
}
