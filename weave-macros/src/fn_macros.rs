//! `scorer_fn!`, `sync_scorer_fn!`, `model_fn!` and `op_model!`: the functions of
//! `weave::eval` with the same name, given the same arguments, plus `.source(...)` with the
//! text of the invocation as written (comments included), so the evaluation stores the
//! closure's real source with the op.

use crate::source;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Token};

/// `name!(args)` → `::weave::eval::name(args).source("<the invocation's text>")`.
pub(crate) fn expand(args: TokenStream, macro_name: &str) -> TokenStream {
    // The arguments go to the function as written (so errors in the closure point at it);
    // they are parsed only to give a clear error for a wrong count.
    if let Ok(parsed) = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(args.clone()) {
        if parsed.len() != 2 {
            let message = format!(
                "`{macro_name}!` takes two arguments, as `weave::eval::{macro_name}` does: the op's name and the \
                 closure, `{macro_name}!(\"name\", |input| ...)`"
            );
            return if args.is_empty() {
                syn::Error::new(Span::call_site(), message)
            } else {
                syn::Error::new_spanned(&args, message)
            }
            .to_compile_error();
        }
    }
    let text = Literal::string(&source::capture_invocation(&args, macro_name));
    let function = Ident::new(macro_name, Span::call_site());
    quote!(::weave::eval::#function(#args).source(#text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_number_of_arguments_is_an_error() {
        for args in ["", "\"name\"", "\"a\", |i| i, 3"] {
            let out = expand(args.parse().unwrap(), "op_model").to_string();
            assert!(out.contains("compile_error") && out.contains("takes two arguments"), "{args}: {out}");
        }
    }
}
