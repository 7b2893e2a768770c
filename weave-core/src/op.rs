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
    /// `capture_code` false only a hash of the code is kept. Its `obj.py` is Python (see
    /// [`OpDef::source_file`]).
    pub fn new(
        name: &str,
        source: &str,
        capture_code: bool,
        kind: Option<&'static str>,
        eager_call_start: bool,
    ) -> OpDef {
        let name = crate::refs::sanitize_object_name(name);
        let source_file = match (capture_code, source) {
            (true, code) if !code.is_empty() => python_op_file(&name, OpSource::Rust(code)),
            (true, _) => python_op_file(&name, OpSource::Unavailable),
            (false, code) => python_op_file(&name, OpSource::Hash(&sha256_hex(code.as_bytes()))),
        };
        OpDef::with_file(name, source_file, kind, eager_call_start)
    }

    /// An op whose `obj.py` is `source_file`, as is (e.g. read back from the fallback
    /// file, where it was written by [`OpDef::new`]).
    pub fn from_source_file(
        name: &str,
        source_file: String,
        kind: Option<&'static str>,
        eager_call_start: bool,
    ) -> OpDef {
        OpDef::with_file(crate::refs::sanitize_object_name(name), source_file, kind, eager_call_start)
    }

    fn with_file(name: String, source_file: String, kind: Option<&'static str>, eager_call_start: bool) -> OpDef {
        let file_digest = bytes_digest(source_file.as_bytes());
        let digest = object_digest(&op_object_value(&file_digest));
        OpDef { name, source_file, file_digest, digest, kind, eager_call_start }
    }

    /// The op name (`fn` name, or `Type.method`), sanitized as Weave does.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The content of the op's `obj.py` file: Python that Weave's Python client can import
    /// (it imports an op's `obj.py` and takes its last `@weave.op` function): the Rust
    /// source verbatim in a string constant, `RUST_SOURCE` (or, with code capture off, its
    /// hash, `RUST_SOURCE_SHA256`), then `import weave` and a `@weave.op` function named
    /// after the op (`predict` for `MyModel.predict`) that raises `NotImplementedError`.
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

/// What an op's `obj.py` holds of its code.
enum OpSource<'a> {
    /// The Rust source.
    Rust(&'a str),
    /// Nothing: the source was not available when the op was compiled.
    Unavailable,
    /// The SHA-256 of the source (code capture off), which versions the op.
    Hash(&'a str),
}

/// The `obj.py` of an op: valid Python for any source text, which it holds verbatim.
///
/// ```text
/// # weave-rs op `MyModel.predict`: implemented in Rust, it cannot be called from Python.
/// # RUST_SOURCE holds its Rust source, verbatim (after the first line break).
/// import weave
///
/// RUST_SOURCE = r'''
/// fn predict(&self, question: &str) -> String { .. }
/// '''
///
///
/// @weave.op
/// def predict(*args, **kwargs):
///     raise NotImplementedError("op `MyModel.predict` is implemented in Rust (weave-rs) and cannot be called from Python")
/// ```
fn python_op_file(name: &str, source: OpSource<'_>) -> String {
    let shown = name.replace(['\r', '\n'], " ");
    let mut file = format!("# weave-rs op `{shown}`: implemented in Rust, it cannot be called from Python.\n");
    let constant = match source {
        OpSource::Rust(code) => {
            file.push_str("# RUST_SOURCE holds its Rust source, verbatim (after the first line break).\n");
            format!("RUST_SOURCE = {}\n", python_text_literal(code))
        }
        OpSource::Unavailable => {
            file.push_str("# Its source was not available when it was compiled.\n");
            String::new()
        }
        OpSource::Hash(hash) => {
            file.push_str("# Code capture is off (WEAVE_CAPTURE_CODE=false): its source is not stored, its\n");
            file.push_str("# SHA-256 (RUST_SOURCE_SHA256) versions it.\n");
            format!("RUST_SOURCE_SHA256 = {}\n", python_str_literal(hash))
        }
    };
    file.push_str("import weave\n\n");
    if !constant.is_empty() {
        file.push_str(&constant);
        file.push('\n');
    }
    let message = format!("op `{name}` is implemented in Rust (weave-rs) and cannot be called from Python");
    file.push_str(&format!(
        "\n@weave.op\ndef {}(*args, **kwargs):\n    raise NotImplementedError({})\n",
        python_identifier(name),
        python_str_literal(&message)
    ));
    file
}

/// The Rust source an op's `obj.py` holds (see [`OpDef::source_file`]), with a line break
/// at its end; `None` for a file without it (code capture off, or not written by
/// weave-rs).
pub fn rust_source(obj_py: &str) -> Option<String> {
    let (_, rest) = obj_py.split_once("\nRUST_SOURCE = ")?;
    for quotes in ["'''", "\"\"\""] {
        if let Some(raw) = rest.strip_prefix('r').and_then(|r| r.strip_prefix(quotes)?.strip_prefix('\n')) {
            return raw.find(quotes).map(|end| raw[..end].to_string());
        }
    }
    // The escaped form (see `python_text_literal`).
    let escaped = rest.strip_prefix("'''\n")?;
    let mut text = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'x' => {
                    let code: String = chars.by_ref().take(2).collect();
                    text.push(char::from(u8::from_str_radix(&code, 16).ok()?));
                }
                'r' => text.push('\r'),
                other => text.push(other),
            },
            '\'' => return Some(text),
            c => text.push(c),
        }
    }
    None
}

