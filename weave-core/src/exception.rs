//! Exceptions in Weave's format: a JSON string
//! `{"type": .., "message": .., "traceback": [{"filename", "line_number", "function_name", "text"}, ..]}`.
//!
//! A panic's traceback is captured on the panicking thread as an unresolved backtrace (the
//! stack's return addresses, a few microseconds) and resolved (symbols, files and lines
//! looked up in the binary's debug information, which takes milliseconds, and the first
//! time the debug information is read, a tenth of a second) only the first time it is read:
//! a call's exception goes to the exporter as an [`ExceptionJson`], which the exporter's
//! worker encodes, so that the application's thread never waits for the resolution.

use serde::{Serialize, Serializer};
use std::sync::{Arc, OnceLock};

/// One frame of a traceback, oldest first as in Python.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Frame {
    /// The source file.
    pub filename: String,
    /// The line in that file (0 when unknown).
    pub line_number: u32,
    /// The function.
    pub function_name: String,
    /// The source line's text, when known.
    pub text: String,
}

/// An exception to record on a call.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Exception {
    /// The error's type name, `"panic"` for panics, `"Cancelled"` for dropped futures.
    #[serde(rename = "type")]
    pub kind: String,
    /// What happened.
    pub message: String,
    /// Where it happened, oldest frame first: frames given as they are
    /// (`Traceback::from(vec![..])`), or for a panic, the backtrace captured when it
    /// happened, resolved the first time it is read (see [`Traceback`]).
    pub traceback: Traceback,
}

impl Exception {
    /// The JSON string stored in a call's `exception` field. Resolves the traceback if it
    /// is a backtrace not yet resolved.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            // Serializing strings and numbers cannot fail; keep a valid value regardless.
            String::from(r#"{"type": "Exception", "message": "", "traceback": []}"#)
        })
    }

    /// An `Err` returned by an op: type name, message (Display plus the source chain) and
    /// the op's location as the one frame.
    pub fn from_error(type_name: &str, message: String, op_frame: Option<Frame>) -> Exception {
        Exception { kind: type_name.to_string(), message, traceback: op_frame.into_iter().collect() }
    }

    /// An error with a type name and message, and no traceback.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Exception {
        Exception { kind: kind.into(), message: message.into(), traceback: Traceback::default() }
    }

    /// A future dropped before it completed.
    pub fn cancelled(op_name: &str) -> Exception {
        Exception {
            kind: "Cancelled".to_string(),
            message: format!("the future of async op `{op_name}` was dropped before it completed"),
            traceback: Traceback::default(),
        }
    }
}

/// Where an exception happened, oldest frame first: either frames given as they are, or a
/// backtrace captured ([`Traceback::capture`]) and not resolved until it is read.
///
/// Reading the frames ([`Traceback::frames`], comparing, serializing) resolves a captured
/// backtrace once (clones share the resolution): the symbols are looked up, the frames of
/// the standard library, of the panic machinery, of the async runtime (tokio, futures),
/// of weave and of the code `#[op]` generates, of the test harness and of thread and
/// process start are dropped (see [`parse_backtrace`]), and the frame given to `capture`
/// (a panic's location) comes last. [`Traceback::is_resolved`] tells whether that has
/// happened.
#[derive(Clone, Default)]
pub struct Traceback {
    /// The frames, when `captured` is `None`.
    frames: Vec<Frame>,
    captured: Option<Arc<Captured>>,
}

/// A backtrace captured and not yet read, and its frames once it has been.
struct Captured {
    /// The stack's return addresses, newest first.
    addresses: Vec<usize>,
    last: Option<Frame>,
    frames: OnceLock<Vec<Frame>>,
}

impl Captured {
    fn frames(&self) -> &[Frame] {
        self.frames.get_or_init(|| {
            let mut frames = trim(resolve(&self.addresses));
            frames.extend(self.last.clone());
            frames
        })
    }
}

/// The most return addresses a capture keeps (the newest): deep recursion does not make a
/// panic costlier than this.
const MAX_CAPTURED: usize = 256;

/// This thread's stack's return addresses, newest first.
#[inline(never)]
fn capture_addresses() -> Vec<usize> {
    crate::sys::stack_return_addresses(MAX_CAPTURED)
}

/// The frames (a function's inlined calls each their own, innermost first) at these
/// return addresses, newest first. Paths under the current directory are written
/// `./relative/path`, as `std::backtrace::Backtrace` prints them.
fn resolve(addresses: &[usize]) -> Vec<RawFrame> {
    let cwd = std::env::current_dir().ok();
    let mut frames = Vec::with_capacity(addresses.len());
    for &address in addresses {
        backtrace::resolve(address as *mut std::ffi::c_void, |symbol| {
            let file = symbol.filename().map(|path| match cwd.as_deref().and_then(|cwd| path.strip_prefix(cwd).ok()) {
                Some(relative) => format!("./{}", relative.display()),
                None => path.display().to_string(),
            });
            frames.push(RawFrame {
                function: symbol.name().map(|name| format!("{name:#}")).unwrap_or_default(),
                file: file.unwrap_or_default(),
                line: symbol.lineno().unwrap_or(0),
                column: symbol.colno(),
            });
        });
    }
    frames
}

