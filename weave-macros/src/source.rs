//! The op's source text, comments included: the lines of the file the item spans (plus
//! the `#[op]` line above it), read at expansion time. Falls back to the item's tokens
//! printed as text when the compiler gives no file or line (rustc < 1.88, some IDE
//! expansions) or when what is read does not look like the function.

use proc_macro2::{Span, TokenStream};
use std::path::{Path, PathBuf};

/// The captured source and the line it starts on.
pub(crate) struct SourceText {
    /// The text, dedented, with `\n` line endings and a final newline.
    pub text: String,
    /// The 1-based line the text starts on, when known.
    pub line: Option<u32>,
}

/// Captures the source of the item `item` (with attribute arguments `args`) for the
/// function named `fn_name`.
pub(crate) fn capture(args: &TokenStream, item: &TokenStream, fn_name: &str) -> SourceText {
    from_file(args, item, fn_name).unwrap_or_else(|| SourceText { text: format!("{item}\n"), line: first_line(item) })
}

fn first_line(item: &TokenStream) -> Option<u32> {
    let line = item.clone().into_iter().next()?.span().start().line;
    u32::try_from(line).ok().filter(|&l| l > 0)
}

fn same_file(span: Span, path: &Path) -> bool {
    span.local_file().is_some_and(|p| p == path)
}

fn read(path: &Path) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return Some(text);
    }
    // Paths are relative to rustc's working directory, which is normally the one the
    // proc macro runs in; try the package's directory too.
    if path.is_relative() {
        let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
        return std::fs::read_to_string(PathBuf::from(dir).join(path)).ok();
    }
    None
}

fn from_file(args: &TokenStream, item: &TokenStream, fn_name: &str) -> Option<SourceText> {
    let first = item.clone().into_iter().next()?.span();
    let last = item.clone().into_iter().last()?.span();
    let path = first.local_file()?;
    if !same_file(last, &path) {
        return None;
    }
    let (start, end) = (first.start(), last.end());
    if start.line == 0 || end.line < start.line {
        return None;
    }
    let contents = read(&path)?;
    let lines: Vec<&str> = contents.lines().collect();
    if end.line > lines.len() {
        return None;
    }

    let mut start_line = start.line;
    let mut start_column = Some(start.column);
    // A multi-line `#[op(...)]` starts where its arguments do.
    for tt in args.clone() {
        let span = tt.span();
        let line = span.start().line;
        if line > 0 && line < start_line && same_file(span, &path) {
            start_line = line;
            start_column = None;
        }
    }
    // `#[op]` itself is not part of the item; when it is alone on the line above, keep it.
    if start_column.is_some() && start_line >= 2 && lines[start_line - 2].trim_start().starts_with("#[") {
        start_line -= 1;
        start_column = None;
    }

    let mut picked: Vec<String> = lines[start_line - 1..end.line].iter().map(|l| (*l).to_owned()).collect();
    // Cut text that shares the first or last line with other code
    // (`impl S { #[op] fn f() {} }` on one line).
    if let Some(last_line) = picked.last_mut() {
        if let Some(cut) = char_offset(last_line, end.column) {
            if !last_line[cut..].trim().is_empty() {
                last_line.truncate(cut);
            }
        }
    }
    if let (Some(column), Some(first_line)) = (start_column, picked.first_mut()) {
        if let Some(cut) = char_offset(first_line, column) {
            if !first_line[..cut].trim().is_empty() {
                *first_line = first_line[cut..].to_owned();
            }
        }
    }

    let text = dedent(&picked);
    if !text.contains("fn") || !text.contains(fn_name) {
        return None;
    }
    Some(SourceText { text, line: u32::try_from(start_line).ok() })
}

/// The byte offset of char column `column` in `line`, if it is inside the line.
fn char_offset(line: &str, column: usize) -> Option<usize> {
    match line.char_indices().nth(column) {
        Some((offset, _)) => Some(offset),
        None if line.chars().count() == column => Some(line.len()),
        None => None,
    }
}

/// Removes the indentation all non-blank lines share; joins with `\n`.
fn dedent(lines: &[String]) -> String {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut text = String::new();
    for line in lines {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            text.push('\n');
            continue;
        }
        text.push_str(line.get(indent..).unwrap_or(line));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedent_keeps_relative_indentation() {
        let lines = ["    fn f() {".to_owned(), "        1".to_owned(), "".to_owned(), "    }".to_owned()];
        assert_eq!(dedent(&lines), "fn f() {\n    1\n\n}\n");
    }

    #[test]
    fn falls_back_to_tokens_outside_a_compiler() {
        let item: TokenStream = "fn f() { 1 }".parse().unwrap();
        let source = capture(&TokenStream::new(), &item, "f");
        assert!(source.text.contains("fn f"));
    }
}
