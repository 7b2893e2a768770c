//! Exceptions in Weave's format: a JSON string
//! `{"type": .., "message": .., "traceback": [{"filename", "line_number", "function_name", "text"}, ..]}`.

use serde::Serialize;

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
    /// Where it happened, oldest frame first.
    pub traceback: Vec<Frame>,
}

impl Exception {
    /// The JSON string stored in a call's `exception` field.
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
        Exception { kind: kind.into(), message: message.into(), traceback: Vec::new() }
    }

    /// A future dropped before it completed.
    pub fn cancelled(op_name: &str) -> Exception {
        Exception {
            kind: "Cancelled".to_string(),
            message: format!("the future of async op `{op_name}` was dropped before it completed"),
            traceback: Vec::new(),
        }
    }
}

/// Turns the text of a `std::backtrace::Backtrace` into frames, oldest first, without
/// the frames of the panic machinery and of weave itself.
pub fn parse_backtrace(text: &str) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(location) = trimmed.strip_prefix("at ") {
            if let Some(frame) = frames.last_mut() {
                let (file, line_number) = split_location(location);
                frame.filename = file;
                frame.line_number = line_number;
            }
            continue;
        }
        if let Some((index, function)) = trimmed.split_once(": ") {
            if !index.is_empty() && index.chars().all(|c| c.is_ascii_digit()) {
                frames.push(Frame {
                    filename: String::new(),
                    line_number: 0,
                    function_name: function.to_string(),
                    text: String::new(),
                });
            }
        }
    }
    frames.retain(|f| !is_machinery(&f.function_name));
    frames.reverse();
    frames.truncate(64);
    frames
}

fn split_location(location: &str) -> (String, u32) {
    // `path/to/file.rs:12:5`
    let mut parts = location.rsplitn(3, ':');
    let col = parts.next();
    let line = parts.next();
    let file = parts.next();
    match (file, line, col) {
        (Some(file), Some(line), Some(_)) => (file.to_string(), line.parse().unwrap_or(0)),
        _ => (location.to_string(), 0),
    }
}

fn is_machinery(function: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "std::panicking",
        "std::panic",
        "core::panicking",
        "rust_begin_unwind",
        "std::backtrace",
        "weave_core::panic",
        "std::sys::backtrace",
        "__rust",
    ];
    PREFIXES.iter().any(|p| function.starts_with(p))
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
}
