//! weave-macros as weave's own crates use it, where there is no `weave` crate to reach:
//! `#[op]` through `crate = "..."` (`#[keep_source]` is tested in weave-eval, its user).

mod op_without_weave;
