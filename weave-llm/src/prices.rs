//! Prices per token of LLMs, by model: the table shipped with weave-llm
//! (`weave-llm/data/prices.json`, dated), which you can override and extend, process-wide
//! ([`set_price`], [`set_prices`]) or from a file of your own in the same format
//! ([`PriceTable::from_json`]).
//!
//! ```
//! use weave_llm::prices::{self, ModelPrice};
//!
//! // A fine-tuned model at its own price, per million tokens.
//! prices::set_price("ft:gpt-4o-mini:acme", ModelPrice::per_million("openai", 0.3, 1.2));
//! assert!(prices::current().get("ft:gpt-4o-mini:acme").is_some());
//! // Dated and provider-prefixed names fall back to the base model's price.
//! assert_eq!(prices::current().get("gpt-4o-2024-08-06"), prices::current().get("gpt-4o"));
//! ```

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// The shipped table, `weave-llm/data/prices.json`.
pub const BUNDLED_PRICES_JSON: &str = include_str!("../data/prices.json");

/// One model's prices, in the table's unit (USD) per token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// The provider (`openai`, `anthropic`, `google`, `mistral`, ...).
    pub provider: String,
    /// Per input token.
    pub input: f64,
    /// Per output token.
    pub output: f64,
    /// Per input token read from the prompt cache.
    #[serde(default)]
    pub cached_input: f64,
    /// Per input token written to the prompt cache.
    #[serde(default)]
    pub cache_creation_input: f64,
}

impl ModelPrice {
    /// Prices given per million tokens (as providers list them); no cache prices.
    pub fn per_million(provider: impl Into<String>, input: f64, output: f64) -> ModelPrice {
        ModelPrice {
            provider: provider.into(),
            input: input / 1e6,
            output: output / 1e6,
            cached_input: 0.0,
            cache_creation_input: 0.0,
        }
    }

    /// With a price per million input tokens read from the prompt cache.
    pub fn cached_input_per_million(mut self, price: f64) -> ModelPrice {
        self.cached_input = price / 1e6;
        self
    }
}

/// Who set a price, as Weave's `pricing_level`: `default` for the shipped table,
/// `project` for prices set by the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PricingLevel {
    /// The shipped table.
    Default,
    /// Set by the application.
    Project,
}

/// A price with who set it.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceEntry {
    /// The prices.
    pub price: ModelPrice,
    /// Who set them.
    pub level: PricingLevel,
}

/// The file format: `{"date", "unit", "note"?, "models": {name: ModelPrice}}`.
#[derive(Deserialize)]
struct PriceFile {
    date: String,
    unit: String,
    models: BTreeMap<String, ModelPrice>,
}

/// An error reading a price table.
#[derive(Debug)]
pub struct PriceError(serde_json::Error);

impl std::fmt::Display for PriceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid price table: {}", self.0)
    }
}

impl std::error::Error for PriceError {}

/// Prices by model name, with the date they were taken and their unit.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    date: String,
    unit: String,
    models: BTreeMap<String, PriceEntry>,
}

