//! Token usage as Weave reads it from a call's `summary.usage[model]`, whatever the
//! provider's names: OpenAI's chat completions (`prompt_tokens`, `completion_tokens`,
//! `prompt_tokens_details.cached_tokens`), OpenAI's responses API and Anthropic
//! (`input_tokens`, `output_tokens`, `input_tokens_details.cached_tokens`,
//! `cache_read_input_tokens`, `cache_creation_input_tokens`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Token counts of one or more LLM requests.
///
/// ```
/// use weave_llm::Usage;
/// let usage = Usage::from_json(&serde_json::json!({
///     "prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17,
///     "prompt_tokens_details": {"cached_tokens": 8}
/// }))
/// .unwrap();
/// assert_eq!((usage.prompt_tokens, usage.cache_read_input_tokens), (12, 8));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens (`prompt_tokens` plus `input_tokens`, as Weave's server adds them).
    pub prompt_tokens: u64,
    /// Output tokens (`completion_tokens` plus `output_tokens`).
    pub completion_tokens: u64,
    /// The total as the provider reported it (0 when it did not).
    pub total_tokens: u64,
    /// Input tokens read from the provider's prompt cache (billed at the cached price).
    pub cache_read_input_tokens: u64,
    /// Input tokens written to the provider's prompt cache.
    pub cache_creation_input_tokens: u64,
}

impl Usage {
    /// Usage of `prompt` input and `completion` output tokens (their sum as the total).
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Usage {
        Usage { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens, ..Usage::default() }
    }

    /// With `tokens` of the input read from the prompt cache.
    pub fn with_cache_read(mut self, tokens: u64) -> Usage {
        self.cache_read_input_tokens = tokens;
        self
    }

    /// With `tokens` of the input written to the prompt cache.
    pub fn with_cache_creation(mut self, tokens: u64) -> Usage {
        self.cache_creation_input_tokens = tokens;
        self
    }

    /// Reads a provider's usage object (see the module documentation for the names
    /// understood). `None` if `usage` is not an object.
    pub fn from_json(usage: &Value) -> Option<Usage> {
        let obj = usage.as_object()?;
        let count = |key: &str| obj.get(key).and_then(Value::as_u64).unwrap_or(0);
        let cache = cache_token_keys(obj);
        let cached = |key: &str| obj.get(key).or_else(|| cache.get(key)).and_then(Value::as_u64).unwrap_or(0);
        Some(Usage {
            prompt_tokens: count("prompt_tokens") + count("input_tokens"),
            completion_tokens: count("completion_tokens") + count("output_tokens"),
            total_tokens: count("total_tokens"),
            cache_read_input_tokens: cached("cache_read_input_tokens"),
            cache_creation_input_tokens: cached("cache_creation_input_tokens"),
        })
    }

    /// The usage as one entry of `summary.usage`: `{"requests": 1, "prompt_tokens", ...}`
    /// (cache counts only when non-zero).
    pub fn summary_entry(&self) -> Map<String, Value> {
        let mut entry = Map::new();
        entry.insert("requests".into(), 1.into());
        entry.insert("prompt_tokens".into(), self.prompt_tokens.into());
        entry.insert("completion_tokens".into(), self.completion_tokens.into());
        entry.insert("total_tokens".into(), self.total_tokens.into());
        if self.cache_read_input_tokens > 0 {
            entry.insert("cache_read_input_tokens".into(), self.cache_read_input_tokens.into());
        }
        if self.cache_creation_input_tokens > 0 {
            entry.insert("cache_creation_input_tokens".into(), self.cache_creation_input_tokens.into());
        }
        entry
    }
}

/// The cache counts Weave's OpenAI integration copies into `summary.usage[model]`:
/// `cache_read_input_tokens` from `{prompt,input}_tokens_details.cached_tokens` and
/// `cache_creation_input_tokens` from `{prompt,input}_tokens_details.cache_write_tokens`,
/// unless the usage has them at the top already.
pub fn cache_token_keys(usage: &Map<String, Value>) -> Map<String, Value> {
    let mut keys = Map::new();
    for details_key in ["prompt_tokens_details", "input_tokens_details"] {
        let Some(details) = usage.get(details_key).and_then(Value::as_object) else {
            continue;
        };
        for (source, target) in
            [("cached_tokens", "cache_read_input_tokens"), ("cache_write_tokens", "cache_creation_input_tokens")]
        {
            match details.get(source) {
                Some(value) if !value.is_null() && !usage.contains_key(target) && !keys.contains_key(target) => {
                    keys.insert(target.into(), value.clone());
                }
                _ => {}
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_each_provider_shape() {
        let anthropic = json!({"input_tokens": 10, "output_tokens": 4, "cache_read_input_tokens": 6});
        assert_eq!(Usage::from_json(&anthropic), Some(Usage::new(10, 4).with_cache_read(6).tap_total(0)));
        let responses = json!({"input_tokens": 9, "output_tokens": 3, "total_tokens": 12,
                               "input_tokens_details": {"cached_tokens": 2}});
        assert_eq!(Usage::from_json(&responses), Some(Usage::new(9, 3).with_cache_read(2)));
        assert_eq!(Usage::from_json(&json!("nope")), None);
    }

    #[test]
    fn cache_keys_are_copied_once() {
        let usage = json!({"prompt_tokens_details": {"cached_tokens": 3, "cache_write_tokens": null},
                           "input_tokens_details": {"cached_tokens": 7}});
        let keys = cache_token_keys(usage.as_object().unwrap());
        assert_eq!(Value::Object(keys), json!({"cache_read_input_tokens": 3}));
    }

    impl Usage {
        fn tap_total(mut self, total: u64) -> Usage {
            self.total_tokens = total;
            self
        }
    }
}
