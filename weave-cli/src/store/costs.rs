//! What a call cost: the costs the SDK recorded in `summary.weave.costs[model]` (Weave's
//! `LLMCostSchema`, written by weave-llm and rolled up to every ancestor), read with
//! weave-llm's own reader. Only a call with `summary.usage` but no recorded costs gets an
//! estimate, at the list prices weave-llm ships (`weave_llm::PriceTable::bundled`), and
//! the viewer says "estimated". A model with no price leaves the call without a cost.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use weave_llm::{Cost, PriceTable};

/// A call's cost per model, recorded or estimated.
#[derive(Debug, Clone, PartialEq)]
pub struct CallCost {
    /// The cost of each model (tokens, requests and amounts).
    pub models: BTreeMap<String, Cost>,
    /// True when estimated from `summary.usage`, false when recorded by the SDK.
    pub estimated: bool,
}

impl CallCost {
    /// The recorded costs of `summary`, else an estimate from its usage; `None` without
    /// either (or with usage of a model that has no price).
    pub fn of(summary: &Value) -> Option<CallCost> {
        let recorded = weave_llm::costs(summary);
        if !recorded.is_empty() {
            return Some(CallCost { models: recorded, estimated: false });
        }
        let models = weave_llm::estimate_costs(summary, PriceTable::bundled())?;
        Some(CallCost { models, estimated: true })
    }

    /// All models together (input, output and prompt-cache amounts).
    pub fn total(&self) -> f64 {
        self.models.values().map(Cost::total).sum()
    }

    /// One entry per model for the API: `model`, `requests`, `prompt_tokens`,
    /// `completion_tokens`, `cost`, `estimated`.
    pub fn models_json(&self) -> Value {
        Value::Array(
            self.models
                .iter()
                .map(|(model, cost)| {
                    json!({
                        "model": model,
                        "requests": cost.requests,
                        "prompt_tokens": cost.prompt_tokens,
                        "completion_tokens": cost.completion_tokens,
                        "cost": cost.total(),
                        "estimated": self.estimated,
                    })
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weave_llm::cost::cost_summary;
    use weave_llm::Usage;

    #[test]
    fn recorded_costs_win_over_the_usage() {
        let mut summary = Value::Object(
            cost_summary("gpt-4o", &Usage::new(1_000_000, 0), PriceTable::bundled()).expect("gpt-4o has a price"),
        );
        summary["usage"] = json!({"gpt-4o": {"requests": 1, "prompt_tokens": 5, "completion_tokens": 5}});
        let cost = CallCost::of(&summary).expect("a cost");
        assert!(!cost.estimated);
        assert!((cost.total() - weave_llm::total_cost(&summary)).abs() < 1e-15);
        assert!(cost.total() > 1.0, "a million input tokens of gpt-4o: {}", cost.total());
        assert_eq!(cost.models_json()[0]["prompt_tokens"], 1_000_000);
    }

    #[test]
    fn usage_alone_is_estimated_at_the_shipped_prices() {
        let summary = json!({"usage": {
            "gpt-4o": {"requests": 2, "prompt_tokens": 1_000_000, "completion_tokens": 0},
            "gpt-4o-mini": {"input_tokens": 0, "output_tokens": 1_000_000},
        }});
        let cost = CallCost::of(&summary).expect("an estimate");
        assert!(cost.estimated);
        let table = PriceTable::bundled();
        let price = |m: &str| table.get(m).map(|e| e.price.clone()).expect("a listed model");
        let expected = 1e6 * price("gpt-4o").input + 1e6 * price("gpt-4o-mini").output;
        assert!((cost.total() - expected).abs() < 1e-9, "{}", cost.total());
        assert_eq!(cost.models_json()[0]["requests"], 2);
        assert_eq!(CallCost::of(&json!({"usage": {"my-local-llama": {"prompt_tokens": 1}}})), None);
        assert_eq!(CallCost::of(&json!({})), None);
    }
}
