//! Autoref specialization: pick `Serialize`, else `Debug`, else the type
//! name (and the same for error messages).
//!
//! Method resolution tries the receiver type as written first, then one
//! dereference at a time, so the impl on the type with the most `&` wins
//! when its bound holds.

use std::fmt::{Debug, Display, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::Serialize;

use super::inputs::ValueWriter;
use super::write;

/// Autoref specialization: `(&&&&Capture(&x)).weave_capture(w)` picks a
/// primitive fast path, else `Serialize`, else `Debug`, else the type name.
pub struct Capture<'a, T: ?Sized>(pub &'a T);

/// A value written directly, without going through `serde` (the fast path for the
/// numbers, booleans and strings most ops take).
pub trait Primitive {
    /// Writes the value into `w`.
    fn write_primitive(&self, w: &mut ValueWriter<'_>);
}

macro_rules! primitive_int {
    ($($t:ty => $method:ident as $as:ty),* $(,)?) => {$(
        impl Primitive for $t {
            #[inline]
            fn write_primitive(&self, w: &mut ValueWriter<'_>) {
                w.$method(*self as $as)
            }
        }
    )*};
}

primitive_int!(
    u8 => uint_value as u64, u16 => uint_value as u64, u32 => uint_value as u64, u64 => uint_value as u64,
    usize => uint_value as u64, i8 => int_value as i64, i16 => int_value as i64, i32 => int_value as i64,
    i64 => int_value as i64, isize => int_value as i64, f64 => float_value as f64,
);

impl Primitive for f32 {
    /// At its own precision: widened to `f64` first, `0.2` would be written
    /// `0.20000000298023224`.
    #[inline]
    fn write_primitive(&self, w: &mut ValueWriter<'_>) {
        w.float32_value(*self)
    }
}

impl Primitive for bool {
    #[inline]
    fn write_primitive(&self, w: &mut ValueWriter<'_>) {
        w.bool_value(*self)
    }
}

impl Primitive for str {
    #[inline]
    fn write_primitive(&self, w: &mut ValueWriter<'_>) {
        w.raw_str(self)
    }
}

impl Primitive for String {
    #[inline]
    fn write_primitive(&self, w: &mut ValueWriter<'_>) {
        w.raw_str(self)
    }
}

impl<T: Primitive + ?Sized> Primitive for &T {
    #[inline]
    fn write_primitive(&self, w: &mut ValueWriter<'_>) {
        (**self).write_primitive(w)
    }
}

impl<T: Primitive + ?Sized> Primitive for &mut T {
    #[inline]
    fn write_primitive(&self, w: &mut ValueWriter<'_>) {
        (**self).write_primitive(w)
    }
}

/// Capture of primitives without `serde` (highest priority): `(&&&&Capture(&x))`.
pub trait CaptureViaPrimitive {
    /// Writes the value into `w`.
    fn weave_capture(&self, w: &mut ValueWriter<'_>);
}

impl<T: Primitive + ?Sized> CaptureViaPrimitive for &&&Capture<'_, T> {
    #[inline]
    fn weave_capture(&self, w: &mut ValueWriter<'_>) {
        self.0.write_primitive(w)
    }
}

/// Capture through `Serialize`.
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
