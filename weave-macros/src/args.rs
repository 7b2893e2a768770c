//! The options of `#[op(...)]`: parsing and checking them. Every mistake (an unknown or
//! misspelled option, a repeated one, a value of the wrong kind) is an error pointing at
//! the offending tokens.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(display_name);
    syn::custom_keyword!(skip);
    syn::custom_keyword!(skip_all);
    syn::custom_keyword!(postprocess_inputs);
    syn::custom_keyword!(postprocess_output);
    syn::custom_keyword!(capture_code);
    syn::custom_keyword!(sample_rate);
    syn::custom_keyword!(kind);
    syn::custom_keyword!(eager_call_start);
}

/// Every option, in the order the "expected one of" message lists them.
const OPTIONS: &str = "`name`, `display_name`, `skip`, `skip_all`, `postprocess_inputs`, \
                       `postprocess_output`, `capture_code`, `sample_rate`, `kind`, \
                       `eager_call_start`, `crate`";

/// The parsed options of one `#[op(...)]`.
#[derive(Default)]
pub(crate) struct OpArgs {
    /// `name = "..."`.
    pub name: Option<LitStr>,
    /// `display_name = "..."` or `display_name = path`.
    pub display_name: Option<DisplayName>,
    /// `skip(a, b)`: the parameters not captured.
    pub skip: Vec<Ident>,
    /// `skip_all`.
    pub skip_all: bool,
    /// `postprocess_inputs = path`.
    pub postprocess_inputs: Option<Path>,
    /// `postprocess_output = path`.
    pub postprocess_output: Option<Path>,
    /// `capture_code = false` (default true).
    pub capture_code: Option<bool>,
    /// `sample_rate = 0.25` (default 1.0).
    pub sample_rate: Option<f64>,
    /// `kind = "llm"`.
    pub kind: Option<LitStr>,
    /// `eager_call_start = true` (default false).
    pub eager_call_start: Option<bool>,
    /// `crate = "path"`: where the runtime is (default `::weave`).
    pub krate: Option<Path>,
}

impl OpArgs {
    /// True when the parameter `name` is captured (not in `skip`, no `skip_all`).
    pub(crate) fn records(&self, name: &str) -> bool {
        !self.skip_all && !self.skip.iter().any(|s| s.unraw() == name)
    }
}

/// The two forms of `display_name`.
pub(crate) enum DisplayName {
    /// `display_name = "..."`.
    Fixed(LitStr),
    /// `display_name = path` to a `fn(&CallView<'_>) -> String`.
    Computed(Path),
}

impl Parse for OpArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = OpArgs::default();
        let mut skip_list: Option<Span> = None;
        let mut skip_all: Option<Span> = None;
        while !input.is_empty() {
            if input.peek(kw::name) {
                let key = input.parse::<kw::name>()?;
                let value = string_value(input, "name", key.span)?;
                set(&mut args.name, value, "name", key.span)?;
            } else if input.peek(kw::display_name) {
                let key = input.parse::<kw::display_name>()?;
                let value = display_name_value(input, key.span)?;
                set(&mut args.display_name, value, "display_name", key.span)?;
            } else if input.peek(kw::skip_all) {
                let key = input.parse::<kw::skip_all>()?;
                no_value(input, "skip_all")?;
                if skip_all.is_some() {
                    return Err(duplicate("skip_all", key.span));
                }
                if skip_list.is_some() {
                    return Err(syn::Error::new(
                        key.span,
                        "`skip_all` and `skip(...)` cannot be used together: `skip_all` already skips every parameter",
                    ));
                }
                skip_all = Some(key.span);
                args.skip_all = true;
            } else if input.peek(kw::skip) {
                let key = input.parse::<kw::skip>()?;
                if skip_list.is_some() {
                    return Err(duplicate("skip", key.span));
                }
                if skip_all.is_some() {
                    return Err(syn::Error::new(
                        key.span,
                        "`skip(...)` and `skip_all` cannot be used together: `skip_all` already skips every parameter",
                    ));
                }
                args.skip = skip_value(input, key.span)?;
                skip_list = Some(key.span);
            } else if input.peek(kw::postprocess_inputs) {
                let key = input.parse::<kw::postprocess_inputs>()?;
                let value = path_value(input, "postprocess_inputs", key.span)?;
                set(&mut args.postprocess_inputs, value, "postprocess_inputs", key.span)?;
            } else if input.peek(kw::postprocess_output) {
                let key = input.parse::<kw::postprocess_output>()?;
                let value = path_value(input, "postprocess_output", key.span)?;
                set(&mut args.postprocess_output, value, "postprocess_output", key.span)?;
            } else if input.peek(kw::capture_code) {
                let key = input.parse::<kw::capture_code>()?;
                let value = bool_value(input, "capture_code", key.span)?;
                set(&mut args.capture_code, value, "capture_code", key.span)?;
            } else if input.peek(kw::sample_rate) {
                let key = input.parse::<kw::sample_rate>()?;
                let value = sample_rate_value(input, key.span)?;
                set(&mut args.sample_rate, value, "sample_rate", key.span)?;
            } else if input.peek(kw::kind) {
                let key = input.parse::<kw::kind>()?;
                let value = string_value(input, "kind", key.span)?;
                set(&mut args.kind, value, "kind", key.span)?;
            } else if input.peek(kw::eager_call_start) {
                let key = input.parse::<kw::eager_call_start>()?;
                let value = bool_value(input, "eager_call_start", key.span)?;
                set(&mut args.eager_call_start, value, "eager_call_start", key.span)?;
            } else if input.peek(Token![crate]) {
                let key = input.parse::<Token![crate]>()?;
                let value = crate_value(input, key.span)?;
                set(&mut args.krate, value, "crate", key.span)?;
            } else if input.peek(Ident::peek_any) {
                let unknown = input.call(Ident::parse_any)?;
                return Err(syn::Error::new(
                    unknown.span(),
                    format!("unknown `#[op]` option `{unknown}`; expected one of {OPTIONS}"),
                ));
            } else {
                return Err(input.error(format!("expected an `#[op]` option, one of {OPTIONS}")));
            }
            if input.is_empty() {
                break;
            }
            if !input.peek(Token![,]) {
                return Err(input.error("expected `,` between `#[op]` options"));
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

fn duplicate(key: &str, span: Span) -> syn::Error {
    syn::Error::new(span, format!("duplicate `#[op]` option `{key}`"))
}

fn set<T>(slot: &mut Option<T>, value: T, key: &str, span: Span) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate(key, span));
    }
    *slot = Some(value);
    Ok(())
}

