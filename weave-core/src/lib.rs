//! The runtime of weave-rs: the call model, the call context, value capture, settings,
//! summaries, ids and refs. Users depend on the `weave` crate, which re-exports what they
//! need from here; the `#[op]` macro's generated code calls a hidden module, `__private_<version>`.

#![deny(missing_docs, unsafe_code)]

mod active;
pub mod call;
mod call_stack;
pub mod capture;
mod client;
mod clock;
pub mod context;
mod current;
#[doc(hidden)]
pub mod diagnostics;
mod digits;
pub mod exception;
pub mod export;
pub mod feedback;
mod feedback_item;
pub mod ids;
pub mod interned;
pub mod json;
pub mod manual;
mod node;
pub mod object;
mod object_item;
pub mod op;
mod open_calls;
pub mod panic;
pub mod project;
mod quiet;
pub mod refs;
pub mod runtime;
pub mod settings;
pub mod store_ref_form;
pub mod summary;
mod switch;
mod sys;
pub mod system_info;
pub mod table;
pub mod testing;
pub mod time;
pub mod wire;

/// The macro's runtime, under a name stamped with the version (see `private.rs`).
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private_0_1_0;

pub use active::{CallEnding, OpFuture};
pub use current::{current_call, CurrentCall};
pub use panic::payload_message;
