//! An item's source text, comments included: the lines of the file the item spans (for
//! an attribute macro, plus its `#[...]` line above the item), or the lines a function-like
//! macro's invocation spans, read at expansion time. Falls back to the tokens printed as
//! text when the compiler gives no file or line (rustc < 1.88, some IDE expansions) or
//! when what is read does not look like the item.

use proc_macro2::{LineColumn, Span, TokenStream};
use std::path::{Path, PathBuf};

/// The captured source and the line it starts on.
pub(crate) struct SourceText {
    /// The text, dedented, with `\n` line endings and a final newline.
    pub text: String,
    /// The 1-based line the text starts on, when known.
    pub line: Option<u32>,
}

/// Whether the attribute's own line above the item is part of the text.
#[derive(Clone, Copy)]
pub(crate) enum AttrLine<'a> {
    /// Kept (`#[op]`), when it is alone on its lines: the attribute's arguments, to find a
    /// multi-line `#[op(...)]`.
    Keep(&'a TokenStream),
    /// Left out (`#[keep_source(NAME)]`: the text is the item as written under it).
    Drop,
}

/// Captures the source of the item `item`, under an attribute macro. The text must
/// contain every word of `expect` (e.g. `fn` and the function's name), else the tokens
/// are used.
pub(crate) fn capture(attr: AttrLine<'_>, item: &TokenStream, expect: &[&str]) -> SourceText {
    from_file(attr, item, expect).unwrap_or_else(|| SourceText { text: format!("{item}\n"), line: first_line(item) })
}