impl Traceback {
    /// A traceback of these frames, oldest first.
    pub fn new(frames: Vec<Frame>) -> Traceback {
        Traceback { frames, captured: None }
    }

    /// Captures this thread's stack now, unresolved (cheap: the return addresses only), to
    /// be resolved and trimmed to the program's own frames when first read; `last` (a
    /// panic's location) is added after them.
    pub fn capture(last: Option<Frame>) -> Traceback {
        let addresses = capture_addresses();
        Traceback {
            frames: Vec::new(),
            captured: Some(Arc::new(Captured { addresses, last, frames: OnceLock::new() })),
        }
    }

    /// The frames, oldest first. Resolves a captured backtrace the first time (which takes
    /// milliseconds: keep it off the application's hot path).
    pub fn frames(&self) -> &[Frame] {
        match &self.captured {
            Some(captured) => captured.frames(),
            None => &self.frames,
        }
    }

    /// False for a captured backtrace not read yet (its symbols not looked up); true
    /// otherwise.
    pub fn is_resolved(&self) -> bool {
        self.captured.as_ref().is_none_or(|captured| captured.frames.get().is_some())
    }

    /// The frames, to change them (resolves a captured backtrace, whose frames the
    /// traceback then holds as given ones).
    pub fn frames_mut(&mut self) -> &mut Vec<Frame> {
        if let Some(captured) = self.captured.take() {
            self.frames = captured.frames().to_vec();
        }
        &mut self.frames
    }

    /// The frames, oldest first (resolves a captured backtrace).
    pub fn into_frames(self) -> Vec<Frame> {
        match self.captured {
            Some(captured) => captured.frames().to_vec(),
            None => self.frames,
        }
    }
}

impl From<Vec<Frame>> for Traceback {
    fn from(frames: Vec<Frame>) -> Traceback {
        Traceback::new(frames)
    }
}

impl FromIterator<Frame> for Traceback {
    fn from_iter<I: IntoIterator<Item = Frame>>(frames: I) -> Traceback {
        Traceback::new(frames.into_iter().collect())
    }
}

impl PartialEq for Traceback {
    fn eq(&self, other: &Traceback) -> bool {
        self.frames() == other.frames()
    }
}

impl Eq for Traceback {}

impl std::fmt::Debug for Traceback {
    /// The frames; a captured backtrace not yet resolved shows as such (formatting does not
    /// resolve it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_resolved() {
            f.debug_list().entries(self.frames()).finish()
        } else {
            f.write_str("Traceback(<captured backtrace, not resolved yet>)")
        }
    }
}

impl Serialize for Traceback {
    /// The frames as a list (resolves a captured backtrace).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.frames())
    }
}

/// A call's exception on its way to the exporter: Weave's JSON string, encoded the first
/// time it is read ([`ExceptionJson::as_str`], serializing). The runtime ends a call with
/// the [`Exception`] inside, unencoded, so that a panic's backtrace is resolved by the
/// exporter's worker when it encodes the call, not on the application's thread.
#[derive(Clone)]
pub struct ExceptionJson(Box<ExceptionJsonInner>);

#[derive(Clone)]
struct ExceptionJsonInner {
    text: OnceLock<String>,
    exception: Option<Exception>,
}

/// What an exception's traceback is taken to add to its encoded size before it is
/// resolved (a dozen frames), for [`ExceptionJson::estimated_len`].
const UNRESOLVED_TRACEBACK_BYTES: usize = 2048;

impl ExceptionJson {
    /// The exception, to be encoded when first read.
    pub fn new(exception: Exception) -> ExceptionJson {
        ExceptionJson(Box::new(ExceptionJsonInner { text: OnceLock::new(), exception: Some(exception) }))
    }

    /// An exception already encoded (e.g. read back from a file).
    pub fn encoded(text: impl Into<String>) -> ExceptionJson {
        ExceptionJson(Box::new(ExceptionJsonInner { text: OnceLock::from(text.into()), exception: None }))
    }

    /// The JSON string; encodes the exception the first time (resolving a panic's
    /// backtrace, see [`Traceback`]).
    pub fn as_str(&self) -> &str {
        let inner = &*self.0;
        inner.text.get_or_init(|| inner.exception.as_ref().map(Exception::to_json_string).unwrap_or_default())
    }

    /// True once the JSON string exists (then [`as_str`](Self::as_str) costs nothing).
    pub fn is_encoded(&self) -> bool {
        self.0.text.get().is_some()
    }

    /// The exception, unless this was made from its JSON string.
    pub fn exception(&self) -> Option<&Exception> {
        self.0.exception.as_ref()
    }

