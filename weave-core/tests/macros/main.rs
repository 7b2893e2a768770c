//! weave-macros as weave's own crates use it, where there is no `weave` crate to reach:
//! `#[keep_source]`, and `#[op]` through `crate = "..."`. One test binary, a module each.

mod keep_source;
mod op_without_weave;
