//! The item `#[op]` is written on: parsed as attributes, visibility, signature and a body
//! kept as raw tokens (so a body syn cannot parse is still passed to rustc as written,
//! which then reports the user's own error), and checked for the forms `#[op]` refuses.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::{braced, token, Attribute, LitStr, Signature, Token, Visibility};

/// A function as written under `#[op]`.
pub(crate) struct OpFn {
    /// Attributes before the function (docs, `#[inline]`, `#[must_use]`, ...).
    pub outer_attrs: Vec<Attribute>,
    /// Its visibility.
    pub vis: Visibility,
    /// Its signature.
    pub sig: Signature,
    /// `#![...]` attributes at the top of the body.
    pub inner_attrs: Vec<Attribute>,
    /// The body's statements, untouched.
    pub body: TokenStream,
    /// The body's braces (for spans).
    brace: token::Brace,
}

impl OpFn {
    /// The body as a `{ ... }` block with its original span.
    pub(crate) fn body_block(&self) -> Group {
        let mut group = Group::new(Delimiter::Brace, self.body.clone());
        group.set_span(self.brace.span.join());
        group
    }

    /// The body as a `{ ... }` block located at the original braces but marked as
    /// macro-made, so lints about the braces themselves (`unused_braces` on a block that
    /// becomes the tail of an `async` block) stay quiet.
    pub(crate) fn body_block_quiet(&self) -> Group {
        let mut group = Group::new(Delimiter::Brace, self.body.clone());
        group.set_span(Span::call_site().located_at(self.brace.span.join()));
        group
    }

    /// Errors for the function forms `#[op]` cannot wrap.
    pub(crate) fn check(&self) -> syn::Result<()> {
        if let Some(constness) = &self.sig.constness {
            return Err(syn::Error::new(
                constness.span,
                "`#[op]` cannot be applied to a `const fn`: recording a call needs code that runs at run time",
            ));
        }
        if let Some(abi) = &self.sig.abi {
            return Err(syn::Error::new(abi.extern_token.span, "`#[op]` cannot be applied to an `extern` function"));
        }
        Ok(())
    }
}

/// Skips `const`, `async`, `unsafe`, `extern "abi"` and reports whether `fn` follows.
fn is_fn(input: ParseStream<'_>) -> bool {
    let ahead = input.fork();
    let _ = ahead.parse::<Option<Token![const]>>();
    let _ = ahead.parse::<Option<Token![async]>>();
    let _ = ahead.parse::<Option<Token![unsafe]>>();
    if ahead.parse::<Option<Token![extern]>>().ok().flatten().is_some() {
        let _ = ahead.parse::<Option<LitStr>>();
    }
    ahead.peek(Token![fn])
}

impl Parse for OpFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let outer_attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        if !is_fn(input) {
            return Err(
                input.error("`#[op]` can only be applied to functions (and to `impl Model` / `impl Scorer` blocks)")
            );
        }
        let sig: Signature = input.parse()?;
        if input.peek(Token![;]) {
            return Err(input.error("`#[op]` needs a function body: it cannot be applied to a function declaration"));
        }
        let content;
        let brace = braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let body: TokenStream = content.parse()?;
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function"));
        }
        Ok(OpFn { outer_attrs, vis, sig, inner_attrs, body, brace })
    }
}
