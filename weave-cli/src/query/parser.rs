//! Parsing the query language into an [`Expr`] (recursive descent: OR binds loosest,
//! then AND, then NOT, then comparisons).

use super::error::ParseError;
use super::lexer::{tokenize, Token};
use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`, `==`
    Eq,
    /// `!=`, `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `CONTAINS`: a string holds a substring, or a list an item.
    Contains,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A column path.
    Path(Vec<String>),
    /// A literal value.
    Literal(Value),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// It does not hold.
    Not(Box<Expr>),
    /// A comparison.
    Cmp(Operand, CmpOp, Operand),
    /// A path alone: its value is truthy.
    Truthy(Vec<String>),
}

impl Expr {
    /// Every column path the expression reads.
    pub fn paths(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths(&self, out: &mut Vec<Vec<String>>) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect_paths(out);
                b.collect_paths(out);
            }
            Expr::Not(e) => e.collect_paths(out),
            Expr::Cmp(a, _, b) => {
                for side in [a, b] {
                    if let Operand::Path(p) = side {
                        out.push(p.clone());
                    }
                }
            }
            Expr::Truthy(p) => out.push(p.clone()),
        }
    }
}

/// Parses a query. An empty (or blank) query is `None`: every row matches.
pub fn parse(text: &str) -> Result<Option<Expr>, ParseError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser { tokens, pos: 0, end: text.chars().count() };
    let expr = parser.or()?;
    if let Some((token, at)) = parser.tokens.get(parser.pos) {
        return Err(ParseError::new(format!("unexpected {}", describe(token)), *at));
    }
    Ok(Some(expr))
}

/// The most nested parentheses and NOTs (a bound on recursion).
const MAX_DEPTH: usize = 64;

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn here(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(_, at)| *at)
    }

    fn depth_check(&self, depth: usize) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            Err(ParseError::new("the query nests too deeply", self.here()))
        } else {
            Ok(())
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.or_at(0)
    }

    fn or_at(&mut self, depth: usize) -> Result<Expr, ParseError> {
        self.depth_check(depth)?;
        let mut left = self.and(depth)?;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut left = self.not(depth)?;
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            let right = self.not(depth)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self, depth: usize) -> Result<Expr, ParseError> {
        self.depth_check(depth)?;
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not(depth + 1)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if self.peek() == Some(&Token::LParen) {
            let open = self.here();
            self.pos += 1;
            let inner = self.or_at(depth + 1)?;
            if self.peek() != Some(&Token::RParen) {
                return Err(ParseError::new("a `(` is not closed", open));
            }
            self.pos += 1;
            return Ok(inner);
        }
        let left = self.operand()?;
        let op = match self.peek() {
            Some(Token::Eq) => Some(CmpOp::Eq),
            Some(Token::Ne) => Some(CmpOp::Ne),
            Some(Token::Lt) => Some(CmpOp::Lt),
            Some(Token::Le) => Some(CmpOp::Le),
            Some(Token::Gt) => Some(CmpOp::Gt),
            Some(Token::Ge) => Some(CmpOp::Ge),
            Some(Token::Contains) => Some(CmpOp::Contains),
            _ => None,
        };
        match (op, left) {
            (Some(op), left) => {
                self.pos += 1;
                let right = self.operand()?;
                Ok(Expr::Cmp(left, op, right))
            }
            (None, Operand::Path(path)) => Ok(Expr::Truthy(path)),
            (None, Operand::Literal(_)) => {
                Err(ParseError::new("a value needs a comparison (=, !=, <, <=, >, >=)", self.here()))
            }
        }
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        let at = self.here();
        let Some((token, _)) = self.tokens.get(self.pos).cloned() else {
            return Err(ParseError::new("the query ends too early", at));
        };
        let operand = match token {
            Token::Path(p) => Operand::Path(p),
            Token::Number(n) => Operand::Literal(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
            Token::Str(s) => Operand::Literal(Value::String(s)),
            Token::True => Operand::Literal(Value::Bool(true)),
            Token::False => Operand::Literal(Value::Bool(false)),
            Token::Null => Operand::Literal(Value::Null),
            other => {
                return Err(ParseError::new(format!("expected a column or a value, found {}", describe(&other)), at))
            }
        };
        self.pos += 1;
        Ok(operand)
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Path(p) => format!("`{}`", p.join(".")),
        Token::Number(n) => format!("`{n}`"),
        Token::Str(s) => format!("'{s}'"),
        Token::True => "`true`".into(),
        Token::False => "`false`".into(),
        Token::Null => "`null`".into(),
        Token::And => "`AND`".into(),
        Token::Or => "`OR`".into(),
        Token::Not => "`NOT`".into(),
        Token::Contains => "`CONTAINS`".into(),
        Token::Eq => "`=`".into(),
        Token::Ne => "`!=`".into(),
        Token::Lt => "`<`".into(),
        Token::Le => "`<=`".into(),
        Token::Gt => "`>`".into(),
        Token::Ge => "`>=`".into(),
        Token::LParen => "`(`".into(),
        Token::RParen => "`)`".into(),
    }
}