    /// The length of the JSON string, or an estimate of it made without encoding (nor
    /// resolving a backtrace): for batching by size.
    pub fn estimated_len(&self) -> usize {
        if let Some(text) = self.0.text.get() {
            return text.len();
        }
        let Some(exception) = &self.0.exception else {
            return 0;
        };
        let traceback = if exception.traceback.is_resolved() {
            exception.traceback.frames().iter().map(|f| 80 + f.filename.len() + f.function_name.len()).sum()
        } else {
            UNRESOLVED_TRACEBACK_BYTES
        };
        48 + exception.kind.len() + exception.message.len() + traceback
    }
}

impl From<Exception> for ExceptionJson {
    fn from(exception: Exception) -> ExceptionJson {
        ExceptionJson::new(exception)
    }
}

impl From<String> for ExceptionJson {
    fn from(text: String) -> ExceptionJson {
        ExceptionJson::encoded(text)
    }
}

impl From<&str> for ExceptionJson {
    fn from(text: &str) -> ExceptionJson {
        ExceptionJson::encoded(text)
    }
}

impl PartialEq for ExceptionJson {
    /// Compares the JSON strings (encodes both).
    fn eq(&self, other: &ExceptionJson) -> bool {
        self.as_str() == other.as_str()
    }
}

impl std::fmt::Debug for ExceptionJson {
    /// The JSON string once encoded, else the exception (formatting encodes nothing).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.0.text.get(), &self.0.exception) {
            (Some(text), _) => std::fmt::Debug::fmt(text, f),
            (None, Some(exception)) => std::fmt::Debug::fmt(exception, f),
            (None, None) => f.write_str("\"\""),
        }
    }
}

impl Serialize for ExceptionJson {
    /// The JSON string, as a string (encodes it).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The most frames a traceback keeps (the newest ones, nearest the panic).
const MAX_FRAMES: usize = 64;

/// A frame as resolved, before trimming.
struct RawFrame {
    function: String,
    file: String,
    line: u32,
    column: Option<u32>,
}

impl RawFrame {
    fn location(&self) -> Option<(&str, u32, Option<u32>)> {
        (!self.file.is_empty() && self.line > 0).then_some((self.file.as_str(), self.line, self.column))
    }

    /// Not the program's own (see [`parse_backtrace`]): told by the function's path, or by
    /// the file for the standard library and for a dependency's inlined function, whose
    /// name has no path in a `debug = "line-tables-only"` build (`block_on<…>`, not
    /// `tokio::runtime::park::CachedParkThread::block_on`).
    fn is_foreign(&self) -> bool {
        is_dropped(&self.function)
            || is_in_std_sources(&self.file)
            || dependency_crate(&self.file).is_some_and(|krate| is_dropped_crate(&krate))
    }

    /// One of the functions `#[op]`'s generated code calls around the body: told by its
    /// path, or (inlined, in a `line-tables-only` build) by weave-core's file it is in.
    fn is_op_machinery(&self) -> bool {
        is_op_machinery(&self.function)
            || (["/src/private.rs", "/src/active.rs"].iter().any(|f| self.file.ends_with(f))
                && dependency_crate(&self.file).as_deref() == Some("weave_core"))
    }
}

/// Turns the text of a `std::backtrace::Backtrace` (newest frame first) into the program's
/// own frames, oldest first, trimmed as a captured [`Traceback`] is: without the frames of
/// the standard library (`std`, `core`, `alloc`), the panic and backtrace machinery
/// (`rust_begin_unwind`, `__rust_*`), the async runtime (`tokio`, `futures*`), weave
/// (`weave_core`, `weave_eval`, `weave_exporter`, and the code `#[op]` generates around a
/// body), the test harness (`test`), and thread and process start (`clone3`,
/// `start_thread`, AddressSanitizer's `asan_thread_start`, `__libc_start_*`, `_start`, the
/// C `main`). At most the newest 64 frames are kept.
pub fn parse_backtrace(text: &str) -> Vec<Frame> {
    let mut raw: Vec<RawFrame> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(location) = trimmed.strip_prefix("at ") {
            if let Some(frame) = raw.last_mut() {
                let (file, line, column) = split_location(location);
                (frame.file, frame.line, frame.column) = (file.to_string(), line, column);
            }
            continue;
        }
        if let Some((index, function)) = trimmed.split_once(": ") {
            if !index.is_empty() && index.chars().all(|c| c.is_ascii_digit()) {
                raw.push(RawFrame {
                    function: function.trim().to_string(),
                    file: String::new(),
                    line: 0,
                    column: None,
                });
            }
        }
    }
    trim(raw)
}

