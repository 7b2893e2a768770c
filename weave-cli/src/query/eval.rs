//! Evaluating an [`Expr`] on a row: paths are looked up through a [`Lookup`].

use super::parser::{CmpOp, Expr, Operand};
use serde_json::Value;
use std::cmp::Ordering;

/// How a path finds its value in a row (`None` when the row has no such column).
pub trait Lookup {
    /// The value at `path`.
    fn lookup(&self, path: &[String]) -> Option<Value>;
}

impl<F: Fn(&[String]) -> Option<Value>> Lookup for F {
    fn lookup(&self, path: &[String]) -> Option<Value> {
        self(path)
    }
}

/// A JSON value looked up by its keys (and list indexes).
impl Lookup for Value {
    fn lookup(&self, path: &[String]) -> Option<Value> {
        let mut current = self;
        for part in path {
            current = match current {
                Value::Object(map) => map.get(part)?,
                Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(current.clone())
    }
}

impl Expr {
    /// Whether the expression holds for the row `row`.
    pub fn matches(&self, row: &dyn Lookup) -> bool {
        match self {
            Expr::And(a, b) => a.matches(row) && b.matches(row),
            Expr::Or(a, b) => a.matches(row) || b.matches(row),
            Expr::Not(e) => !e.matches(row),
            Expr::Truthy(path) => row.lookup(path).is_some_and(|v| truthy(&v)),
            Expr::Cmp(left, op, right) => {
                let value = |side: &Operand| match side {
                    Operand::Path(p) => row.lookup(p).unwrap_or(Value::Null),
                    Operand::Literal(v) => v.clone(),
                };
                compare_values(&value(left), *op, &value(right))
            }
        }
    }
}

/// False, 0, "", null, [] and {} are falsy; everything else is truthy (Python's rules, as
/// Weave's summaries use them).
pub use weave_eval::truthy;

/// A number, or a string that reads as one (so `expected = 8` matches `"8"`).
fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// How two values order, when they can be compared: numbers (and numeric strings
/// against numbers) numerically, strings by their text, booleans false < true.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Number(_), _) | (_, Value::Number(_)) => as_number(a)?.partial_cmp(&as_number(b)?),
        _ => None,
    }
}

