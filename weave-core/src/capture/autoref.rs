//! Autoref specialization: pick `Serialize`, else `Debug`, else the type
//! name (and the same for error messages).
//!
//! Method resolution tries the receiver type as written first, then one
//! dereference at a time, so the impl on the type with the most `&` wins
//! when its bound holds.

use std::fmt::{Debug, Display, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::Serialize;

use super::write;
use super::ValueWriter;

/// Autoref specialization: `(&&&Capture(&x)).weave_capture(w)` picks
/// `Serialize`, else `Debug`, else the type name.
pub struct Capture<'a, T: ?Sized>(pub &'a T);

/// Capture through `Serialize` (highest priority).
pub trait CaptureViaSerialize {
    /// Writes the value into `w`.
    fn weave_capture(&self, w: &mut ValueWriter<'_>);
}

impl<T: Serialize + ?Sized> CaptureViaSerialize for &&Capture<'_, T> {
    #[inline]
    fn weave_capture(&self, w: &mut ValueWriter<'_>) {
        w.serialize(self.0)
    }
}

/// Capture through `Debug` (as a JSON string).
pub trait CaptureViaDebug {
    /// Writes the value into `w`.
    fn weave_capture(&self, w: &mut ValueWriter<'_>);
}

impl<T: Debug + ?Sized> CaptureViaDebug for &Capture<'_, T> {
    #[inline]
    fn weave_capture(&self, w: &mut ValueWriter<'_>) {
        w.debug(self.0)
    }
}

/// Capture only the type name (lowest priority).
pub trait CaptureViaTypeName {
    /// Writes the value into `w`.
    fn weave_capture(&self, w: &mut ValueWriter<'_>);
}

impl<T: ?Sized> CaptureViaTypeName for Capture<'_, T> {
    #[inline]
    fn weave_capture(&self, w: &mut ValueWriter<'_>) {
        w.type_name::<T>()
    }
}

/// Autoref specialization for error messages:
/// `(&&&&ErrorMessage(&e)).weave_error_message()` picks
/// `std::error::Error` (message and `source()` chain), else `Display`
/// (`{:#}`), else `Debug`, else the type name.
pub struct ErrorMessage<'a, T: ?Sized>(pub &'a T);

/// Message of a `std::error::Error`: its `Display` followed by the
/// `source()` chain:
///
/// ```text
/// outer message
///
/// Caused by:
///     inner message
/// ```
///
/// With several causes they are numbered (`0: ...`, `1: ...`).
pub trait ErrorViaError {
    /// The error message.
    fn weave_error_message(&self) -> String;
}

impl<T: std::error::Error + ?Sized> ErrorViaError for &&&ErrorMessage<'_, T> {
    fn weave_error_message(&self) -> String {
        guarded::<T>(|| {
            let mut out = self.0.to_string();
            let mut causes: Vec<String> = Vec::new();
            let mut next = self.0.source();
            while let Some(e) = next {
                if causes.len() == MAX_CAUSES {
                    causes.push("...".to_string());
                    break;
                }
                causes.push(e.to_string());
                next = e.source();
            }
            if !causes.is_empty() {
                out.push_str("\n\nCaused by:");
                let numbered = causes.len() > 1;
                for (i, c) in causes.iter().enumerate() {
                    out.push_str("\n    ");
                    if numbered {
                        let _ = write!(out, "{i}: ");
                    }
                    out.push_str(c);
                }
            }
            out
        })
    }
}

/// At most this many `source()` levels are shown (guards against cycles).
const MAX_CAUSES: usize = 64;

/// Message through `Display`, with `{:#}` so anyhow-style errors print
/// their chain.
pub trait ErrorViaDisplay {
    /// The error message.
    fn weave_error_message(&self) -> String;
}

impl<T: Display + ?Sized> ErrorViaDisplay for &&ErrorMessage<'_, T> {
    fn weave_error_message(&self) -> String {
        guarded::<T>(|| format!("{:#}", self.0))
    }
}

/// Message through `Debug`.
pub trait ErrorViaDebug {
    /// The error message.
    fn weave_error_message(&self) -> String;
}

impl<T: Debug + ?Sized> ErrorViaDebug for &ErrorMessage<'_, T> {
    fn weave_error_message(&self) -> String {
        guarded::<T>(|| format!("{:?}", self.0))
    }
}

/// Message naming only the type:
/// `"[weave: <type name> implements neither Display nor Debug]"`.
pub trait ErrorViaTypeName {
    /// The error message.
    fn weave_error_message(&self) -> String;
}

impl<T: ?Sized> ErrorViaTypeName for ErrorMessage<'_, T> {
    fn weave_error_message(&self) -> String {
        format!("[weave: {} implements neither Display nor Debug]", std::any::type_name::<T>())
    }
}

/// Runs `f`, turning a panic into a marker message.
fn guarded<T: ?Sized>(f: impl FnOnce() -> String) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(s) => s,
        Err(payload) => format!(
            "[weave: formatting error {} panicked: {}]",
            std::any::type_name::<T>(),
            write::panic_message(payload)
        ),
    }
}