/// The program's own frames of a backtrace (newest first), oldest first (see
/// [`parse_backtrace`]).
///
/// The code `#[op]` generates is told by its location: all of it has the location of the
/// `#[op]` attribute, which is where the frame that calls into weave's op machinery
/// (`weave_core::__private_<version>`, `weave_core::active`) is; the body keeps its own locations.
fn trim(raw: Vec<RawFrame>) -> Vec<Frame> {
    let generated: Vec<(&str, u32, Option<u32>)> = raw
        .windows(2)
        .filter(|pair| pair[0].is_op_machinery() && !pair[1].is_op_machinery())
        .filter_map(|pair| pair[1].location())
        .collect();
    let mut frames: Vec<Frame> = raw
        .iter()
        .filter(|f| !f.is_foreign())
        .filter(|f| f.location().is_none_or(|location| !generated.contains(&location)))
        .take(MAX_FRAMES)
        .map(|f| Frame {
            filename: f.file.clone(),
            line_number: f.line,
            function_name: f.function.clone(),
            text: String::new(),
        })
        .collect();
    frames.reverse();
    frames
}

/// True for a frame in the standard library's sources (`/rustc/<commit>/library/...`):
/// std's shims for a program's types, such as `<{closure} as FnOnce<()>>::call_once`, are
/// named after the program's type but are not its code (a build that does not inline them,
/// as under AddressSanitizer, shows them).
fn is_in_std_sources(file: &str) -> bool {
    file.starts_with("/rustc/")
}

/// `path/to/file.rs:12:5` → (`path/to/file.rs`, 12, Some(5)); `file.rs:12` → (`file.rs`, 12,
/// None).
fn split_location(location: &str) -> (&str, u32, Option<u32>) {
    let number = |s: &str| s.parse::<u32>().ok();
    if let Some((rest, last)) = location.rsplit_once(':') {
        if let Some(last) = number(last) {
            if let Some((file, line)) = rest.rsplit_once(':') {
                if let Some(line) = number(line) {
                    return (file, line, Some(last));
                }
            }
            return (rest, last, None);
        }
    }
    (location, 0, None)
}

/// Functions `#[op]`'s generated code calls around the body.
fn is_op_machinery(function: &str) -> bool {
    // `weave_core::__private_<version>::`.
    ["weave_core::__private_", "weave_core::active::", "<weave_core::active::"].iter().any(|p| function.starts_with(p))
}

/// True for frames that are not the program's own (see [`parse_backtrace`]).
fn is_dropped(function: &str) -> bool {
    // `asan_thread_start`: AddressSanitizer's runtime starts threads through it (between
    // `start_thread` and the thread's closure) in a `-Zsanitizer=address` build.
    const NAMES: [&str; 10] = [
        "",
        "<unknown>",
        "main",
        "_start",
        "clone",
        "clone3",
        "__clone",
        "__clone3",
        "start_thread",
        "asan_thread_start",
    ];
    const PREFIXES: [&str; 5] = ["__rust", "rust_begin_unwind", "rust_panic", "__libc_start", "__GI_"];
    NAMES.contains(&function)
        || PREFIXES.iter().any(|p| function.starts_with(p))
        || is_dropped_crate(owner_crate(function))
}

/// True for the crates whose frames are not the program's own (see [`parse_backtrace`]).
fn is_dropped_crate(krate: &str) -> bool {
    const CRATES: [&str; 15] = [
        "std",
        "core",
        "alloc",
        "test",
        "tokio",
        "futures",
        "weave",
        "weave_core",
        "weave_eval",
        "weave_exporter",
        "weave_macros",
        "panic_unwind",
        "panic_abort",
        "backtrace",
        "__rustc",
    ];
    CRATES.contains(&krate) || krate.starts_with("tokio_") || krate.starts_with("futures_")
}

/// The crate (its name, with `-` read as `_`) of a file of a dependency that cargo fetched:
/// `…/registry/src/<index>/<crate>-<version>/…`, or `…/git/checkouts/<repository>-<hash>/
/// <revision>/<crate>/src/…` (a repository's crate at its root is not told).
fn dependency_crate(file: &str) -> Option<String> {
    let file = file.replace('\\', "/");
    let name = if let Some((_, rest)) = file.split_once("/registry/src/") {
        let package = rest.split('/').nth(1)?;
        // The version is what follows the last `-` followed by a digit (`md-5-0.10.6`).
        let at = package
            .char_indices()
            .rev()
            .find(|&(i, c)| c == '-' && package[i + 1..].starts_with(|d: char| d.is_ascii_digit()))?;
        &package[..at.0]
    } else if let Some((_, rest)) = file.split_once("/git/checkouts/") {
        let parts: Vec<&str> = rest.split('/').collect();
        let src = parts.iter().skip(2).position(|part| *part == "src")? + 2;
        if src == 2 {
            return None;
        }
        parts[src - 1]
    } else {
        return None;
    };
    Some(name.replace('-', "_"))
}

