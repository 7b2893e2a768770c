//! Ops: the static description the macro emits for each `#[op]` function, and the
//! runtime definition (name, source file, digests) every call of that op points at.

use crate::refs::{bytes_digest, object_digest, sha256_hex};
use parking_lot::Mutex;
use std::sync::{Arc, OnceLock};

/// The name of the source file an op's code is stored under, as in Weave.
pub const OP_SOURCE_FILE: &str = "obj.py";

/// What the `#[op]` macro knows about a function at compile time.
#[derive(Debug)]
pub struct OpStatic {
    /// The op name: the `name = "..."` option or the function's name.
    pub name: &'static str,
    /// True when the name was given with `name = "..."` (then it is used as is).
    pub name_is_explicit: bool,
    /// True for methods: the op name becomes `Type.method`.
    pub is_method: bool,
    /// `module_path!()` where the op is defined.
    pub module_path: &'static str,
    /// `file!()` where the op is defined.
    pub file: &'static str,
    /// The line the op starts on.
    pub line: u32,
    /// The op's source text (comments included), or "" when unknown.
    pub source: &'static str,
    /// `capture_code = false` turns code capture off for this op.
    pub capture_code: bool,
    /// The op's kind (`"llm"`, `"tool"`, `"agent"`, ...), written to `attributes.weave.kind`.
    pub kind: Option<&'static str>,
    /// Fraction of root calls traced (children of traced calls are always traced).
    pub sample_rate: f64,
    /// True when the call's start is written as soon as it starts (long-running calls).
    pub eager_call_start: bool,
    /// True for `async fn`.
    pub is_async: bool,
    /// The `display_name` option: a fixed name or a function of the call.
    pub display_name: Option<DisplayName>,
    /// `postprocess_inputs = path`: a function over the captured inputs object.
    pub postprocess_inputs: Option<fn(serde_json::Value) -> serde_json::Value>,
    /// `postprocess_output = path`: a function over the captured output.
    pub postprocess_output: Option<fn(serde_json::Value) -> serde_json::Value>,
}

/// How a call's display name is made.
#[derive(Debug, Clone, Copy)]
pub enum DisplayName {
    /// The same name for every call.
    Fixed(&'static str),
    /// A name computed from the call (its op name and inputs) when it starts.
    Computed(fn(&CallView<'_>) -> String),
}

/// What a display-name function sees of a starting call.
#[derive(Debug)]
pub struct CallView<'a> {
    /// The op name (`fn` name or `Type.method`).
    pub op_name: &'a str,
    /// The captured inputs, keyed by parameter name.
    pub inputs: &'a serde_json::Value,
}

impl OpStatic {
    /// The defaults for a plain free function; the macro overrides fields with options.
    pub const fn new(name: &'static str) -> OpStatic {
        OpStatic {
            name,
            name_is_explicit: false,
            is_method: false,
            module_path: "",
            file: "",
            line: 0,
            source: "",
            capture_code: true,
            kind: None,
            sample_rate: 1.0,
            eager_call_start: false,
            is_async: false,
            display_name: None,
            postprocess_inputs: None,
            postprocess_output: None,
        }
    }
}

/// The per-op static the macro emits: the compile-time description plus the runtime
/// definition built on the first call.
#[derive(Debug)]
pub struct OpSite {
    info: OpStatic,
    /// The definition without and with the source code (clients may differ in
    /// `WEAVE_CAPTURE_CODE`), each built on first use, for the first `Self` type seen.
    def: [OnceLock<SiteDef>; 2],
    /// Definitions for the other `Self` types of a method shared by several types (a
    /// trait's default method, a blanket impl): by short type name and code capture.
    others: Mutex<Vec<(&'static str, bool, &'static OpDef)>>,
}

/// A site's definition and the `Self` type it was built for.
#[derive(Debug)]
struct SiteDef {
    self_type: Option<&'static str>,
    def: OpDef,
}

impl OpSite {
    /// A site for the given description (usable in a `static`).
    pub const fn new(info: OpStatic) -> OpSite {
        OpSite { info, def: [OnceLock::new(), OnceLock::new()], others: Mutex::new(Vec::new()) }
    }

    /// The compile-time description.
    pub fn info(&self) -> &OpStatic {
        &self.info
    }

    /// The runtime definition, built on first use. `self_type` is `type_name::<Self>()`
    /// for methods: a default method of a trait is one site for every implementing type,
    /// and each gets its own name (`English.greet`, `French.greet`).
    pub fn def(&'static self, self_type: Option<&'static str>, capture_code: bool) -> &'static OpDef {
        let capture = capture_code && self.info.capture_code;
        // Only a method's name depends on its `Self` type.
        let self_type = self_type.filter(|_| self.info.is_method && !self.info.name_is_explicit);
        let first =
            self.def[usize::from(capture)].get_or_init(|| SiteDef { self_type, def: self.build(self_type, capture) });
        let same = match (first.self_type, self_type) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        if same {
            return &first.def;
        }
        self.other_def(first, self_type, capture)
    }

    /// The definition for a `Self` type other than the first one's (or the same type
    /// named by another copy of its name).
    #[cold]
    fn other_def(
        &'static self,
        first: &'static SiteDef,
        self_type: Option<&'static str>,
        capture: bool,
    ) -> &'static OpDef {
        let short = self_type.map_or("", short_type_name);
        if first.self_type.map_or("", short_type_name) == short {
            return &first.def;
        }
        let mut others = self.others.lock();
        if let Some((_, _, def)) = others.iter().find(|(name, c, _)| *name == short && *c == capture) {
            return def;
        }
        // One per implementing type and setting, for the life of the program.
        let def: &'static OpDef = Box::leak(Box::new(self.build(self_type, capture)));
        others.push((short, capture, def));
        def
    }

