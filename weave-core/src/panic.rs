//! Panics inside ops: a chained panic hook keeps the message, location and a backtrace of
//! the latest panic on this thread, so the op being unwound can record them. The backtrace
//! is captured unresolved (a few microseconds); its symbols are looked up when the call's
//! exception is encoded, on the exporter's thread (see [`crate::exception::Traceback`]).
//! The previous hook still runs (the panic prints as before), and the panic keeps
//! unwinding. Panics inside a capture (a user's `Serialize` or `Debug` that panics) are
//! caught there and kept quiet (`quiet.rs`): without `#[op]` that code would not have run.
//!
//! For code that runs user code and records calls by hand (with
//! [`crate::manual::CallBuilder`]): [`caught_panic`] is the exception to record for a
//! panic caught with `catch_unwind`, and [`catch_quietly`] runs code whose panic is
//! expected (a probe) without printing or recording it.

use crate::exception::{Exception, Frame, Traceback};
use crate::quiet::{is_quiet, quietly};
use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    static LAST_PANIC: RefCell<Option<Exception>> = const { RefCell::new(None) };
}

/// Installs the hook once per process (chained to the hook already installed).
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if is_quiet() {
                return;
            }
            if crate::context::has_current_call() {
                let message = payload_message(info.payload());
                let location = info.location().map(|location| Frame {
                    filename: location.file().to_string(),
                    line_number: location.line(),
                    function_name: "<panic>".to_string(),
                    text: String::new(),
                });
                let traceback = Traceback::capture(location);
                let exception = Exception { kind: "panic".to_string(), message, traceback };
                let _ = LAST_PANIC.try_with(|slot| {
                    if let Ok(mut slot) = slot.try_borrow_mut() {
                        *slot = Some(exception);
                    }
                });
            }
            previous(info);
        }));
    });
}

/// The exception for the panic now unwinding through an op on this thread.
pub(crate) fn current_panic() -> Exception {
    LAST_PANIC.try_with(|slot| slot.try_borrow().ok().and_then(|s| s.clone())).ok().flatten().unwrap_or_else(|| {
        Exception {
            kind: "panic".to_string(),
            message: "the op panicked (no message was captured)".to_string(),
            traceback: Traceback::default(),
        }
    })
}

/// The exception to record for a panic just caught on this thread (by
/// `std::panic::catch_unwind`, or a future's `catch_unwind`) from code that ran inside a
/// call: kind `"panic"`, the payload's message, and the location and backtrace the panic
/// hook kept (an empty traceback when the hook kept none, e.g. before `init`).
///
/// ```
/// use weave_core::manual::CallBuilder;
/// # let calls = weave_core::testing::capture();
/// let call = CallBuilder::new("run_user_code").start();
/// let result = {
///     let _inside = call.context().enter();
///     std::panic::catch_unwind(|| panic!("boom"))
/// };
/// match result {
///     Ok(()) => call.finish(&()),
///     Err(payload) => {
///         let exception = weave_core::panic::caught_panic(&*payload);
///         assert_eq!((exception.kind.as_str(), exception.message.as_str()), ("panic", "boom"));
///         call.fail(exception);
///     }
/// }
/// ```
pub fn caught_panic(payload: &(dyn std::any::Any + Send)) -> Exception {
    let mut exception = current_panic();
    exception.message = payload_message(payload);
    exception
}

/// Runs `f`, catching its panic, with this thread's panics kept quiet meanwhile: nothing
/// is printed by the panic hook, and nothing is recorded for the call being run. For
/// probing user code whose panic is an answer, not an error of the program.
///
/// ```
/// let probe = weave_core::panic::catch_quietly(|| -> u8 { panic!("not supported") });
/// assert!(probe.is_err());
/// ```
pub fn catch_quietly<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> std::thread::Result<R> {
    quietly(|| std::panic::catch_unwind(f))
}

/// The message of a panic payload (`&str` or `String`), else a placeholder.
pub fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any> (a panic payload that is not a string)".to_string()
    }
}
