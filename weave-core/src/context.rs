//! Who is my parent: the current call context of a thread, and the ways to carry it
//! across `.await`, threads and spawned tasks.
//!
//! A [`CallContext`] is the current call (if any), the user attributes and the thread id in
//! scope, and whether tracing is suppressed (inside an unsampled root). Each thread has a
//! current context; ops replace it while they run and restore it afterwards. Async ops
//! enter their context on every poll (like `tracing::Instrument`), so a call keeps its
//! place in the tree across `.await` and across the threads of a multi-thread runtime.

use crate::ids::Id;
use crate::json::JsonObject;
use crate::node::CallNode;
use serde_json::Value;
use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

/// A snapshot of "where we are" in the trace: the current call, the attributes and thread
/// in scope. Cheap to clone, `Send` and `Sync`: capture it with [`CallContext::current`],
/// then enter it on another thread or attach it to a future.
#[derive(Clone, Default)]
pub struct CallContext {
    pub(crate) call: Option<CallRef>,
    pub(crate) attributes: Option<Arc<JsonObject>>,
    pub(crate) thread_id: Option<Arc<str>>,
    pub(crate) suppressed: Suppressed,
}

/// Whether tracing is suppressed, as a whole word: a lone `bool` after the context's
/// pointers left seven bytes of padding, which every move of a context copied with odd,
/// overlapping loads that waited for the stores of the context just built (a stall on
/// each of the several moves of a context an op call makes).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct Suppressed(usize);

impl Suppressed {
    /// Tracing is suppressed (inside an unsampled root).
    pub(crate) const YES: Suppressed = Suppressed(1);
    /// Tracing is not suppressed.
    pub(crate) const NO: Suppressed = Suppressed(0);

    /// True when tracing is suppressed.
    #[inline]
    pub(crate) fn is_set(self) -> bool {
        self.0 != 0
    }
}

/// A context's reference to its call.
#[derive(Clone)]
pub(crate) enum CallRef {
    /// A sync call of this thread's stack ([`crate::call_stack`]), by its ids: held by
    /// this thread's current context and the guards of its ops (not `Send`), found on the
    /// stack by id when its children end. A context handed out ([`CallContext::current`])
    /// holds the call by handle instead while it runs; once it has ended, its ids are
    /// all there is to it, on any thread.
    Local(LocalCall),
    /// A call by handle (async and manual calls, and sync calls handed out).
    Shared(Arc<CallNode>),
}

/// What a call started under a sync call of this thread takes from it.
#[derive(Clone)]
pub(crate) struct LocalCall {
    pub(crate) id: Id,
    pub(crate) trace_id: Id,
    pub(crate) thread_id: Option<Arc<str>>,
    pub(crate) turn_id: Option<Id>,
}

impl CallRef {
    /// The call's id.
    pub(crate) fn id(&self) -> Id {
        match self {
            CallRef::Local(local) => local.id,
            CallRef::Shared(node) => node.start().id,
        }
    }

    /// The trace's id.
    pub(crate) fn trace_id(&self) -> Id {
        match self {
            CallRef::Local(local) => local.trace_id,
            CallRef::Shared(node) => node.start().trace_id,
        }
    }

    /// The call by handle (a sync call of this thread's stack gets one now; `None` when
    /// it has ended).
    pub(crate) fn to_shared(&self) -> Option<Arc<CallNode>> {
        match self {
            CallRef::Shared(node) => Some(Arc::clone(node)),
            CallRef::Local(local) => {
                let thread = crate::call_stack::this_thread()?;
                let client = crate::switch::current_client_handle()?;
                crate::call_stack::with_local_frame(&local.id, |frame| {
                    (frame.client_key == client.key())
                        .then(|| Arc::new(CallNode::of_frame(&frame.record.start, client, thread)))
                })
                .flatten()
            }
        }
    }
}

impl CallContext {
    /// This context, fit to leave the thread: a sync call of this thread's stack that is
    /// still running is held by handle (a call that has ended stays as its ids: nothing
    /// rolls up into it any more).
    fn shareable(&self) -> CallContext {
        match &self.call {
            Some(call @ CallRef::Local(_)) => match call.to_shared() {
                Some(node) => CallContext { call: Some(CallRef::Shared(node)), ..self.clone() },
                None => self.clone(),
            },
            _ => self.clone(),
        }
    }
}

impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("call_id", &self.call_id())
            .field("attributes", &self.attributes)
            .field("thread_id", &self.thread_id)
            .field("suppressed", &self.suppressed.is_set())
            .finish()
    }
}

thread_local! {
    // Const-initialized: no first-use check on each access (ops switch it twice a call).
    static CURRENT: RefCell<CallContext> = const {
        RefCell::new(CallContext { call: None, attributes: None, thread_id: None, suppressed: Suppressed::NO })
    };
}

impl CallContext {
    /// The context current on this thread.
    pub fn current() -> CallContext {
        with_current(CallContext::shareable).unwrap_or_default()
    }

    /// The id of the current call in this context.
    pub fn call_id(&self) -> Option<Id> {
        self.call.as_ref().map(CallRef::id)
    }

    /// The trace id of the current call in this context.
    pub fn trace_id(&self) -> Option<Id> {
        self.call.as_ref().map(CallRef::trace_id)
    }