/// `a op b`. `= null` holds for a missing or null value; other comparisons with null, and
/// orderings between values of different kinds, do not hold (`!=` does).
pub fn compare_values(a: &Value, op: CmpOp, b: &Value) -> bool {
    match op {
        CmpOp::Eq => equal(a, b),
        CmpOp::Ne => !equal(a, b),
        CmpOp::Lt => order(a, b) == Some(Ordering::Less),
        CmpOp::Le => matches!(order(a, b), Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => order(a, b) == Some(Ordering::Greater),
        CmpOp::Ge => matches!(order(a, b), Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::Contains => match (a, b) {
            (Value::String(s), Value::String(t)) => s.to_lowercase().contains(&t.to_lowercase()),
            (Value::Array(items), needle) => items.iter().any(|item| equal(item, needle)),
            (Value::Object(map), Value::String(key)) => map.contains_key(key),
            _ => false,
        },
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => match order(a, b) {
            Some(o) => o == Ordering::Equal,
            None => a == b,
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::query::parse;
    use serde_json::{json, Value};

    fn check(query: &str, row: &Value) -> bool {
        parse(query).unwrap().unwrap().matches(row)
    }

    #[test]
    fn the_issue_example_filters_wrong_confident_rows() {
        let q = "correct = false AND confidence > 0.8";
        assert!(check(q, &json!({"correct": false, "confidence": 0.9})));
        assert!(!check(q, &json!({"correct": true, "confidence": 0.9})));
        assert!(!check(q, &json!({"correct": false, "confidence": 0.8})));
        assert!(!check(q, &json!({"correct": false})));
    }

    #[test]
    fn every_comparison_on_numbers_strings_and_bools() {
        let row = json!({"n": 2, "s": "abc", "b": true, "f": 0.5, "num_text": "8"});
        for (q, expected) in [
            ("n = 2", true),
            ("n == 2.0", true),
            ("n != 2", false),
            ("n <> 3", true),
            ("n < 3", true),
            ("n <= 2", true),
            ("n > 2", false),
            ("n >= 2", true),
            ("f < 1", true),
            ("n > -1", true),
            ("s = 'abc'", true),
            ("s = \"abc\"", true),
            ("s < 'abd'", true),
            ("s >= 'b'", false),
            ("s != 'x'", true),
            ("b = true", true),
            ("b != false", true),
            ("b > false", true),
            ("num_text = 8", true),
            ("num_text > 7", true),
            ("s > 1", false),
            ("s = 1", false),
            ("s CONTAINS 'B'", true),
            ("s contains 'z'", false),
            ("2 = n", true),
            ("1e0 < n", true),
        ] {
            assert_eq!(check(q, &row), expected, "{q}");
        }
    }

    #[test]
    fn boolean_logic_and_precedence() {
        let row = json!({"a": 1, "b": 0, "c": 1});
        assert!(check("a = 1 OR b = 1 AND c = 0", &row)); // AND binds tighter
        assert!(!check("(a = 1 OR b = 1) AND c = 0", &row));
        assert!(check("NOT b = 1", &row));
        assert!(check("NOT (a = 1 AND b = 1)", &row));
        assert!(!check("NOT NOT b", &row));
        assert!(check("a && !b || c = 5", &row));
        assert!(check("a and not b", &row));
        assert!(check("a", &row));
        assert!(!check("b", &row));
    }

    #[test]
    fn dotted_paths_reach_nested_scores() {
        let row = json!({"scores": {"exact": {"match": true}, "lists": [1, 2]}, "my col": {"x": 3}});
        assert!(check("scores.exact.match = true", &row));
        assert!(check("scores.lists.1 = 2", &row));
        assert!(check("scores.lists CONTAINS 1", &row));
        assert!(check("`my col`.x = 3", &row));
        assert!(!check("scores.exact.nothing = true", &row));
    }

    #[test]
    fn null_and_missing_values() {
        let row = json!({"x": null, "y": 1});
        assert!(check("x = null", &row));
        assert!(check("missing = null", &row));
        assert!(check("y != null", &row));
        assert!(!check("x > 0", &row));
        assert!(!check("x < 0", &row));
        assert!(check("x != 0", &row));
        assert!(check("missing = none", &row));
    }

    #[test]
    fn an_empty_query_is_none() {
        assert_eq!(parse("   ").unwrap(), None);
    }

    #[test]
    fn errors_say_what_and_where() {
        for (q, message, at) in [
            ("a = ", "the query ends too early", 4),
            ("(a = 1", "a `(` is not closed", 0),
            ("a = 1)", "unexpected `)`", 5),
            ("a = 'x", "a string is not closed", 4),
            ("a = 1 AND", "the query ends too early", 9),
            ("a # 1", "unexpected `#`", 2),
            ("3", "a value needs a comparison", 1),
            ("a = = 1", "expected a column or a value, found `=`", 4),
            ("a. = 1", "a column name is missing after `.`", 2),
            ("1.2.3 = a", "is not a number", 0),
        ] {
            let e = parse(q).unwrap_err();
            assert!(e.message.contains(message), "{q}: {e}");
            assert_eq!(e.position, at, "{q}: {e}");
        }
        let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).unwrap_err().message.contains("nests too deeply"));
        let nots = format!("{}a", "NOT ".repeat(100));
        assert!(parse(&nots).is_err());
    }

    #[test]
    fn paths_lists_what_is_read() {
        let e = parse("a.b = 1 AND NOT (c OR 2 < d)").unwrap().unwrap();
        let paths: Vec<String> = e.paths().iter().map(|p| p.join(".")).collect();
        assert_eq!(paths, ["a.b", "c", "d"]);
    }
}