    fn build(&self, self_type: Option<&'static str>, capture: bool) -> OpDef {
        let info = &self.info;
        let name = match self_type {
            Some(ty) => format!("{}.{}", short_type_name(ty), info.name),
            None => info.name.to_string(),
        };
        OpDef::new(&name, info.source, capture, info.kind, info.eager_call_start)
    }
}

/// `my_crate::agents::Planner<u32>` → `Planner`.
pub fn short_type_name(full: &str) -> &str {
    let without_generics = match full.find('<') {
        Some(i) => &full[..i],
        None => full,
    };
    match without_generics.rfind("::") {
        Some(i) => &without_generics[i + 2..],
        None => without_generics,
    }
}

/// An op as a call holds it: the definition of a `#[op]` site (static: it lives as long as
/// the program, and copying the handle touches no reference count, so the thread that
/// drops a finished call does not fight the thread that made it over a shared counter),
/// or one made at run time (shared).
#[derive(Clone)]
pub struct OpHandle(OpHandleRepr);

#[derive(Clone)]
enum OpHandleRepr {
    Static(&'static OpDef),
    Shared(Arc<OpDef>),
}

impl OpHandle {
    /// The handle of a `#[op]` site's definition.
    pub fn from_static(def: &'static OpDef) -> OpHandle {
        OpHandle(OpHandleRepr::Static(def))
    }

    /// The address of the definition: the same for every handle of one op (a cache key).
    pub fn as_ptr(&self) -> *const OpDef {
        &**self
    }
}

impl From<Arc<OpDef>> for OpHandle {
    fn from(def: Arc<OpDef>) -> OpHandle {
        OpHandle(OpHandleRepr::Shared(def))
    }
}

impl std::ops::Deref for OpHandle {
    type Target = OpDef;

