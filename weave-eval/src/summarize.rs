//! Weave's `auto_summarize` (`flow/scorer.py`), rule for rule:
//!
//! - `None` (JSON `null`) values are dropped, then the first remaining value decides.
//! - booleans: `{"true_count": n, "true_fraction": n / (values + unscored rows)}`.
//! - numbers: `{"mean": sum / count}` (as Python's `sum`: integers exactly, floats in order).
//! - objects: each key (missing keys count as `None`) is summarized recursively; a child
//!   summary that holds the key itself is merged up, otherwise it nests under the key.
//!   An object with nothing to summarize gives `None`.
//! - anything else (strings, lists), or only `None`s: `None` (the column is omitted).
//! - at the top level, an empty object `{}` is a row that was not scored: it only counts
//!   in the denominator of `true_fraction`.

use serde_json::{Number, Value};
use weave_core::call::JsonObject;

/// Summarizes a column of scores (or outputs) as Weave does. Returns `None` when there is
/// nothing to summarize, and an empty object for an empty column (as Python's `{}`).
///
/// ```
/// use serde_json::json;
/// use weave_eval::auto_summarize;
/// let scores = [json!({"match": true}), json!({"match": false}), json!({})];
/// assert_eq!(
///     auto_summarize(&scores),
///     Some(json!({"match": {"true_count": 1, "true_fraction": 1.0 / 3.0}}))
/// );
/// ```
#[weave_macros::keep_source(AUTO_SUMMARIZE_SOURCE)]
pub fn auto_summarize(data: &[Value]) -> Option<Value> {
    if data.is_empty() {
        return Some(Value::Object(JsonObject::new()));
    }
    let scored: Vec<&Value> = data.iter().filter(|v| !is_empty_object(v)).collect();
    let unscored = data.len() - scored.len();
    summarize_column(&scored, unscored)
}

/// Weave's inner `_auto_summarize(data, unscored=n)`: no row is treated as unscored by
/// itself, and `unscored` extra rows count in boolean denominators. `EvaluationLogger`
/// summarizes its logged scores with `unscored = 0`.
pub fn auto_summarize_with_unscored(data: &[Value], unscored: usize) -> Option<Value> {
    let refs: Vec<&Value> = data.iter().collect();
    summarize_column(&refs, unscored)
}

fn is_empty_object(value: &Value) -> bool {
    matches!(value, Value::Object(map) if map.is_empty())
}

fn summarize_column(data: &[&Value], unscored: usize) -> Option<Value> {
    let data: Vec<&Value> = data.iter().copied().filter(|v| !v.is_null()).collect();
    let first = data.first()?;
    match first {
        Value::Bool(_) => {
            let true_count = data.iter().filter(|v| truthy(v)).count();
            let mut out = JsonObject::new();
            out.insert("true_count".into(), Value::from(true_count));
            out.insert("true_fraction".into(), float(true_count as f64 / (data.len() + unscored) as f64));
            Some(Value::Object(out))
        }
        Value::Number(_) => {
            let mut out = JsonObject::new();
            out.insert("mean".into(), float(python_mean(&data)?));
            Some(Value::Object(out))
        }
        Value::Object(_) => {
            let mut keys: Vec<&String> = Vec::new();
            for value in &data {
                if let Value::Object(map) = value {
                    for key in map.keys() {
                        if !keys.contains(&key) {
                            keys.push(key);
                        }
                    }
                }
            }
            let mut result = JsonObject::new();
            for key in keys {
                let column: Vec<&Value> = data
                    .iter()
                    .filter_map(|v| v.as_object())
                    .map(|map| map.get(key.as_str()).unwrap_or(&Value::Null))
                    .collect();
                if let Some(summary) = summarize_column(&column, unscored) {
                    match summary {
                        Value::Object(inner) if inner.contains_key(key.as_str()) => result.extend(inner),
                        other => {
                            result.insert(key.clone(), other);
                        }
                    }
                }
            }
            if result.is_empty() {
                None
            } else {
                Some(Value::Object(result))
            }
        }
        _ => None,
    }
}

/// Python truthiness of a JSON value: false, 0, "", null, [] and {} are falsy, everything
/// else is truthy.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn float(value: f64) -> Value {
    Number::from_f64(value).map(Value::Number).unwrap_or(Value::Null)
}

/// `sum(data) / len(data)` as Python computes it: integers (and booleans) add exactly
/// until the first float, then the sum continues in floating point, in order. Values that
/// are not numbers are skipped (Python would raise).
fn python_mean(data: &[&Value]) -> Option<f64> {
    enum Sum {
        Int(i128),
        Float(f64),
    }
    let mut sum = Sum::Int(0);
    let mut count = 0usize;
    for value in data {
        let (int, float) = match value {
            Value::Bool(b) => (Some(i128::from(*b)), None),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => (Some(i128::from(i)), None),
                (None, Some(u)) => (Some(i128::from(u)), None),
                _ => (None, n.as_f64()),
            },
            _ => (None, None),
        };
        sum = match (sum, int, float) {
            (Sum::Int(acc), Some(i), _) => Sum::Int(acc.saturating_add(i)),
            (Sum::Int(acc), None, Some(f)) => Sum::Float(acc as f64 + f),
            (Sum::Float(acc), Some(i), _) => Sum::Float(acc + i as f64),
            (Sum::Float(acc), None, Some(f)) => Sum::Float(acc + f),
            (sum, None, None) => {
                count = count.wrapping_sub(1);
                sum
            }
        };
        count = count.wrapping_add(1);
    }
    if count == 0 {
        return None;
    }
    Some(match sum {
        Sum::Int(total) => total as f64 / count as f64,
        Sum::Float(total) => total / count as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mean_follows_python_sum() {
        assert_eq!(python_mean(&[&json!(1), &json!(2)]), Some(1.5));
        assert_eq!(python_mean(&[&json!(1), &json!(2.5), &json!(true)]), Some(1.5));
        assert_eq!(python_mean(&[&json!(0.1), &json!(0.2), &json!(0.3)]), Some((0.1 + 0.2 + 0.3) / 3.0));
        assert_eq!(python_mean(&[&json!("x")]), None);
    }
}