/// `= <expr>` after `key`; the expression runs to the next `,`.
fn value(input: ParseStream<'_>, key: &str, key_span: Span, example: &str) -> syn::Result<Expr> {
    if !input.peek(Token![=]) {
        return Err(syn::Error::new(key_span, format!("`{key}` needs a value: `{key} = {example}`")));
    }
    input.parse::<Token![=]>()?;
    if input.is_empty() || input.peek(Token![,]) {
        return Err(input.error(format!("expected a value: `{key} = {example}`")));
    }
    input.parse()
}

fn string_value(input: ParseStream<'_>, key: &str, key_span: Span) -> syn::Result<LitStr> {
    match value(input, key, key_span, "\"...\"")? {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) if !s.value().is_empty() => Ok(s),
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => {
            Err(syn::Error::new(s.span(), format!("`{key}` cannot be empty")))
        }
        other => Err(syn::Error::new_spanned(other, format!("`{key}` expects a string literal: `{key} = \"...\"`"))),
    }
}

fn bool_value(input: ParseStream<'_>, key: &str, key_span: Span) -> syn::Result<bool> {
    match value(input, key, key_span, "true")? {
        Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) => Ok(b.value),
        other => Err(syn::Error::new_spanned(other, format!("`{key}` expects `true` or `false`"))),
    }
}

fn path_value(input: ParseStream<'_>, key: &str, key_span: Span) -> syn::Result<Path> {
    match value(input, key, key_span, "path::to::function")? {
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => Ok(p.path),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "`{key}` expects a path to a function \
                 `fn(serde_json::Value) -> serde_json::Value`: `{key} = path::to::function`"
            ),
        )),
    }
}

fn display_name_value(input: ParseStream<'_>, key_span: Span) -> syn::Result<DisplayName> {
    match value(input, "display_name", key_span, "\"...\"")? {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) if !s.value().is_empty() => Ok(DisplayName::Fixed(s)),
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Err(syn::Error::new(s.span(), "`display_name` cannot be empty")),
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => Ok(DisplayName::Computed(p.path)),
        other => Err(syn::Error::new_spanned(
            other,
            "`display_name` expects a string literal or a path to a function \
             `fn(&CallView<'_>) -> String`",
        )),
    }
}

fn sample_rate_value(input: ParseStream<'_>, key_span: Span) -> syn::Result<f64> {
    let expr = value(input, "sample_rate", key_span, "0.25")?;
    let parsed = match &expr {
        Expr::Lit(ExprLit { lit: Lit::Float(f), .. }) => f.base10_parse::<f64>().ok(),
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => i.base10_parse::<u8>().ok().map(f64::from),
        _ => None,
    };
    match parsed {
        Some(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(syn::Error::new_spanned(
            expr,
            "`sample_rate` expects a number literal between 0.0 and 1.0: `sample_rate = 0.25`",
        )),
    }
}

fn crate_value(input: ParseStream<'_>, key_span: Span) -> syn::Result<Path> {
    match value(input, "crate", key_span, "\"path::to::weave\"")? {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => s
            .parse_with(Path::parse_mod_style)
            .map_err(|_| syn::Error::new(s.span(), "`crate` expects a path, e.g. `crate = \"my_crate::weave\"`")),
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => Ok(p.path),
        other => Err(syn::Error::new_spanned(
            other,
            "`crate` expects a path in a string literal: `crate = \"path::to::weave\"`",
        )),
    }
}

fn no_value(input: ParseStream<'_>, key: &str) -> syn::Result<()> {
    if input.is_empty() || input.peek(Token![,]) {
        Ok(())
    } else {
        Err(input.error(format!("`{key}` takes no value: write `{key}` alone")))
    }
}

/// `(a, b, self)` after `skip`.
fn skip_value(input: ParseStream<'_>, key_span: Span) -> syn::Result<Vec<Ident>> {
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new(key_span, "`skip` takes a list of parameter names: `skip(a, b)`"));
    }
    let content;
    syn::parenthesized!(content in input);
    let names: Punctuated<Ident, Token![,]> = content.parse_terminated(Ident::parse_any, Token![,])?;
    let mut out: Vec<Ident> = Vec::with_capacity(names.len());
    for name in names {
        if out.iter().any(|seen| seen.unraw() == name.unraw()) {
            return Err(syn::Error::new(name.span(), format!("parameter `{}` is skipped twice", name.unraw())));
        }
        out.push(name);
    }
    Ok(out)
}

/// Parses the attribute arguments (for tests and the entry point).
pub(crate) fn parse(args: TokenStream) -> syn::Result<OpArgs> {
    syn::parse2(args)
}
