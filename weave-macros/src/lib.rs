//! The `#[op]` attribute of weave-rs. This crate only parses the attribute and generates
//! code; everything that runs lives in `weave` (reached through `weave::__private`).
//! Use it through the `weave` crate: `#[weave::op]`.

mod args;
mod expand;
mod item;
mod params;
mod source;

use proc_macro::TokenStream;

#[cfg_attr(not(doctest), doc = include_str!("op.md"))]
#[proc_macro_attribute]
pub fn op(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::op(args.into(), item.into()).into()
}
