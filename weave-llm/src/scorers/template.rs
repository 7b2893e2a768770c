//! Prompt templates: `{name}` is replaced by the row's column `name` (`{output}` by the
//! model output); `{{` and `}}` are literal braces.

use std::fmt;

/// A template that names something not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{name}` names no column of the row.
    Missing(String),
    /// A `{` without its `}`.
    Unclosed,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Missing(name) => {
                write!(f, "the prompt template uses {{{name}}}, which the row does not have")
            }
            TemplateError::Unclosed => write!(f, "the prompt template has a `{{` without its `}}`"),
        }
    }
}

impl std::error::Error for TemplateError {}

enum Piece<'a> {
    Text(&'a str),
    Name(&'a str),
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push(Piece::Text(&rest[..i]));
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push(Piece::Text(&tail[..1]));
            rest = &tail[2..];
        } else if let Some(after) = tail.strip_prefix('}') {
            out.push(Piece::Text("}"));
            rest = after;
        } else {
            let end = tail.find('}').ok_or(TemplateError::Unclosed)?;
            out.push(Piece::Name(tail[1..end].trim()));
            rest = &tail[end + 1..];
        }
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// The names a template uses, in order, each once.
///
/// ```
/// let names = weave_llm::scorers::placeholders("Q: {question}\nA: {output} {{not this}}").unwrap();
/// assert_eq!(names, ["question", "output"]);
/// ```
pub fn placeholders(template: &str) -> Result<Vec<String>, TemplateError> {
    let mut names: Vec<String> = Vec::new();
    for piece in pieces(template)? {
        if let Piece::Name(name) = piece {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    Ok(names)
}

/// The template with each `{name}` replaced by `value(name)`.
///
/// ```
/// let text = weave_llm::scorers::fill("{a} and {{b}}", |n| (n == "a").then(|| "x".to_string())).unwrap();
/// assert_eq!(text, "x and {b}");
/// ```
pub fn fill(template: &str, value: impl Fn(&str) -> Option<String>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Name(name) => out.push_str(&value(name).ok_or_else(|| TemplateError::Missing(name.to_string()))?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_what_is_wrong() {
        assert_eq!(fill("{x}", |_| None), Err(TemplateError::Missing("x".into())));
        assert_eq!(placeholders("a {b"), Err(TemplateError::Unclosed));
    }
}
