//! Locks for data that one thread takes on every call of an op and others take only now
//! and then: [`OwnerLock`] (a running call's state, which any thread may take) and
//! [`BiasedLock`] (a thread's own buffers, which only that thread takes on the hot path).
//!
//! An uncontended `parking_lot` mutex costs two atomic read-modify-writes, one to lock and
//! one to unlock, and each of them waits until every store made before it has reached the
//! cache. Releasing an [`OwnerLock`] is a plain store instead: the stores made while it was
//! held (a few hundred bytes of a call's record) drain in the background. Taking it is one
//! atomic swap; a thread that finds it taken spins briefly, then yields until it is free.
//! It never parks, so it suits critical sections of a few instructions only (no I/O, no
//! user code). A [`BiasedLock`]'s owner needs no swap at all (see its docs).

mod biased;

pub use biased::{BiasedLock, BiasedLockGuard};

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// Spins before a contended lock starts yielding its time slice.
const SPINS_BEFORE_YIELD: u32 = 64;

/// A lock with a one-swap acquire and a plain-store release (see the [module](self)).
///
/// ```
/// use weave_core::sync::OwnerLock;
///
/// let buffer = OwnerLock::new(Vec::new());
/// buffer.lock().push(1);
/// assert_eq!(*buffer.lock(), vec![1]);
/// ```
#[derive(Default)]
pub struct OwnerLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and at most one guard exists at a
// time (the `locked` flag, taken with acquire and released with release ordering, orders
// every access); so the lock is what a `Mutex<T>` is, and is `Sync` for `T: Send`.
unsafe impl<T: Send> Sync for OwnerLock<T> {}
// SAFETY: moving the lock moves the value; no guard can exist then (it borrows the lock).
unsafe impl<T: Send> Send for OwnerLock<T> {}

impl<T> OwnerLock<T> {
    /// A lock around `value` (usable in a `static`).
    pub const fn new(value: T) -> OwnerLock<T> {
        OwnerLock { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    /// Takes the lock, waiting (spinning, then yielding) while another thread holds it.
    /// Not reentrant: taking it again on the thread that holds it never returns.
    #[inline]
    pub fn lock(&self) -> OwnerLockGuard<'_, T> {
        if self.locked.swap(true, Ordering::Acquire) {
            self.lock_contended();
        }
        OwnerLockGuard { lock: self }
    }

    #[cold]
    #[inline(never)]
    fn lock_contended(&self) {
        loop {
            wait_while(&self.locked);
            if !self.locked.swap(true, Ordering::Acquire) {
                return;
            }
        }
    }

    /// The value, through a unique borrow of the lock (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

/// Waits (spinning briefly, then yielding its time slice) while `flag` is set.
fn wait_while(flag: &AtomicBool) {
    let mut spins = 0;
    while flag.load(Ordering::Acquire) {
        if spins < SPINS_BEFORE_YIELD {
            spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for OwnerLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerLock").field("value", &*self.lock()).finish()
    }
}

/// The value of a taken [`OwnerLock`]; dropping it releases the lock.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnerLockGuard<'a, T> {
    lock: &'a OwnerLock<T>,
}

impl<T> Deref for OwnerLockGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock, so no other reference to the value exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for OwnerLockGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the lock, so no other reference to the value exists.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for OwnerLockGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn threads_that_share_it_never_lose_an_update() {
        let counter = Arc::new(OwnerLock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || {
                    for _ in 0..50_000 {
                        *counter.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(*counter.lock(), 200_000);
    }

    #[test]
    fn a_panic_while_held_releases_it() {
        let lock = Arc::new(OwnerLock::new(1));
        let held = Arc::clone(&lock);
        let result = std::thread::spawn(move || {
            let _guard = held.lock();
            panic!("while holding the lock");
        })
        .join();
        assert!(result.is_err());
        assert_eq!(*lock.lock(), 1, "the unwinding guard released the lock");
    }
}
