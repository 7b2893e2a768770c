//! Autoref specialization: pick Serialize, else Debug, else the type name.

use std::fmt::{Debug, Display};

use serde::Serialize;

use super::ValueWriter;

/// Autoref specialization: `(&&&Capture(&x)).weave_capture(w)` picks
/// Serialize, else Debug, else the type name.
pub struct Capture<'a, T: ?Sized>(pub &'a T);

/// Capture through `Serialize` (highest priority).
pub trait CaptureViaSerialize {
    /// Writes the value into `w`.
    fn weave_capture(&self, w: &mut ValueWriter<'_>);
}
impl<T: Serialize + ?Sized> CaptureViaSerialize for &&Capture<'_, T> {
    fn weave_capture(&self, w: &mut ValueWriter<'_>) {
        w.serialize(self.0)
    }
}

/// Capture through `Debug`.
pub trait CaptureViaDebug {
    /// Writes the value into `w`.
    fn weave_capture(&self, w: &mut ValueWriter<'_>);
}
impl<T: Debug + ?Sized> CaptureViaDebug for &Capture<'_, T> {
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
    fn weave_capture(&self, w: &mut ValueWriter<'_>) {
        w.type_name::<T>()
    }
}

/// Autoref specialization for error messages:
/// `(&&&&ErrorMessage(&e)).weave_error_message()`.
pub struct ErrorMessage<'a, T: ?Sized>(pub &'a T);

/// Message of a `std::error::Error`: Display followed by the source chain.
pub trait ErrorViaError {
    /// The error message.
    fn weave_error_message(&self) -> String;
}
impl<T: std::error::Error + ?Sized> ErrorViaError for &&&ErrorMessage<'_, T> {
    fn weave_error_message(&self) -> String {
        self.0.to_string()
    }
}

/// Message through `Display` (`{:#}`).
pub trait ErrorViaDisplay {
    /// The error message.
    fn weave_error_message(&self) -> String;
}
impl<T: Display + ?Sized> ErrorViaDisplay for &&ErrorMessage<'_, T> {
    fn weave_error_message(&self) -> String {
        format!("{:#}", self.0)
    }
}

/// Message through `Debug`.
pub trait ErrorViaDebug {
    /// The error message.
    fn weave_error_message(&self) -> String;
}
impl<T: Debug + ?Sized> ErrorViaDebug for &ErrorMessage<'_, T> {
    fn weave_error_message(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// Message with only the type name.
pub trait ErrorViaTypeName {
    /// The error message.
    fn weave_error_message(&self) -> String;
}
impl<T: ?Sized> ErrorViaTypeName for ErrorMessage<'_, T> {
    fn weave_error_message(&self) -> String {
        std::any::type_name::<T>().to_string()
    }
}