/// Python's keywords, which cannot name a function.
const PYTHON_KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// A Python identifier for the op `name`: its last `.`-separated part (the method of
/// `Type.method`), with what is not an ASCII letter, digit or `_` made `_`, `_` first when
/// it would start with a digit, `_` last when it is a keyword.
fn python_identifier(name: &str) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    let mut ident: String = last.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if ident.is_empty() {
        ident.push_str("op");
    }
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    if PYTHON_KEYWORDS.contains(&ident.as_str()) {
        ident.push('_');
    }
    ident
}

/// A Python triple-quoted string literal whose value is a line break then `text` (with a
/// line break at its end if it has none), the text verbatim between the quotes: a raw
/// string (`r'''` or `r"""`, whichever does not occur in the text), or, when both occur or
/// the text holds a NUL or a carriage return (which no raw string keeps), a string with
/// `\\`, `\'`, `\x00` and `\r` escaped.
fn python_text_literal(text: &str) -> String {
    let end = if text.ends_with('\n') { "" } else { "\n" };
    if !text.contains(['\0', '\r']) {
        for quotes in ["'''", "\"\"\""] {
            if !text.contains(quotes) {
                return format!("r{quotes}\n{text}{end}{quotes}");
            }
        }
    }
    let mut literal = String::with_capacity(text.len() + 16);
    literal.push_str("'''\n");
    for c in text.chars() {
        match c {
            '\\' => literal.push_str("\\\\"),
            '\'' => literal.push_str("\\'"),
            '\0' => literal.push_str("\\x00"),
            '\r' => literal.push_str("\\r"),
            c => literal.push(c),
        }
    }
    literal.push_str(end);
    literal.push_str("'''");
    literal
}

