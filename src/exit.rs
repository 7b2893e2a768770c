//! Leaving the process without losing calls.
//!
//! Calls are written in the background, so a process that ends without flushing loses
//! what was not written yet: the calls still queued, the batch being written, and the few
//! that threads still buffer. Dropping the [`crate::Weave`] guard (or [`crate::finish`])
//! flushes them, bounded by the flush timeout. `std::process::exit` skips destructors,
//! so the guard of `main` is not dropped; use one of these instead:
//!
//! - [`exit`]: finishes the current client, then exits with the code;
//! - [`crate::InitBuilder::finish_at_exit`]: registers a handler that finishes the current
//!   client when the process exits through `std::process::exit` (or `libc::exit`).
//!
//! Neither can help when the process is killed (SIGKILL) or aborts (`panic = "abort"`,
//! `std::process::abort`).

use std::sync::Once;

/// Finishes the current client (flushing what was recorded, within the flush timeout),
/// then exits the process with `code`. Use it where you would call
/// `std::process::exit`, which skips the guard's `Drop`.
///
/// ```no_run
/// let weave = weave::init("my-project").expect("init");
/// // ... traced work ...
/// # let failed = false;
/// if failed {
///     weave::exit(1); // flushes, unlike std::process::exit(1)
/// }
/// drop(weave);
/// ```
pub fn exit(code: i32) -> ! {
    crate::finish();
    std::process::exit(code)
}

static REGISTERED: Once = Once::new();

/// Registers the process-exit handler once per process (unix; elsewhere nothing happens).
pub(crate) fn finish_at_process_exit() {
    REGISTERED.call_once(|| {
        #[cfg(unix)]
        #[allow(unsafe_code)] // the facade's only `unsafe` (see docs/architecture.md)
        {
            // SAFETY: `atexit` only stores the function pointer; `at_exit` is an
            // `extern "C"` function that does not unwind (it catches panics).
            let status = unsafe { libc::atexit(at_exit) };
            if status != 0 {
                weave_core::warn!(
                    "weave: could not register the exit handler; use weave::exit or keep the guard alive"
                );
            }
        }
    });
}

/// The exiting thread's thread-locals may already be destroyed when this runs (glibc runs
/// their destructors first), so the client is finished on a fresh thread. A panic must not
/// unwind into C.
#[cfg(unix)]
extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| {
        match std::thread::Builder::new().name("weave-exit".to_string()).spawn(crate::finish) {
            Ok(handle) => {
                let _ = handle.join();
            }
            Err(_) => {
                crate::finish();
            }
        }
    });
}
