//! Call summaries as Weave computes them on the client: `status_counts` over the subtree,
//! `usage` per model rolled up from children, user keys deep-merged.
//!
//! - A leaf call whose output is an object with both `usage` and `model` gets
//!   `usage = {<model>: {"requests": 1, ..usage}}`.
//! - A call with children gets the sum of its children's summaries (numbers summed, lists
//!   concatenated, objects recursively); its own output's `usage` is then ignored.
//! - `status_counts.{success,error}` is incremented for the call itself.
//! - User values are deep-merged in; computed values win.
//! - Costs (`weave.costs.<model>`, as Weave's server shows them and as weave-llm records
//!   them) roll up like the rest, except the unit prices (`*_token_cost`), which are kept.

use crate::json::JsonObject;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// Returned normally (an `Ok` for `Result`s).
    Success,
    /// Returned an `Err`, panicked, or was cancelled.
    Error,
}

/// A call's summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Successful calls in the subtree (this call included).
    pub success: u64,
    /// Failed calls in the subtree (this call included).
    pub error: u64,
    /// Everything else: `usage` per model, children's summed keys, user keys.
    pub rest: Option<Box<JsonObject>>,
}

impl Summary {
    /// Builds a call's summary from its children's summed summaries (if it had children),
    /// its output (for a leaf's usage), its status and the user's keys.
    pub fn compute(
        children: Option<Summary>,
        output: Option<&Value>,
        status: CallStatus,
        user: Option<JsonObject>,
    ) -> Summary {
        let (own_success, own_error) = match status {
            CallStatus::Success => (1, 0),
            CallStatus::Error => (0, 1),
        };
        if let (None, None, None) = (&children, output, &user) {
            // A leaf with no usage and no user keys (most calls): the status counts alone.
            return Summary { success: own_success, error: own_error, rest: None };
        }
        let (mut success, mut error, mut rest) = match children {
            Some(children) => (children.success, children.error, children.rest.map(|r| *r).unwrap_or_default()),
            None => (0, 0, output.and_then(leaf_usage).unwrap_or_default()),
        };
        success += own_success;
        error += own_error;
        if let Some(user) = user {
            // Computed values win over the user's.
            let mut merged = user;
            deep_merge(&mut merged, rest);
            rest = merged;
            rest.remove("status_counts");
        }
        Summary { success, error, rest: if rest.is_empty() { None } else { Some(Box::new(rest)) } }
    }

    /// Adds a finished child's summary to this accumulated one (Weave's `sum_dict_leaves`).
    pub fn add_child(&mut self, child: &Summary) {
        self.success += child.success;
        self.error += child.error;
        if let Some(rest) = &child.rest {
            let acc = self.rest.get_or_insert_with(Default::default);
            sum_into(acc, (**rest).clone());
        }
    }

    /// The summary as a JSON object.
    pub fn to_json(&self) -> JsonObject {
        let mut out = self.rest.as_deref().cloned().unwrap_or_default();
        let mut counts = JsonObject::new();
        counts.insert("success".into(), self.success.into());
        counts.insert("error".into(), self.error.into());
        out.insert("status_counts".into(), Value::Object(counts));
        out
    }

    /// The `usage` object (per model), if any.
    pub fn usage(&self) -> Option<&JsonObject> {
        self.rest.as_ref()?.get("usage")?.as_object()
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(rest) = &self.rest {
            for (k, v) in rest.iter() {
                map.serialize_entry(k, v)?;
            }
        }
        map.serialize_entry("status_counts", &StatusCounts(self))?;
        map.end()
    }
}

/// `{"error": .., "success": ..}` (sorted keys, as a JSON object of serde_json writes them).
struct StatusCounts<'a>(&'a Summary);

impl Serialize for StatusCounts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("error", &self.0.error)?;
        map.serialize_entry("success", &self.0.success)?;
        map.end()
    }
}

/// `{"usage": {<model>: {"requests": 1, ..usage}}}` for an output with `usage` and `model`.
fn leaf_usage(output: &Value) -> Option<JsonObject> {
    let obj = output.as_object()?;
    let usage = obj.get("usage")?.as_object()?;
    let model = match obj.get("model")? {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut per_model = JsonObject::new();
    per_model.insert("requests".into(), 1.into());
    for (k, v) in usage {
        per_model.insert(k.clone(), v.clone());
    }
    let mut models = JsonObject::new();
    models.insert(model, Value::Object(per_model));
    let mut out = JsonObject::new();
    out.insert("usage".into(), Value::Object(models));
    Some(out)
}

/// Weave's `sum_dict_leaves` of two summaries: numbers summed, lists concatenated,
/// objects merged recursively; otherwise the newer value wins. The unit prices of
/// `weave.costs.<model>` (keys ending in `_token_cost`) are not summed: the newer wins.
pub fn sum_into(acc: &mut JsonObject, add: JsonObject) {
    sum_into_at(acc, add, Level::Top);
}

/// Where an object sits in a summary, to tell `weave.costs.<model>` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Top,
    Weave,
    Costs,
    ModelCost,
    Other,
}

