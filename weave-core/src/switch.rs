//! The switch every op checks, and the installed client.
//!
//! Ops read one atomic (`STATE`): 0 means no client (before `init`, after `finish`, or
//! disabled), anything else is the generation of the installed client. Each thread caches
//! the client of the generation it last saw, so the hot path takes no lock. Installing and
//! uninstalling a client (its lifecycle) is [`crate::runtime`].

use crate::client::Client;
use parking_lot::RwLock;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static STATE: AtomicU64 = AtomicU64::new(0);
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);
static CLIENT: RwLock<Option<Arc<Client>>> = RwLock::new(None);

thread_local! {
    /// This thread's handle on the current client, and the generation it was taken for.
    static CACHED: RefCell<Option<(u64, LocalClient)>> = const { RefCell::new(None) };
}

/// A counted handle on a client through a wrapper of one thread's (its cached handle):
/// each call holds its client, and counting `Arc<Client>` itself would make every thread
/// that runs ops add to and subtract from one shared counter on every call (its cache
/// line passed back and forth between their cores). The wrapper's counter is touched by
/// its thread only, but when a call ends or is dropped elsewhere.
#[derive(Clone)]
pub(crate) struct ClientHandle(Arc<ThreadClient>);

/// What a [`ClientHandle`] counts: one thread's reference to the client.
struct ThreadClient(Arc<Client>);

impl ClientHandle {
    /// A new handle on `client` (a thread caches one).
    fn new(client: Arc<Client>) -> ClientHandle {
        ClientHandle(Arc::new(ThreadClient(client)))
    }

    /// The client's identity (its address), to tell whose a call is without a handle.
    pub(crate) fn key(&self) -> usize {
        Client::key(&self.0 .0)
    }
}

/// This thread's handle on a client, for the calls that start and end on this thread
/// (sync ops): counted without atomic operations (each call holds one while it runs).
#[derive(Clone)]
pub(crate) struct LocalClient(Rc<ClientHandle>);

impl LocalClient {
    /// A handle that may leave the thread (for calls that may end elsewhere).
    pub(crate) fn shared(&self) -> ClientHandle {
        ClientHandle::clone(&self.0)
    }
}

impl std::ops::Deref for LocalClient {
    type Target = ClientHandle;

    #[inline]
    fn deref(&self) -> &ClientHandle {
        &self.0
    }
}

impl std::ops::Deref for ClientHandle {
    type Target = Arc<Client>;

    #[inline]
    fn deref(&self) -> &Arc<Client> {
        &self.0 .0
    }
}

/// Makes `client` the installed client, of a new generation. Returns the one it replaces.
pub(crate) fn set_installed(client: Arc<Client>) -> Option<Arc<Client>> {
    let generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
    let mut slot = CLIENT.write();
    let previous = slot.replace(client);
    STATE.store(generation, Ordering::Release);
    previous
}

/// Removes the installed client (ops become plain calls again). Returns it.
pub(crate) fn take_installed() -> Option<Arc<Client>> {
    let mut slot = CLIENT.write();
    STATE.store(0, Ordering::Release);
    slot.take()
}

/// The installed client, from its slot (not through this thread's cache).
pub(crate) fn installed() -> Option<Arc<Client>> {
    CLIENT.read().clone()
}

/// True when `client` is the installed client.
pub(crate) fn is_installed(client: &Arc<Client>) -> bool {
    CLIENT.read().as_ref().is_some_and(|c| Arc::ptr_eq(c, client))
}

/// True when a client is installed (ops record).
#[inline]
pub fn is_enabled() -> bool {
    STATE.load(Ordering::Relaxed) != 0
}

/// The current client, if any: one atomic load when there is none.
#[inline]
pub fn current_client() -> Option<Arc<Client>> {
    with_current_client(|handle| Arc::clone(handle))
}

/// A handle on the current client, if any, that may leave this thread: one atomic load
/// when there is none (what async and manual calls hold, see [`ClientHandle`]).
#[inline]
pub(crate) fn current_client_handle() -> Option<ClientHandle> {
    with_current_client(LocalClient::shared)
}

/// This thread's handle on the current client, if any: one atomic load when there is none
/// (what sync calls hold, see [`LocalClient`]).
#[inline]
pub(crate) fn current_local_client() -> Option<LocalClient> {
    with_current_client(LocalClient::clone)
}

/// `f` of this thread's handle on the current client, if there is one.
#[inline]
fn with_current_client<R>(f: impl FnOnce(&LocalClient) -> R) -> Option<R> {
    let generation = STATE.load(Ordering::Acquire);
    if generation == 0 {
        return None;
    }
    with_cached_client(generation, f)
}

/// `f` of this thread's cached handle for `generation` (refreshed from the installed client
/// when the generation changed), run in place: `current_client` clones the client, not
/// the handle too.
#[inline(never)]
fn with_cached_client<R>(generation: u64, f: impl FnOnce(&LocalClient) -> R) -> Option<R> {
    CACHED
        .try_with(|cached| {
            let mut cached = cached.try_borrow_mut().ok()?;
            match cached.as_ref() {
                Some((g, handle)) if *g == generation => Some(f(handle)),
                _ => {
                    let handle = LocalClient(Rc::new(ClientHandle::new(CLIENT.read().clone()?)));
                    let result = f(&handle);
                    *cached = Some((generation, handle));
                    Some(result)
                }
            }
        })
        .ok()
        .flatten()
}