impl PriceTable {
    /// The shipped table.
    pub fn bundled() -> &'static PriceTable {
        static BUNDLED: OnceLock<PriceTable> = OnceLock::new();
        BUNDLED.get_or_init(|| {
            // Parsed by this crate's tests: an empty table is never the outcome.
            PriceTable::parse(BUNDLED_PRICES_JSON, PricingLevel::Default).unwrap_or_else(|_| PriceTable {
                date: String::new(),
                unit: "USD".into(),
                models: BTreeMap::new(),
            })
        })
    }

    /// A table in the format of `weave-llm/data/prices.json`; its prices count as set by
    /// the application.
    pub fn from_json(text: &str) -> Result<PriceTable, PriceError> {
        PriceTable::parse(text, PricingLevel::Project)
    }

    fn parse(text: &str, level: PricingLevel) -> Result<PriceTable, PriceError> {
        let file: PriceFile = serde_json::from_str(text).map_err(PriceError)?;
        let models = file.models.into_iter().map(|(name, price)| (name, PriceEntry { price, level })).collect();
        Ok(PriceTable { date: file.date, unit: file.unit, models })
    }

    /// The date the prices were taken (`YYYY-MM-DD`), Weave's `effective_date`.
    pub fn date(&self) -> &str {
        &self.date
    }

    /// The currency of the prices (`USD`).
    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// Sets one model's price (as set by the application).
    pub fn set(&mut self, model: impl Into<String>, price: ModelPrice) {
        self.models.insert(model.into(), PriceEntry { price, level: PricingLevel::Project });
    }

    /// Adds another table's models, replacing those of the same name.
    pub fn extend(&mut self, other: PriceTable) {
        self.models.extend(other.models);
    }

    /// The models with a price.
    pub fn models(&self) -> impl Iterator<Item = (&str, &PriceEntry)> {
        self.models.iter().map(|(name, entry)| (name.as_str(), entry))
    }

    /// The price of `model`: its own entry, else (for names like `openai/gpt-4o` or
    /// `gpt-4o-2024-08-06`) that of the name without the provider prefix, else that of
    /// the longest listed name it starts with followed by `-`.
    pub fn get(&self, model: &str) -> Option<&PriceEntry> {
        if let Some(entry) = self.models.get(model) {
            return Some(entry);
        }
        let bare = model.rsplit_once('/').map_or(model, |(_, name)| name);
        if let Some(entry) = self.models.get(bare) {
            return Some(entry);
        }
        self.models
            .iter()
            .filter(|(name, _)| bare.len() > name.len() && bare.starts_with(name.as_str()))
            .filter(|(name, _)| bare.as_bytes()[name.len()] == b'-')
            .max_by_key(|(name, _)| name.len())
            .map(|(_, entry)| entry)
    }
}

static CURRENT: RwLock<Option<Arc<PriceTable>>> = RwLock::new(None);

/// The table costs are computed with: the shipped one, with what [`set_price`] and
/// [`set_prices`] changed.
pub fn current() -> Arc<PriceTable> {
    if let Some(table) = CURRENT.read().as_ref() {
        return Arc::clone(table);
    }
    let mut current = CURRENT.write();
    Arc::clone(current.get_or_insert_with(|| Arc::new(PriceTable::bundled().clone())))
}

/// Replaces the whole table (start from [`PriceTable::bundled`] to keep its models).
pub fn set_prices(table: PriceTable) {
    *CURRENT.write() = Some(Arc::new(table));
}

/// Sets one model's price in the current table.
pub fn set_price(model: impl Into<String>, price: ModelPrice) {
    let mut current = CURRENT.write();
    let mut table = current.as_deref().unwrap_or(PriceTable::bundled()).clone();
    table.set(model, price);
    *current = Some(Arc::new(table));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_table_parses_and_has_each_provider() {
        let table = PriceTable::bundled();
        assert!(!table.date().is_empty());
        assert_eq!(table.unit(), "USD");
        for provider in ["openai", "anthropic", "google", "mistral"] {
            assert!(table.models().any(|(_, e)| e.price.provider == provider), "{provider}");
        }
        for (name, entry) in table.models() {
            assert!(entry.price.input >= 0.0 && entry.price.input < 1e-3, "{name}");
            assert_eq!(entry.level, PricingLevel::Default);
        }
    }

    #[test]
    fn lookup_falls_back_to_the_longest_base_name() {
        let table = PriceTable::bundled();
        let mini = table.get("gpt-4o-mini").map(|e| &e.price);
        assert_eq!(table.get("gpt-4o-mini-2024-07-18").map(|e| &e.price), mini);
        assert_eq!(table.get("openai/gpt-4o-mini").map(|e| &e.price), mini);
        assert!(table.get("gpt-4o2").is_none());
        assert!(table.get("unknown-model").is_none());
    }

    #[test]
    fn user_tables_extend_and_win() {
        let mut table = PriceTable::bundled().clone();
        let mine = PriceTable::from_json(
            r#"{"date": "2030-01-01", "unit": "USD", "models": {"gpt-4o": {"provider": "openai", "input": 1, "output": 2}}}"#,
        )
        .unwrap();
        table.extend(mine);
        let entry = table.get("gpt-4o").unwrap();
        assert_eq!((entry.price.input, entry.level), (1.0, PricingLevel::Project));
        assert!(PriceTable::from_json("{").is_err());
    }
}