/// The crate a (demangled) function belongs to: its path's first segment; for
/// `<Type as Trait>::f` and `<Type>::f`, the type's (through references, pointers and
/// `dyn`), or the trait's when the type is no path (a `fn` pointer, a tuple, a slice).
fn owner_crate(function: &str) -> &str {
    let Some(qualified) = function.strip_prefix('<') else {
        return first_segment(function);
    };
    // The type runs to ` as ` or to the closing `>`, at depth 0 (`->` is no bracket).
    let bytes = qualified.as_bytes();
    let mut depth = 0usize;
    let mut end = qualified.len();
    let mut trait_start = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' | b'(' | b'[' => depth += 1,
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b'>' | b')' | b']' if depth > 0 => depth -= 1,
            b'>' => {
                end = i;
                break;
            }
            b' ' if depth == 0 && qualified[i..].starts_with(" as ") => {
                end = i;
                trait_start = Some(i + 4);
                break;
            }
            _ => {}
        }
    }
    let mut ty = qualified[..end].trim();
    loop {
        let before = ty;
        for sigil in ["&", "*const ", "*mut ", "mut ", "dyn "] {
            ty = ty.strip_prefix(sigil).unwrap_or(ty).trim_start();
        }
        if let Some(lifetime) = ty.strip_prefix('\'') {
            ty = lifetime.split_once(' ').map_or("", |(_, rest)| rest);
        }
        if ty == before {
            break;
        }
    }
    let not_a_path = ["fn(", "unsafe ", "extern ", "for<", "impl "].iter().any(|p| ty.starts_with(p));
    if ty.starts_with(|c: char| c.is_alphabetic() || c == '_') && !not_a_path {
        return first_segment(ty);
    }
    trait_start.map_or("", |start| first_segment(&qualified[start..]))
}

