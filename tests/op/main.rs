//! `#[op]` seen through the in-memory capture of `weave::testing`: what it records for each
//! form of function it accepts and for each option, and that the wrapped function behaves
//! exactly as before (return values, `?`, panics, drop order), recording or not.
//!
//! One test binary (each file under `tests/` is a binary linking the whole dependency
//! graph), a module per topic; the helpers they share are in `support`.

mod drop_order;
mod errors;
mod functions;
mod impl_blocks;
mod methods;
mod nesting;
mod op_static;
mod options;
mod panics;
mod recording_off;
mod support;
mod values;
