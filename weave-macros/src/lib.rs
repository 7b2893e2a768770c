//! The macros of weave-rs: `#[op]`, the closure macros of evaluations (`scorer_fn!`,
//! `sync_scorer_fn!`, `model_fn!`, `op_model!`) and, for weave's own crates,
//! `#[keep_source]`. This crate only parses and generates code; everything that runs lives
//! in `weave` (reached through `weave::__private_<version>` and `weave::eval`). Use it through the
//! `weave` crate: `#[weave::op]`, `weave::scorer_fn!(...)`.

mod args;
mod expand;
mod fn_macros;
mod impl_block;
mod item;
mod keep_source;
mod params;
mod source;

use proc_macro::TokenStream;

#[cfg_attr(not(doctest), doc = include_str!("op.md"))]
#[proc_macro_attribute]
pub fn op(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::op(args.into(), item.into()).into()
}

/// `scorer_fn!(name, closure)`: `::weave::eval::scorer_fn(name, closure)` with
/// `.source(...)` set to the text of the invocation as written, comments included.
#[proc_macro]
pub fn scorer_fn(args: TokenStream) -> TokenStream {
    fn_macros::expand(args.into(), "scorer_fn").into()
}

/// `sync_scorer_fn!(name, closure)`: `::weave::eval::sync_scorer_fn(name, closure)` with
/// `.source(...)` set to the text of the invocation as written, comments included.
#[proc_macro]
pub fn sync_scorer_fn(args: TokenStream) -> TokenStream {
    fn_macros::expand(args.into(), "sync_scorer_fn").into()
}

/// `model_fn!(name, closure)`: `::weave::eval::model_fn(name, closure)` with
/// `.source(...)` set to the text of the invocation as written, comments included.
#[proc_macro]
pub fn model_fn(args: TokenStream) -> TokenStream {
    fn_macros::expand(args.into(), "model_fn").into()
}

/// `op_model!(name, closure)`: `::weave::eval::op_model(name, closure)` with
/// `.source(...)` set to the text of the invocation as written, comments included.
#[proc_macro]
pub fn op_model(args: TokenStream) -> TokenStream {
    fn_macros::expand(args.into(), "op_model").into()
}

/// For weave's own crates: `#[weave_macros::keep_source(NAME)]` on a function or an impl
/// block emits the item unchanged plus `pub(crate) const NAME: &str = "<the item's source
/// text>";` (the lines of the file the item spans, comments and doc comments included,
/// without the `#[keep_source]` line, dedented), for the source stored with the SDK's
/// built-in ops. Falls back to the item's tokens as text when the compiler gives no file
/// or line.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn keep_source(args: TokenStream, item: TokenStream) -> TokenStream {
    keep_source::keep_source(args.into(), item.into()).into()
}
