//! The names a function's parameters bind: the receiver and every identifier in the
//! parameter patterns (destructured tuples and structs included), in declaration order.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::visit_mut::VisitMut;
use syn::{FnArg, Ident, Pat, PatIdent, Receiver, Signature, Type};

/// One named value a call's inputs can hold.
pub(crate) enum Param {
    /// The receiver. `by_value` is true for `self`, `mut self` and `self: Self`; false
    /// for `&self`, `&mut self` and `self: Box<Self>`-like receivers, which are captured
    /// through `*self`.
    SelfParam { span: Span, by_value: bool },
    /// An identifier bound by a parameter pattern.
    Binding(PatIdent),
}

impl Param {
    /// The key in the call's `inputs` object.
    pub(crate) fn name(&self) -> String {
        match self {
            Param::SelfParam { .. } => "self".to_owned(),
            Param::Binding(p) => p.ident.unraw().to_string(),
        }
    }

    /// A `&T` expression reaching the value itself (never `&&T` for `&self`).
    pub(crate) fn value_ref(&self) -> TokenStream {
        match self {
            Param::SelfParam { span, by_value: true } => {
                let this = Ident::new("self", *span);
                quote!(&#this)
            }
            Param::SelfParam { span, by_value: false } => {
                let this = Ident::new("self", *span);
                quote!(&*#this)
            }
            Param::Binding(p) => {
                let ident = &p.ident;
                quote!(&#ident)
            }
        }
    }
}

fn receiver_by_value(receiver: &Receiver) -> bool {
    if receiver.reference.is_some() {
        return false;
    }
    if receiver.colon_token.is_none() {
        return true;
    }
    // `self: Self` is a value; `self: &Self`, `self: Box<Self>`, `self: Pin<&mut Self>`...
    // all dereference to `Self`.
    matches!(&*receiver.ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
}

/// Every named parameter of `sig`, in order.
pub(crate) fn params(sig: &Signature) -> Vec<Param> {
    let mut out = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                out.push(Param::SelfParam { span: receiver.self_token.span, by_value: receiver_by_value(receiver) })
            }
            FnArg::Typed(typed) => collect(&typed.pat, &mut out),
        }
    }
    out
}

fn collect(pat: &Pat, out: &mut Vec<Param>) {
    match pat {
        Pat::Ident(p) => {
            let mut binding = p.clone();
            binding.subpat = None;
            binding.attrs.clear();
            out.push(Param::Binding(binding));
            if let Some((_, sub)) = &p.subpat {
                collect(sub, out);
            }
        }
        Pat::Tuple(t) => t.elems.iter().for_each(|p| collect(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| collect(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| collect(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| collect(p, out)),
        Pat::Reference(r) => collect(&r.pat, out),
        Pat::Paren(p) => collect(&p.pat, out),
        Pat::Type(t) => collect(&t.pat, out),
        // Every case of an or-pattern binds the same names.
        Pat::Or(o) => {
            if let Some(first) = o.cases.first() {
                collect(first, out);
            }
        }
        _ => {}
    }
}

/// Prepares an async fn's signature and returns the statements that move its parameters
/// into the body's future, `let [mut] x = x;` in declaration order, as rustc's own
/// `async fn` lowering does (so the parameters drop at the same point, in the same order).
/// In the signature, `mut` is removed from by-value bindings (the rebinding carries it;
/// binding modes are not part of a function's type, so trait impls still match) and a
/// `_` parameter gets a name so it can be moved too.
pub(crate) fn async_rebind(sig: &mut Signature) -> Vec<TokenStream> {
    let mut stmts = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        let FnArg::Typed(typed) = input else { continue };
        if let Pat::Wild(wild) = &*typed.pat {
            let ident = Ident::new(&format!("__weave_arg{index}"), wild.underscore_token.span);
            stmts.push(quote!(let #ident = #ident;));
            *typed.pat =
                Pat::Ident(PatIdent { attrs: Vec::new(), by_ref: None, mutability: None, ident, subpat: None });
            continue;
        }
        let mut bindings = Vec::new();
        collect(&typed.pat, &mut bindings);
        for binding in bindings {
            if let Param::Binding(p) = binding {
                let ident = &p.ident;
                let mutability = if p.by_ref.is_none() { p.mutability } else { None };
                stmts.push(quote_spanned!(ident.span()=> let #mutability #ident = #ident;));
            }
        }
        StripMut.visit_pat_mut(&mut typed.pat);
    }
    stmts
}

struct StripMut;

impl VisitMut for StripMut {
    fn visit_pat_ident_mut(&mut self, p: &mut PatIdent) {
        if p.by_ref.is_none() {
            p.mutability = None;
        }
        syn::visit_mut::visit_pat_ident_mut(self, p);
    }
}
