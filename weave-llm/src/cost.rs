//! Costs per model in Weave's shape, `summary.weave.costs[model]`: what Weave's server
//! computes on read from `summary.usage` and its price table, computed here when the call
//! ends (with [`prices::current`](crate::prices::current)) so that the local store holds
//! them, and rolled up to every ancestor with the rest of the summary.

use crate::prices::{PriceEntry, PriceTable, PricingLevel};
use crate::usage::Usage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One model's cost, Weave's `LLMCostSchema` (amounts summed over the calls of a subtree;
/// the unit prices are per token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Input tokens.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: u64,
    /// Requests.
    pub requests: u64,
    /// Total tokens as reported.
    pub total_tokens: u64,
    /// Cost of the input tokens not cached.
    pub prompt_tokens_total_cost: f64,
    /// Cost of the output tokens.
    pub completion_tokens_total_cost: f64,
    /// Cost of the cache reads.
    pub cache_read_input_tokens_total_cost: f64,
    /// Cost of the cache writes.
    pub cache_creation_input_tokens_total_cost: f64,
    /// Price per input token.
    pub prompt_token_cost: f64,
    /// Price per output token.
    pub completion_token_cost: f64,
    /// Price per cached input token.
    pub cache_read_input_token_cost: f64,
    /// Price per input token written to the cache.
    pub cache_creation_input_token_cost: f64,
    /// Currency of the input prices.
    pub prompt_token_cost_unit: String,
    /// Currency of the output prices.
    pub completion_token_cost_unit: String,
    /// Date of the prices.
    pub effective_date: String,
    /// The provider.
    pub provider_id: String,
    /// `default` (the shipped table) or `project` (set by the application).
    pub pricing_level: PricingLevel,
    /// `default`, or `weave-rs` for prices set by the application.
    pub pricing_level_id: String,
    /// When the prices were taken.
    pub created_at: String,
    /// `system` for the shipped table, `user` for prices set by the application.
    pub created_by: String,
}

impl Cost {
    /// The cost of `requests` requests using `usage` at `entry`'s prices, Weave's rule:
    /// cached input tokens are billed at their own price, not the input price.
    pub fn compute(usage: &Usage, requests: u64, entry: &PriceEntry, table: &PriceTable) -> Cost {
        let price = &entry.price;
        let uncached =
            usage.prompt_tokens.saturating_sub(usage.cache_read_input_tokens + usage.cache_creation_input_tokens);
        let (level_id, created_by) = match entry.level {
            PricingLevel::Default => ("default", "system"),
            PricingLevel::Project => ("weave-rs", "user"),
        };
        Cost {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cache_read_input_tokens: usage.cache_read_input_tokens,
            cache_creation_input_tokens: usage.cache_creation_input_tokens,
            requests,
            total_tokens: usage.total_tokens,
            prompt_tokens_total_cost: uncached as f64 * price.input,
            completion_tokens_total_cost: usage.completion_tokens as f64 * price.output,
            cache_read_input_tokens_total_cost: usage.cache_read_input_tokens as f64 * price.cached_input,
            cache_creation_input_tokens_total_cost: usage.cache_creation_input_tokens as f64
                * price.cache_creation_input,
            prompt_token_cost: price.input,
            completion_token_cost: price.output,
            cache_read_input_token_cost: price.cached_input,
            cache_creation_input_token_cost: price.cache_creation_input,
            prompt_token_cost_unit: table.unit().to_string(),
            completion_token_cost_unit: table.unit().to_string(),
            effective_date: table.date().to_string(),
            provider_id: price.provider.clone(),
            pricing_level: entry.level,
            pricing_level_id: level_id.to_string(),
            created_at: table.date().to_string(),
            created_by: created_by.to_string(),
        }
    }

    /// The four totals added up.
    pub fn total(&self) -> f64 {
        self.prompt_tokens_total_cost
            + self.completion_tokens_total_cost
            + self.cache_read_input_tokens_total_cost
            + self.cache_creation_input_tokens_total_cost
    }
}

/// `{"weave": {"costs": {model: cost}}}` for one request of `model` (nothing if the
/// table has no price for it).
pub fn cost_summary(model: &str, usage: &Usage, table: &PriceTable) -> Option<Map<String, Value>> {
    let entry = table.get(model)?;
    let cost = serde_json::to_value(Cost::compute(usage, 1, entry, table)).ok()?;
    let mut costs = Map::new();
    costs.insert(model.to_string(), cost);
    let mut weave = Map::new();
    weave.insert("costs".into(), Value::Object(costs));
    let mut summary = Map::new();
    summary.insert("weave".into(), Value::Object(weave));
    Some(summary)
}

