//! `#[op]` on an `impl Model for T` or `impl Scorer for T` block: the block comes back
//! unchanged (its methods are not wrapped: the evaluation records their calls itself)
//! plus a `source_code` method returning the block's source text, which the evaluation
//! stores with the ops it records for it.

use crate::source;
use proc_macro2::{Delimiter, Group, Literal, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Token};

/// The traits whose impl blocks `#[op]` accepts (by the last segment of the trait's path).
const TRAITS: [&str; 2] = ["Model", "Scorer"];

/// True when `item` is an impl block (`impl ...`, `unsafe impl ...`, with attributes).
pub(crate) fn is_impl(item: &TokenStream) -> bool {
    let parser = |input: ParseStream<'_>| {
        input.call(Attribute::parse_outer)?;
        input.parse::<Option<Token![default]>>()?;
        input.parse::<Option<Token![unsafe]>>()?;
        let is_impl = input.peek(Token![impl]);
        input.parse::<TokenStream>()?;
        Ok(is_impl)
    };
    parser.parse2(item.clone()).unwrap_or(false)
}

/// `#[op(args)] impl Model for T { ... }` → the block plus `fn source_code`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut tokens: Vec<TokenTree> = item.clone().into_iter().collect();
    let body = match tokens.pop() {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => group,
        _ => return Err(syn::Error::new_spanned(&item, "expected an impl block with a body `{ ... }`")),
    };
    let header: TokenStream = tokens.into_iter().collect();
    // Only the header is parsed (the methods' bodies are passed on as written).
    let parsed: syn::ItemImpl = syn::parse2(quote!(#header {}))?;
    let trait_name = check_trait(&parsed)?;
    check_args(args.clone())?;
    check_no_source_code(body.stream())?;

    let source = source::capture(source::AttrLine::Keep(&args), &item, &["impl", &trait_name]);
    let text = Literal::string(&source.text);
    let mut stream = body.stream();
    stream.extend(quote! {
        fn source_code(&self) -> ::core::option::Option<&'static str> {
            ::core::option::Option::Some(#text)
        }
    });
    let mut new_body = Group::new(Delimiter::Brace, stream);
    new_body.set_span(body.span());
    Ok(quote!(#header #new_body))
}

/// The trait's name, when the block implements `Model` or `Scorer`; else the error
/// explaining where `#[op]` goes.
fn check_trait(item: &syn::ItemImpl) -> syn::Result<String> {
    const HOW: &str = "`#[op]` on an impl block applies only to `impl Model` / `impl Scorer` blocks (it keeps \
                       their source for the ops the evaluation records)";
    const ONE_BY_ONE: &str = "methods are made ops one by one: put `#[op]` on each method instead";
    match &item.trait_ {
        None => Err(syn::Error::new(Span::call_site(), format!("{HOW}, not to an inherent impl; {ONE_BY_ONE}"))),
        Some((bang, path, _)) => {
            let last = path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
            if bang.is_none() && TRAITS.contains(&last.as_str()) {
                return Ok(last);
            }
            let written = path.to_token_stream().to_string().replace(" :: ", "::");
            let bang = if bang.is_some() { "!" } else { "" };
            Err(syn::Error::new(Span::call_site(), format!("{HOW}, not to an impl of `{bang}{written}`; {ONE_BY_ONE}")))
        }
    }
}

/// On an impl block, `crate = "..."` is accepted (and unused); every other option is an
/// error (options describe an op's calls, and the block's methods are not made ops).
fn check_args(args: TokenStream) -> syn::Result<()> {
    let mut option: Vec<TokenTree> = Vec::new();
    let mut error: Option<syn::Error> = None;
    let mut flush = |option: &mut Vec<TokenTree>| {
        let tokens: TokenStream = option.drain(..).collect();
        let Some(first) = tokens.clone().into_iter().next() else { return };
        if matches!(&first, TokenTree::Ident(ident) if ident == "crate") {
            return;
        }
        let err = syn::Error::new_spanned(
            tokens,
            "`#[op]` on an `impl Model` / `impl Scorer` block takes no options (but `crate`): the block's \
             methods are not made ops, the evaluation records their calls; remove this option",
        );
        match &mut error {
            Some(e) => e.combine(err),
            None => error = Some(err),
        }
    };
    for tt in args.clone() {
        if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ',') {
            flush(&mut option);
        } else {
            option.push(tt);
        }
    }
    flush(&mut option);
    if let Some(error) = error {
        return Err(error);
    }
    // What remains is `crate = ...` (or nothing): checked as `#[op]` checks it.
    crate::args::parse(args).map(|_| ())
}

/// An error when the block already has a `fn source_code`.
fn check_no_source_code(body: TokenStream) -> syn::Result<()> {
    let tokens: Vec<TokenTree> = body.into_iter().collect();
    for pair in tokens.windows(2) {
        if let [TokenTree::Ident(kw), TokenTree::Ident(name)] = pair {
            if kw == "fn" && name == "source_code" {
                return Err(syn::Error::new(
                    name.span(),
                    "`#[op]` adds `source_code` to this block (returning the block's source text): remove this \
                     `source_code`, or remove `#[op]` to keep your own",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn expand_str(args: &str, item: &str) -> String {
        crate::expand::op(args.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn other_blocks_options_and_a_second_source_code_are_errors() {
        let out = expand_str("", "impl S { fn f(&self) {} }");
        assert!(out.contains("compile_error") && out.contains("not to an inherent impl"), "{out}");
        assert!(out.contains("impl S { fn f (& self) { } }"), "the block is kept: {out}");
        let out = expand_str("", "impl std::fmt::Display for S {}");
        assert!(out.contains("not to an impl of `std::fmt::Display`"), "{out}");
        let out = expand_str("", "impl !Model for S {}");
        assert!(out.contains("not to an impl of `!Model`"), "{out}");
        let out = expand_str("name = \"x\", crate = \"w\", kind = \"llm\"", "impl Model for S {}");
        assert_eq!(out.matches("takes no options").count(), 2, "{out}");
        let out = expand_str("crate = 3", "impl Model for S {}");
        assert!(out.contains("`crate` expects a path"), "{out}");
        let out = expand_str("", "impl Model for S { fn source_code(&self) -> Option<&'static str> { None } }");
        assert!(out.contains("adds `source_code`"), "{out}");
    }
}
