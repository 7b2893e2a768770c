//! The items the `#[op]` macro's generated code calls, and nothing else. Not a public
//! API: hidden from docs, changed whenever the macro changes, and named after the version
//! (`__private_0_1_0` for 0.1.0): the macro derives the name from its own version, so a
//! `weave-macros` of another version than `weave-core` (the facade pins it with `=`) fails
//! to compile at once, with "could not find `__private_…`", rather than at some item that
//! changed. Rename the module (here, in `lib.rs`, and the facade's re-export) with each
//! version.

#![doc(hidden)]

pub use crate::active::{instrument, start_async_call, start_call, AsyncCall, CallEnding, OpFuture, SyncCall};
pub use crate::capture::{
    Capture, CaptureViaDebug, CaptureViaPrimitive, CaptureViaSerialize, CaptureViaTypeName, ErrorMessage,
    ErrorViaDebug, ErrorViaDisplay, ErrorViaError, ErrorViaTypeName, InputsWriter, ValueWriter,
};
pub use crate::op::{CallView, DisplayName, OpSite, OpStatic};
pub use crate::switch::is_enabled;
pub use serde_json;

/// Calls `f` once. Taking `impl FnOnce` lets the body's closure return references
/// borrowed from captured parameters (e.g. `&mut self.field`).
#[inline(always)]
pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Runs `f(args)` out of line: the recording path of a sync op, kept out of the op's own
/// code so that with recording off the op is the switch's check and its body.
#[inline(never)]
pub fn call_out_of_line<A, R>(args: A, f: impl FnOnce(A) -> R) -> R {
    f(args)
}

/// `std::any::type_name::<T>()`, as a function the macro can name.
#[inline(always)]
pub fn type_name_of<T: ?Sized>() -> &'static str {
    std::any::type_name::<T>()
}

/// `std::any::type_name_of_val`.
#[inline(always)]
pub fn type_name_of_val<T: ?Sized>(_value: &T) -> &'static str {
    std::any::type_name::<T>()
}
