//! Code generation: the function as written, with its body run between a call start and
//! a call finish through `::weave::__private_<version>` (or the `crate = "..."` path). Everything
//! generated stays inside the function body, so `#[op]` also works on trait-impl methods
//! and on `async fn` in traits.

use crate::args::{self, DisplayName, OpArgs};
use crate::impl_block;
use crate::item::OpFn;
use crate::params::{self, Param};
use crate::source;
use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{ReturnType, Type};

/// `#[op(args)] item` → the instrumented item. On an error, the item comes back
/// unchanged next to the error, so the rest of the crate still sees the function.
pub(crate) fn op(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args.clone(), item.clone()) {
        Ok(tokens) => tokens,
        Err(err) => {
            let err = err.to_compile_error();
            quote!(#item #err)
        }
    }
}

fn expand(args_tokens: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if impl_block::is_impl(&item) {
        return impl_block::expand(args_tokens, item);
    }
    let args = args::parse(args_tokens.clone());
    let func = syn::parse2::<OpFn>(item.clone());
    let (args, func) = match (args, func) {
        (Ok(args), Ok(func)) => (args, func),
        (Err(mut a), Err(f)) => {
            a.combine(f);
            return Err(a);
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let params = params::params(&func.sig);
    check(&args, &func, &params)?;
    let fn_name = func.sig.ident.unraw().to_string();
    let source = source::capture(source::AttrLine::Keep(&args_tokens), &item, &["fn", &fn_name]);
    Ok(generate(&args, &func, &params, &source))
}

/// Errors that need both the options and the function.
fn check(args: &OpArgs, func: &OpFn, params: &[Param]) -> syn::Result<()> {
    let mut errors: Option<syn::Error> = func.check().err();
    for skipped in &args.skip {
        let name = skipped.unraw().to_string();
        if !params.iter().any(|p| p.name() == name) {
            let err = syn::Error::new(
                skipped.span(),
                format!("cannot skip `{name}`: `{}` has no parameter named `{name}`", func.sig.ident.unraw()),
            );
            match &mut errors {
                Some(e) => e.combine(err),
                None => errors = Some(err),
            }
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// True when a token of `tokens`, at any depth of groups, is a `hit`.
fn any_token(tokens: TokenStream, hit: &impl Fn(&TokenTree) -> bool) -> bool {
    tokens.into_iter().any(|tt| match &tt {
        TokenTree::Group(group) => any_token(group.stream(), hit),
        other => hit(other),
    })
}

fn is_ident(tt: &TokenTree, name: &str) -> bool {
    matches!(tt, TokenTree::Ident(ident) if ident == name)
}

/// True when `tokens` mention `Self` anywhere.
fn mentions_self(tokens: TokenStream) -> bool {
    any_token(tokens, &|tt| is_ident(tt, "Self"))
}

/// The return type with every `impl Trait` replaced by `_` (a `let` cannot name it).
fn erase_impl_trait(ty: &Type) -> Type {
    struct Erase;
    impl VisitMut for Erase {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                *ty = Type::Infer(syn::TypeInfer { underscore_token: syn::Token![_](impl_trait.impl_token.span) });
                return;
            }
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
    let mut ty = ty.clone();
    Erase.visit_type_mut(&mut ty);
    ty
}

/// True when the type's last path segment is `Result` (`Result`, `io::Result`,
/// `anyhow::Result`, ...).
fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Paren(p) => is_result(&p.elem),
        Type::Group(g) => is_result(&g.elem),
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        _ => false,
    }
}

fn option<T: ToTokens>(value: Option<T>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

/// The shape of a sync function whose body can become a closure of its parameters (see
/// `generate`): no receiver but `&self`, each parameter a plain name
/// (`a: T` or `mut a: T`, no attributes, no `impl Trait` type), a return type with no
/// reference, lifetime or `impl Trait` (a closure's elision rules differ from a
/// function's), and no `unsafe` or variadic. Other functions keep the body in a closure
/// that borrows the parameters.
struct SplitForm {
    /// The signature with `mut` taken off the parameters (the op itself only passes them on).
    outer_sig: syn::Signature,
    /// The parameters' names, in order (not the receiver).
    names: Vec<syn::Ident>,
    /// The parameters as written (`mut a: T`), for the body's closure.
    params: Vec<TokenStream>,
    /// The parameters' types.
    types: Vec<Type>,
}

impl SplitForm {
    fn of(sig: &syn::Signature) -> Option<SplitForm> {
        if sig.asyncness.is_some() || sig.unsafety.is_some() || sig.variadic.is_some() {
            return None;
        }
        match &sig.output {
            ReturnType::Default => {}
            ReturnType::Type(_, ty) => {
                if matches!(**ty, Type::Never(_)) || !plain_return_type(ty.to_token_stream()) {
                    return None;
                }
            }
        }
        let mut outer_sig = sig.clone();
        let (mut names, mut params, mut types) = (Vec::new(), Vec::new(), Vec::new());
        for input in &mut outer_sig.inputs {
            let typed = match input {
                // `&self`: a shared reference, copied into the closures (`move`), so the op
                // takes no address of it either. Other receivers cannot be copied there.
                syn::FnArg::Receiver(receiver)
                    if receiver.reference.is_some()
                        && receiver.mutability.is_none()
                        && receiver.colon_token.is_none() =>
                {
                    continue;
                }
                syn::FnArg::Receiver(_) => return None,
                syn::FnArg::Typed(typed) => typed,
            };
            if !typed.attrs.is_empty() || mentions_impl(typed.ty.to_token_stream()) {
                return None;
            }
            let written = typed.to_token_stream();
            let syn::Pat::Ident(pat) = &mut *typed.pat else { return None };
            if pat.by_ref.is_some() || pat.subpat.is_some() || !pat.attrs.is_empty() {
                return None;
            }
            params.push(written);
            pat.mutability = None;
            names.push(pat.ident.clone());
            types.push((*typed.ty).clone());
        }
        Some(SplitForm { outer_sig, names, params, types })
    }
}

/// True when `tokens` mention `impl` anywhere.
fn mentions_impl(tokens: TokenStream) -> bool {
    any_token(tokens, &|tt| is_ident(tt, "impl"))
}

/// True when a return type has no `&`, lifetime or `impl Trait` in it.
fn plain_return_type(tokens: TokenStream) -> bool {
    !any_token(tokens, &|tt| match tt {
        TokenTree::Punct(punct) => punct.as_char() == '&' || punct.as_char() == '\'',
        other => is_ident(other, "impl"),
    })
}

/// The runtime's module for generated code, named after this crate's version, which is
/// the runtime's (`weave-core/src/private.rs`).
const PRIVATE_MODULE: &str = concat!(
    "__private_",
    env!("CARGO_PKG_VERSION_MAJOR"),
    "_",
    env!("CARGO_PKG_VERSION_MINOR"),
    "_",
    env!("CARGO_PKG_VERSION_PATCH")
);

fn generate(args: &OpArgs, func: &OpFn, params: &[Param], source: &source::SourceText) -> TokenStream {
    let krate = match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::weave),
    };
    let private = format_ident!("{}", PRIVATE_MODULE);
    let p = quote!(#krate::#private);
    let sig = &func.sig;
    let is_async = sig.asyncness.is_some();

    // The static description.
    let fn_name = sig.ident.unraw().to_string();
    let name = args.name.as_ref().map_or(fn_name, |n| n.value());
    let name_is_explicit = args.name.is_some();
    let is_method = sig.receiver().is_some() || mentions_self(sig.to_token_stream());
    let line = match source.line {
        Some(line) => Literal::u32_unsuffixed(line).into_token_stream(),
        None => quote!(::core::line!()),
    };
    let source_text = Literal::string(&source.text);
    let capture_code = args.capture_code.unwrap_or(true);
    let kind = option(args.kind.as_ref());
    let sample_rate = Literal::f64_unsuffixed(args.sample_rate.unwrap_or(1.0));
    let eager_call_start = args.eager_call_start.unwrap_or(false);
    let display_name = option(args.display_name.as_ref().map(|d| match d {
        DisplayName::Fixed(s) => quote!(#p::DisplayName::Fixed(#s)),
        DisplayName::Computed(path) => quote_spanned!(path.span()=> #p::DisplayName::Computed(#path)),
    }));
    let postprocess_inputs = option(args.postprocess_inputs.as_ref());
    let postprocess_output = option(args.postprocess_output.as_ref());
    let op_static = quote! {
        static __WEAVE_OP: #p::OpSite = #p::OpSite::new(#p::OpStatic {
            name: #name,
            name_is_explicit: #name_is_explicit,
            is_method: #is_method,
            module_path: ::core::module_path!(),
            file: ::core::file!(),
            line: #line,
            source: #source_text,
            capture_code: #capture_code,
            kind: #kind,
            sample_rate: #sample_rate,
            eager_call_start: #eager_call_start,
            is_async: #is_async,
            display_name: #display_name,
            postprocess_inputs: #postprocess_inputs,
            postprocess_output: #postprocess_output,
        });
    };
    let self_type = if is_method {
        quote!(::core::option::Option::Some(#p::type_name_of::<Self> as fn() -> &'static str))
    } else {
        quote!(::core::option::Option::None)
    };

    // Inputs, captured before the body runs.
    let captured: Vec<TokenStream> = params
        .iter()
        .filter(|param| args.records(&param.name()))
        .map(|param| {
            // A parameter's name is an identifier: its JSON key needs no escaping.
            let json_key = Literal::string(&format!("\"{}\":", param.name()));
            let value = param.value_ref();
            quote! {
                __weave_inputs.ident_arg(#json_key, |__weave_w| (&&&&#p::Capture(#value)).weave_capture(__weave_w));
            }
        })
        .collect();
    let inputs = if captured.is_empty() {
        quote!(|_| {})
    } else {
        quote! {
            |__weave_inputs| {
                #[allow(unused_imports)]
                use #p::{CaptureViaPrimitive as _, CaptureViaSerialize as _, CaptureViaDebug as _, CaptureViaTypeName as _};
                #(#captured)*
            }
        }
    };

    // The output, or the error of a `Result`.
    let ret_ty: Option<&Type> = match &sig.output {
        ReturnType::Type(_, ty) => Some(ty),
        ReturnType::Default => None,
    };
    let output = quote! {
        __weave_end.output(|__weave_w| (&&&&#p::Capture(__weave_out)).weave_capture(__weave_w))
    };
    let record = if ret_ty.is_some_and(is_result) {
        quote! {
            match __weave_out {
                ::core::result::Result::Ok(__weave_ok) => __weave_end.output(|__weave_w| (&&&&#p::Capture(__weave_ok)).weave_capture(__weave_w)),
                ::core::result::Result::Err(__weave_err) => __weave_end.error(#p::type_name_of_val(__weave_err), || (&&&&#p::ErrorMessage(__weave_err)).weave_error_message()),
            }
        }
    } else {
        quote!(#output;)
    };
    let finish = quote! {
        |__weave_end, __weave_out| {
            #[allow(unused_imports)]
            use #p::{CaptureViaPrimitive as _, CaptureViaSerialize as _, CaptureViaDebug as _, CaptureViaTypeName as _, ErrorViaError as _, ErrorViaDisplay as _, ErrorViaDebug as _, ErrorViaTypeName as _};
            #record
        }
    };

    let attrs = &func.outer_attrs;
    let inner_attrs = &func.inner_attrs;
    let vis = &func.vis;
    let body = func.body_block();
    let out_ty = match ret_ty {
        Some(ty) => erase_impl_trait(ty).into_token_stream(),
        None => quote!(()),
    };
    let out_span = ret_ty.map_or_else(Span::call_site, |ty| ty.span());

    if is_async {
        let mut sig = sig.clone();
        let rebind = params::async_rebind(&mut sig);
        let quiet_body = func.body_block_quiet();
        // Pins the async block's output type to the declared one, so `?` and `return`
        // in the body convert as they did (tracing's "fake return edge").
        let fake_return_stmt = quote_spanned!(out_span=> return __weave_fake_return;);
        let fake_return = quote! {
            #[allow(
                unknown_lints,
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::let_with_type_underscore,
                clippy::needless_return
            )]
            if false {
                let __weave_fake_return: #out_ty = loop {};
                #fake_return_stmt
            }
        };
        quote! {
            #(#attrs)*
            #vis #sig {
                #(#inner_attrs)*
                #op_static
                let __weave_call = #p::start_async_call(&__WEAVE_OP, #self_type, #inputs);
                #p::instrument(__weave_call, async move {
                    #(#rebind)*
                    #fake_return
                    #quiet_body
                }, #finish).await
            }
        }
    } else if matches!(ret_ty, Some(Type::Never(_))) {
        // `-> !`: the body never returns normally; a panic is recorded by the call's drop.
        quote! {
            #(#attrs)*
            #vis #sig {
                #(#inner_attrs)*
                #op_static
                let __weave_call = #p::start_call(&__WEAVE_OP, #self_type, #inputs);
                #p::call_once(|| -> ! #body)
            }
        }
    } else if let Some(split) = SplitForm::of(sig) {
        // The body as a closure of the parameters, called directly when recording is off
        // and from an out-of-line function when it is on. The op's own code then takes no
        // parameter's address, so it has no stack frame to set up before checking the
        // switch: off, it costs the check and the body, as a plain function would. The
        // closures are `move`: all they capture is a `&self` receiver (copied) and the
        // body's closure (moved into the recording path, which is the other branch).
        let SplitForm { outer_sig, names, params, types } = split;
        // A parameter the op records counts as used, as when the body borrowed it for the
        // capture (no new `unused_variables` warning for a parameter kept only for the trace).
        let recorded: Vec<&syn::Ident> = names.iter().filter(|name| args.records(&name.unraw().to_string())).collect();
        let quiet_body = func.body_block_quiet();
        quote! {
            #(#attrs)*
            #vis #outer_sig {
                #(#inner_attrs)*
                #op_static
                let __weave_body = move |#(#params),*| -> #out_ty {
                    #(let _ = &#recorded;)*
                    #quiet_body
                };
                if #p::is_enabled() {
                    #p::call_out_of_line((#(#names,)*), move |(#(#names,)*): (#(#types,)*)| -> #out_ty {
                        let __weave_call = #p::start_call(&__WEAVE_OP, #self_type, #inputs);
                        let __weave_out: #out_ty = __weave_body(#(#names),*);
                        __weave_call.finish(&__weave_out, #finish);
                        __weave_out
                    })
                } else {
                    __weave_body(#(#names),*)
                }
            }
        }
    } else {
        // The closure's return type is written out so the body is checked against the
        // declared type, as the function body was (coercions, `?`, error spans).
        let out = quote!(let __weave_out: #out_ty = #p::call_once(|| -> #out_ty #body););
        quote! {
            #(#attrs)*
            #vis #sig {
                #(#inner_attrs)*
                #op_static
                let __weave_call = #p::start_call(&__WEAVE_OP, #self_type, #inputs);
                #out
                __weave_call.finish(&__weave_out, #finish);
                __weave_out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(args: &str, item: &str) -> String {
        op(args.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn errors_keep_the_item() {
        let out = expand_str("nmae = \"x\"", "fn f() {}");
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("unknown `#[op]` option `nmae`"), "{out}");
        assert!(out.contains("fn f"), "{out}");
        let out = expand_str("skip(b)", "fn f(a: u8) {}");
        assert!(out.contains("no parameter named `b`"), "{out}");
        let out = expand_str("", "const fn f() {}");
        assert!(out.contains("const fn"), "{out}");
        let out = expand_str("sample_rate = 1.5", "fn f() {}");
        assert!(out.contains("between 0.0 and 1.0"), "{out}");
        let out = expand_str("name = \"a\", name = \"b\"", "fn f() {}");
        assert!(out.contains("duplicate"), "{out}");
        let out = expand_str("", "struct S;");
        assert!(out.contains("only be applied to functions"), "{out}");
    }

    #[test]
    #[ignore = "prints an expansion; run with --ignored --nocapture"]
    fn print_expansion() {
        let item = std::env::var("WEAVE_EXPAND_ITEM")
            .unwrap_or_else(|_| "fn f(&self, a: u8) -> Result<u8, E> { Ok(a) }".to_owned());
        let args = std::env::var("WEAVE_EXPAND_ARGS").unwrap_or_default();
        let tokens = op(args.parse().unwrap(), item.parse().unwrap());
        let file: syn::File = syn::parse2(tokens).unwrap();
        println!("{}", quote!(#file));
    }
}
