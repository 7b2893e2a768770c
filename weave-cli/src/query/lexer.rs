//! Tokens of the query language.

use super::error::ParseError;

/// A token and where it starts (a character offset).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// A column path, its parts.
    Path(Vec<String>),
    Number(f64),
    Str(String),
    True,
    False,
    Null,
    And,
    Or,
    Not,
    Contains,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LParen,
    RParen,
}

/// Splits `text` into tokens with their positions.
pub(crate) fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let (token, len) = match two.as_str() {
            "==" => (Some(Token::Eq), 2),
            "!=" | "<>" => (Some(Token::Ne), 2),
            "<=" => (Some(Token::Le), 2),
            ">=" => (Some(Token::Ge), 2),
            "&&" => (Some(Token::And), 2),
            "||" => (Some(Token::Or), 2),
            _ => match c {
                '=' => (Some(Token::Eq), 1),
                '<' => (Some(Token::Lt), 1),
                '>' => (Some(Token::Gt), 1),
                '!' => (Some(Token::Not), 1),
                '(' => (Some(Token::LParen), 1),
                ')' => (Some(Token::RParen), 1),
                _ => (None, 0),
            },
        };
        if let Some(token) = token {
            out.push((token, start));
            i += len;
            continue;
        }
        if c == '\'' || c == '"' {
            let (s, next) = string(&chars, i)?;
            out.push((Token::Str(s), start));
            i = next;
            continue;
        }
        if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit() || *d == '.'))
            || c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)
        {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].is_ascii_alphanumeric()
                    || chars[j] == '.'
                    || ((chars[j] == '-' || chars[j] == '+') && matches!(chars[j - 1], 'e' | 'E')))
            {
                j += 1;
            }
            let literal: String = chars[i..j].iter().collect();
            let n: f64 = literal.parse().map_err(|_| ParseError::new(format!("`{literal}` is not a number"), start))?;
            out.push((Token::Number(n), start));
            i = j;
            continue;
        }
        if is_ident_start(c) || c == '`' {
            let (parts, next) = path(&chars, i)?;
            let token = if parts.len() == 1 && chars[i] != '`' {
                match parts[0].to_ascii_lowercase().as_str() {
                    "and" => Token::And,
                    "or" => Token::Or,
                    "not" => Token::Not,
                    "contains" => Token::Contains,
                    "true" => Token::True,
                    "false" => Token::False,
                    "null" | "none" => Token::Null,
                    _ => Token::Path(parts),
                }
            } else {
                Token::Path(parts)
            };
            out.push((token, start));
            i = next;
            continue;
        }
        return Err(ParseError::new(format!("unexpected `{c}`"), start));
    }
    Ok(out)
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// A quoted string from `chars[i]` (the quote); backslash escapes the next character.
fn string(chars: &[char], i: usize) -> Result<(String, usize), ParseError> {
    let quote = chars[i];
    let mut out = String::new();
    let mut j = i + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' if j + 1 < chars.len() => {
                out.push(chars[j + 1]);
                j += 2;
            }
            c if c == quote => return Ok((out, j + 1)),
            c => {
                out.push(c);
                j += 1;
            }
        }
    }
    Err(ParseError::new("a string is not closed", i))
}

/// A dotted path from `chars[i]`: parts are identifiers, numbers (list indexes) or
/// backticked names.
fn path(chars: &[char], mut i: usize) -> Result<(Vec<String>, usize), ParseError> {
    let mut parts = Vec::new();
    loop {
        let start = i;
        if chars.get(i) == Some(&'`') {
            let close = chars[i + 1..]
                .iter()
                .position(|c| *c == '`')
                .ok_or_else(|| ParseError::new("a `quoted` name is not closed", start))?;
            parts.push(chars[i + 1..i + 1 + close].iter().collect());
            i += close + 2;
        } else if chars.get(i).is_some_and(|c| is_ident(*c)) {
            let mut j = i;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            parts.push(chars[i..j].iter().collect());
            i = j;
        } else {
            return Err(ParseError::new("a column name is missing after `.`", start));
        }
        if chars.get(i) == Some(&'.') {
            i += 1;
        } else {
            return Ok((parts, i));
        }
    }
}