/// The costs per model in a call's summary (as the local store or the trace server
/// returns it); empty when it has none.
///
/// ```
/// let summary = serde_json::json!({"weave": {"costs": {}}});
/// assert!(weave_llm::costs(&summary).is_empty());
/// ```
pub fn costs(summary: &Value) -> BTreeMap<String, Cost> {
    summary
        .pointer("/weave/costs")
        .and_then(Value::as_object)
        .map(|costs| {
            costs.iter().filter_map(|(model, cost)| Some((model.clone(), Cost::deserialize(cost).ok()?))).collect()
        })
        .unwrap_or_default()
}

/// The total cost of a call's summary, all models together.
pub fn total_cost(summary: &Value) -> f64 {
    costs(summary).values().map(Cost::total).sum()
}

/// The costs a summary's token usage (`summary.usage[model]`) comes to at `table`'s
/// prices, per model: what Weave's server computes on read, for a call recorded without
/// costs (by another SDK, or before its model had a price). `None` when the summary has
/// no usage, or a model in it has no price (a partial sum would understate the cost).
///
/// ```
/// use weave_llm::{estimate_costs, PriceTable};
///
/// let summary = serde_json::json!({"usage": {"gpt-4o-mini": {"requests": 1, "prompt_tokens": 1000, "completion_tokens": 100}}});
/// let costs = estimate_costs(&summary, PriceTable::bundled()).unwrap();
/// assert_eq!(costs["gpt-4o-mini"].requests, 1);
/// assert!(costs["gpt-4o-mini"].total() > 0.0);
/// assert!(estimate_costs(&serde_json::json!({"usage": {"my-llama": {"prompt_tokens": 1}}}), PriceTable::bundled()).is_none());
/// ```
pub fn estimate_costs(summary: &Value, table: &PriceTable) -> Option<BTreeMap<String, Cost>> {
    let usage = summary.get("usage")?.as_object()?;
    if usage.is_empty() {
        return None;
    }
    usage
        .iter()
        .map(|(model, per_model)| {
            let counts = Usage::from_json(per_model)?;
            let requests = per_model.get("requests").and_then(Value::as_u64).unwrap_or(1);
            Some((model.clone(), Cost::compute(&counts, requests, table.get(model)?, table)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prices::ModelPrice;

    #[test]
    fn cached_tokens_are_billed_at_their_price() {
        let mut table = PriceTable::bundled().clone();
        table.set("m", ModelPrice::per_million("acme", 2.0, 8.0).cached_input_per_million(0.5));
        let usage = Usage::new(1_000, 100).with_cache_read(400);
        let cost = Cost::compute(&usage, 1, table.get("m").unwrap(), &table);
        assert!((cost.prompt_tokens_total_cost - 600.0 * 2e-6).abs() < 1e-12);
        assert!((cost.cache_read_input_tokens_total_cost - 400.0 * 0.5e-6).abs() < 1e-12);
        assert!((cost.completion_tokens_total_cost - 100.0 * 8e-6).abs() < 1e-12);
        assert_eq!((cost.pricing_level, cost.created_by.as_str()), (PricingLevel::Project, "user"));
        let summary = Value::Object(cost_summary("m", &usage, &table).unwrap());
        assert!((total_cost(&summary) - cost.total()).abs() < 1e-15);
        assert!(cost_summary("no-such-model", &usage, &table).is_none());
    }

    #[test]
    fn usage_is_estimated_per_model_at_the_table_prices() {
        let mut table = PriceTable::bundled().clone();
        table.set("m", ModelPrice::per_million("acme", 2.0, 8.0));
        let summary = serde_json::json!({"usage": {
            "m": {"requests": 3, "prompt_tokens": 1_000_000, "completion_tokens": 0},
            "openai/m": {"input_tokens": 0, "output_tokens": 1_000_000},
        }});
        let costs = estimate_costs(&summary, &table).unwrap();
        assert_eq!(costs["m"].requests, 3);
        assert!((costs["m"].total() - 2.0).abs() < 1e-9);
        assert!((costs["openai/m"].total() - 8.0).abs() < 1e-9);
        assert!(estimate_costs(&serde_json::json!({"usage": {"m": {}, "unknown": {}}}), &table).is_none());
        assert!(estimate_costs(&serde_json::json!({"usage": {}}), &table).is_none());
        assert!(estimate_costs(&serde_json::json!({}), &table).is_none());
    }
}
