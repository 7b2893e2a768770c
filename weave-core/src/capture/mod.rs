//! Value capture: turns any Rust value into JSON for a traced call's inputs
//! and outputs.
//!
//! Capture never fails and never lets a user's panic escape; on any problem
//! the value (or just the offending field) becomes a marker string such as
//! `"[weave: could not serialize T: msg]"`. Rules:
//!
//! * keys and field names matching [`CaptureConfig::redact_keys`]
//!   (case-insensitive, any depth) get the value `"REDACTED"`;
//! * NaN and infinities become `null`;
//! * non-string map keys are stringified; sequence/map keys become their
//!   compact JSON text;
//! * containers nested deeper than `max_depth` become
//!   `"[weave: truncated: nesting deeper than N levels]"`;
//! * past `max_value_bytes` strings are cut (`…[weave: truncated N bytes]`)
//!   and containers close with a last marker element (or a
//!   `"_weave_truncated"` key);
//! * values go through `Serialize`, else `Debug`, else only their type name
//!   (see [`Capture`]).

mod autoref;
mod config;
mod debug;
mod inputs;
mod keys;
mod raw;
mod serializer;
mod state;
pub(crate) mod write;

#[cfg(test)]
mod tests;

pub use autoref::{
    Capture, CaptureViaDebug, CaptureViaPrimitive, CaptureViaSerialize, CaptureViaTypeName, ErrorMessage,
    ErrorViaDebug, ErrorViaDisplay, ErrorViaError, ErrorViaTypeName, Primitive,
};
pub use config::{CaptureConfig, DEFAULT_MAX_DEPTH};
pub use inputs::{capture_inputs, capture_value, InputsWriter, ValueWriter};
pub use raw::RawJson;
