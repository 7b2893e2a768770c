//! [`BiasedLock`] (see its docs).

use super::{wait_while, OwnerLock, OwnerLockGuard};
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{compiler_fence, fence, AtomicBool, Ordering};
use std::sync::OnceLock;

/// A lock that one thread, its owner, takes and releases with plain stores
/// (no atomic read-modify-write), while other threads pay for both sides.
///
/// The owner announces itself (`owner_busy`), then checks that no other thread wants the
/// lock (`remote_wants`); another thread announces itself, then checks that the owner is
/// not inside. Each side's store and load must not be reordered, which on its own needs
/// a full fence on both sides: the owner's side would cost what the atomic swap it
/// replaces costs (waiting for every earlier store to reach the cache). Instead the other
/// side issues Linux's `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which runs a full
/// fence on every CPU running a thread of this process, and the owner's side needs only a
/// compiler fence. This is the asymmetric fence used by RCU libraries.
///
/// Where `membarrier` is not available (another OS, an old kernel, a sandbox that refuses
/// it), every lock falls back to one [`OwnerLock`] for all threads: a swap to take, a store
/// to release. The choice is made once per process, before any lock is taken.
///
/// ```
/// use weave_core::sync::BiasedLock;
///
/// let buffer = BiasedLock::new(Vec::new());
/// // SAFETY: this thread is the only one that ever takes `buffer` as its owner.
/// unsafe { buffer.lock_as_owner() }.push(1);
/// assert_eq!(*buffer.lock(), vec![1]);
/// ```
#[derive(Default)]
pub struct BiasedLock<T> {
    owner_busy: AtomicBool,
    remote_wants: AtomicBool,
    /// Orders the other threads among themselves (and, without `membarrier`, everyone).
    remotes: OwnerLock<()>,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and at most one guard exists at a
// time: between the owner and the others by the two flags and the asymmetric fence (see
// the module), among the others (and for everyone without `membarrier`) by `remotes`;
// acquire and release orderings on those order every access. So the lock is what a
// `Mutex<T>` is, and is `Sync` for `T: Send`.
unsafe impl<T: Send> Sync for BiasedLock<T> {}
// SAFETY: moving the lock moves the value; no guard can exist then (it borrows the lock).
unsafe impl<T: Send> Send for BiasedLock<T> {}

impl<T> BiasedLock<T> {
    /// A lock around `value`.
    pub const fn new(value: T) -> BiasedLock<T> {
        BiasedLock {
            owner_busy: AtomicBool::new(false),
            remote_wants: AtomicBool::new(false),
            remotes: OwnerLock::new(()),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock as its owner: two plain stores and a load, unless another thread
    /// holds or wants it. Not reentrant.
    ///
    /// # Safety
    ///
    /// Only one thread ever takes this lock with `lock_as_owner`, for the lock's whole life
    /// (two threads both taking it as owner could both get in).
    #[inline]
    pub unsafe fn lock_as_owner(&self) -> BiasedLockGuard<'_, T> {
        // SAFETY: passed on from the caller.
        unsafe { self.lock_as_owner_in(asymmetric_fences()) }
    }

    /// Takes the lock from any thread: the owner's (outside [`Self::lock_as_owner`]) or
    /// another. Costs a system call (`membarrier`); waits while the owner is inside.
    pub fn lock(&self) -> BiasedLockGuard<'_, T> {
        self.lock_in(asymmetric_fences())
    }

    /// [`Self::lock_as_owner`] with asymmetric fences or without (the same for every use
    /// of one lock).
    ///
    /// # Safety
    ///
    /// As for [`Self::lock_as_owner`].
    #[inline]
    unsafe fn lock_as_owner_in(&self, asymmetric: bool) -> BiasedLockGuard<'_, T> {
        if !asymmetric {
            return BiasedLockGuard { lock: self, remote: Some(self.remotes.lock()), asymmetric };
        }
        loop {
            self.owner_busy.store(true, Ordering::Relaxed);
            // The other side's `membarrier` supplies the hardware fence (see the lock's docs).
            compiler_fence(Ordering::SeqCst);
            if !self.remote_wants.load(Ordering::Acquire) {
                return BiasedLockGuard { lock: self, remote: None, asymmetric };
            }
            self.owner_busy.store(false, Ordering::Release);
            wait_while(&self.remote_wants);
        }
    }

    /// [`Self::lock`] with asymmetric fences or without (the same for every use of one
    /// lock).
    fn lock_in(&self, asymmetric: bool) -> BiasedLockGuard<'_, T> {
        let remote = self.remotes.lock();
        if asymmetric {
            self.remote_wants.store(true, Ordering::Relaxed);
            heavy_fence();
            wait_while(&self.owner_busy);
            fence(Ordering::Acquire);
        }
        BiasedLockGuard { lock: self, remote: Some(remote), asymmetric }
    }

    /// The value, through a unique borrow of the lock (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for BiasedLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BiasedLock").field("value", &*self.lock()).finish()
    }
}

