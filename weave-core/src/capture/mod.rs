//! Value capture: turns any Rust value into JSON for a traced call's inputs
//! and outputs. Capture never fails and never lets a user's panic escape; on
//! any problem a marker string is written instead of the value.

mod autoref;
mod config;
mod debug;
mod inputs;
mod raw;
mod serializer;

pub use autoref::{
    Capture, CaptureViaDebug, CaptureViaSerialize, CaptureViaTypeName, ErrorMessage,
    ErrorViaDebug, ErrorViaDisplay, ErrorViaError, ErrorViaTypeName,
};
pub use config::CaptureConfig;
pub use inputs::{capture_inputs, capture_value, InputsWriter, ValueWriter};
pub use raw::RawJson;
