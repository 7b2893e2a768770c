//! Panics inside ops: a chained panic hook keeps the message, location and a backtrace of
//! the latest panic on this thread, so the op being unwound can record them. The previous
//! hook still runs (the panic prints as before), and the panic keeps unwinding.

use crate::exception::{parse_backtrace, Exception, Frame};
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
            if crate::context::has_current_call() {
                let message = payload_message(info.payload());
                let backtrace = std::backtrace::Backtrace::force_capture().to_string();
                let mut traceback = parse_backtrace(&backtrace);
                if let Some(location) = info.location() {
                    traceback.push(Frame {
                        filename: location.file().to_string(),
                        line_number: location.line(),
                        function_name: "<panic>".to_string(),
                        text: String::new(),
                    });
                }
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
            traceback: Vec::new(),
        }
    })
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