    fn deref(&self) -> &OpDef {
        match &self.0 {
            OpHandleRepr::Static(def) => def,
            OpHandleRepr::Shared(def) => def,
        }
    }
}

impl std::fmt::Debug for OpHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// An op as stored: name, the source file, and the digests that make its versioned ref
/// `weave:///{entity}/{project}/op/{name}:{digest}`.
#[derive(Debug)]
pub struct OpDef {
    name: String,
    source_file: String,
    file_digest: String,
    digest: String,
    kind: Option<&'static str>,
    eager_call_start: bool,
}

impl OpDef {
    /// An op with the given (already qualified) name and source code. With
    /// `capture_code` false only a hash of the code is kept.
    pub fn new(
        name: &str,
        source: &str,
        capture_code: bool,
        kind: Option<&'static str>,
        eager_call_start: bool,
    ) -> OpDef {
        let name = crate::refs::sanitize_object_name(name);
        let source_file = match (capture_code, source) {
            (true, code) if !code.is_empty() => {
                let mut text = String::with_capacity(code.len() + 1);
                text.push_str(code);
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                text
            }
            (true, _) => format!("// weave-rs: the source of op `{name}` was not available at compile time\n"),
            (false, code) => format!(
                "// weave-rs: code capture is off (WEAVE_CAPTURE_CODE=false); source not stored\n// op: {name}\n// source sha256: {}\n",
                sha256_hex(code.as_bytes())
            ),
        };
        let file_digest = bytes_digest(source_file.as_bytes());
        let digest = object_digest(&op_object_value(&file_digest));
        OpDef { name, source_file, file_digest, digest, kind, eager_call_start }
    }

    /// The op name (`fn` name, or `Type.method`), sanitized as Weave does.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The content of the op's `obj.py` file: its source code, or a stub with its hash.
    pub fn source_file(&self) -> &str {
        &self.source_file
    }

    /// `bytes_digest` of the source file.
    pub fn file_digest(&self) -> &str {
        &self.file_digest
    }

    /// The op object's digest (its version).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The op's kind, if any.
    pub fn kind(&self) -> Option<&'static str> {
        self.kind
    }

    /// True when calls of this op are written as soon as they start.
    pub fn eager_call_start(&self) -> bool {
        self.eager_call_start
    }

    /// The op object value as Weave stores it.
    pub fn object_value(&self) -> serde_json::Value {
        op_object_value(&self.file_digest)
    }

    /// The versioned ref of this op in a project (`entity/project`).
    pub fn ref_uri(&self, project_id: &str) -> String {
        crate::refs::op_ref_uri(project_id, &self.name, &self.digest)
    }
}

fn op_object_value(file_digest: &str) -> serde_json::Value {
    serde_json::json!({
        "_type": "CustomWeaveType",
        "weave_type": {"type": "Op"},
        "files": {OP_SOURCE_FILE: file_digest},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_are_qualified() {
        assert_eq!(short_type_name("my_crate::agents::Planner<u32, x::Y>"), "Planner");
        assert_eq!(short_type_name("Planner"), "Planner");
        static SITE: OpSite = OpSite::new(OpStatic { is_method: true, ..OpStatic::new("plan") });
        assert_eq!(SITE.def(Some("app::Planner"), true).name(), "Planner.plan");
    }

    #[test]
    fn a_site_follows_each_clients_code_capture_setting() {
        static SITE: OpSite = OpSite::new(OpStatic { source: "fn f() {}", ..OpStatic::new("f") });
        assert!(SITE.def(None, true).source_file().contains("fn f() {}"));
        assert!(SITE.def(None, false).source_file().contains("code capture is off"));
        assert!(SITE.def(None, true).source_file().contains("fn f() {}"), "each setting keeps its own definition");
    }

    #[test]
    fn digest_changes_with_code_and_capture_off_keeps_a_hash() {
        let a = OpDef::new("f", "fn f() {}", true, None, false);
        let b = OpDef::new("f", "fn f() { 1 }", true, None, false);
        let off = OpDef::new("f", "fn f() {}", false, None, false);
        assert_ne!(a.digest(), b.digest());
        assert!(off.source_file().contains("code capture is off"));
        assert!(!off.source_file().contains("fn f"));
        assert!(off.source_file().contains(&sha256_hex(b"fn f() {}")));
        assert_eq!(a.ref_uri("e/p"), format!("weave:///e/p/op/f:{}", a.digest()));
    }
}
