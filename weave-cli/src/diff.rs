//! A line diff (longest common subsequence) between two texts, for comparing op
//! versions' code.

use serde_json::{json, Value};

/// Texts longer than this many lines are compared as whole blocks (one removed, one
/// added): the table is quadratic.
pub const MAX_LINES: usize = 4_000;

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// In both.
    Same(&'a str),
    /// Only in the old text.
    Removed(&'a str),
    /// Only in the new text.
    Added(&'a str),
}

/// The lines of `old` and `new`, in order, marked same, removed or added.
pub fn diff<'a>(old: &'a str, new: &'a str) -> Vec<Line<'a>> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a.len() > MAX_LINES || b.len() > MAX_LINES {
        return a.into_iter().map(Line::Removed).chain(b.into_iter().map(Line::Added)).collect();
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut out = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            out.push(Line::Same(a[i]));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(Line::Removed(a[i]));
            i += 1;
        } else {
            out.push(Line::Added(b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| Line::Removed(l)));
    out.extend(b[j..].iter().map(|l| Line::Added(l)));
    out
}

/// The diff as JSON: `[{"op": " " | "-" | "+", "text"}]`.
pub fn to_json(lines: &[Line<'_>]) -> Value {
    Value::Array(
        lines
            .iter()
            .map(|line| match line {
                Line::Same(t) => json!({"op": " ", "text": t}),
                Line::Removed(t) => json!({"op": "-", "text": t}),
                Line::Added(t) => json!({"op": "+", "text": t}),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_removed_then_added() {
        let old = "fn a() {\n    1\n}\n";
        let new = "fn a() {\n    2\n}\n// end\n";
        assert_eq!(
            diff(old, new),
            [
                Line::Same("fn a() {"),
                Line::Removed("    1"),
                Line::Added("    2"),
                Line::Same("}"),
                Line::Added("// end")
            ]
        );
        assert_eq!(to_json(&diff("x", "y"))[1], json!({"op": "+", "text": "y"}));
    }

    #[test]
    fn equal_and_empty_texts() {
        assert_eq!(diff("a\nb", "a\nb"), [Line::Same("a"), Line::Same("b")]);
        assert_eq!(diff("", "a"), [Line::Added("a")]);
        assert_eq!(diff("a", ""), [Line::Removed("a")]);
        assert!(diff("", "").is_empty());
    }
}