/// Captures the text of the current function-like macro's invocation (`path!(args)`, from
/// the first character of its path to its closing delimiter) as written, when `args`
/// (what the macro was given) lie inside it in the same file and the text mentions
/// `macro_name`; else `macro_name!(<args as tokens>)`.
pub(crate) fn capture_invocation(args: &TokenStream, macro_name: &str) -> String {
    invocation_from_file(args, macro_name).unwrap_or_else(|| format!("{macro_name}!({args})\n"))
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

fn from_file(attr: AttrLine<'_>, item: &TokenStream, expect: &[&str]) -> Option<SourceText> {
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
    let mut lines: Vec<&str> = contents.lines().collect();
    if end.line > lines.len() {
        return None;
    }

    let mut end = end;
    let mut start_line = start.line;
    let mut start_column = Some(start.column);
    if let AttrLine::Drop = attr {
        // Attributes written above the macro's own are part of the item: when its lines
        // sit inside the item's (`/// doc` then `#[keep_source(..)]`), take them out.
        let own = Span::call_site();
        let (a, b) = (own.start(), own.end());
        if same_file(own, &path)
            && start.line < a.line
            && a.line <= b.line
            && b.line < end.line
            && char_offset(lines[a.line - 1], a.column).is_some_and(|at| lines[a.line - 1][..at].trim().is_empty())
            && char_offset(lines[b.line - 1], b.column).is_some_and(|at| lines[b.line - 1][at..].trim().is_empty())
        {
            lines.drain(a.line - 1..b.line);
            end.line -= b.line - a.line + 1;
        }
    }
    if let AttrLine::Keep(args) = attr {
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
    }

    let text = cut(&lines, start_line, start_column, end)?;
    if !expect.iter().all(|word| text.contains(word)) {
        return None;
    }
    Some(SourceText { text, line: u32::try_from(start_line).ok() })
}

fn invocation_from_file(args: &TokenStream, macro_name: &str) -> Option<String> {
    let call = Span::call_site();
    let path = call.local_file()?;
    let (start, end) = (call.start(), call.end());
    if start.line == 0 || end.line < start.line {
        return None;
    }
    // What the macro was given must come from the invocation itself (not, say, from the
    // arguments of a `macro_rules!` that expands to this invocation).
    let inside = |span: Span| {
        let (a, b) = (span.start(), span.end());
        same_file(span, &path)
            && (a.line, a.column) >= (start.line, start.column)
            && (b.line, b.column) <= (end.line, end.column)
    };
    if !args.clone().into_iter().all(|tt| inside(tt.span())) {
        return None;
    }
    let contents = read(&path)?;
    let lines: Vec<&str> = contents.lines().collect();
    if end.line > lines.len() {
        return None;
    }
    let text = cut(&lines, start.line, Some(start.column), end)?;
    let trimmed = text.trim_end();
    if !text.contains(macro_name) || !text.contains('!') || !trimmed.ends_with([')', ']', '}']) {
        return None;
    }
    Some(text)
}

/// Lines `start_line..=end.line` (1-based), the first from char column `start_column` when
/// other code precedes it on that line, the last up to `end.column` when other code
/// follows; dedented.
fn cut(lines: &[&str], start_line: usize, start_column: Option<usize>, end: LineColumn) -> Option<String> {
    if start_line == 0 || end.line < start_line || end.line > lines.len() {
        return None;
    }
    let mut picked: Vec<String> = lines[start_line - 1..end.line].iter().map(|l| (*l).to_owned()).collect();
    // Cut text that shares the first or last line with other code
    // (`impl S { #[op] fn f() {} }` on one line, `let s = scorer_fn!(...).columns(...);`).
    if let Some(last_line) = picked.last_mut() {
        // On a single line, the end column counts from the line's start too: cut the end
        // first.
        if let Some(cut) = char_offset(last_line, end.column) {
            if !last_line[cut..].trim().is_empty() {
                last_line.truncate(cut);
            }
        }
    }
    let mut first_indent = None;
    if let (Some(column), Some(first_line)) = (start_column, picked.first_mut()) {
        if let Some(cut) = char_offset(first_line, column) {
            if !first_line[..cut].trim().is_empty() {
                first_indent = Some(indent_of(first_line));
                *first_line = first_line[cut..].to_owned();
            }
        }
    }
    Some(dedent(&picked, first_indent))
}

/// The byte offset of char column `column` in `line`, if it is inside the line.
fn char_offset(line: &str, column: usize) -> Option<usize> {
    match line.char_indices().nth(column) {
        Some((offset, _)) => Some(offset),
        None if line.chars().count() == column => Some(line.len()),
        None => None,
    }
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// Removes the indentation all non-blank lines share; joins with `\n`. When the first
/// line was cut out of a longer line (`cut_first_line_indent`: that line's indentation),
/// it is kept as is and the others lose the indentation they share with that line, so
/// `let s = scorer_fn!(... {` and its indented body read as written.
fn dedent(lines: &[String], cut_first_line_indent: Option<usize>) -> String {
    let rest = if cut_first_line_indent.is_some() { lines.get(1..).unwrap_or(&[]) } else { lines };
    let indent = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent_of(l))
        .chain(cut_first_line_indent)
        .min()
        .unwrap_or(0);
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            text.push('\n');
            continue;
        }
        if i == 0 && cut_first_line_indent.is_some() {
            text.push_str(line);
        } else {
            text.push_str(line.get(indent..).unwrap_or(line));
        }
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
        assert_eq!(dedent(&lines, None), "fn f() {\n    1\n\n}\n");
    }

    #[test]
    fn a_first_line_cut_from_a_longer_line_sets_the_indentation_of_the_others() {
        let lines = ["    let s = m!(|x| {", "        // c", "        x", "    })", "    .columns([\"a\"]);"];
        let end = LineColumn { line: 4, column: 6 };
        assert_eq!(cut(&lines, 1, Some(12), end).unwrap(), "m!(|x| {\n    // c\n    x\n})\n");
        // On one line: both ends cut.
        let lines = ["    let s = m!(|x| x).columns([\"a\"]);"];
        assert_eq!(cut(&lines, 1, Some(12), LineColumn { line: 1, column: 21 }).unwrap(), "m!(|x| x)\n");
    }

    #[test]
    fn falls_back_to_tokens_outside_a_compiler() {
        let item: TokenStream = "fn f() { 1 }".parse().unwrap();
        let source = capture(AttrLine::Keep(&TokenStream::new()), &item, &["fn", "f"]);
        assert!(source.text.contains("fn f"));
        let args: TokenStream = "\"exact\", |input| input".parse().unwrap();
        assert_eq!(capture_invocation(&args, "scorer_fn"), "scorer_fn!(\"exact\" , | input | input)\n");
    }
}
