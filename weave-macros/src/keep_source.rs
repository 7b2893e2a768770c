//! `#[keep_source(NAME)]`, for weave's own crates: the item unchanged plus
//! `pub(crate) const NAME: &'static str = "<the item's source text>";`, so the SDK's built-in ops
//! can store their real source.

use crate::impl_block;
use crate::item::OpFn;
use crate::source;
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::Ident;

/// `#[keep_source(NAME)] item` → the item and the constant. On an error, the item comes
/// back unchanged next to it.
pub(crate) fn keep_source(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args, item.clone()) {
        Ok(tokens) => tokens,
        Err(err) => {
            let err = err.to_compile_error();
            quote!(#item #err)
        }
    }
}

fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let name: Ident = syn::parse2(args.clone()).map_err(|e| {
        syn::Error::new(e.span(), "`keep_source` takes the name of the constant to define: `#[keep_source(NAME)]`")
    })?;
    let text = if impl_block::is_impl(&item) {
        source::capture(source::AttrLine::Drop, &item, &["impl"]).text
    } else {
        let func = syn::parse2::<OpFn>(item.clone())
            .map_err(|e| syn::Error::new(e.span(), "`#[keep_source(NAME)]` applies to a function or an impl block"))?;
        let fn_name = func.sig.ident.unraw().to_string();
        source::capture(source::AttrLine::Drop, &item, &["fn", &fn_name]).text
    };
    let text = Literal::string(&text);
    Ok(quote! {
        #item
        // `'static` is needed inside impl blocks with lifetimes; redundant elsewhere.
        #[allow(clippy::redundant_static_lifetimes)]
        pub(crate) const #name: &'static str = #text;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_the_item() {
        let out = keep_source("".parse().unwrap(), "fn f() {}".parse().unwrap()).to_string();
        assert!(out.starts_with("fn f () { }") && out.contains("takes the name of the constant"), "{out}");
        let out = keep_source("A".parse().unwrap(), "struct S;".parse().unwrap()).to_string();
        assert!(out.contains("applies to a function or an impl block"), "{out}");
    }
}
