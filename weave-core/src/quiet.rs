//! Panics kept quiet: while a thread runs a capture (a user's `Serialize` or `Debug`, whose
//! panic the capture catches and turns into a marker) or a probe (`panic::catch_quietly`), a
//! panic there must not look like one of the program's: the panic hook (`panic.rs`) prints
//! nothing and records nothing for the op.

use std::cell::Cell;

thread_local! {
    /// Non-zero while this thread runs code whose panics are kept quiet.
    static QUIET: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f` with this thread's panics kept quiet.
#[inline(always)]
pub(crate) fn quietly<R>(f: impl FnOnce() -> R) -> R {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = QUIET.try_with(|c| c.set(c.get().saturating_sub(1)));
        }
    }
    let _ = QUIET.try_with(|c| c.set(c.get() + 1));
    let _restore = Restore;
    f()
}

/// True while this thread's panics are kept quiet.
pub(crate) fn is_quiet() -> bool {
    QUIET.try_with(|c| c.get() > 0).unwrap_or(false)
}
