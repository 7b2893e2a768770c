//! Who is my parent: the current call context of a thread, and the ways to carry it
//! across `.await`, threads and spawned tasks.
//!
//! A [`CallContext`] is the current call (if any), the user attributes and the thread id in
//! scope, and whether tracing is suppressed (inside an unsampled root). Each thread has a
//! current context; ops replace it while they run and restore it afterwards. Async ops
//! enter their context on every poll (like `tracing::Instrument`), so a call keeps its
//! place in the tree across `.await` and across the threads of a multi-thread runtime.

use crate::active::CallNode;
use crate::call::JsonObject;
use crate::ids::Id;
use serde_json::Value;
use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
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

/// A context's reference to its call: counted (an `Arc`'s), or borrowed from the guard of
/// the sync op whose context it is.
///
/// A borrowed reference costs no atomic count (two per sync call). It lives only where the
/// guard's lifetime covers it: this thread's current context, and the guards of the calls
/// nested in that op (each holds the context it replaced and puts it back before its own
/// op returns). Every other holder gets a counted one: a clone is counted, and
/// [`CallContext::enter`], whose guard may outlive the op, counts what it keeps.
pub(crate) struct CallRef {
    node: NonNull<CallNode>,
    counted: bool,
}

// SAFETY: a counted `CallRef` is an `Arc<CallNode>` (`Send` and `Sync`); a borrowed one
// never leaves its thread (it is only in the thread-local current context and in `!Send`
// guards, see the type's docs), and clones and `Send` holders are counted.
unsafe impl Send for CallRef {}
// SAFETY: as for `Send`: shared access only reads the node, which is `Sync`.
unsafe impl Sync for CallRef {}

impl CallRef {
    /// A counted reference.
    pub(crate) fn counted(node: Arc<CallNode>) -> CallRef {
        // SAFETY: `Arc::into_raw` gives a valid, non-null pointer.
        CallRef { node: unsafe { NonNull::new_unchecked(Arc::into_raw(node).cast_mut()) }, counted: true }
    }

    /// A reference borrowed from `node`.
    ///
    /// # Safety
    /// `node` must outlive the reference, and the reference may only be put in this
    /// thread's current context by the guard that owns `node`, which restores the previous
    /// context before dropping `node` (see the type's docs).
    pub(crate) unsafe fn borrowed(node: &Arc<CallNode>) -> CallRef {
        CallRef { node: NonNull::from(&**node), counted: false }
    }

    /// The call, counted.
    pub(crate) fn to_arc(&self) -> Arc<CallNode> {
        // SAFETY: `node` came from `Arc::into_raw` (counted) or is borrowed from a live
        // `Arc` (see `borrowed`): either way it points into a live `Arc`'s allocation, whose
        // count this takes one more of, for the `Arc` returned.
        unsafe {
            Arc::increment_strong_count(self.node.as_ptr().cast_const());
            Arc::from_raw(self.node.as_ptr().cast_const())
        }
    }

    /// The call as an `Arc`, taking this reference's count (borrowed ones are counted now).
    pub(crate) fn into_arc(self) -> Arc<CallNode> {
        if !self.counted {
            return self.to_arc();
        }
        let node = self.node.as_ptr().cast_const();
        std::mem::forget(self);
        // SAFETY: a counted reference owns one count of the `Arc` it came from, which moves
        // to the `Arc` returned (`self` is forgotten, so it does not give it back).
        unsafe { Arc::from_raw(node) }
    }

    /// This reference, counted (borrowed ones are counted now).
    pub(crate) fn into_counted(self) -> CallRef {
        if self.counted {
            self
        } else {
            CallRef::counted(self.to_arc())
        }
    }
}

impl std::ops::Deref for CallRef {
    type Target = CallNode;

    fn deref(&self) -> &CallNode {
        // SAFETY: the node is alive while this reference is (see the type's docs).
        unsafe { self.node.as_ref() }
    }
}

impl Clone for CallRef {
    fn clone(&self) -> CallRef {
        CallRef::counted(self.to_arc())
    }
}

impl Drop for CallRef {
    #[inline]
    fn drop(&mut self) {
        if self.counted {
            // SAFETY: a counted reference owns one count of the `Arc` it came from.
            drop(unsafe { Arc::from_raw(self.node.as_ptr().cast_const()) });
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
        CURRENT.try_with(|c| c.borrow().clone()).unwrap_or_default()
    }

    /// The id of the current call in this context.
    pub fn call_id(&self) -> Option<Id> {
        self.call.as_ref().map(|c| c.start().id)
    }

    /// The trace id of the current call in this context.
    pub fn trace_id(&self) -> Option<Id> {
        self.call.as_ref().map(|c| c.start().trace_id)
    }

    /// Makes this context current on this thread until the guard is dropped.
    pub fn enter(&self) -> ContextGuard {
        // The guard may outlive the op whose context it replaces: what it keeps is counted.
        let previous = replace_current(self.clone());
        let previous = CallContext { call: previous.call.map(CallRef::into_counted), ..previous };
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

/// Reads this thread's current context without cloning it.
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