/// A Python string literal (`"..."`) of `text`.
fn python_str_literal(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    for c in text.chars() {
        match c {
            '\\' => literal.push_str("\\\\"),
            '"' => literal.push_str("\\\""),
            '\n' => literal.push_str("\\n"),
            '\r' => literal.push_str("\\r"),
            '\t' => literal.push_str("\\t"),
            c if c.is_control() => literal.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => literal.push(c),
        }
    }
    literal.push('"');
    literal
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
        assert!(SITE.def(None, false).source_file().contains("Code capture is off"));
        assert!(SITE.def(None, true).source_file().contains("fn f() {}"), "each setting keeps its own definition");
    }

    const MESSAGE: &str = "op `MyModel.predict` is implemented in Rust (weave-rs) and cannot be called from Python";

    #[test]
    fn obj_py_is_python_holding_the_rust_source_and_a_stub_op() {
        let code = "#[weave::op]\nfn predict(&self, question: &str) -> String {\n    question.to_uppercase()\n}\n";
        let op = OpDef::new("MyModel.predict", code, true, None, false);
        let expected = [
            "# weave-rs op `MyModel.predict`: implemented in Rust, it cannot be called from Python.\n",
            "# RUST_SOURCE holds its Rust source, verbatim (after the first line break).\n",
            "import weave\n",
            "\n",
            &format!("RUST_SOURCE = r'''\n{code}'''\n"),
            "\n",
            "\n",
            "@weave.op\n",
            "def predict(*args, **kwargs):\n",
            &format!("    raise NotImplementedError(\"{MESSAGE}\")\n"),
        ]
        .concat();
        assert_eq!(op.source_file(), expected);
        // The digests follow from the file.
        assert_eq!(op.file_digest(), bytes_digest(op.source_file().as_bytes()));
        assert_eq!(op.digest(), object_digest(&op_object_value(op.file_digest())));
    }

    #[test]
    fn without_the_source_obj_py_has_the_same_shape() {
        let off = OpDef::new("MyModel.predict", "fn predict() {}", false, None, false);
        let expected = [
            "# weave-rs op `MyModel.predict`: implemented in Rust, it cannot be called from Python.\n",
            "# Code capture is off (WEAVE_CAPTURE_CODE=false): its source is not stored, its\n",
            "# SHA-256 (RUST_SOURCE_SHA256) versions it.\n",
            "import weave\n",
            "\n",
            &format!("RUST_SOURCE_SHA256 = \"{}\"\n", sha256_hex(b"fn predict() {}")),
            "\n",
            "\n",
            "@weave.op\n",
            "def predict(*args, **kwargs):\n",
            &format!("    raise NotImplementedError(\"{MESSAGE}\")\n"),
        ]
        .concat();
        assert_eq!(off.source_file(), expected);
        let unavailable = OpDef::new("MyModel.predict", "", true, None, false);
        assert!(unavailable.source_file().contains("not available when it was compiled"));
        let stub = format!("import weave\n\n\n@weave.op\ndef predict(*args, **kwargs):\n    raise NotImplementedError(\"{MESSAGE}\")\n");
        assert!(unavailable.source_file().ends_with(&stub), "{}", unavailable.source_file());
    }

    #[test]
    fn the_stub_is_named_with_a_python_identifier() {
        for (name, ident) in [
            ("MyModel.predict", "predict"),
            ("summarize", "summarize"),
            ("Scorer.summarize", "summarize"),
            ("my-op", "my_op"),
            ("Type.2fast", "_2fast"),
            ("class", "class_"),
            ("Agent.async", "async_"),
            ("None", "None_"),
            ("Modèle.prédire", "pr_dire"),
            ("trailing.", "op"),
        ] {
            assert_eq!(python_identifier(name), ident, "{name}");
        }
    }

    #[test]
    fn an_op_made_from_its_obj_py_is_the_same_op() {
        let op = OpDef::new("MyModel.predict", "fn predict() {}", true, Some("llm"), true);
        let again = OpDef::from_source_file(op.name(), op.source_file().to_string(), Some("llm"), true);
        assert_eq!(again.source_file(), op.source_file());
        assert_eq!((again.file_digest(), again.digest()), (op.file_digest(), op.digest()));
    }

    /// Source texts that a naive quoting would break.
    const NASTY: [&str; 16] = [
        "fn f() {}",
        "",
        "let s = r#\"'''\"#;",
        "let s = r#\"\"\"\"#;\n",
        "let a = \"'''\"; let b = \"\\\"\\\"\\\"\";\n",
        "'''\"\"\"",
        "ends with a backslash \\",
        "ends with a quote '",
        "ends with a double quote \"",
        "\\'''\\\"\"\"\\\\",
        "'''",
        "\"\"\"\n",
        "a NUL \0 and a CR \r and CRLF \r\n done",
        "unicode: é ü 漢字 \u{2028} \u{feff} 🚀\n\tindented\n",
        "'''\nbackslash before the end\\",
        "#[op] fn f() { let s = \"\\u{0}\\n\\\\\"; } // \"\"\" and ''' and \\",
    ];

    /// Runs `python3` on each `obj.py`: parses it (`ast.parse`), reads its `RUST_SOURCE`
    /// (`ast.literal_eval`) and the name of its last `@weave.op` function (as Weave's
    /// `find_last_weave_op_function` does), one JSON line per file.
    fn python_reads(files: &[String]) -> Vec<serde_json::Value> {
        const SCRIPT: &str = r#"
import ast, json, sys
for file in json.load(sys.stdin):
    tree = ast.parse(file)
    source, last_op = None, None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["RUST_SOURCE"]:
            source = ast.literal_eval(node.value)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.decorator_list:
                if isinstance(d, ast.Attribute) and d.attr == "op" and isinstance(d.value, ast.Name) and d.value.id == "weave":
                    last_op = node.name
    print(json.dumps({"source": source, "last_op": last_op}))
"#;
        use std::io::Write;
        let mut child = std::process::Command::new("python3")
            .args(["-c", SCRIPT])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs (it parses the obj.py files)");
        let input = serde_json::to_vec(files).expect("JSON");
        child.stdin.take().expect("stdin").write_all(&input).expect("python3 reads its input");
        let out = child.wait_with_output().expect("python3 ends");
        assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
    }

    #[test]
    fn obj_py_is_valid_python_for_any_source_and_holds_it_verbatim() {
        let ops: Vec<OpDef> = NASTY.iter().map(|code| OpDef::new("Nasty.case", code, true, None, false)).collect();
        let files: Vec<String> = ops.iter().map(|op| op.source_file().to_string()).collect();
        let read = python_reads(&files);
        assert_eq!(read.len(), NASTY.len());
        for ((code, file), read) in NASTY.iter().zip(&files).zip(&read) {
            assert_eq!(read["last_op"], "case", "{file}");
            let expected: serde_json::Value = match *code {
                "" => serde_json::Value::Null,
                code if code.ends_with('\n') => format!("\n{code}").into(),
                code => format!("\n{code}\n").into(),
            };
            assert_eq!(read["source"], expected, "{file}");
        }
        // And as weave-rs reads it back.
        for (code, file) in NASTY.iter().zip(&files) {
            let expected = match *code {
                "" => None,
                code if code.ends_with('\n') => Some(code.to_string()),
                code => Some(format!("{code}\n")),
            };
            assert_eq!(rust_source(file), expected, "{file}");
        }
        // The usual case reads as written: a raw string, the Rust text as is.
        assert!(files[0].contains("RUST_SOURCE = r'''\nfn f() {}\n'''\n"), "{}", files[0]);
        assert!(files[2].contains("RUST_SOURCE = r\"\"\"\nlet s = r#\"'''\"#;\n\"\"\"\n"), "{}", files[2]);
    }

    #[test]
    fn the_stubs_without_source_are_valid_python() {
        let files: Vec<String> = [
            OpDef::new("Type.def", "fn def() {}", false, None, false),
            OpDef::new("weird \"name\" \\ here", "", true, None, false),
        ]
        .iter()
        .map(|op| op.source_file().to_string())
        .collect();
        let read = python_reads(&files);
        assert_eq!(read[0]["last_op"], "def_");
        assert_eq!(read[1]["last_op"], "weird_name_here", "the name is sanitized first");
        assert!(read.iter().all(|r| r["source"].is_null()));
    }

    #[test]
    fn digest_changes_with_code_and_capture_off_keeps_a_hash() {
        let a = OpDef::new("f", "fn f() {}", true, None, false);
        let b = OpDef::new("f", "fn f() { 1 }", true, None, false);
        let off = OpDef::new("f", "fn f() {}", false, None, false);
        assert_ne!(a.digest(), b.digest());
        assert!(off.source_file().contains("Code capture is off"));
        assert!(!off.source_file().contains("fn f"));
        assert!(off.source_file().contains(&sha256_hex(b"fn f() {}")));
        assert_eq!(a.ref_uri("e/p"), format!("weave:///e/p/op/f:{}", a.digest()));
    }
}