impl Level {
    fn child(self, key: &str) -> Level {
        match (self, key) {
            (Level::Top, "weave") => Level::Weave,
            (Level::Weave, "costs") => Level::Costs,
            (Level::Costs, _) => Level::ModelCost,
            _ => Level::Other,
        }
    }
}

fn sum_into_at(acc: &mut JsonObject, add: JsonObject, level: Level) {
    for (k, v) in add {
        match acc.get_mut(&k) {
            None => {
                acc.insert(k, v);
            }
            // A price per token, not an amount.
            Some(existing) if level == Level::ModelCost && k.ends_with("_token_cost") => *existing = v,
            Some(existing) => sum_value(existing, v, level.child(&k)),
        }
    }
}

fn sum_value(existing: &mut Value, add: Value, level: Level) {
    match (existing, add) {
        (Value::Object(a), Value::Object(b)) => sum_into_at(a, b, level),
        (Value::Array(a), Value::Array(b)) => a.extend(b),
        (e @ Value::Number(_), Value::Number(b)) => {
            let Value::Number(a) = &*e else { return };
            *e = add_numbers(a, &b);
        }
        (e, other) => *e = other,
    }
}

fn add_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Value {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        if let Some(sum) = x.checked_add(y) {
            return sum.into();
        }
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        if let Some(sum) = x.checked_add(y) {
            return sum.into();
        }
    }
    let sum = a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0);
    serde_json::Number::from_f64(sum).map(Value::Number).unwrap_or(Value::Null)
}

/// Deep merge: values of `winner` replace those of `base`, objects merged recursively.
pub fn deep_merge(base: &mut JsonObject, winner: JsonObject) {
    for (k, v) in winner {
        match (base.get_mut(&k), v) {
            (Some(Value::Object(b)), Value::Object(w)) => deep_merge(b, w),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> JsonObject {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn leaf_with_usage_and_model() {
        let out = json!({"model": "gpt-4o", "usage": {"prompt_tokens": 3, "completion_tokens": 5}});
        let s = Summary::compute(None, Some(&out), CallStatus::Success, None);
        assert_eq!(
            Value::Object(s.to_json()),
            json!({"usage": {"gpt-4o": {"requests": 1, "prompt_tokens": 3, "completion_tokens": 5}},
                   "status_counts": {"success": 1, "error": 0}})
        );
    }

    #[test]
    fn parent_sums_children_and_ignores_own_usage() {
        let child = |p: i64| {
            Summary::compute(
                None,
                Some(&json!({"model": "m", "usage": {"prompt_tokens": p}})),
                CallStatus::Success,
                None,
            )
        };
        let mut acc = Summary::default();
        acc.add_child(&child(2));
        acc.add_child(&child(5));
        acc.add_child(&Summary::compute(None, None, CallStatus::Error, None));
        let own = json!({"model": "m", "usage": {"prompt_tokens": 100}});
        let s = Summary::compute(Some(acc), Some(&own), CallStatus::Success, None);
        assert_eq!(
            Value::Object(s.to_json()),
            json!({"usage": {"m": {"requests": 2, "prompt_tokens": 7}}, "status_counts": {"success": 3, "error": 1}})
        );
    }

    #[test]
    fn costs_sum_amounts_and_keep_unit_prices() {
        let cost = |tokens: i64| {
            obj(json!({"weave": {"costs": {"gpt-4o": {
                "prompt_tokens": tokens, "prompt_tokens_total_cost": tokens as f64 * 0.5,
                "prompt_token_cost": 0.5, "prompt_token_cost_unit": "USD"}}}}))
        };
        let mut acc = cost(2);
        sum_into(&mut acc, cost(4));
        assert_eq!(
            Value::Object(acc),
            json!({"weave": {"costs": {"gpt-4o": {
                "prompt_tokens": 6, "prompt_tokens_total_cost": 3.0,
                "prompt_token_cost": 0.5, "prompt_token_cost_unit": "USD"}}}})
        );
        // Elsewhere, a key of that name is an amount like any other.
        let mut other = obj(json!({"my_token_cost": 1}));
        sum_into(&mut other, obj(json!({"my_token_cost": 2})));
        assert_eq!(Value::Object(other), json!({"my_token_cost": 3}));
    }

    #[test]
    fn user_keys_merge_and_computed_values_win() {
        let user = obj(json!({"usage": {"m": {"requests": 99}}, "note": {"a": 1}, "status_counts": 5}));
        let s =
            Summary::compute(None, Some(&json!({"model": "m", "usage": {"t": 1}})), CallStatus::Success, Some(user));
        assert_eq!(
            Value::Object(s.to_json()),
            json!({"usage": {"m": {"requests": 1, "t": 1}}, "note": {"a": 1}, "status_counts": {"success": 1, "error": 0}})
        );
    }
}