    /// Makes this context current on this thread until the guard is dropped.
    pub fn enter(&self) -> ContextGuard {
        let previous = replace_current(self.clone());
        ContextGuard { previous: Some(previous), _not_send: PhantomData }
    }

    /// Runs `f` with this context current.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.enter();
        f()
    }

    /// Wraps a future so that this context is current whenever it is polled.
    pub fn wrap<F: Future>(&self, future: F) -> WithContext<F> {
        WithContext { context: self.clone(), inner: future }
    }

    /// This context with more user attributes (these win over the ones in scope).
    pub fn with_attributes(mut self, attributes: JsonObject) -> CallContext {
        let mut merged = self.attributes.as_deref().cloned().unwrap_or_default();
        crate::summary::deep_merge(&mut merged, attributes);
        self.attributes = Some(Arc::new(merged));
        self
    }

    /// This context inside a conversation thread: calls started in it get `thread_id`, and
    /// the top-level ones among them are the thread's turns.
    pub fn with_thread_id(mut self, thread_id: impl Into<String>) -> CallContext {
        self.thread_id = Some(Arc::from(thread_id.into()));
        self
    }
}

/// Restores the previous context when dropped. Not `Send`: a context is entered and left
/// on the same thread.
#[must_use = "the context is left as soon as the guard is dropped"]
pub struct ContextGuard {
    previous: Option<CallContext>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            replace_current(previous);
        }
    }
}

impl std::fmt::Debug for ContextGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContextGuard")
    }
}

/// Replaces this thread's current context, returning the previous one.
///
/// Inlined: passed through memory, a context built just before (its words written one
/// at a time) was read back sixteen bytes at a time, and each such read waited for the
/// stores to land (half of this function's time).
#[inline]
pub(crate) fn replace_current(context: CallContext) -> CallContext {
    CURRENT
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut current) => std::mem::replace(&mut *current, context),
            Err(_) => CallContext::default(),
        })
        .unwrap_or_default()
}

/// Replaces this thread's current call, the rest of its context as it is (what a sync op
/// changes while it runs), returning the previous one.
#[inline]
pub(crate) fn replace_current_call(call: Option<CallRef>) -> Option<CallRef> {
    CURRENT
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut current) => std::mem::replace(&mut current.call, call),
            Err(_) => None,
        })
        .ok()
        .flatten()
}

/// Sets whether tracing is suppressed in this thread's current context (inside an
/// unsampled root sync op).
#[inline]
pub(crate) fn set_current_suppressed(suppressed: Suppressed) {
    let _ = CURRENT.try_with(|c| {
        if let Ok(mut current) = c.try_borrow_mut() {
            current.suppressed = suppressed;
        }
    });
}

/// Reads this thread's current context without cloning it.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&CallContext) -> R) -> Option<R> {
    CURRENT.try_with(|c| c.try_borrow().ok().map(|c| f(&c))).ok().flatten()
}

/// True when a call is current on this thread (used by the panic hook).
pub(crate) fn has_current_call() -> bool {
    with_current(|c| c.call.is_some()).unwrap_or(false)
}

pin_project_lite::pin_project! {
    /// A future that enters a [`CallContext`] on every poll.
    #[derive(Debug)]
    pub struct WithContext<F> {
        context: CallContext,
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = this.context.enter();
        this.inner.poll(cx)
    }
}

/// Carries the current call into futures: `fut.in_current_call()`.
pub trait FutureExt: Future + Sized {
    /// Wraps the future so that the call current now is its parent wherever it runs.
    fn in_current_call(self) -> WithContext<Self> {
        CallContext::current().wrap(self)
    }

    /// Wraps the future so that `context` is current whenever it is polled.
    fn in_context(self, context: CallContext) -> WithContext<Self> {
        context.wrap(self)
    }
}

impl<F: Future> FutureExt for F {}

/// Adds user attributes to calls started until the guard is dropped (inner scopes win),
/// like Python's `with weave.attributes({...})`. Attributes are frozen when a call starts.
pub fn attributes<K, V>(attributes: impl IntoIterator<Item = (K, V)>) -> ContextGuard
where
    K: Into<String>,
    V: Into<Value>,
{
    let map: JsonObject = attributes.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    CallContext::current().with_attributes(map).enter()
}

/// Runs `f` with user attributes added (see [`attributes`]).
pub fn with_attributes<K, V, R>(attrs: impl IntoIterator<Item = (K, V)>, f: impl FnOnce() -> R) -> R
where
    K: Into<String>,
    V: Into<Value>,
{
    let _guard = attributes(attrs);
    f()
}

/// Puts calls started until the guard is dropped into a conversation thread (Weave's
/// `thread_id`); the top-level calls inside it are the turns (`turn_id`).
pub fn thread(thread_id: impl Into<String>) -> ContextGuard {
    CallContext::current().with_thread_id(thread_id).enter()
}

/// Spawns a future on the current tokio runtime with the current call as its parent.
#[cfg(feature = "tokio")]
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_call())
}

/// Runs a blocking closure on tokio's blocking pool with the current call as its parent.
#[cfg(feature = "tokio")]
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let context = CallContext::current();
    tokio::task::spawn_blocking(move || context.in_scope(f))
}

/// Spawns an OS thread with the current call as its parent.
pub fn spawn_thread<F, R>(f: F) -> std::thread::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let context = CallContext::current();
    std::thread::spawn(move || context.in_scope(f))
}