/// A path's first segment: up to `::`, `<`, `(` or a space.
fn first_segment(path: &str) -> &str {
    let end = path.find([':', '<', '(', ' ']).unwrap_or(path.len());
    &path[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_json_shape() {
        let e = Exception::from_error("io::Error", "boom".into(), None);
        let v: serde_json::Value = serde_json::from_str(&e.to_json_string()).unwrap_or_default();
        assert_eq!(v, serde_json::json!({"type": "io::Error", "message": "boom", "traceback": []}));
    }

    #[test]
    fn backtrace_text_becomes_frames() {
        let text = "   0: std::backtrace::Backtrace::force_capture\n             at /rustc/x/library/std/src/backtrace.rs:312:13\n   1: app::inner\n             at ./src/main.rs:10:5\n   2: app::main\n             at ./src/main.rs:3:5\n";
        let frames = parse_backtrace(text);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].function_name, "app::main");
        assert_eq!(frames[1].filename, "./src/main.rs");
        assert_eq!(frames[1].line_number, 10);
    }

    fn summary(frames: &[Frame]) -> Vec<String> {
        frames.iter().map(|f| format!("{} {}:{}", f.function_name, f.filename, f.line_number)).collect()
    }

    /// A panic in a sync op (`#[weave::op]` on line 1, the panic on line 3) called from a
    /// test through `catch_unwind`, as `std::backtrace::Backtrace` prints it (rustc 1.95).
    const SYNC_OP_PANIC: &str = "   0: weave_core::exception::Traceback::capture
             at ./weave-core/src/exception.rs:118:25
   1: weave_core::panic::install_hook::{{closure}}
             at ./weave-core/src/panic.rs:55:33
   2: <alloc::boxed::Box<dyn for<'a, 'b> core::ops::function::Fn<(&'a std::panic::PanicHookInfo<'b>,), Output = ()> + core::marker::Sync + core::marker::Send> as core::ops::function::Fn<(&std::panic::PanicHookInfo,)>>::call
             at /rustc/5980/library/alloc/src/boxed.rs:2254:9
   3: std::panicking::panic_with_hook
             at /rustc/5980/library/std/src/panicking.rs:842:13
   4: std::panicking::panic_handler::{closure#0}
             at /rustc/5980/library/std/src/panicking.rs:700:13
   5: std::sys::backtrace::__rust_end_short_backtrace::<std::panicking::panic_handler::{closure#0}, !>
             at /rustc/5980/library/std/src/sys/backtrace.rs:174:18
   6: __rustc::rust_begin_unwind
             at /rustc/5980/library/std/src/panicking.rs:689:5
   7: core::panicking::panic_fmt
             at /rustc/5980/library/core/src/panicking.rs:80:14
   8: app::explode::{{closure}}
             at ./tests/app.rs:3:16
   9: app::explode::{{closure}}
             at ./tests/app.rs:1:1
  10: weave_core::__private_0_1_0::call_out_of_line
             at ./weave-core/src/private.rs:27:5
  11: app::explode
             at ./tests/app.rs:1:1
  12: app::helper
             at ./tests/app.rs:7:5
  13: app::probe::{{closure}}
             at ./tests/app.rs:12:41
  14: std::panicking::catch_unwind::do_call
             at /rustc/5980/library/std/src/panicking.rs:581:40
  15: __rust_try
  16: std::panicking::catch_unwind
             at /rustc/5980/library/std/src/panicking.rs:544:19
  17: std::panic::catch_unwind
             at /rustc/5980/library/std/src/panic.rs:359:14
  18: app::probe
             at ./tests/app.rs:12:13
  19: app::probe::{{closure}}
             at ./tests/app.rs:10:11
  20: core::ops::function::FnOnce::call_once
             at /rustc/5980/library/core/src/ops/function.rs:250:5
  21: <fn() -> core::result::Result<(), alloc::string::String> as core::ops::function::FnOnce<()>>::call_once
             at /rustc/5980/library/core/src/ops/function.rs:250:5
  22: test::__rust_begin_short_backtrace::<core::result::Result<(), alloc::string::String>, fn() -> core::result::Result<(), alloc::string::String>>
             at /rustc/5980/library/test/src/lib.rs:663:18
  23: test::run_test_in_process::{closure#0}
             at /rustc/5980/library/test/src/lib.rs:686:74
  24: <core::panic::unwind_safe::AssertUnwindSafe<test::run_test_in_process::{closure#0}> as core::ops::function::FnOnce<()>>::call_once
             at /rustc/5980/library/core/src/panic/unwind_safe.rs:274:9
  25: test::run_test::{closure#1}
             at /rustc/5980/library/test/src/lib.rs:637:41
  26: <std::thread::lifecycle::spawn_unchecked<test::run_test::{closure#1}, ()>::{closure#1} as core::ops::function::FnOnce<()>>::call_once::{shim:vtable#0}
             at /rustc/5980/library/core/src/ops/function.rs:250:5
  27: <std::sys::thread::unix::Thread>::new::thread_start
             at /rustc/5980/library/std/src/sys/thread/unix.rs:118:17
  28: start_thread
             at ./nptl/pthread_create.c:442:8
  29: clone3
             at ./misc/../sysdeps/unix/sysv/linux/x86_64/clone3.S:81:0
";

    #[test]
    fn a_sync_ops_panic_keeps_the_programs_frames_oldest_first() {
        assert_eq!(
            summary(&parse_backtrace(SYNC_OP_PANIC)),
            [
                "app::probe::{{closure}} ./tests/app.rs:10",
                "app::probe ./tests/app.rs:12",
                "app::probe::{{closure}} ./tests/app.rs:12",
                "app::helper ./tests/app.rs:7",
                // The body; the frames of the code `#[op]` generates (line 1) are gone.
                "app::explode::{{closure}} ./tests/app.rs:3",
            ]
        );
    }

    /// A panic in an async op (`#[weave::op]` on line 20) awaited by another async op
    /// (line 30) on tokio's current-thread runtime, in `main`.
    const ASYNC_OP_PANIC: &str = "   0: __rustc::rust_begin_unwind
   1: core::panicking::panic_fmt
   2: app::fetch::{{closure}}::{{closure}}
             at ./src/main.rs:23:9
   3: <weave_core::active::OpFuture<F,C> as core::future::future::Future>::poll
             at ./weave-core/src/active.rs:606:39
   4: app::fetch::{{closure}}
             at ./src/main.rs:20:1
   5: app::agent::{{closure}}::{{closure}}
             at ./src/main.rs:32:20
   6: <weave_core::active::OpFuture<F,C> as core::future::future::Future>::poll
             at ./weave-core/src/active.rs:606:39
   7: app::agent::{{closure}}
             at ./src/main.rs:30:1
   8: <weave_core::context::WithContext<F> as core::future::future::Future>::poll
             at ./weave-core/src/context.rs:280:9
   9: tokio::runtime::park::CachedParkThread::block_on::{{closure}}
             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1/src/runtime/park.rs:376:71
  10: tokio::task::coop::with_budget
  11: <futures_util::future::future::Map<Fut,F> as core::future::future::Future>::poll
  12: tokio::runtime::runtime::Runtime::block_on
             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1/src/runtime/runtime.rs:348:18
  13: app::main
             at ./src/main.rs:40:5
  14: core::ops::function::FnOnce::call_once
  15: std::sys::backtrace::__rust_begin_short_backtrace
  16: std::rt::lang_start::{{closure}}
  17: std::rt::lang_start_internal
  18: main
  19: __libc_start_call_main
             at ./csu/../sysdeps/nptl/libc_start_call_main.h:58:16
  20: __libc_start_main_impl
             at ./csu/../csu/libc-start.c:360:3
  21: _start
";

    #[test]
    fn an_async_ops_panic_keeps_the_programs_frames_oldest_first() {
        assert_eq!(
            summary(&parse_backtrace(ASYNC_OP_PANIC)),
            [
                "app::main ./src/main.rs:40",
                "app::agent::{{closure}}::{{closure}} ./src/main.rs:32",
                "app::fetch::{{closure}}::{{closure}} ./src/main.rs:23",
            ]
        );
    }

    /// The async panic above, in a build with `debug = "line-tables-only"` and weave from
    /// crates.io: an inlined function's frame has its name without its path, so a
    /// dependency's is told by its file (tokio by the registry, and by a git checkout; the
    /// backtrace crate; weave-core's op machinery), and the program's keep theirs.
    const LINE_TABLES_ONLY_ASYNC_OP_PANIC: &str = "   0: __rustc::rust_begin_unwind
   1: core::panicking::panic_fmt
   2: trace
             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/backtrace-0.3.77/src/backtrace/libunwind.rs:117:9
   3: trace_unsynchronized<&mut weave_core::sys::stack_return_addresses::{closure_env#0}>
             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/backtrace-0.3.77/src/backtrace/mod.rs:66:5
   4: weave_core::sys::stack_return_addresses
             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/weave-core-0.1.0/src/sys.rs:40:5
   5: {async_fn#0}
             at ./src/main.rs:23:9
   6: poll<app::fetch::{async_fn_env#0}, weave_core::active::Async>
             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/weave-core-0.1.0/src/active.rs:606:39
   7: app::fetch::{{closure}}
             at ./src/main.rs:20:1
   8: parse<u32>
             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde_json-1.0.140/src/de.rs:2480:9
   9: app::agent::{{closure}}::{{closure}}
             at ./src/main.rs:32:20
  10: {closure#0}<app::main::{async_block_env#0}>
             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1/src/runtime/park.rs:376:71
  11: with_budget<core::task::poll::Poll<u32>>
             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1/src/task/coop/mod.rs:167:5
  12: poll<app::main::{async_block_env#0}>
             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/futures-util-0.3.31/src/future/future/map.rs:55:37
  13: block_on<app::main::{async_block_env#0}>
             at /home/u/.cargo/git/checkouts/tokio-3d5f2c9a1b7e4d60/9b1e2d7/tokio/src/runtime/runtime.rs:348:18
  14: app::main
             at ./src/main.rs:40:5
  15: main
";

    #[test]
    fn a_line_tables_only_builds_inlined_frames_are_told_by_their_files() {
        assert_eq!(
            summary(&parse_backtrace(LINE_TABLES_ONLY_ASYNC_OP_PANIC)),
            [
                "app::main ./src/main.rs:40",
                "app::agent::{{closure}}::{{closure}} ./src/main.rs:32",
                "parse<u32> /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde_json-1.0.140/src/de.rs:2480",
                "{async_fn#0} ./src/main.rs:23",
            ]
        );
    }

    #[test]
    fn a_dependencys_crate_is_read_from_where_cargo_fetched_it() {
        let registry = "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f";
        let crate_of = |file: String| dependency_crate(&file);
        assert_eq!(crate_of(format!("{registry}/tokio-1.54.1/src/runtime/park.rs")).as_deref(), Some("tokio"));
        assert_eq!(crate_of(format!("{registry}/futures-util-0.3.31/src/lib.rs")).as_deref(), Some("futures_util"));
        assert_eq!(crate_of(format!("{registry}/md-5-0.10.6/src/lib.rs")).as_deref(), Some("md_5"));
        assert_eq!(crate_of(format!("{registry}/foo-1.0.0-alpha.1/src/lib.rs")).as_deref(), Some("foo"));
        let windows = r"C:\Users\u\.cargo\registry\src\index.crates.io-1949cf8c6b5b557f\weave-core-0.1.0\src\active.rs";
        assert_eq!(crate_of(windows.to_string()).as_deref(), Some("weave_core"));
        let checkouts = "/home/u/.cargo/git/checkouts/weave-rs-3d5f2c9a1b7e4d60/9b1e2d7";
        assert_eq!(crate_of(format!("{checkouts}/weave-core/src/active.rs")).as_deref(), Some("weave_core"));
        assert_eq!(crate_of(format!("{checkouts}/src/lib.rs")), None, "a repository's crate at its root");
        assert_eq!(crate_of("./src/main.rs".to_string()), None);
        assert_eq!(crate_of("/rustc/5980/library/std/src/panicking.rs".to_string()), None);
    }

    #[test]
    fn the_code_op_generates_is_told_by_its_column_on_a_one_line_op() {
        // `#[op] fn f() -> u8 { panic!() }` on line 5: the body shares the attribute's line.
        let text = "   0: app::f::{{closure}}\n             at ./src/lib.rs:5:30\n   1: weave_core::__private_0_1_0::call_once\n             at ./weave-core/src/private.rs:20:5\n   2: app::f\n             at ./src/lib.rs:5:1\n   3: app::run\n             at ./src/lib.rs:9:5\n";
        assert_eq!(summary(&parse_backtrace(text)), ["app::run ./src/lib.rs:9", "app::f::{{closure}} ./src/lib.rs:5"]);
    }

    #[test]
    fn frames_belong_to_the_crate_of_their_path_or_self_type() {
        for (function, krate) in [
            ("app::main", "app"),
            ("main", "main"),
            ("<app::Model as app::Predict>::predict", "app"),
            ("<&mut app::Model as core::fmt::Debug>::fmt", "app"),
            ("<dyn app::Tool>::call", "app"),
            ("<alloc::boxed::Box<dyn core::ops::function::Fn<()>> as core::ops::function::Fn<()>>::call", "alloc"),
            ("<fn() -> core::result::Result<(), alloc::string::String> as core::ops::function::FnOnce<()>>::call_once", "core"),
            ("<std::sys::thread::unix::Thread>::new::thread_start", "std"),
            ("<weave_core::active::OpFuture<F,C> as core::future::future::Future>::poll", "weave_core"),
            ("<(A, B) as app::Pair>::first", "app"),
            ("<[u8] as core::fmt::Debug>::fmt", "core"),
        ] {
            assert_eq!(owner_crate(function), krate, "{function}");
        }
        for kept in ["app::main", "<app::Model as core::fmt::Debug>::fmt", "tokiolike::run", "futuristic::go"] {
            assert!(!is_dropped(kept), "{kept}");
        }
        for dropped in [
            "main",
            "clone3",
            "start_thread",
            "asan_thread_start",
            "__libc_start_main_impl",
            "_start",
            "__rust_try",
            "rust_begin_unwind",
            "__rustc::rust_begin_unwind",
            "test::run_test",
            "tokio_util::codec::Framed::poll",
            "futures_executor::block_on",
            "weave::spawn",
            "weave_exporter::worker::run",
        ] {
            assert!(is_dropped(dropped), "{dropped}");
        }
    }

    #[test]
    fn std_shims_named_after_a_programs_closure_are_not_the_programs() {
        let text = "   0: app::run::{closure#0}\n             at ./src/main.rs:7:9\n   1: <app::run::{closure#0} as core::ops::function::FnOnce<()>>::call_once\n             at /rustc/5980761/library/core/src/ops/function.rs:250:5\n   2: app::run\n             at ./src/main.rs:6:5\n";
        let names: Vec<String> = parse_backtrace(text).into_iter().map(|f| f.function_name).collect();
        assert_eq!(names, ["app::run", "app::run::{closure#0}"]);
    }

    #[test]
    fn at_most_the_newest_64_frames_are_kept() {
        let text: String =
            (0..100).map(|i| format!("{i:4}: app::recurse\n             at ./src/lib.rs:{}:5\n", i + 1)).collect();
        let frames = parse_backtrace(&text);
        assert_eq!(frames.len(), 64);
        assert_eq!(frames.last().map(|f| f.line_number), Some(1), "the newest frame comes last");
    }

    fn location() -> Frame {
        Frame {
            filename: "src/lib.rs".to_string(),
            line_number: 7,
            function_name: "<panic>".to_string(),
            text: String::new(),
        }
    }

    fn panic_location() -> Option<Frame> {
        Some(location())
    }

    #[test]
    fn a_captured_traceback_is_resolved_when_first_read_and_once() {
        let traceback = Traceback::capture(panic_location());
        let copy = traceback.clone();
        assert!(!traceback.is_resolved(), "capturing looks no symbol up");
        assert!(format!("{traceback:?}").contains("not resolved"), "formatting resolves nothing");
        // Read on another thread (as the exporter's worker does): the copy sees it resolved.
        let frames = std::thread::scope(|s| s.spawn(|| traceback.frames().to_vec()).join()).unwrap_or_default();
        assert!(copy.is_resolved());
        // This crate's own frames are weave's and the rest is the test harness and std: the
        // panic's location is left.
        assert_eq!(summary(&frames), ["<panic> src/lib.rs:7"]);
        assert_eq!(copy.frames(), &frames[..]);
        assert_eq!(copy.into_frames(), frames);
    }

    #[test]
    fn a_calls_exception_is_encoded_when_first_read() {
        let exception =
            Exception { kind: "panic".into(), message: "boom".into(), traceback: Traceback::capture(panic_location()) };
        let json = ExceptionJson::new(exception);
        assert!(!json.is_encoded());
        assert!(json.estimated_len() > "boom".len(), "{}", json.estimated_len());
        let _ = format!("{json:?}");
        let traceback = json.exception().map(|e| e.traceback.clone()).unwrap_or_default();
        assert!(!traceback.is_resolved(), "estimating and formatting resolve nothing");
        let text = std::thread::scope(|s| s.spawn(|| json.as_str().to_string()).join()).unwrap_or_default();
        assert!(json.is_encoded() && traceback.is_resolved());
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!({"type": "panic", "message": "boom", "traceback": [
                {"filename": "src/lib.rs", "line_number": 7, "function_name": "<panic>", "text": ""}
            ]})
        );
        assert_eq!(json.estimated_len(), text.len());
        let encoded = ExceptionJson::from(text.as_str());
        assert!(encoded.is_encoded() && encoded.exception().is_none());
        assert_eq!(encoded, json);
        assert_eq!(serde_json::to_string(&json).unwrap_or_default(), serde_json::to_string(&text).unwrap_or_default());
    }

    #[test]
    fn given_frames_can_be_changed() {
        let mut exception = Exception::from_error("E", "m".into(), panic_location());
        exception.traceback.frames_mut().insert(0, Frame { function_name: "app::main".into(), ..location() });
        assert_eq!(summary(exception.traceback.frames()), ["app::main src/lib.rs:7", "<panic> src/lib.rs:7"]);
        let mut captured = Traceback::capture(panic_location());
        captured.frames_mut().clear();
        assert!(captured.frames().is_empty() && captured.is_resolved());
    }
}
