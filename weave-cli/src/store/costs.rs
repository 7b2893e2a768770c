//! An estimate of what a call's token usage cost, from the list prices (USD per million
//! tokens) of a few well-known models. A model not listed has no estimate; the viewer
//! says "estimated".

use serde_json::Value;

/// `(model name prefix, input price, output price)`, USD per million tokens. The longest
/// matching prefix wins (`gpt-4o-mini-2024-07-18` is `gpt-4o-mini`).
const PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4-turbo", 10.00, 30.00),
    ("gpt-3.5-turbo", 0.50, 1.50),
    ("o1-mini", 1.10, 4.40),
    ("o1", 15.00, 60.00),
    ("o3-mini", 1.10, 4.40),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-3-haiku", 0.25, 1.25),
    ("claude-3-opus", 15.00, 75.00),
];

fn price(model: &str) -> Option<(f64, f64)> {
    let model = model.rsplit('/').next().unwrap_or(model);
    PRICES
        .iter()
        .filter(|(prefix, _, _)| model.starts_with(prefix))
        .max_by_key(|(prefix, _, _)| prefix.len())
        .map(|&(_, input, output)| (input, output))
}

/// The estimated cost of `summary.usage` (all models), when every model in it has a
/// price; `None` without usage or with a model of unknown price.
pub fn estimate(summary: &Value) -> Option<f64> {
    let usage = summary.get("usage")?.as_object()?;
    if usage.is_empty() {
        return None;
    }
    let mut total = 0.0;
    for (model, per_model) in usage {
        let (input_price, output_price) = price(model)?;
        let get =
            |a: &str, b: &str| per_model.get(a).or_else(|| per_model.get(b)).and_then(Value::as_f64).unwrap_or(0.0);
        total += get("prompt_tokens", "input_tokens") * input_price / 1e6;
        total += get("completion_tokens", "output_tokens") * output_price / 1e6;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_longest_prefix_prices_a_model() {
        assert_eq!(price("gpt-4o-mini-2024-07-18"), Some((0.15, 0.60)));
        assert_eq!(price("gpt-4o"), Some((2.50, 10.00)));
        assert_eq!(price("my-local-llama"), None);
    }

    #[test]
    fn usage_of_every_model_adds_up() {
        let summary = json!({"usage": {
            "gpt-4o": {"prompt_tokens": 1_000_000, "completion_tokens": 0},
            "gpt-4o-mini": {"input_tokens": 0, "output_tokens": 1_000_000},
        }});
        let cost = estimate(&summary).unwrap();
        assert!((cost - 3.10).abs() < 1e-9, "{cost}");
        assert_eq!(estimate(&json!({"usage": {"unknown": {"prompt_tokens": 1}}})), None);
        assert_eq!(estimate(&json!({})), None);
    }
}