/// The value of a taken [`BiasedLock`]; dropping it releases the lock.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct BiasedLockGuard<'a, T> {
    lock: &'a BiasedLock<T>,
    /// Held when taken by [`BiasedLock::lock`] (or without `membarrier`).
    remote: Option<OwnerLockGuard<'a, ()>>,
    /// Whether the lock uses asymmetric fences (see [`BiasedLock`]).
    asymmetric: bool,
}

impl<T> Deref for BiasedLockGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock, so no other reference to the value exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for BiasedLockGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the lock, so no other reference to the value exists.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for BiasedLockGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        match self.remote.take() {
            // The owner's side: a plain store.
            None => self.lock.owner_busy.store(false, Ordering::Release),
            Some(remote) => {
                if self.asymmetric {
                    self.lock.remote_wants.store(false, Ordering::Release);
                }
                drop(remote);
            }
        }
    }
}

/// True when this process may use `membarrier` (checked and registered once).
#[inline]
fn asymmetric_fences() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(membarrier::register)
}

/// A full fence on every CPU running a thread of this process.
fn heavy_fence() {
    // `register` returned true, so this cannot fail; were it to, the fallback would not be
    // sound now that owners rely on it, so fail loudly rather than race.
    if !membarrier::expedited() {
        std::process::abort();
    }
}

#[cfg(target_os = "linux")]
mod membarrier {
    const CMD_QUERY: libc::c_long = 0;
    const CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    fn call(cmd: libc::c_long) -> libc::c_long {
        // SAFETY: `membarrier(cmd, flags = 0, cpu_id = 0)` takes no pointers; an unknown
        // command or an unsupported kernel returns -1 with errno set.
        unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_long, 0 as libc::c_long) }
    }

    /// Registers this process for expedited private barriers; false if it cannot.
    pub(super) fn register() -> bool {
        let supported = call(CMD_QUERY);
        let needed = CMD_PRIVATE_EXPEDITED | CMD_REGISTER_PRIVATE_EXPEDITED;
        supported >= 0 && supported & needed == needed && call(CMD_REGISTER_PRIVATE_EXPEDITED) == 0 && expedited()
    }

    /// Runs the barrier; false if the kernel refused.
    pub(super) fn expedited() -> bool {
        call(CMD_PRIVATE_EXPEDITED) == 0
    }
}

#[cfg(not(target_os = "linux"))]
mod membarrier {
    pub(super) fn register() -> bool {
        false
    }

    pub(super) fn expedited() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_owner_and_other_threads_never_lose_an_update() {
        for asymmetric in [true, false] {
            owner_and_others_never_lose_an_update(asymmetric && asymmetric_fences());
        }
    }

    fn owner_and_others_never_lose_an_update(asymmetric: bool) {
        let counter = Arc::new(BiasedLock::new(0u64));
        let owner = {
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || {
                for _ in 0..200_000 {
                    // SAFETY: this thread is the only one that takes it as owner.
                    *unsafe { counter.lock_as_owner_in(asymmetric) } += 1;
                }
            })
        };
        let others: Vec<_> = (0..2)
            .map(|_| {
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        *counter.lock_in(asymmetric) += 1;
                    }
                })
            })
            .collect();
        owner.join().expect("owner");
        for t in others {
            t.join().expect("thread");
        }
        assert_eq!(*counter.lock_in(asymmetric), 204_000);
    }

    #[test]
    fn no_thread_sees_the_owner_halfway_through() {
        for asymmetric in [true, false] {
            no_one_sees_the_owner_halfway(asymmetric && asymmetric_fences());
        }
    }

    fn no_one_sees_the_owner_halfway(asymmetric: bool) {
        let pair = Arc::new(BiasedLock::new((0u64, 0u64)));
        let stop = Arc::new(AtomicBool::new(false));
        let owner = {
            let (pair, stop) = (Arc::clone(&pair), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut rounds = 0u64;
                while !stop.load(Ordering::Relaxed) || rounds < 100_000 {
                    // SAFETY: this thread is the only one that takes it as owner.
                    let mut guard = unsafe { pair.lock_as_owner_in(asymmetric) };
                    guard.0 += 1;
                    std::hint::black_box(&mut *guard);
                    guard.1 += 1;
                    rounds += 1;
                }
                rounds
            })
        };
        let mut checked = 0;
        for _ in 0..3_000 {
            let mut guard = pair.lock_in(asymmetric);
            assert_eq!(guard.0, guard.1, "the owner was inside while another thread held the lock");
            guard.0 += 1;
            guard.1 += 1;
            checked += 1;
        }
        stop.store(true, Ordering::Relaxed);
        let rounds = owner.join().expect("owner");
        let guard = pair.lock_in(asymmetric);
        assert_eq!(*guard, (rounds + checked, rounds + checked));
    }

    #[test]
    fn a_panic_while_held_releases_it() {
        let lock = Arc::new(BiasedLock::new(1));
        let held = Arc::clone(&lock);
        let result = std::thread::spawn(move || {
            // SAFETY: this thread is the only one that takes it as owner.
            let _guard = unsafe { held.lock_as_owner() };
            panic!("while holding the lock");
        })
        .join();
        assert!(result.is_err());
        assert_eq!(*lock.lock(), 1, "the unwinding guard released the lock");
    }
}
